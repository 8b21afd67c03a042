/* Near-duplicates in a PostgreSQL library: the photos with their perceptual hashes (photoseek_media.phash), candidate
 * pairs from each photo's nearest neighbours as pgvector's HNSW index finds them (one LATERAL query: never all
 * pairs), from the hashes' buckets and from capture times, then the grouping of src/dups, as the SQLite store does
 * (sqlite_dups.c). The pairs' cosines are taken from int8 copies of the vectors made as the SQLite store's vector
 * index makes them, so that both stores draw the same lines. After each copy or push the groups at the default
 * threshold are kept in photoseek_dup_groups as the SQLite store keeps dup_groups after an index run: only the
 * photos new since the last update ask pgvector for neighbours, the stored groups are links already made. */
#include "../index/index.h"
#include "dups_out.h"
#include "pg.h"

#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_DUPS_K 8 /* neighbours asked per photo (sqlite_dups.c's DUPS_K) */

typedef struct pg_rows {
    dups_item *items; /* by id */
    char **strs;      /* each item's path and content hash, owned */
    int8_t *q;        /* n x dim, the int8 vectors */
    float *scale;     /* 0: no vector */
    int64_t n;
    int dim;
} pg_rows;

static void rows_free(pg_rows *r) {
    for (int64_t i = 0; r->strs && i < 2 * r->n; i++) psk_free(r->strs[i]);
    psk_free(r->items), psk_free(r->strs), psk_free(r->q), psk_free(r->scale);
}

static int64_t item_of(const pg_rows *r, int64_t id) {
    return store_dups_item_of(r->items, r->n, id);
}

static float item_cos(void *user, int64_t a, int64_t b) {
    const pg_rows *r = user;
    if (a < 0 || b < 0 || !r->scale[a] || !r->scale[b]) return -2.0f;
    const int8_t *qa = r->q + (size_t)a * (size_t)r->dim, *qb = r->q + (size_t)b * (size_t)r->dim;
    int32_t s = 0;
    for (int d = 0; d < r->dim; d++) s += qa[d] * qb[d];
    return (float)s * r->scale[a] * r->scale[b];
}

/* The photos the filter allows, by id. */
static int read_rows(pg_store *s, const psk_filter *f, pg_rows *r, psk_error *err) {
    psk_buf sql = {0};
    sql_binds binds = {.pg_base = 1}; /* $1 is the type */
    bool any = false;
    psk_buf_printf(&sql, "SELECT id, path, coalesce(hash, ''), phash, coalesce(taken_at, 0), coalesce(size, 0),"
                         " coalesce(width, 0), coalesce(height, 0), make, model, taken_src IS NOT DISTINCT FROM 'file'"
                         " FROM photoseek_media WHERE type = $1");
    int rc = filter_sql(f, &sql, &binds, &any, err);
    psk_buf_printf(&sql, " ORDER BY id");
    if (!rc && sql.failed) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    char nums[128][24];
    const char *vals[129] = {"1"};
    sql_binds_pg(&binds, nums, vals + 1);
    PGresult *res = rc ? NULL : pg_read(s, sql.data, binds.n + 1, vals, 0, "reading the photos", err);
    if (!rc && !res) rc = PSK_ERR_DB;
    int rows = res ? PQntuples(res) : 0;
    if (!rc && rows) {
        r->items = psk_calloc((size_t)rows, sizeof *r->items);
        r->strs = psk_calloc(2 * (size_t)rows, sizeof *r->strs);
        if (!r->items || !r->strs) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory reading the photos");
    }
    for (int i = 0; !rc && i < rows; i++) {
        psk_result x = {0};
        snprintf(x.path, sizeof x.path, "%s", PQgetvalue(res, i, 1));
        store_camera_name(PQgetvalue(res, i, 8), PQgetvalue(res, i, 9), x.camera, sizeof x.camera);
        if (!filter_accepts(f, &x)) continue;
        int64_t k = r->n;
        char **str = &r->strs[2 * k];
        if (!(str[0] = psk_strdup(PQgetvalue(res, i, 1))) || !(str[1] = psk_strdup(PQgetvalue(res, i, 2)))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory reading the photos");
            r->n++;
            break;
        }
        dups_item *it = &r->items[k];
        it->id = atoll(PQgetvalue(res, i, 0));
        it->path = str[0];
        it->content_hash = str[1];
        it->has_phash = !PQgetisnull(res, i, 3);
        it->phash = (uint64_t)strtoll(PQgetvalue(res, i, 3), NULL, 10);
        it->taken_at = atoll(PQgetvalue(res, i, 4));
        it->bytes = atoll(PQgetvalue(res, i, 5));
        it->width = atoi(PQgetvalue(res, i, 6));
        it->height = atoi(PQgetvalue(res, i, 7));
        it->time_from_file = PQgetvalue(res, i, 10)[0] == 't';
        r->n++;
    }
    PQclear(res);
    psk_buf_free(&sql);
    sql_binds_free(&binds);
    return rc;
}

