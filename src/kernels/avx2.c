/* AVX2/FMA kernels. This file alone is compiled with -mavx2 -mfma; psk_kernels_avx2() checks the CPU first. */
#include "kernels.h"
#include "scan_rows.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* exp(x) for 8 floats: Cephes' range reduction x = n ln2 + r and a degree-6 polynomial, relative error ~2 ulp. */
static inline __m256 exp256(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-88.3762626647949f);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    fx = _mm256_floor_ps(fx);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
    __m256 y = _mm256_set1_ps(1.9875691500E-4f);
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.3981999507E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(8.3334519073E-3f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(4.1665795894E-2f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(1.6666665459E-1f));
    y = _mm256_fmadd_ps(y, x, _mm256_set1_ps(5.0000001201E-1f));
    __m256 x2 = _mm256_mul_ps(x, x);
    y = _mm256_fmadd_ps(y, x2, x);
    y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_add_epi32(_mm256_cvttps_epi32(fx), _mm256_set1_epi32(127));
    return _mm256_mul_ps(y, _mm256_castsi256_ps(_mm256_slli_epi32(e, 23)));
}

static inline float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

#define ROW(i)                                                                                                         \
    {                                                                                                                  \
        __m256 ai = _mm256_broadcast_ss(a + i);                                                                        \
        c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);                                                                    \
        c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);                                                                    \
    }

/* The tile: MR rows x NR columns (twelve ymm accumulators). */
#define MR 6
#define NR 16

/* Stores a row of the tile: C = acc, or C += acc; a partial last strip goes through a small buffer. */
static inline void store_row(float *ci, __m256 r0, __m256 r1, int nr, bool load_c) {
    if (nr == NR) {
        if (load_c) {
            r0 = _mm256_add_ps(r0, _mm256_loadu_ps(ci));
            r1 = _mm256_add_ps(r1, _mm256_loadu_ps(ci + 8));
        }
        _mm256_storeu_ps(ci, r0);
        _mm256_storeu_ps(ci + 8, r1);
        return;
    }
    float tmp[NR] __attribute__((aligned(32)));
    _mm256_store_ps(tmp, r0);
    _mm256_store_ps(tmp + 8, r1);
    for (int j = 0; j < nr; j++) ci[j] = load_c ? ci[j] + tmp[j] : tmp[j];
}

/* The full 6x16 tile, written out so that the twelve accumulators stay in registers. */
static void ukr_6(int kc, const float *a, const float *b, float *c, int ldc, int nr, bool load_c) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        _mm_prefetch((const char *)(b + 2048), _MM_HINT_T0);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
        a += MR;
        b += NR;
    }
    store_row(c, c00, c01, nr, load_c);
    store_row(c + (size_t)ldc, c10, c11, nr, load_c);
    store_row(c + (size_t)2 * ldc, c20, c21, nr, load_c);
    store_row(c + (size_t)3 * ldc, c30, c31, nr, load_c);
    store_row(c + (size_t)4 * ldc, c40, c41, nr, load_c);
    store_row(c + (size_t)5 * ldc, c50, c51, nr, load_c);
}

/* Fewer than 6 rows (the tail of a short input such as a 7-token query): k is unrolled by two with separate
 * accumulators, so that a tile of one or two rows is not bound by the FMA latency. */
#define TAIL_ROW(i)                                                                                                    \
    if (rows > i) {                                                                                                    \
        __m256 x = _mm256_broadcast_ss(a + i), y = _mm256_broadcast_ss(a + MR + i);                           \
        e##i##0 = _mm256_fmadd_ps(x, b0, e##i##0);                                                                     \
        e##i##1 = _mm256_fmadd_ps(x, b1, e##i##1);                                                                     \
        o##i##0 = _mm256_fmadd_ps(y, b2, o##i##0);                                                                     \
        o##i##1 = _mm256_fmadd_ps(y, b3, o##i##1);                                                                     \
    }

