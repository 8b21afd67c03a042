/* AVX-512 kernels (F, BW, VL, DQ and VNNI). This file alone is compiled with those flags; psk_kernels_avx512()
 * checks the CPU and the OS (cpuid, xgetbv) first. Tails are done with mask registers instead of scalar loops.
 * Compiled without the flags (a build that lists every source in one compiler call, like make fuzz-libfuzzer), the
 * level is simply absent. */
#include "kernels.h"
#include "scan_rows.h"

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512VL__) || !defined(__AVX512DQ__) ||           \
    !defined(__AVX512VNNI__)
const psk_kernel_table *psk_kernels_avx512(void) {
    return NULL;
}
#else

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* The float32 GEMM tile: 14 rows x 32 columns, 28 zmm accumulators + 2 for the B row + 1 broadcast of 32. */
#define MR 14
#define NR 32
/* The int8 tile: 12 rows x 32 columns (two strips of 16), 24 zmm accumulators. */
#define Q8_NR 16
#define Q8_MR 12

static inline __mmask16 tail_mask(int n) {
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

/* n (>= 1) floats at p: a whole vector by a plain load or store, a tail by a mask. Plain accesses wherever
 * possible: a masked store is not forwarded to a later load of the same address (the load waits until the store
 * has left the core), and the row kernels read what the GEMMs have just written. */
static inline __m512 load_n(const float *p, int n) {
    return n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(tail_mask(n), p);
}

static inline void store_n(float *p, __m512 v, int n) {
    if (n >= 16) _mm512_storeu_ps(p, v);
    else _mm512_mask_storeu_ps(p, tail_mask(n), v);
}

/* exp(x) for 16 floats: the range reduction and polynomial of avx2.c's exp256, 2^n applied by vscalefps. */
static inline __m512 exp512(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-88.3762626647949f);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    fx = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    x = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), x);
    __m512 y = _mm512_set1_ps(1.9875691500E-4f);
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.3981999507E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(8.3334519073E-3f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(4.1665795894E-2f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(1.6666665459E-1f));
    y = _mm512_fmadd_ps(y, x, _mm512_set1_ps(5.0000001201E-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(x, x), x);
    y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(y, fx);
}

/* ---- float32 GEMM micro-kernel ---- */

static inline __attribute__((always_inline)) void store_row(float *c, __m512 r0, __m512 r1, int nr, bool load_c) {
    if (nr >= 32) {
        if (load_c) {
            r0 = _mm512_add_ps(r0, _mm512_loadu_ps(c));
            r1 = _mm512_add_ps(r1, _mm512_loadu_ps(c + 16));
        }
        _mm512_storeu_ps(c, r0);
        _mm512_storeu_ps(c + 16, r1);
        return;
    }
    __mmask16 m0 = tail_mask(nr), m1 = tail_mask(nr - 16 > 0 ? nr - 16 : 0);
    if (load_c) {
        r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, c));
        r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, r0);
    _mm512_mask_storeu_ps(c + 16, m1, r1);
}

/* R rows of the tile (R a constant after inlining, so the accumulators live in registers). */
static inline __attribute__((always_inline)) void ukr_rows(int kc, const float *a, const float *b, float *c, int ldc,
                                                          int nr, bool load_c, const int R) {
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 14
    for (int i = 0; i < R; i++) c0[i] = c1[i] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 14
        for (int i = 0; i < R; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
        a += MR;
        b += NR;
    }
#pragma GCC unroll 14
    for (int i = 0; i < R; i++) store_row(c + (size_t)i * ldc, c0[i], c1[i], nr, load_c);
}

/* One to three rows (a short query's tail): k unrolled by two into separate accumulators, so that the tile is not
 * bound by the FMA latency. */
static inline __attribute__((always_inline)) void ukr_few(int kc, const float *a, const float *b, float *c, int ldc,
                                                         int nr, bool load_c, const int R) {
    __m512 e0[3], e1[3], o0[3], o1[3];
#pragma GCC unroll 3
    for (int i = 0; i < R; i++) e0[i] = e1[i] = o0[i] = o1[i] = _mm512_setzero_ps();
    int k = 0;
    for (; k + 2 <= kc; k += 2) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), b2 = _mm512_loadu_ps(b + NR),
               b3 = _mm512_loadu_ps(b + NR + 16);
#pragma GCC unroll 3
        for (int i = 0; i < R; i++) {
            __m512 x = _mm512_set1_ps(a[i]), y = _mm512_set1_ps(a[MR + i]);
            e0[i] = _mm512_fmadd_ps(x, b0, e0[i]);
            e1[i] = _mm512_fmadd_ps(x, b1, e1[i]);
            o0[i] = _mm512_fmadd_ps(y, b2, o0[i]);
            o1[i] = _mm512_fmadd_ps(y, b3, o1[i]);
        }
        a += 2 * MR;
        b += 2 * NR;
    }
    if (k < kc) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 3
        for (int i = 0; i < R; i++) {
            __m512 x = _mm512_set1_ps(a[i]);
            e0[i] = _mm512_fmadd_ps(x, b0, e0[i]);
            e1[i] = _mm512_fmadd_ps(x, b1, e1[i]);
        }
    }
