/* bench_dups: the perceptual hash's cost per photo (a 224-pixel fast decode and a 12-megapixel full one), and the
 * grouping of src/dups (hash buckets, capture-time windows, union-find, keepers) over synthetic libraries of 100k
 * and 1M photos with planted groups of copies (hashes a few bits apart). The embeddings' neighbour search is
 * bench_ann's. With --library, the whole `photoseek duplicates` (psk_library_duplicates: rows, neighbours from the
 * vector index, hashes, times, grouping) over a library written by `make_library --dups`, on 2 threads, its time,
 * peak memory, and the pairs' precision and recall against the planted groups (DB.truth).
 * Prints RESULT lines. usage: bench_dups [N...] | bench_dups --library DB [THREADS] */
#include "../src/dups/dups.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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

typedef struct truth_row {
    char *path;
    int group;
} truth_row;

static int by_truth_path(const void *a, const void *b) {
    return strcmp(((const truth_row *)a)->path, ((const truth_row *)b)->path);
}

/* The planted group of a path, 0: none. */
static int truth_group(const truth_row *t, size_t n, const char *path) {
    truth_row key = {(char *)path, 0};
    const truth_row *r = bsearch(&key, t, n, sizeof *t, by_truth_path);
    return r ? r->group : 0;
}

static int by_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static int bench_library(const char *db, int threads) {
    char tp[1024];
    snprintf(tp, sizeof tp, "%s.truth", db);
    FILE *f = fopen(tp, "r");
    if (!f) {
        perror(tp);
        return 1;
    }
    truth_row *t = NULL;
    size_t nt = 0, cap = 0;
    char line[1100];
    while (fgets(line, sizeof line, f)) {
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        tab[strcspn(tab, "\n")] = 0;
        if (nt == cap) t = realloc(t, sizeof *t * (cap = cap ? cap * 2 : 1024));
        t[nt].group = atoi(line);
        t[nt++].path = strdup(tab + 1);
    }
    fclose(f);
    qsort(t, nt, sizeof *t, by_truth_path);
    /* the planted pairs: every two members of a group */
    int max_group = 0;
    for (size_t i = 0; i < nt; i++) max_group = t[i].group > max_group ? t[i].group : max_group;
    int64_t *gsize = calloc((size_t)max_group + 1, sizeof *gsize);
    for (size_t i = 0; i < nt; i++) gsize[t[i].group]++;
    int64_t truth_pairs = 0;
    for (int g = 1; g <= max_group; g++) truth_pairs += gsize[g] * (gsize[g] - 1) / 2;

    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_READ, &lib, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    psk_dups_params p = psk_dups_default_params();
    p.n_threads = threads;
    psk_dup_group *g = NULL;
    int ng = 0;
    double t0 = now();
    if (psk_library_duplicates(lib, &p, &g, &ng, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double s = now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    psk_library_status st = {0};
    psk_library_get_status(lib, &st, NULL);
    int64_t items = st.photos;
    /* found pairs, and those inside one planted group */
    int64_t found_pairs = 0, right_pairs = 0;
    for (int i = 0; i < ng; i++) {
        int n = g[i].n_members, *tg = malloc(sizeof *tg * (size_t)n);
        found_pairs += (int64_t)n * (n - 1) / 2;
        for (int k = 0; k < n; k++) tg[k] = truth_group(t, nt, g[i].members[k].path);
        qsort(tg, (size_t)n, sizeof *tg, by_int);
        for (int k = 0, run = 1; k < n; k++, run++)
            if (k + 1 == n || tg[k + 1] != tg[k]) {
                if (tg[k]) right_pairs += (int64_t)run * (run - 1) / 2;
                run = 0;
            }
        free(tg);
    }
    printf("RESULT dups_library_items=%lld\n", (long long)items);
    printf("RESULT dups_library_threads=%d\n", threads);
    printf("RESULT dups_library_s=%.2f\n", s);
    printf("RESULT dups_library_peak_mb=%.0f\n", ru.ru_maxrss / 1024.0);
    printf("RESULT dups_library_groups=%d\nRESULT dups_library_planted_groups=%d\n", ng, max_group);
    printf("RESULT dups_library_pair_precision=%.4f\n", found_pairs ? (double)right_pairs / found_pairs : 1.0);
    printf("RESULT dups_library_pair_recall=%.4f\n", truth_pairs ? (double)right_pairs / truth_pairs : 1.0);
    psk_dup_groups_free(g, ng);
    psk_library_close(lib);
    for (size_t i = 0; i < nt; i++) free(t[i].path);
    free(t), free(gsize);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && strcmp(argv[1], "--library") == 0) return bench_library(argv[2], argc > 3 ? atoi(argv[3]) : 2);
    bench_hash(224, 298, "224px");
    bench_hash(4000, 3000, "12mp");
    if (argc < 2) {
        bench_group(100000);
    } else {
        for (int i = 1; i < argc; i++) bench_group(atoll(argv[i]));
    }
    return 0;
}
