/* Opening a store by what names it, calling its operations through its table, and the helpers the backends
 * share (facet queries, one result per file). */
#include "backend.h"

#include "pg.h"
#include "pinecone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool backend_is_url(const char *s) { return pg_is_url(s) || pc_is_url(s); }

int backend_open(const char *where, bool writable, store_backend *b, psk_error *err) {
    *b = (store_backend){0};
    int rc;
    if (pg_is_url(where)) {
        pg_store *s = NULL;
        rc = pg_store_open(where, &s, err);
        *b = (store_backend){&store_pg_ops, s};
    } else if (pc_is_url(where)) {
        pc_store *s = NULL;
        rc = pc_store_open(where, &s, err);
        *b = (store_backend){&store_pc_ops, s};
    } else {
        rc = store_sqlite_open(where, writable, &b->self, err);
        b->ops = &store_sqlite_ops;
    }
    if (rc) *b = (store_backend){0};
    return rc;
}

void backend_close(store_backend *b) {
    if (b->ops) b->ops->close(b->self);
    *b = (store_backend){0};
}

void backend_describe(unsigned caps, char *buf, size_t cap) {
    const char *parts[12];
    int n = 0;
    parts[n++] = "search";
    parts[n++] = caps & PSK_STORE_CAP_SIMILAR_BY_ID ? "similar" : "similar IMAGE";
    parts[n++] = "status";
    if (caps & PSK_STORE_CAP_ERRORS) parts[n++] = "failures";
    if (caps & PSK_STORE_CAP_ROW_IDS) parts[n++] = "items";
    if (caps & PSK_STORE_CAP_FACETS) parts[n++] = "facets";
    if (caps & PSK_STORE_CAP_DUPLICATES) parts[n++] = "duplicates";
    if (caps & PSK_STORE_CAP_IMPORT) parts[n++] = "imports";
    if (caps & PSK_STORE_CAP_TEXT) parts[n++] = "text search";
    if (caps & PSK_STORE_CAP_PEOPLE) parts[n++] = "people";
    size_t at = 0;
    buf[0] = 0;
    for (int i = 0; i < n && at < cap; i++) {
        const char *sep = i == 0 ? "" : i == n - 1 ? " and " : ", ";
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", sep, parts[i]);
    }
}

int backend_unsupported(const store_backend *b, const char *what, psk_error *err) {
    char has[160];
    backend_describe(b->ops->caps, has, sizeof has);
    return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: %s works on a SQLite library only so far (a %s library has %s)",
                    backend_shown(b), what, b->ops->kind, has);
}

int backend_unsupported_cap(const store_backend *b, const char *what, unsigned cap, psk_error *err) {
    const store_ops *all[3] = {&store_sqlite_ops, &store_pg_ops, &store_pc_ops};
    const char *kinds[3];
    int n = 0;
    for (int i = 0; i < 3; i++)
        if ((all[i]->caps & cap) == cap) kinds[n++] = all[i]->kind;
    if (n != 2) return backend_unsupported(b, what, err);
    char has[160];
    backend_describe(b->ops->caps, has, sizeof has);
    return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: %s works on %s and %s libraries (a %s library has %s)",
                    backend_shown(b), what, kinds[0], kinds[1], b->ops->kind, has);
}

int backend_current_model(store_backend *b, store_model *m, psk_error *err) {
    memset(m, 0, sizeof *m);
    return b->ops->current_model(b->self, m, err);
}

int backend_search(store_backend *b, const store_model *m, const float *q, const psk_search_params *p,
                   psk_result **results, int *n, psk_error *err) {
    *results = NULL;
    *n = 0;
    enum { MAX_K = 10000 };
    int k = p->k <= 0 ? 20 : p->k;
    if (k > MAX_K) return psk_fail(err, PSK_ERR_INVALID_ARG, "k = %d is more than %d", k, MAX_K);
    if (p->filter.n_places && !backend_can(b, PSK_STORE_CAP_PLACES)) return backend_unsupported(b, "a place filter", err);
    if (p->filter.near_km > 0 && !backend_can(b, PSK_STORE_CAP_NEAR)) return backend_unsupported(b, "--near", err);
    if ((p->filter.n_people || p->filter.n_person_ids) && !backend_can(b, PSK_STORE_CAP_PEOPLE)) return backend_unsupported(b, "--person", err);
    return b->ops->search(b->self, m, q, p, k, results, n, err);
}

int backend_get_media(store_backend *b, int64_t id, psk_result *out, psk_error *err) {
    if (!b->ops->get_media) return backend_unsupported(b, "looking an item up", err);
    memset(out, 0, sizeof *out);
    int rc = b->ops->get_media(b->self, id, out, err);
    out->frame_ms = -1;
    out->score = 1.0f;
    return rc;
}