#pragma GCC unroll 3
    for (int i = 0; i < R; i++)
        store_row(c + (size_t)i * ldc, _mm512_add_ps(e0[i], o0[i]), _mm512_add_ps(e1[i], o1[i]), nr, load_c);
}

static void ukr_avx512(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool load_c) {
    switch (mr) {
    case 1: ukr_few(kc, a, b, c, ldc, nr, load_c, 1); break;
    case 2: ukr_few(kc, a, b, c, ldc, nr, load_c, 2); break;
    case 3: ukr_few(kc, a, b, c, ldc, nr, load_c, 3); break;
    case 4: ukr_rows(kc, a, b, c, ldc, nr, load_c, 4); break;
    case 5: ukr_rows(kc, a, b, c, ldc, nr, load_c, 5); break;
    case 6: ukr_rows(kc, a, b, c, ldc, nr, load_c, 6); break;
    case 7: ukr_rows(kc, a, b, c, ldc, nr, load_c, 7); break;
    case 8: ukr_rows(kc, a, b, c, ldc, nr, load_c, 8); break;
    case 9: ukr_rows(kc, a, b, c, ldc, nr, load_c, 9); break;
    case 10: ukr_rows(kc, a, b, c, ldc, nr, load_c, 10); break;
    case 11: ukr_rows(kc, a, b, c, ldc, nr, load_c, 11); break;
    case 12: ukr_rows(kc, a, b, c, ldc, nr, load_c, 12); break;
    case 13: ukr_rows(kc, a, b, c, ldc, nr, load_c, 13); break;
    default: ukr_rows(kc, a, b, c, ldc, nr, load_c, 14); break;
    }
}

/* Packing A for the tile: 16 columns of the panel's (up to 16) rows transposed in registers (unpack within 128-bit
 * lanes, then a 4x4 transpose of the lanes), each column stored as MR values. */
static inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int g = 0; g < 4; g++) { /* r[4g + c]: rows 4g..4g+3 at column 4L + c in 128-bit lane L */
        __m512d a0 = _mm512_castps_pd(t[4 * g]), a1 = _mm512_castps_pd(t[4 * g + 1]),
                a2 = _mm512_castps_pd(t[4 * g + 2]), a3 = _mm512_castps_pd(t[4 * g + 3]);
        r[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        r[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        r[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        r[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    for (int c = 0; c < 4; c++) { /* column 4L + c: lane L of r[c], r[4 + c], r[8 + c], r[12 + c] */
        __m512 u0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44), u1 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee),
               u2 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44), u3 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
        t[c] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        t[4 + c] = _mm512_shuffle_f32x4(u0, u2, 0xdd);
        t[8 + c] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(u1, u3, 0xdd);
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

static void pack_a_avx512(const float *a, int lda, int mc, int kc, float *dst) {
    const __mmask16 rows_mask = (__mmask16)((1u << MR) - 1);
    for (int i0 = 0; i0 < mc; i0 += MR, dst += (size_t)kc * MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        for (int k0 = 0; k0 < kc; k0 += 16) {
            int kn = kc - k0 < 16 ? kc - k0 : 16;
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < mr ? load_n(a + (size_t)(i0 + i) * lda + k0, kn) : _mm512_setzero_ps();
            transpose16(r);
            for (int c = 0; c < kn; c++) _mm512_mask_storeu_ps(dst + (size_t)(k0 + c) * MR, rows_mask, r[c]);
        }
    }
}

/* ---- row kernels ---- */

/* CLIP's quick GELU, x * sigmoid(1.702 x) */
static inline __m512 quick_gelu512(__m512 x) {
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), exp512(_mm512_mul_ps(_mm512_set1_ps(-1.702f), x))));
}

static void bias_act_avx512(float *y, const float *bias, int n, psk_act act) {
    if (act != PSK_ACT_NONE && act != PSK_ACT_QUICK_GELU) {
        psk_kernels_ref()->bias_act(y, bias, n, act);
        return;
    }
    for (int i = 0; i < n; i += 16) {
        __m512 x = load_n(y + i, n - i);
        if (bias) x = _mm512_add_ps(x, load_n(bias + i, n - i));
        if (act == PSK_ACT_QUICK_GELU) x = quick_gelu512(x);
        store_n(y + i, x, n - i);
    }
}

/* A row's mean and 1 / sqrt(var + eps), in two passes (mean, then centred variance) as the reference does, for the
 * same accuracy. */
