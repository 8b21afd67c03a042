/* Plain C reference kernels: the specification every vectorised kernel is tested against. */
#include "kernels.h"

#include <math.h>
#include <string.h>

float psk_act_ref(float x, psk_act act) {
    switch (act) {
    case PSK_ACT_QUICK_GELU: return x / (1.0f + expf(-1.702f * x));
    case PSK_ACT_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case PSK_ACT_TANH: return tanhf(x);
    default: return x;
    }
}

void psk_gemm_ref(int m, int n, int k, const float *a, int lda, const float *w, int ldw, const float *bias, float *c,
                  int ldc, bool accumulate, psk_act act) {
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            float s = 0.0f;
            for (int kk = 0; kk < k; kk++) s += a[(size_t)i * lda + kk] * w[(size_t)j * ldw + kk];
            if (bias) s += bias[j];
            float *dst = &c[(size_t)i * ldc + j];
            *dst = accumulate ? *dst + s : psk_act_ref(s, act);
        }
    }
}

void psk_gemm_pack_a_ref(int MR, const float *a, int lda, int mc, int kc, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        for (int kk = 0; kk < kc; kk++) {
            for (int i = 0; i < mr; i++) dst[kk * MR + i] = a[(size_t)(i0 + i) * lda + kk];
            for (int i = mr; i < MR; i++) dst[kk * MR + i] = 0.0f;
        }
        dst += (size_t)kc * MR;
    }
}

static void pack_a_ref(const float *a, int lda, int mc, int kc, float *dst) {
    psk_gemm_pack_a_ref(6, a, lda, mc, kc, dst);
}

void psk_gemm_ukr_ref(int MR, int NR, int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr,
                      bool load_c) {
    float acc[PSK_GEMM_MR_MAX][PSK_GEMM_NR_MAX] = {{0}};
    for (int kk = 0; kk < kc; kk++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[kk * MR + i] * b[kk * NR + j];
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[(size_t)i * ldc + j] = load_c ? c[(size_t)i * ldc + j] + acc[i][j] : acc[i][j];
}

static void ukr_ref(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool load_c) {
    psk_gemm_ukr_ref(6, 16, kc, a, b, c, ldc, mr, nr, load_c);
}

static void bias_act_ref(float *y, const float *bias, int n, psk_act act) {
    for (int i = 0; i < n; i++) y[i] = psk_act_ref(y[i] + (bias ? bias[i] : 0.0f), act);
}

static void layer_norm_ref(const float *x, const float *gamma, const float *beta, int n, float eps, float *out) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    float inv = (float)(1.0 / sqrt(var + eps));
    for (int i = 0; i < n; i++) out[i] = ((float)(x[i] - mean)) * inv * gamma[i] + beta[i];
}