#define TAIL_ROW_EVEN(i)                                                                                               \
    if (rows > i) {                                                                                                    \
        __m256 x = _mm256_broadcast_ss(a + i);                                                                         \
        e##i##0 = _mm256_fmadd_ps(x, b0, e##i##0);                                                                     \
        e##i##1 = _mm256_fmadd_ps(x, b1, e##i##1);                                                                     \
    }

static inline __attribute__((always_inline)) void ukr_tail(int kc, const float *a, const float *b, float *c, int ldc,
                                                          int nr, bool load_c, const int rows) {
    __m256 z = _mm256_setzero_ps();
    __m256 e00 = z, e01 = z, e10 = z, e11 = z, e20 = z, e21 = z, e30 = z, e31 = z, e40 = z, e41 = z;
    __m256 o00 = z, o01 = z, o10 = z, o11 = z, o20 = z, o21 = z, o30 = z, o31 = z, o40 = z, o41 = z;
    int k = 0;
    for (; k + 2 <= kc; k += 2) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8), b2 = _mm256_load_ps(b + 16),
               b3 = _mm256_load_ps(b + 24);
        TAIL_ROW(0) TAIL_ROW(1) TAIL_ROW(2) TAIL_ROW(3) TAIL_ROW(4)
        a += 2 * MR;
        b += 2 * NR;
    }
    if (k < kc) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        TAIL_ROW_EVEN(0) TAIL_ROW_EVEN(1) TAIL_ROW_EVEN(2) TAIL_ROW_EVEN(3) TAIL_ROW_EVEN(4)
    }
    if (rows > 0) store_row(c, _mm256_add_ps(e00, o00), _mm256_add_ps(e01, o01), nr, load_c);
    if (rows > 1) store_row(c + (size_t)ldc, _mm256_add_ps(e10, o10), _mm256_add_ps(e11, o11), nr, load_c);
    if (rows > 2) store_row(c + (size_t)2 * ldc, _mm256_add_ps(e20, o20), _mm256_add_ps(e21, o21), nr, load_c);
    if (rows > 3) store_row(c + (size_t)3 * ldc, _mm256_add_ps(e30, o30), _mm256_add_ps(e31, o31), nr, load_c);
    if (rows > 4) store_row(c + (size_t)4 * ldc, _mm256_add_ps(e40, o40), _mm256_add_ps(e41, o41), nr, load_c);
}

static void ukr_avx2(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool load_c) {
    switch (mr) {
    case 1: ukr_tail(kc, a, b, c, ldc, nr, load_c, 1); break;
    case 2: ukr_tail(kc, a, b, c, ldc, nr, load_c, 2); break;
    case 3: ukr_tail(kc, a, b, c, ldc, nr, load_c, 3); break;
    case 4: ukr_tail(kc, a, b, c, ldc, nr, load_c, 4); break;
    case 5: ukr_tail(kc, a, b, c, ldc, nr, load_c, 5); break;
    default: ukr_6(kc, a, b, c, ldc, nr, load_c); break;
    }
}

static void bias_act_avx2(float *y, const float *bias, int n, psk_act act) {
    int i = 0;
    if (act == PSK_ACT_NONE || act == PSK_ACT_QUICK_GELU) {
        const __m256 k = _mm256_set1_ps(-1.702f), one = _mm256_set1_ps(1.0f);
        for (; i + 8 <= n; i += 8) {
            __m256 x = _mm256_loadu_ps(y + i);
            if (bias) x = _mm256_add_ps(x, _mm256_loadu_ps(bias + i));
            if (act == PSK_ACT_QUICK_GELU) x = _mm256_div_ps(x, _mm256_add_ps(one, exp256(_mm256_mul_ps(k, x))));
            _mm256_storeu_ps(y + i, x);
        }
    }
    for (; i < n; i++) y[i] = psk_act_ref(y[i] + (bias ? bias[i] : 0.0f), act);
}

