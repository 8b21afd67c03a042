/* The int8 GEMM driver: activations quantised per row into a u8 buffer (7-bit for AVX2, 8-bit with VNNI), then
 * tiles of the level's micro-kernel (4 rows x 16 columns for AVX2, 12 x 32 for AVX-512 VNNI) over the whole K,
 * dequantised with the row and column scales and the zero-point correction, with bias and activation fused. */
#include "kernels.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define Q8_ROWS_PER_TASK 96 /* a multiple of every level's q8_mr */
#define Q8_COLS_PER_TASK 256

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* max(a, |b|) without a call to libm's fmaxf (which is what -O2 makes of fmaxf: tens of millions of calls when a
 * model is quantised at load) */
static inline float max_abs(float a, float b) {
    b = fabsf(b);
    return b > a ? b : a;
}

static inline float weight_at(const float *w, int ldw, bool transposed, int j, int kk) {
    return transposed ? w[(size_t)kk * ldw + j] : w[(size_t)j * ldw + kk];
}

/* Finds the columns kept in float32 (see psk_packed_q8) and packs their weights. */
static int split_outlier_columns(const float *w, int n, int k, int ldw, bool transposed, psk_packed_q8 *out) {
    float *cmax = psk_malloc(sizeof(float) * 2 * (size_t)k);
    if (!cmax) return PSK_ERR_NOMEM;
    float *sorted = cmax + k;
    for (int kk = 0; kk < k; kk++) cmax[kk] = 0;
    for (int j = 0; j < n; j++)
        for (int kk = 0; kk < k; kk++) cmax[kk] = max_abs(cmax[kk], weight_at(w, ldw, transposed, j, kk));
    memcpy(sorted, cmax, sizeof(float) * (size_t)k);
    qsort(sorted, (size_t)k, sizeof(float), cmp_float);
    /* below the median / 8, at most PSK_Q8_OUTLIERS_MAX of the smallest (and never a column of zeros) */
    float limit = sorted[k / 2] / 8;
    if (PSK_Q8_OUTLIERS_MAX < k && sorted[PSK_Q8_OUTLIERS_MAX] < limit) limit = sorted[PSK_Q8_OUTLIERS_MAX];
    int n_out = 0;
    for (int kk = 0; kk < k && k <= PSK_Q8_K_MAX; kk++) n_out += cmax[kk] > 0 && cmax[kk] < limit;
    int rc = PSK_OK;
    if (n_out > 0) {
        float *ws = psk_malloc(sizeof(float) * (size_t)n * n_out);
        out->out_cols = psk_malloc(sizeof(int32_t) * (size_t)n_out);
        if (!ws || !out->out_cols) rc = PSK_ERR_NOMEM;
        for (int kk = 0, t = 0; !rc && kk < k; kk++)
            if (cmax[kk] > 0 && cmax[kk] < limit) out->out_cols[t++] = kk;
        for (int j = 0; !rc && j < n; j++)
            for (int t = 0; t < n_out; t++) ws[(size_t)j * n_out + t] = weight_at(w, ldw, transposed, j, out->out_cols[t]);
        if (!rc) rc = psk_pack_weights(ws, n, n_out, n_out, false, &out->out_w);
        psk_free(ws);
        out->n_out = rc ? 0 : n_out;
    }
    psk_free(cmax);
    return rc;
}

size_t psk_packed_q8_bytes(int n, int k, int nr) {
    /* an extra zero strip, so that a tile of two strips can always be read */
    return (size_t)((n + nr - 1) / nr + 1) * (size_t)((k + 3) / 4) * 4 * (size_t)nr;
}

