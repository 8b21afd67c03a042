/* A search filter in each store's query language: SQL conditions over the media table (SQLite, PostgreSQL), a
 * Pinecone metadata filter, and the conditions checked on results. */
#include "backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int bind_int(sql_binds *b, int64_t v) {
    if (b->n >= 128) return PSK_ERR_INVALID_ARG;
    b->kinds[b->n] = 1;
    b->ints[b->n++] = v;
    return PSK_OK;
}

static int bind_text(sql_binds *b, const char *s) {
    if (b->n >= 128) return PSK_ERR_INVALID_ARG;
    char *c = psk_strdup(s);
    if (!c) return PSK_ERR_NOMEM;
    b->kinds[b->n] = 2;
    b->texts[b->n++] = c;
    return PSK_OK;
}

void sql_binds_free(sql_binds *b) {
    for (int i = 0; i < b->n; i++)
        if (b->kinds[i] == 2) psk_free(b->texts[i]);
    b->n = 0;
}

/* The placeholder of the next value bound (the values bind in the order their placeholders appear). PostgreSQL
 * gets every value as text, so string arguments of functions are cast to say which function is meant. */
static void ph(psk_buf *sql, const sql_binds *b, int ahead) {
    if (b->pg_base) psk_buf_printf(sql, "$%d", b->pg_base + b->n + ahead + 1);
    else psk_buf_append(sql, "?", 1);
}

static void ph_text(psk_buf *sql, const sql_binds *b, int ahead) {
    ph(sql, b, ahead);
    if (b->pg_base) psk_buf_append(sql, "::text", 6);
}

static int in_list(psk_buf *sql, sql_binds *b, const char *col, const int *v, int n, int lo, int hi, psk_error *err) {
    if (n <= 0) return PSK_OK;
    psk_buf_printf(sql, " AND %s IN (", col);
    for (int i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s %d is out of range", col, v[i]);
        if (i) psk_buf_append(sql, ",", 1);
        ph(sql, b, 0);
        if (bind_int(b, v[i])) return psk_fail(err, PSK_ERR_INVALID_ARG, "too many filter values");
    }
    psk_buf_append(sql, ")", 1);
    return PSK_OK;
}

int filter_sql(const psk_filter *f, psk_buf *sql, sql_binds *b, bool *any, psk_error *err) {
    size_t before = sql->len;
    int rc;
    if ((rc = in_list(sql, b, "year", f->years, f->n_years, 1, 9999, err)) ||
        (rc = in_list(sql, b, "month", f->months, f->n_months, 1, 12, err)) ||
        (rc = in_list(sql, b, "day", f->days, f->n_days, 1, 31, err)))
        return rc;
    if (f->from_date) {
        psk_buf_printf(sql, " AND local_date >= ");
        ph(sql, b, 0);
        bind_int(b, f->from_date);
    }
    if (f->to_date) {
        psk_buf_printf(sql, " AND local_date <= ");
        ph(sql, b, 0);
        bind_int(b, f->to_date);
    }
    if (f->type != PSK_TYPE_ANY) {
        psk_buf_printf(sql, " AND type = ");
        ph(sql, b, 0);
        bind_int(b, f->type);
    }
    if (f->camera && *f->camera) {
        psk_buf_printf(sql, " AND %s(lower(coalesce(make, '') || ' ' || coalesce(model, '')), lower(",
                       b->pg_base ? "strpos" : "instr");
        ph_text(sql, b, 0);
        psk_buf_printf(sql, ")) > 0");
        if (bind_text(b, f->camera)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    if (f->folder && *f->folder) {
        /* A prefix test without LIKE, so that '%' and '_' in folder names are taken literally. */
        char abs[4096];
        const char *folder = f->folder;
        if (realpath(f->folder, abs)) folder = abs;
        size_t n = strlen(folder);
        while (n > 1 && folder[n - 1] == '/') n--;
        char prefix[4100];
        snprintf(prefix, sizeof prefix, "%.*s/", (int)n, folder);
        psk_buf_printf(sql, " AND (substr(path, 1, length(");
        ph_text(sql, b, 0);
        psk_buf_printf(sql, ")) = ");
        ph_text(sql, b, 1);
        psk_buf_printf(sql, ")");
        if (bind_text(b, prefix) || bind_text(b, prefix)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    if (sql->failed) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    *any = sql->len != before;
    return PSK_OK;
}

static void json_in(psk_buf *j, const char *key, const int *v, int n) {
    if (n <= 0) return;
    psk_buf_printf(j, "%s\"%s\": {\"$in\": [", j->len > 1 ? ", " : "", key);
    for (int i = 0; i < n; i++) psk_buf_printf(j, "%s%d", i ? ", " : "", v[i]);
    psk_buf_append(j, "]}", 2);
}

/* UTC seconds of a YYYYMMDD date's first (or last) second. */
static int64_t day_bound(int ymd, bool end) {
    struct tm tm = {0};
    tm.tm_year = ymd / 10000 - 1900;
    tm.tm_mon = ymd / 100 % 100 - 1;
    tm.tm_mday = ymd % 100;
    return (int64_t)timegm(&tm) + (end ? 86399 : 0);
}

int filter_pinecone(const psk_filter *f, psk_buf *j, psk_error *err) {
    psk_buf_append(j, "{", 1);
    json_in(j, "year", f->years, f->n_years);
    json_in(j, "month", f->months, f->n_months);
    json_in(j, "day", f->days, f->n_days);
    if (f->from_date || f->to_date) { /* one operator per field object, combined with $and */
        psk_buf_printf(j, "%s\"$and\": [", j->len > 1 ? ", " : "");
        if (f->from_date) psk_buf_printf(j, "{\"taken_at\": {\"$gte\": %lld}}", (long long)day_bound(f->from_date, false));
        if (f->to_date)
            psk_buf_printf(j, "%s{\"taken_at\": {\"$lte\": %lld}}", f->from_date ? ", " : "",
                           (long long)day_bound(f->to_date, true));
        psk_buf_append(j, "]", 1);
    }
    if (f->type != PSK_TYPE_ANY)
        psk_buf_printf(j, "%s\"type\": {\"$eq\": \"%s\"}", j->len > 1 ? ", " : "", f->type == PSK_TYPE_VIDEO ? "video" : "photo");
    psk_buf_append(j, "}", 1);
    if (j->failed) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (j->len == 2) j->len = 0; /* no condition: no filter */
    return PSK_OK;
}

bool filter_accepts(const psk_filter *f, const psk_result *r) {
    if (f->camera && *f->camera && !strcasestr(r->camera, f->camera)) return false;
    if (f->folder && *f->folder) {
        char abs[4096];
        const char *folder = realpath(f->folder, abs) ? abs : f->folder;
        size_t n = strlen(folder);
        while (n > 1 && folder[n - 1] == '/') n--;
        if (strncmp(r->path, folder, n) != 0 || r->path[n] != '/') return false;
    }
    return true;
}
