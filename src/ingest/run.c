/* psk_library_index: the indexing pipeline.
 *
 *   walk -> classify against the store (unchanged files cost a stat) -> worker threads read, hash, decode and
 *   preprocess the rest (a file whose content matches a vanished row is a move and is not decoded) -> the
 *   calling thread embeds batches and commits each batch in one transaction -> rows whose files are gone are
 *   removed at the end.
 * Workers run at most a window ahead of the encoder, so memory stays bounded however large the tree is. */
#include "ingest.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum item_kind { ITEM_EMBED = 1, ITEM_FAILED, ITEM_MOVE, ITEM_VIDEO };

typedef struct item {
    const walk_file *f;
    int kind;
    bool ready;
    store_media meta;
    float *pixels;
    int64_t move_from; /* the row whose file moved here */
} item;

typedef struct old_row {
    int64_t id;
    char hash[65];
    bool seen, claimed, usable; /* usable: indexed fine with the current model, so it can move */
} old_row;

typedef struct pipeline {
    psk_library *lib;
    const psk_index_params *p;
    item *items;
    size_t n_items;
    /* hash -> index in rows, for rows that vanished (move candidates) */
    psk_strmap missing;
    int64_t legacy_missing; /* how many of those hold SHA-256 (written before psk_content_hash) */
    old_row *rows;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;     /* next item a worker takes */
    size_t consumed; /* items the encoder thread has taken */
    size_t window;
    bool stop;
    int pixels_floats;
} pipeline;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool claim_hash(pipeline *pl, item *it, const char *hash) {
    int32_t r;
    pthread_mutex_lock(&pl->mu);
    bool move = psk_strmap_get(&pl->missing, hash, strlen(hash), &r) && !pl->rows[r].claimed;
    if (move) pl->rows[r].claimed = true;
    pthread_mutex_unlock(&pl->mu);
    if (move) {
        it->kind = ITEM_MOVE;
        it->move_from = pl->rows[r].id;
    }
    return move;
}

/* Same content as a file that vanished: a move, which keeps the vectors. While some of the vanished rows hold a
 * SHA-256 (libraries indexed before psk_content_hash), new files are hashed that way too, so that their moves
 * are still found (the row then takes the new hash). data NULL: the file is read again. */
static bool claim_move(pipeline *pl, item *it, const void *data, size_t size) {
    if (claim_hash(pl, it, it->meta.hash)) return true;
    if (!pl->legacy_missing) return false;
    char sha[65];
    if (data ? psk_sha256(data, size, sha) : psk_sha256_file(it->meta.path, sha, NULL)) return false;
    return claim_hash(pl, it, sha);
}

/* Reads, hashes and decodes one file; fills it->kind and the metadata. */
static void prepare_item(pipeline *pl, item *it) {
    const walk_file *f = it->f;
    store_media *m = &it->meta;
    snprintf(m->path, sizeof m->path, "%s", f->path);
    m->size = f->size;
    m->mtime_ns = f->mtime_ns;
    m->type = f->type;
    char *data = NULL;
    size_t size = 0;
    psk_error err = {0};
    if (f->type == 2) {
        /* A video: hashed in chunks and probed here; its frames are decoded by the encoder thread, a batch at a
         * time, so that a long video never sits in memory. */
        psk_video_info vi;
        if (psk_content_hash_file(f->path, m->hash, &err) || psk_video_probe(f->path, &vi, &err)) {
            it->kind = ITEM_FAILED;
            snprintf(m->error, sizeof m->error, "%s", err.message);
            return;
        }
        if (claim_move(pl, it, NULL, 0)) return;
        meta_from_video(m, &vi, f->mtime_ns);
        it->kind = ITEM_VIDEO;
        return;
    }
    if (psk_read_file(f->path, 4ull << 30, &data, &size, &err)) {
        it->kind = ITEM_FAILED;
        snprintf(m->error, sizeof m->error, "%s", err.message);
        return;
    }
    psk_content_hash(data, size, m->hash);
    if (claim_move(pl, it, data, size)) {
        psk_free(data);
        return;
    }
    psk_image *img = NULL;
    psk_image_params ip = psk_image_default_params();
    if (pl->p->fast_decode) ip.min_short_side = psk_model_image_size(pl->lib->image_model);
    int rc = psk_image_load_memory(data, size, f->path, &ip, &img, &err);
    psk_free(data);
    if (rc == PSK_OK) {
        meta_from_image(m, &img->info, f->mtime_ns);
        it->pixels = psk_malloc(sizeof(float) * (size_t)pl->pixels_floats);
        if (!it->pixels) rc = psk_fail(&err, PSK_ERR_NOMEM, "%s: out of memory", f->path);
        else rc = psk_model_preprocess(pl->lib->image_model, img, it->pixels, &err);
    }
    psk_image_free(img);
    if (rc) {
        psk_free(it->pixels);
        it->pixels = NULL;
        it->kind = ITEM_FAILED;
        snprintf(m->error, sizeof m->error, "%s", err.message);
        return;
    }
    it->kind = ITEM_EMBED;
}

