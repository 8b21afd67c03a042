/* The query algebra, the vector index against an exact float32 scan, and the store's refusals. */
#include "test.h"

#include "../../src/index/index.h"
#include "../../src/kernels/kernels.h"
#include "../../src/search/search.h"
#include "../../src/store/store.h"

TEST(query_algebra_parses) {
    query q;
    psk_error err = {0};
    CHECK(query_parse("donut birthday cake", &q, &err) == PSK_OK);
    CHECK(q.n == 1 && strcmp(q.terms[0].text, "donut birthday cake") == 0 && q.terms[0].weight == 1.0f);
    query_free(&q);
    CHECK(query_parse("\"beach\" -people +\"sunset glow\"", &q, &err) == PSK_OK);
    CHECK(q.n == 3 && strcmp(q.terms[0].text, "beach") == 0 && q.terms[0].weight == 1.0f);
    CHECK(strcmp(q.terms[1].text, "people") == 0 && q.terms[1].weight == -1.0f);
    CHECK(strcmp(q.terms[2].text, "sunset glow") == 0 && q.terms[2].weight == 1.0f);
    query_free(&q);
    CHECK(query_parse("2:dog -0.5:\"wet grass\" park bench", &q, &err) == PSK_OK);
    CHECK(q.n == 3 && q.terms[0].weight == 2.0f && strcmp(q.terms[0].text, "dog") == 0);
    CHECK(q.terms[1].weight == -0.5f && strcmp(q.terms[1].text, "wet grass") == 0);
    CHECK(strcmp(q.terms[2].text, "park bench") == 0);
    query_free(&q);
    /* natural text that looks like syntax stays text */
    CHECK(query_parse("It's 3:45pm — we're late", &q, &err) == PSK_OK);
    CHECK(q.n == 1 && strcmp(q.terms[0].text, "It's 3:45pm — we're late") == 0);
    query_free(&q);
    CHECK(query_parse("tests/fuzz/corpus/image/j.jpg sunset", &q, &err) == PSK_OK);
    CHECK(q.n == 2 && q.terms[0].is_image && !q.terms[1].is_image);
    query_free(&q);
    CHECK(query_parse("   ", &q, &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "empty"));
    CHECK(query_parse("\"unclosed", &q, &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "quote"));
    CHECK(query_parse("500:dog", &q, &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "weight"));
    CHECK(query_parse("caf\xc3", &q, &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "UTF-8"));
}

static unsigned seed = 7;
static float gauss(void) {
    float s = 0;
    for (int i = 0; i < 4; i++) {
        seed = seed * 1664525u + 1013904223u;
        s += (seed >> 8) / 16777216.0f - 0.5f;
    }
    return s;
}

/* Clustered unit vectors, like CLIP embeddings of a photo library: every vector is near one of a few centres. */
static float *make_vectors(int n, int dim, int clusters) {
    float *c = malloc(sizeof(float) * clusters * dim), *v = malloc(sizeof(float) * n * dim);
    for (int i = 0; i < clusters * dim; i++) c[i] = gauss();
    for (int i = 0; i < n; i++) {
        const float *ci = c + (i % clusters) * dim;
        for (int d = 0; d < dim; d++) v[i * dim + d] = ci[d] + 0.5f * gauss();
        psk_normalize(v + i * dim, dim);
    }
    free(c);
    return v;
}