static inline void ln_stats(const float *x, int n, float eps, float *mean_out, float *inv_out) {
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(tail_mask(n - i), x + i));
    float mean = _mm512_reduce_add_ps(s) / (float)n;
    __m512 vm = _mm512_set1_ps(mean), v = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), vm);
        v = _mm512_fmadd_ps(d, d, v);
    }
    *mean_out = mean;
    *inv_out = 1.0f / sqrtf(_mm512_reduce_add_ps(v) / (float)n + eps);
}

/* 16 values of the normalised row from i (masked lanes: 0) */
static inline __m512 ln_at(const float *x, const float *gamma, const float *beta, int n, int i, __m512 vm, __m512 vi) {
    __mmask16 m = tail_mask(n - i);
    __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vm), vi);
    return _mm512_maskz_fmadd_ps(m, d, _mm512_maskz_loadu_ps(m, gamma + i), _mm512_maskz_loadu_ps(m, beta + i));
}

static void layer_norm_avx512(const float *x, const float *gamma, const float *beta, int n, float eps, float *out) {
    float mean, inv;
    ln_stats(x, n, eps, &mean, &inv);
    __m512 vm = _mm512_set1_ps(mean), vi = _mm512_set1_ps(inv);
    for (int i = 0; i < n; i += 16)
        _mm512_mask_storeu_ps(out + i, tail_mask(n - i), ln_at(x, gamma, beta, n, i, vm, vi));
}

/* Softmax of scratch[0..n) in place; returns 1 / sum. */
static float softmax_unnormalised(float *scratch, int n, float mx) {
    __m512 vsum = _mm512_setzero_ps(), vmx = _mm512_set1_ps(mx);
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = tail_mask(n - j);
        __m512 e = _mm512_maskz_mov_ps(m, exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, scratch + j), vmx)));
        _mm512_mask_storeu_ps(scratch + j, m, e);
        vsum = _mm512_add_ps(vsum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(vsum);
}

/* One head's attention, one query at a time, for head_dim a multiple of 16 up to 128 (the tiled version's
 * fallback). */
static void attention_rows_avx512(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int n_q,
                             int n_keys, int head_dim, float scale, bool causal, float *out, int ldo, float *scratch) {
    if (head_dim % 16 != 0 || head_dim > 128) {
        psk_kernels_avx2()->attention(q, ldq, k, ldk, v, ldv, n_q, n_keys, head_dim, scale, causal, out, ldo, scratch);
        return;
    }
    int nv = head_dim / 16;
    for (int i = 0; i < n_q; i++) {
        int nk = causal && i + 1 < n_keys ? i + 1 : n_keys;
        const float *qi = q + (size_t)i * ldq;
        __m512 qv[8];
        for (int t = 0; t < nv; t++) qv[t] = _mm512_mul_ps(_mm512_loadu_ps(qi + 16 * t), _mm512_set1_ps(scale));
        float mx = -INFINITY;
        for (int j = 0; j < nk; j++) {
            const float *kj = k + (size_t)j * ldk;
            __m512 s = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kj));
            for (int t = 1; t < nv; t++) s = _mm512_fmadd_ps(qv[t], _mm512_loadu_ps(kj + 16 * t), s);
            float sc = _mm512_reduce_add_ps(s);
            scratch[j] = sc;
            mx = sc > mx ? sc : mx;
        }
        float inv = softmax_unnormalised(scratch, nk, mx);
        __m512 acc[8];
        for (int t = 0; t < nv; t++) acc[t] = _mm512_setzero_ps();
        for (int j = 0; j < nk; j++) {
            __m512 p = _mm512_set1_ps(scratch[j]);
            const float *vj = v + (size_t)j * ldv;
            for (int t = 0; t < nv; t++) acc[t] = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 16 * t), acc[t]);
        }
        float *o = out + (size_t)i * ldo;
        for (int t = 0; t < nv; t++) _mm512_storeu_ps(o + 16 * t, _mm512_mul_ps(acc[t], _mm512_set1_ps(inv)));
    }
}

/* The tiled attention (head_dim 64 or 128 -- ViT-B/32 and the text towers: 64 -- and up to ATT_KEYS_MAX keys): K is
 * transposed once per head (16 x 16 register transposes) (kt: head_dim rows of np keys, np a multiple of 32, zeros past the last key), then blocks
 * of up to 8 queries get their scores as a small GEMM on registers (8 rows x 32 keys, one K^T load per 8 FMAs),
 * softmax over each row in place, and P V for 4 rows x 64 values of the head at a time. */
#define ATT_KEYS_MAX 128
#define ATT_HD_MAX 128
#define ATT_ROWS 8
static _Thread_local float att_kt[ATT_HD_MAX * ATT_KEYS_MAX] __attribute__((aligned(64)));
static _Thread_local float att_p[ATT_ROWS * ATT_KEYS_MAX] __attribute__((aligned(64)));

