/* Faces and people in the PostgreSQL store (photoseek_faces, photoseek_people, photoseek_face_scans: pg.h): the
 * faces that come with put_items, grouping them into people, listing people and their photos, the user's edits,
 * and searching by person. The same rules as sqlite_people.c, in set-based statements (the grouping:
 * src/people/group.c, over these tables): a face found again in a changed file keeps its person through pgvector's
 * `<->` (L2). */
#include "../people/people.h"
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

_Static_assert(PSK_FACE_DIM == 128, "the schema's vector(" PG_FACE_DIM ") is PSK_FACE_DIM");

/* ---- faces from put_items ---- */

/* A file's new faces replace its old ones in one statement: each new face takes the person (and who placed it) of
 * the nearest old face within the threshold that had one, as store_put_faces does (the old faces: the row's own,
 * and those of the row at the path it moved from, $6); the scan is recorded. */
static const char *put_faces_sql =
    "WITH gone AS (DELETE FROM photoseek_faces WHERE media_id = $1 RETURNING id, descriptor, person_id, assigned),"
    " old AS (SELECT * FROM gone UNION ALL SELECT f.id, f.descriptor, f.person_id, f.assigned FROM photoseek_faces f"
    "  JOIN photoseek_media m ON m.id = f.media_id WHERE m.path = $6::text AND m.id <> $1),"
    " new AS (SELECT u.i, u.fr, ($3::real[])[5 * u.i - 4:5 * u.i] AS b,"
    "  (($4::real[])[" PG_FACE_DIM " * u.i - " PG_FACE_DIM " + 1:" PG_FACE_DIM " * u.i])::vector(" PG_FACE_DIM ") AS d"
    "  FROM unnest($2::bigint[]) WITH ORDINALITY AS u(fr, i)),"
    " put AS (INSERT INTO photoseek_faces(media_id, frame_ms, x, y, w, h, score, descriptor, person_id, assigned)"
    "  SELECT $1, n.fr, n.b[1], n.b[2], n.b[3], n.b[4], n.b[5], n.d, o.person_id, coalesce(o.assigned, 0) FROM new n"
    "  LEFT JOIN LATERAL (SELECT person_id, assigned FROM old WHERE (person_id IS NOT NULL OR assigned = 1) AND"
    "  old.descriptor <-> n.d < $5::float8 ORDER BY old.descriptor <-> n.d, old.id LIMIT 1) o ON true ORDER BY n.i)"
    " INSERT INTO photoseek_face_scans(media_id, n_faces) VALUES ($1, cardinality($2::bigint[]))"
    " ON CONFLICT (media_id) DO UPDATE SET n_faces = excluded.n_faces";

int pg_faces_prepare(pg_store *s, psk_error *err) {
    int rc = pg_prepare(s, "psk_put_faces", put_faces_sql, 6, err);
    if (!rc)
        rc = pg_prepare(s, "psk_del_faces",
                        "WITH f AS (DELETE FROM photoseek_faces WHERE media_id = $1)"
                        " DELETE FROM photoseek_face_scans WHERE media_id = $1",
                        1, err);
    return rc;
}

int pg_faces_send(pg_store *s, const char *id_s, const store_extra *x, int *sent, psk_error *err) {
    *sent = 0;
    if (!x) return PSK_OK;
    if (!x->face_scanned) { /* not looked at (a changed file, faces off): the old faces are not this file's */
        const char *v[1] = {id_s};
        if (!PQsendQueryPrepared(s->conn, "psk_del_faces", 1, v, NULL, NULL, 0)) return pg_fail(s, err, "sending", NULL);
        *sent = 1;
        return PSK_OK;
    }
    psk_buf fr = {0}, box = {0}, desc = {0};
    psk_buf_append(&fr, "{", 1), psk_buf_append(&box, "{", 1), psk_buf_append(&desc, "{", 1);
    for (int i = 0; i < x->n_faces; i++) {
        const store_face *f = &x->faces[i];
        psk_buf_printf(&fr, "%s%lld", i ? "," : "", (long long)f->frame_ms);
        psk_buf_printf(&box, "%s%.9g,%.9g,%.9g,%.9g,%.9g", i ? "," : "", f->box[0], f->box[1], f->box[2], f->box[3],
                       f->score);
        for (int d = 0; d < PSK_FACE_DIM; d++) psk_buf_printf(&desc, "%s%.9g", i || d ? "," : "", f->desc[d]);
    }
    psk_buf_append(&fr, "}", 1), psk_buf_append(&box, "}", 1), psk_buf_append(&desc, "}", 1);
    char threshold[32];
    snprintf(threshold, sizeof threshold, "%.9g", PSK_FACE_SAME_PERSON);
    int rc = PSK_OK;
    if (fr.failed || box.failed || desc.failed) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    const char *v[6] = {id_s, fr.data, box.data, desc.data, threshold, x->moved_from};
    if (!rc && !PQsendQueryPrepared(s->conn, "psk_put_faces", 6, v, NULL, NULL, 0)) rc = pg_fail(s, err, "sending", NULL);
    if (!rc) *sent = 1;
    psk_buf_free(&fr), psk_buf_free(&box), psk_buf_free(&desc);
    return rc;
}

