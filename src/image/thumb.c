/* Thumbnails: decode, orient, shrink with the antialiased bicubic filter, encode as JPEG with libjpeg-turbo. */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>
#include <setjmp.h>

typedef struct enc_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
} enc_err;

static void enc_on_error(j_common_ptr c) {
    longjmp(((enc_err *)c->err)->jump, 1);
}

void psk_free_buffer(void *p) {
    free(p);
}

psk_status psk_image_thumbnail(const char *path, int max_side, unsigned char **jpeg, size_t *size, psk_error *err) {
    *jpeg = NULL;
    *size = 0;
    if (max_side < 16 || max_side > 4096) return psk_fail(err, PSK_ERR_INVALID_ARG, "thumbnail size %d", max_side);
    psk_image *img;
    int rc = psk_image_load(path, NULL, &img, err);
    if (rc) return rc;
    rc = img_encode_thumbnail(img, max_side, jpeg, size, path, err);
    psk_image_free(img);
    return rc;
}

int img_encode_thumbnail(const psk_image *img, int max_side, unsigned char **jpeg, size_t *size, const char *path,
                         psk_error *err) {
    *jpeg = NULL;
    *size = 0;
    int w = img->width, h = img->height, tw = w, th = h;
    if (w > max_side || h > max_side) {
        if (w >= h) {
            tw = max_side;
            th = (int)((long long)h * max_side / w);
        } else {
            th = max_side;
            tw = (int)((long long)w * max_side / h);
        }
        if (tw < 1) tw = 1;
        if (th < 1) th = 1;
    }
    const uint8_t *volatile px = img->rgb;
    uint8_t *volatile small = NULL;
    if (tw != w || th != h) {
        small = psk_malloc((size_t)tw * th * 3);
        if (!small || img_resize_bicubic(img->rgb, w, h, small, tw, th)) {
            psk_free(small);
            return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", path);
        }
        px = small;
    }
    struct jpeg_compress_struct c;
    enc_err e;
    unsigned char *volatile out = NULL;
    unsigned long out_size = 0;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = enc_on_error;
    if (setjmp(e.jump)) {
        jpeg_destroy_compress(&c);
        free(out);
        psk_free(small);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: cannot encode the thumbnail", path);
    }
    jpeg_create_compress(&c);
    unsigned char *buf = NULL;
    jpeg_mem_dest(&c, &buf, &out_size);
    c.image_width = (JDIMENSION)tw;
    c.image_height = (JDIMENSION)th;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 82, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * tw * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    out = buf;
    jpeg_destroy_compress(&c);
    psk_free(small);
    *jpeg = out;
    *size = out_size;
    return PSK_OK;
}
