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
        for (int kk = 0; kk < k; kk++) cmax[kk] = fmaxf(cmax[kk], fabsf(weight_at(w, ldw, transposed, j, kk)));
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

int psk_pack_weights_q8_nr(const float *w, int n, int k, int ldw, bool transposed, int nr, psk_packed_q8 *out) {
    memset(out, 0, sizeof *out);
    int kq = (k + 3) / 4, strips = (n + nr - 1) / nr;
    /* an extra zero strip, so that a tile of two strips can always be read */
    size_t bytes = (size_t)(strips + 1) * kq * 4 * nr;
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
            if (!fp32_col[kk]) mx = fmaxf(mx, fabsf(weight_at(w, ldw, transposed, j, kk)));
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
    psk_free_aligned(p->data);
    psk_free(p->scale);
    psk_free(p->sum);
    psk_free(p->out_cols);
    if (p->n_out) psk_packed_free(&p->out_w);
    memset(p, 0, sizeof *p);
}

typedef struct q8_job {
    const psk_kernel_table *kt;
    int m;
    const float *a;
    int lda;
    const psk_packed_q8 *w;
    const float *bias;
    float *c;
    int ldc;
    bool accumulate;
    psk_act act;
    uint8_t *aq; /* m rows of kq*4 bytes */
    float *ascale;
    int32_t *azero;
    float *a_out; /* m rows of the n_out float32 columns */
    int n_colblocks;
} q8_job;

static void quantize_task(void *arg, int task, int thread) {
    (void)thread;
    q8_job *j = arg;
    int stride = j->w->kq * 4;
    int r1 = (task + 1) * Q8_ROWS_PER_TASK < j->m ? (task + 1) * Q8_ROWS_PER_TASK : j->m;
    const psk_packed_q8 *w = j->w;
    static _Thread_local float row[PSK_Q8_K_MAX];
    for (int r = task * Q8_ROWS_PER_TASK; r < r1; r++) {
        uint8_t *q = j->aq + (size_t)r * stride;
        const float *x = j->a + (size_t)r * j->lda;
        if (w->n_out) { /* the float32 columns move to a_out, and read 0 in the row that is quantised */
            memcpy(row, x, sizeof(float) * (size_t)w->k);
            for (int t = 0; t < w->n_out; t++) {
                j->a_out[(size_t)r * w->n_out + t] = row[w->out_cols[t]];
                row[w->out_cols[t]] = 0;
            }
            x = row;
        }
        j->kt->quantize_row(x, j->w->k, j->kt->q8_act_max, q, &j->ascale[r], &j->azero[r]);
        memset(q + j->w->k, (int)j->azero[r], (size_t)(stride - j->w->k)); /* padding adds z * 0 = 0 */
    }
}

static void q8_task(void *arg, int task, int thread) {
    (void)thread;
    const q8_job *j = arg;
    const psk_packed_q8 *w = j->w;
    int rb = task / j->n_colblocks, cb = task % j->n_colblocks;
    int r0 = rb * Q8_ROWS_PER_TASK, r1 = r0 + Q8_ROWS_PER_TASK < j->m ? r0 + Q8_ROWS_PER_TASK : j->m;
    int c0 = cb * Q8_COLS_PER_TASK, c1 = c0 + Q8_COLS_PER_TASK < w->n ? c0 + Q8_COLS_PER_TASK : w->n;
    int stride = w->kq * 4, NR = w->nr, TW = 2 * NR, MR = j->kt->q8_mr;
    int32_t acc[PSK_Q8_MR_MAX * 2 * PSK_Q8_NR_MAX] __attribute__((aligned(64)));
    for (int col = c0; col < c1; col += TW) {
        const int8_t *b0 = w->data + (size_t)(col / NR) * w->kq * 4 * NR, *b1 = b0 + (size_t)w->kq * 4 * NR;
        int nc = c1 - col < TW ? c1 - col : TW;
        for (int r = r0; r < r1; r += MR) {
            int mr = r1 - r < MR ? r1 - r : MR;
            prefetch_tile(j->c + (size_t)r * j->ldc + col, j->ldc, mr, nc);
            j->kt->gemm_q8_ukr(w->kq, j->aq + (size_t)r * stride, stride, mr, b0, b1, acc);
            for (int i = 0; i < mr; i++) {
                float *cr = j->c + (size_t)(r + i) * j->ldc + col;
                j->kt->dequant_q8(acc + i * TW, nc, j->ascale[r + i], j->azero[r + i], w->scale + col, w->sum + col,
                                  j->bias ? j->bias + col : NULL, cr, j->accumulate, j->act);
            }
        }
    }
}

int psk_pack_q8_from_packed(const psk_packed *p, psk_packed_q8 *out) {
    float *w = psk_malloc_aligned(sizeof(float) * (size_t)p->n * p->k);
    if (!w) return PSK_ERR_NOMEM;
    int nr = p->nr;
    for (int j = 0; j < p->n; j++)
        for (int kk = 0; kk < p->k; kk++) w[(size_t)j * p->k + kk] = p->data[((size_t)(j / nr) * p->k + kk) * nr + j % nr];
    int rc = psk_pack_weights_q8(w, p->n, p->k, p->k, false, out);
    psk_free_aligned(w);
    return rc;
}

int psk_gemm_q8(psk_pool *pool, int m, const float *a, int lda, const psk_packed_q8 *w, const float *bias, float *c,
                 int ldc, bool accumulate, psk_act act) {
    if (m <= 0 || w->n <= 0) return PSK_OK;
    size_t stride = (size_t)w->kq * 4;
    /* the quantised rows live in a per-thread scratch area that grows as needed */
    static _Thread_local uint8_t *aq;
    static _Thread_local size_t aq_cap;
    size_t need = (size_t)m * stride + (size_t)m * (sizeof(float) + sizeof(int32_t) + sizeof(float) * w->n_out) + 64;
    if (need > aq_cap) {
        psk_free_aligned(aq);
        aq = psk_malloc_aligned(need);
        aq_cap = aq ? need : 0;
        if (!aq) return PSK_ERR_NOMEM;
    }
    q8_job job = {psk_kernels_for_strip(true, w->nr), m, a, lda, w, bias, c, ldc, accumulate, act, aq,
                  (float *)(aq + (size_t)m * stride), NULL, NULL, (w->n + Q8_COLS_PER_TASK - 1) / Q8_COLS_PER_TASK};
    job.azero = (int32_t *)(job.ascale + m);
    job.a_out = (float *)(job.azero + m);
    int row_tasks = (m + Q8_ROWS_PER_TASK - 1) / Q8_ROWS_PER_TASK;
    psk_pool_run(pool, row_tasks, quantize_task, &job);
    if (w->n_out) {
        /* the float32 columns first (C = or += their product), then the int8 product added to it */
        psk_gemm(pool, m, job.a_out, w->n_out, &w->out_w, NULL, c, ldc, accumulate, PSK_ACT_NONE);
        job.accumulate = true;
    }
    psk_pool_run(pool, row_tasks * job.n_colblocks, q8_task, &job);
    return PSK_OK;
}
