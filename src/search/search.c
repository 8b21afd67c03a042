/* psk_library_search and psk_library_similar: query vector, filter, scan, results. */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_K 10000

psk_search_params psk_search_default_params(void) {
    psk_search_params p = {0};
    p.k = 20;
    p.min_score = -1.0f;
    return p;
}

void psk_results_free(psk_result *r) {
    psk_free(r);
}

/* The recorded image model of the library. */
typedef struct lib_model {
    int64_t id;
    char name[128];
    int dim;
    char dir[1024];
} lib_model;

static int current_model(psk_library *lib, lib_model *m, psk_error *err) {
    if (lib->pg) return pg_current_model(lib->pg, &m->id, m->name, sizeof m->name, &m->dim, m->dir, sizeof m->dir, err);
    m->id = 0;
    if (lib->pc) return pc_model_get(lib->pc, m->name, sizeof m->name, &m->dim, m->dir, sizeof m->dir, err);
    if (store_current_model(lib->store, &m->id, m->name, sizeof m->name, &m->dim, m->dir, sizeof m->dir))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: the library is empty (run 'photoseek index FOLDER' first)",
                        lib->store->path);
    return PSK_OK;
}

static int ensure_vindex(psk_library *lib, const lib_model *m, psk_error *err) {
    return library_vindex(lib, m->id, m->dim, err);
}

typedef struct exact_ctx {
    psk_library *lib;
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

int search_fill_result(sqlite3_stmt *st, int64_t id, psk_result *r) {
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
    return PSK_OK;
}

static int cmp_date_desc(const void *a, const void *b) {
    int64_t x = ((const psk_result *)a)->taken_at, y = ((const psk_result *)b)->taken_at;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* Every frame of each video result scored exactly against the query: its best moments, best first. */
static int add_moments(psk_library *lib, const lib_model *m, const float *qv, float min_score, psk_result *res, int n,
                       psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(lib->store, "SELECT frame_ms, vec FROM embeddings WHERE media_id = ? AND model_id = ?", &st, err);
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
            float s = 0;
            for (int d = 0; d < m->dim; d++) s += v[d] * qv[d];
            if (s < min_score) continue;
            /* insertion into the top 16 */
            int at = r->n_moments < 16 ? r->n_moments++ : 16;
            while (at > 0 && r->moment_score[at - 1] < s) {
                if (at < 16) {
                    r->moment_score[at] = r->moment_score[at - 1];
                    r->moment_ms[at] = r->moment_ms[at - 1];
                }
                at--;
            }
            if (at < 16) {
                r->moment_score[at] = s;
                r->moment_ms[at] = sqlite3_column_int64(st, 0);
            }
        }
    }
    sqlite3_finalize(st);
    return PSK_OK;
}

