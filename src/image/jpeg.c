/* JPEG through libjpeg-turbo, with the default islow IDCT and fancy upsampling, as Pillow decodes. */
#include "image.h"

#include <setjmp.h>
#include <stdio.h>

#include <jerror.h>
#include <jpeglib.h>
#include <string.h>

typedef struct jerr_ctx {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
} jerr_ctx;

static void on_error(j_common_ptr cinfo) {
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    e->mgr.format_message(cinfo, e->message);
    longjmp(e->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    /* A truncated file is an error (as in Pillow), not a grey bottom half. Other warnings are ignored. */
    jerr_ctx *e = (jerr_ctx *)cinfo->err;
    if (level < 0 && e->mgr.msg_code == JWRN_JPEG_EOF) {
        snprintf(e->message, sizeof e->message, "file is truncated");
        longjmp(e->jump, 1);
    }
}

/* Pillow's CMYK -> RGB: channel = 255 - k' where the ink is scaled by the remaining white. */
static inline uint8_t cmyk_channel(int c, int k) {
    int nk = 255 - k, tmp = c * nk + 128;
    int v = nk - (((tmp >> 8) + tmp) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

int img_decode_jpeg(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                    psk_error *err) {
    struct jpeg_decompress_struct cinfo;
    jerr_ctx je;
    /* volatile: these are changed between setjmp and a possible longjmp */
    uint8_t *volatile rgb = NULL;
    uint8_t *volatile row = NULL;
    uint8_t *volatile exif = NULL;
    volatile int code = PSK_ERR_FORMAT;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&je.mgr);
    je.mgr.error_exit = on_error;
    je.mgr.emit_message = on_message;
    je.message[0] = 0;
    if (setjmp(je.jump)) {
        jpeg_destroy_decompress(&cinfo);
        psk_free(rgb);
        psk_free(row);
        psk_free(exif);
        if (code == PSK_ERR_NOMEM) return psk_fail(err, code, "%s: out of memory", name);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: broken JPEG: %s", name, je.message);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);
    int rc = img_check_dims(name, (long)cinfo.image_width, (long)cinfo.image_height, max_pixels, err);
    if (rc) {
        jpeg_destroy_decompress(&cinfo);
        return rc;
    }
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0 && !exif) {
            exif = psk_malloc(m->data_length);
            if (!exif) {
                code = PSK_ERR_NOMEM;
                longjmp(je.jump, 1);
            }
            {
                memcpy(exif, m->data, m->data_length);
                out->exif_size = m->data_length;
            }
        }
    }
    bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    bool gray = cinfo.jpeg_color_space == JCS_GRAYSCALE;
    cinfo.out_color_space = cmyk ? JCS_CMYK : gray ? JCS_GRAYSCALE : JCS_RGB;
    if (out->min_short_side > 0) {
        /* DCT scaling: the IDCT produces the smaller image directly, skipping most of the work. */
        unsigned short_side = cinfo.image_width < cinfo.image_height ? cinfo.image_width : cinfo.image_height;
        unsigned num = 8;
        while (num > 1 && (short_side * (num / 2) + 7) / 8 >= (unsigned)out->min_short_side) num /= 2;
        if (num < 8) {
            cinfo.scale_num = num;
            cinfo.scale_denom = 8;
            out->full_width = (int)cinfo.image_width;
            out->full_height = (int)cinfo.image_height;
        }
    }
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, comps = cinfo.output_components;
    bool inverted = cmyk && cinfo.saw_Adobe_marker; /* Adobe writes CMYK inverted (Pillow's "CMYK;I") */
    rgb = img_alloc_rgb(w, h);
    row = psk_malloc((size_t)w * (size_t)comps);
    if (!rgb || !row) {
        code = PSK_ERR_NOMEM;
        longjmp(je.jump, 1);
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        int y = (int)cinfo.output_scanline;
        JSAMPROW rows[1] = {row};
        jpeg_read_scanlines(&cinfo, rows, 1);
        uint8_t *dst = rgb + (size_t)y * w * 3;
        if (comps == 3) {
            memcpy(dst, row, (size_t)w * 3);
        } else if (comps == 1) {
            for (int x = 0; x < w; x++) dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = row[x];
        } else {
            for (int x = 0; x < w; x++) {
                int c = row[4 * x], m = row[4 * x + 1], yy = row[4 * x + 2], k = row[4 * x + 3];
                if (inverted) {
                    c = 255 - c;
                    m = 255 - m;
                    yy = 255 - yy;
                    k = 255 - k;
                }
                dst[3 * x] = cmyk_channel(c, k);
                dst[3 * x + 1] = cmyk_channel(m, k);
                dst[3 * x + 2] = cmyk_channel(yy, k);
            }
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    psk_free(row);
    out->width = w;
    out->height = h;
    out->rgb = rgb;
    out->exif = exif;
    if (!exif) out->exif_size = 0;
    return PSK_OK;
}