static void attention_ref(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int n_q,
                          int n_keys, int head_dim, float scale, bool causal, float *out, int ldo, float *scratch) {
    for (int i = 0; i < n_q; i++) {
        int nk = causal && i + 1 < n_keys ? i + 1 : n_keys;
        float mx = -INFINITY;
        for (int j = 0; j < nk; j++) {
            float s = 0;
            for (int d = 0; d < head_dim; d++) s += q[(size_t)i * ldq + d] * k[(size_t)j * ldk + d];
            scratch[j] = s * scale;
            if (scratch[j] > mx) mx = scratch[j];
        }
        float sum = 0;
        for (int j = 0; j < nk; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        float *o = &out[(size_t)i * ldo];
        memset(o, 0, sizeof(float) * (size_t)head_dim);
        for (int j = 0; j < nk; j++) {
            float p = scratch[j] / sum;
            for (int d = 0; d < head_dim; d++) o[d] += p * v[(size_t)j * ldv + d];
        }
    }
}

float psk_quantize_query(const float *query, int dim, int16_t *query16) {
    float mx = 0;
    for (int d = 0; d < dim; d++) mx = fmaxf(mx, fabsf(query[d]));
    float scale = mx > 0 ? mx / 8191.0f : 1.0f;
    for (int d = 0; d < dim; d++) query16[d] = (int16_t)lrintf(query[d] / scale);
    return scale;
}

static void scan_i8_ref(const int8_t *q, const float *scale, int64_t n, int dim, const int16_t *query16,
                        float query_scale, float *out) {
    for (int64_t i = 0; i < n; i++) {
        int32_t s = 0;
        for (int d = 0; d < dim; d++) s += (int32_t)q[i * dim + d] * query16[d];
        out[i] = (float)s * scale[i] * query_scale;
    }
}

static void scan_i8_rows_ref(const int8_t *q, const float *scale, const int32_t *rows, int n, int dim,
                             const int16_t *query16, float query_scale, float *out) {
    for (int i = 0; i < n; i++) scan_i8_ref(q + (size_t)rows[i] * dim, scale + rows[i], 1, dim, query16, query_scale, out + i);
}

static void scan_f32_ref(const float *v, int64_t n, int dim, const float *query, float *out) {
    for (int64_t i = 0; i < n; i++) {
        float s = 0;
        for (int d = 0; d < dim; d++) s += v[i * dim + d] * query[d];
        out[i] = s;
    }
}

void psk_gemm_q8_ukr_ref(int nr, int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                         int32_t *out) {
    for (int r = 0; r < mr; r++)
        for (int j = 0; j < 2 * nr; j++) {
            const int8_t *b = j < nr ? b0 : b1;
            int jj = j % nr;
            int32_t s = 0;
            for (int g = 0; g < kq; g++)
                for (int t = 0; t < 4; t++)
                    s += (int32_t)a[(size_t)r * lda + g * 4 + t] * b[(size_t)g * 4 * nr + jj * 4 + t];
            out[r * 2 * nr + j] = s;
        }
}

static void gemm_q8_ukr_ref(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1, int32_t *out) {
    psk_gemm_q8_ukr_ref(8, kq, a, lda, mr, b0, b1, out);
}

static void dequant_q8_ref(const int32_t *acc, int nc, float sa, int32_t z, const float *wscale, const int32_t *wsum,
                           const float *bias, float *out, bool accumulate, psk_act act) {
    for (int t = 0; t < nc; t++) {
        float v = sa * wscale[t] * (float)(acc[t] - z * wsum[t]);
        if (bias) v += bias[t];
        out[t] = psk_act_ref(accumulate ? out[t] + v : v, act);
    }
}

void psk_gemm_q8_tile_of(const psk_kernel_table *kt, int kq, const uint8_t *a, int lda, int mr, const int8_t *b0,
                         const int8_t *b1, const float *sa, const int32_t *z, const float *wscale,
                         const int32_t *wsum, const float *bias, float *c, int ldc, int nc, bool accumulate,
                         psk_act act) {
    int32_t acc[PSK_Q8_MR_MAX * 2 * PSK_Q8_NR_MAX] __attribute__((aligned(64)));
    int TW = 2 * kt->q8_nr;
    kt->gemm_q8_ukr(kq, a, lda, mr, b0, b1, acc);
    for (int i = 0; i < mr; i++)
        kt->dequant_q8(acc + i * TW, nc, sa[i], z[i], wscale, wsum, bias, c + (size_t)i * ldc, accumulate, act);
}

static void gemm_q8_tile_ref(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                             const float *sa, const int32_t *z, const float *wscale, const int32_t *wsum,
                             const float *bias, float *c, int ldc, int nc, bool accumulate, psk_act act) {
    psk_gemm_q8_tile_of(psk_kernels_ref(), kq, a, lda, mr, b0, b1, sa, z, wscale, wsum, bias, c, ldc, nc, accumulate,
                        act);
}

static void quantize_row_ref(const float *x, int n, int qmax, uint8_t *q, float *scale, int32_t *zero) {
    float lo = 0, hi = 0; /* the range always holds 0, so that 0 is exact */
    for (int i = 0; i < n; i++) {
        lo = fminf(lo, x[i]);
        hi = fmaxf(hi, x[i]);
    }
    float s = hi > lo ? (hi - lo) / (float)qmax : 1.0f;
    int32_t z = (int32_t)lrintf(-lo / s);
    for (int i = 0; i < n; i++) {
        int v = (int)lrintf(x[i] / s) + z;
        q[i] = (uint8_t)(v < 0 ? 0 : v > qmax ? qmax : v);
    }
    *scale = s;
    *zero = z;
}

static void layer_norm_q8_ref(const float *x, const float *gamma, const float *beta, int n, float eps, int qmax,
                              uint8_t *q, float *scale, int32_t *zero) {
    static _Thread_local float row[PSK_Q8_K_MAX];
    layer_norm_ref(x, gamma, beta, n, eps, row);
    quantize_row_ref(row, n, qmax, q, scale, zero);
}

static int32_t dot_i8_ref(const int8_t *a, const int8_t *b, int n) {
    int32_t s = 0;
    for (int i = 0; i < n; i++) s += (int32_t)a[i] * b[i];
    return s;
}

static const psk_kernel_table ref_table = {
    .name = "ref",
    .gemm_mr = 6,
    .gemm_nr = 16,
    .gemm_kc = 256,
    .gemm_mc = 96,
    .q8_nr = 8,
    .q8_mr = 4,
    .q8_act_max = 127,
    .gemm_ukr = ukr_ref,
    .gemm_pack_a = pack_a_ref,
    .bias_act = bias_act_ref,
    .layer_norm = layer_norm_ref,
    .attention = attention_ref,
    .scan_i8 = scan_i8_ref,
    .scan_i8_rows = scan_i8_rows_ref,
    .gemm_q8_ukr = gemm_q8_ukr_ref,
    .quantize_row = quantize_row_ref,
    .layer_norm_q8 = layer_norm_q8_ref,
    .dequant_q8 = dequant_q8_ref,
    .gemm_q8_tile = gemm_q8_tile_ref,
    .scan_f32 = scan_f32_ref,
    .dot_i8 = dot_i8_ref,
};

const psk_kernel_table *psk_kernels_ref(void) {
    return &ref_table;
}