/* scores of R query rows (q: the first one) against every key, times scale, into p (R rows of np) */
static inline __attribute__((always_inline)) void att_scores(const float *q, int ldq, const float *kt, int np,
                                                            int head_dim, float scale, float *p, const int R) {
    for (int c0 = 0; c0 < np; c0 += 32) {
        __m512 s0[ATT_ROWS], s1[ATT_ROWS];
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) s0[r] = s1[r] = _mm512_setzero_ps();
        for (int d = 0; d < head_dim; d++) {
            __m512 k0 = _mm512_load_ps(kt + (size_t)d * np + c0), k1 = _mm512_load_ps(kt + (size_t)d * np + c0 + 16);
#pragma GCC unroll 8
            for (int r = 0; r < R; r++) {
                __m512 qb = _mm512_set1_ps(q[(size_t)r * ldq + d]);
                s0[r] = _mm512_fmadd_ps(qb, k0, s0[r]);
                s1[r] = _mm512_fmadd_ps(qb, k1, s1[r]);
            }
        }
        __m512 vs = _mm512_set1_ps(scale);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            _mm512_store_ps(p + (size_t)r * np + c0, _mm512_mul_ps(s0[r], vs));
            _mm512_store_ps(p + (size_t)r * np + c0 + 16, _mm512_mul_ps(s1[r], vs));
        }
    }
}

/* out rows (R <= 4) = P V over the first nk keys (P is 0 past each row's keys), 64 values at a time, times inv[r] */
static inline __attribute__((always_inline)) void att_pv(const float *p, int np, const float *v, int ldv, int nk,
                                                        int head_dim, const float *inv, float *out, int ldo,
                                                        const int R) {
    for (int h0 = 0; h0 < head_dim; h0 += 64) {
        __m512 acc[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < R; r++)
            for (int t = 0; t < 4; t++) acc[r][t] = _mm512_setzero_ps();
        for (int j = 0; j < nk; j++) {
            const float *vj = v + (size_t)j * ldv + h0;
            __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_loadu_ps(vj + 16), v2 = _mm512_loadu_ps(vj + 32),
                   v3 = _mm512_loadu_ps(vj + 48);
#pragma GCC unroll 4
            for (int r = 0; r < R; r++) {
                __m512 pb = _mm512_set1_ps(p[(size_t)r * np + j]);
                acc[r][0] = _mm512_fmadd_ps(pb, v0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(pb, v1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(pb, v2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_ps(pb, v3, acc[r][3]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < R; r++) {
            __m512 vi = _mm512_set1_ps(inv[r]);
            for (int t = 0; t < 4; t++)
                _mm512_storeu_ps(out + (size_t)r * ldo + h0 + 16 * t, _mm512_mul_ps(acc[r][t], vi));
        }
    }
}

/* R (<= ATT_ROWS) queries from row i0 */
static inline __attribute__((always_inline)) void att_block(const float *q, int ldq, const float *v, int ldv, int i0,
                                                           int n_keys, int np, int head_dim, float scale, bool causal,
                                                           float *out, int ldo, const int R) {
    float *p = att_p, inv[ATT_ROWS];
    att_scores(q + (size_t)i0 * ldq, ldq, att_kt, np, head_dim, scale, p, R);
    int nk_max = 0;
    for (int r = 0; r < R; r++) {
        int i = i0 + r, nk = causal && i + 1 < n_keys ? i + 1 : n_keys;
        nk_max = nk > nk_max ? nk : nk_max;
        float *pr = p + (size_t)r * np, mx = -INFINITY;
        __m512 vmx = _mm512_set1_ps(-INFINITY);
        for (int j = 0; j < nk; j += 16) vmx = _mm512_max_ps(vmx, _mm512_mask_loadu_ps(vmx, tail_mask(nk - j), pr + j));
        mx = _mm512_reduce_max_ps(vmx);
        inv[r] = softmax_unnormalised(pr, nk, mx);
        for (int j = (nk + 15) / 16 * 16; j < np; j += 16) _mm512_store_ps(pr + j, _mm512_setzero_ps());
        if (nk % 16) _mm512_mask_storeu_ps(pr + nk, tail_mask(16 - nk % 16), _mm512_setzero_ps());
    }
    if (R <= 4) {
        att_pv(p, np, v, ldv, nk_max, head_dim, inv, out + (size_t)i0 * ldo, ldo, R);
    } else {
        int nk4 = causal && i0 + 4 < n_keys ? i0 + 4 : n_keys; /* the first four rows' keys */
        att_pv(p, np, v, ldv, nk4, head_dim, inv, out + (size_t)i0 * ldo, ldo, 4);
        att_pv(p + 4 * (size_t)np, np, v, ldv, nk_max, head_dim, inv + 4, out + (size_t)(i0 + 4) * ldo, ldo, R - 4);
    }
}

static void attention_avx512(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int n_q,
                             int n_keys, int head_dim, float scale, bool causal, float *out, int ldo, float *scratch) {
    if (head_dim % 64 != 0 || head_dim > ATT_HD_MAX || n_keys > ATT_KEYS_MAX || n_keys < 1) {
        attention_rows_avx512(q, ldq, k, ldk, v, ldv, n_q, n_keys, head_dim, scale, causal, out, ldo, scratch);
        return;
    }
    int np = (n_keys + 31) / 32 * 32;
    /* K^T by 16 x 16 register transposes; keys past n_keys read as zeros */
    for (int j0 = 0; j0 < np; j0 += 16)
        for (int d0 = 0; d0 < head_dim; d0 += 16) {
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = j0 + i < n_keys ? _mm512_loadu_ps(k + (size_t)(j0 + i) * ldk + d0) : _mm512_setzero_ps();
            transpose16(r);
            for (int c = 0; c < 16; c++) _mm512_store_ps(att_kt + (size_t)(d0 + c) * np + j0, r[c]);
        }
    int i0 = 0;
    for (; i0 + ATT_ROWS <= n_q; i0 += ATT_ROWS)
        att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, ATT_ROWS);
    switch (n_q - i0) {
    case 1: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 1); break;
    case 2: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 2); break;
    case 3: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 3); break;
    case 4: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 4); break;
    case 5: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 5); break;
    case 6: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 6); break;
    case 7: att_block(q, ldq, v, ldv, i0, n_keys, np, head_dim, scale, causal, out, ldo, 7); break;
    default: break;
    }
}

