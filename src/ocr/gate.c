/* Does a photo hold text worth reading? Tesseract takes a second or more on a 12-megapixel photo, text or not,
 * so indexing asks this first. The score is that of the longest run of cells of a small grey copy whose strokes
 * look like letters (strokes.c), along rows (upright text) or down columns (text turned a quarter), lowered when
 * the run is not two-toned (ink and paper) or when such cells are everywhere (a texture).
 * The copy is sampled (not averaged) from the full image: reading every pixel of 12 megapixels would cost more
 * than the rest of the gate. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GATE_SIDE 768 /* the longer side of the sampled copy */
#define CELL 16
#define TWO_TONE 0.8f /* runs less two-toned than this score less */

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

/* How two-toned a run of cells is: Otsu's between-class variance over the total (1: two greys, ink and paper;
 * wood grain, fur and foliage have many). */
static float two_tone(const uint8_t *g, int gw, int x0, int y0, int w, int h) {
    unsigned hist[256] = {0}, n = 0;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++) hist[g[(size_t)y * gw + x]]++, n++;
    double sum = 0, sq = 0, sum0 = 0, best = 0;
    for (int v = 0; v < 256; v++) sum += (double)v * hist[v], sq += (double)v * v * hist[v];
    double mean = sum / n, total = sq / n - mean * mean;
    unsigned n0 = 0;
    for (int t = 0; t < 255; t++) {
        n0 += hist[t];
        sum0 += (double)t * hist[t];
        if (!n0 || n0 == n) continue;
        double w0 = (double)n0 / n, m0 = sum0 / n0, m1 = (sum - sum0) / (n - n0);
        double between = w0 * (1 - w0) * (m0 - m1) * (m0 - m1);
        if (between > best) best = between;
    }
    return total > 0 ? (float)(best / total) : 0;
}

/* The score of the best line of marked cells along rows (or down columns): a run of 3 or more cells, two-toned. */
static float best_line(const uint8_t *g, int gw, const uint8_t *text, int cw, int ch, int columns) {
    float best = 0;
    for (int i = 0; i < (columns ? cw : ch); i++) {
        int len = columns ? ch : cw;
        for (int j = 0; j < len;) {
            int run = 0;
            while (j + run < len && text[columns ? (j + run) * cw + i : i * cw + j + run]) run++;
            if (run >= 3) {
                float s = 0.5f + 0.5f * fminf(1.0f, (float)(run - 3) / 6.0f);
                float tt = columns ? two_tone(g, gw, i * CELL, j * CELL, CELL, run * CELL)
                                   : two_tone(g, gw, j * CELL, i * CELL, run * CELL, CELL);
                if (tt < TWO_TONE) s *= tt / TWO_TONE;
                if (s > best) best = s;
            } else if (run > 0 && 0.15f * run > best) {
                best = 0.15f * run;
            }
            j += run ? run : 1;
        }
    }
    return best;
}

float psk_ocr_text_score(const psk_image *img) {
    int gw, gh;
    uint8_t *g = img && img->rgb ? sample_gray(img, &gw, &gh) : NULL;
    if (!g) return 0;
    int cw = gw / CELL, ch = gh / CELL;
    uint8_t *text = psk_malloc((size_t)cw * ch);
    float score = 0;
    /* upright lines, then lines turned a quarter (sideways text) */
    for (int columns = 0; text && columns < 2 && score < 1; columns++) {
        if (ocr_stroke_cells(g, gw, gh, CELL, columns, 10, text)) break;
        int marked = 0;
        for (int c = 0; c < cw * ch; c++) marked += text[c];
        float s = best_line(g, gw, text, cw, ch, columns);
        if (marked * 10 > cw * ch * 6) s *= 0.5f; /* strokes everywhere: a texture more likely than a page */
        if (s > score) score = s;
    }
    psk_free(text);
    psk_free(g);
    return score;
}
