/* psk_library_reindex: an explicit change of a library's image model (`photoseek index --reindex-with DIR`).
 *
 * Every item (a photo or a video without an error) is embedded again with the new model, a batch per
 * transaction, and its new vectors are stored BESIDE the old ones under the new model's row. The library keeps
 * its old model (meta image_model) the whole time, so an interrupted run leaves it searchable with the old model
 * and every item, exactly as before; meta reindex_model names the change in progress (status shows it), and the
 * next run embeds only the items that have no vector of the new model yet. When every item has one, one
 * transaction drops the old vectors and records the new model: searches then use it. A file that cannot be read
 * any more is recorded as failed (status --errors) and leaves the search, as in an index run. */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct todo_row {
    int64_t id;
    char *path;
    int type; /* 1 photo, 2 video */
} todo_row;

typedef struct reembed {
    psk_store *store;
    psk_model *model;
    psk_context *ctx;
    const psk_index_params *p;
    int64_t model_id;
    int dim, pixels_floats;
    float *batch, *emb;
    psk_reindex_stats *stats;
} reembed;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int64_t count_missing(psk_store *s, int64_t model_id) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM media m WHERE m.error IS NULL AND NOT EXISTS (SELECT 1 FROM embeddings e "
             "WHERE e.media_id = m.id AND e.model_id = %lld)", (long long)model_id);
    return store_count(s, sql);
}

