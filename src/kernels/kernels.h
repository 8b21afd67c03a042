/* Hot loops. Every kernel has a plain C reference (the *_ref functions, its specification and test oracle) and an
 * AVX2/FMA version; psk_kernels() returns the table chosen once at start-up from the CPU's features.
 * PHOTOSEEK_KERNELS=ref in the environment forces the reference table. */
#ifndef PSK_KERNELS_H
#define PSK_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct psk_pool psk_pool;

/* Register tile of the GEMM micro-kernel and the packed-B strip width. */
#define PSK_GEMM_MR 6
#define PSK_GEMM_NR 16

typedef enum psk_act { PSK_ACT_NONE = 0, PSK_ACT_QUICK_GELU = 1, PSK_ACT_GELU_ERF = 2, PSK_ACT_TANH = 3 } psk_act;

/* A weight matrix W (n outputs x k inputs, PyTorch Linear layout) packed for the micro-kernel:
 * ceil(n/16) strips, each k rows of 16 floats (columns past n are zero). Layout: data[(j*k + kk)*16 + c]. */
typedef struct psk_packed {
    int n, k;
    float *data;
    bool borrowed; /* data lives in a larger block owned elsewhere (a model's weight arena) */
} psk_packed;

/* Floats of packed data for an n x k matrix. */
size_t psk_packed_floats(int n, int k);

/* Packs from W[n][k] (row stride ldw) or, with transposed=true, from W[k][n] (the `x @ proj` layout). */
int psk_pack_weights(const float *w, int n, int k, int ldw, bool transposed, psk_packed *out);
void psk_packed_free(psk_packed *p);

/* C[m x n] (row stride ldc) = act(A[m x k] W^T + bias)   when accumulate is false,
 * C += A W^T + bias                                          when accumulate is true (act must be NONE).
 * bias may be NULL. Runs on the pool's threads (pool may be NULL). */
void psk_gemm(psk_pool *pool, int m, const float *a, int lda, const psk_packed *w, const float *bias, float *c,
              int ldc, bool accumulate, psk_act act);

/* The plain reference of psk_gemm on the unpacked W[n][k]. */
void psk_gemm_ref(int m, int n, int k, const float *a, int lda, const float *w, int ldw, const float *bias, float *c,
                  int ldc, bool accumulate, psk_act act);

/* ---- int8 GEMM ----
 * Weights quantised per output channel (symmetric int8), activations per row (asymmetric, 7-bit unsigned so that
 * vpmaddubsw's pairwise int16 sums cannot saturate). C = scale_a[i] * wscale[j] * (sum_k a_q w_q - z_i * wsum[j]).
 * Packed weights: strips of 8 output columns, each k-group of 4 as 32 bytes: data[((j/8) * kq + k/4) * 32 +
 * (j%8)*4 + k%4], kq = ceil(k/4); columns past n and k past k are zero. */
#define PSK_Q8_NR 8
typedef struct psk_packed_q8 {
    int n, k, kq;
    int8_t *data;
    float *scale; /* n */
    int32_t *sum; /* n: sum over k of the quantised weights */
} psk_packed_q8;

int psk_pack_weights_q8(const float *w, int n, int k, int ldw, bool transposed, psk_packed_q8 *out);
void psk_packed_q8_free(psk_packed_q8 *p);
/* Re-quantises a float32 packed matrix (psk_pack_weights' layout). */
int psk_pack_q8_from_packed(const psk_packed *p, psk_packed_q8 *out);
/* C = act(A W^T + bias) (or C += A W^T + bias), like psk_gemm, with A quantised per row on the fly.
 * Returns PSK_ERR_NOMEM (C untouched) when its scratch memory cannot be had. */
int psk_gemm_q8(psk_pool *pool, int m, const float *a, int lda, const psk_packed_q8 *w, const float *bias, float *c,
                 int ldc, bool accumulate, psk_act act);

