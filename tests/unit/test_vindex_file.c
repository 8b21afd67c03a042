/* The search index file beside a library (src/index/vindex_file.c): the same rows come back mapped, and a file
 * that is stale, truncated, of another version or format, or of another library or model is refused (and, through
 * the SQLite backend, rebuilt), never trusted. */
#include "test.h"

#include "../../src/index/index.h"
#include "../../src/library/library.h"
#include "../../src/store/sqlite_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static void unit_vector(uint64_t seed, int dim, float *v) {
    double norm = 0;
    for (int d = 0; d < dim; d++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        v[d] = (float)((double)(seed >> 40) / (double)(1ULL << 24) - 0.5);
        norm += (double)v[d] * v[d];
    }
    for (int d = 0; d < dim; d++) v[d] = (float)(v[d] / sqrt(norm));
}

static bool same_rows(const psk_vindex *a, const psk_vindex *b) {
    return a->n == b->n && a->dim == b->dim && memcmp(a->media, b->media, 8 * (size_t)a->n) == 0 &&
           memcmp(a->frame, b->frame, 4 * (size_t)a->n) == 0 && memcmp(a->scale, b->scale, 4 * (size_t)a->n) == 0 &&
           memcmp(a->q, b->q, (size_t)a->n * (size_t)a->dim) == 0;
}