/* Each photo's vector (its only one, frame_ms -1) as the SQLite store's index quantises it. */
static int read_vectors(pg_store *s, const store_model *m, pg_rows *r, psk_error *err) {
    r->dim = m->dim;
    r->q = psk_malloc((size_t)(r->n ? r->n : 1) * (size_t)m->dim);
    r->scale = psk_calloc((size_t)(r->n ? r->n : 1), sizeof(float));
    float *v = psk_malloc(sizeof(float) * (size_t)m->dim);
    if (!r->q || !r->scale || !v) {
        psk_free(v);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory reading the vectors");
    }
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT media_id, embedding FROM photoseek_vectors_%lld WHERE frame_ms = -1",
             (long long)m->id);
    PGresult *res = pg_read(s, sql, 0, NULL, 1, "reading the vectors", err);
    int rc = res ? PSK_OK : PSK_ERR_DB;
    for (int i = 0, n = res ? PQntuples(res) : 0; !rc && i < n; i++) {
        uint64_t id_be;
        if (PQgetlength(res, i, 0) != 8 || PQgetlength(res, i, 1) != 4 + 4 * m->dim) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: a vector of model %s is not %d floats", s->shown, m->name, m->dim);
            break;
        }
        memcpy(&id_be, PQgetvalue(res, i, 0), 8);
        int64_t it = item_of(r, (int64_t)be64toh(id_be));
        if (it < 0) continue;
        const unsigned char *b = (const unsigned char *)PQgetvalue(res, i, 1) + 4;
        for (int d = 0; d < m->dim; d++) {
            uint32_t u;
            memcpy(&u, b + 4 * d, 4);
            u = ntohl(u);
            memcpy(&v[d], &u, 4);
        }
        r->scale[it] = vindex_quantize(v, m->dim, r->q + (size_t)it * (size_t)m->dim);
    }
    PQclear(res);
    psk_free(v);
    return rc;
}

/* The nearest photos of each photo with an id above `after` (0: every photo) by pgvector's index, kept where near
 * enough to matter (min_cos). */