static void *worker(void *arg) {
    pipeline *pl = arg;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        while (!pl->stop && pl->next < pl->n_items && pl->next >= pl->consumed + pl->window)
            pthread_cond_wait(&pl->cv, &pl->mu);
        if (pl->stop || pl->next >= pl->n_items) {
            pthread_mutex_unlock(&pl->mu);
            return NULL;
        }
        size_t i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        prepare_item(pl, &pl->items[i]);
        pthread_mutex_lock(&pl->mu);
        pl->items[i].ready = true;
        pthread_cond_broadcast(&pl->cv);
        pthread_mutex_unlock(&pl->mu);
    }
}

/* Embeds the ITEM_EMBED items among items[from, to) and writes all of them in one transaction. */
static int flush(pipeline *pl, size_t from, size_t to, int64_t model_id, float *batch, float *emb,
                 psk_index_stats *stats, psk_error *err) {
    psk_library *lib = pl->lib;
    int n = 0, dim = psk_model_n_embd(lib->image_model);
    for (size_t i = from; i < to; i++)
        if (pl->items[i].kind == ITEM_EMBED)
            memcpy(batch + (size_t)n++ * pl->pixels_floats, pl->items[i].pixels, sizeof(float) * (size_t)pl->pixels_floats);
    int rc = n ? psk_encode_pixels(lib->image_ctx, batch, n, emb, err) : PSK_OK;
    if (rc) return rc;
    if ((rc = store_exec(lib->store, "BEGIN IMMEDIATE", err))) return rc;
    int e = 0;
    for (size_t i = from; i < to && !rc; i++) {
        item *it = &pl->items[i];
        switch (it->kind) {
        case ITEM_EMBED:
            psk_normalize(emb + (size_t)e * dim, dim);
            store_apply_sidecar(lib->store, &it->meta);
            if (!(rc = store_media_put(lib->store, &it->meta, err)) &&
                !(rc = store_delete_embeddings(lib->store, it->meta.id, err)))
                rc = store_put_embedding(lib->store, it->meta.id, model_id, -1, emb + (size_t)e * dim, dim, err);
            e++;
            stats->indexed++;
            break;
        case ITEM_FAILED:
            if (!(rc = store_media_put(lib->store, &it->meta, err))) rc = store_delete_embeddings(lib->store, it->meta.id, err);
            stats->failed++;
            break;
        case ITEM_MOVE: {
            /* A stale row at the new path (a file that was replaced by the moved one) gives way first. */
            store_media old;
            bool found;
            if (!(rc = store_media_by_path(lib->store, it->f->path, &old, &found, err)) && found && old.id != it->move_from)
                rc = store_media_delete(lib->store, old.id, err);
            if (!rc) rc = store_media_move(lib->store, it->move_from, it->f->path, it->f->mtime_ns, it->meta.hash, err);
            stats->moved++;
            break;
        }
        }
    }
    if (rc) {
        store_exec(lib->store, "ROLLBACK", NULL);
        return rc;
    }
    return store_exec(lib->store, "COMMIT", err);
}

/* Samples, embeds and stores one video: frames are decoded and encoded a batch at a time, and the row with all
 * its frame vectors is committed in one transaction, so an interruption never leaves half a video. */
