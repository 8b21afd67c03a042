/* Copying a SQLite library into a server store (PostgreSQL, Pinecone): its rows, vectors, text in photos, places,
 * perceptual hashes and faces; all of it with its people and their names (psk_library_migrate), or what a worker's
 * catalog has not pushed yet (library_push, for indexing into a server store, which groups the faces itself). */
#include "library.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define BATCH 256

typedef struct batch {
    store_media media[BATCH];
    store_item items[BATCH];
    store_extra extras[BATCH]; /* text, place, perceptual hash and faces (their strings and faces owned here) */
    int64_t *frames[BATCH];
    float *vecs[BATCH];
    int n_vecs[BATCH];
    int n;
} batch;

static void item_free(batch *b, int i) {
    psk_free(b->frames[i]);
    psk_free(b->vecs[i]);
    psk_free((char *)b->extras[i].text);
    psk_free((char *)b->extras[i].words);
    psk_free((store_face *)b->extras[i].faces);
    psk_free((char *)b->extras[i].moved_from);
}

static void batch_clear(batch *b) {
    for (int i = 0; i < b->n; i++) item_free(b, i);
    b->n = 0;
}

static const char *text_or_empty(sqlite3_stmt *st, int col) {
    const char *t = (const char *)sqlite3_column_text(st, col);
    return t ? t : "";
}

static void read_media(sqlite3_stmt *st, store_media *m) {
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    snprintf(m->path, sizeof m->path, "%s", text_or_empty(st, 1));
    snprintf(m->hash, sizeof m->hash, "%s", text_or_empty(st, 2));
    m->type = sqlite3_column_int(st, 3);
    m->width = sqlite3_column_int(st, 4);
    m->height = sqlite3_column_int(st, 5);
    m->taken_at = sqlite3_column_int64(st, 6);
    m->has_offset = sqlite3_column_type(st, 7) != SQLITE_NULL;
    m->offset_min = sqlite3_column_int(st, 7);
    snprintf(m->taken_local, sizeof m->taken_local, "%s", text_or_empty(st, 8));
    m->year = sqlite3_column_int(st, 9);
    m->month = sqlite3_column_int(st, 10);
    m->day = sqlite3_column_int(st, 11);
    snprintf(m->make, sizeof m->make, "%s", text_or_empty(st, 12));
    snprintf(m->model, sizeof m->model, "%s", text_or_empty(st, 13));
    m->has_gps = sqlite3_column_type(st, 14) != SQLITE_NULL && sqlite3_column_type(st, 15) != SQLITE_NULL;
    m->lat = sqlite3_column_double(st, 14);
    m->lon = sqlite3_column_double(st, 15);
    m->duration_ms = sqlite3_column_int64(st, 16);
    snprintf(m->description, sizeof m->description, "%s", text_or_empty(st, 17));
    m->size = sqlite3_column_int64(st, 23); /* after read_extra's columns */
    /* found by name: the columns after size are appended by more than one feature */
    for (int c = sqlite3_column_count(st) - 1; c > 23; c--)
        if (strcmp(sqlite3_column_name(st, c), "taken_src") == 0)
            snprintf(m->taken_src, sizeof m->taken_src, "%s", text_or_empty(st, c));
        else if (strcmp(sqlite3_column_name(st, c), "people") == 0) /* a Takeout sidecar's names */
            snprintf(m->people, sizeof m->people, "%s", text_or_empty(st, c));
}

