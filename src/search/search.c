/* psk_library_search and psk_library_similar: the query vector (phrases, image terms, an item's vector), then the
 * store's filtered search (src/store/backend.h). */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

psk_search_params psk_search_default_params(void) {
    psk_search_params p = {0};
    p.k = 20;
    p.min_score = -1.0f;
    return p;
}

void psk_results_free(psk_result *r) {
    psk_free(r);
}

/* The text model for queries: the given folder, else the multilingual model if fetched, else the CLIP model the
 * library was indexed with. */
static void default_text_model(const store_model *m, char *buf, size_t cap) {
    char models[900], mclip[1000];
    psk_default_models_dir(models, sizeof models);
    snprintf(mclip, sizeof mclip, "%s/mclip", models);
    char marker[1100]; /* a whole model folder (a fetch stages into mclip.incomplete and renames when done) */
    snprintf(marker, sizeof marker, "%s/modules.json", mclip);
    if (psk_file_exists(marker)) snprintf(buf, cap, "%s", mclip);
    else snprintf(buf, cap, "%s", m->dir);
}

/* The query algebra's terms, weighted and summed into one unit vector. */
static int query_vector(psk_library *lib, const store_model *m, const psk_search_params *p, float *qv,
                        psk_error *err) {
    query q;
    int rc = query_parse(p->query, &q, err);
    if (rc) return rc;
    float *tv = psk_malloc(sizeof(float) * (size_t)m->dim);
    if (!tv) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    char text_dir[1024];
    if (p->text_model_dir) snprintf(text_dir, sizeof text_dir, "%s", p->text_model_dir);
    else default_text_model(m, text_dir, sizeof text_dir);
    memset(qv, 0, sizeof(float) * (size_t)m->dim);
    for (int i = 0; !rc && i < q.n; i++) {
        const query_term *t = &q.terms[i];
        if (t->is_text) continue; /* a condition on the photo's words (psk_filter.text), not a meaning */
        rc = t->is_image ? library_image_vector(lib, m, p->image_model_dir, p->n_threads, t->text, tv, err)
                         : library_phrase_vector(lib, m, text_dir, t->text, tv, err);
        for (int d = 0; !rc && d < m->dim; d++) qv[d] += t->weight * tv[d];
    }
    query_free(&q);
    psk_free(tv);
    if (!rc) psk_normalize(qv, m->dim);
    return rc;
}

/* What search, similar and similar-by-id share: the library's model, a query vector made by `make`, the search. */
typedef int (*make_vector_fn)(psk_library *lib, const store_model *m, const psk_search_params *p, const void *arg,
                              float *out, psk_error *err);

/* Each near-duplicate group once, at its first (best-ranked) member: the others are left out of the list, not
 * rescored, and stay reachable from the group (photoseek duplicates, /api/duplicates). */
static int collapse_groups(psk_result *r, int n, int k) {
    int out = 0;
    for (int i = 0; i < n && out < k; i++) {
        bool seen = false;
        for (int j = 0; j < out && !seen && r[i].group; j++) seen = r[j].group == r[i].group;
        if (!seen) r[out++] = r[i];
    }
    return out;
}

bool search_can_collapse(psk_library *lib, const psk_search_params *p) {
    return p->collapse_groups && library_backend(lib)->ops->dup_groups_of != NULL;
}

int search_collapse(psk_library *lib, psk_result *r, int *n, int k, psk_error *err) {
    store_backend *b = library_backend(lib);
    int rc = b->ops->dup_groups_of(b->self, r, *n, err);
    if (!rc) *n = collapse_groups(r, *n, k);
    return rc;
}

/* Leaves out the result whose path is `path` (the image a similar search compares with, when it is in the library). */
static int drop_path(psk_result *r, int n, const char *path) {
    int out = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(r[i].path, path) != 0) r[out++] = r[i];
    return out;
}

