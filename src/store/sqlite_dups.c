/* Near-duplicates in a SQLite library: the photos with their perceptual hashes (the phashes table), candidate
 * pairs from each photo's nearest neighbours in the vector index (the exact int8 scan for a small library, the
 * HNSW graph for a large one: never all pairs), from the hashes' buckets and from capture times, then the
 * grouping of src/dups. */
#include "dups_out.h"
#include "sqlite_backend.h"
#include "../kernels/kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Neighbours asked of the index per photo, and the size above which the graph answers instead of the scan. */
#define DUPS_K 8
#define DUPS_GRAPH_MIN 5000
/* The graph made for this question when the library has none (below PSK_ANN_MIN_ROWS): a copy or a burst frame
 * lies far closer than anything else (cosine 0.87 and more), which a lighter build than the search graph's
 * (efConstruction 200) links as surely at a third of its cost (bench_dups --library: recall of the planted pairs
 * 1.0 at 100k photos, 0.999 with M 12 and efConstruction 48). */
#define DUPS_GRAPH_M 24
#define DUPS_GRAPH_EFC 64

/* A photo embedded again under an id the groups have already seen is a file changed in place (an edit, a file
 * replaced under its name): its stored link may no longer hold, so it leaves its group now and the next update
 * looks for its partners as for a new photo (dups_out.h's redo list, meta dups_redo). */
static int dups_forget_changed(psk_store *s, int64_t media_id, psk_error *err) {
    /* it leaves its group whatever the update will look at: once a full regroup is asked for (dups_max_id 0), the
     * rows kept in dup_groups are still taken as links already made */
    sqlite3_stmt *st;
    int rc = store_prepare(s, "DELETE FROM dup_groups WHERE media_id = ?1", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, media_id);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "leaving a duplicate group");
    sqlite3_finalize(st);
    char buf[32];
    int64_t after = store_meta_get(s, "dups_max_id", buf, sizeof buf) == PSK_OK ? atoll(buf) : 0;
    if (rc || media_id > after) return rc; /* new: the update looks at it anyway */
    /* appended in SQL, once however often the file changes before the update: the list can be long, and past
     * STORE_DUPS_REDO_MAX ids the update regroups everything anyway */
    rc = store_prepare(s,
                       "INSERT INTO meta(key, value) VALUES('dups_redo', ?1 || ' ') ON CONFLICT(key) DO UPDATE"
                       " SET value = value || excluded.value WHERE instr(' ' || value, ' ' || excluded.value) = 0",
                       &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, media_id);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "recording a changed file");
    sqlite3_finalize(st);
    return rc;
}

int store_put_phash(psk_store *s, int64_t media_id, uint64_t phash, psk_error *err) {
    sqlite3_stmt *st;
    int rc = dups_forget_changed(s, media_id, err);
    if (!rc) rc = store_prepare(s, "INSERT OR REPLACE INTO phashes(media_id, phash) VALUES(?1, ?2)", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, media_id);
    sqlite3_bind_int64(st, 2, (int64_t)phash);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "recording a perceptual hash");
    sqlite3_finalize(st);
    return rc;
}

typedef struct dup_rows {
    dups_item *items;
    char **paths, **hashes;
    int64_t *row; /* the item's row in the vector index, -1: none */
    int64_t n, cap;
} dup_rows;

static void rows_free(dup_rows *r) {
    for (int64_t i = 0; i < r->n; i++) psk_free(r->paths[i]), psk_free(r->hashes[i]);
    psk_free(r->items), psk_free(r->paths), psk_free(r->hashes), psk_free(r->row);
}

static char *dup_str(const unsigned char *s) {
    size_t n = s ? strlen((const char *)s) : 0;
    char *d = psk_malloc(n + 1);
    if (d) memcpy(d, s ? (const char *)s : "", n + 1);
    return d;
}

