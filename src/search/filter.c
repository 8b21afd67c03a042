/* Filters from their names and values (the CLI's options, the server's query string). */
#include "search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool int_list(const char *s, int *out, int *n, int cap, int lo, int hi) {
    *n = 0;
    if (!*s) return false;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v < lo || v > hi || *n >= cap) return false;
        out[(*n)++] = (int)v;
        if (*end == ',') end++;
        else if (*end) return false;
        s = end;
    }
    return true;
}

/* YYYY, YYYY-MM or YYYY-MM-DD as YYYYMMDD; `end` picks the last day of a year or month. */
static bool parse_date(const char *s, bool end, int *out) {
    int y = 0, m = 0, d = 0;
    int n = sscanf(s, "%4d-%2d-%2d", &y, &m, &d);
    if (n < 1 || y < 1 || y > 9999 || (n >= 2 && (m < 1 || m > 12)) || (n == 3 && (d < 1 || d > 31))) return false;
    if (strlen(s) != (size_t)(n == 1 ? 4 : n == 2 ? 7 : 10)) return false;
    static const int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (n == 3 && d > month_days[m - 1] + (m == 2 && leap)) return false; /* 2023-02-30, 2024-04-31 */
    if (n == 1) m = end ? 12 : 1;
    if (n < 3) d = end ? 31 : 1;
    *out = y * 10000 + m * 100 + d;
    return true;
}

psk_status psk_filter_set(psk_filter *f, const char *name, const char *value, psk_error *err) {
    if (!value) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s needs a value", name);
    if (strcmp(name, "year") == 0) {
        if (!int_list(value, f->years, &f->n_years, 32, 1, 9999))
            return psk_fail(err, PSK_ERR_INVALID_ARG, "year must be years separated by commas");
    } else if (strcmp(name, "month") == 0) {
        if (!int_list(value, f->months, &f->n_months, 12, 1, 12))
            return psk_fail(err, PSK_ERR_INVALID_ARG, "month must be numbers from 1 to 12 separated by commas");
    } else if (strcmp(name, "day") == 0) {
        if (!int_list(value, f->days, &f->n_days, 31, 1, 31))
            return psk_fail(err, PSK_ERR_INVALID_ARG, "day must be numbers from 1 to 31 separated by commas");
    } else if (strcmp(name, "from") == 0 || strcmp(name, "to") == 0) {
        bool to = name[0] == 't';
        if (!parse_date(value, to, to ? &f->to_date : &f->from_date))
            return psk_fail(err, PSK_ERR_INVALID_ARG, "%s must be a date that exists, as YYYY, YYYY-MM or YYYY-MM-DD "
                            "(not '%s')", name, value);
        if (f->from_date && f->to_date && f->from_date > f->to_date)
            return psk_fail(err, PSK_ERR_INVALID_ARG, "the range from %d-%02d-%02d to %d-%02d-%02d is empty (from comes "
                            "after to)", f->from_date / 10000, f->from_date / 100 % 100, f->from_date % 100,
                            f->to_date / 10000, f->to_date / 100 % 100, f->to_date % 100);
    } else if (strcmp(name, "type") == 0) {
        if (strcmp(value, "photo") == 0) f->type = PSK_TYPE_PHOTO;
        else if (strcmp(value, "video") == 0) f->type = PSK_TYPE_VIDEO;
        else return psk_fail(err, PSK_ERR_INVALID_ARG, "type must be photo or video");
    } else if (strcmp(name, "camera") == 0) {
        f->camera = value;
    } else if (strcmp(name, "folder") == 0) {
        f->folder = value;
    } else if (strcmp(name, "near") == 0) {
        double lat = 0, lon = 0, km = 0;
        char *end;
        const char *at = value;
        lat = strtod(at, &end);
        bool ok = end != at && *end == ',';
        if (ok) at = end + 1, lon = strtod(at, &end), ok = end != at && *end == ',';
        if (ok) at = end + 1, km = strtod(at, &end), ok = end != at && !*end;
        if (!ok || !psk_gps_valid(lat, lon) || !(km > 0 && km <= 20038))
            return psk_fail(err, PSK_ERR_INVALID_ARG, "near must be LAT,LON,KM: a position in degrees (not 0,0) and a "
                            "distance in km up to 20038 (not '%s')", value);
        f->near_lat = lat, f->near_lon = lon, f->near_km = km;
    } else {
        return psk_fail(err, PSK_ERR_INVALID_ARG, "unknown filter '%s'", name);
    }
    return PSK_OK;
}
