/* The AVX-512 depthwise 3x3 convolution and product-tile epilogue (conv.h): 16 channels per vector, the channel tail under a mask. For each
 * block of 16 channels the 9 filter vectors and the bias stay in registers while the row's output pixels are
 * swept, so each output vector costs its input loads and FMAs only; the taps outside the input are skipped as in
 * the reference, in the same order (the FMA rounds once where the reference rounds twice). Also the FMA peak probe
 * of the benchmarks. Compiled with avx512.c's flags; used only when the kernels chose the AVX-512 level. */
#include "conv.h"
#include "kernels.h"

#include <cpuid.h>
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

static void dw_avx512(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                      const float *bias, float lo, float hi, float *out, int ow, int oy0, int oy1) {
    __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
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
                _mm512_mask_storeu_ps(orow + (size_t)ox * c + ch, m, _mm512_min_ps(_mm512_max_ps(acc, vlo), vhi));
            }
        }
    }
}

psk_dwconv3x3_fn psk_dwconv3x3_avx512(void) { return psk_cpu_has_avx512() ? dw_avx512 : NULL; }

static void bias_clamp_avx512(float *c, int ldc, int mr, int nr, const float *bias, float lo, float hi) {
    __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
    for (int j = 0; j < nr; j += 16) {
        __mmask16 m = nr - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (nr - j)) - 1);
        __m512 b = bias ? _mm512_maskz_loadu_ps(m, bias + j) : _mm512_setzero_ps();
        for (int r = 0; r < mr; r++) {
            float *p = c + (size_t)r * ldc + j;
            __m512 v = _mm512_maskz_loadu_ps(m, p);
            if (bias) v = _mm512_add_ps(v, b);
            _mm512_mask_storeu_ps(p, m, _mm512_min_ps(_mm512_max_ps(v, vlo), vhi));
        }
    }
}

psk_bias_clamp_fn psk_bias_clamp_avx512(void) { return psk_cpu_has_avx512() ? bias_clamp_avx512 : NULL; }

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

/* conv.h's psk_pack_a: one gather of the panel's rows per k (MR <= 16). */
static void pack_a_avx512(const float *a, int lda, int mc, int kc, int MR, float *dst) {
    __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
                                     _mm512_set1_epi32(lda));
    __mmask16 full = (__mmask16)((1u << MR) - 1);
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        __mmask16 rows = (__mmask16)((1u << mr) - 1);
        const float *src = a + (size_t)i0 * lda;
        for (int kk = 0; kk < kc; kk++) {
            __m512 g = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, src + kk, 4);
            _mm512_mask_storeu_ps(dst + (size_t)kk * MR, full, g);
        }
        dst += (size_t)kc * MR;
    }
}

psk_pack_a_fn psk_pack_a_avx512(void) { return psk_cpu_has_avx512() ? pack_a_avx512 : NULL; }

/* A tile function's body: MR_CASE(n) (defined by the function) for each row count 1..14, MR a constant in each. */
#define MR_SWITCH(mr)                                                                                                  \
    switch (mr) {                                                                                                      \
        MR_CASE(1) MR_CASE(2) MR_CASE(3) MR_CASE(4) MR_CASE(5) MR_CASE(6) MR_CASE(7)                                   \
        MR_CASE(8) MR_CASE(9) MR_CASE(10) MR_CASE(11) MR_CASE(12) MR_CASE(13) MR_CASE(14)                              \
    default: break;                                                                                                    \
    }

/* The end of a 14 x 32 tile: + c when load_c, then the epilogue (psk_bias_clamp's), then the masked store. */
static inline __attribute__((always_inline)) void tile_store(int MR, __m512 acc[14][2], float *c, int ldc, int nr,
                                                             bool load_c, const psk_tile_epilogue *ep) {
    __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
    __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps(), lo = _mm512_set1_ps(-INFINITY), hi = lo;
    if (ep) {
        if (ep->bias) {
            bias0 = _mm512_maskz_loadu_ps(m0, ep->bias);
            bias1 = _mm512_maskz_loadu_ps(m1, ep->bias + 16);
        }
        lo = _mm512_set1_ps(ep->lo);
        hi = _mm512_set1_ps(ep->hi);
    }
    for (int i = 0; i < MR; i++) {
        float *ci = c + (size_t)i * ldc;
        if (load_c) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(m0, ci));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        if (ep) { /* as psk_bias_clamp: + bias, then max with lo (NaN becomes lo), min with hi */
            acc[i][0] = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[i][0], bias0), lo), hi);
            acc[i][1] = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(acc[i][1], bias1), lo), hi);
        }
        _mm512_mask_storeu_ps(ci, m0, acc[i][0]);
        _mm512_mask_storeu_ps(ci + 16, m1, acc[i][1]);
    }
}