/* The indexed photos the filter allows, by id. */
static int read_rows(sqlite_backend *b, const psk_filter *f, dup_rows *r, psk_error *err) {
    psk_buf sql = {0};
    sql_binds binds = {0};
    bool any = false;
    const char *head = "SELECT id, path, hash, (SELECT phash FROM phashes WHERE media_id = media.id), taken_at, size,"
                       " width, height, folder, make, model, taken_src IS 'file' FROM media WHERE error IS NULL AND type = 1";
    psk_buf_append(&sql, head, strlen(head));
    int rc = filter_sql(f, &sql, &binds, &any, err);
    psk_buf_append(&sql, " ORDER BY id", 12);
    sqlite3_stmt *st = NULL;
    if (!rc && !(rc = store_prepare(b->store, sql.data, &st, err))) {
        sql_binds_sqlite(&binds, st, 0);
        while (!rc && sqlite3_step(st) == SQLITE_ROW) {
            psk_result res = {0};
            snprintf(res.path, sizeof res.path, "%s", (const char *)sqlite3_column_text(st, 1));
            store_camera_name((const char *)sqlite3_column_text(st, 9), (const char *)sqlite3_column_text(st, 10),
                              res.camera, sizeof res.camera);
            if (!filter_accepts(f, &res)) continue;
            if (r->n == r->cap) {
                int64_t nc = r->cap ? r->cap * 2 : 256;
                dups_item *ni = psk_realloc(r->items, sizeof *ni * (size_t)nc);
                if (ni) r->items = ni;
                char **np = psk_realloc(r->paths, sizeof *np * (size_t)nc);
                if (np) r->paths = np;
                char **nh = psk_realloc(r->hashes, sizeof *nh * (size_t)nc);
                if (nh) r->hashes = nh;
                int64_t *nr = psk_realloc(r->row, sizeof *nr * (size_t)nc);
                if (nr) r->row = nr;
                if (!ni || !np || !nh || !nr) {
                    rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory reading the photos");
                    break;
                }
                r->cap = nc;
            }
            int64_t i = r->n;
            r->paths[i] = dup_str(sqlite3_column_text(st, 1));
            r->hashes[i] = dup_str(sqlite3_column_text(st, 2));
            r->n++;
            if (!r->paths[i] || !r->hashes[i]) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory reading the photos");
                break;
            }
            dups_item *it = &r->items[i];
            memset(it, 0, sizeof *it);
            it->id = sqlite3_column_int64(st, 0);
            it->path = r->paths[i];
            it->content_hash = r->hashes[i];
            it->has_phash = sqlite3_column_type(st, 3) != SQLITE_NULL;
            it->phash = (uint64_t)sqlite3_column_int64(st, 3);
            it->taken_at = sqlite3_column_int64(st, 4);
            it->bytes = sqlite3_column_int64(st, 5);
            it->width = sqlite3_column_int(st, 6);
            it->height = sqlite3_column_int(st, 7);
            it->time_from_file = sqlite3_column_int(st, 11) != 0;
            r->row[i] = -1;
        }
    }
    sqlite3_finalize(st);
    psk_buf_free(&sql);
    sql_binds_free(&binds);
    return rc;
}

/* The cosine of two rows from their int8 values (the vectors are unit length; int8 is within about 0.01). */
static float row_cos(const psk_vindex *ix, int64_t a, int64_t b) {
    if (a < 0 || b < 0) return -2.0f;
    int32_t s = psk_kernels()->dot_i8(ix->q + (size_t)a * ix->dim, ix->q + (size_t)b * ix->dim, ix->dim);
    return (float)s * ix->scale[a] * ix->scale[b];
}

typedef struct knn_job {
    const psk_vindex *ix;
    psk_hnsw *graph;
    psk_pool *pool; /* the scan's own threads (small libraries, one query at a time) */
    const dup_rows *r;
    float min_cos;
    int64_t *nbr; /* n x DUPS_K item indices, -1: none */
    const int64_t *item_of_row;
    const bool *probe; /* NULL: every photo asks for its neighbours; else only these (the new ones) */
    int n_tasks;
} knn_job;

static void knn_one(knn_job *j, int64_t i, float *q) {
    const psk_vindex *ix = j->ix;
    int64_t row = j->r->row[i];
    for (int k = 0; k < DUPS_K; k++) j->nbr[i * DUPS_K + k] = -1;
    if (row < 0 || (j->probe && !j->probe[i])) return;
    for (int d = 0; d < ix->dim; d++) q[d] = ix->q[(size_t)row * ix->dim + d] * ix->scale[row];
    psk_normalize(q, ix->dim);
    int64_t rows[DUPS_K + 1];
    float sims[DUPS_K + 1];
    int got = 0;
    if (j->graph) {
        got = hnsw_neighbours(j->graph, row, j->min_cos, DUPS_K + 1, rows, sims);
    } else {
        vindex_hit hits[DUPS_K + 1];
        got = vindex_search(ix, j->pool, q, NULL, DUPS_K + 1, j->min_cos, NULL, NULL, hits);
        for (int k = 0; k < got; k++) rows[k] = hits[k].row, sims[k] = hits[k].score;
    }
    int at = 0;
    for (int k = 0; k < got && at < DUPS_K; k++) {
        if (rows[k] == row || sims[k] < j->min_cos) continue;
        int64_t o = j->item_of_row[rows[k]];
        if (o >= 0) j->nbr[i * DUPS_K + at++] = o;
    }
}

