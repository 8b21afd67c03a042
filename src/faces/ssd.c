/* The SSD MobileNet v1 face detector of face-api (src/ssdMobilenetv1): the image padded to a square (after it),
 * resized to 512 x 512 and scaled to [-1, 1]; MobileNet v1 (a 3x3 stride-2 conv, 13 depthwise + pointwise pairs
 * with batch norm and ReLU6); 8 extra layers; six box predictors on 32x32 (3 anchors), 16x16, 8x8, 4x4, 2x2 and
 * 1x1 (6 anchors) maps: 5118 boxes decoded against the stored anchors (Output/extra_dim), scored by the sigmoid of
 * the face logit, then non-maximum suppression exactly as face-api's (greedy, IoU above 0.5 suppresses). */
#include "faces.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSD_SIZE 512
#define BN_EPS 0.0010000000474974513

static const int ssd_pw_out[13] = {64, 128, 128, 256, 256, 512, 512, 512, 512, 512, 512, 1024, 1024};
static const int pred_k[8] = {1, 3, 1, 3, 1, 3, 1, 3}, pred_out[8] = {256, 512, 128, 256, 128, 256, 64, 128};
static const int box_in[6] = {512, 1024, 512, 256, 256, 128}, box_anchors[6] = {3, 6, 6, 6, 6, 6};

void fc_ssd_free(fc_ssd *s) {
    fc_conv_free(&s->conv0);
    for (int i = 0; i < 13; i++) {
        fc_dwconv_free(&s->dw[i]);
        fc_conv_free(&s->pw[i]);
    }
    for (int i = 0; i < 8; i++) fc_conv_free(&s->pred[i]);
    for (int i = 0; i < 6; i++) {
        fc_conv_free(&s->box[i]);
        fc_conv_free(&s->cls[i]);
    }
    psk_free(s->anchors);
    memset(s, 0, sizeof *s);
}

