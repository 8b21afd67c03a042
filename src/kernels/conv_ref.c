/* The plain C reference of the depthwise 3x3 convolution (conv.h), and the choice of version. */
#include "conv.h"

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
        const char *env = getenv("PHOTOSEEK_KERNELS");
        psk_dwconv3x3_fn fast = (env && strcmp(env, "ref") == 0) ? NULL : psk_dwconv3x3_avx2();
        chosen = fast ? fast : psk_dwconv3x3_ref;
    }
    return chosen;
}