/* ---- statements ---- */

/* A statement inside a transaction (no reconnecting: the transaction would be gone); NULL with err filled. */
static PGresult *run(pg_store *s, const char *sql, int n, const char *const *v, const char *what, psk_error *err) {
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, v, NULL, NULL, 0);
    if (pg_ok(r)) return r;
    pg_fail(s, err, what, r);
    PQclear(r);
    return NULL;
}

static int run_done(pg_store *s, const char *sql, int n, const char *const *v, const char *what, psk_error *err) {
    PGresult *r = run(s, sql, n, v, what, err);
    PQclear(r);
    return r ? PSK_OK : PSK_ERR_DB;
}

/* Runs `sql` with ids a and b ($1, $2) and text ($3) as it has placeholders for (n). */
static int run_ids(pg_store *s, const char *sql, int n, int64_t a, int64_t b, const char *text, psk_error *err) {
    char as[24], bs[24];
    snprintf(as, sizeof as, "%lld", (long long)a);
    snprintf(bs, sizeof bs, "%lld", (long long)b);
    const char *v[3] = {as, bs, text};
    return run_done(s, sql, n, v, "changing people", err);
}

static bool exists(pg_store *s, const char *sql, int64_t id) {
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *v[1] = {ids};
    PGresult *r = PQexecParams(s->conn, sql, 1, NULL, v, NULL, NULL, 0);
    bool found = pg_ok(r) && PQntuples(r) > 0;
    PQclear(r);
    return found;
}

static int64_t count_of(pg_store *s, const char *sql) {
    PGresult *r = PQexec(s->conn, sql);
    int64_t n = pg_ok(r) && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

static int begin(pg_store *s, psk_error *err) {
    /* one grouping or edit at a time (workers of shards group after their pushes) */
    int rc = run_done(s, "BEGIN", 0, NULL, "BEGIN", err);
    if (!rc && (rc = run_done(s, "LOCK TABLE photoseek_people, photoseek_faces IN SHARE ROW EXCLUSIVE MODE", 0, NULL,
                              "locking people", err)))
        PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

static int end(pg_store *s, int rc, psk_error *err) {
    if (!rc) return run_done(s, "COMMIT", 0, NULL, "COMMIT", err);
    PQclear(PQexec(s->conn, "ROLLBACK"));
    return rc;
}

/* Unnamed people left without faces go; covers that left their person are forgotten. */
static int people_tidy(pg_store *s, psk_error *err) {
    int rc = run_done(s,
                      "DELETE FROM photoseek_people p WHERE name IS NULL AND NOT EXISTS (SELECT 1 FROM photoseek_faces f"
                      " WHERE f.person_id = p.id)",
                      0, NULL, "tidying people", err);
    if (!rc)
        rc = run_done(s,
                      "UPDATE photoseek_people p SET cover_face_id = NULL WHERE cover_face_id IS NOT NULL AND NOT EXISTS"
                      " (SELECT 1 FROM photoseek_faces f WHERE f.id = p.cover_face_id AND f.person_id = p.id)",
                      0, NULL, "tidying people", err);
    return rc;
}

/* ---- grouping (src/people/group.c, over these tables) ---- */

/* pgvector's text form "[a,b,...]" of PSK_FACE_DIM floats (printed in full: strtof gives them back exactly). */
static bool parse_vector(const char *t, float *out) {
    if (*t++ != '[') return false;
    for (int d = 0; d < PSK_FACE_DIM; d++) {
        char *end;
        out[d] = strtof(t, &end);
        if (end == t || *end != (d + 1 < PSK_FACE_DIM ? ',' : ']')) return false;
        t = end + 1;
    }
    return true;
}

static int load_faces(void *self, people_faces *f, const char *where, bool keep_label, psk_error *err) {
    pg_store *s = self;
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT id, descriptor, coalesce(person_id, 0) FROM photoseek_faces WHERE %s ORDER BY id",
             where);
    PGresult *r = run(s, sql, 0, NULL, "reading faces", err);
    if (!r) return PSK_ERR_DB;
    int rc = PSK_OK;
    float desc[PSK_FACE_DIM];
    for (int i = 0, rows = PQntuples(r); !rc && i < rows; i++) {
        if (!parse_vector(PQgetvalue(r, i, 1), desc))
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: face %s: the descriptor is not %d numbers", s->shown,
                          PQgetvalue(r, i, 0), PSK_FACE_DIM);
        else if (people_faces_add(f, atoll(PQgetvalue(r, i, 0)), atoll(PQgetvalue(r, i, 2)), desc, keep_label))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory grouping faces");
    }
    PQclear(r);
    return rc;
}

