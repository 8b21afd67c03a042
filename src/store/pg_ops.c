/* The PostgreSQL backend's table: pg.c's statements behind the store interface. The server filters and ranks
 * (pgvector's HNSW); items have row ids, so similar-by-id, items and facets work; failures stay in each worker's
 * catalog. */
#include "pg.h"

#include <stdio.h>
#include <string.h>

static void pg_close_op(void *self) { pg_store_close(self); }
static const char *pg_shown(void *self) { return ((pg_store *)self)->shown; }
static const char *pg_identity(void *self) { return ((pg_store *)self)->url; }
static int pg_reconnects(void *self) { return ((pg_store *)self)->reconnects; }

static int pg_model(void *self, store_model *m, psk_error *err) {
    return pg_current_model(self, &m->id, m->name, sizeof m->name, &m->dim, m->dir, sizeof m->dir, err);
}

static int pg_ensure(void *self, const char *name, int dim, const char *dir, store_model *m, psk_error *err) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    m->dim = dim;
    return pg_model_ensure(self, name, dim, dir, &m->id, err);
}

static int pg_put(void *self, const store_model *m, const store_item *items, int n, psk_error *err) {
    return pg_put_items(self, m->id, m->dim, items, n, err);
}

static int pg_delete(void *self, const char *const *paths, int n, psk_error *err) {
    return pg_delete_paths(self, paths, n, err);
}

/* The server filters and ranks (pgvector); each video's best moment is kept here. */
static int pg_search_op(void *self, const store_model *m, const float *qv, const psk_search_params *p, int k,
                        psk_result **results, int *n_out, psk_error *err) {
    if (p->filter.text && p->filter.text[0] && !((pg_store *)self)->trgm)
        return pg_text_missing(self, "text:\"...\" terms", err);
    psk_buf where = {0};
    sql_binds binds = {.pg_base = 1};
    bool any = false;
    int rc = filter_sql(&p->filter, &where, &binds, &any, err);
    char nums[128][24];
    const char *vals[128];
    sql_binds_pg(&binds, nums, vals);
    psk_result *hits = NULL;
    int n_hits = 0;
    bool exact = p->filter.text && p->filter.text[0];
    if (!rc)
        rc = pg_search(self, m->id, m->dim, qv, any ? where.data : "", vals, binds.n, k * 4 + 64, exact, &hits, &n_hits,
                       err);
    psk_buf_free(&where);
    sql_binds_free(&binds);
    if (!rc) rc = store_best_per_file(hits, n_hits, p, k, results, n_out, err);
    psk_free(hits);
    return rc;
}

static int pg_media(void *self, int64_t id, psk_result *out, psk_error *err) { return pg_get_media(self, id, out, err); }

static int pg_vector(void *self, const store_model *m, int64_t id, float *out, psk_error *err) {
    return pg_get_vector(self, m->id, id, m->dim, out, err);
}

static int pg_pairs_op(void *self, const char *sql, psk_facet **out, int *n, psk_error *err) {
    return pg_pairs(self, sql, out, n, err);
}

/* The SQLite store's facets, places included (the same queries: sqlite_ops.c). */
static int pg_facets(void *self, psk_facets **out, psk_error *err) {
    int rc = store_facets(self, pg_pairs_op, "photoseek_media", "true", out, err);
    if (!rc)
        rc = pg_pairs(self, "SELECT place_cc, count(*) FROM photoseek_media WHERE place_cc != '' GROUP BY place_cc"
                            " ORDER BY count(*) DESC, place_cc COLLATE \"C\"",
                      &(*out)->countries, &(*out)->n_countries, err);
    if (!rc)
        rc = pg_pairs(self, "SELECT p, n FROM (SELECT place_cc || chr(9) || coalesce(place_region, '') || chr(9) ||"
                            " place_city AS p, count(*) AS n FROM photoseek_media WHERE place_cc != '' GROUP BY 1) x"
                            " ORDER BY n DESC, p COLLATE \"C\" LIMIT 10000",
                      &(*out)->places, &(*out)->n_places, err);
    if (rc && *out) {
        psk_facets_free(*out);
        *out = NULL;
    }
    return rc;
}