/* The faces found in a media row, when it was looked at (column 24 of the media query: its face scan). */
static int read_faces(psk_store *s, sqlite3_stmt *media, sqlite3_stmt *faces, store_extra *x, psk_error *err) {
    x->face_scanned = sqlite3_column_type(media, 24) != SQLITE_NULL;
    if (!x->face_scanned) return PSK_OK;
    sqlite3_reset(faces);
    sqlite3_bind_int64(faces, 1, sqlite3_column_int64(media, 0));
    int step, cap = 0;
    store_face *f = NULL;
    while ((step = sqlite3_step(faces)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(faces, 6) != (int)sizeof f->desc) continue;
        if (x->n_faces == cap) {
            cap = cap ? cap * 2 : 8;
            store_face *g = psk_realloc(f, sizeof *g * (size_t)cap);
            if (!g) {
                psk_free(f);
                return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            }
            f = g;
        }
        store_face *o = &f[x->n_faces++];
        o->frame_ms = sqlite3_column_int64(faces, 0);
        for (int k = 0; k < 4; k++) o->box[k] = (float)sqlite3_column_double(faces, 1 + k);
        o->score = (float)sqlite3_column_double(faces, 5);
        memcpy(o->desc, sqlite3_column_blob(faces, 6), sizeof o->desc);
    }
    x->faces = f;
    return step == SQLITE_DONE ? PSK_OK : store_fail(s, err, "reading faces");
}

/* The path a catalog's file had on the server before it moved, from the statement `moved` (by content hash). */
static int read_moved(psk_store *s, sqlite3_stmt *moved, const store_media *m, store_extra *x, psk_error *err) {
    if (!m->hash[0]) return PSK_OK;
    sqlite3_reset(moved);
    sqlite3_bind_text(moved, 1, m->hash, -1, SQLITE_STATIC);
    int step = sqlite3_step(moved);
    if (step == SQLITE_ROW && !(x->moved_from = psk_strdup(text_or_empty(moved, 0))))
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    return step == SQLITE_ROW || step == SQLITE_DONE ? PSK_OK : store_fail(s, err, "reading the catalog");
}

/* What the row has beside its metadata: the place (columns 18-21 of the media query, place_cc NULL: not looked
 * up), the perceptual hash (22), and the text read in the photo (from `text`). */
static int read_extra(psk_store *s, sqlite3_stmt *media, sqlite3_stmt *text, store_extra *x, psk_error *err) {
    memset(x, 0, sizeof *x);
    x->has_place = sqlite3_column_type(media, 21) != SQLITE_NULL;
    snprintf(x->city, sizeof x->city, "%s", text_or_empty(media, 18));
    snprintf(x->region, sizeof x->region, "%s", text_or_empty(media, 19));
    snprintf(x->country, sizeof x->country, "%s", text_or_empty(media, 20));
    snprintf(x->country_code, sizeof x->country_code, "%s", text_or_empty(media, 21));
    x->has_phash = sqlite3_column_type(media, 22) != SQLITE_NULL;
    x->phash = sqlite3_column_int64(media, 22);
    sqlite3_reset(text);
    sqlite3_bind_int64(text, 1, sqlite3_column_int64(media, 0));
    int step = sqlite3_step(text);
    if (step == SQLITE_ROW) {
        x->text = psk_strdup(text_or_empty(text, 0));
        x->words = psk_strdup(text_or_empty(text, 1));
        if (!x->text || !x->words) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    } else if (step != SQLITE_DONE) return store_fail(s, err, "reading the text in photos");
    return PSK_OK;
}

/* The vectors of one file; 0 of them when it was not indexed with this model. */
static int read_vectors(psk_store *s, sqlite3_stmt *st, int64_t media_id, int64_t model_id, int dim, int64_t **frames,
                        float **vecs, int *n, psk_error *err) {
    *frames = NULL;
    *vecs = NULL;
    *n = 0;
    int cap = 0;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, media_id);
    sqlite3_bind_int64(st, 2, model_id);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != (int)sizeof(float) * dim)
            return psk_fail(err, PSK_ERR_FORMAT, "%s: a vector of media %lld has %d bytes, not %d", s->path,
                            (long long)media_id, sqlite3_column_bytes(st, 1), (int)sizeof(float) * dim);
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            int64_t *f = psk_realloc(*frames, sizeof(int64_t) * (size_t)cap);
            if (f) *frames = f;
            float *v = f ? psk_realloc(*vecs, sizeof(float) * (size_t)cap * (size_t)dim) : NULL;
            if (v) *vecs = v;
            if (!f || !v) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        }
        (*frames)[*n] = sqlite3_column_int64(st, 0);
        memcpy(*vecs + (size_t)*n * (size_t)dim, sqlite3_column_blob(st, 1), sizeof(float) * (size_t)dim);
        (*n)++;
    }
    return step == SQLITE_DONE ? PSK_OK : store_fail(s, err, "reading vectors");
}

