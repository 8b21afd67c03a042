/* Searching a SQLite library: every vector of the current model loaded into the in-memory index (int8 rows, and
 * the HNSW graph saved beside the file for large libraries), the filter turned into a set of allowed media ids,
 * the scan, and the results read back from the file. */
#include "sqlite_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A change counter of the database file that moves whenever any connection commits. */
static int64_t data_version(psk_store *s) { return store_count(s, "PRAGMA data_version"); }

static void ann_path(sqlite_backend *b, int64_t model_id, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.model%lld.hnsw", b->store->path, (long long)model_id);
}

void sqlite_index_free(sqlite_backend *b) {
    vindex_free(&b->vindex);
    psk_pool_free(b->pool);
    b->pool = NULL;
    b->vindex_loaded = false;
}

static void index_path(sqlite_backend *b, int64_t model_id, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.model%lld.vindex", b->store->path, (long long)model_id);
}

/* The key the index file beside the library must match (vindex_file.c): false for a library without the change
 * counter (made by a writable open of this version), which then has no index file. */
static bool index_key(psk_store *s, int64_t model_id, vindex_file_key *key) {
    /* the counter only counts while its three triggers are there */
    if (store_count(s, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'embeddings'"
                       " AND name IN ('vector_changes_ins', 'vector_changes_del', 'vector_changes_upd')") != 3)
        return false;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT n, library FROM vector_changes WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok) *key = (vindex_file_key){model_id, sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1)};
    sqlite3_finalize(st);
    return ok;
}

/* Every vector of a model read from the file into b->vindex (quantised). */
static int read_vectors(sqlite_backend *b, int64_t model_id, int dim, psk_error *err) {
    char count_sql[96];
    snprintf(count_sql, sizeof count_sql, "SELECT count(*) FROM embeddings WHERE model_id = %lld", (long long)model_id);
    if (vindex_reserve(&b->vindex, store_count(b->store, count_sql), false))
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory loading the vectors");
    sqlite3_stmt *st;
    int rc = store_prepare(b->store,
                           "SELECT media_id, frame_ms, vec FROM embeddings WHERE model_id = ? ORDER BY media_id, frame_ms",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, model_id);
    float *v = psk_malloc(sizeof(float) * (size_t)dim);
    if (!v) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        const void *blob = sqlite3_column_blob(st, 2);
        int bytes = sqlite3_column_bytes(st, 2);
        if (!blob || bytes != (int)sizeof(float) * dim) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: an embedding of media %lld has %d bytes, expected %d",
                          b->store->path, (long long)sqlite3_column_int64(st, 0), bytes, (int)sizeof(float) * dim);
            break;
        }
        memcpy(v, blob, (size_t)bytes);
        if (vindex_add(&b->vindex, sqlite3_column_int64(st, 0), (int32_t)sqlite3_column_int64(st, 1), v, false))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory loading the vectors");
    }
    sqlite3_finalize(st);
    psk_free(v);
    return rc;
}

/* The rows of a model in b->vindex: mapped from the index file beside the library when it was written for the
 * library as it is now, else read from the library (and the file written again for the next process). The
 * counter and the rows are read in one transaction, so the file never claims a counter its rows do not have. */
static int load_rows(sqlite_backend *b, int64_t model_id, int dim, vindex_file_key *key, bool *keyed_out,
                     psk_error *err) {
    bool own_txn = sqlite3_get_autocommit(b->store->db) && store_exec(b->store, "BEGIN", NULL) == PSK_OK;
    bool keyed = *keyed_out = index_key(b->store, model_id, key);
    char path[1200];
    index_path(b, model_id, path, sizeof path);
    psk_error quiet = {0};
    int rc = PSK_OK;
    if (!keyed || vindex_file_load(&b->vindex, path, key, &quiet) != PSK_OK) {
        rc = read_vectors(b, model_id, dim, err);
        /* best effort: a library in a folder this user cannot write searches as before */
        if (!rc && keyed) vindex_file_save(&b->vindex, path, key, &quiet);
    }
    if (own_txn) store_exec(b->store, "COMMIT", NULL);
    return rc;
}

/* Loads the rows of a model into b->vindex (unless the loaded ones are still current), with the HNSW graph saved
 * beside the database when there is one built for exactly these rows. */