static int index_video(pipeline *pl, item *it, int64_t model_id, float *batch, float *emb, psk_index_stats *stats,
                       psk_error *err) {
    psk_library *lib = pl->lib;
    int dim = psk_model_n_embd(lib->image_model), cap = pl->p->batch_size;
    psk_video_sampler *v = NULL;
    psk_error verr = {0};
    float *vecs = NULL;
    int64_t *times = NULL;
    int n = 0, vcap = 0, in_batch = 0, rc;
    int64_t batch_t[1024];
    rc = psk_video_sampler_open(it->f->path, NULL, &v, &verr);
    while (!rc) {
        psk_image *frame = NULL;
        int64_t t = 0;
        rc = psk_video_sampler_next(v, &frame, &t, &verr);
        if (rc == PSK_OK) {
            rc = psk_model_preprocess(lib->image_model, frame, batch + (size_t)in_batch * pl->pixels_floats, &verr);
            psk_image_free(frame);
            if (!rc) batch_t[in_batch++] = t;
        }
        bool end = rc == PSK_ERR_NOT_FOUND;
        if ((in_batch == cap || (end && in_batch)) && (rc == PSK_OK || end)) {
            int erc = psk_encode_pixels(lib->image_ctx, batch, in_batch, emb, err);
            if (erc) {
                psk_video_sampler_close(v);
                psk_free(vecs);
                psk_free(times);
                return erc; /* the encoder failing is fatal, not the file's fault */
            }
            if (n + in_batch > vcap) {
                vcap = (n + in_batch) * 2;
                float *nv = psk_realloc(vecs, sizeof(float) * (size_t)vcap * dim);
                int64_t *nt = psk_realloc(times, sizeof(int64_t) * (size_t)vcap);
                if (nv) vecs = nv;
                if (nt) times = nt;
                if (!nv || !nt) {
                    rc = psk_fail(&verr, PSK_ERR_NOMEM, "%s: out of memory", it->f->path);
                    break;
                }
            }
            for (int i = 0; i < in_batch; i++) {
                memcpy(vecs + (size_t)(n + i) * dim, emb + (size_t)i * dim, sizeof(float) * (size_t)dim);
                psk_normalize(vecs + (size_t)(n + i) * dim, dim);
                times[n + i] = batch_t[i];
            }
            n += in_batch;
            in_batch = 0;
        }
        if (end) {
            rc = PSK_OK;
            break;
        }
        if (pl->p->cancel && *pl->p->cancel) {
            rc = PSK_ERR_INTERRUPTED;
            break;
        }
    }
    psk_video_sampler_close(v);
    if (rc == PSK_ERR_INTERRUPTED) {
        psk_free(vecs);
        psk_free(times);
        return PSK_OK; /* nothing of this video was written: the next run redoes it */
    }
    store_media *m = &it->meta;
    if (rc) {
        snprintf(m->error, sizeof m->error, "%s", verr.message);
        n = 0;
    }
    if ((rc = store_exec(lib->store, "BEGIN IMMEDIATE", err))) goto done;
    store_apply_sidecar(lib->store, m);
    if (!(rc = store_media_put(lib->store, m, err)) && !(rc = store_delete_embeddings(lib->store, m->id, err)))
        for (int i = 0; i < n && !rc; i++)
            rc = store_put_embedding(lib->store, m->id, model_id, times[i], vecs + (size_t)i * dim, dim, err);
    if (rc) store_exec(lib->store, "ROLLBACK", NULL);
    else rc = store_exec(lib->store, "COMMIT", err);
    if (!rc) {
        if (m->error[0]) stats->failed++;
        else stats->indexed++;
    }
done:
    psk_free(vecs);
    psk_free(times);
    return rc;
}

psk_index_params psk_index_default_params(void) {
    psk_index_params p = {0};
    p.batch_size = 32;
    p.precision = PSK_PRECISION_INT8;
    return p;
}

