/* The Tiny Face Detector of face-api (src/tinyFaceDetector, on src/tinyYolov2 with separable convolutions): the
 * image padded to a square (after it), resized to 416 x 416, the mean RGB subtracted and divided by 255; a 3x3
 * `valid` convolution (3 -> 16), then five depthwise + pointwise pairs (16 -> 32 -> ... -> 512), each after a 2x2
 * max pool (`same` padding, stride 2), and a last 2x2 pool of stride 1; every layer but the last followed by a leaky
 * ReLU (0.1); a 1x1 convolution to 13 x 13 cells of 5 anchors x (x, y, w, h, objectness). YOLO v2 decoding (sigmoid offsets inside
 * the cell, exp sizes times the anchor), then face-api's greedy non-maximum suppression at IoU 0.4.
 * About 0.4 GFLOP against the SSD's 6.3: the indexer's first detector (psk_face_detector's auto). */
#include "faces.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TINY_SIZE 416
#define C0_OUT (TINY_SIZE - 2) /* conv0's output side */
#define TINY_ANCHORS 5

static const double tiny_anchor[TINY_ANCHORS][2] = {
    {1.603231, 2.094468}, {6.041143, 7.080126}, {2.882459, 3.518061}, {4.266906, 5.178857}, {9.041765, 10.66308}};
static const float tiny_mean[3] = {117.001f, 114.697f, 97.404f};
static const int tiny_ch[7] = {3, 16, 32, 64, 128, 256, 512};

void fc_tiny_free(fc_tiny *t) {
    fc_conv_free(&t->conv0);
    for (int i = 0; i < 5; i++) {
        fc_dwconv_free(&t->dw[i]);
        fc_conv_free(&t->pw[i]);
    }
    fc_conv_free(&t->conv8);
    memset(t, 0, sizeof *t);
}

static int tiny_build(fc_tiny *t, const tfjs_weights *w, psk_error *err) {
    const float *f, *p, *b;
    char n[64];
    int rc = tfjs_getv(w, &f, err, "conv0/filters", 4, 3, 3, 3, 16);
    if (!rc) rc = tfjs_getv(w, &b, err, "conv0/bias", 1, 16);
    if (!rc) { /* the 3x3 filter [ky][kx][c][16] as a product over 27 inputs in (kx, ky, c) order: see conv0_task */
        float perm[27 * 16];
        for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++)
                for (int c = 0; c < 3; c++)
                    memcpy(perm + (kx * 9 + ky * 3 + c) * 16, f + ((ky * 3 + kx) * 3 + c) * 16, sizeof(float) * 16);
        if (fc_conv_init(&t->conv0, 1, 1, true, 27, 16, perm, NULL, b, NULL)) rc = PSK_ERR_NOMEM;
    }
    for (int i = 0; i < 5 && !rc; i++) {
        int cin = tiny_ch[i + 1], cout = tiny_ch[i + 2];
        snprintf(n, sizeof n, "conv%d/depthwise_filter", i + 1);
        rc = tfjs_getv(w, &f, err, n, 4, 3, 3, cin, 1);
        snprintf(n, sizeof n, "conv%d/pointwise_filter", i + 1);
        if (!rc) rc = tfjs_getv(w, &p, err, n, 4, 1, 1, cin, cout);
        snprintf(n, sizeof n, "conv%d/bias", i + 1);
        if (!rc) rc = tfjs_getv(w, &b, err, n, 1, cout);
        if (rc) break;
        /* tf.separableConv2d has no bias between its two products: the depthwise one adds nothing */
        if (fc_dwconv_init(&t->dw[i], cin, 1, f, NULL, NULL, NULL) ||
            fc_conv_init(&t->pw[i], 1, 1, true, cin, cout, p, NULL, b, NULL))
            rc = PSK_ERR_NOMEM;
    }
    if (!rc) rc = tfjs_getv(w, &f, err, "conv8/filters", 4, 1, 1, 512, TINY_ANCHORS * 5);
    if (!rc) rc = tfjs_getv(w, &b, err, "conv8/bias", 1, TINY_ANCHORS * 5);
    if (!rc && fc_conv_init(&t->conv8, 1, 1, true, 512, TINY_ANCHORS * 5, f, NULL, b, NULL)) rc = PSK_ERR_NOMEM;
    return rc;
}

