/* psk_library_index: one index run, in phases.
 *
 *   open      the image model and its row, the roots made absolute, the walk (one shard of it), the library's rows
 *   classify  unchanged files cost a stat and a lookup; rows whose files vanished become move candidates
 *   pipeline  the rest of the files are decoded, embedded and stored a batch at a time (pipeline.c)
 *   finish    rows whose files are gone are removed, places named (places.c), the search graph refreshed, the
 *             run's summary recorded
 * A server store (PostgreSQL, Pinecone) is indexed through a worker's local catalog (remote_index.c). */
#include "ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct index_run {
    psk_library *lib;
    psk_store *store;
    psk_index_params p;
    psk_index_stats *stats;
    double t0;
    walk_list files;
    char **roots_abs; /* p.n_roots of them */
    known_row *rows;
    size_t n_rows;
    psk_strmap by_path; /* path -> index in rows */
    index_job job;
    psk_face_model *faces; /* with faces on */
} index_run;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

psk_index_params psk_index_default_params(void) {
    psk_index_params p = {0};
    p.batch_size = 32;
    p.precision = PSK_PRECISION_INT8;
    p.face_detector = PSK_FACE_DETECTOR_AUTO;
    return p;
}

/* Reads every row of the library into r->rows and the path -> row map. */
static int load_rows(index_run *r, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(r->store,
                           "SELECT m.id, m.path, m.size, m.mtime_ns, m.hash, m.error, "
                           " EXISTS(SELECT 1 FROM embeddings e WHERE e.media_id = m.id AND e.model_id = ?) "
                           "FROM media m",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, r->job.model_id);
    size_t cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (r->n_rows == cap) {
            cap = cap ? cap * 2 : 1024;
            known_row *rows = psk_realloc(r->rows, sizeof *rows * cap);
            if (!rows) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            r->rows = rows;
        }
        known_row *k = &r->rows[r->n_rows];
        memset(k, 0, sizeof *k);
        k->id = sqlite3_column_int64(st, 0);
        const char *path = (const char *)sqlite3_column_text(st, 1);
        const char *hash = (const char *)sqlite3_column_text(st, 4);
        k->size = sqlite3_column_int64(st, 2);
        k->mtime_ns = sqlite3_column_int64(st, 3);
        snprintf(k->hash, sizeof k->hash, "%s", hash ? hash : "");
        k->state = sqlite3_column_type(st, 5) != SQLITE_NULL ? ROW_FAILED
                   : sqlite3_column_int(st, 6)               ? ROW_EMBEDDED
                                                             : ROW_PENDING;
        if (!(k->path = psk_strdup(path))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        r->n_rows++;
        if (psk_strmap_put(&r->by_path, path, strlen(path), (int32_t)(r->n_rows - 1)))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    sqlite3_finalize(st);
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

/* The image model and its row, the roots, the walk and the library's rows. */
static int run_open(index_run *r, psk_error *err) {
    psk_index_params *p = &r->p;
    if (!r->store->writable) return psk_fail(err, PSK_ERR_INVALID_ARG, "the library was opened read-only");
    if (!p->image_model_dir) return psk_fail(err, PSK_ERR_INVALID_ARG, "no image model given");
    if (p->batch_size <= 0) p->batch_size = 32;
    if (p->n_jobs <= 0) p->n_jobs = psk_cpu_count();
    int rc = library_image_model(r->lib, p->image_model_dir, p->n_threads, p->precision, err);
    if (rc) return rc;
    index_job *job = &r->job;
    *job = (index_job){.store = r->store, .model = library_image(r->lib), .ctx = library_image_ctx(r->lib), .p = p,
                       .stats = r->stats};
    if (p->faces && !backend_can(library_backend(r->lib), PSK_STORE_CAP_PEOPLE)) p->faces = PSK_FACES_OFF;
    if ((rc = ingest_faces_open(p, &r->faces, err))) return rc;
    job->faces = r->faces;
    char model_abs[4096];
    if (!realpath(p->image_model_dir, model_abs)) snprintf(model_abs, sizeof model_abs, "%s", p->image_model_dir);
    if ((rc = store_model_ensure(r->store, psk_model_id(job->model), psk_model_n_embd(job->model), model_abs,
                                 &job->model_id, err)))
        return rc;
    if ((rc = walk_roots(p->roots, p->n_roots, p->excludes, p->n_excludes, r->store->path, &r->files, NULL, NULL, err)))
        return rc;
    if (p->shard_count > 1) shard_filter(&r->files, p->shard_index, p->shard_count);
    if (!(r->roots_abs = psk_calloc((size_t)p->n_roots + 1, sizeof(char *))))
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; i < p->n_roots; i++)
        if (!(r->roots_abs[i] = realpath(p->roots[i], NULL)))
            return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: cannot resolve", p->roots[i]);
    return load_rows(r, err);
}

/* The files that need work (new, changed, or not embedded with this model) go to the job in walk order; rows
 * under the roots whose files were not found become move candidates, removed at the end unless a new file turns
 * out to be one of them. */
static int classify(index_run *r, psk_error *err) {
    index_job *job = &r->job;
    if (!(job->todo = psk_calloc(r->files.n + 1, sizeof *job->todo))) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < r->files.n; i++) {
        const walk_file *f = &r->files.files[i];
        int32_t k;
        r->stats->seen++;
        if (psk_strmap_get(&r->by_path, f->path, strlen(f->path), &k)) {
            known_row *row = &r->rows[k];
            row->seen = true;
            if (row->size == f->size && row->mtime_ns == f->mtime_ns && row->state != ROW_PENDING) {
                r->stats->unchanged++;
                continue;
            }
        }
        job->todo[job->n_todo++] = f;
    }
    job->rows = r->rows;
    for (size_t k = 0; k < r->n_rows; k++) {
        const known_row *row = &r->rows[k];
        if (row->seen || !under_roots(row->path, r->roots_abs, r->p.n_roots)) continue;
        size_t hl = strlen(row->hash);
        if (row->state != ROW_EMBEDDED || (hl != PSK_CONTENT_HASH_LEN && hl != 64)) continue;
        if (psk_strmap_put(&job->missing, row->hash, hl, (int32_t)k)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        job->legacy_missing += hl == 64;
    }
    return PSK_OK;
}

/* Files gone from the roots leave the library, in one transaction. */
static int remove_gone(index_run *r, psk_error *err) {
    int rc = store_exec(r->store, "BEGIN IMMEDIATE", err);
    for (size_t k = 0; !rc && k < r->n_rows; k++) {
        const known_row *row = &r->rows[k];
        if (row->seen || row->claimed || !under_roots(row->path, r->roots_abs, r->p.n_roots)) continue;
        if (!(rc = store_media_delete(r->store, row->id, err))) r->stats->removed++;
    }
    if (!rc) return store_exec(r->store, "COMMIT", err);
    store_exec(r->store, "ROLLBACK", NULL);
    return rc;
}

/* A large library gets its search graph brought up to date (by stores that keep one). */
static int refresh_index(index_run *r, psk_error *err) {
    store_backend *b = library_backend(r->lib);
    store_model m = {.id = r->job.model_id, .dim = psk_model_n_embd(r->job.model)};
    int rc = b->ops->refresh_index ? b->ops->refresh_index(b->self, &m, false, err) : PSK_OK;
    /* new photos join the stored near-duplicate groups (their neighbours only, never the whole library again) */
    if (!rc && b->ops->dup_update) rc = b->ops->dup_update(b->self, &m, err);
    return rc;
}

/* The run's summary, time and roots, for status. */
static int record_run(index_run *r, psk_error *err) {
    const psk_index_stats *st = r->stats;
    char summary[256], when[32];
    snprintf(summary, sizeof summary, "%lld indexed, %lld unchanged, %lld moved, %lld removed, %lld failed, %lld faces in %.1f s%s",
             (long long)st->indexed, (long long)st->unchanged, (long long)st->moved, (long long)st->removed,
             (long long)st->failed, (long long)st->faces, st->seconds, st->cancelled ? " (interrupted)" : "");
    snprintf(when, sizeof when, "%lld", (long long)time(NULL));
    psk_buf roots = {0};
    for (int i = 0; i < r->p.n_roots; i++) {
        psk_buf_append(&roots, r->roots_abs[i], strlen(r->roots_abs[i]));
        psk_buf_append(&roots, "\n", 1);
    }
    int rc = store_meta_set(r->store, "last_run", summary, err);
    if (!rc) rc = store_meta_set(r->store, "last_run_at", when, err);
    if (!rc && roots.data) rc = store_meta_set(r->store, "roots", roots.data, err);
    psk_buf_free(&roots);
    return rc;
}

static void run_close(index_run *r) {
    for (size_t k = 0; k < r->n_rows; k++) psk_free(r->rows[k].path);
    psk_free(r->rows);
    psk_strmap_free(&r->by_path);
    psk_strmap_free(&r->job.missing);
    psk_free(r->job.todo);
    for (int i = 0; r->roots_abs && i < r->p.n_roots; i++) free(r->roots_abs[i]);
    psk_free(r->roots_abs);
    walk_list_free(&r->files);
    psk_face_model_free(r->faces);
}

psk_status psk_library_index(psk_library *lib, const psk_index_params *params, psk_index_stats *stats,
                             psk_error *err) {
    psk_index_params p = params ? *params : psk_index_default_params();
    memset(stats, 0, sizeof *stats);
    if (p.shard_count > 1 && (p.shard_index < 1 || p.shard_index > p.shard_count))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "shard %d/%d: the part must be from 1 to %d", p.shard_index,
                        p.shard_count, p.shard_count);
    unsigned caps = psk_library_capabilities(lib);
    if (p.shard_count > 1 && !(caps & PSK_STORE_CAP_SHARDS))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: a %s library is indexed by one worker at a time; sharding is "
                        "for a store that several workers share", backend_shown(library_backend(lib)),
                        psk_library_store_kind(lib));
    if (!(caps & PSK_STORE_CAP_LOCAL_INDEX)) return ingest_remote(lib, &p, stats, err);
    return ingest_local(lib, &p, stats, err);
}

