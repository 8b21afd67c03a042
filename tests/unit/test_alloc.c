/* Allocation failure: fail the Nth allocation for increasing N; every loader must return PSK_ERR_NOMEM cleanly
 * (the sanitizer run checks that nothing leaks) until N is large enough to succeed. */
#include "test.h"

#include "../../src/common/common.h"
#include "../../src/index/index.h"
#include "../../src/model/model.h"

#include <sqlite3.h>

typedef int (*attempt_fn)(void);

/* Returns the number of failure points tried; fails the test on a wrong status. */
static int sweep(const char *what, attempt_fn fn) {
    int tried = 0;
    for (long n = 0;; n = n < 64 ? n + 1 : n + n / 3) {
        psk_alloc_fail_after(n);
        int rc = fn();
        psk_alloc_fail_after(-1);
        tried++;
        if (rc == PSK_OK) return tried;
        if (rc != PSK_ERR_NOMEM) {
            test_fail(__FILE__, __LINE__, "%s: failing allocation %ld gave status %d, not PSK_ERR_NOMEM", what, n, rc);
            return tried;
        }
        if (n > 100000000) {
            test_fail(__FILE__, __LINE__, "%s: never succeeded", what);
            return tried;
        }
    }
}

static int load_clip(void) {
    psk_model *m = NULL;
    int rc = psk_model_load(fixture_path("models/tiny-clip"), NULL, &m, NULL);
    if (rc == PSK_OK) {
        psk_context *ctx;
        rc = psk_context_new(m, NULL, &ctx, NULL);
        if (rc == PSK_OK) {
            const char *t = "a photo of a cat";
            float e[24];
            rc = psk_encode_texts(ctx, &t, 1, e, NULL);
            psk_context_free(ctx);
        }
    }
    psk_model_free(m);
    return rc;
}

static int load_mclip(void) {
    psk_model *m = NULL;
    int rc = psk_model_load(fixture_path("models/tiny-mclip"), NULL, &m, NULL);
    psk_model_free(m);
    return rc;
}

static int decode_images(void) {
    const char *files[] = {"images/exif_orient6_640x480.jpg", "images/palette_200x200.png", "images/lossy_400x300.webp"};
    for (int i = 0; i < 3; i++) {
        psk_image *img = NULL;
        int rc = psk_image_load(fixture_path(files[i]), NULL, &img, NULL);
        psk_image_free(img);
        if (rc) return rc;
    }
    return PSK_OK;
}

TEST(model_loading_survives_allocation_failures) {
    int n = sweep("tiny-clip", load_clip);
    CHECKF(n > 10, "only %d failure points", n);
    sweep("tiny-mclip", load_mclip);
}

TEST(image_decoding_survives_allocation_failures) {
    sweep("images", decode_images);
}

/* Open a fresh library, index three images, search it: every failure point must give PSK_ERR_NOMEM (or a file
 * recorded as failed, which the next attempt redoes), never a crash or a leak. */
static int library_round_trip(void) {
    static int attempt;
    char db[600], dir[600], cmd[1800];
    snprintf(dir, sizeof dir, "%s/alloc-photos", test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -n '%s' '%s' '%s' '%s/' 2>/dev/null; true", dir,
             fixture_path("images/photo_coffee.jpg"), fixture_path("images/gray_320x240.png"),
             fixture_path("images/exif_orient6_640x480.jpg"), dir);
    if (system(cmd) != 0) return PSK_ERR_IO;
    snprintf(db, sizeof db, "%s/alloc-%d.db", test_tmpdir(), attempt++);
    psk_library *lib = NULL;
    int rc = psk_library_open(db, PSK_OPEN_WRITE, &lib, NULL);
    if (rc) return rc;
    const char *roots[1] = {dir};
    psk_index_params p = psk_index_default_params();
    p.roots = roots;
    p.n_roots = 1;
    p.image_model_dir = fixture_path("models/tiny-clip");
    p.n_jobs = 1;
    p.n_threads = 1;
    psk_index_stats st;
    rc = psk_library_index(lib, &p, &st, NULL);
    if (rc == PSK_OK && st.failed) rc = PSK_ERR_NOMEM; /* a decode failed for lack of memory */
    if (rc == PSK_OK) {
        psk_search_params sp = psk_search_default_params();
        sp.query = "a cup of coffee";
        psk_result *res = NULL;
        int n = 0;
        rc = psk_library_search(lib, &sp, &res, &n, NULL);
        psk_results_free(res);
        if (rc == PSK_OK && n != 3) rc = PSK_ERR_NOMEM;
    }
    psk_library_close(lib);
    return rc;
}

TEST(library_survives_allocation_failures) {
    int n = sweep("library", library_round_trip);
    CHECKF(n > 20, "only %d failure points", n);
}