static int ssd_build(fc_ssd *s, const tfjs_weights *w, psk_error *err) {
    const float *f, *b, *g, *bt, *mean, *var;
    char n[160];
    int rc = tfjs_getv(w, &f, err, "MobilenetV1/Conv2d_0_pointwise/weights", 4, 3, 3, 3, 32);
    if (!rc) rc = tfjs_getv(w, &b, err, "MobilenetV1/Conv2d_0_pointwise/convolution_bn_offset", 1, 32);
    if (!rc && fc_conv_init(&s->conv0, 3, 2, true, 3, 32, f, NULL, NULL, b)) rc = PSK_ERR_NOMEM;
    int cin = 32;
    for (int i = 0; i < 13 && !rc; i++) {
        int l = i + 1, stride = (l == 2 || l == 4 || l == 6 || l == 12) ? 2 : 1;
#define W(suffix, ...) (snprintf(n, sizeof n, "MobilenetV1/Conv2d_%d_" suffix, l), tfjs_getv(w, __VA_ARGS__))
        rc = W("depthwise/depthwise_weights", &f, err, n, 4, 3, 3, cin, 1);
        if (!rc) rc = W("depthwise/BatchNorm/gamma", &g, err, n, 1, cin);
        if (!rc) rc = W("depthwise/BatchNorm/beta", &bt, err, n, 1, cin);
        if (!rc) rc = W("depthwise/BatchNorm/moving_mean", &mean, err, n, 1, cin);
        if (!rc) rc = W("depthwise/BatchNorm/moving_variance", &var, err, n, 1, cin);
        if (rc) break;
        /* batch norm folded: y = (x - mean) * gamma / sqrt(var + eps) + beta */
        float *mul = psk_malloc(sizeof(float) * 2 * (size_t)cin);
        if (!mul) return PSK_ERR_NOMEM;
        float *add = mul + cin;
        for (int c = 0; c < cin; c++) {
            mul[c] = (float)(g[c] / sqrt((double)var[c] + BN_EPS));
            add[c] = bt[c] - mean[c] * mul[c];
        }
        rc = fc_dwconv_init(&s->dw[i], cin, stride, f, mul, NULL, add);
        psk_free(mul);
        int cout = ssd_pw_out[i];
        if (!rc) rc = W("pointwise/weights", &f, err, n, 4, 1, 1, cin, cout);
        if (!rc) rc = W("pointwise/convolution_bn_offset", &b, err, n, 1, cout);
#undef W
        if (!rc && fc_conv_init(&s->pw[i], 1, 1, true, cin, cout, f, NULL, NULL, b)) rc = PSK_ERR_NOMEM;
        cin = cout;
    }
    for (int i = 0; i < 8 && !rc; i++) {
        snprintf(n, sizeof n, "Prediction/Conv2d_%d_pointwise/weights", i);
        rc = tfjs_getv(w, &f, err, n, 4, pred_k[i], pred_k[i], cin, pred_out[i]);
        snprintf(n, sizeof n, "Prediction/Conv2d_%d_pointwise/convolution_bn_offset", i);
        if (!rc) rc = tfjs_getv(w, &b, err, n, 1, pred_out[i]);
        if (!rc && fc_conv_init(&s->pred[i], pred_k[i], pred_k[i] == 3 ? 2 : 1, true, cin, pred_out[i], f, NULL,
                                NULL, b))
            rc = PSK_ERR_NOMEM;
        cin = pred_out[i];
    }
    for (int i = 0; i < 6 && !rc; i++) {
        for (int which = 0; which < 2 && !rc; which++) {
            const char *kind = which ? "ClassPredictor" : "BoxEncodingPredictor";
            int cout = box_anchors[i] * (which ? 3 : 4);
            snprintf(n, sizeof n, "Prediction/BoxPredictor_%d/%s/weights", i, kind);
            rc = tfjs_getv(w, &f, err, n, 4, 1, 1, box_in[i], cout);
            snprintf(n, sizeof n, "Prediction/BoxPredictor_%d/%s/biases", i, kind);
            if (!rc) rc = tfjs_getv(w, &b, err, n, 1, cout);
            if (!rc && fc_conv_init(which ? &s->cls[i] : &s->box[i], 1, 1, true, box_in[i], cout, f, NULL, b, NULL))
                rc = PSK_ERR_NOMEM;
        }
    }
    if (!rc) rc = tfjs_getv(w, &f, err, "Output/extra_dim", 3, 1, 5118, 4);
    if (!rc) {
        s->n_anchors = 5118;
        if (!(s->anchors = psk_malloc(sizeof(float) * 4 * 5118))) return PSK_ERR_NOMEM;
        memcpy(s->anchors, f, sizeof(float) * 4 * 5118);
    }
    return rc;
}

static int ssd_build_cb(void *net, const tfjs_weights *w, psk_error *err) { return ssd_build(net, w, err); }

int fc_ssd_load(fc_ssd *s, const char *dir, psk_error *err) {
    memset(s, 0, sizeof *s);
    int rc = tfjs_build(dir, "ssd_mobilenetv1_model", ssd_build_cb, s, err);
    if (rc) fc_ssd_free(s);
    return rc;
}

/* Flops (2 per multiply-add) of a convolution on a side x side map; side becomes the output's. */
static double conv_flops(const fc_conv *c, int *side) {
    int out = c->same ? (*side + c->stride - 1) / c->stride : (*side - c->k) / c->stride + 1;
    double f = 2.0 * out * out * c->k * c->k * c->cin * c->cout;
    *side = out;
    return f;
}

double fc_ssd_flops(const fc_ssd *s) {
    int side = SSD_SIZE, conv11 = 0, maps[6];
    double f = conv_flops(&s->conv0, &side);
    for (int i = 0; i < 13; i++) {
        side = (side + s->dw[i].stride - 1) / s->dw[i].stride;
        f += 2.0 * side * side * 9 * s->dw[i].c;
        f += conv_flops(&s->pw[i], &side);
        if (i == 10) conv11 = side;
    }
    maps[0] = conv11;
    maps[1] = side;
    for (int i = 0; i < 8; i++) {
        f += conv_flops(&s->pred[i], &side);
        if (i & 1) maps[2 + i / 2] = side; /* the outputs of pred 1, 3, 5, 7 */
    }
    for (int i = 0; i < 6; i++) {
        int a = maps[i], b = maps[i];
        f += conv_flops(&s->box[i], &a) + conv_flops(&s->cls[i], &b);
    }
    return f;
}