static int tiny_build_cb(void *net, const tfjs_weights *w, psk_error *err) { return tiny_build(net, w, err); }

int fc_tiny_load(fc_tiny *t, const char *dir, psk_error *err) {
    memset(t, 0, sizeof *t);
    int rc = tfjs_build(dir, "tiny_face_detector_model", tiny_build_cb, t, err);
    if (rc) fc_tiny_free(t);
    return rc;
}

double fc_tiny_flops(const fc_tiny *t) {
    (void)t;
    double f = 0;
    int side = C0_OUT; /* conv0 is `valid` */
    f += 2.0 * side * side * 9 * 3 * 16;
    for (int i = 0; i < 5; i++) {
        side = (side + 1) / 2; /* the stride-2 pool before the pair */
        f += 2.0 * side * side * (9.0 * tiny_ch[i + 1] + (double)tiny_ch[i + 1] * tiny_ch[i + 2]);
    }
    f += 2.0 * side * side * 512 * TINY_ANCHORS * 5;
    return f;
}

/* The leaky ReLU (slope 0.1) as max(x, 0.1 x): tfjs computes relu(x - 0.1 x) + 0.1 x, the same to an ulp. It
 * is monotonic, so it commutes with a max pool: applied after the pool, to a quarter of the values. */
static inline float leaky(float x) {
    float m = x * 0.1f;
    return x > m ? x : m;
}

/* leaky(2x2 max pool) with TensorFlow's `same` padding: stride 2 pads one column / row after an odd side, stride 1
 * one after every side; the padding never wins a max. Rows [y0, y1) of the output; `w` columns of in are read, of
 * a row stride of in_w pixels. */
static void pool_leaky_rows(const float *in, int h, int w, int in_w, int c, int stride, float *out, int y0, int y1) {
    int ow = (w + stride - 1) / stride;
    for (int oy = y0; oy < y1; oy++) {
        int ya = oy * stride, yb = ya + 1 < h ? ya + 1 : ya;
        for (int ox = 0; ox < ow; ox++) {
            int xa = ox * stride, xb = xa + 1 < w ? xa + 1 : xa;
            const float *p = in + ((size_t)ya * in_w + xa) * c, *q = in + ((size_t)ya * in_w + xb) * c;
            const float *r = in + ((size_t)yb * in_w + xa) * c, *u = in + ((size_t)yb * in_w + xb) * c;
            float *o = out + ((size_t)oy * ow + ox) * c;
            for (int ch = 0; ch < c; ch++) {
                float m0 = p[ch] > q[ch] ? p[ch] : q[ch], m1 = r[ch] > u[ch] ? r[ch] : u[ch];
                o[ch] = leaky(m0 > m1 ? m0 : m1);
            }
        }
    }
}

typedef struct pool_job {
    const fc_tensor *in;
    fc_tensor *out;
    int stride, rows;
} pool_job;

static void pool_task(void *arg, int task, int thread) {
    (void)thread;
    const pool_job *j = arg;
    int y0 = task * j->rows, y1 = y0 + j->rows < j->out->h ? y0 + j->rows : j->out->h;
    pool_leaky_rows(j->in->d, j->in->h, j->in->w, j->in->w, j->in->c, j->stride, j->out->d, y0, y1);
}

