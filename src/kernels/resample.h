/* The two passes of Pillow's 8-bit resampling (src/image/resize.c: CLIP's preprocessing, thumbnails) on packed RGB
 * rows, in Pillow's fixed point: each output value is clip8((2^21 + sum of pixel * weight) >> 22), the weights 22-bit
 * integers. Every sum is exact in int32 (|sum| < 255 * 1.3 * 2^22), so the versions agree bit for bit whatever order
 * they add in: a plain C reference (resample_ref.c, the specification and test oracle), AVX2 (resample_avx2.c) and
 * AVX-512 (resample_avx512.c), picked by the level the GEMM kernels chose (PHOTOSEEK_KERNELS applies). */
#ifndef PSK_KERNELS_RESAMPLE_H
#define PSK_KERNELS_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#define PSK_RESAMPLE_BITS 22

static inline uint8_t psk_resample_clip8(int32_t v) {
    if (v >= (1 << PSK_RESAMPLE_BITS) << 8) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PSK_RESAMPLE_BITS);
}

/* One output pixel of the horizontal pass, the reference's way: count taps from p (RGB), weights w (3 per tap). */
static inline void psk_resample_pixel(const uint8_t *p, const int32_t *w, int count, uint8_t *o) {
    int32_t s0 = 1 << (PSK_RESAMPLE_BITS - 1), s1 = s0, s2 = s0;
    for (int t = 0; t < count; t++) {
        s0 += p[3 * t] * w[3 * t];
        s1 += p[3 * t + 1] * w[3 * t + 1];
        s2 += p[3 * t + 2] * w[3 * t + 2];
    }
    o[0] = psk_resample_clip8(s0), o[1] = psk_resample_clip8(s1), o[2] = psk_resample_clip8(s2);
}

/* The taps of a horizontal pass: output pixel j reads input pixels first[j] .. first[j] + count[j] - 1. w3 holds,
 * per output pixel, np taps (a multiple of 16, at least every count) of 3 weights each, the tap's weight repeated for
 * R, G and B, zero past count[j]: w3[(j * np + t) * 3 + c]. */
typedef struct psk_resample_taps {
    int n_out, np;
    const int *first, *count;
    const int32_t *w3;
} psk_resample_taps;

/* Horizontal pass over `rows` rows of sw RGB pixels (row stride src_stride bytes): dst row r (stride dst_stride)
 * gets taps->n_out RGB pixels. */
typedef void (*psk_resample_rows_fn)(const uint8_t *src, size_t src_stride, int rows, int sw,
                                     const psk_resample_taps *taps, uint8_t *dst, size_t dst_stride);
/* Vertical pass for one output row: dst[i] = clip8((2^21 + sum over t < count of src[t * stride + i] * w[t]) >> 22)
 * for i < n bytes. */
typedef void (*psk_resample_col_fn)(const uint8_t *src, size_t stride, int n, const int32_t *w, int count,
                                    uint8_t *dst);

void psk_resample_rows_ref(const uint8_t *src, size_t src_stride, int rows, int sw, const psk_resample_taps *taps,
                           uint8_t *dst, size_t dst_stride);
void psk_resample_col_ref(const uint8_t *src, size_t stride, int n, const int32_t *w, int count, uint8_t *dst);
/* NULL when the CPU lacks the level (kernels.h's checks). */
psk_resample_rows_fn psk_resample_rows_avx2(void);
psk_resample_col_fn psk_resample_col_avx2(void);
psk_resample_rows_fn psk_resample_rows_avx512(void);
psk_resample_col_fn psk_resample_col_avx512(void);
/* The versions of the chosen kernel level. */
psk_resample_rows_fn psk_resample_rows(void);
psk_resample_col_fn psk_resample_col(void);

#endif