int ingest_local(psk_library *lib, const psk_index_params *params, psk_index_stats *stats, psk_error *err) {
    index_run r = {.lib = lib, .p = *params, .stats = stats, .t0 = now_s()};
    if (!(r.store = library_local_store(lib, "indexing", err))) return PSK_ERR_UNSUPPORTED;
    int rc = run_open(&r, err);
    if (!rc) rc = classify(&r, err);
    if (!rc) rc = pipeline_run(&r.job, err);
    /* not after a cancelled run: it did not see every move */
    if (!rc && !stats->cancelled && r.p.cancel && *r.p.cancel) stats->cancelled = 1;
    if (!rc && !stats->cancelled) rc = remove_gone(&r, err);
    if (!rc && !stats->cancelled && r.p.places_dir) rc = ingest_name_places(r.store, r.p.places_dir, &stats->placed, err);
    if (!rc && !stats->cancelled && r.faces) rc = ingest_faces_backfill(r.store, r.faces, &r.p, stats, err);
    if (!rc && !stats->cancelled && r.p.cancel && *r.p.cancel) stats->cancelled = 1;
    if (!rc && !stats->cancelled && r.faces) rc = library_backend(lib)->ops->people_group(library_backend(lib)->self, false, err);
    if (!rc && !stats->cancelled && (stats->indexed || stats->removed || stats->moved)) rc = refresh_index(&r, err);
    stats->seconds = now_s() - r.t0;
    if (!rc) rc = record_run(&r, err);
    run_close(&r);
    if (!rc && stats->cancelled) return psk_fail(err, PSK_ERR_INTERRUPTED, "interrupted; run again to finish");
    return rc;
}