/* Kernels below the GEMM, one table per instruction set. */
typedef struct psk_kernel_table {
    const char *name;
    /* The 6x16 micro-kernel: acc = sum_k a[k*6+i] * b[k*16+j]; C (mr x nr valid) = acc, or C += acc if load_c. */
    void (*gemm_ukr)(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool load_c);
    /* y[i] = act(y[i] + bias[i]) for one row of n values (bias may be NULL). */
    void (*bias_act)(float *y, const float *bias, int n, psk_act act);
    /* out = (x - mean) / sqrt(var + eps) * gamma + beta over one row. out may equal x. */
    void (*layer_norm)(const float *x, const float *gamma, const float *beta, int n, float eps, float *out);
    /* Attention of one head: q, k, v rows of head_dim floats with row strides ldq/ldk/ldv; out row stride ldo.
     * Query i attends to keys j < n_keys, and j <= i when causal. scale multiplies the scores. scratch holds n_keys
     * floats. */
    void (*attention)(const float *q, int ldq, const float *k, int ldk, const float *v, int ldv, int n_q, int n_keys,
                      int head_dim, float scale, bool causal, float *out, int ldo, float *scratch);
    /* int8 micro-kernel: acc[r][j] = sum over kq groups of the 4 u8 values a[r][4g..4g+3] times the 4 int8 weights
     * of column j (16 columns: two strips of 8 at b and b + strip_stride), for rows r < mr (a row stride lda
     * bytes, kq*4 bytes each). out[r*16 + j] receives the int32 sums (columns past nr: unspecified). */
    void (*gemm_q8_ukr)(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1, int32_t *out);
    /* The int8 GEMM's epilogue for one row of nc <= 16 columns: out[t] (+)= sa * wscale[t] * (acc[t] - z * wsum[t])
     * (+ bias[t] when bias is not NULL), the products in that order so that every version rounds alike. */
    void (*dequant_q8)(const int32_t *acc, int nc, float sa, int32_t z, const float *wscale, const int32_t *wsum,
                       const float *bias, float *out, bool accumulate);
    /* Quantises a row of n floats to 7-bit unsigned: returns scale and zero point. */
    void (*quantize_row_u7)(const float *x, int n, uint8_t *q, float *scale, int32_t *zero);
    /* Vector search over n int8 rows (compact storage) with the query quantised to int16 (psk_quantize_query):
     * out[i] = scale[i] * query_scale * sum_d q[i*dim + d] * query16[d], the sum exact in int32. */
    void (*scan_i8)(const int8_t *q, const float *scale, int64_t n, int dim, const int16_t *query16,
                    float query_scale, float *out);
    /* scan_i8 over the listed rows only: out[i] = the score of row rows[i] (the graph search's neighbour lists,
     * scattered in memory: the AVX2 version prefetches the rows ahead of the one it scores). */
    void (*scan_i8_rows)(const int8_t *q, const float *scale, const int32_t *rows, int n, int dim,
                         const int16_t *query16, float query_scale, float *out);
    /* sum_d a[d] * b[d] of two int8 rows (exact). */
    int32_t (*dot_i8)(const int8_t *a, const int8_t *b, int n);
    /* out[i] = sum_d v[i*dim + d] * query[d] for n float32 rows. */
    void (*scan_f32)(const float *v, int64_t n, int dim, const float *query, float *out);
} psk_kernel_table;

const psk_kernel_table *psk_kernels(void);
const psk_kernel_table *psk_kernels_ref(void);
const psk_kernel_table *psk_kernels_avx2(void); /* NULL when the CPU lacks AVX2+FMA */

/* Quantises a query for scan_i8: query16[d] = round(query[d] / scale) with |query16| <= 8191, so that int32
 * sums cannot overflow for dim <= 2048. Returns the scale. */
float psk_quantize_query(const float *query, int dim, int16_t *query16);
#define PSK_SCAN_MAX_DIM 2048

/* Scalar helpers shared by the reference kernels. */
float psk_act_ref(float x, psk_act act);

#endif
