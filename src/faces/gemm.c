/* The face layers' product: out[m x n] = act(A[m x k] W^T + bias) on the chosen level's micro-kernel, with
 * psk_gemm's blocking and loop order (an MC x KC block of A packed into MR-row panels, swept by each KC x NR strip
 * of the packed weights), so its sums round exactly as psk_gemm's.
 * Two differences, which are why the faces have their own driver: the layer's ReLU or ReLU6 is applied to each tile
 * with its bias (conv.h's psk_bias_clamp), while the tile is in cache (psk_gemm has neither, and a separate pass over the detector's
 * large maps cost a read and a write of each), and the level is looked up once, not per call (psk_gemm asks the
 * CPU its features on every call, and cpuid traps to the hypervisor on a virtual machine: 4% of the face pass).
 * A is packed by conv.h's psk_pack_a (a gather per k at the AVX-512 level: the scalar transpose took a fifth of
 * the detector's 1x1 products, whose few columns reuse each packed panel little). The task's loop repeats
 * gemm.c's: it folds back into psk_gemm once that has PSK_ACT_RELU / _RELU6 and looks its level up once. */
#include "faces.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define FG_NCB 256 /* columns per task: a multiple of every level's NR */
#define FG_PANEL_FLOATS (32 * 1024) /* an MC x KC block of A at any level (112 x 256 at most) */
static _Thread_local float panel[FG_PANEL_FLOATS] __attribute__((aligned(64)));

typedef struct fg_job {
    const psk_kernel_table *kt;
    int m, lda, ldc, ncb, n_nblocks; /* columns per task, column blocks */
    const float *a;
    const psk_packed *w;
    const float *bias;
    float *c;
    fc_act act;
    float lo, hi; /* the activation as a clamp */
    psk_bias_clamp_fn epilogue;
    psk_pack_a_fn pack;
    psk_tile_rowa_fn rowa; /* the tile on unpacked A, when the level has one for its tile */
} fg_job;

static void fg_task(void *arg, int task, int thread) {
    (void)thread;
    const fg_job *job = arg;
    const psk_kernel_table *kt = job->kt;
    const psk_packed *w = job->w;
    int MR = kt->gemm_mr, NR = kt->gemm_nr, KC = kt->gemm_kc, MC = kt->gemm_mc;
    int mb = task / job->n_nblocks, nb = task % job->n_nblocks;
    int i0 = mb * MC, mc = job->m - i0 < MC ? job->m - i0 : MC;
    int j0 = nb * job->ncb, nc = w->n - j0 < job->ncb ? w->n - j0 : job->ncb;
    int k = w->k;
    for (int p0 = 0; p0 < k; p0 += KC) {
        int kc = k - p0 < KC ? k - p0 : KC;
        bool last = p0 + kc == k, epi = last && (job->bias || job->act != FC_NONE);
        if (!job->rowa) job->pack(job->a + (size_t)i0 * job->lda + p0, job->lda, mc, kc, MR, panel);
        for (int j = j0; j < j0 + nc; j += NR) {
            int nr = w->n - j < NR ? w->n - j : NR;
            const float *b = w->data + ((size_t)(j / NR) * k + p0) * NR;
            psk_tile_epilogue ep = {job->bias ? job->bias + j : NULL, job->lo, job->hi};
            for (int i = 0; i < mc; i += MR) {
                int mr = mc - i < MR ? mc - i : MR;
                float *c = job->c + (size_t)(i0 + i) * job->ldc + j;
                if (job->rowa) { /* A read in place, the epilogue in the tile */
                    job->rowa(kc, job->a + (size_t)(i0 + i) * job->lda + p0, job->lda, b, c, job->ldc, mr, nr, p0 > 0,
                              epi ? &ep : NULL);
                    continue;
                }
                kt->gemm_ukr(kc, panel + (size_t)i * kc, b, c, job->ldc, mr, nr, p0 > 0);
                if (epi) job->epilogue(c, job->ldc, mr, nr, ep.bias, ep.lo, ep.hi);
            }
        }
    }
}

void fc_gemm(psk_pool *pool, int m, const float *a, int lda, const psk_packed *w, const float *bias, float *c,
             int ldc, fc_act act) {
    static const psk_kernel_table *kt;
    static psk_tile_rowa_fn rowa;
    if (!kt) {
        if (strcmp(psk_kernels()->name, "avx512") == 0 && psk_kernels()->gemm_nr == 32 && psk_kernels()->gemm_mr <= 14)
            rowa = psk_tile_rowa_avx512();
        kt = psk_kernels();
    }
    if (m <= 0 || w->n <= 0) return;
    /* not packed for this level, or beyond psk_pack_a's reach: psk_gemm, then the activation (the panel is needed
     * only without the tile on unpacked A: the AVX-512 level's KC of 768 outgrew it, which sent every product of
     * the faces here until the check knew it) */
    if (w->nr != kt->gemm_nr || (!rowa && kt->gemm_mc * kt->gemm_kc > FG_PANEL_FLOATS) || kt->gemm_mr > 16 ||
        (long long)lda * 15 > 0x7fffffff) {
        psk_gemm(pool, m, a, lda, w, bias, c, ldc, false, PSK_ACT_NONE);
        for (int i = 0; i < m; i++) fc_activate(c + (size_t)i * ldc, (size_t)w->n, act);
        return;
    }
    /* With rows enough for 3 blocks per thread (a detector layer), a task takes all the columns of its rows, and
     * each block of A is packed once; else the columns are split too, for the threads to share a short product. */
    int m_blocks = (m + kt->gemm_mc - 1) / kt->gemm_mc;
    int ncb = m_blocks >= 3 * psk_pool_threads(pool) ? w->n : FG_NCB;
    fg_job job = {kt, m, lda, ldc, ncb, (w->n + ncb - 1) / ncb, a, w, bias, c, act, 0, 0, psk_bias_clamp(), psk_pack_a(), rowa};
    fc_act_range(act, &job.lo, &job.hi);
    psk_pool_run(pool, m_blocks * job.n_nblocks, fg_task, &job);
}

