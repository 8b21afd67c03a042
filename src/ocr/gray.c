/* Grey copies of an image for OCR and for the text gate: luma, area-average down-scaling, quarter turns. */
#include "ocr.h"

#include "../common/common.h"

#include <string.h>

int ocr_gray_from_rgb(const psk_image *img, int max_side, ocr_gray *out) {
    int w = img->width, h = img->height, longer = w > h ? w : h;
    int f = 1; /* an integer factor keeps the averaging exact and cheap */
    while (max_side > 0 && longer / f > max_side) f++;
    out->w = w / f > 0 ? w / f : 1;
    out->h = h / f > 0 ? h / f : 1;
    out->px = psk_malloc((size_t)out->w * out->h);
    if (!out->px) return PSK_ERR_NOMEM;
    uint32_t *row = psk_calloc((size_t)out->w, sizeof *row);
    if (!row) {
        psk_free(out->px);
        out->px = NULL;
        return PSK_ERR_NOMEM;
    }
    for (int oy = 0; oy < out->h; oy++) {
        memset(row, 0, sizeof *row * (size_t)out->w);
        int rows = 0;
        for (int y = oy * f; y < oy * f + f && y < h; y++, rows++) {
            const uint8_t *p = img->rgb + (size_t)y * w * 3;
            for (int ox = 0; ox < out->w; ox++) {
                uint32_t sum = 0;
                for (int x = ox * f; x < ox * f + f; x++)
                    sum += (77u * p[3 * x] + 150u * p[3 * x + 1] + 29u * p[3 * x + 2]) >> 8;
                row[ox] += sum;
            }
        }
        uint32_t n = (uint32_t)(rows * f);
        for (int ox = 0; ox < out->w; ox++) out->px[(size_t)oy * out->w + ox] = (uint8_t)((row[ox] + n / 2) / n);
    }
    psk_free(row);
    return PSK_OK;
}

int ocr_gray_rotate(const ocr_gray *in, int quarter_turns, ocr_gray *out) {
    int q = ((quarter_turns % 4) + 4) % 4;
    out->w = q % 2 ? in->h : in->w;
    out->h = q % 2 ? in->w : in->h;
    out->px = psk_malloc((size_t)in->w * in->h);
    if (!out->px) return PSK_ERR_NOMEM;
    for (int y = 0; y < in->h; y++)
        for (int x = 0; x < in->w; x++) {
            int nx, ny;
            if (q == 0) nx = x, ny = y;
            else if (q == 1) nx = in->h - 1 - y, ny = x; /* clockwise */
            else if (q == 2) nx = in->w - 1 - x, ny = in->h - 1 - y;
            else nx = y, ny = in->w - 1 - x;
            out->px[(size_t)ny * out->w + nx] = in->px[(size_t)y * in->w + x];
        }
    return PSK_OK;
}

void ocr_gray_free(ocr_gray *g) {
    psk_free(g->px);
    g->px = NULL;
}