/* Writes a batch to the server; with `track`, then records it in the catalog (after the server's commit: a crash
 * in between pushes the batch again, which upserts change nothing). */
static int flush(psk_store *src, store_backend *dst, const store_model *m, batch *b, bool track, int64_t *media,
                 int64_t *vectors, psk_error *err) {
    for (int i = 0; i < b->n; i++)
        b->items[i] = (store_item){&b->media[i], b->frames[i], b->vecs[i], b->n_vecs[i], &b->extras[i]};
    int rc = dst->ops->put_items(dst->self, m, b->items, b->n, err);
    if (!rc && track && !(rc = store_exec(src, "BEGIN IMMEDIATE", err))) {
        sqlite3_stmt *rec = NULL;
        rc = store_prepare(src, "INSERT OR REPLACE INTO pg_pushed(path, indexed_at, hash, faces) SELECT path,"
                                " indexed_at, hash, (SELECT n_faces FROM face_scans WHERE media_id = media.id) FROM media"
                                " WHERE id = ?", &rec, err);
        for (int i = 0; !rc && i < b->n; i++) {
            sqlite3_reset(rec);
            sqlite3_bind_int64(rec, 1, b->media[i].id);
            if (sqlite3_step(rec) != SQLITE_DONE) rc = store_fail(src, err, "recording what was pushed");
        }
        sqlite3_finalize(rec);
        if (rc) store_exec(src, "ROLLBACK", NULL);
        else rc = store_exec(src, "COMMIT", err);
    }
    for (int i = 0; !rc && i < b->n; i++) *vectors += b->n_vecs[i];
    if (!rc) *media += b->n;
    batch_clear(b);
    return rc;
}

