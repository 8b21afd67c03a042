/* Where the text lies in a photo: Tesseract's own page analysis finds the lines of a document or a screenshot, but
 * on a photo with a small turned sign on a textured background it reads nothing or garbage. The stroke map
 * (strokes.c) marks the cells that look like letters; neighbouring cells join into regions (along the line's
 * direction first, so the gaps between letters and words close), each read on its own (ocr.c). */
#include "ocr.h"

#include "../common/common.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REGION_CELL 16
#define MAX_STROKE 24

static int overlap(int a0, int a1, int b0, int b1) {
    int lo = a0 > b0 ? a0 : b0, hi = a1 < b1 ? a1 : b1;
    return hi - lo;
}

static bool squarish(ocr_window b) {
    return b.w * 2 < b.h * 3 && b.h * 2 < b.w * 3;
}

/* Words of one line that the closing did not join (wide gaps between words, monospaced fonts): two regions of the
 * same direction (or one of them squarish) that share a third of their height and lie less than two lines' height
 * apart become one. */
static int merge_lines(ocr_region *r, int n) {
    for (bool again = true; again;) {
        again = false;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) {
                /* a squarish region (a character or two) may belong to a line of either direction */
                bool vi = r[i].vertical, vj = r[j].vertical;
                if (vi != vj) {
                    const ocr_region *up = vi ? &r[j] : &r[i]; /* the one taken as upright */
                    if (!squarish(up->box)) continue;
                    vi = vj = true;
                }
                ocr_window a = r[i].box, b = r[j].box;
                if (vi) { /* look at them turned: x for y */
                    a = (ocr_window){a.y, a.x, a.h, a.w};
                    b = (ocr_window){b.y, b.x, b.h, b.w};
                }
                int lo = a.h < b.h ? a.h : b.h, hi = a.h > b.h ? a.h : b.h;
                int gap = -overlap(a.x, a.x + a.w, b.x, b.x + b.w);
                if (overlap(a.y, a.y + a.h, b.y, b.y + b.h) * 3 < lo || gap > hi * 2) continue;
                ocr_window u = r[i].box, v = r[j].box;
                int x0 = u.x < v.x ? u.x : v.x, y0 = u.y < v.y ? u.y : v.y;
                int x1 = u.x + u.w > v.x + v.w ? u.x + u.w : v.x + v.w, y1 = u.y + u.h > v.y + v.h ? u.y + u.h : v.y + v.h;
                r[i].box = (ocr_window){x0, y0, x1 - x0, y1 - y0};
                r[i].cells += r[j].cells;
                r[i].vertical = vi;
                r[j] = r[--n];
                again = true;
                j--;
            }
    }
    return n;
}

static int by_cells(const void *a, const void *b) {
    return ((const ocr_region *)b)->cells - ((const ocr_region *)a)->cells;
}

int ocr_find_regions(const ocr_gray *g, ocr_region *out, int max) {
    int cw = g->w / REGION_CELL, ch = g->h / REGION_CELL, n = 0;
    if (cw < 1 || ch < 1 || max < 1) return 0;
    size_t nc = (size_t)cw * ch;
    uint8_t *hz = psk_malloc(nc), *vt = psk_malloc(nc), *grown = psk_calloc(nc, 1);
    int *label = psk_calloc(nc, sizeof *label), *stack = psk_malloc(nc * sizeof *stack);
    ocr_region *all = NULL;
    int n_all = 0, cap = 0;
    if (!hz || !vt || !grown || !label || !stack || ocr_stroke_cells(g->px, g->w, g->h, REGION_CELL, 0, MAX_STROKE, hz) ||
        ocr_stroke_cells(g->px, g->w, g->h, REGION_CELL, 1, MAX_STROKE, vt)) {
        n = -1;
        goto done;
    }
    /* Close the gaps along a line: a cell of upright strokes reaches one cell left and right, one of turned strokes
     * one cell up and down. */
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            size_t c = (size_t)y * cw + x;
            if (hz[c]) {
                grown[c] = 1;
                if (x > 0) grown[c - 1] = 1;
                if (x + 1 < cw) grown[c + 1] = 1;
            }
            if (vt[c]) {
                grown[c] = 1;
                if (y > 0) grown[c - cw] = 1;
                if (y + 1 < ch) grown[c + cw] = 1;
            }
        }
    for (size_t start = 0; start < nc; start++) {
        if (!grown[start] || label[start]) continue;
        int x0 = cw, y0 = ch, x1 = -1, y1 = -1, cells = 0, nh = 0, nv = 0, top = 0;
        label[start] = 1;
        stack[top++] = (int)start;
        while (top) {
            int c = stack[--top], x = c % cw, y = c / cw;
            if (hz[c] || vt[c]) {
                cells++;
                nh += hz[c];
                nv += vt[c];
                if (x < x0) x0 = x;
                if (x > x1) x1 = x;
                if (y < y0) y0 = y;
                if (y > y1) y1 = y;
            }
            int nb[4] = {x > 0 ? c - 1 : -1, x + 1 < cw ? c + 1 : -1, y > 0 ? c - cw : -1, y + 1 < ch ? c + cw : -1};
            for (int k = 0; k < 4; k++)
                if (nb[k] >= 0 && grown[nb[k]] && !label[nb[k]]) {
                    label[nb[k]] = 1;
                    stack[top++] = nb[k];
                }
        }
        if (cells < 3) continue;
        if (n_all == cap) {
            cap = cap ? cap * 2 : 32;
            ocr_region *na = psk_realloc(all, sizeof *na * (size_t)cap);
            if (!na) {
                n = -1;
                goto done;
            }
            all = na;
        }
        int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
        /* A line is longer along its baseline; a square block is taken as upright (the usual case). */
        int vertical = bh * 2 > bw * 3 && nv * 2 >= nh;
        /* the cells' box, one cell of margin around it */
        int px0 = (x0 - 1) * REGION_CELL, py0 = (y0 - 1) * REGION_CELL;
        int px1 = (x1 + 2) * REGION_CELL, py1 = (y1 + 2) * REGION_CELL;
        if (px0 < 0) px0 = 0;
        if (py0 < 0) py0 = 0;
        if (px1 > g->w) px1 = g->w;
        if (py1 > g->h) py1 = g->h;
        all[n_all++] = (ocr_region){{px0, py0, px1 - px0, py1 - py0}, vertical, cells};
    }
    n_all = merge_lines(all, n_all);
    if (n_all) qsort(all, (size_t)n_all, sizeof *all, by_cells);
    n = n_all < max ? n_all : max;
    if (n > 0) memcpy(out, all, sizeof *out * (size_t)n);
done:
    psk_free(hz);
    psk_free(vt);
    psk_free(grown);
    psk_free(label);
    psk_free(stack);
    psk_free(all);
    return n;
}