/* ---- int8 GEMM with VNNI ---- */

static const psk_kernel_table avx512_table;

/* vpdpbusd: 4 u8 activations x 4 int8 weights summed into each int32 lane, 64 multiply-adds per instruction, exact
 * (no int16 saturation, so activations use all 8 bits). */
static inline __attribute__((always_inline)) void q8_rows(int kq, const uint8_t *a, int lda, const int8_t *b0,
                                                         const int8_t *b1, int32_t *out, const int R) {
    __m512i acc0[Q8_MR], acc1[Q8_MR];
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) acc0[r] = acc1[r] = _mm512_setzero_si512();
    for (int g = 0; g < kq; g++) {
        __m512i w0 = _mm512_loadu_si512(b0 + (size_t)g * 64), w1 = _mm512_loadu_si512(b1 + (size_t)g * 64);
#pragma GCC unroll 12
        for (int r = 0; r < R; r++) {
            int32_t word;
            memcpy(&word, a + (size_t)r * lda + 4 * (size_t)g, 4);
            __m512i av = _mm512_set1_epi32(word);
            acc0[r] = _mm512_dpbusd_epi32(acc0[r], av, w0);
            acc1[r] = _mm512_dpbusd_epi32(acc1[r], av, w1);
        }
    }
#pragma GCC unroll 12
    for (int r = 0; r < R; r++) {
        _mm512_storeu_si512(out + r * 2 * Q8_NR, acc0[r]);
        _mm512_storeu_si512(out + r * 2 * Q8_NR + 16, acc1[r]);
    }
}

static void gemm_q8_ukr_avx512(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                               int32_t *out) {
    switch (mr) {
    case 1: q8_rows(kq, a, lda, b0, b1, out, 1); break;
    case 2: q8_rows(kq, a, lda, b0, b1, out, 2); break;
    case 3: q8_rows(kq, a, lda, b0, b1, out, 3); break;
    case 4: q8_rows(kq, a, lda, b0, b1, out, 4); break;
    case 5: q8_rows(kq, a, lda, b0, b1, out, 5); break;
    case 6: q8_rows(kq, a, lda, b0, b1, out, 6); break;
    case 7: q8_rows(kq, a, lda, b0, b1, out, 7); break;
    case 8: q8_rows(kq, a, lda, b0, b1, out, 8); break;
    case 9: q8_rows(kq, a, lda, b0, b1, out, 9); break;
    case 10: q8_rows(kq, a, lda, b0, b1, out, 10); break;
    case 11: q8_rows(kq, a, lda, b0, b1, out, 11); break;
    default: q8_rows(kq, a, lda, b0, b1, out, 12); break;
    }
}

/* The epilogue of a fused tile: v = sa * wscale * (acc - z * wsum) (+ bias), in dequant_q8_avx512's order, then
 * stored or added to C, with the activation. The columns' values are loaded after the K loop, so that they do not
 * hold registers the accumulators need. */
static inline __attribute__((always_inline)) __m512 q8_value(__m512i acc, __m512 vsa, __m512i vz, __m512 ws,
                                                            __m512i su, const float *bias, __mmask16 m) {
    __m512i d = _mm512_sub_epi32(acc, _mm512_mullo_epi32(vz, su));
    __m512 v = _mm512_mul_ps(_mm512_mul_ps(vsa, ws), _mm512_cvtepi32_ps(d));
    return bias ? _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, bias)) : v;
}