/* Runs a box predictor on a feature map and writes its anchors' box encodings and face scores from `first` on. */
static int predict(const fc_ssd *s, psk_pool *pool, int i, const fc_tensor *x, float *enc, float *score,
                   int first) {
    fc_tensor b, c;
    int rc = fc_conv_forward(pool, &s->box[i], x, FC_NONE, &b);
    if (rc) return rc;
    rc = fc_conv_forward(pool, &s->cls[i], x, FC_NONE, &c);
    if (rc) {
        fc_tensor_free(&b);
        return rc;
    }
    int a = box_anchors[i], n = x->h * x->w * a;
    if (first + n > s->n_anchors) rc = PSK_ERR_FORMAT;
    for (int j = 0; j < n && !rc; j++) {
        memcpy(enc + 4 * (size_t)(first + j), b.d + 4 * (size_t)j, 4 * sizeof(float));
        score[first + j] = 1.0f / (1.0f + expf(-c.d[3 * (size_t)j + 1]));
    }
    fc_tensor_free(&b);
    fc_tensor_free(&c);
    return rc;
}

typedef struct cand {
    float score;
    int idx;
} cand;

static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->idx - y->idx; /* Array.prototype.sort is stable */
}

static double iou(const float *a, const float *b) {
    double ay0 = fmin(a[0], a[2]), ax0 = fmin(a[1], a[3]), ay1 = fmax(a[0], a[2]), ax1 = fmax(a[1], a[3]);
    double by0 = fmin(b[0], b[2]), bx0 = fmin(b[1], b[3]), by1 = fmax(b[0], b[2]), bx1 = fmax(b[1], b[3]);
    double aa = (ay1 - ay0) * (ax1 - ax0), ab = (by1 - by0) * (bx1 - bx0);
    if (aa <= 0 || ab <= 0) return 0.0;
    double ih = fmax(fmin(ay1, by1) - fmax(ay0, by0), 0.0), iw = fmax(fmin(ax1, bx1) - fmax(ax0, bx0), 0.0);
    return ih * iw / (aa + ab - ih * iw);
}