/* ---- the BF16 product (fc_gemm_bf16): the same tasks, each MC x FB_KC block of A converted to bf16 pairs once in
 * the thread's buffer, swept by the 32-column strips of the packed weights ---- */
#define FB_MC 112 /* 8 tiles of 14 rows */
#define FB_KC 512 /* 256 pairs: a strip of B is 32 KiB */
static _Thread_local uint32_t panel_bf16[FB_MC * FB_KC / 2] __attribute__((aligned(64)));

typedef struct fb_job {
    int m, lda, ldc, ncb, n_nblocks;
    const float *a;
    const psk_packed_bf16 *w;
    const float *bias;
    float *c;
    float lo, hi;
    psk_tile_bf16_fn tile;
    psk_to_bf16_fn convert;
} fb_job;

static void fb_task(void *arg, int task, int thread) {
    (void)thread;
    const fb_job *job = arg;
    const psk_packed_bf16 *w = job->w;
    int mb = task / job->n_nblocks, nb = task % job->n_nblocks;
    int i0 = mb * FB_MC, mc = job->m - i0 < FB_MC ? job->m - i0 : FB_MC;
    int j0 = nb * job->ncb, nc = w->n - j0 < job->ncb ? w->n - j0 : job->ncb;
    for (int p0 = 0; p0 < w->k; p0 += FB_KC) {
        int kc = w->k - p0 < FB_KC ? w->k - p0 : FB_KC, kp = (kc + 1) / 2;
        bool last = p0 + kc == w->k;
        job->convert(job->a + (size_t)i0 * job->lda + p0, job->lda, mc, kc, panel_bf16, kp);
        for (int j = j0; j < j0 + nc; j += 32) {
            int nr = w->n - j < 32 ? w->n - j : 32;
            const uint16_t *b = w->data + ((size_t)(j / 32) * w->kp + p0 / 2) * 64;
            psk_tile_epilogue ep = {job->bias ? job->bias + j : NULL, job->lo, job->hi};
            for (int i = 0; i < mc; i += 14)
                job->tile(kp, panel_bf16 + (size_t)i * kp, kp, b, job->c + (size_t)(i0 + i) * job->ldc + j, job->ldc,
                          mc - i < 14 ? mc - i : 14, nr, p0 > 0, last ? &ep : NULL);
        }
    }
}

/* The BF16 kernels, looked up once (their lookup asks cpuid: a trap to the hypervisor on a virtual machine). */
static psk_tile_bf16_fn bf16_tile;
static psk_to_bf16_fn bf16_convert;
static pthread_once_t bf16_once = PTHREAD_ONCE_INIT;

static void bf16_choose(void) {
    const char *fp32 = getenv("PHOTOSEEK_FACES_FP32");
    if (strcmp(psk_kernels()->name, "avx512") != 0 || (fp32 && *fp32 && strcmp(fp32, "0") != 0)) return;
    psk_tile_bf16_fn tile = psk_tile_bf16_avx512();
    psk_to_bf16_fn convert = psk_to_bf16_avx512();
    if (tile && convert) bf16_tile = tile, bf16_convert = convert;
}

bool fc_bf16_available(void) {
    pthread_once(&bf16_once, bf16_choose);
    return bf16_tile != NULL;
}

void fc_gemm_bf16(psk_pool *pool, int m, const float *a, int lda, const psk_packed_bf16 *w, const float *bias,
                  float *c, int ldc, fc_act act) {
    if (m <= 0 || w->n <= 0) return;
    int m_blocks = (m + FB_MC - 1) / FB_MC;
    int ncb = m_blocks >= 3 * psk_pool_threads(pool) ? w->n : FG_NCB;
    if (!fc_bf16_available()) return; /* never packed then */
    fb_job job = {m, lda, ldc, ncb, (w->n + ncb - 1) / ncb, a, w, bias, c, 0, 0, bf16_tile, bf16_convert};
    fc_act_range(act, &job.lo, &job.hi);
    psk_pool_run(pool, m_blocks * job.n_nblocks, fb_task, &job);
}
