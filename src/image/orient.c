/* EXIF orientation as Pillow's ImageOps.exif_transpose applies it. */
#include "image.h"

#include <string.h>

uint8_t *img_apply_orientation(const uint8_t *rgb, int w, int h, int o, int *out_w, int *out_h) {
    bool swap = o >= 5; /* 5..8 exchange width and height */
    int ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *dst = psk_malloc((size_t)w * h * 3);
    if (!dst) return NULL;
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy; /* the source pixel shown at (x, y) */
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;          /* mirror horizontally */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;  /* rotate 180 */
            case 4: sx = x; sy = h - 1 - y; break;          /* mirror vertically */
            case 5: sx = y; sy = x; break;                  /* transpose */
            case 6: sx = y; sy = h - 1 - x; break;          /* rotate 90 clockwise */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;  /* transverse */
            case 8: sx = w - 1 - y; sy = x; break;          /* rotate 90 counter-clockwise */
            default: sx = x; sy = y; break;
            }
            memcpy(dst + ((size_t)y * ow + x) * 3, rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    }
    *out_w = ow;
    *out_h = oh;
    return dst;
}
