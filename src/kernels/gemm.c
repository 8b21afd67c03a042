/* The blocked GEMM driver around the micro-kernel (GotoBLAS' loop order): the weights are packed once at load time
 * into strips of the level's width (16 columns for AVX2, 32 for AVX-512); each task packs an MC x KC block of A
 * into MR-row panels that stay in L2, and sweeps every strip of its columns (KC x NR) over those panels. Bias and
 * activation are applied to each tile right after its last K block, while it is still in cache.
 * Blocking per level (the table's gemm_kc / gemm_mc): AVX2 6x16 tiles, KC 256, MC 96; AVX-512 14x32 tiles, KC 768
 * (the whole K of the encoders' 768-wide layers in one pass), MC 112, tuned on ViT-B/32's shapes at batch 32 (M 1600,
 * K/N 768, 3072, 2304) with bench_clip (BENCH_ONLY=gemm): KC 256 gave 0.86 of the FMA peak on one thread, 768 0.93.
 * A task is MC rows by as many columns as keep the threads evenly busy (column_blocks). */
#include "kernels.h"

#include "../common/common.h"

#include <string.h>

#define NCB 256 /* columns per task: a multiple of every level's NR */

int psk_pack_weights_nr(const float *w, int n, int k, int ldw, bool transposed, int nr, psk_packed *out) {
    int strips = (n + nr - 1) / nr;
    size_t count;
    if (!psk_mul_size((size_t)strips * nr, (size_t)k, &count) || !psk_mul_size(count, sizeof(float), &count))
        return PSK_ERR_NOMEM;
    float *d = psk_malloc_aligned(count);
    if (!d) return PSK_ERR_NOMEM;
    for (int s = 0; s < strips; s++) {
        float *strip = d + (size_t)s * k * nr;
        for (int kk = 0; kk < k; kk++) {
            for (int c = 0; c < nr; c++) {
                int j = s * nr + c;
                float v = 0.0f;
                if (j < n) v = transposed ? w[(size_t)kk * ldw + j] : w[(size_t)j * ldw + kk];
                strip[(size_t)kk * nr + c] = v;
            }
        }
    }
    out->n = n;
    out->k = k;
    out->nr = nr;
    out->data = d;
    out->borrowed = false;
    return PSK_OK;
}

int psk_pack_weights(const float *w, int n, int k, int ldw, bool transposed, psk_packed *out) {
    return psk_pack_weights_nr(w, n, k, ldw, transposed, psk_kernels()->gemm_nr, out);
}

size_t psk_packed_floats(int n, int k) {
    int nr = psk_kernels()->gemm_nr;
    return (size_t)((n + nr - 1) / nr) * nr * (size_t)k;
}

void psk_packed_free(psk_packed *p) {
    if (!p) return;
    if (!p->borrowed) psk_free_aligned(p->data);
    p->data = NULL;
}

typedef struct gemm_job {
    const psk_kernel_table *kt;
    int m;
    const float *a;
    int lda;
    const psk_packed *w;
    const float *bias;
    float *c;
    int ldc;
    bool accumulate;
    psk_act act;
    int n_nblocks; /* column blocks (the short path's are NCB wide) */
    int n_mblocks, ncb, mc, kc;
} gemm_job;

/* Room for any level's MC x KC block, or for a whole short A (2 MR rows of up to 4096 values). */
#define A_PANEL_FLOATS (2 * PSK_GEMM_MR_MAX * 4096 > 256 * 256 ? 2 * PSK_GEMM_MR_MAX * 4096 : 256 * 256)
static _Thread_local float a_panel[A_PANEL_FLOATS] __attribute__((aligned(64)));

/* A short A (up to 12 rows: a text query) is packed whole, and each weight strip is read once, as one sequential
 * stream, KC values at a time with every row panel run while that piece is in L1: with so few rows per weight,
 * memory bandwidth is the limit and no weight byte may be read twice. */
static void gemm_short_task(const gemm_job *job, int j0, int nc) {
    const psk_packed *w = job->w;
    const psk_kernel_table *kt = job->kt;
    int m = job->m, k = w->k, MR = kt->gemm_mr, NR = kt->gemm_nr, KC = kt->gemm_kc;
    kt->gemm_pack_a(job->a, job->lda, m, k, a_panel);
    for (int j = j0; j < j0 + nc; j += NR) {
        int nr = w->n - j < NR ? w->n - j : NR;
        const float *strip = w->data + (size_t)(j / NR) * k * NR;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            bool load_c = p0 > 0 || job->accumulate;
            for (int i = 0; i < m; i += MR) {
                int mr = m - i < MR ? m - i : MR;
                kt->gemm_ukr(kc, a_panel + (size_t)i * k + (size_t)p0 * MR, strip + (size_t)p0 * NR,
                             job->c + (size_t)i * job->ldc + j, job->ldc, mr, nr, load_c);
            }
        }
        if (job->bias || job->act != PSK_ACT_NONE)
            for (int r = 0; r < m; r++)
                job->kt->bias_act(job->c + (size_t)r * job->ldc + j, job->bias ? job->bias + j : NULL, nr, job->act);
    }
}