TEST(int8_index_keeps_the_exact_top10) {
    int n = 20000, dim = 512, k = 10;
    float *v = make_vectors(n, dim, 50);
    psk_vindex ix;
    vindex_init(&ix, dim);
    for (int i = 0; i < n; i++) CHECK(vindex_add(&ix, i + 1, -1, v + i * dim, true) == PSK_OK);
    /* The int8 rows take a quarter of float32's bytes. */
    CHECK(ix.n == n);
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    vindex_filter f;
    CHECK(vindex_filter_init(&f, n) == PSK_OK);
    for (int i = 1; i <= n; i += 25) vindex_filter_add(&f, i); /* 4% of the media */
    float *scores = malloc(sizeof(float) * n);
    for (int qi = 0; qi < 20 && !test_failed(); qi++) {
        float q[512];
        for (int d = 0; d < dim; d++) q[d] = v[(qi * 997 % n) * dim + d] + 0.3f * gauss();
        psk_normalize(q, dim);
        for (int pass = 0; pass < 2; pass++) {
            const vindex_filter *flt = pass ? &f : NULL;
            vindex_hit hits[10];
            int got = vindex_search(&ix, pool, q, flt, k, -1, NULL, NULL, hits);
            /* the exact answer */
            psk_kernels_ref()->scan_f32(v, n, dim, q, scores);
            int want[10];
            for (int j = 0; j < k; j++) {
                int best = -1;
                for (int i = 0; i < n; i++) {
                    if (flt && !((f.bits[(i + 1) >> 6] >> ((i + 1) & 63)) & 1)) continue;
                    bool taken = false;
                    for (int t = 0; t < j; t++) taken |= want[t] == i;
                    if (!taken && (best < 0 || scores[i] > scores[best])) best = i;
                }
                want[j] = best;
            }
            CHECKF(got == k, "%d hits", got);
            for (int j = 0; j < k; j++)
                CHECKF(hits[j].row == want[j] && fabsf(hits[j].score - scores[want[j]]) < 1e-5,
                       "query %d pass %d rank %d: row %lld, exact %d", qi, pass, j, (long long)hits[j].row, want[j]);
        }
    }
    free(scores);
    free(v);
    vindex_filter_free(&f);
    psk_pool_free(pool);
    vindex_free(&ix);
}

TEST(vector_quantisation_is_exact) {
    /* scale = max|v| / 127; values rounded to nearest, halves away from zero */
    float v[6] = {0.5f, -1.0f, 0.25f, 0.0f, -0.5f, 1.0f / 254.0f};
    int8_t q[6];
    float s = vindex_quantize(v, 6, q);
    CHECKF(s == 1.0f / 127.0f, "scale %g", s);
    const int8_t want[6] = {64, -127, 32, 0, -64, 1};
    for (int i = 0; i < 6; i++) CHECKF(q[i] == want[i], "q[%d] = %d, want %d", i, q[i], want[i]);
    float zero[3] = {0, 0, 0};
    CHECK(vindex_quantize(zero, 3, q) == 1.0f && q[0] == 0 && q[1] == 0 && q[2] == 0);
}

TEST(index_keeps_one_hit_per_media) {
    int dim = 16;
    psk_vindex ix;
    vindex_init(&ix, dim);
    float v[16];
    for (int m = 1; m <= 5; m++)
        for (int fr = 0; fr < 4; fr++) {
            for (int d = 0; d < dim; d++) v[d] = (d == m) + 0.1f * fr;
            psk_normalize(v, dim);
            CHECK(vindex_add(&ix, m, fr * 1000, v, true) == PSK_OK);
        }
    float q[16] = {0};
    q[2] = 1;
    vindex_hit hits[5];
    int n = vindex_search(&ix, NULL, q, NULL, 5, -1, NULL, NULL, hits);
    CHECK(n == 5);
    CHECK(ix.media[hits[0].row] == 2 && ix.frame[hits[0].row] == 0);
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) CHECK(ix.media[hits[i].row] != ix.media[hits[j].row]);
    n = vindex_search(&ix, NULL, q, NULL, 5, 0.9f, NULL, NULL, hits);
    CHECK(n == 1);
    vindex_free(&ix);
}

