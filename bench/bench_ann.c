/* Benchmark of the HNSW graph against the exact scan, on N synthetic clustered 512-d vectors (the distribution of
 * bench_search.c: 1000 N(0,1) centres, N(0, 0.5^2) noise, normalised; queries from the same distribution).
 * Reports build time and memory, then recall@10 (after the exact rescoring every search does) and queries/s on one
 * thread at several ef values, unfiltered, and for filters allowing 50% down to 0.4% of the media: the exact
 * filtered scan beside the graph's filtered search, and which of the two the library uses.
 * usage: bench_ann [N] [DUMP_DIR]   (default 100000; with DUMP_DIR, writes base.f32, queries.f32 and truth.i64 there
 *        for bench/hnswlib_ref.cpp to search the same vectors)
 * Last line: RESULT ann_n=... ann_build_s=... ann_mb=... rows_mb=... exact_qps=... recall_efE=... qps_efE=... (E =
 *   16..512) filterF_exact_qps=... filterF_graph_qps=... filterF_graph_recall=... filterF_qps=... filterF_recall=...
 *   (F = 50, 33, 10, 5, 0.4; the last two: what the library answers with) */
#include "photoseek.h"

#include "../src/common/common.h"
#include "../src/index/index.h"
#include "../src/kernels/kernels.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#define DIM 512
#define QUERIES 1000
#define FILTER_QUERIES 200 /* the first 200: the graph with a 0.4% filter answers a few queries a second at 1M */

static void write_file(const char *dir, const char *name, const void *data, size_t bytes) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) fprintf(stderr, "bench_ann: cannot write %s\n", path);
    if (f) fclose(f);
}

/* The float32 vectors, the queries and the exact top-10 row numbers. */
static void dump(const char *dir, const float *base, int64_t n, float (*q)[DIM], int64_t (*truth)[10]) {
    write_file(dir, "base.f32", base, sizeof(float) * (size_t)n * DIM);
    write_file(dir, "queries.f32", q, sizeof(float) * QUERIES * DIM);
    write_file(dir, "truth.i64", truth, sizeof(int64_t) * QUERIES * 10);
}

/* ---- the CLIP-like benchmark (bench_ann --cliplike N CACHE_DIR) ---- */
#define TRUTH_K 20 /* neighbours kept per query: 10 for recall@10, 20 for the LID estimate */

typedef struct truth_job {
    const float *base;
    int64_t n;
    const float *q;
    int nq, n_tasks;
    int64_t *ids; /* nq x TRUTH_K, best first */
    float *sims;
} truth_job;

/* Exact float32 top TRUTH_K of each query: base rows in blocks that stay in cache, every query of the task's share
 * against each block. */
static void truth_task(void *arg, int task, int thread) {
    (void)thread;
    truth_job *j = arg;
    const int B = 256;
    float scores[256];
    int q0 = j->nq * task / j->n_tasks, q1 = j->nq * (task + 1) / j->n_tasks;
    for (int k = q0; k < q1; k++)
        for (int t = 0; t < TRUTH_K; t++) j->sims[k * TRUTH_K + t] = -2, j->ids[k * TRUTH_K + t] = -1;
    for (int64_t b = 0; b < j->n; b += B) {
        int nb = j->n - b < B ? (int)(j->n - b) : B;
        for (int k = q0; k < q1; k++) {
            psk_kernels()->scan_f32(j->base + (size_t)b * DIM, nb, DIM, j->q + (size_t)k * DIM, scores);
            float *s = j->sims + k * TRUTH_K;
            int64_t *id = j->ids + k * TRUTH_K;
            for (int i = 0; i < nb; i++) {
                if (scores[i] <= s[TRUTH_K - 1]) continue;
                int p = TRUTH_K - 1;
                while (p > 0 && s[p - 1] < scores[i]) s[p] = s[p - 1], id[p] = id[p - 1], p--;
                s[p] = scores[i], id[p] = b + i;
            }
        }
    }
}

static bool read_file(const char *dir, const char *name, void *data, size_t bytes) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    bool ok = f && fread(data, 1, bytes, f) == bytes && fgetc(f) == EOF;
    if (f) fclose(f);
    return ok;
}

