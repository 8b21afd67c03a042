/* Format detection and the public image API. */
#include "image.h"

#include <stdio.h>
#include <string.h>

#define MAX_FILE_SIZE (1024u * 1024 * 1024)

psk_image_params psk_image_default_params(void) {
    psk_image_params p = {100 * 1000 * 1000, 1, 0};
    return p;
}

int img_check_dims(const char *name, long width, long height, long max_pixels, psk_error *err) {
    if (width <= 0 || height <= 0)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: invalid image size %ldx%ld", name, width, height);
    if (width > 65535 || height > 65535 || width * height > max_pixels)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: image too large (%ldx%ld, limit %ld pixels)", name, width,
                        height, max_pixels);
    return PSK_OK;
}

uint8_t *img_alloc_rgb(int width, int height) {
    return psk_malloc((size_t)width * (size_t)height * 3);
}

static img_decoder detect(const uint8_t *d, size_t n, const char **format) {
    if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return *format = "jpeg", img_decode_jpeg;
    if (n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0) return *format = "png", img_decode_png;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) return *format = "webp", img_decode_webp;
    if (n >= 6 && (memcmp(d, "GIF87a", 6) == 0 || memcmp(d, "GIF89a", 6) == 0)) return *format = "gif", img_decode_gif;
    if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0)) return *format = "tiff", img_decode_tiff;
    if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0) {
        static const char *brands[] = {"heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1", "avif", "avis"};
        for (size_t i = 0; i < sizeof brands / sizeof brands[0]; i++)
            if (memcmp(d + 8, brands[i], 4) == 0) return *format = "heif", img_decode_heif;
    }
    return NULL;
}

static void describe_start(const uint8_t *d, size_t n, char *out, size_t cap) {
    /* "starts with 'this'" for text, hex bytes otherwise, so the user sees what the file really is. */
    size_t k = n < 8 ? n : 8;
    bool printable = k > 0;
    for (size_t i = 0; i < k; i++)
        if (d[i] < 0x20 || d[i] > 0x7e) printable = false;
    if (printable) {
        snprintf(out, cap, "starts with '%.*s'", (int)k, (const char *)d);
        return;
    }
    size_t len = (size_t)snprintf(out, cap, "starts with bytes");
    for (size_t i = 0; i < k && len + 4 < cap; i++) len += (size_t)snprintf(out + len, cap - len, " %02x", d[i]);
}

psk_status psk_image_load_memory(const void *data, size_t size, const char *name, const psk_image_params *params,
                                 psk_image **out, psk_error *err) {
    *out = NULL;
    psk_image_params p = params ? *params : psk_image_default_params();
    if (p.max_pixels <= 0) p.max_pixels = psk_image_default_params().max_pixels;
    if (size == 0) return psk_fail(err, PSK_ERR_FORMAT, "%s: empty file", name);
    const char *format = NULL;
    img_decoder dec = detect(data, size, &format);
    if (!dec) {
        char what[64];
        describe_start(data, size, what, sizeof what);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: not a supported image (%s)", name, what);
    }
    img_decoded d = {0};
    d.min_short_side = p.min_short_side;
    int rc = dec(data, size, name, p.max_pixels, &d, err);
    if (rc) return rc;
    psk_image *img = psk_calloc(1, sizeof *img);
    if (!img) {
        psk_free(d.rgb);
        psk_free(d.exif);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    }
    img->info.orientation = 1;
    snprintf(img->info.format, sizeof img->info.format, "%s", format);
    if (d.exif) img_parse_exif(d.exif, d.exif_size, &img->info);
    psk_free(d.exif);
    int o = img->info.orientation;
    if (d.oriented) o = 1;
    img->rgb = d.rgb;
    img->width = d.width;
    img->height = d.height;
    if (p.apply_orientation && o >= 2 && o <= 8) {
        int w2, h2;
        uint8_t *r = img_apply_orientation(d.rgb, d.width, d.height, o, &w2, &h2);
        if (!r) {
            psk_image_free(img);
            return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
        }
        psk_free(d.rgb);
        img->rgb = r;
        img->width = w2;
        img->height = h2;
    }
    img->info.width = img->width;
    img->info.height = img->height;
    if (d.full_width && d.full_height) {
        bool swap = p.apply_orientation && o >= 5 && o <= 8;
        img->info.width = swap ? d.full_height : d.full_width;
        img->info.height = swap ? d.full_width : d.full_height;
    }
    *out = img;
    return PSK_OK;
}

psk_status psk_image_load(const char *path, const psk_image_params *params, psk_image **out, psk_error *err) {
    char *data;
    size_t size;
    *out = NULL;
    int rc = psk_read_file(path, MAX_FILE_SIZE, &data, &size, err);
    if (rc) return rc;
    rc = psk_image_load_memory(data, size, path, params, out, err);
    psk_free(data);
    return rc;
}

psk_status psk_image_probe(const char *path, psk_image_info *info, psk_error *err) {
    /* A full decode keeps this simple and exact; callers that probe are about to decode anyway. */
    psk_image *img;
    int rc = psk_image_load(path, NULL, &img, err);
    if (rc) return rc;
    *info = img->info;
    psk_image_free(img);
    return PSK_OK;
}

void psk_image_free(psk_image *img) {
    if (!img) return;
    psk_free(img->rgb);
    psk_free(img);
}
