/* The face layers' product: out[m x n] = act(A[m x k] W^T + bias) on the chosen level's micro-kernel, with
 * psk_gemm's blocking and loop order (an MC x KC block of A packed into MR-row panels, swept by each KC x NR strip
 * of the packed weights, columns split in blocks of FG_NCB across tasks), so its sums round exactly as psk_gemm's.
 * Two differences, which are why the faces have their own driver: the layer's ReLU or ReLU6 is applied to each tile
 * right after its bias, while the tile is in cache (psk_gemm has neither, and a separate pass over the detector's
 * large maps cost a read and a write of each), and the level is looked up once, not per call (psk_gemm asks the
 * CPU its features on every call, and cpuid traps to the hypervisor on a virtual machine: 4% of the face pass).
 * pack_a and the task's loop repeat gemm.c's: they fold back into psk_gemm once it has PSK_ACT_RELU / _RELU6 and
 * looks its level up once (asked of the kernels' owner). */
#include "faces.h"

#define FG_NCB 256 /* columns per task: a multiple of every level's NR */
#define FG_PANEL_FLOATS (32 * 1024) /* an MC x KC block of A at any level (112 x 256 at most) */
static _Thread_local float panel[FG_PANEL_FLOATS] __attribute__((aligned(64)));

typedef struct fg_job {
    const psk_kernel_table *kt;
    int m, lda, ldc, n_nblocks;
    const float *a;
    const psk_packed *w;
    const float *bias;
    float *c;
    fc_act act;
} fg_job;

static void pack_a(const float *a, int lda, int mc, int kc, int MR, float *dst) {
    for (int i0 = 0; i0 < mc; i0 += MR) {
        int mr = mc - i0 < MR ? mc - i0 : MR;
        for (int kk = 0; kk < kc; kk++) {
            for (int i = 0; i < mr; i++) dst[kk * MR + i] = a[(size_t)(i0 + i) * lda + kk];
            for (int i = mr; i < MR; i++) dst[kk * MR + i] = 0.0f;
        }
        dst += (size_t)kc * MR;
    }
}

static void fg_task(void *arg, int task, int thread) {
    (void)thread;
    const fg_job *job = arg;
    const psk_kernel_table *kt = job->kt;
    const psk_packed *w = job->w;
    int MR = kt->gemm_mr, NR = kt->gemm_nr, KC = kt->gemm_kc, MC = kt->gemm_mc;
    int mb = task / job->n_nblocks, nb = task % job->n_nblocks;
    int i0 = mb * MC, mc = job->m - i0 < MC ? job->m - i0 : MC;
    int j0 = nb * FG_NCB, nc = w->n - j0 < FG_NCB ? w->n - j0 : FG_NCB;
    int k = w->k;
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        bool last = p0 + kc == k;
        pack_a(job->a + (size_t)i0 * job->lda + p0, job->lda, mc, kc, MR, panel);
        for (int j = j0; j < j0 + nc; j += NR) {
            int nr = w->n - j < NR ? w->n - j : NR;
            const float *b = w->data + ((size_t)(j / NR) * k + p0) * NR;
            for (int i = 0; i < mc; i += MR) {
                int mr = mc - i < MR ? mc - i : MR;
                float *c = job->c + (size_t)(i0 + i) * job->ldc + j;
                kt->gemm_ukr(kc, panel + (size_t)i * kc, b, c, job->ldc, mr, nr, p0 > 0);
                if (last)
                    for (int r = 0; r < mr; r++) {
                        float *row = c + (size_t)r * job->ldc;
                        if (job->bias) kt->bias_act(row, job->bias + j, nr, PSK_ACT_NONE);
                        fc_activate(row, (size_t)nr, job->act);
                    }
            }
        }
    }
}

void fc_gemm(psk_pool *pool, int m, const float *a, int lda, const psk_packed *w, const float *bias, float *c,
             int ldc, fc_act act) {
    static const psk_kernel_table *kt;
    if (!kt) kt = psk_kernels();
    if (m <= 0 || w->n <= 0) return;
    if (w->nr != kt->gemm_nr || kt->gemm_mc * kt->gemm_kc > FG_PANEL_FLOATS) { /* not packed for this level */
        psk_gemm(pool, m, a, lda, w, bias, c, ldc, false, PSK_ACT_NONE);
        for (int i = 0; i < m; i++) fc_activate(c + (size_t)i * ldc, (size_t)w->n, act);
        return;
    }
    fg_job job = {kt, m, lda, ldc, (w->n + FG_NCB - 1) / FG_NCB, a, w, bias, c, act};
    psk_pool_run(pool, (m + kt->gemm_mc - 1) / kt->gemm_mc * job.n_nblocks, fg_task, &job);
}
