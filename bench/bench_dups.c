/* bench_dups: the perceptual hash's cost per photo (a 224-pixel fast decode and a 12-megapixel full one), and the
 * grouping of src/dups (hash buckets, capture-time windows, union-find, keepers) over synthetic libraries of 100k
 * and 1M photos with planted groups of copies (hashes a few bits apart). The embeddings' neighbour search is
 * bench_ann's. Prints RESULT lines. usage: bench_dups [N...] */
#include "../src/dups/dups.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t next64(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static void bench_hash(int w, int h, const char *name) {
    uint8_t *img = malloc((size_t)w * h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++) img[i] = (uint8_t)(next64() >> 56);
    int reps = w * h > 1000000 ? 20 : 2000;
    volatile uint64_t sink = 0;
    double t0 = now();
    for (int i = 0; i < reps; i++) sink ^= dups_phash(img, w, h);
    double us = (now() - t0) / reps * 1e6;
    printf("RESULT phash_us_%s=%.1f\n", name, us);
    free(img);
}

static void bench_group(int64_t n) {
    dups_item *it = calloc((size_t)n, sizeof *it);
    char (*hash)[20] = malloc((size_t)n * 20);
    int64_t planted = 0;
    for (int64_t i = 0; i < n; i++) {
        snprintf(hash[i], 20, "%llx", (unsigned long long)i);
        it[i].id = i + 1;
        it[i].path = hash[i];
        it[i].content_hash = hash[i];
        it[i].has_phash = true;
        it[i].width = 4000, it[i].height = 3000, it[i].bytes = 1000000;
        it[i].taken_at = 1500000000 + i * 60; /* a photo a minute */
        /* every tenth photo starts a planted group of three: the next two are copies, a few bits off */
        if (i % 10 == 1 || i % 10 == 2) {
            it[i].phash = (it[i - 1].phash ^ (1ull << (next64() % 63 + 1)) ^ (1ull << (next64() % 63 + 1))) & ~1ull;
            planted++;
        } else {
            it[i].phash = next64() & ~1ull;
        }
    }
    dups_params p = dups_default_params();
    double t0 = now();
    dups_pair *pairs = NULL;
    int64_t np = 0, cap = 0;
    dups_hash_pairs(it, n, NULL, &pairs, &np, &cap, NULL);
    dups_time_pairs(it, n, p.moment_seconds, &pairs, &np, &cap, NULL);
    for (int64_t i = 0; i < np; i++) pairs[i].cos = 0.5f;
    dups_group *g;
    int ng;
    dups_group_items(it, n, pairs, np, &p, &g, &ng, NULL);
    double s = now() - t0;
    int64_t found = 0;
    for (int i = 0; i < ng; i++) found += g[i].n_members - 1;
    printf("RESULT dups_group_s_%lld=%.2f\nRESULT dups_pairs_%lld=%lld\nRESULT dups_planted_found_%lld=%.4f\n",
           (long long)n, s, (long long)n, (long long)np, (long long)n, planted ? (double)found / planted : 1.0);
    printf("RESULT dups_group_mb_%lld=%.0f\n", (long long)n,
           ((double)n * (sizeof *it + 20 + 8 * 4 /* union-find, order */) + (double)cap * sizeof *pairs) / 1e6);
    dups_groups_free(g, ng);
    free(pairs), free(it), free(hash);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    bench_hash(224, 298, "224px");
    bench_hash(4000, 3000, "12mp");
    if (argc < 2) {
        bench_group(100000);
    } else {
        for (int i = 1; i < argc; i++) bench_group(atoll(argv[i]));
    }
    return 0;
}
