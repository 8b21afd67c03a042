/* Searching: the query algebra, filters as SQL, and results. */
#ifndef PSK_SEARCH_H
#define PSK_SEARCH_H

#include "../library/library.h"

typedef struct query_term {
    char *text;   /* a phrase, or an image path when is_image */
    float weight; /* +1 by default; -1 for "-term"; N for "N:term" */
    bool is_image;
} query_term;

typedef struct query {
    query_term *terms;
    int n;
} query;

/* Parses the query algebra:
 *   words            consecutive plain words form one phrase ("donut birthday cake" is one term)
 *   "a phrase"       a quoted phrase is a term of its own
 *   -term +term      subtract / add a term (a word or a quoted phrase)
 *   2:term -0.5:term weights
 *   path/to/a.jpg    an existing image file is an image term
 * Returns PSK_ERR_INVALID_ARG with a message for an empty query, an unclosed quote or a bad weight. */
int query_parse(const char *s, query *q, psk_error *err);
void query_free(query *q);

/* Appends " AND ..." conditions for the filter to sql and binds nothing; values go to the bind list. */
typedef struct sql_binds {
    int pg_base; /* 0: SQLite's "?" placeholders; else PostgreSQL's "$N", numbered from pg_base + 1 */
    int n;
    int kinds[128]; /* 1 int64, 2 text */
    int64_t ints[128];
    char *texts[128];
} sql_binds;
int filter_sql(const psk_filter *f, psk_buf *sql, sql_binds *b, bool *any, psk_error *err);
void sql_binds_free(sql_binds *b);
/* The filter's dates and type in Pinecone's metadata filter syntax ({"year": {"$in": [2022]}, ...}); nothing is
 * appended when they are not set. from/to become bounds on taken_at (UTC days). */
int filter_pinecone(const psk_filter *f, psk_buf *json, psk_error *err);
/* Whether a result passes the filter's camera (substring, any case) and folder (prefix) conditions. */
bool filter_accepts(const psk_filter *f, const psk_result *r);

/* Fills r from a row of "SELECT path, taken_at, offset_min, taken_local, type, width, height, make, model FROM
 * media WHERE id = ?" (st is reset and bound to id here). */
int search_fill_result(sqlite3_stmt *st, int64_t id, psk_result *r);

#endif