static inline __attribute__((always_inline)) void q8_store(float *c, __m512 v, __mmask16 m, bool accumulate,
                                                          psk_act act) {
    if (accumulate) v = _mm512_add_ps(m == 0xffff ? _mm512_loadu_ps(c) : _mm512_maskz_loadu_ps(m, c), v);
    if (act == PSK_ACT_QUICK_GELU) v = quick_gelu512(v);
    if (m == 0xffff) _mm512_storeu_ps(c, v);
    else _mm512_mask_storeu_ps(c, m, v);
}

static inline __attribute__((always_inline)) void q8_tile_rows(int kq, const uint8_t *a, int lda, const int8_t *b0,
                                                              const int8_t *b1, const float *sa, const int32_t *z,
                                                              const float *wscale, const int32_t *wsum,
                                                              const float *bias, float *c, int ldc, int nc,
                                                              bool accumulate, psk_act act, const int R) {
    /* the sums pass through L1 (a plain store and load): with the epilogue on the accumulators themselves, GCC's
     * register allocator shuffles them inside the K loop, 15% slower */
    int32_t acc[Q8_MR * 2 * Q8_NR] __attribute__((aligned(64)));
    q8_rows(kq, a, lda, b0, b1, acc, R);
    __mmask16 m0 = tail_mask(nc), m1 = tail_mask(nc > 16 ? nc - 16 : 0);
    __m512 ws0 = _mm512_maskz_loadu_ps(m0, wscale), ws1 = _mm512_maskz_loadu_ps(m1, wscale + 16);
    __m512i su0 = _mm512_maskz_loadu_epi32(m0, wsum), su1 = _mm512_maskz_loadu_epi32(m1, wsum + 16);
    const float *bias1 = bias ? bias + 16 : NULL;
    for (int r = 0; r < R; r++) {
        __m512 vsa = _mm512_set1_ps(sa[r]);
        __m512i vz = _mm512_set1_epi32(z[r]);
        float *cr = c + (size_t)r * ldc;
        q8_store(cr, q8_value(_mm512_load_si512(acc + r * 2 * Q8_NR), vsa, vz, ws0, su0, bias, m0), m0, accumulate,
                 act);
        if (m1)
            q8_store(cr + 16, q8_value(_mm512_load_si512(acc + r * 2 * Q8_NR + 16), vsa, vz, ws1, su1, bias1, m1), m1,
                     accumulate, act);
    }
}

static void gemm_q8_tile_avx512(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                                const float *sa, const int32_t *z, const float *wscale, const int32_t *wsum,
                                const float *bias, float *c, int ldc, int nc, bool accumulate, psk_act act) {
    if (act != PSK_ACT_NONE && act != PSK_ACT_QUICK_GELU) {
        psk_gemm_q8_tile_of(&avx512_table, kq, a, lda, mr, b0, b1, sa, z, wscale, wsum, bias, c, ldc, nc, accumulate,
                            act);
        return;
    }
#define Q8_TILE(R) q8_tile_rows(kq, a, lda, b0, b1, sa, z, wscale, wsum, bias, c, ldc, nc, accumulate, act, R)
    switch (mr) {
    case 1: Q8_TILE(1); break;
    case 2: Q8_TILE(2); break;
    case 3: Q8_TILE(3); break;
    case 4: Q8_TILE(4); break;
    case 5: Q8_TILE(5); break;
    case 6: Q8_TILE(6); break;
    case 7: Q8_TILE(7); break;
    case 8: Q8_TILE(8); break;
    case 9: Q8_TILE(9); break;
    case 10: Q8_TILE(10); break;
    case 11: Q8_TILE(11); break;
    default: Q8_TILE(12); break;
    }
#undef Q8_TILE
}

static void dequant_q8_avx512(const int32_t *acc, int nc, float sa, int32_t z, const float *wscale,
                              const int32_t *wsum, const float *bias, float *out, bool accumulate, psk_act act) {
    __m512 vsa = _mm512_set1_ps(sa);
    __m512i vz = _mm512_set1_epi32(z);
    for (int t = 0; t < nc; t += 16) {
        __mmask16 m = tail_mask(nc - t);
        /* acc rows are whole tiles (2 * Q8_NR sums), just stored by gemm_q8_ukr: a plain load */
        __m512i d = _mm512_sub_epi32(_mm512_loadu_si512(acc + t),
                                     _mm512_mullo_epi32(vz, _mm512_maskz_loadu_epi32(m, wsum + t)));
        __m512 v = _mm512_mul_ps(_mm512_mul_ps(vsa, load_n(wscale + t, nc - t)), _mm512_cvtepi32_ps(d));
        if (bias) v = _mm512_add_ps(v, load_n(bias + t, nc - t));
        if (accumulate) v = _mm512_add_ps(load_n(out + t, nc - t), v);
        if (act == PSK_ACT_QUICK_GELU) v = quick_gelu512(v);
        store_n(out + t, v, nc - t);
    }
    if (act != PSK_ACT_NONE && act != PSK_ACT_QUICK_GELU) psk_kernels_ref()->bias_act(out, NULL, nc, act);
}

