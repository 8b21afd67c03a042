/* The stroke map shared by the text gate and the text-region finder. Text is rows of strokes: along a line of
 * pixels, a dark-light-dark (or light-dark-light) pair of strong edges a few pixels apart, the stroke's sides
 * carrying on into the next line of pixels (the stems of letters are taller than one pixel), on paper that is flat
 * between them. Foliage, fur and noise make strokes too, but at random widths, broken from one line to the next,
 * on busy ground; smooth skies and faces make none. A cell is marked when its strokes look like letters. Scanning
 * rows finds the upright strokes of horizontal text; scanning columns (a transposed copy) finds those of text turned
 * a quarter, and the bars of upright letters. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EDGE 40 /* an edge: a step of at least this many grey levels over two pixels */
#define FLAT 10 /* a step of less than this: paper, or the inside of a stroke */

typedef struct cell_stats {
    int strokes, rows, cont, flat;
    float wsum, wsq;
} cell_stats;

static int scan_rows(const uint8_t *g, int gw, int gh, int cell, int max_width, uint8_t *text) {
    int cw = gw / cell, ch = gh / cell, stop = cw * cell;
    cell_stats *st = psk_calloc((size_t)cw * ch, sizeof *st);
    int8_t *prev = psk_calloc((size_t)gw, 1), *cur = psk_calloc((size_t)gw, 1);
    uint8_t *hit = psk_calloc((size_t)cw + 1, 1);
    int rc = PSK_ERR_NOMEM;
    if (!st || !prev || !cur || !hit) goto done;
    for (int y = 0; y < ch * cell; y++) {
        const uint8_t *r = g + (size_t)y * gw;
        cell_stats *cs = st + (size_t)(y / cell) * cw;
        if (y % cell == 0) memset(prev, 0, (size_t)gw); /* continuity is counted within a cell's rows */
        memset(hit, 0, (size_t)cw);
        memset(cur, 0, (size_t)gw);
        int last_x = -100, last_sign = 0;
        for (int x = 1; x + 1 < stop; x++) {
            int d = (int)r[x + 1] - (int)r[x - 1];
            int sign = d >= EDGE ? 1 : d <= -EDGE ? -1 : 0;
            if (!sign) {
                cs[x / cell].flat += d < FLAT && d > -FLAT;
                continue;
            }
            cur[x] = (int8_t)sign;
            if (sign == last_sign && x - last_x <= 1) { /* the same edge, still rising */
                last_x = x;
                continue;
            }
            int width = x - last_x;
            if (last_sign == -sign && width >= 2 && width <= max_width) { /* a stroke: one edge, then its opposite */
                cell_stats *c = &cs[x / cell];
                c->strokes++;
                c->wsum += (float)width;
                c->wsq += (float)(width * width);
                c->cont += prev[x] == sign || prev[x - 1] == sign || prev[x + 1] == sign;
                hit[x / cell] = 1;
            }
            last_x = x;
            last_sign = sign;
        }
        for (int c = 0; c < cw; c++) cs[c].rows += hit[c];
        int8_t *t = prev;
        prev = cur;
        cur = t;
    }
    /* A cell of text: enough strokes over several of its rows (letters are taller than a line of pixels) but not
     * all of them (lines have gaps), of widths that agree (one font's stroke), most carrying on from the row
     * above, on ground that is mostly flat. */
    for (int c = 0; c < cw * ch; c++) {
        const cell_stats *s = &st[c];
        bool t = false;
        if (s->strokes >= 6 && s->rows >= 4) {
            float mean = s->wsum / s->strokes, var = s->wsq / s->strokes - mean * mean;
            t = sqrtf(var > 0 ? var : 0) < 0.6f * mean + 0.8f && s->strokes <= 6 * s->rows &&
                s->cont * 2 >= s->strokes && s->flat * 4 >= cell * cell;
        }
        text[c] = t;
    }
    rc = PSK_OK;
done:
    psk_free(st);
    psk_free(prev);
    psk_free(cur);
    psk_free(hit);
    return rc;
}

int ocr_stroke_cells(const uint8_t *g, int gw, int gh, int cell, int columns, int max_width, uint8_t *text) {
    if (!columns) return scan_rows(g, gw, gh, cell, max_width, text);
    int cw = gw / cell, ch = gh / cell;
    uint8_t *t = psk_malloc((size_t)gw * gh), *tt = psk_malloc((size_t)cw * ch + 1);
    int rc = PSK_ERR_NOMEM;
    if (t && tt) {
        for (int y0 = 0; y0 < gh; y0 += 32) /* in tiles, for the cache */
            for (int x0 = 0; x0 < gw; x0 += 32)
                for (int y = y0; y < y0 + 32 && y < gh; y++)
                    for (int x = x0; x < x0 + 32 && x < gw; x++) t[(size_t)x * gh + y] = g[(size_t)y * gw + x];
        rc = scan_rows(t, gh, gw, cell, max_width, tt);
        if (!rc)
            for (int cy = 0; cy < ch; cy++)
                for (int cx = 0; cx < cw; cx++) text[cy * cw + cx] = tt[cx * ch + cy];
    }
    psk_free(t);
    psk_free(tt);
    return rc;
}
