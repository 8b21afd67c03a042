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

int main(int argc, char **argv) {
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
    ix.ann = hnsw_new(&ix, 16, 100);
    hnsw_extend(ix.ann, &ix, pool2);
    double build = now() - t0;
    double mb = hnsw_bytes(ix.ann) / 1e6;
    printf("HNSW M=16 efConstruction=100: built in %.1f s on 2 threads, %.1f MB (plus the int8 rows, %.1f MB)\n", build,
           mb, (double)n * DIM / 1e6);
    char result[2048];
    int rl = snprintf(result, sizeof result, "RESULT ann_n=%lld ann_build_s=%.1f ann_mb=%.1f rows_mb=%.1f exact_qps=%.0f",
                      (long long)n, build, mb, (double)n * DIM / 1e6, exact_qps);
    int efs[6] = {16, 32, 64, 128, 256, 512};
    for (int e = 0; e < 6; e++) {
        ix.ann_ef = efs[e];
        int hit = 0;
        t0 = now();
        for (int k = 0; k < QUERIES; k++) {
            vindex_hit h[10];
            int got = vindex_search(&ix, NULL, q[k], NULL, 10, -1, NULL, NULL, h);
            for (int j = 0; j < got; j++)
                for (int t = 0; t < 10; t++) hit += h[j].row == truth[k][t];
        }
        double qps = QUERIES / (now() - t0), recall = hit / (10.0 * QUERIES);
        printf("  ef %3d  recall@10 %.3f  %7.0f queries/s (1 thread)\n", efs[e], recall, qps);
        rl += snprintf(result + rl, sizeof result - (size_t)rl, " recall_ef%d=%.3f qps_ef%d=%.0f", efs[e], recall, efs[e],
                       qps);
    }
    /* Filters allowing a fraction of the media (every m-th id: spread over all clusters). For each, the exact
     * filtered scan (recall 1 by construction) beside the graph's filtered search at ef 256, and what the
     * library uses (vindex_uses_graph; the graph only exists from PSK_ANN_MIN_ROWS rows). */
    printf("  filters (the first %d queries; ef 256 for the graph; the library's choice marked *):\n", FILTER_QUERIES);
    int mods[5] = {2, 3, 10, 20, 250};
    const char *keys[5] = {"50", "33", "10", "5", "0.4"};
    ix.ann_ef = 256;
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