/* Loads every row of the store into `rows` and a path -> row map. */
static int load_rows(psk_store *s, int64_t model_id, old_row **rows_out, char ***paths_out, size_t *n_out,
                     psk_strmap *by_path, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s,
                           "SELECT m.id, m.path, m.size, m.mtime_ns, m.hash, m.error, "
                           " EXISTS(SELECT 1 FROM embeddings e WHERE e.media_id = m.id AND e.model_id = ?) "
                           "FROM media m",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, model_id);
    old_row *rows = NULL;
    char **paths = NULL;
    size_t n = 0, cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            old_row *r = psk_realloc(rows, sizeof *r * cap);
            char **p = r ? psk_realloc(paths, sizeof *p * cap) : NULL;
            if (r) rows = r;
            if (p) paths = p;
            if (!r || !p) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
        }
        old_row *r = &rows[n];
        memset(r, 0, sizeof *r);
        r->id = sqlite3_column_int64(st, 0);
        const char *path = (const char *)sqlite3_column_text(st, 1);
        const char *hash = (const char *)sqlite3_column_text(st, 4);
        snprintf(r->hash, sizeof r->hash, "%s", hash ? hash : "");
        bool failed = sqlite3_column_type(st, 5) != SQLITE_NULL;
        r->usable = !failed && sqlite3_column_int(st, 6);
        /* size and mtime packed after the path, for the unchanged test */
        size_t plen = strlen(path);
        char *p = psk_malloc(plen + 1 + 2 * sizeof(int64_t) + 1);
        if (!p) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(p, path, plen + 1);
        int64_t sz = sqlite3_column_int64(st, 2), mt = sqlite3_column_int64(st, 3);
        memcpy(p + plen + 1, &sz, sizeof sz);
        memcpy(p + plen + 1 + sizeof sz, &mt, sizeof mt);
        p[plen + 1 + 2 * sizeof(int64_t)] = failed ? 'F' : (r->usable ? 'E' : 'N');
        paths[n] = p;
        if (psk_strmap_put(by_path, path, plen, (int32_t)n)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        n++;
    }
    sqlite3_finalize(st);
    *rows_out = rows;
    *paths_out = paths;
    *n_out = n;
    return rc;
}

static bool under_roots(const char *path, char **roots, int n) {
    for (int i = 0; i < n; i++) {
        size_t l = strlen(roots[i]);
        if (strncmp(path, roots[i], l) == 0 && (path[l] == '/' || path[l] == 0 || (l == 1 && roots[i][0] == '/')))
            return true;
    }
    return false;
}

/* Keeps the files of one shard: FNV-1a of the absolute path, so every worker that sees the same paths agrees. */
static void shard_filter(walk_list *l, int index, int count) {
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        uint64_t h = psk_fnv1a64(l->files[i].path, strlen(l->files[i].path));
        if ((int)(h % (uint64_t)count) == index - 1) l->files[kept++] = l->files[i];
        else psk_free(l->files[i].path);
    }
    l->n = kept;
}