/* The quantisation of a row whose range [lo, hi] (holding 0) is known: the reference's rounding, x / s, round to
 * nearest even, + z, clamp. */
static void quantize_in_range(const float *x, int n, float lo, float hi, int qmax, uint8_t *q, float *scale,
                              int32_t *zero) {
    float s = hi > lo ? (hi - lo) / (float)qmax : 1.0f;
    int32_t z = (int32_t)lrintf(-lo / s);
    __m512 vs = _mm512_set1_ps(s);
    __m512i vz = _mm512_set1_epi32(z), v0 = _mm512_setzero_si512(), vmax = _mm512_set1_epi32(qmax);
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512i v = _mm512_cvtps_epi32(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), vs));
        v = _mm512_min_epi32(_mm512_max_epi32(_mm512_add_epi32(v, vz), v0), vmax);
        _mm512_mask_cvtepi32_storeu_epi8(q + i, m, v);
    }
    *scale = s;
    *zero = z;
}

static void quantize_row_avx512(const float *x, int n, int qmax, uint8_t *q, float *scale, int32_t *zero) {
    __m512 vlo = _mm512_setzero_ps(), vhi = vlo;
    for (int i = 0; i < n; i += 16) {
        __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), x + i); /* masked lanes read 0, inside the range */
        vlo = _mm512_min_ps(vlo, v);
        vhi = _mm512_max_ps(vhi, v);
    }
    quantize_in_range(x, n, _mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi), qmax, q, scale, zero);
}

/* Layer norm and quantisation fused: the normalised row is written only to an L1 buffer, its range found as it is
 * made. The same values as layer_norm_avx512 then quantize_row_avx512. */
static void layer_norm_q8_avx512(const float *x, const float *gamma, const float *beta, int n, float eps, int qmax,
                                 uint8_t *q, float *scale, int32_t *zero) {
    static _Thread_local float row[PSK_Q8_K_MAX] __attribute__((aligned(64)));
    float mean, inv;
    ln_stats(x, n, eps, &mean, &inv);
    __m512 vm = _mm512_set1_ps(mean), vi = _mm512_set1_ps(inv), vlo = _mm512_setzero_ps(), vhi = vlo;
    for (int i = 0; i < n; i += 16) {
        __m512 y = ln_at(x, gamma, beta, n, i, vm, vi);
        _mm512_store_ps(row + i, y);
        vlo = _mm512_min_ps(vlo, y);
        vhi = _mm512_max_ps(vhi, y);
    }
    quantize_in_range(row, n, _mm512_reduce_min_ps(vlo), _mm512_reduce_max_ps(vhi), qmax, q, scale, zero);
}

/* ---- vector scans: int8 rows widened to int16 and multiplied with the int16 query by vpdpwssd (VNNI), 32 values
 * per two instructions, exact int32 sums; any dim, the tail by masks ---- */

static inline __mmask32 tail_mask32(int n) {
    return n >= 32 ? (__mmask32)0xffffffffu : (__mmask32)((1u << n) - 1);
}

static inline __m512i widen_i8(const int8_t *r, __mmask32 m) {
    return _mm512_cvtepi8_epi16(_mm256_maskz_loadu_epi8(m, r));
}

static inline int32_t row_dot_i8_i16(const int8_t *r, const int16_t *query16, int dim) {
    __m512i s0 = _mm512_setzero_si512(), s1 = s0;
    int d = 0;
    for (; d + 64 <= dim; d += 64) {
        s0 = _mm512_dpwssd_epi32(s0, widen_i8(r + d, ~0u), _mm512_loadu_si512(query16 + d));
        s1 = _mm512_dpwssd_epi32(s1, widen_i8(r + d + 32, ~0u), _mm512_loadu_si512(query16 + d + 32));
    }
    for (; d < dim; d += 32) {
        __mmask32 m = tail_mask32(dim - d);
        s0 = _mm512_dpwssd_epi32(s0, widen_i8(r + d, m), _mm512_maskz_loadu_epi16(m, query16 + d));
    }
    return _mm512_reduce_add_epi32(_mm512_add_epi32(s0, s1));
}

