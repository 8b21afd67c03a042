/* Reading single items and the values present (for the web page's filter chips). */
#include "search.h"

#include <stdio.h>
#include <string.h>

psk_status psk_library_get_media(psk_library *lib, int64_t id, psk_result *out, psk_error *err) {
    if (lib->pg) {
        int rc = pg_get_media(lib->pg, id, out, err);
        out->frame_ms = -1;
        out->score = 1.0f;
        return rc;
    }
    int need = library_need_sqlite(lib, "looking an item up", err);
    if (need) return need;
    sqlite3_stmt *st;
    int rc = store_prepare(lib->store,
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

/* The facet queries over either store: %1$s is the media table, %2$s the condition for indexed rows. */
static const char *facet_sql[5] = {
    "SELECT year, count(*) FROM %1$s WHERE %2$s AND year IS NOT NULL GROUP BY year ORDER BY year DESC",
    "SELECT month, count(*) FROM %1$s WHERE %2$s AND month IS NOT NULL GROUP BY month ORDER BY month",
    "SELECT trim(coalesce(make, '') || ' ' || coalesce(model, '')) AS cam, count(*) FROM %1$s WHERE %2$s AND "
    "(make IS NOT NULL OR model IS NOT NULL) GROUP BY cam ORDER BY count(*) DESC LIMIT 50",
    "SELECT folder, count(*) FROM %1$s WHERE %2$s GROUP BY folder ORDER BY count(*) DESC LIMIT 100",
    "SELECT CASE type WHEN 2 THEN 'video' ELSE 'photo' END, count(*) FROM %1$s WHERE %2$s GROUP BY type",
};

psk_status psk_library_facets(psk_library *lib, psk_facets **out, psk_error *err) {
    if (lib->pc) return library_need_sqlite(lib, "listing facets", err);
    psk_facets *f = psk_calloc(1, sizeof *f);
    if (!f) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    psk_facet **lists[5] = {&f->years, &f->months, &f->cameras, &f->folders, &f->types};
    int *counts[5] = {&f->n_years, &f->n_months, &f->n_cameras, &f->n_folders, &f->n_types};
    int rc = PSK_OK;
    for (int i = 0; !rc && i < 5; i++) {
        char sql[512];
        snprintf(sql, sizeof sql, facet_sql[i], lib->pg ? "photoseek_media" : "media", lib->pg ? "true" : "error IS NULL");
        rc = lib->pg ? pg_pairs(lib->pg, sql, lists[i], counts[i], err)
                     : facet_query(lib->store, sql, lists[i], counts[i], err);
    }
    if (rc) {
        psk_facets_free(f);
        return rc;
    }
    *out = f;
    return PSK_OK;
}