psk_status psk_library_index(psk_library *lib, const psk_index_params *params, psk_index_stats *stats,
                             psk_error *err) {
    psk_index_params p = params ? *params : psk_index_default_params();
    memset(stats, 0, sizeof *stats);
    if (p.shard_count > 1 && (p.shard_index < 1 || p.shard_index > p.shard_count))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "shard %d/%d: the part must be from 1 to %d", p.shard_index,
                        p.shard_count, p.shard_count);
    if (lib->pg || lib->pc) return library_index_pg(lib, &p, stats, err);
    if (p.shard_count > 1 && !lib->pg_catalog)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "--shard is for PostgreSQL libraries (--db postgres://...), where "
                                                  "several workers share one library");
    double t0 = now_s();
    if (!lib->store->writable) return psk_fail(err, PSK_ERR_INVALID_ARG, "the library was opened read-only");
    if (!p.image_model_dir) return psk_fail(err, PSK_ERR_INVALID_ARG, "no image model given");
    if (p.batch_size <= 0) p.batch_size = 32;
    if (p.n_jobs <= 0) p.n_jobs = psk_cpu_count();
    int rc = library_image_model(lib, p.image_model_dir, p.n_threads, p.precision, err);
    if (rc) return rc;
    int dim = psk_model_n_embd(lib->image_model), S = psk_model_image_size(lib->image_model);
    int64_t model_id;
    char model_abs[4096];
    if (!realpath(p.image_model_dir, model_abs)) snprintf(model_abs, sizeof model_abs, "%s", p.image_model_dir);
    if ((rc = store_model_ensure(lib->store, psk_model_id(lib->image_model), dim, model_abs, &model_id, err)))
        return rc;

    walk_list files;
    if ((rc = walk_roots(p.roots, p.n_roots, p.excludes, p.n_excludes, lib->store->path, &files, NULL, NULL, err)))
        return rc;
    if (p.shard_count > 1) shard_filter(&files, p.shard_index, p.shard_count);
    pipeline pl = {0};
    pl.lib = lib;
    pl.p = &p;
    pl.pixels_floats = 3 * S * S;
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    psk_strmap by_path = {0};
    char **paths = NULL;
    size_t n_rows = 0;
    char **roots_abs = psk_calloc((size_t)p.n_roots + 1, sizeof(char *));
    float *batch = NULL, *emb = NULL;
    pthread_t *threads = NULL;
    int n_threads = 0;
    if (!roots_abs) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < p.n_roots; i++) {
        roots_abs[i] = realpath(p.roots[i], NULL);
        if (!roots_abs[i]) rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: cannot resolve", p.roots[i]);
    }
    if (!rc) rc = load_rows(lib->store, model_id, &pl.rows, &paths, &n_rows, &by_path, err);

    /* Classify: unchanged files cost a stat and a lookup. */
    pl.items = rc ? NULL : psk_calloc(files.n + 1, sizeof(item));
    if (!rc && !pl.items) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !rc && i < files.n; i++) {
        const walk_file *f = &files.files[i];
        int32_t r;
        stats->seen++;
        if (psk_strmap_get(&by_path, f->path, strlen(f->path), &r)) {
            pl.rows[r].seen = true;
            const char *pp = paths[r];
            size_t plen = strlen(pp);
            int64_t sz, mt;
            memcpy(&sz, pp + plen + 1, sizeof sz);
            memcpy(&mt, pp + plen + 1 + sizeof sz, sizeof mt);
            char state = pp[plen + 1 + 2 * sizeof(int64_t)];
            if (sz == f->size && mt == f->mtime_ns && (state == 'E' || state == 'F')) {
                stats->unchanged++;
                continue;
            }
        }
        pl.items[pl.n_items++].f = f;
    }
    /* Rows under the roots whose files were not found: removed, unless a new file turns out to be one of them. */
    for (size_t r = 0; !rc && r < n_rows; r++) {
        if (pl.rows[r].seen || !under_roots(paths[r], roots_abs, p.n_roots)) continue;
        size_t hl = strlen(pl.rows[r].hash);
        if (!pl.rows[r].usable || (hl != PSK_CONTENT_HASH_LEN && hl != 64)) continue;
        if (psk_strmap_put(&pl.missing, pl.rows[r].hash, hl, (int32_t)r)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        pl.legacy_missing += hl == 64;
    }

    if (!rc) {
        pl.window = (size_t)p.batch_size * 2 + (size_t)p.n_jobs;
        batch = psk_malloc_aligned(sizeof(float) * (size_t)pl.pixels_floats * (size_t)p.batch_size);
        emb = psk_malloc(sizeof(float) * (size_t)dim * (size_t)p.batch_size);
        threads = psk_calloc((size_t)p.n_jobs, sizeof(pthread_t));
        if (!batch || !emb || !threads) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        for (int t = 0; !rc && t < p.n_jobs; t++)
            if (pthread_create(&threads[t], NULL, worker, &pl) == 0) n_threads++;
    }

    /* The encoder loop: take items in order, embed and commit a batch at a time. */
    size_t flushed = 0;
    int pending_embed = 0;
    psk_index_progress prog = {0};
    for (size_t i = 0; !rc && i < pl.n_items; i++) {
        pthread_mutex_lock(&pl.mu);
        while (!pl.items[i].ready) pthread_cond_wait(&pl.cv, &pl.mu);
        pl.consumed = i + 1;
        pthread_cond_broadcast(&pl.cv);
        pthread_mutex_unlock(&pl.mu);
        bool video = pl.items[i].kind == ITEM_VIDEO, cancel = p.cancel && *p.cancel;
        if (pl.items[i].kind == ITEM_EMBED) pending_embed++;
        if (!video && pending_embed < p.batch_size && i + 1 < pl.n_items && !cancel) continue;
        /* a batch is written; before a video, what came before it is written first, then the video on its own */
        size_t end = video ? i : i + 1;
        if (flushed < end) rc = flush(&pl, flushed, end, model_id, batch, emb, stats, err);
        for (size_t j = flushed; j < end; j++) {
            psk_free(pl.items[j].pixels);
            pl.items[j].pixels = NULL;
        }
        flushed = i + 1;
        pending_embed = 0;
        if (!rc && video) {
            rc = index_video(&pl, &pl.items[i], model_id, batch, emb, stats, err);
            cancel = p.cancel && *p.cancel;
        }
        if (!rc && p.progress) {
            prog.total = (int64_t)pl.n_items;
            prog.done = (int64_t)flushed;
            prog.unchanged = stats->unchanged;
            prog.current = pl.items[i].f->path;
            p.progress(p.progress_user, &prog);
        }
        if (cancel) {
            stats->cancelled = 1;
            break;
        }
    }
    pthread_mutex_lock(&pl.mu);
    pl.stop = true;
    pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    for (int t = 0; t < n_threads; t++) pthread_join(threads[t], NULL);

    /* Files gone from the roots leave the index (not after a cancelled run: it did not see every move). */
    if (!rc && !stats->cancelled && p.cancel && *p.cancel) stats->cancelled = 1;
    if (!rc && !stats->cancelled) {
        rc = store_exec(lib->store, "BEGIN IMMEDIATE", err);
        for (size_t r = 0; !rc && r < n_rows; r++) {
            if (pl.rows[r].seen || pl.rows[r].claimed || !under_roots(paths[r], roots_abs, p.n_roots)) continue;
            if (!(rc = store_media_delete(lib->store, pl.rows[r].id, err))) stats->removed++;
        }
        if (!rc) rc = store_exec(lib->store, "COMMIT", err);
        else store_exec(lib->store, "ROLLBACK", NULL);
    }
    /* a large library gets its search graph brought up to date */
    if (!rc && !stats->cancelled && (stats->indexed || stats->removed || stats->moved))
        rc = library_update_ann(lib, model_id, dim, false, err);
    stats->seconds = now_s() - t0;
    if (!rc) {
        char summary[256], when[32];
        snprintf(summary, sizeof summary,
                 "%lld indexed, %lld unchanged, %lld moved, %lld removed, %lld failed in %.1f s%s",
                 (long long)stats->indexed, (long long)stats->unchanged, (long long)stats->moved,
                 (long long)stats->removed, (long long)stats->failed, stats->seconds,
                 stats->cancelled ? " (interrupted)" : "");
        snprintf(when, sizeof when, "%lld", (long long)time(NULL));
        psk_buf roots = {0};
        for (int i = 0; i < p.n_roots; i++) {
            psk_buf_append(&roots, roots_abs[i], strlen(roots_abs[i]));
            psk_buf_append(&roots, "\n", 1);
        }
        if (!(rc = store_meta_set(lib->store, "last_run", summary, err)) &&
            !(rc = store_meta_set(lib->store, "last_run_at", when, err)) && roots.data)
            rc = store_meta_set(lib->store, "roots", roots.data, err);
        psk_buf_free(&roots);
    }

    for (size_t i = 0; i < pl.n_items; i++) psk_free(pl.items[i].pixels);
    psk_free(pl.items);
    psk_free(pl.rows);
    for (size_t i = 0; i < n_rows; i++) psk_free(paths[i]);
    psk_free(paths);
    psk_strmap_free(&by_path);
    psk_strmap_free(&pl.missing);
    for (int i = 0; roots_abs && i < p.n_roots; i++) free(roots_abs[i]);
    psk_free(roots_abs);
    psk_free_aligned(batch);
    psk_free(emb);
    psk_free(threads);
    walk_list_free(&files);
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.cv);
    if (!rc && stats->cancelled) return psk_fail(err, PSK_ERR_INTERRUPTED, "interrupted; run again to finish");
    return rc;
}