int fc_ssd_detect(const fc_ssd *s, psk_pool *pool, const uint8_t *rgb, int w, int h, float min_score, int max_faces,
                  fc_detection **out, int *n_out, psk_error *err) {
    *out = NULL;
    *n_out = 0;
    static const float zero[3] = {0, 0, 0};
    fc_tensor x = {0}, t = {0}, conv11 = {0}, p[8] = {{0}};
    float *enc = psk_malloc(sizeof(float) * 4 * (size_t)s->n_anchors);
    float *score = psk_malloc(sizeof(float) * (size_t)s->n_anchors);
    cand *cands = psk_malloc(sizeof(cand) * (size_t)s->n_anchors);
    float *boxes = psk_malloc(sizeof(float) * 4 * (size_t)s->n_anchors);
    int *sel = psk_malloc(sizeof(int) * (size_t)s->n_anchors);
    int rc = enc && score && cands && boxes && sel ? PSK_OK : PSK_ERR_NOMEM;
    if (!rc) rc = fc_input(rgb, w, 0, 0, w, h, false, SSD_SIZE, zero, 127.5f, -1.0f, &x);
    if (!rc) fc_tensor_find_band(&x); /* the padding below a wide photo: its rows computed once per layer */
    if (!rc) rc = fc_conv_forward(pool, &s->conv0, &x, FC_RELU6, &t);
    fc_tensor_free(&x);
    for (int i = 0; i < 13 && !rc; i++) {
        x = t;
        t.d = NULL;
        rc = fc_dwpw_forward(pool, &s->dw[i], FC_RELU6, &s->pw[i], FC_RELU6, &x, &t);
        if (i == 11) conv11 = x; /* the output of pair 11 feeds the first box predictor too: kept */
        else fc_tensor_free(&x);
    }
    const fc_tensor *src = &t;
    for (int i = 0; i < 8 && !rc; i++) {
        rc = fc_conv_forward(pool, &s->pred[i], src, FC_RELU6, &p[i]);
        src = &p[i];
    }
    int first = 0;
    const fc_tensor *maps[6] = {&conv11, &t, &p[1], &p[3], &p[5], &p[7]};
    for (int i = 0; i < 6 && !rc; i++) {
        rc = predict(s, pool, i, maps[i], enc, score, first);
        first += maps[i]->h * maps[i]->w * box_anchors[i];
    }
    if (!rc && first != s->n_anchors) rc = PSK_ERR_FORMAT;
    fc_tensor_free(&t);
    fc_tensor_free(&conv11);
    for (int i = 0; i < 8; i++) fc_tensor_free(&p[i]);
    int n_cand = 0, n_sel = 0;
    if (!rc) {
        /* decode against the anchors: [y0, x0, y1, x1] */
        for (int i = 0; i < s->n_anchors; i++) {
            const float *a = s->anchors + 4 * (size_t)i, *e = enc + 4 * (size_t)i;
            float sy = a[2] - a[0], sx = a[3] - a[1], cy = a[0] + sy / 2, cx = a[1] + sx / 2;
            float hy = expf(e[2] / 5) * sy / 2, cy2 = e[0] / 10 * sy + cy;
            float hx = expf(e[3] / 5) * sx / 2, cx2 = e[1] / 10 * sx + cx;
            float *b = boxes + 4 * (size_t)i;
            b[0] = cy2 - hy;
            b[1] = cx2 - hx;
            b[2] = cy2 + hy;
            b[3] = cx2 + hx;
            if (score[i] > min_score) cands[n_cand++] = (cand){score[i], i};
        }
        qsort(cands, (size_t)n_cand, sizeof *cands, cmp_cand);
        int limit = max_faces < s->n_anchors ? max_faces : s->n_anchors;
        for (int c = 0; c < n_cand && n_sel < limit; c++) {
            bool keep = true;
            for (int j = n_sel - 1; j >= 0; j--) {
                double v = iou(boxes + 4 * (size_t)cands[c].idx, boxes + 4 * (size_t)sel[j]);
                if (v == 0.0) continue;
                if (v > 0.5) {
                    keep = false;
                    break;
                }
            }
            if (keep) sel[n_sel++] = cands[c].idx;
        }
    }
    if (!rc && n_sel) {
        fc_detection *d = psk_calloc((size_t)n_sel, sizeof *d);
        if (!d) rc = PSK_ERR_NOMEM;
        int side = w > h ? w : h;
        double scale = (double)SSD_SIZE / side;
        /* face-api's padX/padY; a side that rounds to 0 pixels (a 1 x 2000 strip) counts as 1, not infinity */
        double rw = fmax(1.0, floor(w * scale + 0.5)), rh = fmax(1.0, floor(h * scale + 0.5));
        double pad_x = SSD_SIZE / rw, pad_y = SSD_SIZE / rh;
        for (int i = 0; d && i < n_sel; i++) {
            const float *b = boxes + 4 * (size_t)sel[i];
            double top = fmax(0.0, b[0]) * pad_y, bottom = fmin(1.0, b[2]) * pad_y;
            double left = fmax(0.0, b[1]) * pad_x, right = fmin(1.0, b[3]) * pad_x;
            d[i].x = left * w;
            d[i].y = top * h;
            d[i].w = (right - left) * w;
            d[i].h = (bottom - top) * h;
            d[i].score = score[sel[i]];
        }
        *out = d;
        *n_out = d ? n_sel : 0;
    }
    psk_free(enc);
    psk_free(score);
    psk_free(cands);
    psk_free(boxes);
    psk_free(sel);
    if (rc == PSK_ERR_NOMEM) return psk_fail(err, rc, "face detector: out of memory");
    if (rc) return psk_fail(err, rc, "face detector: unexpected feature map sizes");
    return PSK_OK;
}
