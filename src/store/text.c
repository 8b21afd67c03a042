/* Text in photos in the SQLite store: the text OCR read per media row, its words' boxes, and the folded text in an
 * FTS5 trigram index, so that any substring of three characters or more is found through the index (shorter ones,
 * and patterns with LIKE's wildcards, by a scan of the folded text). */
#include "store.h"

#include <string.h>

int store_put_text(psk_store *s, int64_t media_id, const char *text, const char *words_json, psk_error *err) {
    sqlite3_stmt *st;
    /* the trigger media_text_gone takes the index entry along */
    int rc = store_prepare(s, "DELETE FROM media_text WHERE media_id = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, media_id);
    rc = sqlite3_step(st) == SQLITE_DONE ? PSK_OK : store_fail(s, err, "removing a photo's text");
    sqlite3_finalize(st);
    if (rc || !text || !*text) return rc;
    char *folded = psk_text_fold(text);
    if (!folded) return psk_fail(err, PSK_ERR_INVALID_ARG, "the text read in a photo is not valid UTF-8");
    if (!(rc = store_prepare(s, "INSERT INTO media_text(media_id, text, words) VALUES (?, ?, ?)", &st, err))) {
        sqlite3_bind_int64(st, 1, media_id);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, words_json ? words_json : "[]", -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? PSK_OK : store_fail(s, err, "writing a photo's text");
        sqlite3_finalize(st);
    }
    if (!rc && !(rc = store_prepare(s, "INSERT INTO media_text_fts(rowid, folded) VALUES (?, ?)", &st, err))) {
        sqlite3_bind_int64(st, 1, media_id);
        sqlite3_bind_text(st, 2, folded, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? PSK_OK : store_fail(s, err, "indexing a photo's text");
        sqlite3_finalize(st);
    }
    psk_free_buffer(folded);
    return rc;
}

int store_text_find(psk_store *s, const char *folded_query, int limit, store_text_fn fn, void *user, psk_error *err) {
    /* LIKE goes through the trigram index (three characters or more); '%', '_' and '\\' in the query would be
     * wildcards there, so such queries, and short ones, are matched with instr() over every row instead */
    size_t n_chars = 0;
    for (const unsigned char *c = (const unsigned char *)folded_query; *c; c++) n_chars += (*c & 0xC0) != 0x80;
    bool like = n_chars >= 3 && !strpbrk(folded_query, "%_\\");
    const char *sql = like ? "SELECT rowid, folded FROM media_text_fts WHERE folded LIKE ? ORDER BY rowid LIMIT ?"
                           : "SELECT rowid, folded FROM media_text_fts WHERE instr(folded, ?) > 0 ORDER BY rowid LIMIT ?";
    sqlite3_stmt *st;
    int rc = store_prepare(s, sql, &st, err);
    if (rc) return rc;
    psk_buf pat = {0};
    if (like) psk_buf_printf(&pat, "%%%s%%", folded_query);
    else psk_buf_printf(&pat, "%s", folded_query);
    if (!pat.data || pat.failed) {
        sqlite3_finalize(st);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    sqlite3_bind_text(st, 1, pat.data, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, limit);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(user, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1))) break;
    if (step != SQLITE_ROW && step != SQLITE_DONE) rc = store_fail(s, err, "searching the text in photos");
    sqlite3_finalize(st);
    psk_buf_free(&pat);
    return rc;
}
