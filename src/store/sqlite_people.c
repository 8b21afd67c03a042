/* Faces and people in the SQLite store (schema 7: faces, people, face_scans; see store.h): writing the faces an
 * index run finds, grouping them (src/people/group.c, over these tables), listing people and their photos, the
 * user's edits, and the person condition's helpers. */
#include "sqlite_backend.h"
#include "../people/people.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static psk_store *store_of(void *self) { return ((sqlite_backend *)self)->store; }

/* Room for one more element in *arr (n used of *cap, each size bytes), doubling; false without memory. */
static bool grow(void *arr, int n, int *cap, size_t size) {
    void **a = arr;
    if (n < *cap) return true;
    int c = *cap ? *cap * 2 : 32;
    void *g = psk_realloc(*a, size * (size_t)c);
    if (!g) return false;
    *a = g;
    *cap = c;
    return true;
}

static int step_done(psk_store *s, sqlite3_stmt *st, const char *what, psk_error *err) {
    int rc = sqlite3_step(st) == SQLITE_DONE ? PSK_OK : store_fail(s, err, what);
    sqlite3_reset(st);
    return rc;
}

/* A media row's faces before they are replaced: a face found again (within the threshold of an old one) keeps the
 * old one's person and who placed it, so that a changed file's named people and the user's choices survive. */
typedef struct old_face {
    float desc[PSK_FACE_DIM];
    int64_t person;
    int assigned;
} old_face;

static int load_old_faces(psk_store *s, int64_t media_id, old_face **out, int *n, psk_error *err) {
    sqlite3_stmt *st;
    *out = NULL, *n = 0;
    int rc = store_prepare(s, "SELECT descriptor, coalesce(person_id, 0), assigned FROM faces WHERE media_id = ?", &st,
                           err);
    int cap = 0;
    if (!rc) sqlite3_bind_int64(st, 1, media_id);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != (int)sizeof(float) * PSK_FACE_DIM) continue;
        if (!grow(out, *n, &cap, sizeof **out)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy((*out)[*n].desc, sqlite3_column_blob(st, 0), sizeof(float) * PSK_FACE_DIM);
        (*out)[*n].person = sqlite3_column_int64(st, 1);
        (*out)[*n].assigned = sqlite3_column_int(st, 2);
        (*n)++;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_forget_faces(psk_store *s, int64_t media_id, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "DELETE FROM faces WHERE media_id = ?1; ", &st, err);
    if (!rc) {
        sqlite3_bind_int64(st, 1, media_id);
        rc = step_done(s, st, "removing a file's faces", err);
        sqlite3_finalize(st);
    }
    if (!rc && !(rc = store_prepare(s, "DELETE FROM face_scans WHERE media_id = ?", &st, err))) {
        sqlite3_bind_int64(st, 1, media_id);
        rc = step_done(s, st, "removing a file's faces", err);
        sqlite3_finalize(st);
    }
    return rc;
}