static void layer_norm_avx2(const float *x, const float *gamma, const float *beta, int n, float eps, float *out) {
    /* Two passes (mean, then centred variance) as the reference does, for the same accuracy. */
    __m256 s = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(x + i));
    float sum = hsum256(s);
    for (; i < n; i++) sum += x[i];
    float mean = sum / (float)n;
    __m256 vm = _mm256_set1_ps(mean), v = _mm256_setzero_ps();
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vm);
        v = _mm256_fmadd_ps(d, d, v);
    }
    float var = hsum256(v);
    for (; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= (float)n;
    float inv = 1.0f / sqrtf(var + eps);
    __m256 vi = _mm256_set1_ps(inv);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), vi);
        _mm256_storeu_ps(out + i, _mm256_fmadd_ps(d, _mm256_loadu_ps(gamma + i), _mm256_loadu_ps(beta + i)));
    }
    for (; i < n; i++) out[i] = (x[i] - mean) * inv * gamma[i] + beta[i];
}

static void attention_avx2(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int n_q,
                           int n_keys, int head_dim, float scale, bool causal, float *out, int ldo, float *scratch) {
    if (head_dim % 8 != 0) {
        psk_kernels_ref()->attention(q, ldq, k, ldk, v, ldv, n_q, n_keys, head_dim, scale, causal, out, ldo, scratch);
        return;
    }
    for (int i = 0; i < n_q; i++) {
        int nk = causal && i + 1 < n_keys ? i + 1 : n_keys;
        const float *qi = q + (size_t)i * ldq;
        float mx = -INFINITY;
        for (int j = 0; j < nk; j++) {
            const float *kj = k + (size_t)j * ldk;
            __m256 s = _mm256_mul_ps(_mm256_loadu_ps(qi), _mm256_loadu_ps(kj));
            for (int d = 8; d < head_dim; d += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(qi + d), _mm256_loadu_ps(kj + d), s);
            float sc = hsum256(s) * scale;
            scratch[j] = sc;
            if (sc > mx) mx = sc;
        }
        int j = 0;
        __m256 vsum = _mm256_setzero_ps(), vmx = _mm256_set1_ps(mx);
        for (; j + 8 <= nk; j += 8) {
            __m256 e = exp256(_mm256_sub_ps(_mm256_loadu_ps(scratch + j), vmx));
            _mm256_storeu_ps(scratch + j, e);
            vsum = _mm256_add_ps(vsum, e);
        }
        float sum = hsum256(vsum);
        for (; j < nk; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        float inv = 1.0f / sum;
        float *o = out + (size_t)i * ldo;
        for (int d = 0; d < head_dim; d += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (j = 0; j < nk; j++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(scratch[j]), _mm256_loadu_ps(v + (size_t)j * ldv + d), acc);
            _mm256_storeu_ps(o + d, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
        }
    }
}

static inline int32_t hsum_epi32(__m256i v) {
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return _mm_cvtsi128_si32(x);
}

/* int8 rows widened to int16 and multiplied with the int16 query by vpmaddwd: three instructions per 16 values,
 * exact integer sums (so the result equals the reference bit for bit). Four rows share each query load. */
/* sum_d r[d] * query16[d] for one int8 row, dim a multiple of 16 (two accumulators hide the add latency). */
static inline int32_t row_dot_i8_i16(const int8_t *r, const int16_t *query16, int dim) {
    __m256i s0 = _mm256_setzero_si256(), s1 = s0;
    int d = 0;
    for (; d + 32 <= dim; d += 32) {
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + d))),
                                                    _mm256_loadu_si256((const __m256i *)(query16 + d))));
        s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + d + 16))),
                                                    _mm256_loadu_si256((const __m256i *)(query16 + d + 16))));
    }
    if (d < dim)
        s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r + d))),
                                                    _mm256_loadu_si256((const __m256i *)(query16 + d))));
    return hsum_epi32(_mm256_add_epi32(s0, s1));
}

