/* Hot loops. Every kernel has a plain C reference (the *_ref functions, its specification and test oracle), an
 * AVX2/FMA version and an AVX-512 (F, BW, VL, DQ, VNNI) version; psk_kernels() returns the table chosen once at
 * start-up from the CPU's features (cpuid, and xgetbv for the registers the OS saves).
 * PHOTOSEEK_KERNELS=ref|avx2|avx512 in the environment forces a level (one the CPU lacks: a note on stderr and the
 * best one it has). */
#ifndef PSK_KERNELS_H
#define PSK_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct psk_pool psk_pool;

/* Largest register tile of any level's GEMM micro-kernel (rows x packed-B strip width). Each level has its own
 * (psk_kernel_table.gemm_mr / gemm_nr: 6 x 16 for ref and AVX2, 14 x 32 for AVX-512), and weights are packed for
 * the level chosen at start-up. */
#define PSK_GEMM_MR_MAX 14
#define PSK_GEMM_NR_MAX 32

typedef enum psk_act { PSK_ACT_NONE = 0, PSK_ACT_QUICK_GELU = 1, PSK_ACT_GELU_ERF = 2, PSK_ACT_TANH = 3 } psk_act;

/* A weight matrix W (n outputs x k inputs, PyTorch Linear layout) packed for the micro-kernel:
 * ceil(n/nr) strips, each k rows of nr floats (columns past n are zero). Layout: data[(j*k + kk)*nr + c], with nr the
 * strip width of the kernel level chosen at start-up (16 or 32). */
typedef struct psk_packed {
    int n, k, nr;
    float *data;
    bool borrowed; /* data lives in a larger block owned elsewhere (a model's weight arena) */
} psk_packed;

/* Floats of packed data for an n x k matrix (at the chosen level's strip width). */
size_t psk_packed_floats(int n, int k);

/* Packs from W[n][k] (row stride ldw) or, with transposed=true, from W[k][n] (the `x @ proj` layout), for the chosen
 * level's micro-kernel; psk_pack_weights_nr packs for a given strip width (tests of one level's kernels). */