/* ---- the HNSW graph: build, search with a filter, save and load ---- */

/* n unit vectors of dim values from a fixed seed. */
static float *unit_vectors(int n, int dim) {
    float *v = malloc(sizeof(float) * (size_t)n * dim);
    uint64_t s = 7;
    for (int i = 0; i < n; i++) {
        double norm = 0;
        for (int d = 0; d < dim; d++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            float x = (float)((s >> 40) / 16777216.0 - 0.5);
            v[(size_t)i * dim + d] = x;
            norm += (double)x * x;
        }
        for (int d = 0; d < dim; d++) v[(size_t)i * dim + d] /= (float)sqrt(norm);
    }
    return v;
}

enum { HN = 700, HDIM = 32 };
static float *hnsw_vectors;

static int hnsw_round_trip(void) {
    static int attempt;
    psk_vindex ix;
    vindex_init(&ix, HDIM);
    psk_hnsw *g = NULL, *loaded = NULL;
    vindex_filter even = {0};
    int rc = PSK_OK;
    for (int i = 0; !rc && i < HN; i++) rc = vindex_add(&ix, i + 1, -1, hnsw_vectors + (size_t)i * HDIM, true);
    if (!rc && !(g = hnsw_new(&ix, 8, 40))) rc = PSK_ERR_NOMEM;
    if (!rc) rc = hnsw_extend(g, &ix, NULL);
    if (!rc) rc = vindex_filter_init(&even, HN);
    for (int i = 2; !rc && i <= HN; i += 2) vindex_filter_add(&even, i);
    /* every vector finds itself first; with the filter, an odd row's own media is excluded */
    int64_t rows[5];
    float sims[5];
    for (int q = 0; !rc && q < HN; q += 97) {
        const float *v = hnsw_vectors + (size_t)q * HDIM;
        int got = hnsw_search(g, v, 32, NULL, 5, rows, sims);
        if (got < 0) rc = PSK_ERR_NOMEM;
        else if (got != 5 || rows[0] != q) rc = PSK_ERR_FORMAT;
        if (rc) break;
        got = hnsw_search(g, v, 32, &even, 5, rows, sims);
        if (got < 0) rc = PSK_ERR_NOMEM;
        else if (got != 5 || (q % 2 == 1 && rows[0] != q)) rc = PSK_ERR_FORMAT;
        for (int i = 0; !rc && i < got; i++)
            if ((ix.media[rows[i]] & 1) != 0) rc = PSK_ERR_FORMAT;
    }
    int64_t unreachable = 0, few = 0;
    if (!rc) rc = hnsw_layer0_stats(g, &unreachable, &few);
    if (!rc && unreachable) rc = PSK_ERR_FORMAT;
    char path[600];
    snprintf(path, sizeof path, "%s/alloc-%d.hnsw", test_tmpdir(), attempt++);
    if (!rc) rc = hnsw_save(g, path, NULL);
    if (!rc && !(loaded = hnsw_load(path, &ix))) rc = PSK_ERR_NOMEM; /* the file is good: only memory can fail */
    if (!rc && hnsw_size(loaded) != HN) rc = PSK_ERR_FORMAT;
    remove(path);
    hnsw_free(loaded);
    hnsw_free(g);
    vindex_filter_free(&even);
    vindex_free(&ix);
    return rc;
}

TEST(hnsw_survives_allocation_failures) {
    hnsw_vectors = unit_vectors(HN, HDIM);
    CHECK(hnsw_round_trip() == PSK_OK); /* without failures first: the sweep's end point */
    int n = sweep("hnsw", hnsw_round_trip);
    free(hnsw_vectors);
    CHECKF(n > 20, "only %d failure points", n);
}

/* ---- a Google Takeout import: an extracted folder and a tar archive, sidecars, an album ---- */

typedef struct takeout_outcome {
    psk_import_stats st;
    int sidecar_rows, described, with_albums;
} takeout_outcome;

