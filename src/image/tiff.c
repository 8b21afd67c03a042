/* TIFF through libtiff's RGBA interface (any photometric, bit depth and compression it supports), read top-left
 * oriented so the Orientation tag is already applied. The file itself is the EXIF structure. */
#include "image.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <tiffio.h>

typedef struct tiff_src {
    const uint8_t *data;
    size_t size, pos;
} tiff_src;

static tmsize_t t_read(thandle_t h, void *buf, tmsize_t n) {
    tiff_src *s = h;
    size_t k = (size_t)n < s->size - s->pos ? (size_t)n : s->size - s->pos;
    memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    return (tmsize_t)k;
}
static tmsize_t t_write(thandle_t h, void *buf, tmsize_t n) {
    (void)h;
    (void)buf;
    (void)n;
    return -1;
}
static toff_t t_seek(thandle_t h, toff_t off, int whence) {
    tiff_src *s = h;
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? s->pos : s->size;
    uint64_t p = base + off;
    if (p > s->size) return (toff_t)-1;
    s->pos = (size_t)p;
    return p;
}
static int t_close(thandle_t h) {
    (void)h;
    return 0;
}
static toff_t t_size(thandle_t h) {
    return ((tiff_src *)h)->size;
}
static int t_map(thandle_t h, void **base, toff_t *size) {
    (void)h;
    (void)base;
    (void)size;
    return 0;
}
static void t_unmap(thandle_t h, void *base, toff_t size) {
    (void)h;
    (void)base;
    (void)size;
}

static void t_quiet(const char *module, const char *fmt, va_list ap) {
    (void)module;
    (void)fmt;
    (void)ap;
}

int img_decode_tiff(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                    psk_error *err) {
    TIFFSetErrorHandler(t_quiet);
    TIFFSetWarningHandler(t_quiet);
    tiff_src src = {data, size, 0};
    TIFF *tif = TIFFClientOpen(name, "rm", &src, t_read, t_write, t_seek, t_close, t_size, t_map, t_unmap);
    if (!tif) return psk_fail(err, PSK_ERR_FORMAT, "%s: broken TIFF header", name);
    uint32_t w = 0, h = 0;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    int rc = img_check_dims(name, (long)w, (long)h, max_pixels, err);
    if (rc) {
        TIFFClose(tif);
        return rc;
    }
    uint32_t *rgba = psk_malloc((size_t)w * h * 4);
    uint8_t *rgb = img_alloc_rgb((int)w, (int)h);
    if (!rgba || !rgb) {
        psk_free(rgba);
        psk_free(rgb);
        TIFFClose(tif);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    }
    if (!TIFFReadRGBAImageOriented(tif, w, h, rgba, ORIENTATION_TOPLEFT, 0)) {
        psk_free(rgba);
        psk_free(rgb);
        TIFFClose(tif);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: cannot decode TIFF image data", name);
    }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        rgb[3 * i] = (uint8_t)TIFFGetR(rgba[i]);
        rgb[3 * i + 1] = (uint8_t)TIFFGetG(rgba[i]);
        rgb[3 * i + 2] = (uint8_t)TIFFGetB(rgba[i]);
    }
    psk_free(rgba);
    TIFFClose(tif);
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = rgb;
    out->oriented = true;
    out->exif = psk_malloc(size);
    if (out->exif) {
        memcpy(out->exif, data, size);
        out->exif_size = size;
    }
    return PSK_OK;
}
