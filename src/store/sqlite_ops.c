/* The SQLite backend's table: the file (store.c) with its vector index (sqlite_search.c) behind the store
 * interface. Everything photoseek does works here; its flags say so. */
#include "sqlite_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int store_sqlite_open(const char *path, bool writable, void **self, psk_error *err) {
    *self = NULL;
    sqlite_backend *b = psk_calloc(1, sizeof *b);
    if (!b) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int rc = store_open(path, writable, &b->store, err);
    if (rc) {
        psk_free(b);
        return rc;
    }
    *self = b;
    return PSK_OK;
}

static void sq_close(void *self) {
    sqlite_backend *b = self;
    if (!b) return;
    sqlite_index_free(b);
    store_close(b->store);
    psk_free(b);
}

static const char *sq_shown(void *self) { return ((sqlite_backend *)self)->store->path; }

static psk_store *sq_local(void *self) { return ((sqlite_backend *)self)->store; }

static int sq_current_model(void *self, store_model *m, psk_error *err) {
    psk_store *s = sq_local(self);
    if (store_current_model(s, &m->id, m->name, sizeof m->name, &m->dim, m->dir, sizeof m->dir))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: the library is empty (run 'photoseek index FOLDER' first)", s->path);
    return PSK_OK;
}

static int sq_model_ensure(void *self, const char *name, int dim, const char *dir, store_model *m, psk_error *err) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    m->dim = dim;
    return store_model_ensure(sq_local(self), name, dim, dir, &m->id, err);
}

int sqlite_fill_result(sqlite3_stmt *st, int64_t id, psk_result *r) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_ROW) return PSK_ERR_NOT_FOUND;
    r->id = id;
    snprintf(r->path, sizeof r->path, "%s", (const char *)sqlite3_column_text(st, 0));
    r->taken_at = sqlite3_column_int64(st, 1);
    r->has_offset = sqlite3_column_type(st, 2) != SQLITE_NULL;
    r->offset_minutes = sqlite3_column_int(st, 2);
    snprintf(r->taken_local, sizeof r->taken_local, "%s",
             sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "");
    r->type = sqlite3_column_int(st, 4) == 2 ? PSK_TYPE_VIDEO : PSK_TYPE_PHOTO;
    r->width = sqlite3_column_int(st, 5);
    r->height = sqlite3_column_int(st, 6);
    store_camera_name((const char *)sqlite3_column_text(st, 7), (const char *)sqlite3_column_text(st, 8), r->camera,
                      sizeof r->camera);
    r->has_gps = sqlite3_column_type(st, 9) != SQLITE_NULL && sqlite3_column_type(st, 10) != SQLITE_NULL &&
                 psk_gps_valid(sqlite3_column_double(st, 9), sqlite3_column_double(st, 10));
    r->lat = r->has_gps ? sqlite3_column_double(st, 9) : 0;
    r->lon = r->has_gps ? sqlite3_column_double(st, 10) : 0;
    char *place[4] = {r->city, r->region, r->country, r->country_code};
    size_t caps[4] = {sizeof r->city, sizeof r->region, sizeof r->country, sizeof r->country_code};
    for (int i = 0; i < 4; i++) {
        const unsigned char *t = sqlite3_column_text(st, 11 + i);
        snprintf(place[i], caps[i], "%s", t && r->has_gps ? (const char *)t : "");
    }
    return PSK_OK;
}

static int sq_get_media(void *self, int64_t id, psk_result *out, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(sq_local(self), "SELECT " SQLITE_RESULT_COLUMNS " FROM media WHERE id = ? AND error IS NULL",
                           &st, err);
    if (rc) return rc;
    rc = sqlite_fill_result(st, id, out);
    sqlite3_finalize(st);
    if (rc) return psk_fail(err, PSK_ERR_NOT_FOUND, "no item %lld in the library", (long long)id);
    return PSK_OK;
}

static int sq_get_vector(void *self, const store_model *m, int64_t id, float *out, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(sq_local(self),
                           "SELECT vec FROM embeddings WHERE media_id = ? AND model_id = ? ORDER BY frame_ms LIMIT 1",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, m->id);
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != (int)sizeof(float) * m->dim)
        rc = psk_fail(err, PSK_ERR_NOT_FOUND, "no item %lld in the library", (long long)id);
    else memcpy(out, sqlite3_column_blob(st, 0), sizeof(float) * (size_t)m->dim);
    sqlite3_finalize(st);
    return rc;
}

static int facet_query(void *self, const char *sql, psk_facet **out, int *n, psk_error *err) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    int rc = store_prepare(self, sql, &st, err);
    if (rc) return rc;
    int cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            psk_facet *f = psk_realloc(*out, sizeof *f * (size_t)cap);
            if (!f) {
                sqlite3_finalize(st);
                return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            }
            *out = f;
        }
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf((*out)[*n].value, sizeof (*out)[*n].value, "%s", v ? (const char *)v : "");
        (*out)[*n].count = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    sqlite3_finalize(st);
    return PSK_OK;
}

