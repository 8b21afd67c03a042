/* Reading single items and the values present (for the web page's filter chips), from the library's store. */
#include "search.h"

psk_status psk_library_get_media(psk_library *lib, int64_t id, psk_result *out, psk_error *err) {
    return backend_get_media(library_backend(lib), id, out, err);
}

void psk_facets_free(psk_facets *f) {
    if (!f) return;
    psk_free(f->years);
    psk_free(f->months);
    psk_free(f->cameras);
    psk_free(f->folders);
    psk_free(f->types);
    psk_free(f->countries);
    psk_free(f->places);
    psk_free(f);
}

psk_status psk_library_facets(psk_library *lib, psk_facets **out, psk_error *err) {
    return backend_facets(library_backend(lib), out, err);
}

psk_status psk_library_media_text(psk_library *lib, int64_t id, char **text, char **words_json, psk_error *err) {
    *text = *words_json = NULL;
    if (!(psk_library_capabilities(lib) & PSK_STORE_CAP_TEXT))
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "a %s library keeps no text in photos", psk_library_store_kind(lib));
    psk_store *st = library_local_store(lib, "text in photos", err);
    if (!st) return PSK_ERR_UNSUPPORTED;
    sqlite3_stmt *q;
    int rc = store_prepare(st, "SELECT text, words FROM media_text WHERE media_id = ?", &q, err);
    if (rc) return rc;
    sqlite3_bind_int64(q, 1, id);
    bool found = sqlite3_step(q) == SQLITE_ROW;
    const char *t = found ? (const char *)sqlite3_column_text(q, 0) : NULL;
    const char *w = found ? (const char *)sqlite3_column_text(q, 1) : NULL;
    *text = psk_strdup(t ? t : "");
    *words_json = psk_strdup(w && *w ? w : "[]");
    sqlite3_finalize(q);
    if (!*text || !*words_json) {
        psk_free(*text), psk_free(*words_json);
        *text = *words_json = NULL;
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    return PSK_OK;
}

/* The media ids of a stored group, the keeper first: the store's own (dup_members) or the SQLite file's. */
static int group_members(psk_library *lib, int64_t group, int64_t **ids, int *n, psk_error *err) {
    *ids = NULL, *n = 0;
    store_backend *b = library_backend(lib);
    if (b->ops->dup_members) return b->ops->dup_members(b->self, group, ids, n, err);
    psk_store *st = library_local_store(lib, "near-duplicate groups", err);
    if (!st) return PSK_ERR_UNSUPPORTED;
    sqlite3_stmt *q;
    /* the group's id is its keeper's: the keeper first, then the others as indexed */
    int rc = store_prepare(st, "SELECT media_id FROM dup_groups WHERE group_id = ?1 ORDER BY media_id != ?1, media_id",
                           &q, err);
    if (rc) return rc;
    sqlite3_bind_int64(q, 1, group);
    int cap = 0;
    while (!rc && sqlite3_step(q) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            int64_t *grown = psk_realloc(*ids, sizeof *grown * (size_t)cap);
            if (!grown) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            *ids = grown;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    if (rc) {
        psk_free(*ids);
        *ids = NULL, *n = 0;
    }
    return rc;
}

psk_status psk_library_group(psk_library *lib, int64_t group, psk_result **results, int *n, psk_error *err) {
    *results = NULL;
    *n = 0;
    if (!(psk_library_capabilities(lib) & PSK_STORE_CAP_DUPLICATES))
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "a %s library keeps no near-duplicate groups",
                        psk_library_store_kind(lib));
    int64_t *ids = NULL;
    int n_ids = 0;
    int rc = group_members(lib, group, &ids, &n_ids, err);
    if (rc) return rc;
    psk_result *r = n_ids ? psk_calloc((size_t)n_ids, sizeof *r) : NULL;
    if (n_ids && !r) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < n_ids; i++) {
        psk_error e = {0};
        if (backend_get_media(library_backend(lib), ids[i], &r[*n], &e)) continue; /* gone */
        r[*n].score = 1;
        r[*n].group = group;
        (*n)++;
    }
    psk_free(ids);
    for (int i = 0; i < *n; i++) r[i].group_size = *n;
    if (!rc && !*n) rc = psk_fail(err, PSK_ERR_NOT_FOUND, "no near-duplicate group %lld", (long long)group);
    if (rc) {
        psk_free(r);
        *n = 0;
        return rc;
    }
    *results = r;
    return PSK_OK;
}
