/* The perceptual hash of a photo: a 32x32 grey copy (box averages over a uniform-border-trimmed image, sampled
 * at most 8x8 points per cell so a full-size decode costs the same as a small one), its 8x8 lowest DCT-II
 * coefficients, and their signs. Bit u*8+v holds the sign of the coefficient of horizontal frequency u and
 * vertical frequency v. */
#include "dups.h"

#include <math.h>
#include <stdlib.h>

#define GRID 32
#define LOW 8

static int grey_at(const uint8_t *rgb, int width, int x, int y) {
    const uint8_t *p = rgb + ((size_t)y * (size_t)width + (size_t)x) * 3;
    return (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000;
}

static bool near_colour(const uint8_t *p, const uint8_t *ref) {
    return abs(p[0] - ref[0]) <= 12 && abs(p[1] - ref[1]) <= 12 && abs(p[2] - ref[2]) <= 12;
}

/* Whether every pixel of row y, columns [x0, x1), is near ref. */
static bool row_uniform(const uint8_t *rgb, int width, int y, int x0, int x1, const uint8_t *ref) {
    for (int x = x0; x < x1; x++)
        if (!near_colour(rgb + ((size_t)y * (size_t)width + (size_t)x) * 3, ref)) return false;
    return true;
}

static bool col_uniform(const uint8_t *rgb, int width, int x, int y0, int y1, const uint8_t *ref) {
    for (int y = y0; y < y1; y++)
        if (!near_colour(rgb + ((size_t)y * (size_t)width + (size_t)x) * 3, ref)) return false;
    return true;
}

/* A frame of one colour around the picture (a screenshot's border, a letterbox) is cut off, each side at most a
 * quarter of the image, so a framed copy hashes like the picture inside. */
static void trim_border(const uint8_t *rgb, int width, int height, int *x0, int *y0, int *x1, int *y1) {
    *x0 = 0, *y0 = 0, *x1 = width, *y1 = height;
    const uint8_t *tl = rgb, *br = rgb + ((size_t)(height - 1) * (size_t)width + (size_t)(width - 1)) * 3;
    while (*y0 < height / 4 && row_uniform(rgb, width, *y0, 0, width, tl)) (*y0)++;
    while (*y1 > height - height / 4 && row_uniform(rgb, width, *y1 - 1, 0, width, br)) (*y1)--;
    while (*x0 < width / 4 && col_uniform(rgb, width, *x0, *y0, *y1, tl)) (*x0)++;
    while (*x1 > width - width / 4 && col_uniform(rgb, width, *x1 - 1, *y0, *y1, br)) (*x1)--;
}

uint64_t dups_phash(const uint8_t *rgb, int width, int height) {
    if (!rgb || width < 1 || height < 1) return 0;
    int x0, y0, x1, y1;
    trim_border(rgb, width, height, &x0, &y0, &x1, &y1);
    int cw = x1 - x0, ch = y1 - y0;
    float g[GRID][GRID];
    for (int cy = 0; cy < GRID; cy++) {
        int ya = y0 + (int)((int64_t)cy * ch / GRID), yb = y0 + (int)((int64_t)(cy + 1) * ch / GRID);
        if (yb <= ya) yb = ya + 1;
        int ys = (yb - ya + 7) / 8;
        for (int cx = 0; cx < GRID; cx++) {
            int xa = x0 + (int)((int64_t)cx * cw / GRID), xb = x0 + (int)((int64_t)(cx + 1) * cw / GRID);
            if (xb <= xa) xb = xa + 1;
            int xs = (xb - xa + 7) / 8;
            int sum = 0, n = 0;
            for (int y = ya; y < yb && y < height; y += ys)
                for (int x = xa; x < xb && x < width; x += xs) sum += grey_at(rgb, width, x, y), n++;
            g[cy][cx] = n ? (float)sum / (float)n : 0.0f;
        }
    }
    float basis[LOW][GRID];
    for (int u = 0; u < LOW; u++)
        for (int x = 0; x < GRID; x++) basis[u][x] = (float)cos(M_PI * (2 * x + 1) * u / (2.0 * GRID));
    float rows[GRID][LOW]; /* each row's horizontal frequencies */
    for (int y = 0; y < GRID; y++)
        for (int u = 0; u < LOW; u++) {
            float s = 0;
            for (int x = 0; x < GRID; x++) s += g[y][x] * basis[u][x];
            rows[y][u] = s;
        }
    uint64_t h = 0;
    for (int u = 0; u < LOW; u++)
        for (int v = 0; v < LOW; v++) {
            if (u == 0 && v == 0) continue;
            float s = 0;
            for (int y = 0; y < GRID; y++) s += rows[y][u] * basis[v][y];
            if (s > 0) h |= 1ull << (u * 8 + v);
        }
    return h;
}

static uint64_t transpose_bits(uint64_t h) {
    uint64_t t = 0;
    for (int u = 0; u < 8; u++)
        for (int v = 0; v < 8; v++)
            if (h >> (u * 8 + v) & 1) t |= 1ull << (v * 8 + u);
    return t;
}

void dups_phash_turns(uint64_t h, uint64_t out[8]) {
    /* mirroring left-right negates the odd horizontal frequencies (u odd), top-bottom the odd vertical ones */
    const uint64_t odd_u = 0xFF00FF00FF00FF00ull, odd_v = 0xAAAAAAAAAAAAAAAAull;
    uint64_t t = transpose_bits(h);
    for (int i = 0; i < 8; i++) {
        uint64_t b = (i & 4) ? t : h;
        if (i & 1) b ^= odd_u;
        if (i & 2) b ^= odd_v;
        out[i] = b;
    }
}

int dups_phash_distance(uint64_t a, uint64_t b) {
    uint64_t turns[8];
    dups_phash_turns(b, turns);
    int best = 64;
    for (int i = 0; i < 8; i++) {
        int d = __builtin_popcountll(a ^ turns[i]);
        if (d < best) best = d;
    }
    return best;
}