TEST(scan_kernels_match_reference) {
    const psk_kernel_table *ref = psk_kernels_ref(), *v = psk_kernels_avx2();
    if (!v) SKIP("this CPU has no AVX2+FMA");
    int n = 37, dim = 520;
    int8_t *q = malloc((size_t)n * dim + 64);
    float *f = malloc(sizeof(float) * n * dim), scale[37], qv[520], o1[37], o2[37];
    for (int i = 0; i < n * dim; i++) {
        q[i] = (int8_t)(i * 7 % 255 - 127);
        f[i] = gauss();
    }
    for (int i = 0; i < n; i++) scale[i] = 0.01f * (i + 1);
    for (int d = 0; d < dim; d++) qv[d] = gauss();
    int16_t q16[520];
    float qs = psk_quantize_query(qv, 512, q16);
    ref->scan_i8(q, scale, n, 512, q16, qs, o1);
    v->scan_i8(q, scale, n, 512, q16, qs, o2);
    for (int i = 0; i < n; i++) CHECKF(o1[i] == o2[i], "i8 row %d: %g vs %g", i, o1[i], o2[i]);
    /* the gathering form: scattered rows, repeats, fewer rows than it prefetches ahead, and a dim it hands back */
    int32_t rows[9] = {36, 0, 17, 17, 5, 30, 2, 11, 29};
    for (int len = 0; len <= 9; len++) {
        float g1[9], g2[9];
        ref->scan_i8_rows(q, scale, rows, len, 512, q16, qs, g1);
        v->scan_i8_rows(q, scale, rows, len, 512, q16, qs, g2);
        for (int i = 0; i < len; i++) {
            CHECKF(g1[i] == g2[i], "rows %d/%d: %g vs %g", i, len, g1[i], g2[i]);
            CHECKF(g1[i] == o1[rows[i]], "rows %d: %g vs scan %g", i, g1[i], o1[rows[i]]);
        }
    }
    float g1[9], g2[9];
    qs = psk_quantize_query(qv, 520, q16);
    ref->scan_i8_rows(q, scale, rows, 9, 520, q16, qs, g1);
    v->scan_i8_rows(q, scale, rows, 9, 520, q16, qs, g2);
    for (int i = 0; i < 9; i++) CHECKF(g1[i] == g2[i], "dim 520 row %d", i);
    qs = psk_quantize_query(qv, 512, q16);
    /* and close to the float product */
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int d = 0; d < 512; d++) s += (double)q[i * 512 + d] * qv[d];
        s *= scale[i];
        CHECKF(fabs(o1[i] - s) < 2e-3 * (1 + fabs(s)) * 10, "row %d: %g vs exact %g", i, o1[i], s);
    }
    ref->scan_f32(f, n, dim, qv, o1);
    v->scan_f32(f, n, dim, qv, o2);
    for (int i = 0; i < n; i++) CHECKF(fabsf(o1[i] - o2[i]) < 1e-4f * (1 + fabsf(o1[i])), "f32 row %d", i);
    free(q);
    free(f);
}

TEST(store_refuses_what_it_cannot_read) {
    char path[600];
    psk_library *lib = NULL;
    psk_error err = {0};
    snprintf(path, sizeof path, "%s/missing.db", test_tmpdir());
    CHECK(psk_library_open(path, PSK_OPEN_READ, &lib, &err) == PSK_ERR_NOT_FOUND);
    CHECKF(strstr(err.message, "run 'photoseek index"), "%s", err.message);
    snprintf(path, sizeof path, "%s/text.db", test_tmpdir());
    FILE *fp = fopen(path, "w");
    fputs("this is not a database, just text that is long enough to look like a file header....", fp);
    fclose(fp);
    CHECK(psk_library_open(path, PSK_OPEN_WRITE, &lib, &err) == PSK_ERR_FORMAT);
    CHECKF(strstr(err.message, "not a photoseek library"), "%s", err.message);
    /* a file from a future photoseek */
    snprintf(path, sizeof path, "%s/future.db", test_tmpdir());
    char cmd[800];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA user_version = 99'", path);
    if (system(cmd) == 0) {
        CHECK(psk_library_open(path, PSK_OPEN_WRITE, &lib, &err) == PSK_ERR_UNSUPPORTED);
        CHECKF(strstr(err.message, "newer photoseek"), "%s", err.message);
    }
    /* a fresh one opens and reports an empty status */
    snprintf(path, sizeof path, "%s/sub/dir/new.db", test_tmpdir());
    CHECK_OK(psk_library_open(path, PSK_OPEN_WRITE, &lib, err_));
    psk_library_status st;
    CHECK_OK(psk_library_get_status(lib, &st, err_));
    CHECK(st.photos == 0 && st.schema_version == STORE_SCHEMA_VERSION && st.model_id[0] == 0);
    psk_result *res;
    int n;
    psk_search_params sp = psk_search_default_params();
    sp.query = "cat";
    CHECK(psk_library_search(lib, &sp, &res, &n, &err) == PSK_ERR_NOT_FOUND);
    CHECKF(strstr(err.message, "empty"), "%s", err.message);
    psk_library_close(lib);
}

