/* The place of every photo with a position, named at the end of an index run: new rows, rows whose file changed
 * (store_media_put clears their place), rows a Takeout sidecar gave a position, and every row of a library from
 * before places (schema 4). A position with no place within 50 km is recorded as '' so it is not looked up again. */
#include "ingest.h"

#include <string.h>

int ingest_name_places(psk_store *s, const char *places_dir, int64_t *placed, psk_error *err) {
    psk_places *pl;
    if (psk_places_open(places_dir, &pl, NULL) != PSK_OK) return PSK_OK; /* no data: no names (the CLI says so) */
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int rc = store_prepare(s, "SELECT id, lat, lon FROM media WHERE lat IS NOT NULL AND lon IS NOT NULL"
                              " AND place_cc IS NULL AND error IS NULL", &sel, err);
    if (!rc) rc = store_prepare(s, "UPDATE media SET place_city = ?1, place_region = ?2, place_country = ?3,"
                                   " place_cc = ?4 WHERE id = ?5", &upd, err);
    if (!rc) rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc) goto done;
    while (!rc && sqlite3_step(sel) == SQLITE_ROW) {
        psk_place p;
        int found = psk_places_reverse(pl, sqlite3_column_double(sel, 1), sqlite3_column_double(sel, 2), &p);
        sqlite3_reset(upd);
        sqlite3_clear_bindings(upd);
        if (found) {
            sqlite3_bind_text(upd, 1, p.city, -1, SQLITE_STATIC);
            if (p.region[0]) sqlite3_bind_text(upd, 2, p.region, -1, SQLITE_STATIC);
            sqlite3_bind_text(upd, 3, p.country, -1, SQLITE_STATIC);
        }
        sqlite3_bind_text(upd, 4, found ? p.country_code : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(upd, 5, sqlite3_column_int64(sel, 0));
        if (sqlite3_step(upd) != SQLITE_DONE) rc = store_fail(s, err, "naming places");
        else if (found) (*placed)++;
    }
    if (!rc) rc = store_exec(s, "COMMIT", err);
    else store_exec(s, "ROLLBACK", NULL);
done:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    psk_places_close(pl);
    return rc;
}