static int cmp_score_desc(const void *a, const void *b) {
    float x = ((const psk_result *)a)->score, y = ((const psk_result *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The results of a remote store's rows (several per video, roughly best first): each file once, at its best
 * moment, with the other moments for all_moments; k at most; by date when asked. */
static int best_per_file(psk_result *hits, int n_hits, const psk_search_params *p, int k, psk_result **results,
                         int *n_out, psk_error *err) {
    psk_result *res = psk_calloc((size_t)k, sizeof *res);
    if (!res) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int n = 0;
    /* iterative scans may return rows a little out of order */
    if (n_hits > 1) qsort(hits, (size_t)n_hits, sizeof *hits, cmp_score_desc);
    for (int i = 0; i < n_hits; i++) {
        const psk_result *h = &hits[i];
        if (h->score < p->min_score) break;
        int j = 0;
        while (j < n && strcmp(res[j].path, h->path) != 0) j++;
        if (j == n) {
            if (n == k) continue;
            res[n++] = *h;
        }
        psk_result *r = &res[j];
        if (p->all_moments && r->type == PSK_TYPE_VIDEO && r->n_moments < 16) {
            r->moment_ms[r->n_moments] = h->frame_ms;
            r->moment_score[r->n_moments++] = h->score;
        }
    }
    if (p->sort == PSK_SORT_DATE) qsort(res, (size_t)n, sizeof *res, cmp_date_desc);
    *results = res;
    *n_out = n;
    return PSK_OK;
}

/* run_query on Pinecone: dates and type as a metadata filter; camera and folder, which Pinecone's operators cannot
 * express (substring, prefix), are checked here on a wider candidate list. */
static int run_query_pc(psk_library *lib, const lib_model *m, const float *qv, const psk_search_params *p, int k,
                        psk_result **results, int *n_out, psk_error *err) {
    psk_buf f = {0};
    int rc = filter_pinecone(&p->filter, &f, err);
    bool local = (p->filter.camera && *p->filter.camera) || (p->filter.folder && *p->filter.folder);
    int top_k = local ? 1000 : k * 4 + 64;
    if (top_k > 1000) top_k = 1000; /* Pinecone's limit with metadata */
    psk_result *hits = NULL;
    int n_hits = 0;
    if (!rc) rc = pc_query(lib->pc, qv, m->dim, top_k, f.len ? f.data : NULL, &hits, &n_hits, err);
    psk_buf_free(&f);
    int kept = 0;
    for (int i = 0; !rc && i < n_hits; i++)
        if (filter_accepts(&p->filter, &hits[i])) hits[kept++] = hits[i];
    if (!rc) rc = best_per_file(hits, kept, p, k, results, n_out, err);
    psk_free(hits);
    return rc;
}

/* run_query on PostgreSQL: the server filters and ranks (pgvector), this keeps each video's best moment. */
static int run_query_pg(psk_library *lib, const lib_model *m, const float *qv, const psk_search_params *p, int k,
                        psk_result **results, int *n_out, psk_error *err) {
    psk_buf where = {0};
    sql_binds binds = {.pg_base = 1};
    bool any = false;
    int rc = filter_sql(&p->filter, &where, &binds, &any, err);
    char nums[128][24];
    const char *vals[128];
    for (int i = 0; i < binds.n; i++) {
        if (binds.kinds[i] == 1) snprintf(nums[i], sizeof nums[i], "%lld", (long long)binds.ints[i]);
        vals[i] = binds.kinds[i] == 1 ? nums[i] : binds.texts[i];
    }
    psk_result *hits = NULL;
    int n_hits = 0;
    if (!rc) rc = pg_search(lib->pg, m->id, m->dim, qv, any ? where.data : "", vals, binds.n, k * 4 + 64, &hits, &n_hits, err);
    psk_buf_free(&where);
    sql_binds_free(&binds);
    if (!rc) rc = best_per_file(hits, n_hits, p, k, results, n_out, err);
    psk_free(hits);
    return rc;
}

/* The shared back half of search and similar: filter, scan, results. */
static int run_query(psk_library *lib, const lib_model *m, const float *qv, const psk_search_params *p,
                     psk_result **results, int *n_out, psk_error *err) {
    *results = NULL;
    *n_out = 0;
    int k = p->k <= 0 ? 20 : p->k;
    if (k > MAX_K) return psk_fail(err, PSK_ERR_INVALID_ARG, "k = %d is more than %d", k, MAX_K);
    if (lib->pg) return run_query_pg(lib, m, qv, p, k, results, n_out, err);
    if (lib->pc) return run_query_pc(lib, m, qv, p, k, results, n_out, err);
    int rc = ensure_vindex(lib, m, err);
    if (rc) return rc;
    if (!lib->pool && psk_pool_new(p->n_threads, &lib->pool)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    /* Filters become a set of allowed media ids. */
    psk_buf sql = {0};
    sql_binds binds = {0};
    bool any = false;
    vindex_filter filter = {0};
    psk_buf_append(&sql, "SELECT id FROM media WHERE error IS NULL", 40);
    rc = filter_sql(&p->filter, &sql, &binds, &any, err);
    if (!rc && any) {
        sqlite3_stmt *st;
        int64_t max_id = lib->vindex.n ? lib->vindex.media[lib->vindex.n - 1] : 0;
        if (!(rc = store_prepare(lib->store, sql.data, &st, err))) {
            for (int i = 0; i < binds.n; i++) {
                if (binds.kinds[i] == 1) sqlite3_bind_int64(st, i + 1, binds.ints[i]);
                else sqlite3_bind_text(st, i + 1, binds.texts[i], -1, SQLITE_STATIC);
            }
            if (vindex_filter_init(&filter, max_id)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            while (!rc && sqlite3_step(st) == SQLITE_ROW) vindex_filter_add(&filter, sqlite3_column_int64(st, 0));
            sqlite3_finalize(st);
        }
    }
    psk_buf_free(&sql);
    sql_binds_free(&binds);
    vindex_hit *hits = rc ? NULL : psk_malloc(sizeof(vindex_hit) * (size_t)k);
    if (!rc && !hits) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int n = 0;
    exact_ctx ex = {lib, NULL, m->dim};
    if (!rc) rc = store_prepare(lib->store, "SELECT vec FROM embeddings WHERE media_id = ? AND frame_ms = ? AND model_id = ?",
                                &ex.st, err);
    if (!rc) {
        sqlite3_bind_int64(ex.st, 3, m->id);
        n = vindex_search(&lib->vindex, lib->pool, qv, any ? &filter : NULL, k, p->min_score, exact_vector, &ex, hits);
        if (n < 0) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory searching");
    }
    sqlite3_finalize(ex.st);
    vindex_filter_free(&filter);
    psk_result *res = NULL;
    if (!rc && n > 0) {
        res = psk_calloc((size_t)n, sizeof *res);
        sqlite3_stmt *st = NULL;
        if (!res) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        else rc = store_prepare(lib->store,
                                "SELECT path, taken_at, offset_min, taken_local, type, width, height, make, model "
                                "FROM media WHERE id = ?",
                                &st, err);
        int kept = 0;
        for (int i = 0; !rc && i < n; i++) {
            int64_t id = lib->vindex.media[hits[i].row];
            /* A row deleted since the vectors were loaded is skipped. */
            if (search_fill_result(st, id, &res[kept]) != PSK_OK) continue;
            res[kept].score = hits[i].score;
            res[kept].frame_ms = lib->vindex.frame[hits[i].row];
            kept++;
        }
        sqlite3_finalize(st);
        n = kept;
        if (!rc && p->all_moments) rc = add_moments(lib, m, qv, p->min_score, res, n, err);
        if (!rc && p->sort == PSK_SORT_DATE) qsort(res, (size_t)n, sizeof *res, cmp_date_desc);
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

/* The text model for queries: the given folder, else the multilingual model if fetched, else the CLIP model the
 * library was indexed with. */
static void default_text_model(const lib_model *m, char *buf, size_t cap) {
    char models[900], mclip[1000];
    psk_default_models_dir(models, sizeof models);
    snprintf(mclip, sizeof mclip, "%s/mclip", models);
    char marker[1100]; /* a whole model folder (a fetch stages into mclip.incomplete and renames when done) */
    snprintf(marker, sizeof marker, "%s/modules.json", mclip);
    if (psk_file_exists(marker)) snprintf(buf, cap, "%s", mclip);
    else snprintf(buf, cap, "%s", m->dir);
}

/* The unit vector of a phrase, from the cache or the text encoder. */
static int phrase_vector(psk_library *lib, const char *dir, const char *text, int dim, float *out, psk_error *err) {
    size_t kl = strlen(dir) + 1 + strlen(text);
    char *key = psk_malloc(kl + 1);
    if (!key) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(key, kl + 1, "%s\n%s", dir, text);
    int slot = 0;
    for (int i = 0; i < 64; i++) {
        if (lib->qcache[i].key && strcmp(lib->qcache[i].key, key) == 0) {
            memcpy(out, lib->qcache[i].vec, sizeof(float) * (size_t)dim);
            lib->qcache[i].used = ++lib->qclock;
            psk_free(key);
            return PSK_OK;
        }
        if (lib->qcache[i].used < lib->qcache[slot].used) slot = i;
    }
    int rc = psk_encode_texts(lib->text_ctx, &text, 1, out, err);
    if (rc) {
        psk_free(key);
        return rc;
    }
    psk_normalize(out, dim);
    float *v = psk_malloc(sizeof(float) * (size_t)dim);
    if (!v) {
        psk_free(key);
        return PSK_OK; /* not cached, still answered */
    }
    memcpy(v, out, sizeof(float) * (size_t)dim);
    psk_free(lib->qcache[slot].key);
    psk_free(lib->qcache[slot].vec);
    lib->qcache[slot].key = key;
    lib->qcache[slot].vec = v;
    lib->qcache[slot].used = ++lib->qclock;
    return PSK_OK;
}

static int check_same_model(const psk_model *model, const char *dir, const lib_model *m, psk_error *err) {
    if (psk_model_get_kind(model) == PSK_MODEL_MCLIP) {
        /* A multilingual text model is distilled into one CLIP's space; its width must at least agree. */
        if (psk_model_n_embd(model) != m->dim)
            return psk_fail(err, PSK_ERR_MODEL_MISMATCH,
                            "the library was indexed with %s (%d dimensions), but %s makes %d-dimensional vectors",
                            m->name, m->dim, dir, psk_model_n_embd(model));
        return PSK_OK;
    }
    /* int8 and float32 weights of one checkpoint make vectors of one space ("...+int8" marks the former) */
    size_t a = strcspn(psk_model_id(model), "+"), b = strcspn(m->name, "+");
    if (a != b || strncmp(psk_model_id(model), m->name, a) != 0)
        return psk_fail(err, PSK_ERR_MODEL_MISMATCH,
                        "the library was indexed with %s (from %s), but %s is %s: vectors of different models cannot "
                        "be compared; re-index with this model or pass the library's model",
                        m->name, m->dir, dir, psk_model_id(model));
    return PSK_OK;
}

static int image_vector(psk_library *lib, const lib_model *m, const char *image_dir, int n_threads, const char *path,
                        float *out, psk_error *err) {
    const char *dir = image_dir ? image_dir : m->dir;
    int rc = library_image_model(lib, dir, n_threads, PSK_PRECISION_FP32, err);
    if (rc) return rc;
    if ((rc = check_same_model(lib->image_model, dir, m, err))) return rc;
    psk_image *img;
    if ((rc = psk_image_load(path, NULL, &img, err))) return rc;
    int S = psk_model_image_size(lib->image_model);
    float *px = psk_malloc(sizeof(float) * 3 * (size_t)S * S);
    if (!px) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) rc = psk_model_preprocess(lib->image_model, img, px, err);
    if (!rc) rc = psk_encode_pixels(lib->image_ctx, px, 1, out, err);
    psk_free(px);
    psk_image_free(img);
    if (!rc) psk_normalize(out, m->dim);
    return rc;
}

psk_status psk_library_search(psk_library *lib, const psk_search_params *params, psk_result **results, int *n,
                              psk_error *err) {
    *results = NULL;
    *n = 0;
    psk_search_params p = params ? *params : psk_search_default_params();
    if (!p.query) return psk_fail(err, PSK_ERR_INVALID_ARG, "no query");
    lib_model m;
    int rc = current_model(lib, &m, err);
    if (rc) return rc;
    query q;
    if ((rc = query_parse(p.query, &q, err))) return rc;
    float *qv = psk_calloc((size_t)m.dim, sizeof(float)), *tv = psk_malloc(sizeof(float) * (size_t)m.dim);
    if (!qv || !tv) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    char text_dir[1024];
    if (p.text_model_dir) snprintf(text_dir, sizeof text_dir, "%s", p.text_model_dir);
    else default_text_model(&m, text_dir, sizeof text_dir);
    for (int i = 0; !rc && i < q.n; i++) {
        const query_term *t = &q.terms[i];
        if (t->is_image) {
            rc = image_vector(lib, &m, p.image_model_dir, p.n_threads, t->text, tv, err);
        } else {
            if (!(rc = library_text_model(lib, text_dir, 1, err)) &&
                !(rc = check_same_model(lib->text_model, text_dir, &m, err)))
                rc = phrase_vector(lib, text_dir, t->text, m.dim, tv, err);
        }
        for (int d = 0; !rc && d < m.dim; d++) qv[d] += t->weight * tv[d];
    }
    query_free(&q);
    if (!rc) {
        psk_normalize(qv, m.dim);
        rc = run_query(lib, &m, qv, &p, results, n, err);
    }
    psk_free(qv);
    psk_free(tv);
    return rc;
}

psk_status psk_library_similar_id(psk_library *lib, int64_t id, const psk_search_params *params,
                                  psk_result **results, int *n, psk_error *err) {
    *results = NULL;
    *n = 0;
    psk_search_params p = params ? *params : psk_search_default_params();
    lib_model m;
    int rc = current_model(lib, &m, err);
    if (rc) return rc;
    if (lib->pc) return library_need_sqlite(lib, "similar to an item of the library", err);
    if (lib->pg) {
        float *v = psk_malloc(sizeof(float) * (size_t)m.dim);
        if (!v) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        if (!(rc = pg_get_vector(lib->pg, m.id, id, m.dim, v, err))) rc = run_query(lib, &m, v, &p, results, n, err);
        psk_free(v);
        return rc;
    }
    sqlite3_stmt *st;
    if ((rc = store_prepare(lib->store,
                            "SELECT vec FROM embeddings WHERE media_id = ? AND model_id = ? ORDER BY frame_ms LIMIT 1", &st,
                            err)))
        return rc;
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, m.id);
    float *qv = psk_malloc(sizeof(float) * (size_t)m.dim);
    if (!qv) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    else if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != (int)sizeof(float) * m.dim)
        rc = psk_fail(err, PSK_ERR_NOT_FOUND, "no item %lld in the library", (long long)id);
    else memcpy(qv, sqlite3_column_blob(st, 0), sizeof(float) * (size_t)m.dim);
    sqlite3_finalize(st);
    if (!rc) rc = run_query(lib, &m, qv, &p, results, n, err);
    psk_free(qv);
    return rc;
}

psk_status psk_library_similar(psk_library *lib, const char *image_path, const psk_search_params *params,
                               psk_result **results, int *n, psk_error *err) {
    *results = NULL;
    *n = 0;
    psk_search_params p = params ? *params : psk_search_default_params();
    lib_model m;
    int rc = current_model(lib, &m, err);
    if (rc) return rc;
    float *qv = psk_malloc(sizeof(float) * (size_t)m.dim);
    if (!qv) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    rc = image_vector(lib, &m, p.image_model_dir, p.n_threads, image_path, qv, err);
    if (!rc) rc = run_query(lib, &m, qv, &p, results, n, err);
    psk_free(qv);
    return rc;
}