static int takeout_import(takeout_outcome *out) {
    static int attempt;
    char src[600], tar[600], cmd[3000];
    snprintf(src, sizeof src, "%s/tk-src", test_tmpdir());
    snprintf(tar, sizeof tar, "%s/tk-part2.tar", test_tmpdir());
    if (!psk_file_exists(tar)) {
        const char *side = "{\"title\": \"%s\", \"description\": \"%s\", \"photoTakenTime\": {\"timestamp\": \"%s\"}, "
                           "\"geoData\": {\"latitude\": 48.85, \"longitude\": 2.29}, \"people\": [{\"name\": \"Alice\"}]}";
        char s1[400], s2[400], s3[400];
        snprintf(s1, sizeof s1, side, "coffee.jpg", "morning coffee", "1530000000");
        snprintf(s2, sizeof s2, side, "cat.jpg", "a cat", "1563000000");
        snprintf(s3, sizeof s3, side, "rocket.jpg", "launch", "1560000000");
        snprintf(cmd, sizeof cmd,
                 "set -e; G='%s/Takeout/Google Photos'; mkdir -p \"$G/Trip\" \"$G/Photos from 2019\" '%s/p2/Takeout/Google "
                 "Photos/Photos from 2019'; cp '%s' \"$G/Trip/coffee.jpg\"; echo '%s' >\"$G/Trip/coffee.jpg.json\"; "
                 "echo '{\"title\": \"Trip\"}' >\"$G/Trip/metadata.json\"; cp '%s' \"$G/Photos from 2019/cat.jpg\"; "
                 "echo '%s' >\"$G/Photos from 2019/cat.jpg.supplemental-metadata.json\"; P='%s/p2'; "
                 "cp '%s' \"$P/Takeout/Google Photos/Photos from 2019/rocket.jpg\"; "
                 "echo '%s' >\"$P/Takeout/Google Photos/Photos from 2019/rocket.jpg.json\"; tar cf '%s' -C \"$P\" Takeout",
                 src, test_tmpdir(), fixture_path("images/photo_coffee.jpg"), s1, fixture_path("images/photo_chelsea.jpg"),
                 s2, test_tmpdir(), fixture_path("images/photo_rocket.jpg"), s3, tar);
        if (system(cmd) != 0) return PSK_ERR_IO;
    }
    char db[600], into[600];
    snprintf(db, sizeof db, "%s/tk-%d.db", test_tmpdir(), attempt);
    snprintf(into, sizeof into, "%s/tk-into-%d", test_tmpdir(), attempt++);
    psk_library *lib = NULL;
    int rc = psk_library_open(db, PSK_OPEN_WRITE, &lib, NULL);
    if (rc) return rc;
    const char *inputs[2] = {src, tar};
    psk_takeout_params p = {0};
    p.inputs = inputs;
    p.n_inputs = 2;
    p.into = into;
    p.index = psk_index_default_params();
    p.index.image_model_dir = fixture_path("models/tiny-clip");
    p.index.n_jobs = 1;
    p.index.n_threads = 1;
    memset(out, 0, sizeof *out);
    rc = psk_import_takeout(lib, &p, &out->st, NULL);
    if (rc == PSK_OK && out->st.index.failed) rc = PSK_ERR_NOMEM; /* a decode failed for lack of memory */
    psk_library_close(lib);
    if (rc) return rc;
    sqlite3 *s = NULL;
    sqlite3_stmt *q = NULL;
    if (sqlite3_open_v2(db, &s, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(s, "SELECT count(*), count(description), count(albums) FROM sidecars", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        out->sidecar_rows = sqlite3_column_int(q, 0);
        out->described = sqlite3_column_int(q, 1);
        out->with_albums = sqlite3_column_int(q, 2);
    } else {
        rc = PSK_ERR_IO;
    }
    sqlite3_finalize(q);
    sqlite3_close(s);
    return rc;
}

static takeout_outcome takeout_reference;

/* Succeeds only with the outcome of the run without failures: a failure that loses a sidecar or a file silently
 * is a wrong result (PSK_ERR_FORMAT), not a success. */
static int takeout_attempt(void) {
    takeout_outcome o;
    int rc = takeout_import(&o);
    if (rc) return rc;
    const takeout_outcome *r = &takeout_reference;
    if (o.st.imported != r->st.imported || o.st.sidecars_matched != r->st.sidecars_matched ||
        o.st.sidecars_bad != r->st.sidecars_bad || o.st.index.indexed != r->st.index.indexed ||
        o.sidecar_rows != r->sidecar_rows || o.described != r->described || o.with_albums != r->with_albums)
        return PSK_ERR_FORMAT;
    return PSK_OK;
}

TEST(takeout_import_survives_allocation_failures) {
    CHECK(takeout_import(&takeout_reference) == PSK_OK);
    const takeout_outcome *r = &takeout_reference;
    CHECKF(r->st.imported == 3 && r->st.sidecars_matched == 3 && r->st.index.indexed == 3 && r->sidecar_rows == 3 &&
               r->described == 3 && r->with_albums == 1,
           "imported %lld, %lld sidecars matched, %lld indexed; %d rows, %d described, %d with albums",
           (long long)r->st.imported, (long long)r->st.sidecars_matched, (long long)r->st.index.indexed, r->sidecar_rows,
           r->described, r->with_albums);
    int n = sweep("takeout", takeout_attempt);
    CHECKF(n > 20, "only %d failure points", n);
}
