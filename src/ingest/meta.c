/* Dates, cameras and places from EXIF, with the file time as the last resort. */
#include "ingest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

bool meta_parse_exif_datetime(const char *s, int *y, int *mo, int *d, int *h, int *mi, int *sec) {
    if (sscanf(s, "%4d:%2d:%2d %2d:%2d:%2d", y, mo, d, h, mi, sec) != 6 &&
        sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d", y, mo, d, h, mi, sec) != 6 &&
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", y, mo, d, h, mi, sec) != 6)
        return false;
    /* Cameras write "0000:00:00 00:00:00" when their clock was never set. */
    return *y >= 1800 && *y <= 2200 && *mo >= 1 && *mo <= 12 && *d >= 1 && *d <= 31 && *h >= 0 && *h <= 23 &&
           *mi >= 0 && *mi <= 59 && *sec >= 0 && *sec <= 60;
}

bool meta_parse_offset(const char *s, int *minutes) {
    int sign, hh, mm;
    if (s[0] == '+') sign = 1;
    else if (s[0] == '-') sign = -1;
    else return false;
    if (sscanf(s + 1, "%2d:%2d", &hh, &mm) != 2 && sscanf(s + 1, "%2d%2d", &hh, &mm) != 2) return false;
    if (hh > 14 || mm > 59) return false;
    *minutes = sign * (hh * 60 + mm);
    return true;
}

/* Many cameras repeat the make in the model ("Canon" + "Canon EOS 80D"): the model keeps what follows it, so that
 * every place that shows "make model" shows "Canon EOS 80D" once. */
static void camera(store_media *m, const char *make, const char *model) {
    snprintf(m->make, sizeof m->make, "%s", make);
    size_t n = strlen(make);
    while (n && make[n - 1] == ' ') n--;
    if (n && strncasecmp(model, make, n) == 0 && (model[n] == ' ' || model[n] == 0) && model[n + (model[n] != 0)])
        model += n + 1;
    while (*model == ' ') model++;
    snprintf(m->model, sizeof m->model, "%s", model);
}

void meta_from_image(store_media *m, const psk_image_info *info, int64_t mtime_ns) {
    int y, mo, d, h, mi, sec;
    m->width = info->width;
    m->height = info->height;
    camera(m, info->make, info->model);
    m->has_gps = info->has_gps;
    m->lat = info->gps_lat;
    m->lon = info->gps_lon;
    if (meta_parse_exif_datetime(info->datetime, &y, &mo, &d, &h, &mi, &sec)) {
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
        int64_t local = (int64_t)timegm(&tm);
        int off = 0;
        m->has_offset = info->offset[0] && meta_parse_offset(info->offset, &off);
        m->offset_min = m->has_offset ? off : 0;
        /* Without an offset the camera's clock is all we know: it is stored as if it were UTC. */
        m->taken_at = local - (int64_t)m->offset_min * 60;
        snprintf(m->taken_src, sizeof m->taken_src, "exif");
        snprintf(m->taken_local, sizeof m->taken_local, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, sec);
        m->year = y;
        m->month = mo;
        m->day = d;
        return;
    }
    time_t t = (time_t)(mtime_ns / 1000000000LL);
    struct tm lt;
    localtime_r(&t, &lt);
    m->taken_at = (int64_t)t;
    m->has_offset = true;
    m->offset_min = (int)(lt.tm_gmtoff / 60);
    snprintf(m->taken_src, sizeof m->taken_src, "file");
    strftime(m->taken_local, sizeof m->taken_local, "%Y-%m-%d %H:%M:%S", &lt);
    m->year = lt.tm_year + 1900;
    m->month = lt.tm_mon + 1;
    m->day = lt.tm_mday;
}

void meta_from_video(store_media *m, const psk_video_info *info, int64_t mtime_ns) {
    m->width = info->width;
    m->height = info->height;
    m->duration_ms = info->duration_ms;
    camera(m, info->make, info->model);
    m->has_gps = info->has_gps;
    m->lat = info->gps_lat;
    m->lon = info->gps_lon;
    int y, mo, d, h, mi, sec;
    const char *ct = info->creation_time;
    if (strlen(ct) >= 19 && meta_parse_exif_datetime(ct, &y, &mo, &d, &h, &mi, &sec)) {
        /* "...Z" is UTC; "+0200" (Apple's creationdate) is the local clock with its offset */
        const char *zone = ct + 19;
        while (*zone == '.' || (*zone >= '0' && *zone <= '9')) zone++;
        int off = 0;
        bool has = *zone == 'Z' || meta_parse_offset(zone, &off);
        struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
        int64_t clock = (int64_t)timegm(&tm);
        m->has_offset = has;
        m->offset_min = off;
        m->taken_at = clock - (int64_t)off * 60;
        snprintf(m->taken_src, sizeof m->taken_src, "video");
        snprintf(m->taken_local, sizeof m->taken_local, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, sec);
        m->year = y;
        m->month = mo;
        m->day = d;
        return;
    }
    /* no usable creation time: the file time, as for photos without EXIF */
    psk_image_info none = {0};
    none.width = info->width;
    none.height = info->height;
    snprintf(none.make, sizeof none.make, "%s", info->make);
    snprintf(none.model, sizeof none.model, "%s", info->model);
    none.has_gps = info->has_gps;
    none.gps_lat = info->gps_lat;
    none.gps_lon = info->gps_lon;
    meta_from_image(m, &none, mtime_ns);
}

