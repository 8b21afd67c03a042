/* Opening a library, its status and error list, and the models it keeps loaded. */
#include "library.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void data_home(char *buf, size_t cap, const char *leaf) {
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, cap, "%s/photoseek/%s", xdg, leaf);
    else snprintf(buf, cap, "%s/.local/share/photoseek/%s", home ? home : ".", leaf);
}

void psk_default_db_path(char *buf, size_t cap) {
    const char *env = getenv("PHOTOSEEK_DB");
    if (env && *env) snprintf(buf, cap, "%s", env);
    else data_home(buf, cap, "library.db");
}

void psk_default_models_dir(char *buf, size_t cap) {
    const char *env = getenv("PHOTOSEEK_MODELS");
    if (env && *env) snprintf(buf, cap, "%s", env);
    else data_home(buf, cap, "models");
}

psk_status psk_library_open(const char *db_path, psk_open_mode mode, psk_library **out, psk_error *err) {
    *out = NULL;
    psk_library *lib = psk_calloc(1, sizeof *lib);
    if (!lib) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int rc = pg_is_url(db_path)   ? pg_store_open(db_path, &lib->pg, err)
             : pc_is_url(db_path) ? pc_store_open(db_path, &lib->pc, err)
                                  : store_open(db_path, mode == PSK_OPEN_WRITE, &lib->store, err);
    if (rc) {
        psk_free(lib);
        return rc;
    }
    *out = lib;
    return PSK_OK;
}

void psk_library_close(psk_library *lib) {
    if (!lib) return;
    psk_context_free(lib->image_ctx);
    psk_model_free(lib->image_model);
    psk_context_free(lib->text_ctx);
    psk_model_free(lib->text_model);
    vindex_free(&lib->vindex);
    psk_pool_free(lib->pool);
    for (int i = 0; i < 64; i++) {
        psk_free(lib->qcache[i].key);
        psk_free(lib->qcache[i].vec);
    }
    store_close(lib->store);
    pg_store_close(lib->pg);
    pc_store_close(lib->pc);
    psk_free(lib);
}

int library_need_sqlite(psk_library *lib, const char *what, psk_error *err) {
    if (lib->store) return PSK_OK;
    return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: %s works on a SQLite library only so far (%s)",
                    lib->pg ? lib->pg->shown : lib->pc->shown, what,
                    lib->pg ? "a PostgreSQL library has search, similar, status, items and facets"
                            : "a Pinecone library has search, similar IMAGE and status");
}

int library_image_model(psk_library *lib, const char *dir, int n_threads, psk_precision precision, psk_error *err) {
    if (lib->image_model && strcmp(lib->image_model_dir, dir) == 0 && lib->image_precision == precision) return PSK_OK;
    psk_context_free(lib->image_ctx);
    psk_model_free(lib->image_model);
    lib->image_ctx = NULL;
    lib->image_model = NULL;
    psk_model_params mp = psk_model_default_params();
    mp.load_text = 0;
    mp.precision = precision;
    lib->image_precision = precision;
    int rc = psk_model_load(dir, &mp, &lib->image_model, err);
    if (!rc && !psk_model_has_vision(lib->image_model)) {
        rc = psk_fail(err, PSK_ERR_INVALID_ARG, "%s: not an image model (a CLIP folder is needed to index photos)", dir);
        psk_model_free(lib->image_model);
        lib->image_model = NULL;
    }
    if (rc) return rc;
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = n_threads;
    if ((rc = psk_context_new(lib->image_model, &cp, &lib->image_ctx, err))) return rc;
    snprintf(lib->image_model_dir, sizeof lib->image_model_dir, "%s", dir);
    return PSK_OK;
}