int psk_pack_weights_q8_nr(const float *w, int n, int k, int ldw, bool transposed, int nr, psk_packed_q8 *out) {
    memset(out, 0, sizeof *out);
    int kq = (k + 3) / 4;
    size_t bytes = psk_packed_q8_bytes(n, k, nr);
    out->data = psk_malloc_aligned(bytes);
    out->scale = psk_malloc(sizeof(float) * (size_t)n);
    out->sum = psk_malloc(sizeof(int32_t) * (size_t)n);
    bool *fp32_col = psk_malloc((size_t)k);
    if (!out->data || !out->scale || !out->sum || !fp32_col ||
        split_outlier_columns(w, n, k, ldw, transposed, out)) {
        psk_free(fp32_col);
        psk_packed_q8_free(out);
        return PSK_ERR_NOMEM;
    }
    memset(fp32_col, 0, (size_t)k);
    for (int t = 0; t < out->n_out; t++) fp32_col[out->out_cols[t]] = true;
    memset(out->data, 0, bytes);
    for (int j = 0; j < n; j++) {
        float mx = 0;
        for (int kk = 0; kk < k; kk++)
            if (!fp32_col[kk]) mx = max_abs(mx, weight_at(w, ldw, transposed, j, kk));
        float s = mx > 0 ? mx / 127.0f : 1.0f;
        int32_t sum = 0;
        for (int kk = 0; kk < k; kk++) {
            if (fp32_col[kk]) continue; /* stays 0: computed in float32 */
            int q = (int)lrintf(weight_at(w, ldw, transposed, j, kk) / s);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            out->data[((size_t)(j / nr) * kq + kk / 4) * 4 * nr + (j % nr) * 4 + kk % 4] = (int8_t)q;
            sum += q;
        }
        out->scale[j] = s;
        out->sum[j] = sum;
    }
    psk_free(fp32_col);
    out->n = n;
    out->k = k;
    out->kq = kq;
    out->nr = nr;
    return PSK_OK;
}

int psk_pack_weights_q8(const float *w, int n, int k, int ldw, bool transposed, psk_packed_q8 *out) {
    return psk_pack_weights_q8_nr(w, n, k, ldw, transposed, psk_kernels()->q8_nr, out);
}

void psk_packed_q8_free(psk_packed_q8 *p) {
    if (!p) return;
    if (!p->borrowed) {
        psk_free_aligned(p->data);
        psk_free(p->scale);
        psk_free(p->sum);
        psk_free(p->out_cols);
    }
    if (p->n_out) psk_packed_free(&p->out_w);
    memset(p, 0, sizeof *p);
}

typedef struct q8_job {
    const psk_kernel_table *kt;
    const float *a;
    int lda;
    const psk_packed_q8 *w;
    const float *bias;
    float *c;
    int ldc;
    bool accumulate;
    psk_act act;
    psk_q8_rows rows; /* the quantised activations */
    float *a_out;     /* m rows of the n_out float32 columns */
    int n_colblocks;
    const float *gamma, *beta; /* psk_layer_norm_q8 */
    float eps;
} q8_job;

static size_t align64(size_t n) {
    return (n + 63) / 64 * 64;
}

size_t psk_q8_rows_bytes(int m, int k) {
    size_t stride = (size_t)(k + 3) / 4 * 4;
    return align64((size_t)m * stride) + (size_t)m * (sizeof(float) + sizeof(int32_t));
}

void psk_q8_rows_init(psk_q8_rows *r, void *mem, int m, int k, int qmax) {
    r->m = m;
    r->k = k;
    r->stride = (k + 3) / 4 * 4;
    r->qmax = qmax;
    r->q = mem;
    r->scale = (float *)(r->q + align64((size_t)m * r->stride));
    r->zero = (int32_t *)(r->scale + m);
}

/* the padding of row r past k reads the zero point: it adds z * 0 = 0 */
static void pad_row(const psk_q8_rows *rows, int r) {
    memset(rows->q + (size_t)r * rows->stride + rows->k, (int)rows->zero[r], (size_t)(rows->stride - rows->k));
}

static void quantize_task(void *arg, int task, int thread) {
    (void)thread;
    q8_job *j = arg;
    psk_q8_rows *rows = &j->rows;
    int r1 = (task + 1) * Q8_ROWS_PER_TASK < rows->m ? (task + 1) * Q8_ROWS_PER_TASK : rows->m;
    const psk_packed_q8 *w = j->w;
    static _Thread_local float row[PSK_Q8_K_MAX];
    for (int r = task * Q8_ROWS_PER_TASK; r < r1; r++) {
        const float *x = j->a + (size_t)r * j->lda;
        if (w && w->n_out) { /* the float32 columns move to a_out, and read 0 in the row that is quantised */
            memcpy(row, x, sizeof(float) * (size_t)w->k);
            for (int t = 0; t < w->n_out; t++) {
                j->a_out[(size_t)r * w->n_out + t] = row[w->out_cols[t]];
                row[w->out_cols[t]] = 0;
            }
            x = row;
        }
        j->kt->quantize_row(x, rows->k, rows->qmax, rows->q + (size_t)r * rows->stride, &rows->scale[r],
                            &rows->zero[r]);
        pad_row(rows, r);
    }
}

