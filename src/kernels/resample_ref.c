/* The plain C reference of the resampling passes (resample.h): Pillow's loops, one sum per output value, and the
 * choice of version. */
#include "kernels.h"
#include "resample.h"

#include <string.h>

void psk_resample_rows_ref(const uint8_t *src, size_t src_stride, int rows, int sw, const psk_resample_taps *taps,
                           uint8_t *dst, size_t dst_stride) {
    (void)sw;
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = src + (size_t)r * src_stride;
        uint8_t *o = dst + (size_t)r * dst_stride;
        for (int j = 0; j < taps->n_out; j++)
            psk_resample_pixel(row + (size_t)taps->first[j] * 3, taps->w3 + (size_t)j * taps->np * 3, taps->count[j],
                               o + 3 * j);
    }
}

void psk_resample_col_ref(const uint8_t *src, size_t stride, int n, const int32_t *w, int count, uint8_t *dst) {
    for (int i = 0; i < n; i++) {
        int32_t s = 1 << (PSK_RESAMPLE_BITS - 1);
        for (int t = 0; t < count; t++) s += src[(size_t)t * stride + i] * w[t];
        dst[i] = psk_resample_clip8(s);
    }
}

psk_resample_rows_fn psk_resample_rows(void) {
    static psk_resample_rows_fn chosen;
    if (!chosen) {
        const char *level = psk_kernels()->name;
        psk_resample_rows_fn fast = strcmp(level, "avx512") == 0 ? psk_resample_rows_avx512()
                                    : strcmp(level, "avx2") == 0 ? psk_resample_rows_avx2()
                                                                 : NULL;
        chosen = fast ? fast : psk_resample_rows_ref;
    }
    return chosen;
}

psk_resample_col_fn psk_resample_col(void) {
    static psk_resample_col_fn chosen;
    if (!chosen) {
        const char *level = psk_kernels()->name;
        psk_resample_col_fn fast = strcmp(level, "avx512") == 0 ? psk_resample_col_avx512()
                                   : strcmp(level, "avx2") == 0 ? psk_resample_col_avx2()
                                                                : NULL;
        chosen = fast ? fast : psk_resample_col_ref;
    }
    return chosen;
}