/* conv.h's psk_tile_rowa: the 14 x 32 tile of the GEMM with A read in place (no packing). Its 28 accumulators, the
 * two B vectors and the broadcast fill the 32 zmm registers; MR is a constant in each copy so that the row loops
 * unroll. */
static inline __attribute__((always_inline)) void tile_rowa_mr(int MR, int kc, const float *a, int lda, const float *b,
                                                               float *c, int ldc, int nr, bool load_c,
                                                               const psk_tile_epilogue *ep) {
    __m512 acc[14][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int kk = 0; kk < kc; kk++) {
        __m512 b0 = _mm512_load_ps(b + (size_t)kk * 32), b1 = _mm512_load_ps(b + (size_t)kk * 32 + 16);
        for (int i = 0; i < MR; i++) {
            __m512 x = _mm512_set1_ps(a[(size_t)i * lda + kk]);
            acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);
        }
    }
    tile_store(MR, acc, c, ldc, nr, load_c, ep);
}

static void tile_rowa_avx512(int kc, const float *a, int lda, const float *b, float *c, int ldc, int mr, int nr,
                             bool load_c, const psk_tile_epilogue *ep) {
#define MR_CASE(n)                                                                                                     \
    case n: tile_rowa_mr(n, kc, a, lda, b, c, ldc, nr, load_c, ep); break;
    MR_SWITCH(mr)
#undef MR_CASE
}

psk_tile_rowa_fn psk_tile_rowa_avx512(void) { return psk_cpu_has_avx512() ? tile_rowa_avx512 : NULL; }

/* ---- AVX-512 BF16 (conv.h): compiled for that extension only in these functions, used only where cpuid has it ---- */
#define BF16_TARGET __attribute__((target("avx512bf16")))

static bool cpu_has_bf16(void) {
    unsigned a, b, c, d;
    return psk_cpu_has_avx512() && __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}

/* conv.h's psk_tile_bf16: the 14 x 32 tile of psk_tile_rowa with a pair of products per vdpbf16ps. */
static inline __attribute__((always_inline)) BF16_TARGET void tile_bf16_mr(int MR, int kp, const uint32_t *a, int lda,
                                                                           const uint16_t *b, float *c, int ldc,
                                                                           int nr, bool load_c,
                                                                           const psk_tile_epilogue *ep) {
    __m512 acc[14][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int p = 0; p < kp; p++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b + (size_t)p * 64);
        __m512bh b1 = (__m512bh)_mm512_load_si512(b + (size_t)p * 64 + 32);
        for (int i = 0; i < MR; i++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[(size_t)i * lda + p]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], x, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], x, b1);
        }
    }
    tile_store(MR, acc, c, ldc, nr, load_c, ep);
}

BF16_TARGET static void tile_bf16_avx512(int kp, const uint32_t *a, int lda, const uint16_t *b, float *c, int ldc,
                                         int mr, int nr, bool load_c, const psk_tile_epilogue *ep) {
#define MR_CASE(n)                                                                                                     \
    case n: tile_bf16_mr(n, kp, a, lda, b, c, ldc, nr, load_c, ep); break;
    MR_SWITCH(mr)
#undef MR_CASE
}

psk_tile_bf16_fn psk_tile_bf16_avx512(void) { return cpu_has_bf16() ? tile_bf16_avx512 : NULL; }

/* conv.h's psk_to_bf16: 32 floats of a row to 16 pairs per vcvtne2ps2bf16 (nearest even, as psk_bf16), the row's
 * tail under masks (the masked-off floats load as 0: an odd k's pad). */
BF16_TARGET static void to_bf16_avx512(const float *a, int lda, int mc, int kc, uint32_t *dst, int ldd) {
    for (int i = 0; i < mc; i++) {
        const float *x = a + (size_t)i * lda;
        uint16_t *o = (uint16_t *)(dst + (size_t)i * ldd);
        for (int k = 0; k < kc; k += 32) {
            int n = kc - k < 32 ? kc - k : 32, even = (n + 1) & ~1;
            __mmask16 m0 = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
            __mmask16 m1 = n >= 32 ? (__mmask16)0xffff : n > 16 ? (__mmask16)((1u << (n - 16)) - 1) : 0;
            __m512bh v = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, x + k + 16), _mm512_maskz_loadu_ps(m0, x + k));
            __mmask32 st = even >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << even) - 1);
            _mm512_mask_storeu_epi16(o + k, st, (__m512i)v);
        }
    }
}

psk_to_bf16_fn psk_to_bf16_avx512(void) { return cpu_has_bf16() ? to_bf16_avx512 : NULL; }
