/* The plain C reference of the depthwise 3x3 convolution (conv.h), the choice of version, and the FMA probe. */
#include "conv.h"
#include "kernels.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline float clampf(float v, float lo, float hi) {
    v = v > lo ? v : lo; /* NaN becomes lo, as vmaxps(v, lo) */
    return v < hi ? v : hi;
}

void psk_dwconv3x3_ref(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                       const float *bias, float lo, float hi, float *out, int ow, int oy0, int oy1) {
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
            for (int ch = 0; ch < c; ch++) o[ch] = clampf(o[ch], lo, hi);
        }
}

void psk_bias_clamp_ref(float *c, int ldc, int mr, int nr, const float *bias, float lo, float hi) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < nr; j++) {
            float *v = c + (size_t)r * ldc + j;
            *v = clampf(bias ? *v + bias[j] : *v, lo, hi);
        }
}

void psk_pack_a_ref(const float *a, int lda, int mc, int kc, int MR, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        for (int kk = 0; kk < kc; kk++) {
            for (int i = 0; i < mr; i++) dst[kk * MR + i] = a[(size_t)(i0 + i) * lda + kk];
            for (int i = mr; i < MR; i++) dst[kk * MR + i] = 0.0f;
        }
        dst += (size_t)kc * MR;
    }
}

psk_pack_a_fn psk_pack_a(void) {
    static psk_pack_a_fn chosen;
    if (!chosen) {
        psk_pack_a_fn fast = strcmp(psk_kernels()->name, "avx512") == 0 ? psk_pack_a_avx512() : NULL;
        chosen = fast ? fast : psk_pack_a_ref;
    }
    return chosen;
}

psk_bias_clamp_fn psk_bias_clamp(void) {
    static psk_bias_clamp_fn chosen;
    if (!chosen) {
        psk_bias_clamp_fn fast = strcmp(psk_kernels()->name, "avx512") == 0 ? psk_bias_clamp_avx512() : NULL;
        chosen = fast ? fast : psk_bias_clamp_ref;
    }
    return chosen;
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

/* ---- BF16 (conv.h) ---- */
uint16_t psk_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* NaN: stays a (quiet) NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float psk_bf16_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

void psk_to_bf16_ref(const float *a, int lda, int mc, int kc, uint32_t *dst, int ldd) {
    for (int i = 0; i < mc; i++)
        for (int p = 0; 2 * p < kc; p++) {
            uint32_t lo = psk_bf16(a[(size_t)i * lda + 2 * p]);
            uint32_t hi = 2 * p + 1 < kc ? psk_bf16(a[(size_t)i * lda + 2 * p + 1]) : 0;
            dst[(size_t)i * ldd + p] = lo | hi << 16;
        }
}

int psk_pack_bf16(const float *w, int k, int n, psk_packed_bf16 *out) {
    out->n = n;
    out->k = k;
    out->kp = (k + 1) / 2;
    size_t strips = ((size_t)n + 31) / 32, len = strips * (size_t)out->kp * 64;
    out->data = psk_malloc_aligned(len * sizeof(uint16_t));
    if (!out->data) return PSK_ERR_NOMEM;
    memset(out->data, 0, len * sizeof(uint16_t));
    for (int kk = 0; kk < k; kk++)
        for (int j = 0; j < n; j++)
            out->data[((size_t)(j / 32) * out->kp + kk / 2) * 64 + (j % 32) * 2 + kk % 2] =
                psk_bf16(w[(size_t)kk * n + j]);
    return PSK_OK;
}

void psk_packed_bf16_free(psk_packed_bf16 *p) {
    psk_free_aligned(p->data);
    p->data = NULL;
}

void psk_tile_bf16_ref(int kp, const uint32_t *a, int lda, const uint16_t *b, float *c, int ldc, int mr, int nr,
                       bool load_c, const psk_tile_epilogue *ep) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float acc = 0.0f;
            for (int p = 0; p < kp; p++) {
                uint32_t x = a[(size_t)i * lda + p];
                const uint16_t *y = b + (size_t)p * 64 + j * 2;
                acc += psk_bf16_f32((uint16_t)(x >> 16)) * psk_bf16_f32(y[1]); /* exact: 8 x 8 significant bits */
                acc += psk_bf16_f32((uint16_t)x) * psk_bf16_f32(y[0]);
            }
            float *o = c + (size_t)i * ldc + j;
            if (load_c) acc += *o;
            if (ep) acc = clampf(ep->bias ? acc + ep->bias[j] : acc, ep->lo, ep->hi);
            *o = acc;
        }
}