int store_put_faces(psk_store *s, int64_t media_id, const store_face *faces, int n, psk_error *err) {
    old_face *old = NULL;
    int n_old = 0;
    int rc = load_old_faces(s, media_id, &old, &n_old, err);
    if (!rc) rc = store_forget_faces(s, media_id, err);
    sqlite3_stmt *st = NULL;
    if (!rc)
        rc = store_prepare(s, "INSERT INTO faces(media_id, frame_ms, x, y, w, h, score, descriptor, person_id, assigned)"
                              " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           &st, err);
    for (int i = 0; !rc && i < n; i++) {
        const store_face *f = &faces[i];
        int best = -1;
        float best_d = PSK_FACE_SAME_PERSON;
        for (int j = 0; j < n_old; j++) {
            float d = psk_face_distance(f->desc, old[j].desc);
            if (d < best_d && (old[j].person || old[j].assigned)) best = j, best_d = d;
        }
        sqlite3_bind_int64(st, 1, media_id);
        sqlite3_bind_int64(st, 2, f->frame_ms);
        for (int k = 0; k < 4; k++) sqlite3_bind_double(st, 3 + k, f->box[k]);
        sqlite3_bind_double(st, 7, f->score);
        sqlite3_bind_blob(st, 8, f->desc, (int)sizeof f->desc, SQLITE_STATIC);
        if (best >= 0 && old[best].person) sqlite3_bind_int64(st, 9, old[best].person);
        else sqlite3_bind_null(st, 9);
        sqlite3_bind_int(st, 10, best >= 0 ? old[best].assigned : 0);
        rc = step_done(s, st, "writing a face", err);
    }
    sqlite3_finalize(st);
    psk_free(old);
    if (!rc && !(rc = store_prepare(s, "INSERT OR REPLACE INTO face_scans(media_id, n_faces) VALUES(?, ?)", &st, err))) {
        sqlite3_bind_int64(st, 1, media_id);
        sqlite3_bind_int(st, 2, n);
        rc = step_done(s, st, "recording a face scan", err);
        sqlite3_finalize(st);
    }
    return rc;
}

/* Unnamed people left without faces go; covers that left their person are forgotten. */
static int people_tidy(psk_store *s, psk_error *err) {
    return store_exec(s,
                      "DELETE FROM people WHERE name IS NULL AND NOT EXISTS (SELECT 1 FROM faces WHERE person_id ="
                      " people.id);"
                      "UPDATE people SET cover_face_id = NULL WHERE cover_face_id IS NOT NULL AND NOT EXISTS (SELECT 1"
                      " FROM faces WHERE id = people.cover_face_id AND person_id = people.id);",
                      err);
}

/* ---- grouping (src/people/group.c, over these tables) ---- */

static int load_faces(void *self, people_faces *f, const char *where, bool keep_label, psk_error *err) {
    psk_store *s = self;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id, descriptor, coalesce(person_id, 0) FROM faces WHERE %s ORDER BY id", where);
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 1) != (int)sizeof(float) * PSK_FACE_DIM) continue;
        if (people_faces_add(f, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 2), sqlite3_column_blob(st, 1),
                             keep_label))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory grouping faces");
    }
    sqlite3_finalize(st);
    return rc;
}