static void layer_norm_q8_task(void *arg, int task, int thread) {
    (void)thread;
    q8_job *j = arg;
    psk_q8_rows *rows = &j->rows;
    int r1 = (task + 1) * Q8_ROWS_PER_TASK < rows->m ? (task + 1) * Q8_ROWS_PER_TASK : rows->m;
    for (int r = task * Q8_ROWS_PER_TASK; r < r1; r++) {
        j->kt->layer_norm_q8(j->a + (size_t)r * j->lda, j->gamma, j->beta, rows->k, j->eps, rows->qmax,
                             rows->q + (size_t)r * rows->stride, &rows->scale[r], &rows->zero[r]);
        pad_row(rows, r);
    }
}

void psk_quantize_rows(psk_pool *pool, const float *a, int lda, psk_q8_rows *out) {
    q8_job job = {.kt = psk_kernels(), .a = a, .lda = lda, .rows = *out};
    psk_pool_run(pool, (out->m + Q8_ROWS_PER_TASK - 1) / Q8_ROWS_PER_TASK, quantize_task, &job);
}

void psk_layer_norm_q8(psk_pool *pool, const float *x, int ldx, const float *gamma, const float *beta, float eps,
                       psk_q8_rows *out) {
    q8_job job = {.kt = psk_kernels(), .a = x, .lda = ldx, .rows = *out, .gamma = gamma, .beta = beta, .eps = eps};
    psk_pool_run(pool, (out->m + Q8_ROWS_PER_TASK - 1) / Q8_ROWS_PER_TASK, layer_norm_q8_task, &job);
}

static void q8_task(void *arg, int task, int thread) {
    (void)thread;
    const q8_job *j = arg;
    const psk_packed_q8 *w = j->w;
    const psk_q8_rows *a = &j->rows;
    int rb = task / j->n_colblocks, cb = task % j->n_colblocks;
    int r0 = rb * Q8_ROWS_PER_TASK, r1 = r0 + Q8_ROWS_PER_TASK < a->m ? r0 + Q8_ROWS_PER_TASK : a->m;
    int c0 = cb * Q8_COLS_PER_TASK, c1 = c0 + Q8_COLS_PER_TASK < w->n ? c0 + Q8_COLS_PER_TASK : w->n;
    int NR = w->nr, TW = 2 * NR, MR = j->kt->q8_mr;
    for (int col = c0; col < c1; col += TW) {
        const int8_t *b0 = w->data + (size_t)(col / NR) * w->kq * 4 * NR, *b1 = b0 + (size_t)w->kq * 4 * NR;
        int nc = c1 - col < TW ? c1 - col : TW;
        for (int r = r0; r < r1; r += MR) {
            int mr = r1 - r < MR ? r1 - r : MR;
            float *c = j->c + (size_t)r * j->ldc + col;
            prefetch_tile(c, j->ldc, mr, nc);
            j->kt->gemm_q8_tile(w->kq, a->q + (size_t)r * a->stride, a->stride, mr, b0, b1, a->scale + r,
                                a->zero + r, w->scale + col, w->sum + col, j->bias ? j->bias + col : NULL, c, j->ldc,
                                nc, j->accumulate, j->act);
        }
    }
}

static void run_tiles(psk_pool *pool, q8_job *job) {
    job->n_colblocks = (job->w->n + Q8_COLS_PER_TASK - 1) / Q8_COLS_PER_TASK;
    int row_tasks = (job->rows.m + Q8_ROWS_PER_TASK - 1) / Q8_ROWS_PER_TASK;
    psk_pool_run(pool, row_tasks * job->n_colblocks, q8_task, job);
}

