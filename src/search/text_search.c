/* psk_library_search_text: the photos whose text (read by OCR at indexing) holds the query, found in the store's
 * trigram index (SQLite: src/store/text.c; PostgreSQL: pg_trgm in pg_text.c), each with the words around the match. */
#include "search.h"

#include <string.h>

typedef struct text_hits {
    psk_library *lib;
    const psk_search_params *p;
    const char *query; /* folded */
    psk_result *r;
    int n, cap;
    int rc;
    psk_error *err;
} text_hits;

/* The words around the match in the folded text: up to 80 bytes before and after, cut at characters. */
static void snippet(const char *folded, const char *q, char *out, size_t cap) {
    const char *at = strstr(folded, q);
    if (!at) at = folded;
    const char *from = at - (at - folded > 80 ? 80 : at - folded);
    while (from > folded && (*from & 0xC0) == 0x80) from--;
    size_t len = strlen(from), want = (size_t)(at - from) + strlen(q) + 80;
    if (len > want) len = want;
    if (len >= cap) len = cap - 1;
    while (len > 0 && (from[len] & 0xC0) == 0x80) len--; /* never half a character */
    memcpy(out, from, len);
    out[len] = 0;
    for (char *c = out; *c; c++)
        if (*c == '\n') *c = ' ';
}

static int on_hit(void *user, int64_t id, const char *folded) {
    text_hits *h = user;
    psk_result r;
    memset(&r, 0, sizeof r);
    psk_error e = {0};
    if (psk_library_get_media(h->lib, id, &r, &e)) return 0; /* a row without its media: skipped */
    if (!filter_accepts(&h->p->filter, &r)) return 0;
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 32;
        psk_result *nr = psk_realloc(h->r, sizeof *nr * (size_t)cap);
        if (!nr) {
            h->rc = psk_fail(h->err, PSK_ERR_NOMEM, "out of memory");
            return 1;
        }
        h->r = nr;
        h->cap = cap;
    }
    r.score = 1;
    r.frame_ms = -1;
    snippet(folded, h->query, r.text, sizeof r.text);
    h->r[h->n++] = r;
    return h->n >= h->p->k;
}

void search_text_snippets(psk_library *lib, const char *folded, psk_result *r, int n) {
    psk_error err = {0};
    for (int i = 0; i < n; i++) {
        char *text = NULL;
        if (backend_text_of(library_backend(lib), r[i].id, &text, &err)) return;
        if (text) snippet(text, folded, r[i].text, sizeof r[i].text);
        psk_free(text);
    }
}

psk_status psk_library_search_text(psk_library *lib, const char *text, const psk_search_params *params,
                                   psk_result **results, int *n, psk_error *err) {
    *results = NULL;
    *n = 0;
    psk_search_params p = params ? *params : psk_search_default_params();
    if (p.k <= 0) p.k = 20;
    store_backend *b = library_backend(lib);
    if (!backend_can(b, PSK_STORE_CAP_TEXT)) return backend_unsupported_cap(b, "text search", PSK_STORE_CAP_TEXT, err);
    if (p.filter.n_people || p.filter.n_person_ids)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "--person with only words read in photos (--text, text:\"...\") is "
                                                  "not supported yet: add a description to the query");
    char *q = text ? psk_text_fold(text) : NULL;
    if (!q) return psk_fail(err, PSK_ERR_INVALID_ARG, "the text to search for is not valid UTF-8");
    if (!*q) {
        psk_free_buffer(q);
        return psk_fail(err, PSK_ERR_INVALID_ARG, "no text to search for");
    }
    int k = p.k;
    bool grouped = search_can_collapse(lib, &p);
    if (grouped) p.k = k * 3 < 10000 ? k * 3 : 10000; /* collapsing leaves members out: more, so k remain */
    text_hits h = {lib, &p, q, NULL, 0, 0, PSK_OK, err};
    int rc = backend_text_find(b, q, 100000, on_hit, &h, err);
    if (!rc) rc = h.rc;
    if (!rc && grouped) rc = search_collapse(lib, h.r, &h.n, k, err);
    psk_free_buffer(q);
    if (rc) {
        psk_free(h.r);
        return rc;
    }
    if (p.sort == PSK_SORT_DATE) store_sort_by_date(h.r, h.n);
    *results = h.r;
    *n = h.n;
    return PSK_OK;
}