static int pool_leaky(psk_pool *pool, const fc_tensor *in, int stride, fc_tensor *out) {
    int rc = fc_tensor_new(out, (in->h + stride - 1) / stride, (in->w + stride - 1) / stride, in->c);
    if (rc) return rc;
    int threads = psk_pool_threads(pool), rows = (out->h + 4 * threads - 1) / (4 * threads);
    pool_job j = {in, out, stride, rows < 1 ? 1 : rows};
    psk_pool_run(pool, (out->h + j.rows - 1) / j.rows, pool_task, &j);
    return PSK_OK;
}

/* conv0 (3x3 `valid`, 3 -> 16), its pool and leaky ReLU, one pooled row per task, in cache: the two input rows'
 * windows laid out as win[x][kx][ky][c] so that output pixel x's 27 inputs are the 27 floats from win + 9x (rows of
 * the product overlap: lda 9); the product gives two rows of TINY_SIZE pixels (the last two of each are past the
 * valid ones, never pooled). */
typedef struct conv0_job {
    const fc_tiny *t;
    const float *in; /* TINY_SIZE x TINY_SIZE x 3 */
    float *out;      /* C0_OUT/2 x C0_OUT/2 x 16 */
} conv0_job;

static void conv0_task(void *arg, int task, int thread) {
    (void)thread;
    const conv0_job *j = arg;
    static _Thread_local float win[2][TINY_SIZE * 9 + 27] __attribute__((aligned(64)));
    static _Thread_local float rows[2 * TINY_SIZE * 16] __attribute__((aligned(64)));
    for (int r = 0; r < 2; r++) {
        int y = 2 * task + r;
        for (int x = 0; x < TINY_SIZE; x++)
            for (int ky = 0; ky < 3; ky++)
                memcpy(&win[r][x * 9 + ky * 3], j->in + ((size_t)(y + ky) * TINY_SIZE + x) * 3, sizeof(float) * 3);
        memset(&win[r][TINY_SIZE * 9], 0, sizeof(float) * 27);
        fc_gemm(NULL, TINY_SIZE, win[r], 9, &j->t->conv0.w, j->t->conv0.bias, rows + (size_t)r * TINY_SIZE * 16, 16,
                FC_NONE);
    }
    pool_leaky_rows(rows, 2, C0_OUT, TINY_SIZE, 16, 2, j->out + (size_t)task * (C0_OUT / 2) * 16, 0, 1);
}

static double sigmoid(double x) { return 1.0 / (1.0 + exp(-x)); }

typedef struct tiny_box {
    double x, y, w, h; /* relative to the image (face-api's relativeBox) */
    double score;
    int idx;
} tiny_box;

/* Array.prototype.sort by score ascending (stable), popped from the end: the best first, and of equal scores the
 * later cell first. */
static int cmp_box(const void *a, const void *b) {
    const tiny_box *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return y->idx - x->idx;
}

/* face-api's iou() on the boxes rescaled to the input size (Box.rescale(416)) */
static double iou(const tiny_box *a, const tiny_box *b) {
    double ax = a->x * TINY_SIZE, ay = a->y * TINY_SIZE, aw = a->w * TINY_SIZE, ah = a->h * TINY_SIZE;
    double bx = b->x * TINY_SIZE, by = b->y * TINY_SIZE, bw = b->w * TINY_SIZE, bh = b->h * TINY_SIZE;
    double iw = fmax(0.0, fmin(ax + aw, bx + bw) - fmax(ax, bx));
    double ih = fmax(0.0, fmin(ay + ah, by + bh) - fmax(ay, by));
    double inter = iw * ih;
    return inter / (aw * ah + bw * bh - inter);
}

