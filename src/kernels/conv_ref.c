/* The plain C reference of the depthwise 3x3 convolution (conv.h), the choice of version, and the FMA probe. */
#include "conv.h"
#include "kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void psk_dwconv3x3_ref(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                       const float *bias, float *out, int ow, int oy0, int oy1) {
    for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *o = out + ((size_t)oy * ow + ox) * c;
            for (int ch = 0; ch < c; ch++) o[ch] = bias[ch];
            for (int ky = 0; ky < 3; ky++) {
                int iy = oy * stride + ky - pad_top;
                if (iy < 0 || iy >= h) continue;
                for (int kx = 0; kx < 3; kx++) {
                    int ix = ox * stride + kx - pad_left;
                    if (ix < 0 || ix >= w) continue;
                    const float *x = in + ((size_t)iy * w + ix) * c, *k = wt + (size_t)(ky * 3 + kx) * c;
                    for (int ch = 0; ch < c; ch++) o[ch] += x[ch] * k[ch];
                }
            }
        }
}

psk_dwconv3x3_fn psk_dwconv3x3(void) {
    static psk_dwconv3x3_fn chosen;
    if (!chosen) {
        const char *level = psk_kernels()->name;
        psk_dwconv3x3_fn fast = strcmp(level, "avx512") == 0 ? psk_dwconv3x3_avx512()
                                : strcmp(level, "avx2") == 0 ? psk_dwconv3x3_avx2()
                                                             : NULL;
        chosen = fast ? fast : psk_dwconv3x3_ref;
    }
    return chosen;
}

double psk_fma_burn(long rounds, float scale, float *sink) {
    const char *level = psk_kernels()->name;
    if (strcmp(level, "avx512") == 0) return psk_fma_burn_avx512(rounds, scale, sink);
    if (strcmp(level, "avx2") == 0) return psk_fma_burn_avx2(rounds, scale, sink);
    float a[12];
    for (int j = 0; j < 12; j++) a[j] = (float)j;
    for (long i = 0; i < rounds; i++)
        for (int j = 0; j < 12; j++) a[j] = fmaf(a[j], scale, 1e-9f);
    float s = 0;
    for (int j = 0; j < 12; j++) s += a[j];
    *sink = s;
    return (double)rounds * 12 * 2;
}
