/* Near-duplicates in a PostgreSQL library: the photos with their perceptual hashes (photoseek_media.phash), candidate
 * pairs from each photo's nearest neighbours as pgvector's HNSW index finds them (one LATERAL query: never all
 * pairs), from the hashes' buckets and from capture times, then the grouping of src/dups, as the SQLite store does
 * (sqlite_dups.c). The pairs' cosines are taken from int8 copies of the vectors made as the SQLite store's vector
 * index makes them, so that both stores draw the same lines. */
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
    int64_t lo = 0, hi = r->n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (r->items[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->n && r->items[lo].id == id ? lo : -1;
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
                         " coalesce(width, 0), coalesce(height, 0), make, model FROM photoseek_media WHERE type = $1");
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

/* Each photo's nearest photos by pgvector's index, kept where near enough to matter (min_cos). */
static int neighbour_pairs(pg_store *s, const store_model *m, const pg_rows *r, float min_cos, dups_pair **pairs,
                           int64_t *n_pairs, int64_t *cap, psk_error *err) {
    char sql[900];
    snprintf(sql, sizeof sql,
             "SELECT a.media_id, n.media_id FROM photoseek_vectors_%1$lld a JOIN photoseek_media am ON am.id = a.media_id"
             " AND am.type = 1 CROSS JOIN LATERAL (SELECT b.media_id FROM photoseek_vectors_%1$lld b JOIN"
             " photoseek_media bm ON bm.id = b.media_id AND bm.type = 1 WHERE b.frame_ms = -1 AND b.media_id <>"
             " a.media_id ORDER BY b.embedding <#> a.embedding LIMIT %2$d) n WHERE a.frame_ms = -1",
             (long long)m->id, PG_DUPS_K);
    PGresult *res = pg_read(s, sql, 0, NULL, 0, "finding each photo's nearest neighbours", err);
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

int pg_duplicates(pg_store *s, const store_model *m, const psk_dups_params *pp, psk_dup_group **groups, int *n,
                  psk_error *err) {
    *groups = NULL, *n = 0;
    dups_params p = dups_params_for_threshold(pp->threshold > 0 ? pp->threshold : 0.92f);
    pg_rows r = {0};
    dups_pair *pairs = NULL;
    int64_t n_pairs = 0, cap = 0;
    dups_group *g = NULL;
    int ng = 0;
    int rc = read_rows(s, &pp->filter, &r, err);
    if (!rc) rc = read_vectors(s, m, &r, err);
    if (!rc) rc = neighbour_pairs(s, m, &r, p.moment_cos, &pairs, &n_pairs, &cap, err);
    if (!rc) rc = dups_hash_pairs(r.items, r.n, NULL, &pairs, &n_pairs, &cap, err);
    if (!rc) rc = dups_time_pairs(r.items, r.n, p.moment_seconds, &pairs, &n_pairs, &cap, err);
    for (int64_t i = 0; !rc && i < n_pairs; i++) pairs[i].cos = item_cos(&r, pairs[i].a, pairs[i].b);
    if (!rc) rc = dups_group_items(r.items, r.n, pairs, n_pairs, &p, &g, &ng, err);
    if (!rc) rc = store_dups_output(r.items, g, ng, &p, item_cos, &r, groups, n, err);
    dups_groups_free(g, ng);
    psk_free(pairs);
    rows_free(&r);
    return rc;
}