static void knn_task(void *arg, int task, int thread) {
    knn_job *j = arg;
    float *q = psk_malloc(sizeof(float) * (size_t)j->ix->dim);
    if (!q) return;
    int64_t n = j->r->n, per = (n + j->n_tasks - 1) / j->n_tasks;
    for (int64_t i = (int64_t)task * per; i < n && i < (int64_t)(task + 1) * per; i++) knn_one(j, i, q);
    psk_free(q);
}

static int find_row(const psk_vindex *ix, int64_t media) {
    int64_t lo = 0, hi = ix->n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (ix->media[mid] < media) lo = mid + 1;
        else hi = mid;
    }
    return lo < ix->n && ix->media[lo] == media ? (int)lo : -1;
}

/* The groups recorded in dup_groups, as links already made (each member to its group's first), but none of a file
 * changed in place since. */
static int stored_links(sqlite_backend *b, const dup_rows *r, const store_dups_redo *redo, dups_pair **pairs,
                        int64_t *n_pairs, int64_t *cap, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(b->store, "SELECT media_id, group_id, kind FROM dup_groups ORDER BY group_id, media_id", &st,
                           err);
    if (rc) return rc;
    store_dup_row *rows = NULL;
    int64_t n = 0, cap_rows = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 1024;
            store_dup_row *grown = psk_realloc(rows, sizeof *rows * (size_t)cap_rows);
            if (!grown) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            rows = grown;
        }
        rows[n++] = (store_dup_row){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int(st, 2),
                                    0};
    }
    sqlite3_finalize(st);
    if (!rc) rc = store_dups_links(r->items, r->n, rows, n, redo, pairs, n_pairs, cap, err);
    psk_free(rows);
    return rc;
}

/* The groups among the photos the filter allows. With `stored` (an incremental update), only the photos with ids
 * above new_after and those in redo (sorted: files changed in place) look for partners, and the groups recorded in
 * dup_groups are links already made. */