static int neighbour_pairs(pg_store *s, const store_model *m, const pg_rows *r, int64_t after,
                           const store_dups_redo *redo, float min_cos, dups_pair **pairs, int64_t *n_pairs,
                           int64_t *cap, psk_error *err) {
    char sql[900];
    snprintf(
        sql, sizeof sql,
        "SELECT a.media_id, n.media_id FROM photoseek_vectors_%1$lld a JOIN photoseek_media am ON am.id = a.media_id"
        " AND am.type = 1 CROSS JOIN LATERAL (SELECT b.media_id FROM photoseek_vectors_%1$lld b JOIN"
        " photoseek_media bm ON bm.id = b.media_id AND bm.type = 1 WHERE b.frame_ms = -1 AND b.media_id <>"
        " a.media_id ORDER BY b.embedding <#> a.embedding LIMIT %2$d) n"
        " WHERE a.frame_ms = -1 AND (a.media_id > %3$lld OR a.media_id = ANY($1::bigint[]))",
        (long long)m->id, PG_DUPS_K, (long long)after);
    psk_buf ids = {0};
    psk_buf_printf(&ids, "{");
    for (size_t i = 0; redo && i < redo->n; i++) psk_buf_printf(&ids, "%s%lld", i ? "," : "", (long long)redo->ids[i]);
    psk_buf_printf(&ids, "}");
    if (ids.failed) {
        psk_buf_free(&ids);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    const char *vals[1] = {ids.data};
    PGresult *res = pg_read(s, sql, 1, vals, 0, "finding each photo's nearest neighbours", err);
    psk_buf_free(&ids);
    if (!res) return PSK_ERR_DB;
    int rc = PSK_OK;
    for (int i = 0, n = PQntuples(res); !rc && i < n; i++) {
        int64_t a = item_of(r, atoll(PQgetvalue(res, i, 0))), b = item_of(r, atoll(PQgetvalue(res, i, 1)));
        if (a < 0 || b < 0 || item_cos((void *)r, a, b) < min_cos) continue;
        if (dups_pairs_push(pairs, n_pairs, cap, a, b, -2.0f)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    PQclear(res);
    return rc;
}

/* The stored groups (photoseek_dup_groups) as links already made, but none of a file changed in place since. */
static int stored_links(pg_store *s, const pg_rows *r, const store_dups_redo *redo, dups_pair **pairs,
                        int64_t *n_pairs, int64_t *cap, psk_error *err) {
    PGresult *res = pg_read(s, "SELECT media_id, group_id, kind FROM photoseek_dup_groups ORDER BY group_id, media_id",
                            0, NULL, 0, "reading the near-duplicate groups", err);
    if (!res) return PSK_ERR_DB;
    int rows = PQntuples(res), rc = PSK_OK;
    store_dup_row *row = psk_calloc((size_t)(rows ? rows : 1), sizeof *row);
    if (!row) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < rows; i++)
        row[i] =
            (store_dup_row){atoll(PQgetvalue(res, i, 0)), atoll(PQgetvalue(res, i, 1)), atoi(PQgetvalue(res, i, 2)), 0};
    PQclear(res);
    if (!rc) rc = store_dups_links(r->items, r->n, row, rows, redo, pairs, n_pairs, cap, err);
    psk_free(row);
    return rc;
}

/* The groups among the photos f allows. With `stored` (an incremental update, sqlite_dups.c's rule), only the
 * photos with ids above `after` and those changed in place (redo) look for partners (pgvector's neighbours, the
 * hash buckets, the capture times), and the groups in photoseek_dup_groups are links already made. */
static int collect(pg_store *s, const store_model *m, const psk_filter *f, const dups_params *p, bool stored,
                   int64_t after, const store_dups_redo *redo, pg_rows *r, dups_group **g, int *ng, psk_error *err) {
    *g = NULL, *ng = 0;
    dups_pair *pairs = NULL;
    int64_t n_pairs = 0, cap = 0;
    bool *probe = NULL;
    int rc = read_rows(s, f, r, err);
    if (!rc) rc = read_vectors(s, m, r, err);
    if (!rc && stored && !(probe = psk_calloc((size_t)(r->n ? r->n : 1), 1)))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !rc && stored && i < r->n; i++)
        probe[i] = r->items[i].id > after || (redo && store_dups_redo_has(redo, r->items[i].id));
    if (!rc) rc = neighbour_pairs(s, m, r, stored ? after : 0, stored ? redo : NULL, p->moment_cos, &pairs, &n_pairs,
                                  &cap, err);
    if (!rc) rc = dups_hash_pairs(r->items, r->n, probe, &pairs, &n_pairs, &cap, err);
    int64_t from = n_pairs;
    if (!rc) rc = dups_time_pairs(r->items, r->n, p->moment_seconds, &pairs, &n_pairs, &cap, err);
    if (!rc && probe) { /* keep the time pairs a new photo is in */
        int64_t k = from;
        for (int64_t i = from; i < n_pairs; i++)
            if (probe[pairs[i].a] || probe[pairs[i].b]) pairs[k++] = pairs[i];
        n_pairs = k;
    }
    for (int64_t i = 0; !rc && i < n_pairs; i++) pairs[i].cos = item_cos(r, pairs[i].a, pairs[i].b);
    if (!rc && stored) rc = stored_links(s, r, redo, &pairs, &n_pairs, &cap, err);
    if (!rc) rc = dups_group_items(r->items, r->n, pairs, n_pairs, p, g, ng, err);
    psk_free(pairs), psk_free(probe);
    return rc;
}

int pg_duplicates(pg_store *s, const store_model *m, const psk_dups_params *pp, psk_dup_group **groups, int *n,
                  psk_error *err) {
    *groups = NULL, *n = 0;
    dups_params p = dups_params_for_threshold(pp->threshold > 0 ? pp->threshold : 0.92f);
    pg_rows r = {0};
    dups_group *g = NULL;
    int ng = 0;
    int rc = collect(s, m, &pp->filter, &p, false, 0, NULL, &r, &g, &ng, err);
    if (!rc) rc = store_dups_output(r.items, g, ng, &p, item_cos, &r, groups, n, err);
    dups_groups_free(g, ng);
    rows_free(&r);
    return rc;
}

/* A statement of the update's transaction ($1.. text parameters). */
static int exec_params(pg_store *s, const char *sql, int n, const char *const *vals, const char *what, psk_error *err) {
    PGresult *res = PQexecParams(s->conn, sql, n, NULL, vals, NULL, NULL, 0);
    int rc = pg_ok(res) ? PSK_OK : pg_fail(s, err, what, res);
    PQclear(res);
    return rc;
}

/* The groups as photoseek_dup_groups rows (group: the keeper's id), written over the old ones, and the largest
 * media id looked at, in the transaction the caller opened. */
static int write_groups(pg_store *s, const pg_rows *r, const dups_group *g, int ng, int64_t max_id, psk_error *err) {
    psk_buf ids = {0}, groups = {0}, kinds = {0};
    psk_buf_printf(&ids, "{"), psk_buf_printf(&groups, "{"), psk_buf_printf(&kinds, "{");
    for (int i = 0, first = 1; i < ng; i++)
        for (int k = 0; k < g[i].n_members; k++, first = 0) {
            psk_buf_printf(&ids, "%s%lld", first ? "" : ",", (long long)r->items[g[i].members[k]].id);
            psk_buf_printf(&groups, "%s%lld", first ? "" : ",", (long long)r->items[g[i].keeper].id);
            psk_buf_printf(&kinds, "%s%d", first ? "" : ",", (int)g[i].kind);
        }
    psk_buf_printf(&ids, "}"), psk_buf_printf(&groups, "}"), psk_buf_printf(&kinds, "}");
    int rc = ids.failed || groups.failed || kinds.failed ? psk_fail(err, PSK_ERR_NOMEM, "out of memory") : PSK_OK;
    if (!rc)
        rc = exec_params(s, "DELETE FROM photoseek_dup_groups", 0, NULL, "clearing the near-duplicate groups", err);
    const char *vals[3] = {ids.data, groups.data, kinds.data};
    if (!rc)
        rc = exec_params(s,
                         "INSERT INTO photoseek_dup_groups(media_id, group_id, kind) SELECT * FROM"
                         " unnest($1::bigint[], $2::bigint[], $3::int[])",
                         3, vals, "recording the near-duplicate groups", err);
    char max_s[32];
    snprintf(max_s, sizeof max_s, "%lld", (long long)max_id);
    vals[0] = max_s;
    if (!rc)
        rc = exec_params(s,
                         "INSERT INTO photoseek_meta(key, value) VALUES ('dups_max_id', $1) ON CONFLICT (key) DO"
                         " UPDATE SET value = excluded.value",
                         1, vals, "recording the near-duplicate groups", err);
    psk_buf_free(&ids), psk_buf_free(&groups), psk_buf_free(&kinds);
    return rc;
}

int pg_dups_update(pg_store *s, const store_model *m, psk_error *err) {
    /* one update at a time (workers push side by side): the lock is held until the transaction ends */
    int rc = exec_params(s, "BEGIN", 0, NULL, "BEGIN", err);
    if (!rc)
        rc = exec_params(s, "SELECT pg_advisory_xact_lock(7072737)", 0, NULL,
                         "waiting for another update of the"
                         " near-duplicate groups",
                         err);
    PGresult *res = rc ? NULL
                       : pg_read(s,
                                 "SELECT coalesce(max(id), 0), (SELECT value FROM photoseek_meta WHERE key ="
                                 " 'dups_max_id'), (SELECT value FROM photoseek_meta WHERE key = 'dups_redo')"
                                 " FROM photoseek_media",
                                 0, NULL, 0, "reading the last near-duplicate update", err);
    if (!rc && !res) rc = PSK_ERR_DB;
    int64_t max_id = res ? atoll(PQgetvalue(res, 0, 0)) : 0, after = res ? atoll(PQgetvalue(res, 0, 1)) : 0;
    /* the files changed in place since (put_items_once appends their ids); pushes beside this update append more,
     * so only the part read here is taken off the list at the end */
    store_dups_redo redo = {0};
    size_t redo_len = res ? strlen(PQgetvalue(res, 0, 2)) : 0;
    if (!rc) rc = store_dups_redo_parse(PQgetvalue(res, 0, 2), &redo, err);
    PQclear(res);
    if (redo.all) after = 0; /* too many changed: everything looks again */
    pg_rows r = {0};
    dups_group *g = NULL;
    int ng = 0;
    int reconnects = s->reconnects;
    if (!rc && (max_id > after || redo.n)) { /* else no new photo, none changed */
        dups_params p = dups_default_params();
        psk_filter all = {0};
        rc = collect(s, m, &all, &p, true, after, &redo, &r, &g, &ng, err);
        /* a connection made again mid-way has lost the transaction and its lock: nothing is written */
        if (!rc && s->reconnects != reconnects)
            rc = psk_fail(err, PSK_ERR_DB,
                          "%s: the connection was lost while updating the near-duplicate groups (they"
                          " are updated at the next run)",
                          s->shown);
        if (!rc) rc = write_groups(s, &r, g, ng, max_id, err);
    }
    if (!rc && redo_len) {
        char len_s[32];
        snprintf(len_s, sizeof len_s, "%zu", redo_len);
        const char *vals[1] = {len_s};
        rc = exec_params(s, "UPDATE photoseek_meta SET value = substr(value, $1::int + 1) WHERE key = 'dups_redo'", 1,
                         vals, "recording the near-duplicate groups", err);
    }
    store_dups_redo_free(&redo);
    if (!rc) rc = exec_params(s, "COMMIT", 0, NULL, "recording the near-duplicate groups", err);
    else PQclear(PQexec(s->conn, "ROLLBACK"));
    dups_groups_free(g, ng);
    rows_free(&r);
    return rc;
}

int pg_dup_groups_of(pg_store *s, psk_result *r, int n, psk_error *err) {
    if (n <= 0) return PSK_OK;
    psk_buf ids = {0};
    for (int i = 0; i < n; i++) psk_buf_printf(&ids, "%s%lld", i ? "," : "{", (long long)r[i].id);
    psk_buf_printf(&ids, "}");
    if (ids.failed) {
        psk_buf_free(&ids);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    /* one query for the page: each result's group and the group's size */
    const char *vals[1] = {ids.data};
    PGresult *res =
        pg_read(s,
                "SELECT d.media_id, d.group_id, (SELECT count(*) FROM photoseek_dup_groups e WHERE"
                " e.group_id = d.group_id) FROM photoseek_dup_groups d WHERE d.media_id = ANY($1::bigint[])",
                1, vals, 0, "reading the results' near-duplicate groups", err);
    psk_buf_free(&ids);
    if (!res) return PSK_ERR_DB;
    int rows = PQntuples(res);
    store_dup_row *row = psk_calloc((size_t)(rows ? rows : 1), sizeof *row);
    for (int i = 0; row && i < rows; i++)
        row[i] =
            (store_dup_row){atoll(PQgetvalue(res, i, 0)), atoll(PQgetvalue(res, i, 1)), 0, atoi(PQgetvalue(res, i, 2))};
    PQclear(res);
    if (!row) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    store_dups_fill(r, n, row, rows);
    psk_free(row);
    return PSK_OK;
}

int pg_dup_members(pg_store *s, int64_t group, int64_t **ids, int *n, psk_error *err) {
    *ids = NULL, *n = 0;
    char g[32];
    snprintf(g, sizeof g, "%lld", (long long)group);
    const char *vals[1] = {g};
    /* the group's id is its keeper's: the keeper first, then the others as indexed */
    PGresult *res = pg_read(s,
                            "SELECT media_id FROM photoseek_dup_groups WHERE group_id = $1 ORDER BY media_id <> $1,"
                            " media_id",
                            1, vals, 0, "reading a near-duplicate group", err);
    if (!res) return PSK_ERR_DB;
    int rows = PQntuples(res);
    int64_t *out = psk_malloc(sizeof *out * (size_t)(rows ? rows : 1));
    for (int i = 0; out && i < rows; i++) out[i] = atoll(PQgetvalue(res, i, 0));
    PQclear(res);
    if (!out) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    *ids = out, *n = rows;
    return PSK_OK;
}
