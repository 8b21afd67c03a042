/* Grey copies of an image for OCR and for the text gate: luma, area-average down-scaling, quarter turns. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
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

void ocr_xform_apply(const ocr_xform *xf, double x, double y, double *sx, double *sy) {
    double dx = (x - xf->ox) / xf->scale, dy = (y - xf->oy) / xf->scale;
    *sx = xf->cx + xf->cos_a * dx - xf->sin_a * dy;
    *sy = xf->cy + xf->sin_a * dx + xf->cos_a * dy;
}

int ocr_gray_warp(const ocr_gray *g, ocr_rect r, double scale, int border, uint8_t fill, ocr_gray *out, ocr_xform *xf) {
    double a = r.angle * M_PI / 180.0;
    out->w = (int)ceil(r.w * scale) + 2 * border;
    out->h = (int)ceil(r.h * scale) + 2 * border;
    out->px = psk_malloc((size_t)out->w * out->h);
    if (!out->px) return PSK_ERR_NOMEM;
    *xf = (ocr_xform){r.cx, r.cy, cos(a), sin(a), scale, (out->w - 1) / 2.0, (out->h - 1) / 2.0};
    for (int y = 0; y < out->h; y++) {
        uint8_t *row = out->px + (size_t)y * out->w;
        for (int x = 0; x < out->w; x++) {
            double sx, sy;
            ocr_xform_apply(xf, x, y, &sx, &sy);
            if (sx < -1e-6 || sy < -1e-6 || sx > g->w - 1 + 1e-6 || sy > g->h - 1 + 1e-6) {
                row[x] = fill;
                continue;
            }
            sx = sx < 0 ? 0 : sx > g->w - 1 ? g->w - 1 : sx;
            sy = sy < 0 ? 0 : sy > g->h - 1 ? g->h - 1 : sy;
            int ix = (int)sx, iy = (int)sy;
            int jx = ix + 1 < g->w ? ix + 1 : ix, jy = iy + 1 < g->h ? iy + 1 : iy;
            double fx = sx - ix, fy = sy - iy;
            const uint8_t *r0 = g->px + (size_t)iy * g->w, *r1 = g->px + (size_t)jy * g->w;
            double v = (r0[ix] * (1 - fx) + r0[jx] * fx) * (1 - fy) + (r1[ix] * (1 - fx) + r1[jx] * fx) * fy;
            row[x] = (uint8_t)(v + 0.5);
        }
    }
    return PSK_OK;
}

static int otsu(const unsigned *hist, unsigned total) {
    double sum = 0, sum0 = 0, best = -1;
    unsigned n0 = 0;
    int t_best = 127;
    for (int v = 0; v < 256; v++) sum += (double)v * hist[v];
    for (int t = 0; t < 255; t++) {
        n0 += hist[t];
        sum0 += (double)t * hist[t];
        unsigned n1 = total - n0;
        if (!n0 || !n1) continue;
        double m0 = sum0 / n0, m1 = (sum - sum0) / n1, between = (double)n0 * n1 * (m0 - m1) * (m0 - m1);
        if (between > best) best = between, t_best = t;
    }
    return t_best;
}

int ocr_gray_normalise(ocr_gray *g, int border) {
    unsigned hist[256] = {0}, total = 0;
    for (int y = border; y < g->h - border; y++)
        for (int x = border; x < g->w - border; x++) hist[g->px[(size_t)y * g->w + x]]++, total++;
    int t = otsu(hist, total);
    double s0 = 0, s1 = 0;
    unsigned n0 = 0, n1 = 0;
    for (int v = 0; v < 256; v++) {
        if (v <= t) n0 += hist[v], s0 += (double)v * hist[v];
        else n1 += hist[v], s1 += (double)v * hist[v];
    }
    if (!n0 || !n1) return -1;
    int dark = (int)(s0 / n0 + 0.5), light = (int)(s1 / n1 + 0.5);
    int ink = n0 <= n1 ? dark : light, paper = n0 <= n1 ? light : dark, span = paper - ink;
    if (!span) return -1;
    uint8_t lut[256];
    for (int v = 0; v < 256; v++) {
        int m = (v - ink) * 255 / span;
        lut[v] = (uint8_t)(m < 0 ? 0 : m > 255 ? 255 : m);
    }
    for (size_t i = 0; i < (size_t)g->w * g->h; i++) g->px[i] = lut[g->px[i]];
    return 0;
}