static int collect(sqlite_backend *b, const store_model *m, const psk_filter *f, const dups_params *p, int n_threads,
                   bool stored, int64_t new_after, const store_dups_redo *redo, dup_rows *r, dups_group **g, int *ng,
                   psk_error *err) {
    *g = NULL, *ng = 0;
    bool trace = getenv("PHOTOSEEK_DUPS_TRACE") != NULL;
    double t0 = psk_now();
    int rc = sqlite_vindex(b, m, err);
    if (rc) return rc;
    const psk_vindex *ix = &b->vindex;
    if ((rc = read_rows(b, f, r, err))) return rc;
    if (trace) fprintf(stderr, "dups: %lld photos read in %.2f s\n", (long long)r->n, psk_now() - t0);
    int64_t *item_of_row = psk_malloc(sizeof(int64_t) * (size_t)(ix->n ? ix->n : 1));
    int64_t *nbr = psk_malloc(sizeof(int64_t) * DUPS_K * (size_t)(r->n ? r->n : 1));
    bool *probe = stored ? psk_calloc((size_t)(r->n ? r->n : 1), 1) : NULL;
    dups_pair *pairs = NULL;
    int64_t n_pairs = 0, cap = 0, n_probe = r->n;
    psk_hnsw *own_graph = NULL;
    if (!item_of_row || !nbr || (stored && !probe)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) {
        for (int64_t i = 0; i < ix->n; i++) item_of_row[i] = -1;
        if (stored) n_probe = 0;
        for (int64_t i = 0; i < r->n; i++) {
            r->row[i] = find_row(ix, r->items[i].id);
            if (r->row[i] >= 0) item_of_row[r->row[i]] = i;
            if (stored && (r->items[i].id > new_after || store_dups_redo_has(redo, r->items[i].id)))
                probe[i] = true, n_probe++;
        }
        if (!b->pool && psk_pool_new(n_threads, &b->pool)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    knn_job job = {ix, NULL, b->pool, r, p->moment_cos, nbr, item_of_row, probe, 1};
    /* the graph pays off when many photos ask; a few new ones take the exact scan */
    if (!rc && ix->n >= DUPS_GRAPH_MIN && n_probe >= DUPS_GRAPH_MIN / 10) {
        /* the library's own graph when it has one for exactly these rows, else one made for this question */
        if (ix->ann && hnsw_size(ix->ann) == ix->n) job.graph = ix->ann;
        else if (!(own_graph = hnsw_new(ix, DUPS_GRAPH_M, DUPS_GRAPH_EFC)) || hnsw_extend(own_graph, ix, b->pool))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory building the neighbour graph");
        else job.graph = own_graph;
        if (trace && own_graph) fprintf(stderr, "dups: neighbour graph built at %.2f s\n", psk_now() - t0);
    }
    if (!rc && n_probe) {
        if (job.graph) {
            job.n_tasks = 64;
            psk_pool_run(b->pool, job.n_tasks, knn_task, &job);
        } else {
            knn_task(&job, 0, 0); /* the scan runs on the pool itself */
        }
        if (trace) fprintf(stderr, "dups: neighbours of %lld photos at %.2f s\n", (long long)n_probe, psk_now() - t0);
        for (int64_t i = 0; !rc && i < r->n; i++)
            for (int k = 0; k < DUPS_K && (!probe || probe[i]) && nbr[i * DUPS_K + k] >= 0; k++)
                if (dups_pairs_push(&pairs, &n_pairs, &cap, i, nbr[i * DUPS_K + k], -2.0f))
                    rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        if (!rc) rc = dups_hash_pairs(r->items, r->n, probe, &pairs, &n_pairs, &cap, err);
        if (trace) fprintf(stderr, "dups: hash buckets probed at %.2f s\n", psk_now() - t0);
        int64_t from = n_pairs;
        if (!rc) rc = dups_time_pairs(r->items, r->n, p->moment_seconds, &pairs, &n_pairs, &cap, err);
        if (probe) { /* keep the time pairs a new photo is in */
            int64_t k = from;
            for (int64_t i = from; i < n_pairs; i++)
                if (probe[pairs[i].a] || probe[pairs[i].b]) pairs[k++] = pairs[i];
            n_pairs = k;
        }
    }
    for (int64_t i = 0; !rc && i < n_pairs; i++) pairs[i].cos = row_cos(ix, r->row[pairs[i].a], r->row[pairs[i].b]);
    if (getenv("PHOTOSEEK_DUPS_TRACE"))
        for (int64_t i = 0; !rc && i < n_pairs; i++) {
            const dups_item *a = &r->items[pairs[i].a], *c = &r->items[pairs[i].b];
            fprintf(stderr, "pair cos %.4f hash %2d kind %2d  %s ~ %s\n", pairs[i].cos,
                    a->has_phash && c->has_phash ? dups_phash_distance(a->phash, c->phash) : 64,
                    dups_pair_kind(a, c, pairs[i].cos, p), a->path, c->path);
        }
    if (!rc && stored) rc = stored_links(b, r, redo, &pairs, &n_pairs, &cap, err);
    if (!rc) rc = dups_group_items(r->items, r->n, pairs, n_pairs, p, g, ng, err);
    hnsw_free(own_graph);
    psk_free(pairs), psk_free(nbr), psk_free(item_of_row), psk_free(probe);
    return rc;
}

typedef struct row_pair {
    const psk_vindex *ix;
    const dup_rows *r;
} row_pair;

static float item_cos(void *user, int64_t a, int64_t b) {
    const row_pair *rp = user;
    return row_cos(rp->ix, rp->r->row[a], rp->r->row[b]);
}

int sqlite_duplicates(void *self, const store_model *m, const psk_dups_params *pp, psk_dup_group **groups, int *n,
                      psk_error *err) {
    sqlite_backend *b = self;
    *groups = NULL, *n = 0;
    dups_params p = dups_params_for_threshold(pp->threshold > 0 ? pp->threshold : 0.92f);
    dup_rows r = {0};
    dups_group *g = NULL;
    int ng = 0;
    int rc = collect(b, m, &pp->filter, &p, pp->n_threads, false, 0, NULL, &r, &g, &ng, err);
    row_pair rp = {&b->vindex, &r};
    if (!rc) rc = store_dups_output(r.items, g, ng, &p, item_cos, &rp, groups, n, err);
    dups_groups_free(g, ng);
    rows_free(&r);
    return rc;
}

int sqlite_dups_update(void *self, const store_model *m, psk_error *err) {
    sqlite_backend *b = self;
    char buf[32];
    int64_t after = store_meta_get(b->store, "dups_max_id", buf, sizeof buf) == PSK_OK ? atoll(buf) : 0;
    int64_t max_id = store_count(b->store, "SELECT max(id) FROM media");
    /* the files changed in place since the last update (dups_forget_changed); ids take at most 20 characters with
     * their space, so a list cut at this size still shows more than STORE_DUPS_REDO_MAX of them when it has them */
    store_dups_redo redo;
    char *list = psk_malloc(STORE_DUPS_REDO_MAX * 21 + 32);
    if (!list) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (store_meta_get(b->store, "dups_redo", list, STORE_DUPS_REDO_MAX * 21 + 32) != PSK_OK) list[0] = 0;
    int rc = store_dups_redo_parse(list, &redo, err);
    size_t redo_len = strlen(list); /* another run may append while this one works: only this part is taken off */
    psk_free(list);
    if (rc) return rc;
    bool redo_all = redo.all;
    if (redo.all) after = 0; /* too many changed: everything looks again */
    if (max_id <= after && !redo.n) { /* no new photo, none changed */
        store_dups_redo_free(&redo);
        return PSK_OK;
    }
    dups_params p = dups_default_params();
    psk_filter all = {0};
    dup_rows r = {0};
    dups_group *g = NULL;
    int ng = 0;
    rc = collect(b, m, &all, &p, 0, true, after, &redo, &r, &g, &ng, err);
    store_dups_redo_free(&redo);
    if (!rc) rc = store_exec(b->store, "BEGIN; DELETE FROM dup_groups", err);
    sqlite3_stmt *st = NULL;
    if (!rc) rc = store_prepare(b->store, "INSERT INTO dup_groups(media_id, group_id, kind) VALUES(?1, ?2, ?3)", &st, err);
    for (int i = 0; !rc && i < ng; i++)
        for (int k = 0; !rc && k < g[i].n_members; k++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, r.items[g[i].members[k]].id);
            sqlite3_bind_int64(st, 2, r.items[g[i].keeper].id);
            sqlite3_bind_int(st, 3, (int)g[i].kind);
            if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(b->store, err, "recording a duplicate group");
        }
    sqlite3_finalize(st);
    snprintf(buf, sizeof buf, "%lld", (long long)max_id);
    if (!rc) rc = store_meta_set(b->store, "dups_max_id", buf, err);
    if (!rc && (redo_all || redo_len)) {
        rc = store_prepare(b->store, "UPDATE meta SET value = substr(value, ?1 + 1) WHERE key = 'dups_redo'", &st, err);
        if (!rc) {
            sqlite3_bind_int64(st, 1, redo_all ? INT32_MAX : (int64_t)redo_len);
            if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(b->store, err, "recording a duplicate group");
            sqlite3_finalize(st);
        }
    }
    if (!rc) rc = store_exec(b->store, "COMMIT", err);
    else store_exec(b->store, "ROLLBACK", NULL);
    dups_groups_free(g, ng);
    rows_free(&r);
    return rc;
}

int sqlite_dup_groups_of(void *self, psk_result *r, int n, psk_error *err) {
    sqlite_backend *b = self;
    sqlite3_stmt *st, *count = NULL;
    int rc = store_prepare(b->store, "SELECT group_id FROM dup_groups WHERE media_id = ?", &st, err);
    if (!rc) rc = store_prepare(b->store, "SELECT count(*) FROM dup_groups WHERE group_id = ?", &count, err);
    for (int i = 0; !rc && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, r[i].id);
        bool in = sqlite3_step(st) == SQLITE_ROW;
        r[i].group = in ? sqlite3_column_int64(st, 0) : 0;
        r[i].group_size = 1;
        if (!in) continue;
        /* a group's size is counted once, however many of its members the results hold (a burst may be all) */
        int j = 0;
        while (j < i && r[j].group != r[i].group) j++;
        if (j < i) {
            r[i].group_size = r[j].group_size;
            continue;
        }
        sqlite3_reset(count);
        sqlite3_bind_int64(count, 1, r[i].group);
        if (sqlite3_step(count) == SQLITE_ROW) r[i].group_size = sqlite3_column_int(count, 0);
    }
    sqlite3_finalize(st);
    sqlite3_finalize(count);
    return rc;
}
