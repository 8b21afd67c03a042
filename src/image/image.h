/* Internals of the image layer: one decoder per format, EXIF, orientation and the Pillow-exact resampler. */
#ifndef PSK_IMAGE_H
#define PSK_IMAGE_H

#include "../common/common.h"

/* What a decoder hands back: 8-bit RGB, the EXIF block if the container has one, and whether the decoder already
 * applied the orientation itself (HEIF's irot/imir, TIFF's Orientation tag). */
typedef struct img_decoded {
    int width, height;
    uint8_t *rgb;
    uint8_t *exif; /* TIFF-structured EXIF (starting "II*\0"/"MM\0*", optionally after "Exif\0\0"), or NULL */
    size_t exif_size;
    bool oriented;
    int min_short_side;           /* in: the JPEG decoder may scale down to this short side (0: full size) */
    int full_width, full_height;  /* out: the size before scaling (0: as decoded) */
} img_decoded;

typedef int (*img_decoder)(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                           psk_error *err);

int img_decode_jpeg(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out, psk_error *err);
int img_decode_png(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out, psk_error *err);
int img_decode_webp(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out, psk_error *err);
int img_decode_gif(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out, psk_error *err);
int img_decode_heif(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out, psk_error *err);
int img_decode_tiff(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out, psk_error *err);

/* Checks decoded dimensions against the cap before any pixel buffer is allocated. */
int img_check_dims(const char *name, long width, long height, long max_pixels, psk_error *err);
uint8_t *img_alloc_rgb(int width, int height);

/* Fills the EXIF fields of info (orientation, dates, camera, GPS) from a TIFF-structured block. */
void img_parse_exif(const uint8_t *exif, size_t size, psk_image_info *info);

/* Rotates/flips an RGB buffer by EXIF orientation 2..8; returns a new buffer (or NULL when out of memory). */
uint8_t *img_apply_orientation(const uint8_t *rgb, int w, int h, int orientation, int *out_w, int *out_h);

/* Pillow's Image.resize(size, BICUBIC) on 8-bit RGB: separable, antialiased (support scaled when shrinking),
 * 22-bit fixed-point coefficients, horizontal pass first, each pass rounded and clipped to 8 bits. */
int img_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);
/* The window [x0, x0 + cw) x [y0, y0 + ch) of that dw x dh resize (cw x ch RGB pixels into dst), the same values,
 * the rest never computed. PSK_ERR_INVALID_ARG for a window outside dw x dh, PSK_ERR_NOMEM. */
int img_resize_bicubic_window(const uint8_t *src, int sw, int sh, int dw, int dh, int x0, int y0, int cw, int ch,
                              uint8_t *dst);

/* Encodes img as a JPEG whose longer side is at most max_side (malloc'd; free with psk_free_buffer). */
int img_encode_thumbnail(const psk_image *img, int max_side, unsigned char **jpeg, size_t *size, const char *name,
                         psk_error *err);

#endif
