/* Where the text in a region lies, before Tesseract reads it: the slant of its lines (the angle at which the
 * projection of its edges across the lines is sharpest: lines of letters, then gaps), the height of a line (so
 * that the region can be scaled to the size Tesseract reads best), and a rect drawn tight around the edges, so that
 * the background around a sign is left out. Edges rather than dark pixels: the ink may be lighter than the paper,
 * and the background around a sign may be either. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SAMPLES 30000
#define EDGE 40 /* a step of this many grey levels over two pixels, as in strokes.c */

/* The projection of the points (x, y, gx, gy) on the direction (ux, uy), in bins of one pixel around the centre;
 * strokes_only: only the edges that cross the lines (the sides of letters' strokes), whose gradient runs along
 * the line more than across it (the rim of a sign runs along the line, and would be taken for a line of text). */
static unsigned project(const float *pts, unsigned m, double ux, double uy, int strokes_only, unsigned *prof,
                        int n_bins, double la, double lb) {
    unsigned peak = 0;
    memset(prof, 0, sizeof *prof * (size_t)n_bins);
    for (unsigned j = 0; j < m; j++) {
        const float *q = pts + 4 * j;
        if (strokes_only && fabs(q[2] * la + q[3] * lb) <= fabs(-q[2] * lb + q[3] * la)) continue;
        int b = (int)(ux * q[0] + uy * q[1] + n_bins / 2.0);
        if (b >= 0 && b < n_bins && ++prof[b] > peak) peak = prof[b];
    }
    return peak;
}

/* The first and last bins holding at least `min` points. */
static void extent(const unsigned *prof, int n_bins, unsigned min, int *lo, int *hi) {
    *lo = 0, *hi = n_bins - 1;
    while (*lo < *hi && prof[*lo] < min) ++*lo;
    while (*hi > *lo && prof[*hi] < min) --*hi;
}

int ocr_measure_text(const ocr_gray *g, ocr_window win, double base_deg, ocr_rect *text, double *line_h) {
    if (win.w < 4 || win.h < 4) return PSK_ERR_INVALID_ARG;
    unsigned n_edges = 0;
    for (int y = win.y + 1; y + 1 < win.y + win.h; y++)
        for (int x = win.x + 1; x + 1 < win.x + win.w; x++) {
            const uint8_t *p = g->px + (size_t)y * g->w + x;
            n_edges += abs(p[1] - p[-1]) >= EDGE || abs(p[g->w] - p[-g->w]) >= EDGE;
        }
    if (n_edges < 16) return PSK_ERR_INVALID_ARG;
    unsigned step = n_edges / MAX_SAMPLES + 1, k = 0, m = 0;
    int n_bins = (int)ceil(sqrt((double)win.w * win.w + (double)win.h * win.h)) + 2;
    float *pts = psk_malloc(sizeof *pts * 4 * (n_edges / step + 1));
    unsigned *prof = psk_malloc(sizeof *prof * (size_t)n_bins);
    if (!pts || !prof) {
        psk_free(pts);
        psk_free(prof);
        return PSK_ERR_NOMEM;
    }
    double cx = win.x + win.w / 2.0, cy = win.y + win.h / 2.0;
    for (int y = win.y + 1; y + 1 < win.y + win.h; y++)
        for (int x = win.x + 1; x + 1 < win.x + win.w; x++) {
            const uint8_t *p = g->px + (size_t)y * g->w + x;
            if ((abs(p[1] - p[-1]) >= EDGE || abs(p[g->w] - p[-g->w]) >= EDGE) && k++ % step == 0) {
                pts[4 * m] = (float)(x - cx);
                pts[4 * m + 1] = (float)(y - cy);
                pts[4 * m + 2] = (float)(p[1] - p[-1]);
                pts[4 * m + 3] = (float)(p[g->w] - p[-g->w]);
                m++;
            }
        }
    /* the slant: over base +-12 degrees in half degrees, the projection across the lines with the sharpest steps */
    double best = -1, best_a = base_deg;
    for (int i = -24; i <= 24; i++) {
        double a = (base_deg + i * 0.5) * M_PI / 180.0;
        project(pts, m, -sin(a), cos(a), 0, prof, n_bins, 0, 0);
        double sharp = 0;
        for (int b = 1; b < n_bins; b++) sharp += ((double)prof[b] - prof[b - 1]) * ((double)prof[b] - prof[b - 1]);
        if (sharp > best) best = sharp, best_a = base_deg + i * 0.5;
    }
    double a = best_a * M_PI / 180.0, ca = cos(a), sa = sin(a);
    /* across the lines: the line height (the longest run of well-filled rows) and the text's extent */
    unsigned peak = project(pts, m, -sa, ca, 1, prof, n_bins, ca, sa);
    int run = 0, longest = 0, v0, v1, u0, u1;
    for (int b = 0; b < n_bins; b++) {
        run = prof[b] * 4 > peak ? run + 1 : 0;
        if (run > longest) longest = run;
    }
    extent(prof, n_bins, peak / 8 + 1, &v0, &v1);
    /* along the lines: where the edges begin and end (a few stray ones from the background left out) */
    peak = project(pts, m, ca, sa, 1, prof, n_bins, ca, sa);
    extent(prof, n_bins, peak / 10 + 1, &u0, &u1);
    double mu = (u0 + u1 + 1) / 2.0 - n_bins / 2.0, mv = (v0 + v1 + 1) / 2.0 - n_bins / 2.0;
    *line_h = longest * 1.0;
    *text = (ocr_rect){cx + ca * mu - sa * mv, cy + sa * mu + ca * mv, u1 - u0 + 1.0, v1 - v0 + 1.0, best_a};
    psk_free(pts);
    psk_free(prof);
    return PSK_OK;
}
