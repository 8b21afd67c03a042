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

#endif