TEST(old_schema_is_migrated) {
    /* A library written by the first schema (no duration column) opens for writing and gains it. */
    if (system("command -v sqlite3 >/dev/null") != 0) SKIP("the sqlite3 command-line tool is missing");
    char path[600], cmd[2400];
    snprintf(path, sizeof path, "%s/v1.db", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' \"CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT); CREATE TABLE models(id INTEGER PRIMARY KEY,"
             " name TEXT UNIQUE NOT NULL, dim INTEGER NOT NULL, dir TEXT, created_at INTEGER); CREATE TABLE media(id INTEGER"
             " PRIMARY KEY, path TEXT UNIQUE NOT NULL, folder TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, hash TEXT, type"
             " INTEGER NOT NULL DEFAULT 1, width INTEGER, height INTEGER, taken_at INTEGER, offset_min INTEGER, taken_src TEXT,"
             " taken_local TEXT, year INTEGER, month INTEGER, day INTEGER, local_date INTEGER, make TEXT, model TEXT, lat REAL,"
             " lon REAL, indexed_at INTEGER, error TEXT); INSERT INTO media(path, folder) VALUES('/a.jpg', '/');"
             " PRAGMA user_version = 1;\"",
             path);
    CHECKF(system(cmd) == 0, "sqlite3 could not write the old schema");
    psk_library *lib;
    psk_error err = {0};
    CHECK(psk_library_open(path, PSK_OPEN_READ, &lib, &err) == PSK_ERR_UNSUPPORTED && strstr(err.message, "photoseek index"));
    CHECK_OK(psk_library_open(path, PSK_OPEN_WRITE, &lib, err_));
    psk_library_close(lib);
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'PRAGMA user_version; SELECT count(duration_ms) + count(place_cc) + count(*) FROM media' | tr '\\n' ' ' | grep -qx '%d 1 '", path, STORE_SCHEMA_VERSION);
    CHECK(system(cmd) == 0);
}

static double recall_at_10(psk_vindex *ix, const float *v, int n, int dim, const vindex_filter *flt, int queries) {
    float *scores = malloc(sizeof(float) * n);
    int hit = 0, total = 0;
    for (int qi = 0; qi < queries; qi++) {
        float q[512];
        for (int d = 0; d < dim; d++) q[d] = v[(qi * 7919 % n) * dim + d] + 0.3f * gauss();
        psk_normalize(q, dim);
        psk_kernels_ref()->scan_f32(v, n, dim, q, scores);
        int want[10];
        for (int j = 0; j < 10; j++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                if (flt && !((flt->bits[(i + 1) >> 6] >> ((i + 1) & 63)) & 1)) continue;
                bool taken = false;
                for (int t = 0; t < j; t++) taken |= want[t] == i;
                if (!taken && (best < 0 || scores[i] > scores[best])) best = i;
            }
            want[j] = best;
        }
        /* through vindex_search: the graph's candidates rescored exactly, as every search does */
        vindex_hit hits[10];
        int got = vindex_search(ix, NULL, q, flt, 10, -1, NULL, NULL, hits);
        for (int j = 0; j < got; j++)
            for (int t = 0; t < 10; t++) hit += hits[j].row == want[t];
        total += 10;
    }
    free(scores);
    return (double)hit / total;
}

/* The near-duplicate search (photoseek duplicates): each row's neighbours from its own node. Every 10th row is a
 * close copy (cosine ~0.98) of the row before it, the two side by side as a photo and its copy are indexed, and
 * the graph is built as `duplicates` builds it (light, two threads: neighbouring rows inserted at once). */
