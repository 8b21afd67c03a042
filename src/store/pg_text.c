/* Text in photos in the PostgreSQL store: the text per media row, its words' boxes, and the text folded by
 * psk_text_fold (the same folding as the SQLite store, so both find the same photos) under pg_trgm's GIN index,
 * which serves LIKE '%...%' for any substring. */
#include "pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_prepare(pg_store *s, const char *name, const char *sql, int n, psk_error *err) {
    PGresult *r = PQprepare(s->conn, name, sql, n, NULL);
    int rc = pg_ok(r) ? PSK_OK : pg_fail(s, err, "preparing", r);
    PQclear(r);
    return rc;
}

int pg_text_missing(pg_store *s, const char *what, psk_error *err) {
    return psk_fail(err, PSK_ERR_UNSUPPORTED,
                    "%s: %s needs the pg_trgm extension, which the server does not have (%s): run CREATE EXTENSION "
                    "pg_trgm in the database as a user allowed to (pg_trgm comes with PostgreSQL's contrib modules: "
                    "Debian's postgresql package has it), then run photoseek again",
                    s->shown, what, s->trgm_why);
}

int pg_text_prepare(pg_store *s, psk_error *err) {
    int rc = pg_prepare(s, "psk_del_text", "DELETE FROM photoseek_text WHERE media_id = $1", 1, err);
    if (!rc)
        rc = pg_prepare(s, "psk_put_text", "INSERT INTO photoseek_text(media_id, text, words, folded) VALUES ($1, $2, $3, $4)",
                     4, err);
    return rc;
}

int pg_text_send(pg_store *s, const char *id_s, const store_extra *x, int *sent, psk_error *err) {
    *sent = 0;
    if (!x) return PSK_OK;
    const char *dv[1] = {id_s};
    if (!PQsendQueryPrepared(s->conn, "psk_del_text", 1, dv, NULL, NULL, 0)) return pg_fail(s, err, "sending", NULL);
    (*sent)++;
    if (!x->text || !x->text[0]) return PSK_OK;
    char *folded = psk_text_fold(x->text);
    if (!folded) return psk_fail(err, PSK_ERR_INVALID_ARG, "the text read in a photo is not valid UTF-8");
    const char *v[4] = {id_s, x->text, x->words && x->words[0] ? x->words : "[]", folded};
    int rc = PQsendQueryPrepared(s->conn, "psk_put_text", 4, v, NULL, NULL, 0) ? PSK_OK : pg_fail(s, err, "sending", NULL);
    psk_free_buffer(folded);
    if (!rc) (*sent)++;
    return rc;
}

int pg_text_find(pg_store *s, const char *folded_query, int limit, store_text_fn fn, void *user, psk_error *err) {
    if (!s->trgm) return pg_text_missing(s, "text search", err);
    char *pat = store_like_contains(folded_query), lim[16];
    if (!pat) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(lim, sizeof lim, "%d", limit);
    const char *v[2] = {pat, lim};
    PGresult *r = pg_read(s, "SELECT media_id, folded FROM photoseek_text WHERE folded LIKE $1 ORDER BY media_id LIMIT $2",
                          2, v, 0, "searching the text in photos", err);
    psk_free(pat);
    if (!r) return PSK_ERR_DB;
    for (int i = 0, n = PQntuples(r); i < n; i++)
        if (fn(user, atoll(PQgetvalue(r, i, 0)), PQgetvalue(r, i, 1))) break;
    PQclear(r);
    return PSK_OK;
}

int pg_text_of(pg_store *s, int64_t id, char **folded, psk_error *err) {
    *folded = NULL;
    if (!s->trgm) return pg_text_missing(s, "text search", err);
    char id_s[32];
    snprintf(id_s, sizeof id_s, "%lld", (long long)id);
    const char *v[1] = {id_s};
    PGresult *r = pg_read(s, "SELECT folded FROM photoseek_text WHERE media_id = $1", 1, v, 0, "reading a photo's text", err);
    if (!r) return PSK_ERR_DB;
    int rc = PSK_OK;
    if (PQntuples(r) == 1 && !(*folded = psk_strdup(PQgetvalue(r, 0, 0)))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    PQclear(r);
    return rc;
}