int backend_get_vector(store_backend *b, const store_model *m, int64_t id, float *out, psk_error *err) {
    if (!b->ops->get_vector || !backend_can(b, PSK_STORE_CAP_SIMILAR_BY_ID))
        return backend_unsupported(b, "similar to an item of the library", err);
    return b->ops->get_vector(b->self, m, id, out, err);
}

int backend_duplicates(store_backend *b, const store_model *m, const psk_dups_params *p, psk_dup_group **groups,
                       int *n, psk_error *err) {
    *groups = NULL, *n = 0;
    if (!b->ops->duplicates)
        return backend_unsupported_cap(b, "finding near-duplicates", PSK_STORE_CAP_DUPLICATES, err);
    return b->ops->duplicates(b->self, m, p, groups, n, err);
}

int backend_facets(store_backend *b, psk_facets **out, psk_error *err) {
    if (!b->ops->facets) return backend_unsupported(b, "listing facets", err);
    return b->ops->facets(b->self, out, err);
}

int backend_text_find(store_backend *b, const char *folded_query, int limit, store_text_fn fn, void *user,
                      psk_error *err) {
    if (!b->ops->text_find || !backend_can(b, PSK_STORE_CAP_TEXT))
        return backend_unsupported_cap(b, "text search", PSK_STORE_CAP_TEXT, err);
    return b->ops->text_find(b->self, folded_query, limit, fn, user, err);
}

int backend_text_of(store_backend *b, int64_t id, char **folded, psk_error *err) {
    *folded = NULL;
    if (!b->ops->text_of || !backend_can(b, PSK_STORE_CAP_TEXT))
        return backend_unsupported_cap(b, "text search", PSK_STORE_CAP_TEXT, err);
    return b->ops->text_of(b->self, id, folded, err);
}

int backend_status(store_backend *b, psk_library_status *st, psk_error *err) {
    memset(st, 0, sizeof *st);
    return b->ops->status(b->self, st, err);
}

int backend_errors(store_backend *b, psk_error_row_fn fn, void *user, psk_error *err) {
    if (!b->ops->errors) return backend_unsupported(b, "listing failures", err);
    return b->ops->errors(b->self, fn, user, err);
}

/* The facet queries over either SQL store: %1$s is the media table, %2$s the condition for indexed rows. */
static const char *const facet_sql[5] = {
    "SELECT year, count(*) FROM %1$s WHERE %2$s AND year IS NOT NULL GROUP BY year ORDER BY year DESC",
    "SELECT month, count(*) FROM %1$s WHERE %2$s AND month IS NOT NULL GROUP BY month ORDER BY month",
    "SELECT trim(coalesce(make, '') || ' ' || coalesce(model, '')) AS cam, count(*) FROM %1$s WHERE %2$s AND "
    "(make IS NOT NULL OR model IS NOT NULL) GROUP BY cam ORDER BY count(*) DESC LIMIT 50",
    "SELECT folder, count(*) FROM %1$s WHERE %2$s GROUP BY folder ORDER BY count(*) DESC LIMIT 100",
    "SELECT CASE type WHEN 2 THEN 'video' ELSE 'photo' END, count(*) FROM %1$s WHERE %2$s GROUP BY type",
};

int store_facets(void *self, store_pairs_fn pairs, const char *table, const char *cond, psk_facets **out,
                 psk_error *err) {
    psk_facets *f = psk_calloc(1, sizeof *f);
    if (!f) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    psk_facet **lists[5] = {&f->years, &f->months, &f->cameras, &f->folders, &f->types};
    int *counts[5] = {&f->n_years, &f->n_months, &f->n_cameras, &f->n_folders, &f->n_types};
    int rc = PSK_OK;
    for (int i = 0; !rc && i < 5; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, facet_sql[i], table, cond);
        rc = pairs(self, sql, lists[i], counts[i], err);
    }
    if (rc) {
        psk_facets_free(f);
        return rc;
    }
    *out = f;
    return PSK_OK;
}

static int cmp_date_desc(const void *a, const void *b) {
    int64_t x = ((const psk_result *)a)->taken_at, y = ((const psk_result *)b)->taken_at;
    return x < y ? 1 : x > y ? -1 : 0;
}

void store_sort_by_date(psk_result *r, int n) {
    if (n > 1) qsort(r, (size_t)n, sizeof *r, cmp_date_desc);
}

static int cmp_score_desc(const void *a, const void *b) {
    float x = ((const psk_result *)a)->score, y = ((const psk_result *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

int store_best_per_file(psk_result *hits, int n_hits, const psk_search_params *p, int k, psk_result **results,
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
    if (p->sort == PSK_SORT_DATE) store_sort_by_date(res, n);
    *results = res;
    *n_out = n;
    return PSK_OK;
}