TEST(hnsw_neighbours_finds_near_copies) {
    int n = 8000, dim = 128;
    float *v = make_vectors(n, dim, 80);
    for (int i = 9; i < n; i += 10) {
        for (int d = 0; d < dim; d++) v[i * dim + d] = v[(i - 1) * dim + d] + 0.013f * gauss();
        psk_normalize(v + i * dim, dim);
    }
    psk_vindex ix;
    vindex_init(&ix, dim);
    for (int i = 0; i < n; i++) CHECK(vindex_add(&ix, i + 1, -1, v + i * dim, true) == PSK_OK);
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    psk_hnsw *g = hnsw_new(&ix, 24, 64);
    CHECK(g && hnsw_extend(g, &ix, pool) == PSK_OK);
    int pairs = 0, found = 0, self_first = 0;
    for (int i = 9; g && i < n; i += 10)
        for (int side = 0; side < 2; side++) {
            int64_t row = side ? i : i - 1, other = side ? i - 1 : i, rows[9];
            float sims[9];
            int got = hnsw_neighbours(g, row, 0.9f, 9, rows, sims);
            pairs++;
            self_first += got > 0 && rows[0] == row;
            for (int k = 0; k < got; k++) found += rows[k] == other;
            for (int k = 1; k < got; k++) CHECK(sims[k] <= sims[k - 1]);
        }
    CHECKF(found * 1000 >= pairs * 998, "%d of %d copies found", found, pairs);
    CHECKF(self_first == pairs, "the row itself first in %d of %d", self_first, pairs);
    CHECK(hnsw_neighbours(g, -1, 0.9f, 9, NULL, NULL) == 0 && hnsw_neighbours(g, n, 0.9f, 9, NULL, NULL) == 0);
    /* rows with nothing that close: themselves alone */
    int64_t r1[9];
    float s1[9];
    CHECK(hnsw_neighbours(g, 0, 0.9f, 9, r1, s1) == 1 && r1[0] == 0);
    hnsw_free(g);
    psk_pool_free(pool);
    vindex_free(&ix);
    free(v);
}