static int people_ids(void *self, int64_t **ids, int *n, psk_error *err) {
    pg_store *s = self;
    *ids = NULL, *n = 0;
    PGresult *r = run(s, "SELECT id FROM photoseek_people ORDER BY name IS NULL, id", 0, NULL, "reading people", err);
    if (!r) return PSK_ERR_DB;
    int rows = PQntuples(r);
    if (!(*ids = psk_malloc(sizeof **ids * (size_t)(rows + 1)))) {
        PQclear(r);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < rows; i++) (*ids)[i] = atoll(PQgetvalue(r, i, 0));
    *n = rows;
    PQclear(r);
    return PSK_OK;
}

/* Makes n unnamed people (in one statement), their ids into ids in the order made. */
static int make_people(pg_store *s, int64_t n, int64_t *ids, const char *what, psk_error *err) {
    char now[24], count[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    snprintf(count, sizeof count, "%lld", (long long)n);
    const char *v[2] = {now, count};
    PGresult *r = run(s,
                      "WITH p AS (INSERT INTO photoseek_people(created_at) SELECT $1::bigint FROM"
                      " generate_series(1, $2::bigint) RETURNING id) SELECT id FROM p ORDER BY id",
                      2, v, what, err);
    int rc = r ? PSK_OK : PSK_ERR_DB;
    if (r && PQntuples(r) != n) rc = psk_fail(err, PSK_ERR_DB, "%s: %s: too few made", s->shown, what);
    for (int64_t k = 0; !rc && k < n; k++) ids[k] = atoll(PQgetvalue(r, (int)k, 0));
    PQclear(r);
    return rc;
}

/* Writes the labels: the new groups (label -k) become new people, made in the order the faces first show them
 * (as the SQLite store makes them); each face whose person changed is updated, in one statement. */
static int write_groups(void *self, const people_faces *f, int64_t n_new, psk_error *err) {
    pg_store *s = self;
    int64_t *made = psk_calloc((size_t)n_new + 1, sizeof *made); /* group k: its rank, then its person */
    if (!made) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int64_t n_made = 0;
    for (int i = 0; i < f->n; i++)
        if (f->label[i] < 0 && !made[-f->label[i]]) made[-f->label[i]] = ++n_made;
    int rc = PSK_OK;
    int64_t *ids = NULL;
    if (n_made) {
        if (!(ids = psk_malloc(sizeof *ids * (size_t)n_made))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        else rc = make_people(s, n_made, ids, "making people", err);
    }
    psk_buf fid = {0}, per = {0};
    psk_buf_append(&fid, "{", 1), psk_buf_append(&per, "{", 1);
    int changed = 0;
    for (int i = 0; !rc && i < f->n; i++) {
        int64_t person = f->label[i] < 0 ? ids[made[-f->label[i]] - 1] : f->label[i];
        if (person == f->before[i]) continue;
        psk_buf_printf(&fid, "%s%lld", changed ? "," : "", (long long)f->id[i]);
        psk_buf_printf(&per, "%s%lld", changed ? "," : "", (long long)person);
        changed++;
    }
    psk_buf_append(&fid, "}", 1), psk_buf_append(&per, "}", 1);
    if (!rc && (fid.failed || per.failed)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    const char *v[2] = {fid.data, per.data};
    if (!rc && changed)
        rc = run_done(s,
                      "UPDATE photoseek_faces f SET person_id = nullif(u.p, 0) FROM unnest($1::bigint[], $2::bigint[])"
                      " AS u(id, p) WHERE f.id = u.id",
                      2, v, "placing faces", err);
    psk_buf_free(&fid), psk_buf_free(&per);
    psk_free(ids);
    psk_free(made);
    return rc;
}

int pg_people_group(void *self, bool recluster, psk_error *err) {
    pg_store *s = self;
    /* a run that found no new face has nothing to group (and reads no descriptor) */
    if (!recluster && count_of(s, "SELECT count(*) FROM photoseek_faces WHERE person_id IS NULL AND assigned = 0") == 0)
        return PSK_OK;
    int rc = begin(s, err);
    if (rc) return rc;
    people_store st = {s, load_faces, people_ids, write_groups};
    rc = people_group_faces(&st, recluster, err);
    if (!rc) rc = people_tidy(s, err);
    return end(s, rc, err);
}

/* ---- reading ---- */

/* A read whose $1 is the number `first` and whose $2.. are a filter's values (sql_binds with pg_base 1). */
static PGresult *read_filtered(pg_store *s, const char *sql, int first, const sql_binds *b, const char *what,
                               psk_error *err) {
    char nums[129][24];
    const char *vals[129];
    snprintf(nums[128], sizeof nums[128], "%d", first);
    vals[0] = nums[128];
    sql_binds_pg(b, nums, vals + 1);
    return pg_read(s, sql, b->n + 1, vals, 0, what, err);
}

int pg_people(void *self, int min_faces, const psk_filter *f, psk_person **out, int *n, psk_error *err) {
    pg_store *s = self;
    *out = NULL, *n = 0;
    /* with a filter: only the faces in the photos it selects count, and people with none there are left out */
    psk_buf where = {0}, sql = {0};
    sql_binds binds = {.pg_base = 1}; /* $1 is min_faces */
    bool any = false;
    int rc = f ? filter_sql(f, &where, &binds, &any, err) : PSK_OK;
    psk_buf_printf(&sql,
                   "SELECT q.id, q.name, q.nf, q.np, q.cover, m.path, c.x, c.y, c.w, c.h, c.frame_ms FROM (SELECT p.id,"
                   " p.name, count(f.id) AS nf, count(DISTINCT f.media_id) AS np, coalesce(p.cover_face_id, (SELECT"
                   " f2.id FROM photoseek_faces f2 WHERE f2.person_id = p.id ORDER BY f2.score DESC, f2.id LIMIT 1))"
                   " AS cover FROM photoseek_people p LEFT JOIN photoseek_faces f ON f.person_id = p.id%s%s%s GROUP BY"
                   " p.id HAVING %s(count(f.id) >= $1::bigint OR p.name IS NOT NULL)) q LEFT JOIN photoseek_faces c ON"
                   " c.id = q.cover LEFT JOIN photoseek_media m ON m.id = c.media_id ORDER BY q.name IS NULL, q.nf"
                   " DESC, q.id",
                   any ? " AND f.media_id IN (SELECT id FROM photoseek_media WHERE true" : "", any ? where.data : "",
                   any ? ")" : "", any ? "count(f.id) > 0 AND " : "");
    if (!rc && (sql.failed || where.failed)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int least = min_faces > 0 ? min_faces : PSK_PEOPLE_MIN_FACES;
    PGresult *r = rc ? NULL : read_filtered(s, sql.data, least, &binds, "listing people", err);
    if (!rc && !r) rc = PSK_ERR_DB;
    psk_buf_free(&sql);
    psk_buf_free(&where);
    sql_binds_free(&binds);
    int rows = r ? PQntuples(r) : 0;
    if (!rc && rows && !(*out = psk_calloc((size_t)rows, sizeof **out))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < rows; i++) {
        psk_person *p = &(*out)[i];
        p->id = atoll(PQgetvalue(r, i, 0));
        snprintf(p->name, sizeof p->name, "%s", PQgetvalue(r, i, 1));
        p->faces = atoll(PQgetvalue(r, i, 2));
        p->photos = atoll(PQgetvalue(r, i, 3));
        p->cover_face = atoll(PQgetvalue(r, i, 4));
        p->cover_frame_ms = -1;
        if (!PQgetisnull(r, i, 5)) {
            snprintf(p->cover_path, sizeof p->cover_path, "%s", PQgetvalue(r, i, 5));
            for (int k = 0; k < 4; k++) p->cover_box[k] = strtof(PQgetvalue(r, i, 6 + k), NULL);
            p->cover_frame_ms = atoll(PQgetvalue(r, i, 10));
        }
    }
    PQclear(r);
    if (rc) {
        psk_free(*out);
        *out = NULL;
        return rc;
    }
    *n = rows;
    return PSK_OK;
}

static int no_person(pg_store *s, int64_t id, psk_error *err) {
    return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no person %lld (see 'photoseek people')", s->shown, (long long)id);
}

static int no_face(pg_store *s, int64_t id, psk_error *err) {
    return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no face %lld (face ids: 'photoseek people --photos ID')", s->shown,
                    (long long)id);
}

#define FACE_REF_SQL                                                                                                   \
    "SELECT f.id, f.media_id, coalesce(f.person_id, 0), m.path, f.x, f.y, f.w, f.h, f.score, f.frame_ms,"             \
    " coalesce(m.taken_at, 0), f.assigned FROM photoseek_faces f JOIN photoseek_media m ON m.id = f.media_id "

static void face_ref_row(const PGresult *r, int i, psk_face_ref *f) {
    memset(f, 0, sizeof *f);
    f->id = atoll(PQgetvalue(r, i, 0));
    f->media_id = atoll(PQgetvalue(r, i, 1));
    f->person = atoll(PQgetvalue(r, i, 2));
    snprintf(f->path, sizeof f->path, "%s", PQgetvalue(r, i, 3));
    for (int k = 0; k < 4; k++) f->box[k] = strtof(PQgetvalue(r, i, 4 + k), NULL);
    f->score = strtof(PQgetvalue(r, i, 8), NULL);
    f->frame_ms = atoll(PQgetvalue(r, i, 9));
    f->taken_at = atoll(PQgetvalue(r, i, 10));
    f->by_user = atoi(PQgetvalue(r, i, 11));
}

/* The face refs of a query with one id parameter. */
static int face_refs(pg_store *s, const char *sql, int64_t id, psk_face_ref **out, int *n, psk_error *err) {
    char ids[24];
    snprintf(ids, sizeof ids, "%lld", (long long)id);
    const char *v[1] = {ids};
    PGresult *r = pg_read(s, sql, 1, v, 0, "reading faces", err);
    if (!r) return PSK_ERR_DB;
    int rows = PQntuples(r), rc = PSK_OK;
    if (rows && !(*out = psk_calloc((size_t)rows, sizeof **out))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < rows; i++) face_ref_row(r, i, &(*out)[i]);
    if (!rc) *n = rows;
    PQclear(r);
    return rc;
}

int pg_person_faces(void *self, int64_t person, psk_face_ref **out, int *n, psk_error *err) {
    pg_store *s = self;
    *out = NULL, *n = 0;
    if (!exists(s, "SELECT 1 FROM photoseek_people WHERE id = $1::bigint", person)) return no_person(s, person, err);
    return face_refs(s, FACE_REF_SQL "WHERE f.person_id = $1::bigint ORDER BY m.taken_at DESC NULLS LAST, m.id DESC, f.id",
                     person, out, n, err);
}

int pg_media_faces(void *self, int64_t media_id, psk_face_ref **out, int *n, psk_error *err) {
    pg_store *s = self;
    *out = NULL, *n = 0;
    if (!exists(s, "SELECT 1 FROM photoseek_media WHERE id = $1::bigint", media_id))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no item %lld", s->shown, (long long)media_id);
    return face_refs(s, FACE_REF_SQL "WHERE f.media_id = $1::bigint ORDER BY f.frame_ms, f.id", media_id, out, n, err);
}

int pg_face_get(void *self, int64_t face, psk_face_ref *out, psk_error *err) {
    pg_store *s = self;
    psk_face_ref *f = NULL;
    int n = 0;
    int rc = face_refs(s, FACE_REF_SQL "WHERE f.id = $1::bigint", face, &f, &n, err);
    if (!rc && n == 1) *out = f[0];
    else if (!rc) rc = no_face(s, face, err);
    psk_free(f);
    return rc;
}

/* ---- the user's edits ---- */

static int64_t person_named(pg_store *s, const char *name) {
    const char *v[1] = {name};
    PGresult *r = PQexecParams(s->conn, "SELECT id FROM photoseek_people WHERE lower(name) = lower($1::text)", 1, NULL,
                               v, NULL, NULL, 0);
    int64_t id = pg_ok(r) && PQntuples(r) == 1 ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return id;
}

#define PERSON_EXISTS "SELECT 1 FROM photoseek_people WHERE id = $1::bigint"
#define FACE_EXISTS "SELECT 1 FROM photoseek_faces WHERE id = $1::bigint"

static int edit(pg_store *s, const store_people_edit *e, psk_error *err) {
    switch (e->op) {
    case PEOPLE_NAME: {
        if (!exists(s, PERSON_EXISTS, e->person)) return no_person(s, e->person, err);
        bool unname = !e->name || !*e->name;
        int64_t other = unname ? 0 : person_named(s, e->name);
        int rc = people_name_check(e->person, e->name, other, err);
        if (rc) return rc;
        return unname ? run_ids(s, "UPDATE photoseek_people SET name = NULL WHERE id = $1::bigint", 1, e->person, 0,
                                NULL, err)
                      : run_ids(s, "UPDATE photoseek_people SET name = $3::text WHERE id = $1::bigint AND $2::bigint = 0",
                                3, e->person, 0, e->name, err);
    }
    case PEOPLE_MERGE: {
        if (!exists(s, PERSON_EXISTS, e->person)) return no_person(s, e->person, err);
        if (!exists(s, PERSON_EXISTS, e->other)) return no_person(s, e->other, err);
        if (e->person == e->other)
            return psk_fail(err, PSK_ERR_INVALID_ARG, "merge: person %lld is the same person", (long long)e->person);
        int rc = run_ids(s, "UPDATE photoseek_faces SET person_id = $1::bigint, assigned = 1 WHERE person_id = $2::bigint",
                         2, e->person, e->other, NULL, err);
        /* into keeps its name; a name only `from` had moves over (once `from` is gone: names are unique) */
        char ids[24];
        snprintf(ids, sizeof ids, "%lld", (long long)e->other);
        const char *v[1] = {ids};
        PGresult *r = rc ? NULL : run(s, "DELETE FROM photoseek_people WHERE id = $1::bigint RETURNING name", 1, v,
                                      "changing people", err);
        if (!rc && !r) rc = PSK_ERR_DB;
        if (!rc && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
            rc = run_ids(s, "UPDATE photoseek_people SET name = $3::text WHERE id = $1::bigint AND name IS NULL AND"
                            " $2::bigint = 0", 3, e->person, 0, PQgetvalue(r, 0, 0), err);
        PQclear(r);
        return rc;
    }
    case PEOPLE_UNASSIGN:
        if (!exists(s, FACE_EXISTS, e->person)) return no_face(s, e->person, err);
        return run_ids(s, "UPDATE photoseek_faces SET person_id = NULL, assigned = 1 WHERE id = $1::bigint", 1,
                       e->person, 0, NULL, err);
    case PEOPLE_SPLIT: {
        for (int i = 0; i < e->n_faces; i++)
            if (!exists(s, FACE_EXISTS, e->faces[i])) return no_face(s, e->faces[i], err);
        char now[24];
        snprintf(now, sizeof now, "%lld", (long long)time(NULL));
        const char *v[1] = {now};
        PGresult *r = run(s, "INSERT INTO photoseek_people(created_at) VALUES ($1::bigint) RETURNING id", 1, v,
                          "making a person", err);
        if (!r) return PSK_ERR_DB;
        *e->made = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
        int rc = PSK_OK;
        for (int i = 0; !rc && i < e->n_faces; i++)
            rc = run_ids(s, "UPDATE photoseek_faces SET person_id = $1::bigint, assigned = 1 WHERE id = $2::bigint", 2,
                         *e->made, e->faces[i], NULL, err);
        return rc;
    }
    }
    return psk_fail(err, PSK_ERR_INVALID_ARG, "unknown change to people");
}

int pg_people_edit(void *self, const store_people_edit *e, psk_error *err) {
    pg_store *s = self;
    int rc = begin(s, err);
    if (rc) return rc;
    if (!(rc = edit(s, e, err))) rc = people_tidy(s, err);
    return end(s, rc, err);
}

/* ---- a SQLite library's people, carried by migrate ---- */

/* Appends s to a PostgreSQL array literal as one quoted element (',' before all but the first). */
static void array_text(psk_buf *b, const char *s, bool first) {
    psk_buf_append(b, first ? "\"" : ",\"", first ? 1 : 2);
    for (const char *c = s; *c; c++) {
        if (*c == '"' || *c == '\\') psk_buf_append(b, "\\", 1);
        psk_buf_append(b, c, 1);
    }
    psk_buf_append(b, "\"", 1);
}

typedef struct carried {
    int64_t src, target; /* the SQLite file's person, the store's */
} carried;

static int by_src(const void *a, const void *b) {
    int64_t x = ((const carried *)a)->src, y = ((const carried *)b)->src;
    return x < y ? -1 : x > y;
}

/* The store's person of each carried one, into map (in c->people's order): a name the store has (in any case) is that
 * person, unless an earlier carried person took it (two names that only PostgreSQL's lower() makes one: the later is
 * reported and its person made unnamed); the rest are made. */
static int carry_people(pg_store *s, store_people_carry *c, carried *map, psk_error *err) {
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    int rc = PSK_OK, n_unnamed = 0;
    for (int i = 0; !rc && i < c->n_people; i++) {
        const char *name = c->people[i].name;
        map[i] = (carried){c->people[i].id, 0};
        if (!name || !*name) {
            n_unnamed++;
            continue;
        }
        int64_t found = person_named(s, name);
        bool taken = false;
        for (int j = 0; found && j < i && !taken; j++) taken = map[j].target == found;
        if (taken) {
            size_t at = strlen(c->names_dropped);
            if (at + strlen(name) + 3 < sizeof c->names_dropped)
                snprintf(c->names_dropped + at, sizeof c->names_dropped - at, "%s%s", at ? ", " : "", name);
            c->n_names_dropped++;
            n_unnamed++;
            continue;
        }
        if (found) {
            map[i].target = found;
            continue;
        }
        const char *v[2] = {name, now};
        PGresult *r = run(s, "INSERT INTO photoseek_people(name, created_at) VALUES ($1::text, $2::bigint) RETURNING id", 2,
                          v, "carrying a person", err);
        if (!r) rc = PSK_ERR_DB;
        else map[i].target = atoll(PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    int64_t *made = !rc && n_unnamed ? psk_malloc(sizeof *made * (size_t)n_unnamed) : NULL;
    if (!rc && n_unnamed && !made) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc && n_unnamed) rc = make_people(s, n_unnamed, made, "carrying people", err);
    for (int i = 0, k = 0; !rc && n_unnamed && i < c->n_people; i++)
        if (!map[i].target) map[i].target = made[k++];
    psk_free(made);
    if (!rc) c->n_carried = c->n_people;
    return rc;
}

/* Each face (by its file and place among the file's faces, as put_faces numbers them: by id) to its person, in
 * batches; the faces the store does not have are counted in c->faces_missed. */
#define CARRY_BATCH 2000
static int carry_faces(pg_store *s, store_people_carry *c, const carried *map, psk_error *err) {
    int rc = PSK_OK;
    for (int64_t at = 0; !rc && at < c->n_faces; at += CARRY_BATCH) {
        int64_t end = at + CARRY_BATCH < c->n_faces ? at + CARRY_BATCH : c->n_faces;
        psk_buf path = {0}, ord = {0}, per = {0}, asg = {0};
        psk_buf_append(&path, "{", 1), psk_buf_append(&ord, "{", 1), psk_buf_append(&per, "{", 1);
        psk_buf_append(&asg, "{", 1);
        for (int64_t i = at; i < end; i++) {
            const store_carried_face *f = &c->faces[i];
            carried key = {f->person, 0}, *hit = f->person ? bsearch(&key, map, (size_t)c->n_people, sizeof *map, by_src) : NULL;
            const char *sep = i > at ? "," : "";
            array_text(&path, f->path, i == at);
            psk_buf_printf(&ord, "%s%lld", sep, (long long)f->ordinal);
            psk_buf_printf(&per, "%s%lld", sep, hit ? (long long)hit->target : 0LL);
            psk_buf_printf(&asg, "%s%d", sep, f->assigned ? 1 : 0);
        }
        psk_buf_append(&path, "}", 1), psk_buf_append(&ord, "}", 1), psk_buf_append(&per, "}", 1);
        psk_buf_append(&asg, "}", 1);
        const char *v[4] = {path.data, ord.data, per.data, asg.data};
        PGresult *r = NULL;
        if (path.failed || ord.failed || per.failed || asg.failed) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        else if (!(r = run(s,
                           "WITH u AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::int[]) AS"
                           " u(path, ord, person, assigned)), f AS (SELECT f.id, m.path, row_number() OVER (PARTITION"
                           " BY f.media_id ORDER BY f.id) AS ord FROM photoseek_faces f JOIN photoseek_media m ON"
                           " m.id = f.media_id WHERE m.path = ANY($1::text[])) UPDATE photoseek_faces t SET person_id ="
                           " nullif(u.person, 0), assigned = u.assigned FROM u JOIN f ON f.path = u.path AND f.ord ="
                           " u.ord WHERE t.id = f.id",
                           4, v, "carrying faces to their people", err)))
            rc = PSK_ERR_DB;
        if (r) c->faces_missed += (end - at) - atoll(PQcmdTuples(r));
        PQclear(r);
        psk_buf_free(&path), psk_buf_free(&ord), psk_buf_free(&per), psk_buf_free(&asg);
    }
    return rc;
}

int pg_people_carry(void *self, store_people_carry *c, psk_error *err) {
    pg_store *s = self;
    c->n_carried = c->faces_missed = 0, c->n_names_dropped = 0, c->names_dropped[0] = 0;
    carried *map = psk_calloc((size_t)c->n_people + 1, sizeof *map);
    if (!map) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int rc = begin(s, err);
    if (!rc) {
        rc = carry_people(s, c, map, err);
        qsort(map, (size_t)c->n_people, sizeof *map, by_src);
        if (!rc) rc = carry_faces(s, c, map, err);
        if (!rc) rc = people_tidy(s, err);
        rc = end(s, rc, err);
    }
    psk_free(map);
    return rc;
}

/* ---- searching by person ---- */

static int by_id(const void *a, const void *b) {
    int64_t x = (*(psk_result *const *)a)->id, y = (*(psk_result *const *)b)->id;
    return x < y ? -1 : x > y;
}

int pg_people_of(void *self, psk_result *r, int n, psk_error *err) {
    pg_store *s = self;
    psk_result **sorted = psk_malloc(sizeof *sorted * (size_t)(n ? n : 1));
    psk_buf ids = {0};
    if (!sorted) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    psk_buf_append(&ids, "{", 1);
    for (int i = 0; i < n; i++) {
        sorted[i] = &r[i];
        r[i].people[0] = 0;
        psk_buf_printf(&ids, "%s%lld", i ? "," : "", (long long)r[i].id);
    }
    psk_buf_append(&ids, "}", 1);
    qsort(sorted, (size_t)n, sizeof *sorted, by_id);
    const char *v[1] = {ids.data};
    PGresult *q = ids.failed ? NULL
                             : pg_read(s,
                                       "SELECT DISTINCT f.media_id, p.name COLLATE \"C\" FROM photoseek_faces f JOIN"
                                       " photoseek_people p ON p.id = f.person_id WHERE f.media_id = ANY($1::bigint[])"
                                       " AND p.name IS NOT NULL ORDER BY 1, 2",
                                       1, v, 0, "reading who is in the photos", err);
    int rc = q ? PSK_OK : ids.failed ? psk_fail(err, PSK_ERR_NOMEM, "out of memory") : PSK_ERR_DB;
    for (int i = 0, rows = q ? PQntuples(q) : 0; i < rows; i++) {
        psk_result key = {.id = atoll(PQgetvalue(q, i, 0))}, *kp = &key;
        psk_result **hit = bsearch(&kp, sorted, (size_t)n, sizeof *sorted, by_id);
        for (; hit && hit > sorted && (*(hit - 1))->id == key.id; hit--) {
        }
        for (; hit && hit < sorted + n && (*hit)->id == key.id; hit++) { /* a video's moments are one row each */
            char *people = (*hit)->people;
            size_t at = strlen(people), len = (size_t)PQgetlength(q, i, 1);
            if (at + len + 2 > sizeof (*hit)->people) continue; /* the names that fit */
            snprintf(people + at, sizeof (*hit)->people - at, "%s%s", at ? "\n" : "", PQgetvalue(q, i, 1));
        }
    }
    PQclear(q);
    psk_buf_free(&ids);
    psk_free(sorted);
    return rc;
}

int pg_browse(void *self, const psk_filter *f, int k, psk_result **out, int *n, psk_error *err) {
    pg_store *s = self;
    psk_buf sql = {0};
    sql_binds binds = {.pg_base = 1}; /* $1 is k */
    bool any = false;
    *out = NULL, *n = 0;
    psk_buf_printf(&sql, "SELECT " PG_RESULT_COLUMNS " FROM photoseek_media m WHERE true");
    int rc = filter_sql(f, &sql, &binds, &any, err);
    psk_buf_printf(&sql, " ORDER BY m.taken_at DESC NULLS LAST, m.id DESC LIMIT $1::int");
    if (!rc && sql.failed) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    PGresult *r = rc ? NULL : read_filtered(s, sql.data, k, &binds, "listing photos", err);
    if (!rc && !r) rc = PSK_ERR_DB;
    psk_buf_free(&sql);
    sql_binds_free(&binds);
    int rows = r ? PQntuples(r) : 0;
    psk_result *res = rc || !rows ? NULL : psk_calloc((size_t)rows, sizeof *res);
    if (!rc && rows && !res) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < rows; i++) {
        pg_fill_result(r, i, &res[i]);
        res[i].score = 1;
        res[i].frame_ms = -1;
    }
    PQclear(r);
    if (rc) {
        psk_free(res);
        return rc;
    }
    *out = res, *n = rows;
    return PSK_OK;
}

int pg_person_names(void *self, int (*fn)(void *user, const char *name), void *user, psk_error *err) {
    /* the named people, then the names of Takeout sidecars (photoseek_media.people), as sqlite_person_names */
    PGresult *r = pg_read(self,
                          "SELECT name FROM photoseek_people WHERE name IS NOT NULL UNION SELECT e.v #>> '{}' FROM"
                          " photoseek_media m, jsonb_array_elements(CASE WHEN jsonb_typeof(m.people) = 'array' THEN"
                          " m.people ELSE '[]' END) AS e(v) WHERE m.people IS NOT NULL AND jsonb_typeof(e.v) = 'string'",
                          0, NULL, 0, "reading people's names", err);
    if (!r) return PSK_ERR_DB;
    for (int i = 0, rows = PQntuples(r); i < rows; i++)
        if (fn(user, PQgetvalue(r, i, 0))) break;
    PQclear(r);
    return PSK_OK;
}

int pg_people_status(pg_store *s, psk_library_status *st, psk_error *err) {
    char sql[400];
    snprintf(sql, sizeof sql,
             "SELECT 'faces', count(*) FROM photoseek_faces UNION ALL SELECT 'people', count(*) FROM (SELECT p.id FROM"
             " photoseek_people p LEFT JOIN photoseek_faces f ON f.person_id = p.id GROUP BY p.id HAVING count(f.id)"
             " >= %d OR p.name IS NOT NULL) x",
             PSK_PEOPLE_MIN_FACES);
    psk_facet *rows;
    int n;
    int rc = pg_pairs(s, sql, &rows, &n, err);
    if (rc) return rc;
    for (int i = 0; i < n; i++) *(strcmp(rows[i].value, "faces") == 0 ? &st->faces : &st->people) = rows[i].count;
    psk_free(rows);
    return PSK_OK;
}
