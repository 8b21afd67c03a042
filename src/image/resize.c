/* A transcription of the algorithm of Pillow's libImaging/Resample.c for 8-bit images with the BICUBIC filter
 * (a = -0.5), so that our CLIP input tensors match the reference pixel for pixel: the coefficients here, the two
 * passes in src/kernels/resample.h's kernels (a plain C reference and its AVX2 / AVX-512 versions, bit for bit
 * alike). A window of the output is computed alone (CLIP crops the centre: the columns and rows it drops are never
 * computed), each of its pixels the very value the whole resize gives it. */
#include "image.h"

#include "../kernels/resample.h"

#include <math.h>
#include <string.h>

#define PRECISION_BITS PSK_RESAMPLE_BITS

static double bicubic(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* Coefficients for resampling in_size samples into out_size: per output sample its first input and count
 * (bounds) and ksize fixed-point weights. */
static int precompute(int in_size, int out_size, int *ksize_out, int **bounds_out, int32_t **kk_out) {
    double scale = (double)in_size / out_size, filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    int ksize = (int)ceil(support) * 2 + 1;
    double *k = psk_malloc(sizeof(double) * (size_t)ksize);
    int *bounds = psk_malloc(sizeof(int) * 2 * (size_t)out_size);
    int32_t *kk = psk_malloc(sizeof(int32_t) * (size_t)out_size * ksize);
    if (!k || !bounds || !kk) {
        psk_free(k);
        psk_free(bounds);
        psk_free(kk);
        return PSK_ERR_NOMEM;
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, ww = 0.0, ss = 1.0 / filterscale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        for (int x = 0; x < xmax; x++) {
            double w = bicubic((x + xmin - center + 0.5) * ss);
            k[x] = w;
            ww += w;
        }
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax && ww != 0.0 ? k[x] / ww : (x < xmax ? k[x] : 0.0);
            kk[(size_t)xx * ksize + x] =
                v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS)) : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    psk_free(k);
    *ksize_out = ksize;
    *bounds_out = bounds;
    *kk_out = kk;
    return PSK_OK;
}

/* The horizontal taps of output pixels [x0, x0 + n) in resample.h's form (np: count rounded up to 16). */
static int make_taps(int ksize, const int *bounds, const int32_t *kk, int x0, int n, psk_resample_taps *t) {
    int np = (ksize + 15) / 16 * 16;
    int *first = psk_malloc(sizeof(int) * 2 * (size_t)n);
    int32_t *w3 = psk_calloc((size_t)n * np * 3, sizeof(int32_t));
    if (!first || !w3) {
        psk_free(first);
        psk_free(w3);
        return PSK_ERR_NOMEM;
    }
    for (int j = 0; j < n; j++) {
        first[j] = bounds[2 * (x0 + j)];
        first[n + j] = bounds[2 * (x0 + j) + 1];
        for (int x = 0; x < first[n + j]; x++)
            for (int c = 0; c < 3; c++) w3[((size_t)j * np + x) * 3 + c] = kk[(size_t)(x0 + j) * ksize + x];
    }
    *t = (psk_resample_taps){n, np, first, first + n, w3};
    return PSK_OK;
}

int img_resize_bicubic_window(const uint8_t *src, int sw, int sh, int dw, int dh, int x0, int y0, int cw, int ch,
                              uint8_t *dst) {
    if (x0 < 0 || y0 < 0 || cw <= 0 || ch <= 0 || x0 + cw > dw || y0 + ch > dh) return PSK_ERR_INVALID_ARG;
    bool need_h = dw != sw, need_v = dh != sh;
    int kh = 0, kv = 0, *bh = NULL, *bv = NULL;
    int32_t *kkh = NULL, *kkv = NULL;
    psk_resample_taps taps = {0};
    uint8_t *tmp = NULL;
    int rc = PSK_OK;
    if ((need_h && precompute(sw, dw, &kh, &bh, &kkh)) || (need_v && precompute(sh, dh, &kv, &bv, &kkv)) ||
        (need_h && make_taps(kh, bh, kkh, x0, cw, &taps))) {
        rc = PSK_ERR_NOMEM;
        goto done;
    }
    /* the source rows the window's output rows read: only they go through the horizontal pass */
    int r0 = y0, r1 = y0 + ch;
    if (need_v) {
        r0 = bv[2 * y0], r1 = 0;
        for (int yy = y0; yy < y0 + ch; yy++)
            if (bv[2 * yy] + bv[2 * yy + 1] > r1) r1 = bv[2 * yy] + bv[2 * yy + 1];
    }
    const uint8_t *mid = src + (size_t)r0 * sw * 3 + (size_t)x0 * 3;
    size_t mid_stride = (size_t)sw * 3, row_bytes = (size_t)cw * 3;
    if (need_h) {
        if (!(tmp = psk_malloc(row_bytes * (size_t)(r1 - r0)))) {
            rc = PSK_ERR_NOMEM;
            goto done;
        }
        psk_resample_rows()(src + (size_t)r0 * sw * 3, (size_t)sw * 3, r1 - r0, sw, &taps, tmp, row_bytes);
        mid = tmp, mid_stride = row_bytes;
    }
    if (need_v) {
        psk_resample_col_fn col = psk_resample_col();
        for (int yy = y0; yy < y0 + ch; yy++)
            col(mid + (size_t)(bv[2 * yy] - r0) * mid_stride, mid_stride, cw * 3, kkv + (size_t)yy * kv,
                bv[2 * yy + 1], dst + (size_t)(yy - y0) * row_bytes);
    } else {
        for (int y = 0; y < ch; y++) memcpy(dst + (size_t)y * row_bytes, mid + (size_t)y * mid_stride, row_bytes);
    }
done:
    psk_free(tmp);
    psk_free((void *)taps.first);
    psk_free((void *)taps.w3);
    psk_free(bh);
    psk_free(bv);
    psk_free(kkh);
    psk_free(kkv);
    return rc;
}

int img_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
    return img_resize_bicubic_window(src, sw, sh, dw, dh, 0, 0, dw, dh, dst);
}