int library_push(psk_store *src, store_backend *dst, bool track, volatile int *cancel, psk_progress_fn progress,
                 void *user, int64_t *media, int64_t *vectors, psk_error *err) {
    int64_t model_id = 0;
    int dim = 0;
    char name[128], dir[1024];
    if (store_current_model(src, &model_id, name, sizeof name, &dim, dir, sizeof dir))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: the library is empty: nothing to copy", src->path);
    if (!dst->ops->put_items) return backend_unsupported(dst, "copying into it", err);
    store_model m;
    int rc = dst->ops->model_ensure(dst->self, name, dim, dir, &m, err);
    if (rc) return rc;
    /* The ids first: the catalog is written while they are pushed (a row again when its faces were looked for
     * since: a run with faces on over files pushed before) */
    const char *pending = track ? "SELECT id FROM media m WHERE error IS NULL AND NOT EXISTS (SELECT 1 FROM pg_pushed p "
                                  "WHERE p.path = m.path AND p.indexed_at IS m.indexed_at AND p.hash IS m.hash AND"
                                  " p.faces IS (SELECT n_faces FROM face_scans WHERE media_id = m.id)) ORDER BY id"
                                : "SELECT id FROM media WHERE error IS NULL ORDER BY id";
    int64_t total = store_count(src, "SELECT count(*) FROM media WHERE error IS NULL"), n_ids = 0, cap = 0;
    int64_t *ids = NULL;
    sqlite3_stmt *st = NULL, *one = NULL, *vecs = NULL, *text = NULL, *faces = NULL, *moved = NULL;
    if (!(rc = store_prepare(src, pending, &st, err))) {
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (n_ids == cap) {
                cap = cap ? cap * 2 : 1024;
                int64_t *x = psk_realloc(ids, sizeof(int64_t) * (size_t)cap);
                if (!x) {
                    rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                    break;
                }
                ids = x;
            }
            ids[n_ids++] = sqlite3_column_int64(st, 0);
        }
        if (!rc && step != SQLITE_DONE) rc = store_fail(src, err, "reading media");
        sqlite3_finalize(st);
    }
    if (!rc) rc = store_prepare(src,
                                "SELECT id, path, hash, type, width, height, taken_at, offset_min, taken_local, year, "
                                "month, day, make, model, lat, lon, duration_ms, description, place_city, place_region,"
                                " place_country, place_cc, (SELECT phash FROM phashes WHERE media_id = media.id), size,"
                                " (SELECT n_faces FROM face_scans WHERE media_id = media.id), taken_src, people FROM media"
                                " WHERE id = ?",
                                &one, err);
    if (!rc) rc = store_prepare(src, "SELECT text, words FROM media_text WHERE media_id = ?", &text, err);
    if (!rc) rc = store_prepare(src, "SELECT frame_ms, x, y, w, h, score, descriptor FROM faces WHERE media_id = ?"
                                     " ORDER BY id", &faces, err);
    /* a file pushed before under a path the catalog no longer has (deleted on the server after this push) */
    if (!rc && track)
        rc = store_prepare(src, "SELECT path FROM pg_pushed p WHERE p.hash = ? AND NOT EXISTS (SELECT 1 FROM media m"
                                " WHERE m.path = p.path AND m.error IS NULL) ORDER BY path LIMIT 1", &moved, err);
    if (!rc) rc = store_prepare(src, "SELECT frame_ms, vec FROM embeddings WHERE media_id = ? AND model_id = ? "
                                     "ORDER BY frame_ms", &vecs, err);
    batch *b = rc ? NULL : psk_calloc(1, sizeof *b);
    if (!rc && !b) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int64_t done = total - n_ids;
    for (int64_t k = 0; !rc && k < n_ids; k++) {
        if (cancel && *cancel) {
            rc = psk_fail(err, PSK_ERR_INTERRUPTED, "interrupted while pushing to the server (run again to finish)");
            break;
        }
        sqlite3_reset(one);
        sqlite3_bind_int64(one, 1, ids[k]);
        done++;
        if (sqlite3_step(one) != SQLITE_ROW) continue; /* gone meanwhile */
        int i = b->n;
        read_media(one, &b->media[i]);
        b->extras[i] = (store_extra){0};
        rc = read_extra(src, one, text, &b->extras[i], err);
        if (!rc) rc = read_faces(src, one, faces, &b->extras[i], err);
        if (!rc && moved) rc = read_moved(src, moved, &b->media[i], &b->extras[i], err);
        if (!rc) rc = read_vectors(src, vecs, ids[k], model_id, dim, &b->frames[i], &b->vecs[i], &b->n_vecs[i], err);
        b->n++; /* owned by the batch from here, even on error */
        if (!rc && b->n_vecs[i] == 0) { /* not indexed with this model: nothing to copy */
            item_free(b, --b->n);
            continue;
        }
        if (!rc && b->n == BATCH) {
            rc = flush(src, dst, &m, b, track, media, vectors, err);
            if (progress) progress(user, NULL, (uint64_t)done, (uint64_t)total);
        }
    }
    if (!rc && b && b->n) rc = flush(src, dst, &m, b, track, media, vectors, err);
    /* the new photos join the store's near-duplicate groups (their neighbours only) */
    if (!rc && dst->ops->dup_update) rc = dst->ops->dup_update(dst->self, &m, err);
    if (!rc && progress) progress(user, NULL, (uint64_t)total, (uint64_t)total);
    if (b) batch_clear(b);
    psk_free(b);
    psk_free(ids);
    sqlite3_finalize(one);
    sqlite3_finalize(vecs);
    sqlite3_finalize(text);
    sqlite3_finalize(faces);
    sqlite3_finalize(moved);
    return rc;
}

