/* Benchmark of the HNSW graph against the exact scan, on N synthetic clustered 512-d vectors (the distribution of
 * bench_search.c: 1000 N(0,1) centres, N(0, 0.5^2) noise, normalised; queries from the same distribution).
 * Reports build time and memory, then recall@10 (after the exact rescoring every search does) and queries/s on one
 * thread at several ef values, unfiltered and with 5% and 0.4% filters (which the library sends to the exact
 * filtered scan: its numbers are shown beside).
 * usage: bench_ann [N] [DUMP_DIR]   (default 100000; with DUMP_DIR, writes base.f32, queries.f32 and truth.i64 there
 *        for bench/hnswlib_ref.cpp to search the same vectors)
 * Last line: RESULT ann_build_s=... ann_mb=... recall_ef64=... qps_ef64=... exact_qps=... */
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
#define QUERIES 200

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
    double recall64 = 0, qps64 = 0;
    int efs[5] = {16, 32, 64, 128, 256};
    for (int e = 0; e < 5; e++) {
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
        if (efs[e] == 64) recall64 = recall, qps64 = qps;
    }
    /* filters: 5% and 0.4% go to the exact filtered scan (PSK_ANN_MIN_ROWS and the 30% rule in vindex_search) */
    int mods[2] = {20, 250};
    for (int f = 0; f < 2; f++) {
        vindex_filter flt;
        vindex_filter_init(&flt, n);
        for (int64_t id = 1; id <= n; id++)
            if (id % mods[f] == 0) vindex_filter_add(&flt, id);
        t0 = now();
        for (int k = 0; k < QUERIES; k++) {
            vindex_hit h[10];
            vindex_search(&ix, NULL, q[k], &flt, 10, -1, NULL, NULL, h);
        }
        printf("  %.1f%% filter: exact filtered scan, recall 1.000, %.0f queries/s (1 thread)\n", 100.0 / mods[f],
               QUERIES / (now() - t0));
        vindex_filter_free(&flt);
    }
    printf("RESULT ann_build_s=%.1f ann_mb=%.1f recall_ef64=%.3f qps_ef64=%.0f exact_qps=%.0f\n", build, mb, recall64,
           qps64, exact_qps);
    vindex_free(&ix);
    psk_pool_free(pool2);
    free(centres);
    free(v);
    free(q);
    free(truth);
    return 0;
}
