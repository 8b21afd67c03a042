/* Does a photo hold text worth reading? Tesseract takes a second or more on a 12-megapixel photo, text or not,
 * so indexing asks this first. The score is that of the longest run of cells of a small grey copy whose strokes
 * look like letters (strokes.c), along rows (upright text) or down columns (text turned a quarter), lowered when
 * the run is not two-toned (ink and paper) or when it stands among stray stroke cells (a texture).
 * Ordinary photos mark cells too (hair, fur, wood grain, lattices, the folds of a suit), a few of them in short
 * runs, but most of theirs stand alone, scattered, and in both directions; text marks few cells outside its lines
 * (on 53 generated text images at most 1.2% of all cells; on 96 ordinary photos and their crops, turns and
 * mirrors at least 1.6% where a run of 3 was found): a line among many stray cells is a texture's chance row,
 * unless most marked cells are in lines (a page full of text).
 * The copy is sampled (not averaged) from the full image, one pixel per pixel of the copy: reading every pixel of
 * 12 megapixels would cost more than the rest of the gate. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GATE_SIDE 768 /* the longer side of the sampled copy */
#define CELL 16
#define TWO_TONE 0.8f /* runs less two-toned than this score less */
#define STRAY 0.012f  /* stroke cells outside lines, as a share of all cells, above which a line is doubted... */
#define IN_LINES 0.6f /* ...unless at least this share of the stroke cells lie in lines (a page of text) */
#define CLUTTERED 0.4f /* what a doubted line's score is multiplied by */

/* The copy: each pixel the luma of the image's pixel at its sample point (one read per pixel of the copy: the
 * gate's cost on a 12-megapixel photo is mostly these reads), or of a 2x2 block in an image less than twice the
 * copy's size. */
static uint8_t *sample_gray(const psk_image *img, int *gw, int *gh) {
    int w = img->width, h = img->height, longer = w > h ? w : h;
    double step = longer > GATE_SIDE ? (double)longer / GATE_SIDE : 1.0;
    *gw = (int)(w / step);
    *gh = (int)(h / step);
    if (*gw < CELL || *gh < CELL) return NULL;
    uint8_t *g = psk_malloc((size_t)*gw * *gh);
    int *xs = psk_malloc(sizeof *xs * (size_t)*gw);
    if (!g || !xs) {
        psk_free(g);
        psk_free(xs);
        return NULL;
    }
    for (int x = 0; x < *gw; x++) xs[x] = 3 * (int)(x * step);
    for (int y = 0; y < *gh; y++) {
        const uint8_t *r = img->rgb + (size_t)(int)(y * step) * w * 3;
        uint8_t *o = g + (size_t)y * *gw;
        if (step >= 2) {
            for (int x = 0; x < *gw; x++) {
                const uint8_t *p = r + xs[x];
                o[x] = (uint8_t)((77u * p[0] + 150u * p[1] + 29u * p[2]) >> 8);
            }
            continue;
        }
        /* a small image: the mean of a 2x2 block, which calms JPEG noise (and costs little at this size) */
        int sy1 = (int)(y * step) + 1 < h ? 1 : 0;
        for (int x = 0; x < *gw; x++) {
            const uint8_t *p = r + xs[x];
            int dx = xs[x] / 3 + 1 < w ? 3 : 0;
            const uint8_t *q[4] = {p, p + dx, p + (size_t)sy1 * w * 3, p + (size_t)sy1 * w * 3 + dx};
            unsigned sum = 0;
            for (int k = 0; k < 4; k++) sum += 77u * q[k][0] + 150u * q[k][1] + 29u * q[k][2];
            o[x] = (uint8_t)(sum >> 10);
        }
    }
    psk_free(xs);
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

/* The score of the best line of marked cells along rows (or down columns): a run of 3 or more cells, two-toned.
 * *in_lines counts the cells in runs of 3 or more. */
static float best_line(const uint8_t *g, int gw, const uint8_t *text, int cw, int ch, int columns, int *in_lines) {
    float best = 0;
    *in_lines = 0;
    for (int i = 0; i < (columns ? cw : ch); i++) {
        int len = columns ? ch : cw;
        for (int j = 0; j < len;) {
            int run = 0;
            while (j + run < len && text[columns ? (j + run) * cw + i : i * cw + j + run]) run++;
            if (run >= 3) {
                *in_lines += run;
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
        int marked = 0, in_lines;
        for (int c = 0; c < cw * ch; c++) marked += text[c];
        float s = best_line(g, gw, text, cw, ch, columns, &in_lines);
        if (marked * 10 > cw * ch * 6) s *= 0.5f; /* strokes everywhere: a texture more likely than a page */
        if (marked - in_lines > STRAY * cw * ch && in_lines < IN_LINES * marked) s *= CLUTTERED;
        if (s > score) score = s;
    }
    psk_free(text);
    psk_free(g);
    return score;
}
