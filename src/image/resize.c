/* A transcription of the algorithm of Pillow's libImaging/Resample.c for 8-bit images with the BICUBIC filter
 * (a = -0.5), so that our CLIP input tensors match the reference pixel for pixel. */
#include "image.h"

#include <math.h>

#define PRECISION_BITS (32 - 8 - 2)

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

static inline uint8_t clip8(int32_t in) {
    if (in >= (1 << PRECISION_BITS) << 8) return 255;
    if (in <= 0) return 0;
    return (uint8_t)(in >> PRECISION_BITS);
}

int img_resize_bicubic(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
    int kh, kv, *bh = NULL, *bv = NULL;
    int32_t *kkh = NULL, *kkv = NULL;
    if (precompute(sw, dw, &kh, &bh, &kkh) || precompute(sh, dh, &kv, &bv, &kkv)) {
        psk_free(bh);
        psk_free(kkh);
        return PSK_ERR_NOMEM;
    }
    /* Only the source rows the vertical pass reads go through the horizontal pass. */
    int ybox_first = bv[0], ybox_last = bv[2 * dh - 2] + bv[2 * dh - 1];
    int th = ybox_last - ybox_first;
    bool need_h = dw != sw, need_v = dh != sh;
    const uint8_t *mid = src;
    uint8_t *tmp = NULL;
    int mid_w = sw, mid_first = 0;
    if (need_h) {
        tmp = psk_malloc((size_t)dw * th * 3);
        if (!tmp) {
            psk_free(bh); psk_free(bv); psk_free(kkh); psk_free(kkv);
            return PSK_ERR_NOMEM;
        }
        for (int y = 0; y < th; y++) {
            const uint8_t *row = src + (size_t)(y + ybox_first) * sw * 3;
            for (int xx = 0; xx < dw; xx++) {
                int xmin = bh[2 * xx], xmax = bh[2 * xx + 1];
                const int32_t *k = &kkh[(size_t)xx * kh];
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int x = 0; x < xmax; x++) {
                    const uint8_t *p = row + (size_t)(x + xmin) * 3;
                    s0 += p[0] * k[x];
                    s1 += p[1] * k[x];
                    s2 += p[2] * k[x];
                }
                uint8_t *o = tmp + ((size_t)y * dw + xx) * 3;
                o[0] = clip8(s0);
                o[1] = clip8(s1);
                o[2] = clip8(s2);
            }
        }
        mid = tmp;
        mid_w = dw;
        mid_first = ybox_first;
    }
    if (need_v) {
        for (int yy = 0; yy < dh; yy++) {
            int ymin = bv[2 * yy] - mid_first, ymax = bv[2 * yy + 1];
            const int32_t *k = &kkv[(size_t)yy * kv];
            for (int x = 0; x < mid_w; x++) {
                int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
                for (int y = 0; y < ymax; y++) {
                    const uint8_t *p = mid + ((size_t)(y + ymin) * mid_w + x) * 3;
                    s0 += p[0] * k[y];
                    s1 += p[1] * k[y];
                    s2 += p[2] * k[y];
                }
                uint8_t *o = dst + ((size_t)yy * dw + x) * 3;
                o[0] = clip8(s0);
                o[1] = clip8(s1);
                o[2] = clip8(s2);
            }
        }
    } else {
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw * 3; x++) dst[(size_t)y * dw * 3 + x] = mid[(size_t)(y + (need_h ? 0 : 0)) * mid_w * 3 + x];
    }
    psk_free(tmp);
    psk_free(bh);
    psk_free(bv);
    psk_free(kkh);
    psk_free(kkv);
    return PSK_OK;
}