int library_text_model(psk_library *lib, const char *dir, int n_threads, psk_error *err) {
    if (lib->text_model && strcmp(lib->text_model_dir, dir) == 0) return PSK_OK;
    psk_context_free(lib->text_ctx);
    psk_model_free(lib->text_model);
    lib->text_ctx = NULL;
    lib->text_model = NULL;
    psk_model_params mp = psk_model_default_params();
    mp.load_vision = 0;
    int rc = psk_model_load(dir, &mp, &lib->text_model, err);
    if (rc) return rc;
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = n_threads;
    if ((rc = psk_context_new(lib->text_model, &cp, &lib->text_ctx, err))) return rc;
    snprintf(lib->text_model_dir, sizeof lib->text_model_dir, "%s", dir);
    return PSK_OK;
}

int64_t library_data_version(psk_library *lib) {
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(lib->store->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static void ann_path(psk_library *lib, int64_t model_id, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.model%lld.hnsw", lib->store->path, (long long)model_id);
}

int library_vindex(psk_library *lib, int64_t model_id, int dim, psk_error *err) {
    int64_t version = library_data_version(lib);
    if (lib->vindex_loaded && lib->vindex_model == model_id && lib->vindex_version == version) return PSK_OK;
    vindex_free(&lib->vindex);
    lib->vindex_loaded = false;
    vindex_init(&lib->vindex, dim);
    char count_sql[96];
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM embeddings WHERE model_id = %lld", (long long)model_id);
    if (vindex_reserve(&lib->vindex, store_count(lib->store, count_sql), false))
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory loading the vectors");
    sqlite3_stmt *st;
    int rc = store_prepare(lib->store,
                           "SELECT media_id, frame_ms, vec FROM embeddings WHERE model_id = ? ORDER BY media_id, frame_ms",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, model_id);
    float *v = psk_malloc(sizeof(float) * (size_t)dim);
    if (!v) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 2);
        int bytes = sqlite3_column_bytes(st, 2);
        if (!blob || bytes != (int)sizeof(float) * dim) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: an embedding of media %lld has %d bytes, expected %d",
                          lib->store->path, (long long)sqlite3_column_int64(st, 0), bytes, (int)sizeof(float) * dim);
            break;
        }
        memcpy(v, blob, (size_t)bytes);
        if (vindex_add(&lib->vindex, sqlite3_column_int64(st, 0), (int32_t)sqlite3_column_int64(st, 1), v, false))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory loading the vectors");
    }
    sqlite3_finalize(st);
    psk_free(v);
    if (rc) return rc;
    if (lib->vindex.n >= PSK_ANN_MIN_ROWS) {
        char path[1200];
        ann_path(lib, model_id, path, sizeof path);
        psk_hnsw *g = hnsw_load(path, &lib->vindex);
        /* only a graph of exactly these rows answers; otherwise the exact scan does until the next index run */
        if (g && hnsw_size(g) == lib->vindex.n) {
            lib->vindex.ann = g;
            lib->vindex.ann_ef = PSK_ANN_EF;
        } else {
            hnsw_free(g);
        }
    }
    lib->vindex_loaded = true;
    lib->vindex_model = model_id;
    lib->vindex_version = version;
    return PSK_OK;
}

int library_update_ann(psk_library *lib, int64_t model_id, int dim, bool force, psk_error *err) {
    lib->vindex_loaded = false; /* the index run wrote rows this connection's data_version does not show */
    int rc = library_vindex(lib, model_id, dim, err);
    if (rc) return rc;
    psk_vindex *ix = &lib->vindex;
    if (!force && ix->n < PSK_ANN_MIN_ROWS) return PSK_OK;
    if (ix->ann) return PSK_OK; /* already current */
    char path[1200];
    ann_path(lib, model_id, path, sizeof path);
    /* a graph of the rows that were there before extends; rows removed mean a new graph */
    psk_hnsw *g = hnsw_load(path, ix);
    if (!g && !(g = hnsw_new(ix, 16, 100))) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!lib->pool && psk_pool_new(0, &lib->pool)) {
        hnsw_free(g);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    if ((rc = hnsw_extend(g, ix, lib->pool))) {
        hnsw_free(g);
        return psk_fail(err, rc, "out of memory building the search graph");
    }
    if (hnsw_save(g, path)) {
        hnsw_free(g);
        return psk_fail(err, PSK_ERR_IO, "%s: cannot write the search graph", path);
    }
    ix->ann = g;
    ix->ann_ef = PSK_ANN_EF;
    return PSK_OK;
}