static int sq_facets(void *self, psk_facets **out, psk_error *err) {
    int rc = store_facets(sq_local(self), facet_query, "media", "error IS NULL", out, err);
    if (!rc)
        rc = facet_query(sq_local(self), "SELECT place_cc, count(*) FROM media WHERE error IS NULL AND place_cc != ''"
                                         " GROUP BY place_cc ORDER BY count(*) DESC, place_cc",
                         &(*out)->countries, &(*out)->n_countries, err);
    if (!rc)
        rc = facet_query(sq_local(self), "SELECT place_cc || char(9) || coalesce(place_region, '') || char(9) ||"
                                         " place_city, count(*) FROM media WHERE error IS NULL AND place_cc != ''"
                                         " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10000",
                         &(*out)->places, &(*out)->n_places, err);
    if (rc && *out) {
        psk_facets_free(*out);
        *out = NULL;
    }
    return rc;
}

static int sq_status(void *self, psk_library_status *st, psk_error *err) {
    psk_store *s = sq_local(self);
    st->photos = store_count(s, "SELECT count(*) FROM media WHERE type = 1 AND error IS NULL");
    st->videos = store_count(s, "SELECT count(*) FROM media WHERE type = 2 AND error IS NULL");
    st->failed = store_count(s, "SELECT count(*) FROM media WHERE error IS NOT NULL");
    st->embeddings = store_count(s, "SELECT count(*) FROM embeddings");
    st->schema_version = (int)store_count(s, "PRAGMA user_version");
    st->faces = store_count(s, "SELECT count(*) FROM faces");
    char people_sql[200];
    snprintf(people_sql, sizeof people_sql,
             "SELECT count(*) FROM (SELECT p.id FROM people p LEFT JOIN faces f ON f.person_id = p.id GROUP BY p.id"
             " HAVING count(f.id) >= %d OR p.name IS NOT NULL)", PSK_PEOPLE_MIN_FACES);
    st->people = store_count(s, people_sql);
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

static int sq_errors(void *self, psk_error_row_fn fn, void *user, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(sq_local(self), "SELECT path, error FROM media WHERE error IS NOT NULL ORDER BY path", &st,
                           err);
    if (rc) return rc;
    while (sqlite3_step(st) == SQLITE_ROW)
        fn(user, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1));
    sqlite3_finalize(st);
    return PSK_OK;
}

static int sq_text_find(void *self, const char *folded_query, int limit, store_text_fn fn, void *user,
                        psk_error *err) {
    return store_text_find(sq_local(self), folded_query, limit, fn, user, err);
}

static int sq_text_of(void *self, int64_t id, char **folded, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(sq_local(self), "SELECT folded FROM media_text_fts WHERE rowid = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW && !(*folded = psk_strdup((const char *)sqlite3_column_text(st, 0))))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    sqlite3_finalize(st);
    return rc;
}

const store_ops store_sqlite_ops = {
    .kind = "SQLite",
    .caps = PSK_STORE_CAP_ROW_IDS | PSK_STORE_CAP_SIMILAR_BY_ID | PSK_STORE_CAP_FACETS | PSK_STORE_CAP_ERRORS |
            PSK_STORE_CAP_IMPORT | PSK_STORE_CAP_LOCAL_INDEX | PSK_STORE_CAP_DUPLICATES |
            PSK_STORE_CAP_TEXT |
            PSK_STORE_CAP_PLACES | PSK_STORE_CAP_NEAR | PSK_STORE_CAP_PEOPLE,
    .close = sq_close,
    .shown = sq_shown,
    .identity = sq_shown,
    .current_model = sq_current_model,
    .model_ensure = sq_model_ensure,
    .refresh_index = sqlite_refresh_index,
    .search = sqlite_search,
    .get_media = sq_get_media,
    .get_vector = sq_get_vector,
    .facets = sq_facets,
    .status = sq_status,
    .errors = sq_errors,
    .local_store = sq_local,
    .duplicates = sqlite_duplicates,
    .dup_update = sqlite_dups_update,
    .dup_groups_of = sqlite_dup_groups_of,
    .text_find = sq_text_find,
    .text_of = sq_text_of,
    .people_group = sqlite_people_group,
    .people = sqlite_people,
    .person_faces = sqlite_person_faces,
    .face_get = sqlite_face_get,
    .media_faces = sqlite_media_faces,
    .people_edit = sqlite_people_edit,
    .people_of = sqlite_people_of,
    .browse = sqlite_browse,
    .person_names = sqlite_person_names,
};