int psk_pack_weights(const float *w, int n, int k, int ldw, bool transposed, psk_packed *out);
int psk_pack_weights_nr(const float *w, int n, int k, int ldw, bool transposed, int nr, psk_packed *out);
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
 * Weights quantised per output channel (symmetric int8), activations per row (asymmetric unsigned: 7-bit at the
 * AVX2 level so that vpmaddubsw's pairwise int16 sums cannot saturate, full 8-bit with VNNI's vpdpbusd, which sums
 * in int32). C = scale_a[i] * wscale[j] * (sum_k a_q w_q - z_i * wsum[j]).
 * Packed weights: strips of nr output columns (the level's q8_nr: 8 for ref and AVX2, 16 for AVX-512), each
 * k-group of 4 as 4*nr bytes: data[((j/nr) * kq + k/4) * 4*nr + (j%nr)*4 + k%4], kq = ceil(k/4); columns past n
 * and k past k are zero, and one zero strip follows the last, so that a tile of two strips can always be read. */
#define PSK_Q8_NR_MAX 16
#define PSK_Q8_MR_MAX 12
typedef struct psk_packed_q8 {
    int n, k, kq, nr;
    int8_t *data;
    float *scale; /* n */
    int32_t *sum; /* n: sum over k of the quantised weights */
    /* Input columns kept in float32: those whose weights are all tiny beside the rest (absmax under 1/8 of the
     * median column's). That is the mark of the channels that carry activation outliers (a model's "massive
     * activations", met by small weights, as in SmoothQuant's analysis): such a channel would take most of a row's
     * 8-bit range and leave a few levels to the others, and its own weights would round to 0. Their activations
     * are left out of the row's quantisation, their int8 weights are 0, and their product is added in float32. */
    int n_out;
    int32_t *out_cols; /* n_out column indices */
    psk_packed out_w;  /* their float32 weights: n x n_out */
    bool borrowed;     /* data, scale, sum and out_cols live in a block owned elsewhere (the packed-weight cache) */
} psk_packed_q8;
/* Bytes of a q8 matrix's packed data: its strips and the zero strip after them. */
size_t psk_packed_q8_bytes(int n, int k, int nr);
#define PSK_Q8_OUTLIERS_MAX 16
#define PSK_Q8_K_MAX 16384 /* longer rows keep no float32 columns */

int psk_pack_weights_q8(const float *w, int n, int k, int ldw, bool transposed, psk_packed_q8 *out);
int psk_pack_weights_q8_nr(const float *w, int n, int k, int ldw, bool transposed, int nr, psk_packed_q8 *out);
void psk_packed_q8_free(psk_packed_q8 *p);
/* Re-quantises a float32 packed matrix (psk_pack_weights' layout). */
int psk_pack_q8_from_packed(const psk_packed *p, psk_packed_q8 *out);
/* The remainder of a quantised matrix, W - scale * q, quantised again (its scales about 1/254 of hi's): the sum of
 * the two int8 products carries W to about 15 bits, for a layer whose 8-bit weights lose too much (the patch
 * embedding, the first layer). hi must keep no float32 columns (PSK_ERR_INVALID_ARG). */
int psk_pack_q8_residual(const psk_packed *p, const psk_packed_q8 *hi, psk_packed_q8 *lo);
/* C = act(A W^T + bias) (or C += A W^T + bias), like psk_gemm, with A quantised per row on the fly.
 * Returns PSK_ERR_NOMEM (C untouched) when its scratch memory cannot be had. */
int psk_gemm_q8(psk_pool *pool, int m, const float *a, int lda, const psk_packed_q8 *w, const float *bias, float *c,
                 int ldc, bool accumulate, psk_act act);

/* Activations already quantised per row for psk_gemm_q8_rows (what psk_gemm_q8 makes on the fly): m rows of
 * stride = kq*4 bytes (values past k hold the row's zero point, so that they add z * 0 = 0), a scale and a zero point
 * per row, at the chosen level's range (q8_act_max). */
typedef struct psk_q8_rows {
    int m, k, stride, qmax;
    uint8_t *q;
    float *scale;
    int32_t *zero;
} psk_q8_rows;
/* Bytes of memory psk_q8_rows_init lays m rows of k values out in (64-byte aligned memory). */
size_t psk_q8_rows_bytes(int m, int k);
void psk_q8_rows_init(psk_q8_rows *r, void *mem, int m, int k, int qmax);
/* Layer norm of m rows of x (row stride ldx) written straight in quantised form: the float32 rows are never
 * stored (the layer_norm_q8 kernel, row-parallel on the pool). */
void psk_layer_norm_q8(psk_pool *pool, const float *x, int ldx, const float *gamma, const float *beta, float eps,
                       psk_q8_rows *out);
/* Quantises m rows of a (row stride lda; out->m rows of out->k values) as psk_gemm_q8 does, row-parallel. */
void psk_quantize_rows(psk_pool *pool, const float *a, int lda, psk_q8_rows *out);
/* psk_gemm_q8 on rows quantised beforehand. The weights must keep no float32 columns (w->n_out == 0: the rows
 * were quantised whole), a->k must be w->k and a->qmax at most the weights' level's q8_act_max; returns
 * PSK_ERR_INVALID_ARG otherwise (C untouched). */
int psk_gemm_q8_rows(psk_pool *pool, const psk_q8_rows *a, const psk_packed_q8 *w, const float *bias, float *c,
                     int ldc, bool accumulate, psk_act act);

/* Kernels below the GEMM, one table per instruction set. */
typedef struct psk_kernel_table {
    const char *name; /* the level: "ref", "avx2", "avx512" */
    int gemm_mr, gemm_nr; /* the micro-kernel's register tile: MR rows x NR columns (the packed strip width) */
    int gemm_kc, gemm_mc; /* the GEMM's blocking: KC values of K per pass, MC rows of A per packed block */
    int q8_nr;            /* int8 packed strip width (a tile is two strips) */
    int q8_act_max;       /* activations quantised to 0..q8_act_max: 127 (7-bit) or 255 (VNNI) */
    /* The MR x NR micro-kernel: acc = sum_k a[k*MR+i] * b[k*NR+j]; C (mr x nr valid) = acc, or C += acc if load_c. */
    void (*gemm_ukr)(int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr, bool load_c);
    /* Packs mc x kc values of A (row stride lda) into MR-row panels for gemm_ukr: panel p holds rows p*MR.., value
     * (row i, column kk) at dst[p*kc*MR + kk*MR + i], rows past mc as zeros (MR is the level's gemm_mr). */
    void (*gemm_pack_a)(const float *a, int lda, int mc, int kc, float *dst);
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
     * of column j (2*q8_nr columns: two strips at b0 and b1), for rows r < mr <= q8_mr (a row stride lda bytes,
     * kq*4 bytes each). out[r*2*q8_nr + j] receives the int32 sums, exact. */
    int q8_mr;
    void (*gemm_q8_ukr)(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1, int32_t *out);
    /* The int8 GEMM's epilogue for one row of nc <= 2*q8_nr columns: v = sa * wscale[t] * (acc[t] - z * wsum[t])
     * (+ bias[t] when bias is not NULL), the products in that order so that every version rounds alike; then
     * out[t] = act(v), or act(out[t] + v) when accumulating (the activation fused, so that the row is written once:
     * within bias_act's tolerance of the reference where act is not NONE, bit for bit where it is). */
    void (*dequant_q8)(const int32_t *acc, int nc, float sa, int32_t z, const float *wscale, const int32_t *wsum,
                       const float *bias, float *out, bool accumulate, psk_act act);
    /* gemm_q8_ukr and dequant_q8 on each of its rows in one: the tile's sums dequantised where they are (registers
     * at the AVX-512 level), never stored as int32. Rows r < mr of C (row stride ldc), nc <= 2*q8_nr columns; sa[r]
     * and z[r] the rows' scales and zero points, wscale, wsum and bias (may be NULL) the columns'. The same floats
     * as the two kernels (bit for bit where act is NONE). */
    void (*gemm_q8_tile)(int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                         const float *sa, const int32_t *z, const float *wscale, const int32_t *wsum,
                         const float *bias, float *c, int ldc, int nc, bool accumulate, psk_act act);
    /* Quantises a row of n floats to 0..qmax (127 or 255): q = clamp(round_even(x / s) + z), s = (hi - lo) / qmax
     * over the range [lo, hi] that holds 0 and the row; returns scale and zero point. */
    void (*quantize_row)(const float *x, int n, int qmax, uint8_t *q, float *scale, int32_t *zero);
    /* layer_norm then quantize_row in one pass over the row (the normalised row stays in registers or L1): q, scale
     * and zero are what quantize_row makes of layer_norm's output at this level. n <= PSK_Q8_K_MAX. */
    void (*layer_norm_q8)(const float *x, const float *gamma, const float *beta, int n, float eps, int qmax,
                          uint8_t *q, float *scale, int32_t *zero);
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
const psk_kernel_table *psk_kernels_avx2(void);   /* NULL when the CPU lacks AVX2+FMA */
const psk_kernel_table *psk_kernels_avx512(void); /* NULL when the CPU (or OS) lacks AVX-512 F/BW/VL/DQ + VNNI */

/* The kernels for a matrix packed at strip width nr (float32, or int8 when q8): the chosen level's, or, for one
 * packed for another level (psk_pack_weights_nr, in tests), the best level with that width. */
const psk_kernel_table *psk_kernels_for_strip(bool q8, int nr);

/* CPU features, from cpuid and xgetbv (the OS must save the ymm / zmm registers). */
bool psk_cpu_has_avx2(void);
bool psk_cpu_has_avx512(void);

/* Quantises a query for scan_i8: query16[d] = round(query[d] / scale) with |query16| <= 8191, so that int32
 * sums cannot overflow for dim <= 2048. Returns the scale. */
float psk_quantize_query(const float *query, int dim, int16_t *query16);
#define PSK_SCAN_MAX_DIM 2048

/* Asks for the cache lines of an mr x nc tile of C (row stride ldc) before a micro-kernel computes it: its rows
 * are far apart (one line or two each), so the hardware prefetchers do not fetch them, and the epilogue that adds to
 * them or overwrites them would otherwise wait for memory at the end of every tile. */
static inline void prefetch_tile(const float *c, int ldc, int mr, int nc) {
    for (int i = 0; i < mr; i++)
        for (int t = 0; t < nc; t += 16) __builtin_prefetch(c + (size_t)i * ldc + t, 1, 3);
}

/* Scalar helpers shared by the reference kernels. */
float psk_act_ref(float x, psk_act act);
/* The references of the micro-kernels for any tile: MR x NR (gemm_ukr's contract with that tile) and two int8
 * strips of nr columns (gemm_q8_ukr's). */
void psk_gemm_ukr_ref(int MR, int NR, int kc, const float *a, const float *b, float *c, int ldc, int mr, int nr,
                      bool load_c);
void psk_gemm_pack_a_ref(int MR, const float *a, int lda, int mc, int kc, float *dst);
void psk_gemm_q8_ukr_ref(int nr, int kq, const uint8_t *a, int lda, int mr, const int8_t *b0, const int8_t *b1,
                         int32_t *out);
/* gemm_q8_tile as the table's gemm_q8_ukr then its dequant_q8 on each row: the reference's and the AVX2 level's
 * gemm_q8_tile, and the specification of the fused ones. */
void psk_gemm_q8_tile_of(const psk_kernel_table *kt, int kq, const uint8_t *a, int lda, int mr, const int8_t *b0,
                         const int8_t *b1, const float *sa, const int32_t *z, const float *wscale,
                         const int32_t *wsum, const float *bias, float *c, int ldc, int nc, bool accumulate,
                         psk_act act);

#endif