/* skip_path: a result to leave out before collapsing, so that its near-duplicates still show (NULL: none). */
static int search_with(psk_library *lib, const psk_search_params *params, make_vector_fn make, const void *arg,
                       const char *skip_path, psk_result **results, int *n, psk_error *err) {
    *results = NULL;
    *n = 0;
    psk_search_params p = params ? *params : psk_search_default_params();
    store_model m;
    int rc = library_current_model(lib, &m, err);
    if (rc) return rc;
    float *qv = psk_malloc(sizeof(float) * (size_t)m.dim);
    if (!qv) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    rc = make(lib, &m, &p, arg, qv, err);
    store_backend *b = library_backend(lib);
    bool grouped = search_can_collapse(lib, &p);
    int k = p.k > 0 ? p.k : 20;
    /* collapsing leaves members out: ask for more so that k results remain */
    if (grouped) p.k = k * 3 < 10000 ? k * 3 : 10000;
    else if (skip_path) p.k = k + 1 < 10000 ? k + 1 : 10000;
    if (!rc) rc = backend_search(b, &m, qv, &p, results, n, err);
    if (!rc && skip_path) *n = drop_path(*results, *n, skip_path);
    if (!rc && !grouped && *n > k) *n = k;
    if (!rc && grouped) rc = search_collapse(lib, *results, n, k, err);
    if (!rc) rc = library_people_of(lib, *results, *n, err);
    if (rc) {
        psk_results_free(*results);
        *results = NULL, *n = 0;
    }
    psk_free(qv);
    return rc;
}

static int text_query(psk_library *lib, const store_model *m, const psk_search_params *p, const void *arg, float *out,
                      psk_error *err) {
    (void)arg;
    return query_vector(lib, m, p, out, err);
}

static int item_query(psk_library *lib, const store_model *m, const psk_search_params *p, const void *arg, float *out,
                      psk_error *err) {
    (void)p;
    return backend_get_vector(library_backend(lib), m, *(const int64_t *)arg, out, err);
}

static int image_query(psk_library *lib, const store_model *m, const psk_search_params *p, const void *arg,
                       float *out, psk_error *err) {
    return library_image_vector(lib, m, p->image_model_dir, p->n_threads, arg, out, err);
}

psk_status psk_library_search(psk_library *lib, const psk_search_params *params, psk_result **results, int *n,
                              psk_error *err) {
    *results = NULL;
    *n = 0;
    if (params && (params->filter.n_people || params->filter.n_person_ids)) {
        int prc = library_check_people(lib, &params->filter, err);
        if (!prc) prc = library_check_person_ids(lib, &params->filter, err);
        if (prc) return prc;
        /* photos of people, without words: newest first */
        if (!params->query || !params->query[strspn(params->query, " \t\n")]) {
            prc = library_browse(lib, params, results, n, err);
            if (!prc) prc = library_people_of(lib, *results, *n, err);
            if (prc) {
                psk_results_free(*results);
                *results = NULL, *n = 0;
            }
            return prc;
        }
    }
    if (!params || !params->query) return psk_fail(err, PSK_ERR_INVALID_ARG, "no query");
    /* text:"..." terms: the words in the photo, as a filter beside the meaning (or alone) */
    query q;
    int rc = query_parse(params->query, &q, err);
    if (rc) return rc;
    const char *text = NULL;
    int meanings = 0;
    for (int i = 0; i < q.n; i++) {
        if (q.terms[i].is_text) text = q.terms[i].text;
        else meanings++;
    }
    if (!text) {
        query_free(&q);
        return search_with(lib, params, text_query, NULL, NULL, results, n, err);
    }
    if (!meanings) {
        rc = psk_library_search_text(lib, text, params, results, n, err);
        query_free(&q);
        return rc;
    }
    char *folded = psk_text_fold(text);
    query_free(&q);
    if (!folded) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    psk_search_params p = *params;
    p.filter.text = folded;
    rc = search_with(lib, &p, text_query, NULL, NULL, results, n, err);
    if (!rc) search_text_snippets(lib, folded, *results, *n);
    psk_free_buffer(folded);
    return rc;
}

psk_status psk_library_similar_id(psk_library *lib, int64_t id, const psk_search_params *params,
                                  psk_result **results, int *n, psk_error *err) {
    return search_with(lib, params, item_query, &id, NULL, results, n, err);
}

psk_status psk_library_similar(psk_library *lib, const char *image_path, const psk_search_params *params,
                               psk_result **results, int *n, psk_error *err) {
    char self[4096];
    if (!image_path || !realpath(image_path, self)) snprintf(self, sizeof self, "%s", image_path ? image_path : "");
    return search_with(lib, params, image_query, image_path, self, results, n, err);
}