/* The file's people and each face's place in them (store_people_carry), to the server store's own people. */
static int carry_people(psk_store *src, store_backend *dst, psk_migrate_stats *stats, psk_error *err) {
    store_people_carry c = {0};
    store_carried_face *faces = NULL;
    store_carried_person *people = NULL;
    int64_t cap = 0;
    sqlite3_stmt *st = NULL;
    /* numbered as read_faces sends them: by id, among the faces with a descriptor */
    int rc = store_prepare(src,
                           "SELECT m.path, f.ord, coalesce(f.person_id, 0), f.assigned FROM (SELECT media_id, person_id,"
                           " assigned, row_number() OVER (PARTITION BY media_id ORDER BY id) AS ord FROM faces WHERE"
                           " length(descriptor) = ?) f JOIN media m ON m.id = f.media_id WHERE m.error IS NULL",
                           &st, err);
    if (!rc) sqlite3_bind_int(st, 1, (int)sizeof(float) * PSK_FACE_DIM);
    int step = SQLITE_DONE;
    while (!rc && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (c.n_faces == cap) {
            cap = cap ? cap * 2 : 1024;
            store_carried_face *g = psk_realloc(faces, sizeof *g * (size_t)cap);
            if (!g) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            faces = g;
        }
        store_carried_face *f = &faces[c.n_faces];
        if (!(f->path = psk_strdup(text_or_empty(st, 0)))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        f->ordinal = sqlite3_column_int64(st, 1);
        f->person = sqlite3_column_int64(st, 2);
        f->assigned = sqlite3_column_int(st, 3);
        c.n_faces++;
    }
    if (!rc && step != SQLITE_DONE) rc = store_fail(src, err, "reading faces");
    sqlite3_finalize(st);
    st = NULL;
    int n_people = (int)store_count(src, "SELECT count(*) FROM people");
    if (!rc && n_people > 0 && !(people = psk_calloc((size_t)n_people, sizeof *people)))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc && n_people > 0 && !(rc = store_prepare(src, "SELECT id, name FROM people ORDER BY id", &st, err))) {
        while (c.n_people < n_people && (step = sqlite3_step(st)) == SQLITE_ROW) {
            store_carried_person *p = &people[c.n_people++];
            p->id = sqlite3_column_int64(st, 0);
            if (sqlite3_column_type(st, 1) != SQLITE_NULL && !(p->name = psk_strdup(text_or_empty(st, 1)))) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
        }
        if (!rc && step != SQLITE_ROW && step != SQLITE_DONE) rc = store_fail(src, err, "reading people");
        sqlite3_finalize(st);
    }
    c.faces = faces, c.people = people;
    if (!rc) rc = dst->ops->people_carry(dst->self, &c, err);
    if (!rc) {
        stats->people = c.n_carried;
        stats->faces_not_carried = c.faces_missed;
        stats->names_not_carried = c.n_names_dropped;
        snprintf(stats->names_dropped, sizeof stats->names_dropped, "%s", c.names_dropped);
    }
    for (int64_t i = 0; i < c.n_faces; i++) psk_free((char *)faces[i].path);
    for (int i = 0; i < c.n_people; i++) psk_free((char *)people[i].name);
    psk_free(faces);
    psk_free(people);
    return rc;
}

psk_status psk_library_migrate(const char *from_db, const char *to_url, psk_progress_fn progress, void *user,
                               psk_migrate_stats *stats, psk_error *err) {
    memset(stats, 0, sizeof *stats);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!backend_is_url(to_url))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: the destination must be a postgres:// or pinecone:// URL", to_url);
    psk_store *src = NULL;
    store_backend dst = {0};
    int rc = store_open(from_db, false, &src, err);
    if (!rc) rc = backend_open(to_url, true, &dst, err);
    if (!rc) rc = library_push(src, &dst, false, NULL, progress, user, &stats->media, &stats->vectors, err);
    /* the faces copied go to the file's people, made on the server; what the file had not grouped yet is grouped
     * there (into the server store's own people where it cannot carry them) */
    if (!rc && backend_can(&dst, PSK_STORE_CAP_PEOPLE) && dst.ops->people_carry)
        rc = carry_people(src, &dst, stats, err);
    if (!rc && backend_can(&dst, PSK_STORE_CAP_PEOPLE)) rc = dst.ops->people_group(dst.self, false, err);
    store_close(src);
    if (dst.ops && dst.ops->reconnects) stats->reconnects = dst.ops->reconnects(dst.self);
    backend_close(&dst);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    return rc;
}