static void scan_i8_avx512(const int8_t *q, const float *scale, int64_t n, int dim, const int16_t *query16,
                           float query_scale, float *out) {
    if (dim > PSK_SCAN_MAX_DIM) {
        psk_kernels_ref()->scan_i8(q, scale, n, dim, query16, query_scale, out);
        return;
    }
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int8_t *r0 = q + i * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        __m512i s0 = _mm512_setzero_si512(), s1 = s0, s2 = s0, s3 = s0;
        for (int d = 0; d < dim; d += 32) {
            /* two lines per step of the rows 128 ahead (four rows of dim bytes: dim/16 lines per group), as
             * avx2.c does */
            _mm_prefetch((const char *)(r0 + 128 * (size_t)dim + 4 * (size_t)d), _MM_HINT_T0);
            _mm_prefetch((const char *)(r0 + 128 * (size_t)dim + 4 * (size_t)d + 64), _MM_HINT_T0);
            __mmask32 m = tail_mask32(dim - d);
            __m512i qv = _mm512_maskz_loadu_epi16(m, query16 + d);
            s0 = _mm512_dpwssd_epi32(s0, widen_i8(r0 + d, m), qv);
            s1 = _mm512_dpwssd_epi32(s1, widen_i8(r1 + d, m), qv);
            s2 = _mm512_dpwssd_epi32(s2, widen_i8(r2 + d, m), qv);
            s3 = _mm512_dpwssd_epi32(s3, widen_i8(r3 + d, m), qv);
        }
        out[i] = (float)_mm512_reduce_add_epi32(s0) * scale[i] * query_scale;
        out[i + 1] = (float)_mm512_reduce_add_epi32(s1) * scale[i + 1] * query_scale;
        out[i + 2] = (float)_mm512_reduce_add_epi32(s2) * scale[i + 2] * query_scale;
        out[i + 3] = (float)_mm512_reduce_add_epi32(s3) * scale[i + 3] * query_scale;
    }
    for (; i < n; i++) out[i] = (float)row_dot_i8_i16(q + i * dim, query16, dim) * scale[i] * query_scale;
}

static void scan_i8_rows_avx512(const int8_t *q, const float *scale, const int32_t *rows, int n, int dim,
                                const int16_t *query16, float query_scale, float *out) {
    if (dim > PSK_SCAN_MAX_DIM) {
        psk_kernels_ref()->scan_i8_rows(q, scale, rows, n, dim, query16, query_scale, out);
        return;
    }
    psk_scan_rows(row_dot_i8_i16, q, scale, rows, n, dim, query16, query_scale, out);
}

static int32_t dot_i8_avx512(const int8_t *a, const int8_t *b, int n) {
    __m512i s = _mm512_setzero_si512();
    for (int i = 0; i < n; i += 32) {
        __mmask32 m = tail_mask32(n - i);
        s = _mm512_dpwssd_epi32(s, widen_i8(a + i, m), widen_i8(b + i, m));
    }
    return _mm512_reduce_add_epi32(s);
}

static void scan_f32_avx512(const float *v, int64_t n, int dim, const float *query, float *out) {
    for (int64_t i = 0; i < n; i++) {
        const float *r = v + i * dim;
        __m512 s0 = _mm512_setzero_ps(), s1 = s0;
        int d = 0;
        for (; d + 32 <= dim; d += 32) {
            s0 = _mm512_fmadd_ps(_mm512_loadu_ps(r + d), _mm512_loadu_ps(query + d), s0);
            s1 = _mm512_fmadd_ps(_mm512_loadu_ps(r + d + 16), _mm512_loadu_ps(query + d + 16), s1);
        }
        for (; d < dim; d += 16) {
            __mmask16 m = tail_mask(dim - d);
            s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, r + d), _mm512_maskz_loadu_ps(m, query + d), s0);
        }
        out[i] = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    }
}

static const psk_kernel_table avx512_table = {
    .name = "avx512",
    .gemm_mr = MR,
    .gemm_nr = NR,
    .gemm_kc = 768,
    .gemm_mc = 8 * MR,
    .q8_nr = Q8_NR,
    .q8_mr = Q8_MR,
    .q8_act_max = 255,
    .gemm_ukr = ukr_avx512,
    .gemm_pack_a = pack_a_avx512,
    .bias_act = bias_act_avx512,
    .layer_norm = layer_norm_avx512,
    .attention = attention_avx512,
    .scan_i8 = scan_i8_avx512,
    .scan_i8_rows = scan_i8_rows_avx512,
    .gemm_q8_ukr = gemm_q8_ukr_avx512,
    .quantize_row = quantize_row_avx512,
    .layer_norm_q8 = layer_norm_q8_avx512,
    .dequant_q8 = dequant_q8_avx512,
    .gemm_q8_tile = gemm_q8_tile_avx512,
    .scan_f32 = scan_f32_avx512,
    .dot_i8 = dot_i8_avx512,
};

const psk_kernel_table *psk_kernels_avx512(void) {
    return psk_cpu_has_avx512() ? &avx512_table : NULL;
}
#endif
