/* Text in photos: private parts shared by the OCR files (the API is in photoseek.h). */
#ifndef PSK_OCR_H
#define PSK_OCR_H

#include "photoseek.h"

#include <stdint.h>

/* An 8-bit grey image. */
typedef struct ocr_gray {
    int w, h;
    uint8_t *px; /* w*h, row-major */
} ocr_gray;

/* The image in grey (ITU-R BT.601 luma), scaled down by area averaging so that its longer side is at most max_side
 * (never enlarged). Returns PSK_ERR_NOMEM without memory. */
int ocr_gray_from_rgb(const psk_image *img, int max_side, ocr_gray *out);
/* The image turned by 90 degrees clockwise (quarter_turns 1) or counter-clockwise (3), or 180 (2). */
int ocr_gray_rotate(const ocr_gray *in, int quarter_turns, ocr_gray *out);
void ocr_gray_free(ocr_gray *g);

/* Marks the cells (cell x cell pixels, (gw/cell) x (gh/cell), row-major) of a grey image whose strokes look like
 * letters: text[c] = 1. Strokes are looked for along rows (columns 0: upright text) or along columns (columns 1:
 * text turned a quarter), max_width pixels wide at most. Returns PSK_ERR_NOMEM without memory. */
int ocr_stroke_cells(const uint8_t *g, int gw, int gh, int cell, int columns, int max_width, uint8_t *text);

/* Where a point of a warped copy (ocr_gray_warp) lies in the grey image it was taken from. */
typedef struct ocr_xform {
    double cx, cy; /* the window's centre in the source */
    double cos_a, sin_a, scale;
    double ox, oy; /* the copy's centre */
} ocr_xform;
void ocr_xform_apply(const ocr_xform *xf, double x, double y, double *sx, double *sy);

/* A window of the image: an upright box, or a turned one (ocr_rect: centre, size along and across its lines, and
 * the direction of its lines in degrees clockwise from the x axis). */
typedef struct ocr_window {
    int x, y, w, h;
} ocr_window;
typedef struct ocr_rect {
    double cx, cy, w, h, angle;
} ocr_rect;
/* The rect of g turned upright and scaled by `scale`, with a border of `border` pixels; what lies outside the image
 * is painted `fill`. */
int ocr_gray_warp(const ocr_gray *g, ocr_rect r, double scale, int border, uint8_t fill, ocr_gray *out, ocr_xform *xf);
/* Ink black on white paper: Otsu's threshold splits the copy's greys (its border left out), the smaller class is
 * the ink (a copy drawn tight around text), and the greys are stretched so that the ink's mean is 0 and the
 * paper's 255. Returns 0, or -1 when the copy has one grey. */
int ocr_gray_normalise(ocr_gray *g, int border);

/* A place in the image that looks like a line or block of text (in the grey image's pixels). */
typedef struct ocr_region {
    ocr_window box;
    int vertical; /* its strokes run along columns: text turned a quarter */
    int cells;    /* how many text cells it holds: the bigger, the likelier */
} ocr_region;
/* Where the text in a window lies: the direction of its lines (within 12 degrees of base_deg), the height of a
 * line, and the rect drawn tight around the text. Returns PSK_ERR_INVALID_ARG where the window holds no edges. */
int ocr_measure_text(const ocr_gray *g, ocr_window win, double base_deg, ocr_rect *text, double *line_h);

/* The text regions of a grey image, the likeliest first, at most max. Returns the count, or -1 without memory. */
int ocr_find_regions(const ocr_gray *g, ocr_region *out, int max);

#endif