static void scan_i8_avx2(const int8_t *q, const float *scale, int64_t n, int dim, const int16_t *query16,
                         float query_scale, float *out) {
    if (dim % 16 != 0 || dim > PSK_SCAN_MAX_DIM) {
        psk_kernels_ref()->scan_i8(q, scale, n, dim, query16, query_scale, out);
        return;
    }
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const int8_t *r0 = q + i * dim, *r1 = r0 + dim, *r2 = r1 + dim, *r3 = r2 + dim;
        __m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
        for (int d = 0; d < dim; d += 16) {
            /* one cache line per step of the rows 128 ahead (4 rows x dim bytes = dim/16 lines per group): the
             * hardware prefetcher does not follow four interleaved rows far enough to feed this loop */
            _mm_prefetch((const char *)(r0 + 128 * (size_t)dim + 4 * (size_t)d), _MM_HINT_T0);
            __m256i qv = _mm256_loadu_si256((const __m256i *)(query16 + d));
            s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r0 + d))), qv));
            s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r1 + d))), qv));
            s2 = _mm256_add_epi32(s2, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r2 + d))), qv));
            s3 = _mm256_add_epi32(s3, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(r3 + d))), qv));
        }
        out[i] = (float)hsum_epi32(s0) * scale[i] * query_scale;
        out[i + 1] = (float)hsum_epi32(s1) * scale[i + 1] * query_scale;
        out[i + 2] = (float)hsum_epi32(s2) * scale[i + 2] * query_scale;
        out[i + 3] = (float)hsum_epi32(s3) * scale[i + 3] * query_scale;
    }
    for (; i < n; i++) out[i] = (float)row_dot_i8_i16(q + i * dim, query16, dim) * scale[i] * query_scale;
}

static void scan_i8_rows_avx2(const int8_t *q, const float *scale, const int32_t *rows, int n, int dim,
                              const int16_t *query16, float query_scale, float *out) {
    if (dim % 16 != 0 || dim > PSK_SCAN_MAX_DIM) {
        psk_kernels_ref()->scan_i8_rows(q, scale, rows, n, dim, query16, query_scale, out);
        return;
    }
    psk_scan_rows(row_dot_i8_i16, q, scale, rows, n, dim, query16, query_scale, out);
}

static void scan_f32_avx2(const float *v, int64_t n, int dim, const float *query, float *out) {
    if (dim % 8 != 0) {
        psk_kernels_ref()->scan_f32(v, n, dim, query, out);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        const float *r = v + i * dim;
        __m256 s0 = _mm256_setzero_ps(), s1 = s0;
        int d = 0;
        for (; d + 16 <= dim; d += 16) {
            s0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + d), _mm256_loadu_ps(query + d), s0);
            s1 = _mm256_fmadd_ps(_mm256_loadu_ps(r + d + 8), _mm256_loadu_ps(query + d + 8), s1);
        }
        if (d < dim) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(r + d), _mm256_loadu_ps(query + d), s0);
        out[i] = hsum256(_mm256_add_ps(s0, s1));
    }
}

/* u8 x s8 -> s16 pairs (vpmaddubsw, no saturation with 7-bit activations), -> s32 quads (vpmaddwd by ones):
 * 32 multiply-adds per two multiply instructions, twice what an FMA does on float32. */
#define Q8_ROW(i)                                                                                                      \
    if (mr > i) {                                                                                                      \
        int32_t word;                                                                                                  \
        memcpy(&word, a + (size_t)i * lda + 4 * (size_t)g, 4);                                                         \
        __m256i av = _mm256_set1_epi32(word);                                                                          \
        acc##i##0 = _mm256_add_epi32(acc##i##0, _mm256_madd_epi16(_mm256_maddubs_epi16(av, w0), ones));              \
        acc##i##1 = _mm256_add_epi32(acc##i##1, _mm256_madd_epi16(_mm256_maddubs_epi16(av, w1), ones));              \
    }

