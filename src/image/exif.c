/* EXIF through libexif: orientation, date taken with its offset, camera, GPS. */
#include "image.h"

#include <libexif/exif-data.h>
#include <stdio.h>
#include <string.h>

static void get_string(ExifData *ed, ExifIfd ifd, ExifTag tag, char *out, size_t cap) {
    ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], tag);
    if (!e || e->format != EXIF_FORMAT_ASCII || !e->data || e->size == 0) return;
    size_t n = e->size < cap - 1 ? e->size : cap - 1;
    memcpy(out, e->data, n);
    out[n] = 0;
    /* Trim trailing NULs and spaces that cameras pad with. */
    size_t len = strlen(out);
    while (len && (out[len - 1] == ' ' || out[len - 1] == 0)) out[--len] = 0;
}

static bool get_gps_coord(ExifData *ed, ExifTag tag, ExifTag ref_tag, double *out) {
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_GPS], tag);
    ExifEntry *r = exif_content_get_entry(ed->ifd[EXIF_IFD_GPS], ref_tag);
    if (!e || e->format != EXIF_FORMAT_RATIONAL || e->components < 3 || e->size < 24) return false;
    ExifByteOrder bo = exif_data_get_byte_order(ed);
    double v = 0, scale = 1;
    for (int i = 0; i < 3; i++) {
        ExifRational q = exif_get_rational(e->data + 8 * i, bo);
        if (q.denominator == 0) return false;
        v += (double)q.numerator / q.denominator / scale;
        scale *= 60;
    }
    if (r && r->data && r->size >= 1 && (r->data[0] == 'S' || r->data[0] == 'W')) v = -v;
    *out = v;
    return true;
}

void img_parse_exif(const uint8_t *exif, size_t size, psk_image_info *info) {
    uint8_t *buf = NULL;
    if (size < 6 || memcmp(exif, "Exif\0\0", 6) != 0) {
        /* libexif wants the APP1 "Exif\0\0" prefix before the TIFF header. */
        buf = psk_malloc(size + 6);
        if (!buf) return;
        memcpy(buf, "Exif\0\0", 6);
        memcpy(buf + 6, exif, size);
        exif = buf;
        size += 6;
    }
    ExifData *ed = exif_data_new_from_data(exif, (unsigned int)(size > 0xFFFFFFFFu ? 0xFFFFFFFFu : size));
    psk_free(buf);
    if (!ed) return;
    ExifEntry *o = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (o && o->format == EXIF_FORMAT_SHORT && o->size >= 2) {
        int v = exif_get_short(o->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8) info->orientation = v;
    }
    get_string(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, info->datetime, sizeof info->datetime);
    get_string(ed, EXIF_IFD_EXIF, (ExifTag)0x9011, info->offset, sizeof info->offset); /* OffsetTimeOriginal */
    if (!info->datetime[0]) {
        get_string(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_DIGITIZED, info->datetime, sizeof info->datetime);
        if (info->datetime[0] && !info->offset[0])
            get_string(ed, EXIF_IFD_EXIF, (ExifTag)0x9012, info->offset, sizeof info->offset); /* OffsetTimeDigitized */
    }
    if (!info->datetime[0]) {
        get_string(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME, info->datetime, sizeof info->datetime);
        if (info->datetime[0] && !info->offset[0])
            get_string(ed, EXIF_IFD_EXIF, (ExifTag)0x9010, info->offset, sizeof info->offset); /* OffsetTime */
    }
    get_string(ed, EXIF_IFD_0, EXIF_TAG_MAKE, info->make, sizeof info->make);
    get_string(ed, EXIF_IFD_0, EXIF_TAG_MODEL, info->model, sizeof info->model);
    double lat, lon;
    if (get_gps_coord(ed, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF, &lat) &&
        get_gps_coord(ed, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF, &lon) && lat >= -90 && lat <= 90 &&
        lon >= -180 && lon <= 180) {
        info->has_gps = 1;
        info->gps_lat = lat;
        info->gps_lon = lon;
    }
    exif_data_unref(ed);
}