static int load_vindex(sqlite_backend *b, int64_t model_id, int dim, psk_error *err) {
    int64_t version = data_version(b->store);
    if (b->vindex_loaded && b->vindex_model == model_id && b->vindex_version == version) return PSK_OK;
    vindex_free(&b->vindex);
    b->vindex_loaded = false;
    vindex_init(&b->vindex, dim);
    vindex_file_key key;
    bool keyed;
    int rc = load_rows(b, model_id, dim, &key, &keyed, err);
    if (rc) return rc;
    b->vindex_key = key;
    b->vindex_keyed = keyed;
    if (b->vindex.n >= PSK_ANN_MIN_ROWS) {
        char path[1200];
        ann_path(b, model_id, path, sizeof path);
        /* mapped when it was written for the rows as they are now (the header only is read), else checked node by
         * node against the rows (a library without the change counter) */
        psk_hnsw *g = keyed ? hnsw_map(path, &b->vindex, &key) : NULL;
        if (!g) g = hnsw_load(path, &b->vindex);
        /* only a graph of exactly these rows answers; otherwise the exact scan does until the next index run */
        if (g && hnsw_size(g) == b->vindex.n) {
            b->vindex.ann = g;
            b->vindex.ann_ef = PSK_ANN_EF;
        } else {
            hnsw_free(g);
        }
    }
    b->vindex_loaded = true;
    b->vindex_model = model_id;
    b->vindex_version = version;
    return PSK_OK;
}

/* Brings the HNSW graph beside the database up to date for a model with many vectors (PSK_ANN_MIN_ROWS or more;
 * `force` builds one whatever the size). */
int sqlite_refresh_index(void *self, const store_model *m, bool force, psk_error *err) {
    sqlite_backend *b = self;
    b->vindex_loaded = false; /* the index run wrote rows this connection's data_version does not show */
    int rc = load_vindex(b, m->id, m->dim, err);
    if (rc) return rc;
    psk_vindex *ix = &b->vindex;
    if (!force && ix->n < PSK_ANN_MIN_ROWS) return PSK_OK;
    if (ix->ann) return PSK_OK; /* already current */
    char path[1200];
    ann_path(b, m->id, path, sizeof path);
    /* a graph of the rows that were there before extends; rows removed mean a new graph */
    psk_hnsw *g = hnsw_load(path, ix);
    if (!g && !(g = hnsw_new_default(ix))) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!b->pool && psk_pool_new(0, &b->pool)) {
        hnsw_free(g);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    if ((rc = hnsw_extend(g, ix, b->pool))) {
        hnsw_free(g);
        return psk_fail(err, rc, "out of memory building the search graph");
    }
    if (hnsw_save(g, path, b->vindex_keyed ? &b->vindex_key : NULL)) {
        hnsw_free(g);
        return psk_fail(err, PSK_ERR_IO, "%s: cannot write the search graph", path);
    }
    ix->ann = g;
    ix->ann_ef = PSK_ANN_EF;
    return PSK_OK;
}

typedef struct exact_ctx {
    sqlite3_stmt *st;
    int dim;
} exact_ctx;

static bool exact_vector(void *user, int64_t media, int32_t frame, float *out) {
    exact_ctx *c = user;
    sqlite3_reset(c->st);
    sqlite3_bind_int64(c->st, 1, media);
    sqlite3_bind_int64(c->st, 2, frame);
    if (sqlite3_step(c->st) != SQLITE_ROW || sqlite3_column_bytes(c->st, 0) != (int)sizeof(float) * c->dim) return false;
    memcpy(out, sqlite3_column_blob(c->st, 0), sizeof(float) * (size_t)c->dim);
    return true;
}

/* Every frame of each video result scored exactly against the query: its best moments, best first. */
static int add_moments(psk_store *s, const store_model *m, const float *qv, float min_score, psk_result *res, int n,
                       psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "SELECT frame_ms, vec FROM embeddings WHERE media_id = ? AND model_id = ?", &st, err);
    if (rc) return rc;
    for (int i = 0; i < n; i++) {
        psk_result *r = &res[i];
        if (r->type != PSK_TYPE_VIDEO) continue;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, r->id);
        sqlite3_bind_int64(st, 2, m->id);
        r->n_moments = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (sqlite3_column_bytes(st, 1) != (int)sizeof(float) * m->dim) continue;
            const float *v = sqlite3_column_blob(st, 1);
            float sc = 0;
            for (int d = 0; d < m->dim; d++) sc += v[d] * qv[d];
            if (sc < min_score) continue;
            /* insertion into the top 16 */
            int at = r->n_moments < 16 ? r->n_moments++ : 16;
            while (at > 0 && r->moment_score[at - 1] < sc) {
                if (at < 16) {
                    r->moment_score[at] = r->moment_score[at - 1];
                    r->moment_ms[at] = r->moment_ms[at - 1];
                }
                at--;
            }
            if (at < 16) {
                r->moment_score[at] = sc;
                r->moment_ms[at] = sqlite3_column_int64(st, 0);
            }
        }
    }
    sqlite3_finalize(st);
    return PSK_OK;
}