static inline __attribute__((always_inline)) void q8_rows(int kq, const uint8_t *a, int lda, const int8_t *b0,
                                                         const int8_t *b1, int32_t *out, const int mr) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i z = _mm256_setzero_si256();
    __m256i acc00 = z, acc01 = z, acc10 = z, acc11 = z, acc20 = z, acc21 = z, acc30 = z, acc31 = z;
    for (int g = 0; g < kq; g++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(b0 + (size_t)g * 32));
        __m256i w1 = _mm256_load_si256((const __m256i *)(b1 + (size_t)g * 32));
        Q8_ROW(0) Q8_ROW(1) Q8_ROW(2) Q8_ROW(3)
    }
    /* each 32-bit lane holds one column of the strip */
    _mm256_storeu_si256((__m256i *)(out + 0), acc00);
    _mm256_storeu_si256((__m256i *)(out + 8), acc01);
    if (mr > 1) {
        _mm256_storeu_si256((__m256i *)(out + 16), acc10);
        _mm256_storeu_si256((__m256i *)(out + 24), acc11);
    }
    if (mr > 2) {
        _mm256_storeu_si256((__m256i *)(out + 32), acc20);
        _mm256_storeu_si256((__m256i *)(out + 40), acc21);
    }
    if (mr > 3) {
        _mm256_storeu_si256((__m256i *)(out + 48), acc30);
        _mm256_storeu_si256((__m256i *)(out + 56), acc31);
    }
}

static void gemm_q8_ukr_avx2(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                             int32_t *out) {
    switch (mr) {
    case 1: q8_rows(kq, a, lda, b0, b1, out, 1); break;
    case 2: q8_rows(kq, a, lda, b0, b1, out, 2); break;
    case 3: q8_rows(kq, a, lda, b0, b1, out, 3); break;
    default: q8_rows(kq, a, lda, b0, b1, out, 4); break;
    }
}

static inline __m256 dequant8(const int32_t *acc, __m256 vsa, __m256i vz, const float *wscale, const int32_t *wsum,
                              const float *bias, const float *out, bool accumulate) {
    __m256i d = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)acc),
                                 _mm256_mullo_epi32(vz, _mm256_loadu_si256((const __m256i *)wsum)));
    __m256 v = _mm256_mul_ps(_mm256_mul_ps(vsa, _mm256_loadu_ps(wscale)), _mm256_cvtepi32_ps(d));
    if (bias) v = _mm256_add_ps(v, _mm256_loadu_ps(bias));
    return accumulate ? _mm256_add_ps(_mm256_loadu_ps(out), v) : v;
}

static void dequant_q8_avx2(const int32_t *acc, int nc, float sa, int32_t z, const float *wscale, const int32_t *wsum,
                            const float *bias, float *out, bool accumulate, psk_act act) {
    if (nc != 16) { /* the last strip of a matrix whose width is not a multiple of 16 */
        psk_kernels_ref()->dequant_q8(acc, nc, sa, z, wscale, wsum, bias, out, accumulate, act);
        return;
    }
    __m256 vsa = _mm256_set1_ps(sa);
    __m256i vz = _mm256_set1_epi32(z);
    __m256 v0 = dequant8(acc, vsa, vz, wscale, wsum, bias, out, accumulate);
    __m256 v1 = dequant8(acc + 8, vsa, vz, wscale + 8, wsum + 8, bias ? bias + 8 : NULL, out + 8, accumulate);
    _mm256_storeu_ps(out, v0);
    _mm256_storeu_ps(out + 8, v1);
    if (act != PSK_ACT_NONE) bias_act_avx2(out, NULL, 16, act);
}

static const psk_kernel_table avx2_table;

/* the tile's 4 x 16 sums are dequantised from L1 right after the tile (this level's own table: asking
 * psk_kernels_avx2() would run cpuid, slow under a hypervisor, per tile) */
static void gemm_q8_tile_avx2(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                              const float *sa, const int32_t *z, const float *wscale, const int32_t *wsum,
                              const float *bias, float *c, int ldc, int nc, bool accumulate, psk_act act) {
    psk_gemm_q8_tile_of(&avx2_table, kq, a, lda, mr, b0, b1, sa, z, wscale, wsum, bias, c, ldc, nc,
                        accumulate, act);
}