static int cmp_f64(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double last_sims; /* similarities per query of the last run_queries */

/* Recall@10 of the library's search at ef, and its queries/s on one thread. */
static double run_queries(psk_vindex *ix, int ef, int ef_max, const float *q, const int64_t *truth, double *qps,
                          double *rescored) {
    ix->ann_ef = ef;
    ix->ann_ef_max = ef_max;
    int hit = 0;
    int64_t r0 = vindex_rescored_total, s0 = hnsw_sims_total;
    double t0 = now();
    for (int k = 0; k < QUERIES; k++) {
        vindex_hit h[10];
        int got = vindex_search(ix, NULL, q + (size_t)k * DIM, NULL, 10, -1, NULL, NULL, h);
        for (int j = 0; j < got; j++)
            for (int t = 0; t < 10; t++) hit += h[j].row == truth[k * TRUTH_K + t];
    }
    *qps = QUERIES / (now() - t0);
    *rescored = (double)(vindex_rescored_total - r0) / QUERIES;
    last_sims = (double)(hnsw_sims_total - s0) / QUERIES;
    return hit / (10.0 * QUERIES);
}

static int cliplike_bench(int64_t n, const char *cache, bool prepare_only) {
    char dir[900];
    snprintf(dir, sizeof dir, "%s/cliplike-%lld", cache, (long long)n);
    size_t bytes = sizeof(float) * (size_t)n * DIM;
    float *base = psk_malloc_aligned(bytes), *q = malloc(sizeof(float) * QUERIES * DIM);
    int64_t *ids = malloc(sizeof(int64_t) * QUERIES * TRUTH_K), *counts = calloc(CLIPLIKE_CLUSTERS, sizeof(int64_t));
    float *sims = malloc(sizeof(float) * QUERIES * TRUTH_K);
    if (!base || !q || !ids || !sims || !counts) {
        fprintf(stderr, "bench_ann: out of memory for %lld vectors\n", (long long)n);
        return 1;
    }
    psk_pool *pool2;
    psk_pool_new(2, &pool2);
    double t0 = now();
    if (read_file(dir, "base.f32", base, bytes) && read_file(dir, "queries.f32", q, sizeof(float) * QUERIES * DIM) &&
        read_file(dir, "truth20.i64", ids, sizeof(int64_t) * QUERIES * TRUTH_K) &&
        read_file(dir, "truth20.f32", sims, sizeof(float) * QUERIES * TRUTH_K) &&
        read_file(dir, "clusters.i64", counts, sizeof(int64_t) * CLIPLIKE_CLUSTERS)) {
        printf("CLIP-like vectors, exact top %d: read from %s (%.1f s)\n", TRUTH_K, dir, now() - t0);
    } else {
        cliplike g;
        cliplike_init(&g);
        for (int64_t i = 0; i < n; i++) counts[cliplike_vector(&g, base + (size_t)i * DIM)]++;
        for (int k = 0; k < QUERIES; k++) cliplike_vector(&g, q + (size_t)k * DIM);
        cliplike_free(&g);
        double t1 = now();
        truth_job tj = {base, n, q, QUERIES, 8, ids, sims};
        psk_pool_run(pool2, tj.n_tasks, truth_task, &tj);
        printf("CLIP-like vectors generated in %.1f s, exact float32 top %d of %d queries in %.1f s (2 threads)\n",
               t1 - t0, TRUTH_K, QUERIES, now() - t1);
        char cmd[1000];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        if (system(cmd) == 0) {
            write_file(dir, "base.f32", base, bytes);
            write_file(dir, "queries.f32", q, sizeof(float) * QUERIES * DIM);
            write_file(dir, "truth20.i64", ids, sizeof(int64_t) * QUERIES * TRUTH_K);
            write_file(dir, "truth20.f32", sims, sizeof(float) * QUERIES * TRUTH_K);
            write_file(dir, "clusters.i64", counts, sizeof(int64_t) * CLIPLIKE_CLUSTERS);
            /* the top 10 alone, as hnswlib_ref reads it */
            int64_t(*t10)[10] = malloc(sizeof(int64_t) * QUERIES * 10);
            for (int k = 0; k < QUERIES; k++) memcpy(t10[k], ids + k * TRUTH_K, sizeof(int64_t) * 10);
            write_file(dir, "truth.i64", t10, sizeof(int64_t) * QUERIES * 10);
            free(t10);
        }
    }
    /* The data's properties: mean cosine of random pairs, the LID (maximum likelihood over the 20 nearest
     * neighbours, Levina & Bickel, averaged as the inverse of the mean inverse), the cluster sizes. */
    uint64_t saved = rng;
    rng = 12345;
    double cos_sum = 0;
    for (int i = 0; i < 10000; i++) {
        int64_t a = (int64_t)(uniform01() * n), b = (int64_t)(uniform01() * n);
        float s;
        psk_kernels()->scan_f32(base + (size_t)a * DIM, 1, DIM, base + (size_t)b * DIM, &s);
        cos_sum += s;
    }
    rng = saved;
    double inv_lid = 0, nn1 = 0;
    for (int k = 0; k < QUERIES; k++) {
        const float *s = sims + k * TRUTH_K;
        double dk = sqrt(fmax(2 - 2 * (double)s[TRUTH_K - 1], 1e-12)), acc = 0;
        for (int t = 0; t < TRUTH_K - 1; t++) acc += log(dk / sqrt(fmax(2 - 2 * (double)s[t], 1e-12)));
        inv_lid += acc / (TRUTH_K - 1);
        nn1 += s[0];
    }
    double lid = QUERIES / inv_lid, cmin = 1e18, cmax = 0;
    for (int c = 0; c < CLIPLIKE_CLUSTERS; c++) cmin = fmin(cmin, (double)counts[c]), cmax = fmax(cmax, (double)counts[c]);
    printf("  mean cosine of random pairs %.3f, LID (MLE, 20 NN) %.1f, nearest neighbour's cosine %.3f (mean), "
           "%d clusters of %.0f to %.0f vectors (%.0fx)\n",
           cos_sum / 10000, lid, nn1 / QUERIES, CLIPLIKE_CLUSTERS, cmin, cmax, cmax / fmax(cmin, 1));

    if (prepare_only) {
        psk_free_aligned(base);
        psk_pool_free(pool2);
        free(q);
        free(ids);
        free(sims);
        free(counts);
        return 0;
    }
    psk_vindex ix;
    vindex_init(&ix, DIM);
    vindex_reserve(&ix, n, false);
    for (int64_t i = 0; i < n; i++) vindex_add(&ix, i + 1, -1, base + (size_t)i * DIM, false);
    ix.exact = base; /* rescoring reads the float32 vectors in memory; vindex_free releases them */
    t0 = now();
    ix.ann = hnsw_new(&ix, PSK_ANN_M, PSK_ANN_EF_CONSTRUCTION);
    hnsw_extend(ix.ann, &ix, pool2);
    double build = now() - t0, mb = hnsw_bytes(ix.ann) / 1e6;
    printf("HNSW M=%d efConstruction=%d: built in %.1f s on 2 threads, %.1f MB (plus the int8 rows, %.1f MB)\n",
           PSK_ANN_M, PSK_ANN_EF_CONSTRUCTION, build, mb, (double)n * DIM / 1e6);
    char result[2048];
    int rl = snprintf(result, sizeof result,
                      "RESULT cliplike_n=%lld cliplike_mean_cos=%.3f cliplike_lid=%.1f cliplike_cluster_min=%.0f "
                      "cliplike_cluster_max=%.0f cliplike_build_s=%.1f cliplike_mb=%.1f cliplike_M=%d cliplike_efc=%d",
                      (long long)n, cos_sum / 10000, lid, cmin, cmax, build, mb, PSK_ANN_M, PSK_ANN_EF_CONSTRUCTION);
    int efs[] = {64, 128, 192, 256, 384, 512, 768, 1024};
    for (int e = 0; e < (int)(sizeof efs / sizeof *efs); e++) {
        double qps, resc, recall = run_queries(&ix, efs[e], -1, q, ids, &qps, &resc);
        /* the graph's own top 10 (int8 similarities, before the rescoring) */
        int ghit = 0;
        for (int k = 0; k < QUERIES; k++) {
            int64_t r[10];
            float s[10];
            int got = hnsw_search(ix.ann, q + (size_t)k * DIM, efs[e], NULL, 10, r, s);
            for (int j = 0; j < got; j++)
                for (int t = 0; t < 10; t++) ghit += r[j] == ids[k * TRUTH_K + t];
        }
        printf("  ef %4d  recall@10 %.3f  %7.0f queries/s (1 thread; %.0f similarities, %.0f rows rescored per query; "
               "the graph's int8 top 10 alone: %.3f)\n", efs[e], recall, qps, last_sims, resc, ghit / (10.0 * QUERIES));
        rl += snprintf(result + rl, sizeof result - (size_t)rl, " cliplike_recall_ef%d=%.3f cliplike_qps_ef%d=%.0f",
                       efs[e], recall, efs[e], qps);
    }
    double qps, resc, recall = run_queries(&ix, PSK_ANN_EF, 0, q, ids, &qps, &resc);
    printf("  the library's default (ef %d, adapting up to %d): recall@10 %.3f  %7.0f queries/s (1 thread; %.0f "
           "similarities, %.0f rows rescored per query)\n", PSK_ANN_EF, PSK_ANN_EF_MAX, recall, qps, last_sims, resc);
    rl += snprintf(result + rl, sizeof result - (size_t)rl, " cliplike_ef_default=%d cliplike_ef_max_default=%d cliplike_recall10_default=%.3f "
                   "cliplike_qps_default=%.0f cliplike_sims_default=%.0f", PSK_ANN_EF, PSK_ANN_EF_MAX, recall, qps, last_sims);
    (void)cmp_f64;
    puts(result);
    vindex_free(&ix);
    psk_pool_free(pool2);
    free(q);
    free(ids);
    free(sims);
    free(counts);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--cliplike") == 0)
        return cliplike_bench(argc > 2 ? atol(argv[2]) : 100000, argc > 3 ? argv[3] : "/tmp/hnsw-cache",
                              argc > 4 && strcmp(argv[4], "--prepare") == 0);
    int64_t n = argc > 1 ? atol(argv[1]) : 100000;
    float *centres = malloc(sizeof(float) * 1000 * DIM), *v = malloc(sizeof(float) * DIM);
    for (int i = 0; i < 1000 * DIM; i++) centres[i] = gauss();
    psk_vindex ix;
    vindex_init(&ix, DIM);
    float *base = argc > 2 ? malloc(sizeof(float) * (size_t)n * DIM) : NULL;
    for (int64_t i = 0; i < n; i++) {
        const float *c = centres + (rng % 1000) * DIM;
        for (int d = 0; d < DIM; d++) v[d] = c[d] + 0.5f * gauss();
        psk_normalize(v, DIM);
        vindex_add(&ix, i + 1, -1, v, true);
        if (base) memcpy(base + (size_t)i * DIM, v, sizeof(float) * DIM);
    }
    float (*q)[DIM] = malloc(sizeof(float) * QUERIES * DIM);
    for (int k = 0; k < QUERIES; k++) {
        const float *c = centres + (rng % 1000) * DIM;
        for (int d = 0; d < DIM; d++) q[k][d] = c[d] + 0.5f * gauss();
        psk_normalize(q[k], DIM);
    }
    psk_pool *pool2;
    psk_pool_new(2, &pool2);
    /* exact answers (and the exact scan's speed on one thread) */
    int64_t (*truth)[10] = malloc(sizeof(int64_t) * QUERIES * 10);
    double t0 = now();
    for (int k = 0; k < QUERIES; k++) {
        vindex_hit h[10];
        vindex_search(&ix, NULL, q[k], NULL, 10, -1, NULL, NULL, h);
        for (int j = 0; j < 10; j++) truth[k][j] = h[j].row;
    }
    double exact_qps = QUERIES / (now() - t0);
    if (base) dump(argv[2], base, n, q, truth);
    free(base);
    printf("%lld vectors: exact scan %.0f queries/s (1 thread, int8 + rescore; top-10 equals float32, bench_search)\n",
           (long long)n, exact_qps);
    t0 = now();
    ix.ann = hnsw_new_default(&ix);
    hnsw_extend(ix.ann, &ix, pool2);
    double build = now() - t0;
    double mb = hnsw_bytes(ix.ann) / 1e6;
    printf("HNSW M=%d efConstruction=%d: built in %.1f s on 2 threads, %.1f MB (plus the int8 rows, %.1f MB)\n", PSK_ANN_M,
           PSK_ANN_EF_CONSTRUCTION, build,
           mb, (double)n * DIM / 1e6);
    char result[2048];
    int rl = snprintf(result, sizeof result, "RESULT ann_n=%lld ann_build_s=%.1f ann_mb=%.1f rows_mb=%.1f exact_qps=%.0f",
                      (long long)n, build, mb, (double)n * DIM / 1e6, exact_qps);
    int efs[7] = {16, 32, 64, 128, 256, 512, 0}; /* 0: the library's default (PSK_ANN_EF, adapting) */
    for (int e = 0; e < 7; e++) {
        ix.ann_ef = efs[e] ? efs[e] : PSK_ANN_EF;
        ix.ann_ef_max = efs[e] ? -1 : 0;
        int hit = 0;
        t0 = now();
        for (int k = 0; k < QUERIES; k++) {
            vindex_hit h[10];
            int got = vindex_search(&ix, NULL, q[k], NULL, 10, -1, NULL, NULL, h);
            for (int j = 0; j < got; j++)
                for (int t = 0; t < 10; t++) hit += h[j].row == truth[k][t];
        }
        double qps = QUERIES / (now() - t0), recall = hit / (10.0 * QUERIES);
        if (!efs[e]) {
            printf("  the library's default (ef %d, up to %d)  recall@10 %.3f  %7.0f queries/s (1 thread)\n",
                   PSK_ANN_EF, PSK_ANN_EF_MAX, recall, qps);
            rl += snprintf(result + rl, sizeof result - (size_t)rl, " recall_default=%.3f qps_default=%.0f", recall, qps);
            continue;
        }
        printf("  ef %3d  recall@10 %.3f  %7.0f queries/s (1 thread)\n", efs[e], recall, qps);
        rl += snprintf(result + rl, sizeof result - (size_t)rl, " recall_ef%d=%.3f qps_ef%d=%.0f", efs[e], recall, efs[e],
                       qps);
    }
    /* Filters allowing a fraction of the media (every m-th id: spread over all clusters). For each, the exact
     * filtered scan (recall 1 by construction) beside the graph's filtered search at the library's ef, and what the
     * library uses (vindex_uses_graph; the graph only exists from PSK_ANN_MIN_ROWS rows). */
    printf("  filters (the first %d queries; the library's ef for the graph; the library's choice marked *):\n", FILTER_QUERIES);
    int mods[5] = {2, 3, 10, 20, 250};
    const char *keys[5] = {"50", "33", "10", "5", "0.4"};
    ix.ann_ef = PSK_ANN_EF;
    ix.ann_ef_max = 0;
    for (int f = 0; f < 5; f++) {
        vindex_filter flt;
        vindex_filter_init(&flt, n);
        for (int64_t id = 1; id <= n; id++)
            if (id % mods[f] == 0) vindex_filter_add(&flt, id);
        int64_t(*ftruth)[10] = malloc(sizeof(int64_t) * FILTER_QUERIES * 10);
        ix.ann_filter_min = 2; /* never the graph */
        t0 = now();
        for (int k = 0; k < FILTER_QUERIES; k++) {
            vindex_hit h[10];
            int got = vindex_search(&ix, NULL, q[k], &flt, 10, -1, NULL, NULL, h);
            for (int j = 0; j < 10; j++) ftruth[k][j] = j < got ? h[j].row : -1;
        }
        double exact = FILTER_QUERIES / (now() - t0);
        ix.ann_filter_min = 0; /* always the graph */
        int hit = 0;
        t0 = now();
        for (int k = 0; k < FILTER_QUERIES; k++) {
            vindex_hit h[10];
            int got = vindex_search(&ix, NULL, q[k], &flt, 10, -1, NULL, NULL, h);
            for (int j = 0; j < got; j++)
                for (int t = 0; t < 10; t++) hit += h[j].row == ftruth[k][t];
        }
        double graph = FILTER_QUERIES / (now() - t0), recall = hit / (10.0 * FILTER_QUERIES);
        ix.ann_filter_min = -1;
        bool uses_graph = n >= PSK_ANN_MIN_ROWS && vindex_uses_graph(&ix, &flt);
        printf("  %4s%% filter: exact scan %7.0f queries/s, recall 1.000%s | graph %7.0f queries/s, recall %.3f%s\n",
               keys[f], exact, uses_graph ? " " : "*", graph, recall, uses_graph ? "*" : "");
        rl += snprintf(result + rl, sizeof result - (size_t)rl,
                       " filter%s_exact_qps=%.0f filter%s_graph_qps=%.0f filter%s_graph_recall=%.3f filter%s_qps=%.0f "
                       "filter%s_recall=%.3f",
                       keys[f], exact, keys[f], graph, keys[f], recall, keys[f], uses_graph ? graph : exact, keys[f],
                       uses_graph ? recall : 1.0);
        free(ftruth);
        vindex_filter_free(&flt);
    }
    puts(result);
    vindex_free(&ix);
    psk_pool_free(pool2);
    free(centres);
    free(v);
    free(q);
    free(truth);
    return 0;
}