static bool is_short(const gemm_job *job) {
    int MR = job->kt->gemm_mr, pad = (job->m + MR - 1) / MR * MR;
    return job->m <= 2 * MR && (size_t)pad * job->w->k <= (size_t)A_PANEL_FLOATS;
}

static void gemm_task(void *arg, int task, int thread) {
    (void)thread;
    const gemm_job *job = arg;
    const psk_packed *w = job->w;
    if (is_short(job)) {
        int j0 = task * NCB;
        gemm_short_task(job, j0, w->n - j0 < NCB ? w->n - j0 : NCB);
        return;
    }
    const psk_kernel_table *kt = job->kt;
    int MR = kt->gemm_mr, NR = kt->gemm_nr, KC = job->kc, MC = job->mc;
    /* column-major task order: the threads start on different row blocks of the same columns */
    int nb = task / job->n_mblocks, mb = task % job->n_mblocks;
    int i0 = mb * MC, mc = job->m - i0 < MC ? job->m - i0 : MC;
    int j0 = nb * job->ncb, nc = w->n - j0 < job->ncb ? w->n - j0 : job->ncb;
    int k = w->k;
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        bool last = p0 + kc == k;
        bool load_c = p0 > 0 || job->accumulate;
        kt->gemm_pack_a(job->a + (size_t)i0 * job->lda + p0, job->lda, mc, kc, a_panel);
        for (int j = j0; j < j0 + nc; j += NR) {
            int nr = w->n - j < NR ? w->n - j : NR;
            const float *b = w->data + ((size_t)(j / NR) * k + p0) * NR;
            for (int i = 0; i < mc; i += MR) {
                int mr = mc - i < MR ? mc - i : MR;
                float *c = job->c + (size_t)(i0 + i) * job->ldc + j;
                if (last) prefetch_tile(c, job->ldc, mr, nr);
                kt->gemm_ukr(kc, a_panel + (size_t)i * kc, b, c, job->ldc, mr, nr, load_c);
                if (last && (job->bias || job->act != PSK_ACT_NONE))
                    for (int r = 0; r < mr; r++)
                        kt->bias_act(c + (size_t)r * job->ldc, job->bias ? job->bias + j : NULL, nr, job->act);
            }
        }
    }
}

/* Columns per task: as wide as the threads allow, since each task packs its rows of A once per K block (the
 * packing is the GEMM's overhead beside the micro-kernel), and split only as far as keeps the threads evenly busy:
 * the fewest column blocks whose tasks fill whole rounds of the threads. */
static int column_blocks(int n_mblocks, int threads, int strips) {
    int best = 1;
    double best_use = 0;
    for (int s = 1; s <= 8 && s <= strips && threads > 1; s++) {
        int tasks = n_mblocks * s, rounds = (tasks + threads - 1) / threads;
        double use = (double)tasks / ((double)rounds * threads);
        if (use > best_use + 0.02) {
            best = s;
            best_use = use;
        }
    }
    return best;
}

void psk_gemm(psk_pool *pool, int m, const float *a, int lda, const psk_packed *w, const float *bias, float *c,
              int ldc, bool accumulate, psk_act act) {
    if (m <= 0 || w->n <= 0) return;
    gemm_job job = {psk_kernels_for_strip(false, w->nr), m, a, lda, w, bias, c, ldc, accumulate, act, (w->n + NCB - 1) / NCB,
                    0, 0, 0, 0};
    if (is_short(&job)) {
        psk_pool_run(pool, job.n_nblocks, gemm_task, &job);
        return;
    }
    int NR = job.kt->gemm_nr;
    job.mc = job.kt->gemm_mc;
    job.kc = job.kt->gemm_kc;
    job.n_mblocks = (m + job.mc - 1) / job.mc;
    int strips = (w->n + NR - 1) / NR;
    int nblocks = column_blocks(job.n_mblocks, psk_pool_threads(pool), strips);
    job.ncb = (strips + nblocks - 1) / nblocks * NR;
    job.n_nblocks = (w->n + job.ncb - 1) / job.ncb;
    psk_pool_run(pool, job.n_mblocks * job.n_nblocks, gemm_task, &job);
}