int fc_tiny_detect(const fc_tiny *t, psk_pool *pool, const uint8_t *rgb, int w, int h, float min_score, int max_faces,
                   fc_detection **out, int *n_out, psk_error *err) {
    *out = NULL;
    *n_out = 0;
    fc_tensor x = {0}, y = {0};
    int rc = fc_input(rgb, w, 0, 0, w, h, false, TINY_SIZE, tiny_mean, 255.0f, 0.0f, &x);
    if (!rc) rc = fc_tensor_new(&y, C0_OUT / 2, C0_OUT / 2, 16);
    if (!rc) {
        conv0_job j = {t, x.d, y.d};
        psk_pool_run(pool, C0_OUT / 2, conv0_task, &j);
    }
    fc_tensor_free(&x);
    /* five depthwise + pointwise pairs, each followed by the leaky ReLU and the next pool (pooled first) */
    for (int i = 0; i < 5 && !rc; i++) {
        rc = fc_dwpw_forward(pool, &t->dw[i], FC_NONE, &t->pw[i], FC_NONE, &y, &x);
        fc_tensor_free(&y);
        if (!rc) rc = pool_leaky(pool, &x, i < 4 ? 2 : 1, &y);
        fc_tensor_free(&x);
    }
    if (!rc) rc = fc_conv_forward(pool, &t->conv8, &y, FC_NONE, &x);
    fc_tensor_free(&y);
    y = x;
    int cells = y.h, n_box = 0, n_sel = 0;
    tiny_box *boxes = NULL;
    if (!rc && (y.h != y.w || y.c != TINY_ANCHORS * 5)) rc = PSK_ERR_FORMAT;
    if (!rc && !(boxes = psk_malloc(sizeof *boxes * (size_t)cells * cells * TINY_ANCHORS))) rc = PSK_ERR_NOMEM;
    if (!rc) {
        /* the resized image inside the padded square (computeReshapedDimensions): boxes relative to it */
        double scale = (double)TINY_SIZE / (w > h ? w : h);
        double rw = fmax(1.0, floor(w * scale + 0.5)), rh = fmax(1.0, floor(h * scale + 0.5));
        double corr_x = TINY_SIZE / rw, corr_y = TINY_SIZE / rh;
        for (int row = 0; row < cells; row++)
            for (int col = 0; col < cells; col++)
                for (int a = 0; a < TINY_ANCHORS; a++) {
                    const float *e = y.d + ((size_t)row * cells + col) * y.c + 5 * a;
                    double score = sigmoid(e[4]);
                    if (!(score > min_score)) continue;
                    double cx = (col + sigmoid(e[0])) / cells * corr_x, cy = (row + sigmoid(e[1])) / cells * corr_y;
                    double bw = exp(e[2]) * tiny_anchor[a][0] / cells * corr_x;
                    double bh = exp(e[3]) * tiny_anchor[a][1] / cells * corr_y;
                    boxes[n_box] = (tiny_box){cx - bw / 2, cy - bh / 2, bw, bh, score, n_box};
                    n_box++;
                }
        qsort(boxes, (size_t)n_box, sizeof *boxes, cmp_box);
        /* greedy: each kept box drops the later ones above IoU 0.4 */
        for (int i = 0; i < n_box && n_sel < max_faces; i++) {
            bool keep = true;
            for (int j = 0; j < n_sel && keep; j++) keep = iou(&boxes[i], &boxes[j]) <= 0.4; /* NaN drops, as in JS */
            if (keep) boxes[n_sel++] = boxes[i];
        }
    }
    fc_tensor_free(&y);
    if (!rc && n_sel) {
        fc_detection *d = psk_calloc((size_t)n_sel, sizeof *d);
        if (!d) rc = PSK_ERR_NOMEM;
        for (int i = 0; d && i < n_sel; i++) /* relativeBox scaled to the image (ObjectDetection) */
            d[i] = (fc_detection){boxes[i].x * w, boxes[i].y * h, boxes[i].w * w, boxes[i].h * h,
                                  (float)boxes[i].score};
        *out = d;
        *n_out = d ? n_sel : 0;
    }
    psk_free(boxes);
    if (rc == PSK_ERR_NOMEM) return psk_fail(err, rc, "face detector: out of memory");
    if (rc) return psk_fail(err, rc, "face detector: unexpected feature map sizes");
    return PSK_OK;
}