/* Status of a PostgreSQL library: counts, the model and the database's size (runs are the workers' own). */
static int pg_status(psk_library *lib, psk_library_status *st, psk_error *err) {
    int64_t model_id = 0;
    int dim = 0;
    int rc = pg_current_model(lib->pg, &model_id, st->model_id, sizeof st->model_id, &dim, st->model_dir,
                              sizeof st->model_dir, err);
    if (rc == PSK_ERR_NOT_FOUND) return PSK_OK; /* empty */
    if (rc) return rc;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT 'photos', count(*) FROM photoseek_media WHERE type = 1 UNION ALL "
             "SELECT 'videos', count(*) FROM photoseek_media WHERE type = 2 UNION ALL "
             "SELECT 'embeddings', count(*) FROM photoseek_vectors_%lld UNION ALL "
             "SELECT 'bytes', pg_database_size(current_database())",
             (long long)model_id);
    psk_facet *rows;
    int n;
    if ((rc = pg_pairs(lib->pg, sql, &rows, &n, err))) return rc;
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].value, "photos") == 0) st->photos = rows[i].count;
        else if (strcmp(rows[i].value, "videos") == 0) st->videos = rows[i].count;
        else if (strcmp(rows[i].value, "embeddings") == 0) st->embeddings = rows[i].count;
        else if (strcmp(rows[i].value, "bytes") == 0) st->db_bytes = rows[i].count;
    }
    psk_free(rows);
    return PSK_OK;
}

psk_status psk_library_get_status(psk_library *lib, psk_library_status *st, psk_error *err) {
    memset(st, 0, sizeof *st);
    if (lib->pg) return pg_status(lib, st, err);
    if (lib->pc) {
        int dim, rc = pc_model_get(lib->pc, st->model_id, sizeof st->model_id, &dim, st->model_dir,
                                   sizeof st->model_dir, err);
        st->embeddings = lib->pc->vectors;
        return rc == PSK_ERR_NOT_FOUND ? PSK_OK : rc;
    }
    psk_store *s = lib->store;
    st->photos = store_count(s, "SELECT count(*) FROM media WHERE type = 1 AND error IS NULL");
    st->videos = store_count(s, "SELECT count(*) FROM media WHERE type = 2 AND error IS NULL");
    st->failed = store_count(s, "SELECT count(*) FROM media WHERE error IS NOT NULL");
    st->embeddings = store_count(s, "SELECT count(*) FROM embeddings");
    st->schema_version = (int)store_count(s, "PRAGMA user_version");
    struct stat sb;
    if (stat(s->path, &sb) == 0) st->db_bytes = sb.st_size;
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", s->path);
    if (stat(wal, &sb) == 0) st->db_bytes += sb.st_size;
    int64_t id;
    int dim;
    store_current_model(s, &id, st->model_id, sizeof st->model_id, &dim, st->model_dir, sizeof st->model_dir);
    char v[64];
    if (store_meta_get(s, "last_run_at", v, sizeof v) == PSK_OK) st->last_run_at = atoll(v);
    store_meta_get(s, "last_run", st->last_run, sizeof st->last_run);
    store_meta_get(s, "roots", st->last_roots, sizeof st->last_roots);
    (void)err;
    return PSK_OK;
}

psk_status psk_library_errors(psk_library *lib, psk_error_row_fn fn, void *user, psk_error *err) {
    sqlite3_stmt *st;
    int rc = library_need_sqlite(lib, "listing failures", err);
    if (rc) return rc;
    rc = store_prepare(lib->store, "SELECT path, error FROM media WHERE error IS NOT NULL ORDER BY path", &st, err);
    if (rc) return rc;
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(user, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    return PSK_OK;
}