static int pg_text_find_op(void *self, const char *folded_query, int limit, store_text_fn fn, void *user,
                           psk_error *err) {
    return pg_text_find(self, folded_query, limit, fn, user, err);
}

static int pg_dups_op(void *self, const store_model *m, const psk_dups_params *p, psk_dup_group **groups, int *n,
                      psk_error *err) {
    return pg_duplicates(self, m, p, groups, n, err);
}

static int pg_dup_update_op(void *self, const store_model *m, psk_error *err) { return pg_dups_update(self, m, err); }

static int pg_dup_groups_op(void *self, psk_result *r, int n, psk_error *err) {
    return pg_dup_groups_of(self, r, n, err);
}

static int pg_dup_members_op(void *self, int64_t group, int64_t **ids, int *n, psk_error *err) {
    return pg_dup_members(self, group, ids, n, err);
}

static int pg_text_of_op(void *self, int64_t id, char **folded, psk_error *err) {
    return pg_text_of(self, id, folded, err);
}

/* Counts, the model and the database's size (runs are the workers' own). */
static int pg_status(void *self, psk_library_status *st, psk_error *err) {
    int64_t model_id = 0;
    int dim = 0;
    int rc = pg_current_model(self, &model_id, st->model_id, sizeof st->model_id, &dim, st->model_dir,
                              sizeof st->model_dir, err);
    if (rc == PSK_ERR_NOT_FOUND) return PSK_OK; /* empty */
    if (rc) return rc;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT 'photos', count(*) FROM photoseek_media WHERE type = 1 UNION ALL "
             "SELECT 'videos', count(*) FROM photoseek_media WHERE type = 2 UNION ALL "
             "SELECT 'embeddings', count(*) FROM photoseek_vectors_%lld UNION ALL "
             "SELECT 'bytes', pg_database_size(current_database())",
             (long long)model_id);
    psk_facet *rows;
    int n;
    if ((rc = pg_pairs(self, sql, &rows, &n, err))) return rc;
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].value, "photos") == 0) st->photos = rows[i].count;
        else if (strcmp(rows[i].value, "videos") == 0) st->videos = rows[i].count;
        else if (strcmp(rows[i].value, "embeddings") == 0) st->embeddings = rows[i].count;
        else if (strcmp(rows[i].value, "bytes") == 0) st->db_bytes = rows[i].count;
    }
    psk_free(rows);
    return pg_people_status(self, st, err);
}

const store_ops store_pg_ops = {
    .kind = "PostgreSQL",
    .caps = PSK_STORE_CAP_ROW_IDS | PSK_STORE_CAP_SIMILAR_BY_ID | PSK_STORE_CAP_FACETS | PSK_STORE_CAP_SHARDS |
            PSK_STORE_CAP_COPY_INTO | PSK_STORE_CAP_SERVER_INDEX | PSK_STORE_CAP_NEAR | PSK_STORE_CAP_TEXT |
            PSK_STORE_CAP_PLACES | PSK_STORE_CAP_DUPLICATES | PSK_STORE_CAP_PEOPLE,
    .close = pg_close_op,
    .shown = pg_shown,
    .identity = pg_identity,
    .current_model = pg_model,
    .model_ensure = pg_ensure,
    .put_items = pg_put,
    .delete_paths = pg_delete,
    .search = pg_search_op,
    .get_media = pg_media,
    .get_vector = pg_vector,
    .facets = pg_facets,
    .status = pg_status,
    .reconnects = pg_reconnects,
    .text_find = pg_text_find_op,
    .text_of = pg_text_of_op,
    .dup_update = pg_dup_update_op,
    .dup_groups_of = pg_dup_groups_op,
    .dup_members = pg_dup_members_op,
    .duplicates = pg_dups_op,
    /* people: pg_people.c */
    .people_group = pg_people_group,
    .people = pg_people,
    .person_faces = pg_person_faces,
    .face_get = pg_face_get,
    .media_faces = pg_media_faces,
    .people_edit = pg_people_edit,
    .people_of = pg_people_of,
    .browse = pg_browse,
    .person_names = pg_person_names,
    .people_carry = pg_people_carry,
};
