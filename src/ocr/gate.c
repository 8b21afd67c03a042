/* Does a photo hold text worth reading? Tesseract takes a second or more on a 12-megapixel photo, text or not,
 * so indexing asks this first. Text is rows of strokes: along a row of pixels, a dark-light-dark (or light-dark-
 * light) pair of strong edges a few pixels apart, repeated at a rhythm, with such rows stacked a few pixels deep
 * and broken off above and below (the line's height). Foliage, fur and noise make strokes too, but everywhere and
 * at random widths; smooth skies and faces make none. The score counts the cells of a small grey copy whose strokes
 * look like a line of letters, and how many such cells sit side by side.
 * The copy is sampled (not averaged) from the full image: reading every pixel of 12 megapixels would cost more
 * than the rest of the gate. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GATE_SIDE 768 /* the longer side of the sampled copy */
#define CELL 16

/* The copy: each pixel the mean luma of a 2x2 block at its sample point. */
static uint8_t *sample_gray(const psk_image *img, int *gw, int *gh) {
    int w = img->width, h = img->height, longer = w > h ? w : h;
    double step = longer > GATE_SIDE ? (double)longer / GATE_SIDE : 1.0;
    *gw = (int)(w / step);
    *gh = (int)(h / step);
    if (*gw < CELL || *gh < CELL) return NULL;
    uint8_t *g = psk_malloc((size_t)*gw * *gh);
    if (!g) return NULL;
    for (int y = 0; y < *gh; y++) {
        int sy = (int)(y * step), sy1 = sy + 1 < h ? sy + 1 : sy;
        const uint8_t *r0 = img->rgb + (size_t)sy * w * 3, *r1 = img->rgb + (size_t)sy1 * w * 3;
        for (int x = 0; x < *gw; x++) {
            int sx = (int)(x * step), sx1 = sx + 1 < w ? sx + 1 : sx;
            unsigned s = 0;
            const uint8_t *p[4] = {r0 + 3 * sx, r0 + 3 * sx1, r1 + 3 * sx, r1 + 3 * sx1};
            for (int k = 0; k < 4; k++) s += 77u * p[k][0] + 150u * p[k][1] + 29u * p[k][2];
            g[(size_t)y * *gw + x] = (uint8_t)(s >> 10);
        }
    }
    return g;
}

float psk_ocr_text_score(const psk_image *img) {
    int gw, gh;
    uint8_t *g = img && img->rgb ? sample_gray(img, &gw, &gh) : NULL;
    if (!g) return 0;
    int cw = gw / CELL, ch = gh / CELL;
    /* per cell: strokes found, rows that have a stroke, and the widths' sum and sum of squares */
    int *strokes = psk_calloc((size_t)cw * ch, sizeof *strokes), *rows = psk_calloc((size_t)cw * ch, sizeof *rows);
    float *wsum = psk_calloc((size_t)cw * ch, sizeof *wsum), *wsq = psk_calloc((size_t)cw * ch, sizeof *wsq);
    uint8_t *row_hit = psk_calloc((size_t)cw, 1);
    float score = 0;
    if (!strokes || !rows || !wsum || !wsq || !row_hit) goto done;
    const int T = 40; /* an edge: a step of at least this many grey levels over two pixels */
    for (int y = 0; y < ch * CELL; y++) {
        const uint8_t *r = g + (size_t)y * gw;
        memset(row_hit, 0, (size_t)cw);
        int last_x = -100, last_sign = 0;
        for (int x = 1; x + 1 < cw * CELL; x++) {
            int d = (int)r[x + 1] - (int)r[x - 1];
            int sign = d >= T ? 1 : d <= -T ? -1 : 0;
            if (!sign) continue;
            if (sign == last_sign && x - last_x <= 1) { /* the same edge, still rising */
                last_x = x;
                continue;
            }
            int width = x - last_x;
            if (last_sign == -sign && width >= 2 && width <= 10) { /* a stroke: one edge, then its opposite */
                int c = (y / CELL) * cw + x / CELL;
                strokes[c]++;
                wsum[c] += (float)width;
                wsq[c] += (float)(width * width);
                row_hit[x / CELL] = 1;
            }
            last_x = x;
            last_sign = sign;
        }
        for (int c = 0; c < cw; c++) rows[(y / CELL) * cw + c] += row_hit[c];
    }
    /* A cell of text: enough strokes over several of its rows (letters are taller than a line of pixels) but not
     * all of them (lines have gaps), of widths that agree (one font's stroke). */
    int text_cells = 0, best_run = 0;
    for (int cy = 0; cy < ch; cy++) {
        int run = 0;
        for (int cx = 0; cx < cw; cx++) {
            int c = cy * cw + cx, n = strokes[c];
            bool text = false;
            if (n >= 6 && rows[c] >= 4) {
                float mean = wsum[c] / n, var = wsq[c] / n - mean * mean;
                text = sqrtf(var > 0 ? var : 0) < 0.6f * mean + 0.8f && n <= 6 * rows[c];
            }
            text_cells += text;
            run = text ? run + 1 : 0;
            if (run > best_run) best_run = run;
        }
    }
    /* A line of a few words makes a run of 3 or more cells; texture makes scattered cells everywhere. */
    float frac = (float)text_cells / (float)(cw * ch);
    score = best_run >= 3 ? 0.5f + 0.5f * fminf(1.0f, (float)(best_run - 3) / 6.0f) : 0.15f * (float)best_run;
    if (frac > 0.6f) score *= 0.5f; /* strokes everywhere: a texture more likely than a page */
done:
    psk_free(strokes);
    psk_free(rows);
    psk_free(wsum);
    psk_free(wsq);
    psk_free(row_hit);
    psk_free(g);
    return score;
}
