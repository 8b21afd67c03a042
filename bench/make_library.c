/* Writes a library of N synthetic items for the server's load test: media rows with spread dates and cameras,
 * and clustered unit vectors (the distribution of bench_search.c) recorded under the model of CLIP_DIR, so that
 * that model's text encoder can query it. Then, as an index run does, the library's search index is brought up to
 * date through the library's own refresh path: the index file beside it and, from PSK_ANN_MIN_ROWS rows, the HNSW
 * graph (a few minutes at 1M), so that a cold search maps both.
 * With --dups, a library for `photoseek duplicates` (bench_dups --library): every item has a perceptual hash and
 * its own capture time (ten minutes apart), and groups are planted: copies of an original (embedding cosine
 * 0.95-0.99, hash 2-14 bits off, smaller, half of them with the file's time instead of the camera's) and bursts
 * (frames a second apart, cosine about 0.9, unrelated hashes). The planted groups go to DB.truth, one line per
 * member: "GROUP<TAB>PATH".
 * usage: make_library [--dups] DB N CLIP_DIR
 *        make_library --graph DB     (only the refresh, for a library made before) */
#include "photoseek.h"

#include "../src/library/library.h"
#include "../src/store/store.h"

#define SYNTH_SEED 0x9e3779b97f4a7c15ULL
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The library's search index (file and graph) brought up to date, as after an index run. */
static int refresh(const char *db) {
    psk_error err = {0};
    psk_library *lib;
    store_model m;
    if (psk_library_open(db, PSK_OPEN_WRITE, &lib, &err) || library_current_model(lib, &m, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    store_backend *b = library_backend(lib);
    int rc = b->ops->refresh_index(b->self, &m, false, &err);
    if (rc) fprintf(stderr, "%s\n", err.message);
    psk_library_close(lib);
    return rc ? 1 : 0;
}

static uint64_t next64(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}
static float uniform(float lo, float hi) { return lo + (hi - lo) * (float)(next64() >> 40) / (float)(1 << 24); }

/* The planted group being written: its kind (0: none, 1: copies, 2: burst), members left, its first member. */
typedef struct planted {
    int kind, left, group;
    int64_t taken_at;
    uint64_t phash;
    char path[1024];
} planted;

/* Turns item i into a planted duplicate, or starts a group: one item in 25 starts copies (1-3 of them), one in 40
 * a burst (3-6 frames); the rest are unrelated photos. */
static void plant(planted *pl, long i, store_media *md, float *v, float *first, int dim, uint64_t *phash, FILE *truth) {
    md->taken_at = 1200000000 + (int64_t)i * 600;
    *phash = next64() & ~1ull;
    if (pl->left > 0) {
        pl->left--;
        float s = pl->kind == 1 ? uniform(0.005f, 0.012f) : uniform(0.010f, 0.014f);
        for (int d = 0; d < dim; d++) v[d] = first[d] + s * gauss();
        psk_normalize(v, dim);
        if (pl->kind == 1) {
            for (int b = 2 + (int)(next64() % 13), k = 0; k < b; k++) pl->phash ^= 1ull << (1 + next64() % 63);
            *phash = pl->phash;
            md->width = 1600, md->height = 1200, md->size /= 4;
            snprintf(md->path + strlen(md->path) - 4, 16, "-copy.jpg");
            md->taken_at = pl->taken_at;
            if (i % 2) snprintf(md->taken_src, sizeof md->taken_src, "file"), md->taken_at += 86400 * (i % 97);
        } else {
            md->taken_at = pl->taken_at + (pl->left + 1);
        }
        fprintf(truth, "%d\t%s\n", pl->group, md->path);
        return;
    }
    pl->kind = i % 25 == 0 ? 1 : i % 40 == 7 ? 2 : 0;
    if (!pl->kind) return;
    pl->left = pl->kind == 1 ? 1 + (int)(next64() % 3) : 2 + (int)(next64() % 4);
    pl->group++;
    pl->taken_at = md->taken_at;
    pl->phash = *phash;
    memcpy(first, v, sizeof(float) * (size_t)dim);
    fprintf(truth, "%d\t%s\n", pl->group, md->path);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--graph") == 0) return refresh(argv[2]);
    bool dups = argc == 5 && strcmp(argv[1], "--dups") == 0;
    if (dups) argv++, argc--;
    if (argc != 4) {
        fprintf(stderr, "usage: make_library [--dups] DB N CLIP_DIR | make_library --graph DB\n");
        return 2;
    }
    long n = atol(argv[2]);
    psk_error err = {0};
    psk_model_params mp = psk_model_default_params();
    mp.load_vision = 0;
    psk_model *m;
    if (psk_model_load(argv[3], &mp, &m, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int dim = psk_model_n_embd(m);
    remove(argv[1]);
    psk_store *s;
    int64_t model_id;
    if (store_open(argv[1], true, &s, &err) ||
        store_model_ensure(s, psk_model_id(m), dim, argv[3], &model_id, &err) || store_exec(s, "BEGIN", &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    float *centres = malloc(sizeof(float) * 1000 * dim), *v = malloc(sizeof(float) * dim);
    float *first = malloc(sizeof(float) * dim); /* the planted group's first member */
    FILE *truth = NULL;
    if (dups) {
        char tp[1024];
        snprintf(tp, sizeof tp, "%s.truth", argv[1]);
        if (!(truth = fopen(tp, "w"))) {
            perror(tp);
            return 1;
        }
    }
    planted pl = {0};
    for (int i = 0; i < 1000 * dim; i++) centres[i] = gauss();
    static const char *makes[] = {"Canon", "Nikon", "Apple", "Google", "Sony"};
    for (long i = 0; i < n; i++) {
        store_media md = {0};
        snprintf(md.path, sizeof md.path, "/synthetic/%04ld/%ld.jpg", 2000 + i % 25, i);
        md.size = 1000 + i;
        md.mtime_ns = i;
        snprintf(md.hash, sizeof md.hash, "%064ld", i);
        md.type = 1;
        md.width = 4000;
        md.height = 3000;
        md.year = 2000 + (int)(i % 25);
        md.month = 1 + (int)(i % 12);
        md.day = 1 + (int)(i % 28);
        md.taken_at = (int64_t)(md.year - 1970) * 31557600;
        snprintf(md.taken_src, sizeof md.taken_src, "exif");
        snprintf(md.taken_local, sizeof md.taken_local, "%04d-%02d-%02d 12:00:00", md.year, md.month, md.day);
        snprintf(md.make, sizeof md.make, "%s", makes[i % 5]);
        snprintf(md.model, sizeof md.model, "Model %ld", i % 7);
        const float *c = centres + (rng % 1000) * dim;
        for (int d = 0; d < dim; d++) v[d] = c[d] + 0.5f * gauss();
        psk_normalize(v, dim);
        uint64_t phash = 0;
        if (dups) plant(&pl, i, &md, v, first, dim, &phash, truth);
        if (store_media_put(s, &md, &err) || store_put_embedding(s, md.id, model_id, -1, v, dim, &err) ||
            (dups && store_put_phash(s, md.id, phash, &err))) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        /* a commit now and then keeps the write-ahead log (a copy of every page written) from doubling the disk */
        if (i % 100000 == 99999 && (store_exec(s, "COMMIT", &err) || store_exec(s, "BEGIN", &err))) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
    }
    if (store_exec(s, "COMMIT", &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    store_close(s);
    psk_model_free(m);
    free(centres);
    free(v);
    free(first);
    if (truth) fclose(truth);
    fprintf(stderr, "make_library: %ld items in %s\n", n, argv[1]);
    return refresh(argv[1]);
}
