/* The AVX2/FMA depthwise 3x3 convolution (conv.h): 8 channels per vector, the 9 taps of one output pixel
 * accumulated in registers; the taps outside the input skipped as in the reference, so both add in the same order
 * (the FMA rounds once where the reference rounds twice). Compiled with -mavx2 -mfma; used only after the CPU
 * check. */
#include "conv.h"

#include <immintrin.h>
#include <stddef.h>

static void dw_avx2(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                    const float *bias, float lo, float hi, float *out, int ow, int oy0, int oy1) {
    __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
    for (int oy = oy0; oy < oy1; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *o = out + ((size_t)oy * ow + ox) * c;
            const float *xs[9], *ks[9];
            int nt = 0;
            for (int ky = 0; ky < 3; ky++) {
                int iy = oy * stride + ky - pad_top;
                if (iy < 0 || iy >= h) continue;
                for (int kx = 0; kx < 3; kx++) {
                    int ix = ox * stride + kx - pad_left;
                    if (ix < 0 || ix >= w) continue;
                    xs[nt] = in + ((size_t)iy * w + ix) * c;
                    ks[nt] = wt + (size_t)(ky * 3 + kx) * c;
                    nt++;
                }
            }
            int ch = 0;
            for (; ch + 8 <= c; ch += 8) {
                __m256 acc = _mm256_loadu_ps(bias + ch);
                for (int t = 0; t < nt; t++)
                    acc = _mm256_fmadd_ps(_mm256_loadu_ps(xs[t] + ch), _mm256_loadu_ps(ks[t] + ch), acc);
                _mm256_storeu_ps(o + ch, _mm256_min_ps(_mm256_max_ps(acc, vlo), vhi));
            }
            for (; ch < c; ch++) {
                float acc = bias[ch];
                for (int t = 0; t < nt; t++) acc += xs[t][ch] * ks[t][ch];
                acc = acc > lo ? acc : lo;
                o[ch] = acc < hi ? acc : hi;
            }
        }
}

psk_dwconv3x3_fn psk_dwconv3x3_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? dw_avx2 : NULL;
}

double psk_fma_burn_avx2(long rounds, float scale, float *sink) {
    __m256 a[12], x = _mm256_set1_ps(scale), y = _mm256_set1_ps(1e-9f);
    for (int j = 0; j < 12; j++) a[j] = _mm256_set1_ps((float)j);
    for (long i = 0; i < rounds; i++)
        for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], x, y);
    __m256 s = a[0];
    for (int j = 1; j < 12; j++) s = _mm256_add_ps(s, a[j]);
    float v[8];
    _mm256_storeu_ps(v, s);
    *sink = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    return (double)rounds * 12 * 8 * 2;
}