static void quantize_row_avx2(const float *x, int n, int qmax, uint8_t *q, float *scale, int32_t *zero) {
    __m256 vlo = _mm256_setzero_ps(), vhi = vlo;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        vlo = _mm256_min_ps(vlo, v);
        vhi = _mm256_max_ps(vhi, v);
    }
    float lo_a[8], hi_a[8], lo = 0, hi = 0;
    _mm256_storeu_ps(lo_a, vlo);
    _mm256_storeu_ps(hi_a, vhi);
    for (int t = 0; t < 8; t++) {
        lo = fminf(lo, lo_a[t]);
        hi = fmaxf(hi, hi_a[t]);
    }
    for (int t = i; t < n; t++) {
        lo = fminf(lo, x[t]);
        hi = fmaxf(hi, x[t]);
    }
    float s = hi > lo ? (hi - lo) / (float)qmax : 1.0f;
    int32_t z = (int32_t)lrintf(-lo / s);
    /* the same rounding as the reference: x / s, round to nearest even, + z, clamp */
    __m256 vs = _mm256_set1_ps(s);
    __m256i vz = _mm256_set1_epi32(z), v0 = _mm256_setzero_si256(), vmax = _mm256_set1_epi32(qmax);
    for (i = 0; i + 8 <= n; i += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(x + i), vs));
        v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, vz), v0), vmax);
        __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(q + i), _mm_packus_epi16(p16, p16));
    }
    for (; i < n; i++) {
        int v = (int)lrintf(x[i] / s) + z;
        q[i] = (uint8_t)(v < 0 ? 0 : v > qmax ? qmax : v);
    }
    *scale = s;
    *zero = z;
}

/* The row normalised into a buffer that stays in L1, then quantised from there: one pass over the row in memory. */
static void layer_norm_q8_avx2(const float *x, const float *gamma, const float *beta, int n, float eps, int qmax,
                               uint8_t *q, float *scale, int32_t *zero) {
    static _Thread_local float row[PSK_Q8_K_MAX] __attribute__((aligned(32)));
    layer_norm_avx2(x, gamma, beta, n, eps, row);
    quantize_row_avx2(row, n, qmax, q, scale, zero);
}

static int32_t dot_i8_avx2(const int8_t *a, const int8_t *b, int n) {
    __m256i s = _mm256_setzero_si256();
    int i = 0;
    for (; i + 16 <= n; i += 16)
        s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a + i))),
                                                  _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(b + i)))));
    int32_t r = hsum_epi32(s);
    for (; i < n; i++) r += (int32_t)a[i] * b[i];
    return r;
}

static void pack_a_avx2(const float *a, int lda, int mc, int kc, float *dst) {
    psk_gemm_pack_a_ref(6, a, lda, mc, kc, dst);
}

static const psk_kernel_table avx2_table = {
    .name = "avx2",
    .gemm_mr = MR,
    .gemm_nr = NR,
    .gemm_kc = 256,
    .gemm_mc = 96,
    .q8_nr = 8,
    .q8_mr = 4,
    .q8_act_max = 127,
    .gemm_ukr = ukr_avx2,
    .gemm_pack_a = pack_a_avx2,
    .bias_act = bias_act_avx2,
    .layer_norm = layer_norm_avx2,
    .attention = attention_avx2,
    .scan_i8 = scan_i8_avx2,
    .scan_i8_rows = scan_i8_rows_avx2,
    .gemm_q8_ukr = gemm_q8_ukr_avx2,
    .quantize_row = quantize_row_avx2,
    .layer_norm_q8 = layer_norm_q8_avx2,
    .dequant_q8 = dequant_q8_avx2,
    .gemm_q8_tile = gemm_q8_tile_avx2,
    .scan_f32 = scan_f32_avx2,
    .dot_i8 = dot_i8_avx2,
};

const psk_kernel_table *psk_kernels_avx2(void) {
    return psk_cpu_has_avx2() ? &avx2_table : NULL;
}
