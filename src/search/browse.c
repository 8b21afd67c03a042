/* Reading single items and the values present (for the web page's filter chips). */
#include "search.h"

#include <stdio.h>
#include <string.h>

psk_status psk_library_get_media(psk_library *lib, int64_t id, psk_result *out, psk_error *err) {
    sqlite3_stmt *st;
    int rc = library_need_sqlite(lib, "looking an item up", err);
    if (rc) return rc;
    rc = store_prepare(lib->store,
                           "SELECT path, taken_at, offset_min, taken_local, type, width, height, make, model "
                           "FROM media WHERE id = ? AND error IS NULL",
                           &st, err);
    if (rc) return rc;
    memset(out, 0, sizeof *out);
    rc = search_fill_result(st, id, out);
    sqlite3_finalize(st);
    if (rc) return psk_fail(err, PSK_ERR_NOT_FOUND, "no item %lld in the library", (long long)id);
    out->frame_ms = -1;
    out->score = 1.0f;
    return PSK_OK;
}

static int facet_query(psk_store *s, const char *sql, psk_facet **out, int *n, psk_error *err) {
    sqlite3_stmt *st;
    *out = NULL;
    *n = 0;
    int rc = store_prepare(s, sql, &st, err);
    if (rc) return rc;
    int cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            psk_facet *f = psk_realloc(*out, sizeof *f * (size_t)cap);
            if (!f) {
                sqlite3_finalize(st);
                return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            }
            *out = f;
        }
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf((*out)[*n].value, sizeof (*out)[*n].value, "%s", v ? (const char *)v : "");
        (*out)[*n].count = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    sqlite3_finalize(st);
    return PSK_OK;
}

void psk_facets_free(psk_facets *f) {
    if (!f) return;
    psk_free(f->years);
    psk_free(f->months);
    psk_free(f->cameras);
    psk_free(f->folders);
    psk_free(f->types);
    psk_free(f);
}

psk_status psk_library_facets(psk_library *lib, psk_facets **out, psk_error *err) {
    int need = library_need_sqlite(lib, "listing facets", err);
    if (need) return need;
    psk_facets *f = psk_calloc(1, sizeof *f);
    if (!f) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    psk_store *s = lib->store;
    int rc;
    if ((rc = facet_query(s, "SELECT year, count(*) FROM media WHERE error IS NULL AND year IS NOT NULL GROUP BY year ORDER BY year DESC",
                          &f->years, &f->n_years, err)) ||
        (rc = facet_query(s, "SELECT month, count(*) FROM media WHERE error IS NULL AND month IS NOT NULL GROUP BY month ORDER BY month",
                          &f->months, &f->n_months, err)) ||
        (rc = facet_query(s,
                          "SELECT trim(coalesce(make, '') || ' ' || coalesce(model, '')) AS cam, count(*) FROM media "
                          "WHERE error IS NULL AND (make IS NOT NULL OR model IS NOT NULL) GROUP BY cam ORDER BY count(*) DESC LIMIT 50",
                          &f->cameras, &f->n_cameras, err)) ||
        (rc = facet_query(s, "SELECT folder, count(*) FROM media WHERE error IS NULL GROUP BY folder ORDER BY count(*) DESC LIMIT 100",
                          &f->folders, &f->n_folders, err)) ||
        (rc = facet_query(s, "SELECT CASE type WHEN 2 THEN 'video' ELSE 'photo' END, count(*) FROM media WHERE error IS NULL GROUP BY type",
                          &f->types, &f->n_types, err))) {
        psk_facets_free(f);
        return rc;
    }
    *out = f;
    return PSK_OK;
}