static int people_ids(void *self, int64_t **ids, int *n, psk_error *err) {
    psk_store *s = self;
    sqlite3_stmt *st;
    *ids = NULL, *n = 0;
    int rc = store_prepare(s, "SELECT id FROM people ORDER BY name IS NULL, id", &st, err), cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (!grow(ids, *n, &cap, sizeof **ids)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

/* Writes the labels: a new group (label -k) becomes a new person; each face whose person changed is updated. */
static int write_groups(void *self, const people_faces *f, int64_t n_new, psk_error *err) {
    psk_store *s = self;
    int64_t *made = psk_calloc((size_t)n_new + 1, sizeof *made);
    if (!made) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    sqlite3_stmt *mk = NULL, *up = NULL;
    int rc = store_prepare(s, "INSERT INTO people(created_at) VALUES(?) RETURNING id", &mk, err);
    if (!rc) rc = store_prepare(s, "UPDATE faces SET person_id = ? WHERE id = ?", &up, err);
    for (int i = 0; !rc && i < f->n; i++) {
        int64_t person = f->label[i];
        if (person < 0) {
            int64_t k = -person;
            if (!made[k]) {
                sqlite3_bind_int64(mk, 1, (int64_t)time(NULL));
                if (sqlite3_step(mk) == SQLITE_ROW) made[k] = sqlite3_column_int64(mk, 0);
                else rc = store_fail(s, err, "making a person");
                sqlite3_reset(mk);
            }
            person = made[k];
        }
        if (rc || person == f->before[i]) continue;
        if (person) sqlite3_bind_int64(up, 1, person);
        else sqlite3_bind_null(up, 1);
        sqlite3_bind_int64(up, 2, f->id[i]);
        rc = step_done(s, up, "placing a face", err);
    }
    sqlite3_finalize(mk);
    sqlite3_finalize(up);
    psk_free(made);
    return rc;
}

int sqlite_people_group(void *self, bool recluster, psk_error *err) {
    psk_store *s = store_of(self);
    /* a run that found no new face has nothing to group (and reads no descriptor) */
    if (!recluster && store_count(s, "SELECT count(*) FROM faces WHERE person_id IS NULL AND assigned = 0") == 0)
        return PSK_OK;
    int rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    people_store st = {s, load_faces, people_ids, write_groups};
    rc = people_group_faces(&st, recluster, err);
    if (!rc) rc = people_tidy(s, err);
    if (!rc) rc = store_exec(s, "COMMIT", err);
    else store_exec(s, "ROLLBACK", NULL);
    return rc;
}

/* ---- reading ---- */

static void text_into(sqlite3_stmt *st, int col, char *buf, size_t cap) {
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

int sqlite_people(void *self, int min_faces, const psk_filter *f, psk_person **out, int *n, psk_error *err) {
    psk_store *s = store_of(self);
    sqlite3_stmt *st = NULL, *cover;
    *out = NULL, *n = 0;
    /* with a filter: only the faces in the photos it selects count, and people with none there are left out */
    psk_buf where = {0};
    sql_binds binds = {0};
    bool any = false;
    int rc = f ? filter_sql(f, &where, &binds, &any, err) : PSK_OK;
    psk_buf sql = {0};
    psk_buf_printf(&sql,
                   "SELECT p.id, p.name, count(f.id), count(DISTINCT f.media_id), coalesce(p.cover_face_id, (SELECT"
                   " f2.id FROM faces f2 WHERE f2.person_id = p.id ORDER BY f2.score DESC, f2.id LIMIT 1))"
                   " FROM people p LEFT JOIN faces f ON f.person_id = p.id%s%s%s GROUP BY p.id"
                   " HAVING %s(count(f.id) >= ? OR p.name IS NOT NULL) ORDER BY p.name IS NULL, count(f.id) DESC,"
                   " p.id",
                   any ? " AND f.media_id IN (SELECT id FROM media WHERE error IS NULL" : "",
                   any ? where.data : "", any ? ")" : "", any ? "count(f.id) > 0 AND " : "");
    if (!rc && (sql.failed || where.failed)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) rc = store_prepare(s, sql.data, &st, err);
    psk_buf_free(&sql);
    psk_buf_free(&where);
    if (!rc && any) sql_binds_sqlite(&binds, st, 0);
    int min_at = any ? binds.n + 1 : 1;
    if (rc) {
        sql_binds_free(&binds);
        return rc;
    }
    if ((rc = store_prepare(s, "SELECT m.path, f.x, f.y, f.w, f.h, f.frame_ms FROM faces f JOIN media m ON"
                               " m.id = f.media_id WHERE f.id = ?",
                            &cover, err))) {
        sqlite3_finalize(st);
        sql_binds_free(&binds);
        return rc;
    }
    sqlite3_bind_int(st, min_at, min_faces > 0 ? min_faces : PSK_PEOPLE_MIN_FACES);
    int cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (!grow(out, *n, &cap, sizeof **out)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        psk_person *p = &(*out)[(*n)++];
        memset(p, 0, sizeof *p);
        p->id = sqlite3_column_int64(st, 0);
        text_into(st, 1, p->name, sizeof p->name);
        p->faces = sqlite3_column_int64(st, 2);
        p->photos = sqlite3_column_int64(st, 3);
        p->cover_face = sqlite3_column_int64(st, 4);
        p->cover_frame_ms = -1;
        sqlite3_reset(cover);
        sqlite3_bind_int64(cover, 1, p->cover_face);
        if (p->cover_face && sqlite3_step(cover) == SQLITE_ROW) {
            text_into(cover, 0, p->cover_path, sizeof p->cover_path);
            for (int k = 0; k < 4; k++) p->cover_box[k] = (float)sqlite3_column_double(cover, 1 + k);
            p->cover_frame_ms = sqlite3_column_int64(cover, 5);
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(cover);
    sql_binds_free(&binds);
    if (rc) {
        psk_free(*out);
        *out = NULL, *n = 0;
    }
    return rc;
}

static bool exists(psk_store *s, const char *sql, int64_t id) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) return false;
    sqlite3_bind_int64(st, 1, id);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int no_person(psk_store *s, int64_t id, psk_error *err) {
    return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no person %lld (see 'photoseek people')", s->path, (long long)id);
}

#define FACE_REF_SQL                                                                                                   \
    "SELECT f.id, f.media_id, coalesce(f.person_id, 0), m.path, f.x, f.y, f.w, f.h, f.score, f.frame_ms,"             \
    " coalesce(m.taken_at, 0), f.assigned FROM faces f JOIN media m ON m.id = f.media_id "

static void face_ref_row(sqlite3_stmt *st, psk_face_ref *f) {
    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(st, 0);
    f->media_id = sqlite3_column_int64(st, 1);
    f->person = sqlite3_column_int64(st, 2);
    text_into(st, 3, f->path, sizeof f->path);
    for (int k = 0; k < 4; k++) f->box[k] = (float)sqlite3_column_double(st, 4 + k);
    f->score = (float)sqlite3_column_double(st, 8);
    f->frame_ms = sqlite3_column_int64(st, 9);
    f->taken_at = sqlite3_column_int64(st, 10);
    f->by_user = sqlite3_column_int(st, 11);
}

/* The face rows a statement of FACE_REF_SQL with one id to bind selects, into *out. */
static int face_refs(psk_store *s, const char *sql, int64_t id, psk_face_ref **out, int *n, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    int cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (!grow(out, *n, &cap, sizeof **out)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        face_ref_row(st, &(*out)[(*n)++]);
    }
    sqlite3_finalize(st);
    if (rc) {
        psk_free(*out);
        *out = NULL, *n = 0;
    }
    return rc;
}

int sqlite_person_faces(void *self, int64_t person, psk_face_ref **out, int *n, psk_error *err) {
    psk_store *s = store_of(self);
    *out = NULL, *n = 0;
    if (!exists(s, "SELECT 1 FROM people WHERE id = ?", person)) return no_person(s, person, err);
    return face_refs(s, FACE_REF_SQL "WHERE f.person_id = ? ORDER BY m.taken_at DESC, m.id DESC, f.id", person, out, n,
                     err);
}

int sqlite_media_faces(void *self, int64_t media_id, psk_face_ref **out, int *n, psk_error *err) {
    psk_store *s = store_of(self);
    *out = NULL, *n = 0;
    if (!exists(s, "SELECT 1 FROM media WHERE id = ? AND error IS NULL", media_id))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no item %lld", s->path, (long long)media_id);
    return face_refs(s, FACE_REF_SQL "WHERE f.media_id = ? ORDER BY f.frame_ms, f.id", media_id, out, n, err);
}

int sqlite_face_get(void *self, int64_t face, psk_face_ref *out, psk_error *err) {
    psk_store *s = store_of(self);
    sqlite3_stmt *st;
    int rc = store_prepare(s, FACE_REF_SQL "WHERE f.id = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, face);
    if (sqlite3_step(st) == SQLITE_ROW) face_ref_row(st, out);
    else rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no face %lld", s->path, (long long)face);
    sqlite3_finalize(st);
    return rc;
}

/* ---- the user's edits ---- */

static int run_sql(psk_store *s, const char *sql, int64_t a, int64_t b, const char *text, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    if (rc) return rc;
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1) sqlite3_bind_int64(st, 1, a);
    if (n >= 2) sqlite3_bind_int64(st, 2, b);
    if (n >= 3 && text) sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    rc = step_done(s, st, "changing people", err);
    sqlite3_finalize(st);
    return rc;
}

static int64_t person_named(psk_store *s, const char *name) {
    sqlite3_stmt *st;
    int64_t id = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM people WHERE name = ? COLLATE NOCASE", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

static int edit(psk_store *s, const store_people_edit *e, psk_error *err) {
    switch (e->op) {
    case PEOPLE_NAME: {
        if (!exists(s, "SELECT 1 FROM people WHERE id = ?", e->person)) return no_person(s, e->person, err);
        bool unname = !e->name || !*e->name;
        int64_t other = unname ? 0 : person_named(s, e->name);
        int rc = people_name_check(e->person, e->name, other, err);
        if (rc) return rc;
        return run_sql(s, unname ? "UPDATE people SET name = NULL WHERE id = ?1 AND ?2 = ?2"
                                 : "UPDATE people SET name = ?3 WHERE id = ?1 AND ?2 = ?2",
                       e->person, 0, e->name, err);
    }
    case PEOPLE_MERGE: {
        if (!exists(s, "SELECT 1 FROM people WHERE id = ?", e->person)) return no_person(s, e->person, err);
        if (!exists(s, "SELECT 1 FROM people WHERE id = ?", e->other)) return no_person(s, e->other, err);
        if (e->person == e->other)
            return psk_fail(err, PSK_ERR_INVALID_ARG, "merge: person %lld is the same person", (long long)e->person);
        int rc = run_sql(s, "UPDATE faces SET person_id = ?1, assigned = 1 WHERE person_id = ?2", e->person, e->other,
                         NULL, err);
        /* into keeps its name; a name only `from` had moves over (once `from` is gone: names are unique) */
        char name[128] = "";
        sqlite3_stmt *st;
        if (!rc && !(rc = store_prepare(s, "SELECT name FROM people WHERE id = ?", &st, err))) {
            sqlite3_bind_int64(st, 1, e->other);
            if (sqlite3_step(st) == SQLITE_ROW) text_into(st, 0, name, sizeof name);
            sqlite3_finalize(st);
        }
        if (!rc) rc = run_sql(s, "DELETE FROM people WHERE id = ?2 AND ?1 = ?1", e->person, e->other, NULL, err);
        if (!rc && name[0])
            rc = run_sql(s, "UPDATE people SET name = ?3 WHERE id = ?1 AND name IS NULL AND ?2 = ?2", e->person, 0, name,
                         err);
        return rc;
    }
    case PEOPLE_UNASSIGN:
        if (!exists(s, "SELECT 1 FROM faces WHERE id = ?", e->person))
            return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no face %lld (face ids: 'photoseek people --photos ID')",
                            s->path, (long long)e->person);
        return run_sql(s, "UPDATE faces SET person_id = NULL, assigned = 1 WHERE id = ?1 AND ?2 = ?2", e->person, 0,
                       NULL, err);
    case PEOPLE_SPLIT: {
        for (int i = 0; i < e->n_faces; i++)
            if (!exists(s, "SELECT 1 FROM faces WHERE id = ?", e->faces[i]))
                return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no face %lld (face ids: 'photoseek people --photos ID')",
                                s->path, (long long)e->faces[i]);
        sqlite3_stmt *st;
        int rc = store_prepare(s, "INSERT INTO people(created_at) VALUES(?) RETURNING id", &st, err);
        if (rc) return rc;
        sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
        if (sqlite3_step(st) == SQLITE_ROW) *e->made = sqlite3_column_int64(st, 0);
        else rc = store_fail(s, err, "making a person");
        sqlite3_finalize(st);
        for (int i = 0; !rc && i < e->n_faces; i++)
            rc = run_sql(s, "UPDATE faces SET person_id = ?1, assigned = 1 WHERE id = ?2", *e->made, e->faces[i], NULL,
                         err);
        return rc;
    }
    }
    return psk_fail(err, PSK_ERR_INVALID_ARG, "unknown change to people");
}

int sqlite_people_edit(void *self, const store_people_edit *e, psk_error *err) {
    psk_store *s = store_of(self);
    if (!s->writable) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: opened read-only", s->path);
    int rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    if (!(rc = edit(s, e, err))) rc = people_tidy(s, err);
    if (!rc) return store_exec(s, "COMMIT", err);
    store_exec(s, "ROLLBACK", NULL);
    return rc;
}

/* ---- searching by person ---- */

int sqlite_people_of(void *self, psk_result *r, int n, psk_error *err) {
    psk_store *s = store_of(self);
    sqlite3_stmt *st;
    int rc = store_prepare(s,
                           "SELECT DISTINCT p.name FROM faces f JOIN people p ON p.id = f.person_id"
                           " WHERE f.media_id = ? AND p.name IS NOT NULL ORDER BY p.name",
                           &st, err);
    for (int i = 0; !rc && i < n; i++) {
        size_t at = 0;
        r[i].people[0] = 0;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, r[i].id);
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *name = (const char *)sqlite3_column_text(st, 0);
            size_t len = strlen(name);
            if (at + len + 2 > sizeof r[i].people) break; /* the names that fit */
            at += (size_t)snprintf(r[i].people + at, sizeof r[i].people - at, "%s%s", at ? "\n" : "", name);
        }
    }
    sqlite3_finalize(st);
    return rc;
}

int sqlite_browse(void *self, const psk_filter *f, int k, psk_result **out, int *n, psk_error *err) {
    psk_store *s = store_of(self);
    psk_buf sql = {0};
    sql_binds binds = {0};
    bool any = false;
    *out = NULL, *n = 0;
    psk_buf_printf(&sql, "SELECT id FROM media WHERE error IS NULL");
    int rc = filter_sql(f, &sql, &binds, &any, err);
    psk_buf_printf(&sql, " ORDER BY taken_at DESC, id DESC LIMIT %d", k);
    sqlite3_stmt *st = NULL, *row = NULL;
    if (!rc && sql.failed) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) rc = store_prepare(s, sql.data, &st, err);
    if (!rc) rc = store_prepare(s, "SELECT " SQLITE_RESULT_COLUMNS " FROM media WHERE id = ?", &row, err);
    psk_result *res = rc ? NULL : psk_calloc((size_t)k, sizeof *res);
    if (!rc && !res) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) sql_binds_sqlite(&binds, st, 0);
    while (!rc && *n < k && sqlite3_step(st) == SQLITE_ROW) {
        psk_result *r = &res[*n];
        if (sqlite_fill_result(row, sqlite3_column_int64(st, 0), r) != PSK_OK) continue;
        r->score = 1;
        r->frame_ms = -1;
        (*n)++;
    }
    sqlite3_finalize(st);
    sqlite3_finalize(row);
    psk_buf_free(&sql);
    sql_binds_free(&binds);
    if (rc) {
        psk_free(res);
        *n = 0;
        return rc;
    }
    *out = res;
    return PSK_OK;
}

int sqlite_person_names(void *self, int (*fn)(void *user, const char *name), void *user, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(store_of(self),
                           "SELECT name FROM people WHERE name IS NOT NULL UNION SELECT j.value FROM media m,"
                           " json_each(CASE WHEN json_valid(m.people) THEN m.people ELSE '[]' END) j"
                           " WHERE m.people IS NOT NULL AND j.type = 'text'",
                           &st, err);
    while (!rc && sqlite3_step(st) == SQLITE_ROW)
        if (fn(user, (const char *)sqlite3_column_text(st, 0))) break;
    sqlite3_finalize(st);
    return rc;
}