/* Rewrites bytes [at, at + n) of a file. */
static void patch_file(const char *path, long at, const void *data, size_t n) {
    FILE *f = fopen(path, "r+b");
    if (!f) return;
    fseek(f, at, SEEK_SET);
    fwrite(data, 1, n, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to) {
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[4096];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    if (a) fclose(a);
    if (b) fclose(b);
}

static long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

TEST(vindex_file_round_trip_and_refusals) {
    int dim = 48, n = 700;
    psk_vindex ix;
    vindex_init(&ix, dim);
    float v[48];
    for (int i = 0; i < n; i++) {
        unit_vector((uint64_t)i + 1, dim, v);
        CHECK(vindex_add(&ix, 10 + i / 2, i % 2 ? 500 * i : -1, v, true) == PSK_OK);
    }
    char path[600];
    snprintf(path, sizeof path, "%s/rows.vindex", test_tmpdir());
    vindex_file_key key = {7, 1234, 0xfeedULL};
    psk_error err = {0};
    CHECK_OK(vindex_file_save(&ix, path, &key, err_));
    psk_vindex got;
    vindex_init(&got, dim);
    CHECK_OK(vindex_file_load(&got, path, &key, err_));
    CHECK(got.map.data != NULL && same_rows(&ix, &got));
    /* the mapped rows answer as the owned ones do */
    psk_pool *pool;
    CHECK(psk_pool_new(1, &pool) == PSK_OK);
    unit_vector(99, dim, v);
    vindex_hit h1[5], h2[5];
    int n1 = vindex_search(&ix, pool, v, NULL, 5, -1, NULL, NULL, h1);
    int n2 = vindex_search(&got, pool, v, NULL, 5, -1, NULL, NULL, h2);
    CHECK(n1 == 5 && n2 == 5);
    for (int i = 0; i < 5; i++) CHECK(h1[i].row == h2[i].row);
    /* borrowed rows are copied before the index grows */
    CHECK(vindex_add(&got, 100000, -1, v, false) == PSK_OK);
    CHECK(got.map.data == NULL && got.n == n + 1 && got.media[n - 1] == ix.media[n - 1]);
    vindex_free(&got);
    psk_pool_free(pool);

    /* each mismatch of the key is refused and leaves the index empty */
    vindex_file_key stale = key, other_lib = key, other_model = key;
    stale.changes++;
    other_lib.library++;
    other_model.model_id++;
    const vindex_file_key *bad[3] = {&stale, &other_lib, &other_model};
    const char *why[3] = {"changed", "another library", "another model"};
    for (int i = 0; i < 3; i++) {
        vindex_init(&got, dim);
        CHECKF(vindex_file_load(&got, path, bad[i], &err) == PSK_ERR_FORMAT && strstr(err.message, why[i]),
               "case %d: %s", i, err.message);
        CHECK(got.n == 0 && got.map.data == NULL && got.media == NULL);
    }
    vindex_init(&got, dim + 1);
    CHECK(vindex_file_load(&got, path, &key, &err) == PSK_ERR_FORMAT && strstr(err.message, "dimension"));

    /* a file of another version (its header otherwise consistent) */
    char path2[600];
    snprintf(path2, sizeof path2, "%s/rows2.vindex", test_tmpdir());
    copy_file(path, path2);
    unsigned char hdr[64];
    FILE *f = fopen(path2, "rb");
    CHECK(f && fread(hdr, 1, 64, f) == 64);
    fclose(f);
    uint32_t version = 2;
    memcpy(hdr + 8, &version, 4);
    uint64_t check = psk_fnv1a64(hdr, 56);
    memcpy(hdr + 56, &check, 8);
    patch_file(path2, 0, hdr, 64);
    vindex_init(&got, dim);
    CHECK(vindex_file_load(&got, path2, &key, &err) == PSK_ERR_FORMAT && strstr(err.message, "another version"));
    /* a changed byte in the header without its checksum, and a wrong magic */
    copy_file(path, path2);
    patch_file(path2, 16, "\x01", 1);
    CHECK(vindex_file_load(&got, path2, &key, &err) == PSK_ERR_FORMAT && strstr(err.message, "damaged"));
    copy_file(path, path2);
    patch_file(path2, 0, "SQLite f", 8);
    CHECK(vindex_file_load(&got, path2, &key, &err) == PSK_ERR_FORMAT && strstr(err.message, "not a photoseek"));
    /* truncated: by one byte, and to less than a header */
    copy_file(path, path2);
    CHECK(truncate(path2, file_size(path) - 1) == 0);
    CHECK(vindex_file_load(&got, path2, &key, &err) == PSK_ERR_FORMAT && strstr(err.message, "truncated"));
    CHECK(truncate(path2, 20) == 0);
    CHECK(vindex_file_load(&got, path2, &key, &err) == PSK_ERR_FORMAT && strstr(err.message, "truncated"));
    CHECK(got.n == 0 && got.map.data == NULL);
    /* rows are not read when the file is opened (a cold search maps it, no pass over the rows): a row changed
     * behind an intact header is taken as the key vouches for it */
    copy_file(path, path2);
    int64_t big = 1 << 30;
    patch_file(path2, 64 + 8 * 3, &big, 8);
    CHECK_OK(vindex_file_load(&got, path2, &key, err_));
    CHECK(got.n == ix.n && got.media[3] == big);
    vindex_free(&got);
    vindex_init(&got, dim);
    snprintf(path2, sizeof path2, "%s/none.vindex", test_tmpdir());
    CHECK(vindex_file_load(&got, path2, &key, &err) == PSK_ERR_NOT_FOUND);
    vindex_free(&ix);
}

/* One library with `n` photos of dimension 8 under model "m" (unit vectors from seeds base + i). */
static int64_t add_photos(psk_library *lib, int base, int n) {
    store_backend *b = library_backend(lib);
    store_model m;
    psk_error err = {0};
    if (b->ops->model_ensure(b->self, "m", 8, "/models/m", &m, &err)) return -1;
    psk_store *s = library_local_store(lib, "indexing", &err);
    for (int i = 0; i < n; i++) {
        store_media row = {0};
        snprintf(row.path, sizeof row.path, "/photos/%d.jpg", base + i);
        row.type = 1;
        float v[8];
        unit_vector((uint64_t)(base + i), 8, v);
        if (store_media_put(s, &row, &err) || store_put_embedding(s, row.id, m.id, -1, v, 8, &err)) return -1;
    }
    return m.id;
}

/* The best hit's path for the vector of seed `seed`; whether the rows came from a mapped file in *mapped. */
static int best_for(const char *db, int seed, char *path, size_t cap, bool *mapped) {
    psk_library *lib = NULL;
    psk_error err = {0};
    if (psk_library_open(db, PSK_OPEN_READ, &lib, &err)) return -1;
    store_backend *b = library_backend(lib);
    store_model m;
    float v[8];
    unit_vector((uint64_t)seed, 8, v);
    psk_search_params p = psk_search_default_params();
    psk_result *res = NULL;
    int n = 0;
    int rc = backend_current_model(b, &m, &err) || backend_search(b, &m, v, &p, &res, &n, &err);
    if (!rc && n > 0) snprintf(path, cap, "%s", res[0].path);
    *mapped = ((sqlite_backend *)b->self)->vindex.map.data != NULL;
    psk_results_free(res);
    psk_library_close(lib);
    return rc || n == 0 ? -1 : 0;
}

TEST(vindex_file_beside_a_library_is_rebuilt_when_stale) {
    char db[600], db2[600], file[700], file2[700], best[1100];
    snprintf(db, sizeof db, "%s/lib.db", test_tmpdir());
    snprintf(db2, sizeof db2, "%s/lib2.db", test_tmpdir());
    psk_library *lib = NULL;
    psk_error err = {0};
    CHECK_OK(psk_library_open(db, PSK_OPEN_WRITE, &lib, err_));
    int64_t model = add_photos(lib, 1, 40);
    psk_library_close(lib);
    CHECK(model > 0);
    snprintf(file, sizeof file, "%s.model%lld.vindex", db, (long long)model);
    bool mapped = true;
    /* the first search reads the library and writes the file, the next one maps it */
    CHECK(best_for(db, 5, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/5.jpg") == 0 && !mapped);
    CHECK(file_size(file) > 64);
    CHECK(best_for(db, 5, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/5.jpg") == 0 && mapped);
    /* a photo added: the counter moved, the file is stale, the new photo is found and the file rebuilt */
    CHECK_OK(psk_library_open(db, PSK_OPEN_WRITE, &lib, err_));
    CHECK(add_photos(lib, 100, 1) == model);
    psk_library_close(lib);
    CHECK(best_for(db, 100, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/100.jpg") == 0 && !mapped);
    CHECK(best_for(db, 100, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/100.jpg") == 0 && mapped);
    /* a truncated file is rebuilt */
    CHECK(truncate(file, file_size(file) - 8) == 0);
    CHECK(best_for(db, 7, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/7.jpg") == 0 && !mapped);
    CHECK(best_for(db, 7, best, sizeof best, &mapped) == 0 && mapped);
    /* the file of another library with the same model id and counter is not taken for this one's */
    CHECK_OK(psk_library_open(db2, PSK_OPEN_WRITE, &lib, err_));
    CHECK(add_photos(lib, 1000, 41) == model);
    psk_library_close(lib);
    snprintf(file2, sizeof file2, "%s.model%lld.vindex", db2, (long long)model);
    CHECK(best_for(db2, 1005, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/1005.jpg") == 0);
    copy_file(file2, file);
    CHECK(best_for(db, 5, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/5.jpg") == 0 && !mapped);
    /* a photo deleted (its embeddings go with it): not found any more */
    CHECK_OK(psk_library_open(db, PSK_OPEN_WRITE, &lib, err_));
    CHECK(store_exec(library_local_store(lib, "indexing", &err), "DELETE FROM media WHERE path = '/photos/5.jpg'",
                     &err) == PSK_OK);
    psk_library_close(lib);
    CHECK(best_for(db, 5, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/5.jpg") != 0 && !mapped);
    CHECK(best_for(db, 6, best, sizeof best, &mapped) == 0 && mapped);
    /* a counter without its triggers counts nothing: no file is used (until a writable open makes them again) */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s' 'DROP TRIGGER vector_changes_upd'", db);
    if (system(cmd) != 0) SKIP("no sqlite3 command");
    CHECK(best_for(db, 6, best, sizeof best, &mapped) == 0 && strcmp(best, "/photos/6.jpg") == 0 && !mapped);
    CHECK(best_for(db, 6, best, sizeof best, &mapped) == 0 && !mapped);
}
