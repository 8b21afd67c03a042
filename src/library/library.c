/* Opening a library on its store, what the store can do, its status and error list, and the image model it
 * keeps loaded. */
#include "library_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    int rc = backend_open(db_path, mode == PSK_OPEN_WRITE, &lib->store, err);
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
    for (int i = 0; i < 64; i++) {
        psk_free(lib->qcache[i].key);
        psk_free(lib->qcache[i].vec);
    }
    backend_close(&lib->store);
    psk_free(lib);
}

unsigned psk_library_capabilities(const psk_library *lib) { return lib->store.ops->caps; }

const char *psk_library_store_kind(const psk_library *lib) { return lib->store.ops->kind; }

store_backend *library_backend(psk_library *lib) { return &lib->store; }

static psk_store *local_store(psk_library *lib) {
    if (lib->store.ops->local_store && backend_can(&lib->store, PSK_STORE_CAP_LOCAL_INDEX))
        return lib->store.ops->local_store(lib->store.self);
    return NULL;
}

psk_store *library_local_store(psk_library *lib, const char *what, psk_error *err) {
    psk_store *s = local_store(lib);
    if (!s) backend_unsupported(&lib->store, what, err);
    return s;
}

psk_store *library_import_store(psk_library *lib, psk_error *err) {
    if (backend_can(&lib->store, PSK_STORE_CAP_IMPORT)) return library_local_store(lib, "importing", err);
    backend_unsupported(&lib->store, "importing", err);
    return NULL;
}

int library_current_model(psk_library *lib, store_model *m, psk_error *err) {
    return backend_current_model(&lib->store, m, err);
}

psk_model *library_image(psk_library *lib) { return lib->image_model; }

psk_context *library_image_ctx(psk_library *lib) { return lib->image_ctx; }

int library_load_model(psk_model **model, psk_context **ctx, const char *dir, const psk_model_params *mp,
                       int n_threads, psk_error *err) {
    psk_context_free(*ctx);
    psk_model_free(*model);
    *ctx = NULL;
    *model = NULL;
    int rc = psk_model_load(dir, mp, model, err);
    if (!rc && mp->load_vision && !psk_model_has_vision(*model)) {
        rc = psk_fail(err, PSK_ERR_INVALID_ARG, "%s: not an image model (a CLIP folder is needed to index photos)", dir);
        psk_model_free(*model);
        *model = NULL;
    }
    if (rc) return rc;
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = n_threads;
    return psk_context_new(*model, &cp, ctx, err);
}

int library_image_model(psk_library *lib, const char *dir, int n_threads, psk_precision precision, psk_error *err) {
    if (lib->image_model && strcmp(lib->image_model_dir, dir) == 0 && lib->image_precision == precision) return PSK_OK;
    psk_model_params mp = psk_model_default_params();
    mp.load_text = 0;
    mp.precision = precision;
    lib->image_precision = precision;
    int rc = library_load_model(&lib->image_model, &lib->image_ctx, dir, &mp, n_threads, err);
    if (!rc) snprintf(lib->image_model_dir, sizeof lib->image_model_dir, "%s", dir);
    return rc;
}

psk_status psk_library_get_status(psk_library *lib, psk_library_status *st, psk_error *err) {
    int rc = backend_status(&lib->store, st, err);
    st->reindex_model_id[0] = 0;
    st->reindex_done = 0;
    /* a change of image model in progress (src/ingest/reembed.c): its model and how many items have its vector */
    char v[32], sql[200];
    psk_store *s = local_store(lib);
    if (rc || !s || store_meta_get(s, "reindex_model", v, sizeof v) != PSK_OK) return rc;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(s->db, "SELECT name FROM models WHERE id = ?", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(q, 1, atoll(v));
        if (sqlite3_step(q) == SQLITE_ROW)
            snprintf(st->reindex_model_id, sizeof st->reindex_model_id, "%s", (const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT media_id) FROM embeddings WHERE model_id = %lld", atoll(v));
    st->reindex_done = store_count(s, sql);
    return rc;
}

psk_status psk_library_errors(psk_library *lib, psk_error_row_fn fn, void *user, psk_error *err) {
    return backend_errors(&lib->store, fn, user, err);
}