/* The filter as the set of media ids it allows; *any false when the filter allows everything. */
static int allowed_ids(sqlite_backend *b, const psk_filter *f, vindex_filter *out, bool *any, psk_error *err) {
    psk_buf sql = {0};
    sql_binds binds = {0};
    *any = false;
    psk_buf_append(&sql, "SELECT id FROM media WHERE error IS NULL", 40);
    int rc = filter_sql(f, &sql, &binds, any, err);
    if (!rc && *any) {
        sqlite3_stmt *st;
        int64_t max_id = b->vindex.n ? b->vindex.media[b->vindex.n - 1] : 0;
        if (!(rc = store_prepare(b->store, sql.data, &st, err))) {
            sql_binds_sqlite(&binds, st, 0);
            if (vindex_filter_init(out, max_id)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            while (!rc && sqlite3_step(st) == SQLITE_ROW) vindex_filter_add(out, sqlite3_column_int64(st, 0));
            sqlite3_finalize(st);
        }
    }
    psk_buf_free(&sql);
    sql_binds_free(&binds);
    return rc;
}

/* The scan's hits as results read from the file; a row deleted since the vectors were loaded is skipped. */
static int hits_to_results(sqlite_backend *b, const vindex_hit *hits, int n, psk_result *res, int *kept,
                           psk_error *err) {
    sqlite3_stmt *st;
    *kept = 0;
    int rc = store_prepare(b->store, "SELECT " SQLITE_RESULT_COLUMNS " FROM media WHERE id = ?", &st, err);
    for (int i = 0; !rc && i < n; i++) {
        if (sqlite_fill_result(st, b->vindex.media[hits[i].row], &res[*kept]) != PSK_OK) continue;
        res[*kept].score = hits[i].score;
        res[*kept].frame_ms = b->vindex.frame[hits[i].row];
        (*kept)++;
    }
    sqlite3_finalize(st);
    return rc;
}

int sqlite_search(void *self, const store_model *m, const float *qv, const psk_search_params *p, int k,
                  psk_result **results, int *n_out, psk_error *err) {
    sqlite_backend *b = self;
    int rc = load_vindex(b, m->id, m->dim, err);
    if (rc) return rc;
    if (!b->pool && psk_pool_new(p->n_threads, &b->pool)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    bool any = false;
    vindex_filter filter = {0};
    rc = allowed_ids(b, &p->filter, &filter, &any, err);
    vindex_hit *hits = rc ? NULL : psk_malloc(sizeof(vindex_hit) * (size_t)k);
    if (!rc && !hits) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int n = 0;
    exact_ctx ex = {NULL, m->dim};
    if (!rc) rc = store_prepare(b->store, "SELECT vec FROM embeddings WHERE media_id = ? AND frame_ms = ? AND model_id = ?",
                                &ex.st, err);
    if (!rc) {
        sqlite3_bind_int64(ex.st, 3, m->id);
        n = vindex_search(&b->vindex, b->pool, qv, any ? &filter : NULL, k, p->min_score, exact_vector, &ex, hits);
        if (n < 0) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory searching");
    }
    sqlite3_finalize(ex.st);
    vindex_filter_free(&filter);
    psk_result *res = NULL;
    if (!rc && n > 0) {
        res = psk_calloc((size_t)n, sizeof *res);
        if (!res) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        if (!rc) rc = hits_to_results(b, hits, n, res, &n, err);
        if (!rc && p->all_moments) rc = add_moments(b->store, m, qv, p->min_score, res, n, err);
        if (!rc && p->sort == PSK_SORT_DATE) store_sort_by_date(res, n);
    }
    psk_free(hits);
    if (rc) {
        psk_free(res);
        return rc;
    }
    *results = res;
    *n_out = n;
    return PSK_OK;
}

int sqlite_vindex(sqlite_backend *b, const store_model *m, psk_error *err) { return load_vindex(b, m->id, m->dim, err); }