/* The items without a vector of the new model, in id order. */
static int load_todo(psk_store *s, int64_t model_id, todo_row **out, size_t *n, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT m.id, m.path, m.type FROM media m WHERE m.error IS NULL AND NOT EXISTS "
                              "(SELECT 1 FROM embeddings e WHERE e.media_id = m.id AND e.model_id = ?) ORDER BY m.id",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, model_id);
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            todo_row *t = psk_realloc(*out, sizeof *t * cap);
            if (!t) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            *out = t;
        }
        todo_row *t = &(*out)[*n];
        t->id = sqlite3_column_int64(st, 0);
        t->type = sqlite3_column_int(st, 2);
        if (!(t->path = psk_strdup((const char *)sqlite3_column_text(st, 1)))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        else (*n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

/* A file that cannot be read now: recorded as failed, its old vectors gone (as an index run does). */
static int mark_failed(reembed *r, int64_t id, const char *why, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store, "UPDATE media SET error = ? WHERE id = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, why, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(r->store, err, "recording a failed file");
    sqlite3_finalize(st);
    if (!rc) rc = store_delete_embeddings(r->store, id, err);
    r->stats->failed++;
    return rc;
}

/* Embeds photos rows[0, n) and writes their new vectors (or their failures) in one transaction. */
static int photo_batch(reembed *r, const todo_row *rows, size_t n, psk_error *err) {
    psk_image_params ip = psk_image_default_params();
    if (r->p->fast_decode) ip.min_short_side = psk_model_image_size(r->model);
    char (*why)[sizeof(((psk_error *)0)->message)] = psk_calloc(n, sizeof *why);
    if (!why) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int k = 0, rc = PSK_OK;
    for (size_t i = 0; i < n; i++) {
        psk_image *img = NULL;
        psk_error ierr = {0};
        int irc = psk_image_load(rows[i].path, &ip, &img, &ierr);
        if (!irc) irc = psk_model_preprocess(r->model, img, r->batch + (size_t)k * r->pixels_floats, &ierr);
        psk_image_free(img);
        if (irc) snprintf(why[i], sizeof why[i], "%s", ierr.message[0] ? ierr.message : "cannot be read");
        else k++;
    }
    bool cancelled = r->p->cancel && *r->p->cancel, failed = (size_t)k < n;
    if (cancelled && failed) { /* a read cut short by the Ctrl-C (EINTR) is no reason to call a file broken */
        psk_free(why);
        return PSK_OK;
    }
    if (k) rc = psk_encode_pixels(r->ctx, r->batch, k, r->emb, err);
    if (!rc) rc = store_exec(r->store, "BEGIN IMMEDIATE", err);
    if (rc) {
        psk_free(why);
        return rc;
    }
    for (size_t i = 0, e = 0; i < n && !rc; i++) {
        if (why[i][0]) {
            rc = mark_failed(r, rows[i].id, why[i], err);
            continue;
        }
        float *v = r->emb + e++ * (size_t)r->dim;
        psk_normalize(v, r->dim);
        if (!(rc = store_put_embedding(r->store, rows[i].id, r->model_id, -1, v, r->dim, err))) r->stats->embedded++;
    }
    psk_free(why);
    if (rc) {
        store_exec(r->store, "ROLLBACK", NULL);
        return rc;
    }
    return store_exec(r->store, "COMMIT", err);
}

/* One video: its sampled frames embedded a batch at a time, all of its new vectors in one transaction. */
static int video_item(reembed *r, const todo_row *row, psk_error *err) {
    psk_video_sampler *v = NULL;
    psk_error verr = {0};
    float *vecs = NULL;
    int64_t *times = NULL, batch_t[1024];
    int n = 0, in_batch = 0, cap = r->p->batch_size;
    int rc = psk_video_sampler_open(row->path, NULL, &v, &verr);
    while (!rc) {
        psk_image *frame = NULL;
        int64_t t = 0;
        rc = psk_video_sampler_next(v, &frame, &t, &verr);
        if (!rc) {
            rc = psk_model_preprocess(r->model, frame, r->batch + (size_t)in_batch * r->pixels_floats, &verr);
            psk_image_free(frame);
            if (!rc) batch_t[in_batch++] = t;
        }
        bool end = rc == PSK_ERR_NOT_FOUND;
        if ((in_batch == cap || end) && in_batch && (!rc || end)) {
            int erc = psk_encode_pixels(r->ctx, r->batch, in_batch, r->emb, err);
            float *nv = erc ? NULL : psk_realloc(vecs, sizeof(float) * (size_t)(n + in_batch) * r->dim);
            int64_t *nt = nv ? psk_realloc(times, sizeof(int64_t) * (size_t)(n + in_batch)) : NULL;
            if (nv) vecs = nv;
            if (nt) times = nt;
            if (erc || !nt) {
                psk_video_sampler_close(v);
                psk_free(vecs);
                psk_free(times);
                return erc ? erc : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            }
            memcpy(vecs + (size_t)n * r->dim, r->emb, sizeof(float) * (size_t)in_batch * r->dim);
            memcpy(times + n, batch_t, sizeof(int64_t) * (size_t)in_batch);
            n += in_batch;
            in_batch = 0;
        }
        if (end) rc = PSK_OK;
        if (end) break;
    }
    psk_video_sampler_close(v);
    if (rc && r->p->cancel && *r->p->cancel) { /* cut short by the Ctrl-C: the next run does this video */
        psk_free(vecs);
        psk_free(times);
        return PSK_OK;
    }
    int wrc = store_exec(r->store, "BEGIN IMMEDIATE", err);
    if (!wrc && (rc || n == 0)) wrc = mark_failed(r, row->id, rc ? verr.message : "no frames could be read", err);
    for (int i = 0; !wrc && !rc && i < n; i++) {
        psk_normalize(vecs + (size_t)i * r->dim, r->dim);
        wrc = store_put_embedding(r->store, row->id, r->model_id, times[i], vecs + (size_t)i * r->dim, r->dim, err);
    }
    if (!wrc && !rc && n) r->stats->embedded++;
    if (wrc) store_exec(r->store, "ROLLBACK", NULL);
    else wrc = store_exec(r->store, "COMMIT", err);
    psk_free(vecs);
    psk_free(times);
    return wrc;
}

/* Every item has its new vector: the old ones go and the new model is the library's, in one transaction; the
 * old model's index files beside the library are removed and the new model's graph is built (large libraries). */
static int switch_model(psk_library *lib, reembed *r, int64_t old_id, psk_error *err) {
    char sql[160], v[32];
    int rc = store_exec(r->store, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    if (count_missing(r->store, r->model_id) != 0) {
        store_exec(r->store, "ROLLBACK", NULL);
        return psk_fail(err, PSK_ERR_IO, "items were added while re-embedding; run again to finish");
    }
    snprintf(sql, sizeof sql, "DELETE FROM embeddings WHERE model_id <> %lld", (long long)r->model_id);
    snprintf(v, sizeof v, "%lld", (long long)r->model_id);
    if (!(rc = store_exec(r->store, sql, err)) && !(rc = store_meta_set(r->store, "image_model", v, err)) &&
        !(rc = store_exec(r->store, "DELETE FROM meta WHERE key = 'reindex_model'", err)))
        rc = store_exec(r->store, "COMMIT", err);
    if (rc) {
        store_exec(r->store, "ROLLBACK", NULL);
        return rc;
    }
    r->stats->switched = 1;
    const char *suffix[] = {"hnsw", "vindex"};
    for (int i = 0; i < 2; i++) { /* the old model's index files (src/store/sqlite_search.c names them) */
        char path[1200];
        snprintf(path, sizeof path, "%s.model%lld.%s", r->store->path, (long long)old_id, suffix[i]);
        unlink(path);
    }
    store_backend *b = library_backend(lib);
    store_model m = {.id = r->model_id, .dim = r->dim};
    return b->ops->refresh_index ? b->ops->refresh_index(b->self, &m, false, err) : PSK_OK;
}

psk_status psk_library_reindex(psk_library *lib, const psk_index_params *params, psk_reindex_stats *stats,
                               psk_error *err) {
    psk_index_params p = params ? *params : psk_index_default_params();
    memset(stats, 0, sizeof *stats);
    double t0 = now_s();
    reembed r = {.p = &p, .stats = stats};
    if (!(r.store = library_local_store(lib, "re-embedding", err))) return PSK_ERR_UNSUPPORTED;
    if (!r.store->writable) return psk_fail(err, PSK_ERR_INVALID_ARG, "the library was opened read-only");
    if (!p.image_model_dir) return psk_fail(err, PSK_ERR_INVALID_ARG, "no image model given");
    if (p.batch_size <= 0) p.batch_size = 32;
    int64_t old_id;
    int old_dim;
    char old_dir[1024];
    if (store_current_model(r.store, &old_id, stats->from_model, sizeof stats->from_model, &old_dim, old_dir,
                            sizeof old_dir))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s has no image model yet: index it (without --reindex-with) first",
                        r.store->path);
    int rc = library_image_model(lib, p.image_model_dir, p.n_threads, p.precision, err);
    if (rc) return rc;
    r.model = library_image(lib);
    r.ctx = library_image_ctx(lib);
    r.dim = psk_model_n_embd(r.model);
    r.pixels_floats = 3 * psk_model_image_size(r.model) * psk_model_image_size(r.model);
    snprintf(stats->to_model, sizeof stats->to_model, "%s", psk_model_id(r.model));
    if (strcmp(stats->to_model, stats->from_model) == 0) return PSK_OK; /* already the library's model */
    char model_abs[4096], pending[32], v[32];
    if (!realpath(p.image_model_dir, model_abs)) snprintf(model_abs, sizeof model_abs, "%s", p.image_model_dir);
    if ((rc = store_model_row(r.store, stats->to_model, r.dim, model_abs, &r.model_id, err))) return rc;
    /* a change to a third model started earlier and not finished: its vectors are dropped */
    if (store_meta_get(r.store, "reindex_model", pending, sizeof pending) == PSK_OK && atoll(pending) != r.model_id) {
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM embeddings WHERE model_id = %lld", atoll(pending));
        if ((rc = store_exec(r.store, sql, err))) return rc;
    }
    snprintf(v, sizeof v, "%lld", (long long)r.model_id);
    if ((rc = store_meta_set(r.store, "reindex_model", v, err))) return rc;
    todo_row *todo = NULL;
    size_t n_todo = 0;
    if ((rc = load_todo(r.store, r.model_id, &todo, &n_todo, err))) return rc;
    stats->total = store_count(r.store, "SELECT count(*) FROM media WHERE error IS NULL");
    stats->done_before = stats->total - (int64_t)n_todo;
    r.batch = psk_malloc_aligned(sizeof(float) * (size_t)r.pixels_floats * (size_t)p.batch_size);
    r.emb = psk_malloc(sizeof(float) * (size_t)r.dim * (size_t)p.batch_size);
    if (!r.batch || !r.emb) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    psk_index_progress prog = {.total = (int64_t)n_todo};
    if (!rc && p.progress) p.progress(p.progress_user, &prog); /* done 0: what is to do */
    for (size_t i = 0; !rc && i < n_todo;) {
        if (p.cancel && *p.cancel) {
            stats->cancelled = 1;
            break;
        }
        size_t j = i;
        if (todo[i].type == 2) {
            rc = video_item(&r, &todo[i], err);
            j = i + 1;
        } else {
            while (j < n_todo && j - i < (size_t)p.batch_size && todo[j].type != 2) j++;
            rc = photo_batch(&r, todo + i, j - i, err);
        }
        prog.done = (int64_t)j;
        prog.current = todo[j - 1].path;
        if (!rc && p.progress) p.progress(p.progress_user, &prog);
        i = j;
    }
    if (!rc && !stats->cancelled && p.cancel && *p.cancel) stats->cancelled = 1;
    if (!rc && !stats->cancelled) rc = switch_model(lib, &r, old_id, err);
    for (size_t i = 0; i < n_todo; i++) psk_free(todo[i].path);
    psk_free(todo);
    psk_free_aligned(r.batch);
    psk_free(r.emb);
    stats->seconds = now_s() - t0;
    if (!rc && stats->cancelled) return psk_fail(err, PSK_ERR_INTERRUPTED, "interrupted; run again to finish");
    return rc;
}
