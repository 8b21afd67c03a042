/* A search filter in each store's query language: SQL conditions over the media table (SQLite, PostgreSQL), a
 * Pinecone metadata filter, and the conditions checked on results. */
#include "backend.h"

#include <math.h>
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

void sql_binds_sqlite(const sql_binds *b, sqlite3_stmt *st, int first) {
    for (int i = 0; i < b->n; i++) {
        if (b->kinds[i] == 1) sqlite3_bind_int64(st, first + i + 1, b->ints[i]);
        else sqlite3_bind_text(st, first + i + 1, b->texts[i], -1, SQLITE_STATIC);
    }
}

void sql_binds_pg(const sql_binds *b, char nums[][24], const char **vals) {
    for (int i = 0; i < b->n; i++) {
        if (b->kinds[i] == 1) snprintf(nums[i], 24, "%lld", (long long)b->ints[i]);
        vals[i] = b->kinds[i] == 1 ? nums[i] : b->texts[i];
    }
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

/* --near: a bounding box on lat (and on lon where it does not reach a pole) that an index can use, then the exact
 * great-circle distance (haversine; SQLite's and PostgreSQL's math functions). The numbers are ours, printed
 * in full precision, never text from the user. */
/* The bounding box of --near: lat0..lat1, and (lon_box 1) lon0..lon1 or (lon_box 2, across the antimeridian)
 * lon >= lon0 or lon <= lon1; no longitude bound (lon_box 0) where the circle reaches a pole. */
typedef struct near_box {
    double lat0, lat1, lon0, lon1;
    int lon_box;
} near_box;

static near_box box_of(const psk_filter *f) {
    near_box b = {0};
    double dlat = f->near_km / 111.19 + 1e-6; /* degrees of latitude per km on the mean sphere: 111.195 */
    b.lat0 = f->near_lat - dlat, b.lat1 = f->near_lat + dlat;
    double c = cos(fmax(fabs(b.lat0), fabs(b.lat1)) * M_PI / 180);
    if (b.lat0 > -89.9 && b.lat1 < 89.9 && c > 1e-6 && dlat / c < 179) {
        double dlon = dlat / c;
        b.lon0 = f->near_lon - dlon, b.lon1 = f->near_lon + dlon, b.lon_box = 1;
        if (b.lon0 < -180) b.lon0 += 360, b.lon_box = 2;
        else if (b.lon1 > 180) b.lon1 -= 360, b.lon_box = 2;
    }
    return b;
}

static void near_sql(const psk_filter *f, psk_buf *sql, bool pg) {
    near_box b = box_of(f);
    psk_buf_printf(sql, " AND lat BETWEEN %.17g AND %.17g AND NOT (lat = 0 AND lon = 0)", b.lat0, b.lat1); /* 0,0: none */
    if (b.lon_box == 2) psk_buf_printf(sql, " AND (lon >= %.17g OR lon <= %.17g)", b.lon0, b.lon1);
    else if (b.lon_box == 1) psk_buf_printf(sql, " AND lon BETWEEN %.17g AND %.17g", b.lon0, b.lon1);
    psk_buf_printf(sql,
                   " AND 2 * 6371.0088 * asin(%s(1, sqrt(power(sin(radians(lat - %.17g) / 2), 2) + cos(radians(lat))"
                   " * cos(radians(%.17g)) * power(sin(radians(lon - %.17g) / 2), 2)))) <= %.17g",
                   pg ? "least" : "min", f->near_lat, f->near_lat, f->near_lon, f->near_km);
}

/* Places: any of the matches, each a country code and, where given, a region and a city. A city's region is left
 * out: the matches of a name hold every city of that name in a country (Paris, Texas and Paris, Tennessee), so
 * (country, city) says the same in fewer values. */
/* Whether place match i says what an earlier one said (a city: the same country and name). */
static bool place_seen(const psk_filter *f, int i) {
    const psk_place_match *m = &f->places[i];
    for (int j = 0; j < i && m->kind == PSK_PLACE_CITY; j++)
        if (f->places[j].kind == PSK_PLACE_CITY && strcmp(f->places[j].country_code, m->country_code) == 0 &&
            strcmp(f->places[j].city, m->city) == 0)
            return true;
    return false;
}

static int places_sql(const psk_filter *f, psk_buf *sql, sql_binds *b, psk_error *err) {
    psk_buf_append(sql, " AND (", 6);
    for (int i = 0, first = 1; i < f->n_places; i++) {
        const psk_place_match *m = &f->places[i];
        if (place_seen(f, i)) continue;
        psk_buf_printf(sql, "%s(place_cc = ", first ? "" : " OR ");
        first = 0;
        ph_text(sql, b, 0);
        if (bind_text(b, m->country_code)) return psk_fail(err, PSK_ERR_INVALID_ARG, "too many places in the filter");
        if (m->region[0] && m->kind != PSK_PLACE_CITY) {
            psk_buf_printf(sql, " AND place_region = ");
            ph_text(sql, b, 0);
            if (bind_text(b, m->region)) return psk_fail(err, PSK_ERR_INVALID_ARG, "too many places in the filter");
        }
        if (m->city[0]) {
            psk_buf_printf(sql, " AND place_city = ");
            ph_text(sql, b, 0);
            if (bind_text(b, m->city)) return psk_fail(err, PSK_ERR_INVALID_ARG, "too many places in the filter");
        }
        psk_buf_append(sql, ")", 1);
    }
    psk_buf_append(sql, ")", 1);
    return PSK_OK;
}

/* People by id: each has a face in the photo (the faces table of src/store/sqlite_people.c; photoseek_faces on
 * PostgreSQL). */
static int person_ids_sql(const psk_filter *f, psk_buf *sql, sql_binds *b, psk_error *err) {
    for (int i = 0; i < f->n_person_ids; i++) {
        psk_buf_printf(sql, " AND id IN (SELECT media_id FROM %s WHERE person_id = ", b->pg_base ? "photoseek_faces" : "faces");
        ph(sql, b, 0);
        psk_buf_append(sql, ")", 1);
        if (bind_int(b, f->person_ids[i])) return psk_fail(err, PSK_ERR_INVALID_ARG, "too many filter values");
    }
    return PSK_OK;
}

char *store_like_contains(const char *s) {
    psk_buf b = {0};
    psk_buf_append(&b, "%", 1);
    for (const char *c = s; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') psk_buf_append(&b, "\\", 1);
        psk_buf_append(&b, c, 1);
    }
    psk_buf_append(&b, "%", 1);
    if (b.failed) {
        psk_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* People: each name is a named person with a face in the photo, or a name of its Takeout sidecar (media.people, a
 * JSON array), case-insensitive (SQLite: ASCII, as its NOCASE and lower(); PostgreSQL: its lower()). */
static int people_sql(const psk_filter *f, psk_buf *sql, sql_binds *b, psk_error *err) {
    for (int i = 0; b->pg_base && i < f->n_people; i++) {
        psk_buf_printf(sql, " AND (id IN (SELECT fc.media_id FROM photoseek_faces fc JOIN photoseek_people pp ON"
                            " pp.id = fc.person_id WHERE lower(pp.name) = lower(");
        ph_text(sql, b, 0);
        psk_buf_printf(sql, ")) OR (people IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(CASE WHEN"
                            " jsonb_typeof(people) = 'array' THEN people ELSE '[]' END) AS sc(name) WHERE lower(sc.name)"
                            " = lower(");
        ph_text(sql, b, 0);
        psk_buf_printf(sql, "))))");
        if (bind_text(b, f->people[i])) return psk_fail(err, PSK_ERR_INVALID_ARG, "too many filter values");
    }
    for (int i = 0; !b->pg_base && i < f->n_people; i++) {
        psk_buf_printf(sql, " AND (id IN (SELECT fc.media_id FROM faces fc JOIN people pp ON pp.id = fc.person_id"
                            " WHERE pp.name = ? COLLATE NOCASE) OR (people IS NOT NULL AND json_valid(people) AND"
                            " EXISTS (SELECT 1 FROM json_each(people) WHERE lower(value) = lower(?))))");
        if (bind_text(b, f->people[i]) || bind_text(b, f->people[i]))
            return psk_fail(err, PSK_ERR_INVALID_ARG, "too many filter values");
    }
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
    if (f->text && *f->text) {
        char *pat = b->pg_base ? store_like_contains(f->text) : NULL;
        if (b->pg_base) { /* LIKE, which pg_trgm's GIN index serves */
            psk_buf_printf(sql, " AND id IN (SELECT media_id FROM photoseek_text WHERE folded LIKE ");
            ph_text(sql, b, 0);
            psk_buf_printf(sql, ")");
        } else psk_buf_printf(sql, " AND id IN (SELECT rowid FROM media_text_fts WHERE instr(folded, ?) > 0)");
        rc = (b->pg_base && !pat) || bind_text(b, b->pg_base ? pat : f->text);
        psk_free(pat);
        if (rc) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
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
    if (f->n_people > 0 && (rc = people_sql(f, sql, b, err))) return rc;
    if (sql->failed) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (f->near_km > 0) near_sql(f, sql, b->pg_base != 0);
    if (f->n_places > 0 && (rc = places_sql(f, sql, b, err))) return rc;
    if (f->n_person_ids > 0 && (rc = person_ids_sql(f, sql, b, err))) return rc;
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

/* One clause of the $and list: {"KEY": {"OP": NUMBER}}. */
static void and_num(psk_buf *j, int *n, const char *key, const char *op, double v) {
    psk_buf_printf(j, "%s{\"%s\": {\"%s\": %.17g}}", (*n)++ ? ", " : "", key, op, v);
}

/* {"$or": [{"$and": [{"place_cc": {"$eq": CC}}, ...]}, ...]}: any of the place matches (as places_sql). */
static void places_pinecone(const psk_filter *f, psk_buf *j) {
    psk_buf_append(j, "{\"$or\": [", 9);
    const char *keys[3] = {"place_cc", "place_region", "place_city"};
    for (int i = 0, first = 1; i < f->n_places; i++) {
        const psk_place_match *m = &f->places[i];
        if (place_seen(f, i)) continue;
        const char *vals[3] = {m->country_code, m->kind != PSK_PLACE_CITY ? m->region : "", m->city};
        psk_buf_printf(j, "%s{\"$and\": [", first ? "" : ", ");
        first = 0;
        for (int k = 0; k < 3; k++) {
            if (k && !vals[k][0]) continue;
            psk_buf_printf(j, "%s{\"%s\": {\"$eq\": ", k ? ", " : "", keys[k]);
            psk_buf_json_string(j, vals[k]);
            psk_buf_append(j, "}}", 2);
        }
        psk_buf_append(j, "]}", 2);
    }
    psk_buf_append(j, "]}", 2);
}

int filter_pinecone(const psk_filter *f, psk_buf *j, psk_error *err) {
    if (f->n_people || f->n_person_ids)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "--person needs a SQLite library: a Pinecone library keeps no "
                                                  "faces or people");
    if (f->text && *f->text)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "text:\"...\" terms need a SQLite or PostgreSQL library: a Pinecone "
                                                  "library keeps no text in photos");
    psk_buf_append(j, "{", 1);
    json_in(j, "year", f->years, f->n_years);
    json_in(j, "month", f->months, f->n_months);
    json_in(j, "day", f->days, f->n_days);
    if (f->from_date || f->to_date || f->near_km > 0 || f->n_places > 0) { /* one operator per field object, in $and */
        psk_buf_printf(j, "%s\"$and\": [", j->len > 1 ? ", " : "");
        int n = 0;
        if (f->from_date) and_num(j, &n, "taken_at", "$gte", (double)day_bound(f->from_date, false));
        if (f->to_date) and_num(j, &n, "taken_at", "$lte", (double)day_bound(f->to_date, true));
        if (f->near_km > 0) { /* the bounding box; the caller keeps the matches within the distance */
            near_box b = box_of(f);
            and_num(j, &n, "lat", "$gte", b.lat0);
            and_num(j, &n, "lat", "$lte", b.lat1);
            if (b.lon_box == 1) {
                and_num(j, &n, "lon", "$gte", b.lon0);
                and_num(j, &n, "lon", "$lte", b.lon1);
            } else if (b.lon_box == 2)
                psk_buf_printf(j, "%s{\"$or\": [{\"lon\": {\"$gte\": %.17g}}, {\"lon\": {\"$lte\": %.17g}}]}",
                               n++ ? ", " : "", b.lon0, b.lon1);
        }
        if (f->n_places > 0) {
            if (n++) psk_buf_append(j, ", ", 2);
            places_pinecone(f, j);
        }
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
