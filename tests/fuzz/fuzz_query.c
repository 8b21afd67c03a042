/* libFuzzer target: the query algebra and the search filters, the two texts a search takes from its caller (the
 * CLI's arguments, the server's query string). The input's first line is the query; every further line is a
 * filter "name=value" as psk_filter_set takes it (year, month, day, from, to, type, camera, folder). A parsed
 * query has at least one term, each a non-empty, trimmed string with a finite weight; an accepted filter becomes
 * SQL for SQLite and for PostgreSQL with one bound value per placeholder, and Pinecone JSON. */
#include "../../src/search/search.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_query(const query *q) {
    if (q->n < 1) abort();
    for (int i = 0; i < q->n; i++) {
        const char *t = q->terms[i].text;
        size_t len = strlen(t);
        if (!len || isspace((unsigned char)t[0]) || isspace((unsigned char)t[len - 1]) ||
            !isfinite(q->terms[i].weight) || q->terms[i].weight == 0) {
            fprintf(stderr, "term %d '%s' weight %g\n", i, t, q->terms[i].weight);
            abort();
        }
    }
}

/* The number of placeholders ("?" for SQLite, "$N" for PostgreSQL) in sql: each must have its value. */
static int placeholders(const char *sql, bool pg) {
    int n = 0;
    for (const char *p = sql; *p; p++)
        if (pg ? (*p == '$' && isdigit((unsigned char)p[1])) : *p == '?') n++;
    return n;
}

static void check_filter(const psk_filter *f) {
    for (int pg = 0; pg < 2; pg++) {
        psk_buf sql = {0};
        sql_binds b = {0};
        b.pg_base = pg ? 3 : 0;
        bool any = false;
        psk_error err = {0};
        if (filter_sql(f, &sql, &b, &any, &err) == PSK_OK) {
            psk_buf_append(&sql, "", 1);
            if (!sql.failed && placeholders(sql.data, pg) != b.n) {
                fprintf(stderr, "%d values for \"%s\"\n", b.n, sql.data);
                abort();
            }
        }
        sql_binds_free(&b);
        psk_buf_free(&sql);
    }
    psk_buf json = {0};
    psk_error err = {0};
    filter_pinecone(f, &json, &err);
    psk_buf_free(&json);
    psk_result r = {0};
    snprintf(r.path, sizeof r.path, "/photos/2021/june_1.jpg");
    snprintf(r.camera, sizeof r.camera, "Pixel Maker Pixel 9");
    (void)filter_accepts(f, &r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 14) return 0;
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    char *nl = strchr(text, '\n');
    if (nl) *nl = 0;
    query q;
    psk_error err = {0};
    if (query_parse(text, &q, &err) == PSK_OK) {
        check_query(&q);
        query_free(&q);
    }
    psk_filter f = {0};
    for (char *line = nl ? nl + 1 : NULL; line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = 0;
            (void)psk_filter_set(&f, line, eq + 1, &err); /* a rejected value leaves the others as they were */
        }
        line = next;
    }
    check_filter(&f);
    free(text);
    return 0;
}
