/* The blocked GEMM driver around the micro-kernel (GotoBLAS' loop order): the weights are packed once at load time
 * into 16-column strips; each task packs an MC x KC block of A into 6-row panels that stay in L2, and sweeps every
 * strip (KC x 16, L1-resident) over those panels. Bias and activation are applied to each tile right after its last
 * K block, while it is still in cache. */
#include "kernels.h"

#include "../common/common.h"

#include <string.h>

#define KC 256
#define MC 96   /* multiple of PSK_GEMM_MR */
#define NCB 256 /* columns per task: multiple of PSK_GEMM_NR */

int psk_pack_weights(const float *w, int n, int k, int ldw, bool transposed, psk_packed *out) {
    int strips = (n + PSK_GEMM_NR - 1) / PSK_GEMM_NR;
    size_t count;
    if (!psk_mul_size((size_t)strips * PSK_GEMM_NR, (size_t)k, &count) || !psk_mul_size(count, sizeof(float), &count))
        return PSK_ERR_NOMEM;
    float *d = psk_malloc_aligned(count);
    if (!d) return PSK_ERR_NOMEM;
    for (int s = 0; s < strips; s++) {
        float *strip = d + (size_t)s * k * PSK_GEMM_NR;
        for (int kk = 0; kk < k; kk++) {
            for (int c = 0; c < PSK_GEMM_NR; c++) {
                int j = s * PSK_GEMM_NR + c;
                float v = 0.0f;
                if (j < n) v = transposed ? w[(size_t)kk * ldw + j] : w[(size_t)j * ldw + kk];
                strip[(size_t)kk * PSK_GEMM_NR + c] = v;
            }
        }
    }
    out->n = n;
    out->k = k;
    out->data = d;
    out->borrowed = false;
    return PSK_OK;
}

size_t psk_packed_floats(int n, int k) {
    return (size_t)((n + PSK_GEMM_NR - 1) / PSK_GEMM_NR) * PSK_GEMM_NR * (size_t)k;
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
    int n_nblocks;
} gemm_job;

/* Room for an MC x KC block, or for a whole short A (12 rows of up to 4096 values). */
#define A_PANEL_FLOATS (12 * 4096 > MC * KC ? 12 * 4096 : MC * KC)
static _Thread_local float a_panel[A_PANEL_FLOATS] __attribute__((aligned(64)));

static void pack_a(const float *a, int lda, int mc, int kc, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += PSK_GEMM_MR) {
        int mr = mc - i0 < PSK_GEMM_MR ? mc - i0 : PSK_GEMM_MR;
        for (int kk = 0; kk < kc; kk++) {
            for (int i = 0; i < mr; i++) dst[kk * PSK_GEMM_MR + i] = a[(size_t)(i0 + i) * lda + kk];
            for (int i = mr; i < PSK_GEMM_MR; i++) dst[kk * PSK_GEMM_MR + i] = 0.0f;
        }
        dst += (size_t)kc * PSK_GEMM_MR;
    }
}

/* A short A (up to 12 rows: a text query) is packed whole, and each weight strip is read once, as one sequential
 * stream, KC values at a time with every row panel run while that piece is in L1: with so few rows per weight,
 * memory bandwidth is the limit and no weight byte may be read twice. */
static void gemm_short_task(const gemm_job *job, int j0, int nc) {
    const psk_packed *w = job->w;
    int m = job->m, k = w->k;
    pack_a(job->a, job->lda, m, k, a_panel);
    for (int j = j0; j < j0 + nc; j += PSK_GEMM_NR) {
        int nr = w->n - j < PSK_GEMM_NR ? w->n - j : PSK_GEMM_NR;
        const float *strip = w->data + (size_t)(j / PSK_GEMM_NR) * k * PSK_GEMM_NR;
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kc = k - p0 < KC ? k - p0 : KC;
            bool load_c = p0 > 0 || job->accumulate;
            for (int i = 0; i < m; i += PSK_GEMM_MR) {
                int mr = m - i < PSK_GEMM_MR ? m - i : PSK_GEMM_MR;
                job->kt->gemm_ukr(kc, a_panel + (size_t)i * k + (size_t)p0 * PSK_GEMM_MR, strip + (size_t)p0 * PSK_GEMM_NR,
                                  job->c + (size_t)i * job->ldc + j, job->ldc, mr, nr, load_c);
            }
        }
        if (job->bias || job->act != PSK_ACT_NONE)
            for (int r = 0; r < m; r++)
                job->kt->bias_act(job->c + (size_t)r * job->ldc + j, job->bias ? job->bias + j : NULL, nr, job->act);
    }
}

static bool is_short(const gemm_job *job) {
    int pad = (job->m + PSK_GEMM_MR - 1) / PSK_GEMM_MR * PSK_GEMM_MR;
    return job->m <= 2 * PSK_GEMM_MR && (size_t)pad * job->w->k <= (size_t)A_PANEL_FLOATS;
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
    int mb = task / job->n_nblocks, nb = task % job->n_nblocks;
    int i0 = mb * MC, mc = job->m - i0 < MC ? job->m - i0 : MC;
    int j0 = nb * NCB, nc = w->n - j0 < NCB ? w->n - j0 : NCB;
    int k = w->k;
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        bool last = p0 + kc == k;
        bool load_c = p0 > 0 || job->accumulate;
        pack_a(job->a + (size_t)i0 * job->lda + p0, job->lda, mc, kc, a_panel);
        for (int j = j0; j < j0 + nc; j += PSK_GEMM_NR) {
            int nr = w->n - j < PSK_GEMM_NR ? w->n - j : PSK_GEMM_NR;
            const float *b = w->data + ((size_t)(j / PSK_GEMM_NR) * k + p0) * PSK_GEMM_NR;
            for (int i = 0; i < mc; i += PSK_GEMM_MR) {
                int mr = mc - i < PSK_GEMM_MR ? mc - i : PSK_GEMM_MR;
                float *c = job->c + (size_t)(i0 + i) * job->ldc + j;
                job->kt->gemm_ukr(kc, a_panel + (size_t)i * kc, b, c, job->ldc, mr, nr, load_c);
                if (last && (job->bias || job->act != PSK_ACT_NONE))
                    for (int r = 0; r < mr; r++)
                        job->kt->bias_act(c + (size_t)r * job->ldc, job->bias ? job->bias + j : NULL, nr, job->act);
            }
        }
    }
}

void psk_gemm(psk_pool *pool, int m, const float *a, int lda, const psk_packed *w, const float *bias, float *c,
              int ldc, bool accumulate, psk_act act) {
    if (m <= 0 || w->n <= 0) return;
    gemm_job job = {psk_kernels(), m, a, lda, w, bias, c, ldc, accumulate, act, (w->n + NCB - 1) / NCB};
    int n_mblocks = (m + MC - 1) / MC;
    psk_pool_run(pool, n_mblocks * job.n_nblocks, gemm_task, &job);
}