/* W[n][k] of a float32 packed matrix (psk_pack_weights' layout), or NULL without memory */
static float *unpack(const psk_packed *p) {
    float *w = psk_malloc_aligned(sizeof(float) * (size_t)p->n * p->k);
    if (!w) return NULL;
    int nr = p->nr;
    for (int j = 0; j < p->n; j++)
        for (int kk = 0; kk < p->k; kk++) w[(size_t)j * p->k + kk] = p->data[((size_t)(j / nr) * p->k + kk) * nr + j % nr];
    return w;
}

int psk_pack_q8_from_packed(const psk_packed *p, psk_packed_q8 *out) {
    float *w = unpack(p);
    if (!w) return PSK_ERR_NOMEM;
    int rc = psk_pack_weights_q8(w, p->n, p->k, p->k, false, out);
    psk_free_aligned(w);
    return rc;
}

int psk_pack_q8_residual(const psk_packed *p, const psk_packed_q8 *hi, psk_packed_q8 *lo) {
    memset(lo, 0, sizeof *lo);
    if (hi->n_out || hi->n != p->n || hi->k != p->k) return PSK_ERR_INVALID_ARG;
    float *w = unpack(p);
    if (!w) return PSK_ERR_NOMEM;
    int nr = hi->nr;
    for (int j = 0; j < p->n; j++)
        for (int kk = 0; kk < p->k; kk++) {
            int8_t q = hi->data[((size_t)(j / nr) * hi->kq + kk / 4) * 4 * nr + (j % nr) * 4 + kk % 4];
            w[(size_t)j * p->k + kk] -= hi->scale[j] * (float)q;
        }
    int rc = psk_pack_weights_q8_nr(w, p->n, p->k, p->k, false, nr, lo);
    psk_free_aligned(w);
    return rc;
}

int psk_gemm_q8_rows(psk_pool *pool, const psk_q8_rows *a, const psk_packed_q8 *w, const float *bias, float *c,
                     int ldc, bool accumulate, psk_act act) {
    const psk_kernel_table *kt = psk_kernels_for_strip(true, w->nr);
    if (w->n_out || a->k != w->k || a->qmax > kt->q8_act_max) return PSK_ERR_INVALID_ARG;
    if (a->m <= 0 || w->n <= 0) return PSK_OK;
    q8_job job = {.kt = kt, .w = w, .bias = bias, .c = c, .ldc = ldc, .accumulate = accumulate, .act = act,
                  .rows = *a};
    run_tiles(pool, &job);
    return PSK_OK;
}

int psk_gemm_q8(psk_pool *pool, int m, const float *a, int lda, const psk_packed_q8 *w, const float *bias, float *c,
                 int ldc, bool accumulate, psk_act act) {
    if (m <= 0 || w->n <= 0) return PSK_OK;
    /* the quantised rows (and the float32 columns) live in a per-thread scratch area that grows as needed */
    static _Thread_local uint8_t *aq;
    static _Thread_local size_t aq_cap;
    size_t rows_bytes = align64(psk_q8_rows_bytes(m, w->k));
    size_t need = rows_bytes + sizeof(float) * (size_t)m * w->n_out + 64;
    if (need > aq_cap) {
        psk_free_aligned(aq);
        aq = psk_malloc_aligned(need);
        aq_cap = aq ? need : 0;
        if (!aq) return PSK_ERR_NOMEM;
    }
    const psk_kernel_table *kt = psk_kernels_for_strip(true, w->nr);
    q8_job job = {.kt = kt, .a = a, .lda = lda, .w = w, .bias = bias, .c = c, .ldc = ldc, .accumulate = accumulate,
                  .act = act, .a_out = (float *)(aq + rows_bytes)};
    psk_q8_rows_init(&job.rows, aq, m, w->k, kt->q8_act_max);
    psk_pool_run(pool, (m + Q8_ROWS_PER_TASK - 1) / Q8_ROWS_PER_TASK, quantize_task, &job);
    if (w->n_out) {
        /* the float32 columns first (C = or += their product), then the int8 product added to it */
        psk_gemm(pool, m, job.a_out, w->n_out, &w->out_w, NULL, c, ldc, accumulate, PSK_ACT_NONE);
        job.accumulate = true;
    }
    run_tiles(pool, &job);
    return PSK_OK;
}
