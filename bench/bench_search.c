/* Benchmark of exact vector search over 100k and 1M synthetic 512-d vectors, on 2 threads.
 *
 * The vectors: 1000 cluster centres with N(0,1) components; each vector is a centre plus N(0, 0.5^2) noise per
 * component, normalised (like CLIP embeddings of a photo library: many near-duplicates around themes). Queries
 * are vectors of the same distribution. Filters allow every 20th media id (5%) or every 250th (0.4%).
 *
 * For each size it reports the milliseconds per query of photoseek's index (int8 rows, exact float32 rescoring
 * of the candidates) without a filter and with each filter, the same for a plain float32 AVX2 scan (the baseline
 * that moves four times the bytes), and whether the index's top-10 equals the exact float32 top-10 on every
 * query. Last line: RESULT search_ms_100k=... search_ms_1m=... search_ms_1m_f5=... search_ms_1m_f04=...
 * top10_equal=... */
#include "photoseek.h"

#include "../src/common/common.h"
#include "../src/index/index.h"
#include "../src/kernels/kernels.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIM 512
#define CLUSTERS 1000
#define QUERIES 20

typedef struct exact_top {
    int64_t row[10];
} exact_top;

static void exact_top10(const float *v, int64_t n, const float *q, const vindex_filter *f, const psk_vindex *ix,
                        float *scores, exact_top *out) {
    psk_kernels()->scan_f32(v, n, DIM, q, scores);
    for (int j = 0; j < 10; j++) {
        int64_t best = -1;
        for (int64_t i = 0; i < n; i++) {
            int64_t id = ix->media[i];
            if (f && !((f->bits[id >> 6] >> (id & 63)) & 1)) continue;
            bool taken = false;
            for (int t = 0; t < j; t++) taken |= out->row[t] == i;
            if (!taken && (best < 0 || scores[i] > scores[best])) best = i;
        }
        out->row[j] = best;
    }
}

/* The float32 baseline: scan every row (or the allowed ones), keep the best 10. */
typedef struct f32_job {
    const float *v;
    int64_t n;
    const float *q;
    float *scores;
} f32_job;

static void f32_task(void *arg, int task, int thread) {
    (void)thread;
    f32_job *j = arg;
    int64_t per = (j->n + 7) / 8, a = task * per, b = a + per < j->n ? a + per : j->n;
    if (a < b) psk_kernels()->scan_f32(j->v + a * DIM, b - a, DIM, j->q, j->scores + a);
}

int main(void) {
    psk_pool *pool;
    psk_pool_new(2, &pool);
    int64_t sizes[2] = {100000, 1000000};
    double res_100k = 0, res_1m = 0, res_1m_f5 = 0, res_1m_f04 = 0;
    int all_equal = 1;
    float *centres = malloc(sizeof(float) * CLUSTERS * DIM);
    for (int i = 0; i < CLUSTERS * DIM; i++) centres[i] = gauss();
    for (int s = 0; s < 2; s++) {
        int64_t n = sizes[s];
        float *v = psk_malloc_aligned(sizeof(float) * n * DIM);
        psk_vindex ix;
        vindex_init(&ix, DIM);
        for (int64_t i = 0; i < n; i++) {
            const float *c = centres + (rng % CLUSTERS) * DIM;
            gauss();
            for (int d = 0; d < DIM; d++) v[i * DIM + d] = c[d] + 0.5f * gauss();
            psk_normalize(v + i * DIM, DIM);
            vindex_add(&ix, i + 1, -1, v + i * DIM, true);
        }
        vindex_filter f5, f04;
        vindex_filter_init(&f5, n);
        vindex_filter_init(&f04, n);
        for (int64_t id = 1; id <= n; id++) {
            if (id % 20 == 0) vindex_filter_add(&f5, id);
            if (id % 250 == 0) vindex_filter_add(&f04, id);
        }
        float q[QUERIES][DIM];
        for (int k = 0; k < QUERIES; k++) {
            const float *c = centres + (rng % CLUSTERS) * DIM;
            for (int d = 0; d < DIM; d++) q[k][d] = c[d] + 0.5f * gauss();
            psk_normalize(q[k], DIM);
        }
        float *scores = malloc(sizeof(float) * n);
        const vindex_filter *filters[3] = {NULL, &f5, &f04};
        const char *names[3] = {"no filter", "5% filter", "0.4% filter"};
        for (int fi = 0; fi < 3; fi++) {
            double best = 1e30, total = 0;
            int equal = 1;
            for (int k = 0; k < QUERIES; k++) {
                vindex_hit hits[10];
                double t0 = now();
                int got = vindex_search(&ix, pool, q[k], filters[fi], 10, -1, NULL, NULL, hits);
                double dt = now() - t0;
                total += dt;
                if (dt < best) best = dt;
                exact_top want;
                exact_top10(v, n, q[k], filters[fi], &ix, scores, &want);
                for (int j = 0; j < 10; j++) equal &= got == 10 && hits[j].row == want.row[j];
            }
            double ms = total / QUERIES * 1e3;
            printf("%7lld vectors  %-12s  index (int8 + rescore) %7.2f ms/query (best %.2f)  top-10 %s\n",
                   (long long)n, names[fi], ms, best * 1e3, equal ? "equal to exact float32" : "DIFFERS");
            all_equal &= equal;
            if (s == 0 && fi == 0) res_100k = ms;
            if (s == 1 && fi == 0) res_1m = ms;
            if (s == 1 && fi == 1) res_1m_f5 = ms;
            if (s == 1 && fi == 2) res_1m_f04 = ms;
        }
        /* float32 baseline: scan only (no top-k), 2 threads */
        double total = 0;
        for (int k = 0; k < QUERIES; k++) {
            f32_job j = {v, n, q[k], scores};
            double t0 = now();
            psk_pool_run(pool, 8, f32_task, &j);
            total += now() - t0;
        }
        printf("%7lld vectors  float32 AVX2 scan baseline        %7.2f ms/query\n", (long long)n, total / QUERIES * 1e3);
        free(scores);
        vindex_filter_free(&f5);
        vindex_filter_free(&f04);
        vindex_free(&ix);
        psk_free_aligned(v);
    }
    free(centres);
    psk_pool_free(pool);
    printf("RESULT search_ms_100k=%.2f search_ms_1m=%.2f search_ms_1m_f5=%.2f search_ms_1m_f04=%.2f top10_equal=%d\n",
           res_100k, res_1m, res_1m_f5, res_1m_f04, all_equal);
    return 0;
}
