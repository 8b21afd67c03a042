/* The AVX-512 depthwise 3x3 convolution (conv.h): 16 channels per vector, the channel tail under a mask. For each
 * block of 16 channels the 9 filter vectors and the bias stay in registers while the row's output pixels are
 * swept, so each output vector costs its input loads and FMAs only; the taps outside the input are skipped as in
 * the reference, in the same order (the FMA rounds once where the reference rounds twice). Also the FMA peak probe
 * of the benchmarks. Compiled with avx512.c's flags; used only when the kernels chose the AVX-512 level. */
#include "conv.h"
#include "kernels.h"

#include <immintrin.h>
#include <stddef.h>

static void dw_avx512(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                      const float *bias, float *out, int ow, int oy0, int oy1) {
    for (int oy = oy0; oy < oy1; oy++) {
        const float *rows[3];
        int kys[3], nr = 0;
        for (int ky = 0; ky < 3; ky++) {
            int iy = oy * stride + ky - pad_top;
            if (iy < 0 || iy >= h) continue;
            rows[nr] = in + (size_t)iy * w * c;
            kys[nr++] = ky;
        }
        float *orow = out + (size_t)oy * ow * c;
        for (int ch = 0; ch < c; ch += 16) {
            __mmask16 m = c - ch >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (c - ch)) - 1);
            __m512 k[3][3];
            for (int r = 0; r < nr; r++)
                for (int kx = 0; kx < 3; kx++)
                    k[r][kx] = _mm512_maskz_loadu_ps(m, wt + (size_t)(kys[r] * 3 + kx) * c + ch);
            __m512 b = _mm512_maskz_loadu_ps(m, bias + ch);
            for (int ox = 0; ox < ow; ox++) {
                int ix0 = ox * stride - pad_left;
                int kx0 = ix0 < 0 ? -ix0 : 0, kx1 = ix0 + 3 > w ? w - ix0 : 3;
                __m512 acc = b;
                for (int r = 0; r < nr; r++) {
                    const float *x = rows[r] + (size_t)ix0 * c + ch;
                    if (kx0 == 0 && kx1 == 3) {
                        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x), k[r][0], acc);
                        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + c), k[r][1], acc);
                        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + 2 * (size_t)c), k[r][2], acc);
                    } else {
                        for (int kx = kx0; kx < kx1; kx++)
                            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + (ptrdiff_t)kx * c), k[r][kx], acc);
                    }
                }
                _mm512_mask_storeu_ps(orow + (size_t)ox * c + ch, m, acc);
            }
        }
    }
}

psk_dwconv3x3_fn psk_dwconv3x3_avx512(void) { return psk_cpu_has_avx512() ? dw_avx512 : NULL; }

double psk_fma_burn_avx512(long rounds, float scale, float *sink) {
    __m512 a[12], x = _mm512_set1_ps(scale), y = _mm512_set1_ps(1e-9f);
    for (int j = 0; j < 12; j++) a[j] = _mm512_set1_ps((float)j);
    for (long i = 0; i < rounds; i++)
        for (int j = 0; j < 12; j++) a[j] = _mm512_fmadd_ps(a[j], x, y);
    __m512 s = a[0];
    for (int j = 1; j < 12; j++) s = _mm512_add_ps(s, a[j]);
    *sink = _mm512_reduce_add_ps(s);
    return (double)rounds * 12 * 16 * 2;
}
