/* PNG through libpng: palette and grey expanded to RGB, alpha dropped (as Pillow's convert("RGB")), 16-bit
 * samples reduced to their high byte (Pillow's "RGB;16B"). A CRC error in any chunk is an error. */
#include "image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

typedef struct png_src {
    const uint8_t *data;
    size_t size, pos;
    char message[200];
} png_src;

static void png_read_mem(png_structp png, png_bytep out, png_size_t n) {
    png_src *s = png_get_io_ptr(png);
    if (n > s->size - s->pos) png_error(png, "file is truncated");
    memcpy(out, s->data + s->pos, n);
    s->pos += n;
}

static void png_on_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", msg);
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

int img_decode_png(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                   psk_error *err) {
    png_src src = {data, size, 0, ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    }
    uint8_t *volatile rgb = NULL;
    uint8_t *volatile row = NULL;
    uint8_t *volatile exif = NULL;
    volatile int rc = PSK_OK;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        psk_free(rgb);
        psk_free(row);
        psk_free(exif);
        if (rc) return rc;
        return psk_fail(err, PSK_ERR_FORMAT, "%s: broken PNG: %s", name, src.message);
    }
    png_set_read_fn(png, &src, png_read_mem);
    /* Treat CRC errors in ancillary chunks as errors too: a corrupted file should say so. */
    png_set_crc_action(png, PNG_CRC_ERROR_QUIT, PNG_CRC_ERROR_QUIT);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((rc = img_check_dims(name, (long)w, (long)h, max_pixels, err))) png_longjmp(png, 1);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png); /* also drops the alpha that palette expansion makes from tRNS */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (rowbytes != (size_t)w * 3) {
        snprintf(src.message, sizeof src.message, "unexpected row layout");
        png_longjmp(png, 1);
    }
    rgb = img_alloc_rgb((int)w, (int)h);
    png_bytep *rows = psk_malloc(sizeof(png_bytep) * h);
    row = (uint8_t *)rows;
    if (!rgb || !rows) {
        rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = rgb + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, info);
#ifdef PNG_eXIf_SUPPORTED
    png_uint_32 exif_len = 0;
    png_bytep exif_data = NULL;
    if (png_get_eXIf_1(png, info, &exif_len, &exif_data) && exif_len > 8) {
        exif = psk_malloc(exif_len);
        if (!exif) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
            png_longjmp(png, 1);
        }
        {
            memcpy(exif, exif_data, exif_len);
            out->exif_size = exif_len;
        }
    }
#endif
    png_destroy_read_struct(&png, &info, NULL);
    psk_free(row);
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = rgb;
    out->exif = exif;
    return PSK_OK;
}