TEST(hnsw_recall_persistence_and_updates) {
    int n = 12000, dim = 128;
    float *v = make_vectors(n, dim, 40);
    psk_vindex ix;
    vindex_init(&ix, dim);
    for (int i = 0; i < n * 3 / 4; i++) CHECK(vindex_add(&ix, i + 1, -1, v + i * dim, true) == PSK_OK);
    /* one thread: the same graph every run (the parallel build is exercised by bench_ann) */
    psk_pool *pool;
    CHECK(psk_pool_new(1, &pool) == PSK_OK);
    ix.ann = hnsw_new(&ix, 16, 100);
    ix.ann_ef = 128;
    CHECK(ix.ann && hnsw_extend(ix.ann, &ix, pool) == PSK_OK);
    /* rows appended later are inserted into the same graph */
    for (int i = n * 3 / 4; i < n; i++) CHECK(vindex_add(&ix, i + 1, -1, v + i * dim, true) == PSK_OK);
    CHECK(hnsw_extend(ix.ann, &ix, pool) == PSK_OK && hnsw_size(ix.ann) == n);
    /* pruning leaves no node out of reach: the build links the weakly linked ones again */
    int64_t unreachable = -1, few = -1;
    CHECK(hnsw_layer0_stats(ix.ann, &unreachable, &few) == PSK_OK);
    CHECKF(unreachable == 0 && few * 1000 < n, "%lld unreachable, %lld with fewer than 3 links in", (long long)unreachable,
           (long long)few);
    double r = recall_at_10(&ix, v, n, dim, NULL, 40);
    CHECKF(r >= 0.95, "recall@10 %.3f", r);
    /* a filter that allows half of the media is honoured inside the graph */
    vindex_filter f;
    CHECK(vindex_filter_init(&f, n) == PSK_OK);
    for (int i = 1; i <= n; i += 2) vindex_filter_add(&f, i);
    double rf = recall_at_10(&ix, v, n, dim, &f, 40);
    CHECKF(rf >= 0.9, "filtered recall@10 %.3f", rf);
    /* saved and loaded: the same answers; a different set of rows is refused */
    char path[600];
    snprintf(path, sizeof path, "%s/graph.hnsw", test_tmpdir());
    vindex_file_key key = {3, 77, 0xabcULL};
    CHECK(hnsw_save(ix.ann, path, &key) == PSK_OK);
    psk_hnsw *loaded = hnsw_load(path, &ix);
    CHECK(loaded && hnsw_size(loaded) == n);
    float q[128];
    for (int d = 0; d < dim; d++) q[d] = v[5 * dim + d];
    int64_t r1[10], r2[10];
    float s1[10], s2[10];
    int g1 = hnsw_search(ix.ann, q, 64, NULL, 10, r1, s1), g2 = hnsw_search(loaded, q, 64, NULL, 10, r2, s2);
    CHECK(g1 == 10 && g2 == 10 && memcmp(r1, r2, sizeof r1) == 0);
    hnsw_free(loaded);
    /* mapped for searching (the header only read): the same answers; another key (the library changed since) or
     * fewer rows than the index holds are refused */
    psk_hnsw *mapped = hnsw_map(path, &ix, &key);
    CHECK(mapped && hnsw_size(mapped) == n);
    int g3 = mapped ? hnsw_search(mapped, q, 64, NULL, 10, r2, s2) : 0;
    CHECK(g3 == 10 && memcmp(r1, r2, sizeof r1) == 0);
    CHECK(mapped && hnsw_extend(mapped, &ix, pool) == PSK_ERR_UNSUPPORTED);
    hnsw_free(mapped);
    vindex_file_key stale = key;
    stale.changes++;
    CHECK(hnsw_map(path, &ix, &stale) == NULL);
    /* links that point outside the graph (a damaged file under an intact header) are never followed */
    char bad[640];
    snprintf(bad, sizeof bad, "%s/graph-bad.hnsw", test_tmpdir());
    FILE *in = fopen(path, "rb"), *out = fopen(bad, "wb");
    CHECK(in && out);
    char buf[4096];
    size_t got;
    while (in && out && (got = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, got, out);
    if (in) fclose(in);
    /* every layer-0 link slot (after the header and the per-node sections) set past the end */
#define UP64(x) (((x) + 63) / 64 * 64)
    int64_t frame_at = UP64(128 + 8 * (int64_t)n), level_at = UP64(frame_at + 4 * (int64_t)n),
            upper_at = UP64(level_at + n), links0_at = UP64(upper_at + 4 * (int64_t)n);
#undef UP64
    int32_t far = 1 << 29;
    for (int64_t j = 0; out && j < (int64_t)n * 32; j++) {
        fseek(out, (long)(links0_at + 4 * j), SEEK_SET);
        fwrite(&far, 4, 1, out);
    }
    if (out) fclose(out);
    psk_hnsw *damaged = hnsw_map(bad, &ix, &key);
    CHECK(damaged != NULL);
    if (damaged) hnsw_search(damaged, q, 64, NULL, 10, r2, s2); /* poor answers, no read outside the mapping */
    hnsw_free(damaged);
    CHECK(hnsw_load(bad, &ix) == NULL); /* the writer's path checks every link */
    ix.media[3] = 999999; /* rows no longer match the file */
    CHECK(hnsw_load(path, &ix) == NULL);
    ix.media[3] = 4;
    /* through vindex_search: the exact rescoring keeps its contract */
    vindex_hit hits[10];
    ix.ann_ef = 64;
    CHECK(vindex_search(&ix, pool, q, NULL, 10, -1, NULL, NULL, hits) == 10 && hits[0].row == 5);
    /* the breadth that adapts: from a beam of 10 it goes on while the top 10 still changes, finding much more than
     * the beam of 10 with less work than a beam of 256 (the same 40 queries each time) */
    ix.ann_ef = 10;
    ix.ann_ef_max = -1;
    seed = 99;
    double r10 = recall_at_10(&ix, v, n, dim, NULL, 40);
    ix.ann_ef = 256;
    int64_t sims0 = hnsw_sims_total, rescored0 = vindex_rescored_total;
    seed = 99;
    double r256 = recall_at_10(&ix, v, n, dim, NULL, 40);
    int64_t sims256 = hnsw_sims_total - sims0, rescored256 = vindex_rescored_total - rescored0;
    ix.ann_ef = 10;
    ix.ann_ef_max = 256;
    sims0 = hnsw_sims_total;
    seed = 99;
    double radapt = recall_at_10(&ix, v, n, dim, NULL, 40);
    int64_t sims_adapt = hnsw_sims_total - sims0;
    CHECKF(radapt >= r10 + 0.2 && sims_adapt < sims256,
           "recall@10: fixed ef 10 %.3f, 256 %.3f, adapting 10..256 %.3f; similarities %lld adapting, %lld at 256", r10,
           r256, radapt, (long long)sims_adapt, (long long)sims256);
    /* the exact rescoring of a beam of 256 stops once the rest cannot reach the top 10 */
    CHECKF(rescored256 < 40 * 40, "%lld rows rescored for 40 queries", (long long)rescored256);
    vindex_filter_free(&f);
    psk_pool_free(pool);
    vindex_free(&ix);
    free(v);
}
