/* face-api's 68-point landmark net (FaceLandmark68Net on FaceFeatureExtractor): the face crop padded to a centred
 * square, resized to 112 x 112, mean-subtracted and divided by 255; four dense blocks of 4 layers (the first a
 * plain 3x3 stride-2 conv, the others depthwise-separable, stride 2 for each block's first layer) whose outputs
 * are summed before each ReLU; a 7x7 average pool; a fully connected layer to 136 values, mapped back from the
 * padded square to the crop as face-api's postProcess does. */
#include "faces.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const float face_mean[3] = {122.782f, 117.001f, 104.298f};

void fc_landmarks_free(fc_landmarks *l) {
    fc_conv_free(&l->conv0);
    for (int i = 0; i < 15; i++) {
        fc_dwconv_free(&l->sep[i].dw);
        fc_conv_free(&l->sep[i].pw);
    }
    psk_packed_free(&l->fc);
    psk_free_aligned(l->fc_bias);
    memset(l, 0, sizeof *l);
}

static int lm_build(fc_landmarks *l, const tfjs_weights *w, psk_error *err) {
    const float *f, *b, *pw;
    char n[128];
    int rc = tfjs_getv(w, &f, err, "dense0/conv0/filters", 4, 3, 3, 3, 32);
    if (!rc) rc = tfjs_getv(w, &b, err, "dense0/conv0/bias", 1, 32);
    if (!rc && fc_conv_init(&l->conv0, 3, 2, true, 3, 32, f, NULL, b, NULL)) rc = PSK_ERR_NOMEM;
    int cin = 32, k = 0;
    for (int blk = 0; blk < 4 && !rc; blk++) {
        int cout = 32 << blk;
        for (int c = blk == 0 ? 1 : 0; c < 4 && !rc; c++, k++) {
            snprintf(n, sizeof n, "dense%d/conv%d/depthwise_filter", blk, c);
            rc = tfjs_getv(w, &f, err, n, 4, 3, 3, cin, 1);
            snprintf(n, sizeof n, "dense%d/conv%d/pointwise_filter", blk, c);
            if (!rc) rc = tfjs_getv(w, &pw, err, n, 4, 1, 1, cin, cout);
            snprintf(n, sizeof n, "dense%d/conv%d/bias", blk, c);
            if (!rc) rc = tfjs_getv(w, &b, err, n, 1, cout);
            if (!rc && (fc_dwconv_init(&l->sep[k].dw, cin, c == 0 ? 2 : 1, f, NULL, NULL, NULL) ||
                        fc_conv_init(&l->sep[k].pw, 1, 1, true, cin, cout, pw, NULL, b, NULL)))
                rc = PSK_ERR_NOMEM;
            cin = cout;
        }
    }
    if (!rc) rc = tfjs_getv(w, &f, err, "fc/weights", 2, 256, 136);
    if (!rc) rc = tfjs_getv(w, &b, err, "fc/bias", 1, 136);
    if (!rc && (psk_pack_weights(f, 136, 256, 136, true, &l->fc) ||
                !(l->fc_bias = psk_malloc_aligned(sizeof(float) * 136))))
        rc = PSK_ERR_NOMEM;
    if (!rc) memcpy(l->fc_bias, b, sizeof(float) * 136);
    return rc;
}

static int lm_build_cb(void *net, const tfjs_weights *w, psk_error *err) { return lm_build(net, w, err); }

int fc_landmarks_load(fc_landmarks *l, const char *dir, psk_error *err) {
    memset(l, 0, sizeof *l);
    int rc = tfjs_build(dir, "face_landmark_68_model", lm_build_cb, l, err);
    if (rc) fc_landmarks_free(l);
    return rc;
}

/* out = a + b (+ c (+ d)) then ReLU, element by element in face-api's order: out1 + (out2 + (out3 + out4)). */
static void sum_relu(float *out, const float *a, const float *b, const float *c, const float *d, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float s = d ? c[i] + d[i] : (c ? c[i] : 0.0f);
        s = c ? b[i] + s : b[i];
        s = a[i] + s;
        out[i] = s > 0.0f ? s : 0.0f;
    }
}

static int sep_forward(psk_pool *pool, const fc_dense_sep *s, const fc_tensor *in, fc_tensor *out) {
    fc_tensor t;
    int rc = fc_dwconv_forward(pool, &s->dw, in, FC_NONE, &t);
    if (rc) return rc;
    rc = fc_conv_forward(pool, &s->pw, &t, FC_NONE, out);
    fc_tensor_free(&t);
    return rc;
}

/* One dense block: out1 = relu(conv0(x)); out2 = conv1(out1); out3 = conv2(relu(out1 + out2));
 * out4 = conv3(relu(out1 + out2 + out3)); result relu(out1 + out2 + out3 + out4). Consumes x. */
static int dense_block(const fc_landmarks *l, psk_pool *pool, int blk, fc_tensor *x) {
    fc_tensor o[4] = {{0}}, in = {0};
    /* conv1..conv3 of the block: sep[0..2] for dense0 (whose conv0 is a plain conv), then 4 per block */
    const fc_dense_sep *sep = &l->sep[blk == 0 ? 0 : 4 * blk];
    int rc;
    if (blk == 0) {
        rc = fc_conv_forward(pool, &l->conv0, x, FC_RELU, &o[0]);
    } else {
        rc = sep_forward(pool, &l->sep[4 * blk - 1], x, &o[0]);
        if (!rc) fc_activate(o[0].d, fc_tensor_floats(&o[0]), FC_RELU);
    }
    fc_tensor_free(x);
    size_t n = rc ? 0 : fc_tensor_floats(&o[0]);
    if (!rc) rc = sep_forward(pool, &sep[0], &o[0], &o[1]);
    if (!rc) rc = fc_tensor_new_n(&in, o[0].n, o[0].h, o[0].w, o[0].c);
    if (!rc) {
        sum_relu(in.d, o[0].d, o[1].d, NULL, NULL, n);
        rc = sep_forward(pool, &sep[1], &in, &o[2]);
    }
    if (!rc) {
        sum_relu(in.d, o[0].d, o[1].d, o[2].d, NULL, n);
        rc = sep_forward(pool, &sep[2], &in, &o[3]);
    }
    if (!rc) {
        sum_relu(in.d, o[0].d, o[1].d, o[2].d, o[3].d, n);
        *x = in;
        in.d = NULL;
    }
    fc_tensor_free(&in);
    for (int i = 0; i < 4; i++) fc_tensor_free(&o[i]);
    return rc;
}

int fc_landmarks_run_n(const fc_landmarks *l, psk_pool *pool, const uint8_t *rgb, int img_w, int n,
                       const int (*crop)[4], double (*rel)[136], psk_error *err) {
    fc_tensor x = {0}, pooled = {0};
    int rc = n >= 1 && n <= FC_BATCH_MAX ? fc_tensor_new_n(&x, n, 112, 112, 3) : PSK_ERR_INVALID_ARG;
    for (int i = 0; i < n && !rc; i++)
        rc = fc_input_into(rgb, img_w, crop[i][0], crop[i][1], crop[i][2], crop[i][3], true, 112, face_mean, 255.0f,
                           0.0f, x.d + (size_t)i * 112 * 112 * 3);
    for (int blk = 0; blk < 4 && !rc; blk++) rc = dense_block(l, pool, blk, &x);
    if (!rc) rc = fc_pool(&x, 7, 2, false, &pooled);
    fc_tensor_free(&x);
    float out[FC_BATCH_MAX][136];
    if (!rc) fc_gemm(pool, n, pooled.d, 256, &l->fc, l->fc_bias, out[0], 136, FC_NONE);
    fc_tensor_free(&pooled);
    if (rc == PSK_ERR_INVALID_ARG) return psk_fail(err, rc, "landmark net: a batch of %d faces", n);
    if (rc) return psk_fail(err, rc, "landmark net: out of memory");
    for (int f = 0; f < n; f++) {
        /* postProcess: undo the centred padding of the 112-pixel square */
        int w = crop[f][2], h = crop[f][3];
        double scale = 112.0 / (w > h ? w : h), sw = w * scale, sh = h * scale;
        double pad_x = sw < sh ? fabs(sw - sh) / 2 : 0, pad_y = sh < sw ? fabs(sw - sh) / 2 : 0;
        for (int i = 0; i < 68; i++) {
            rel[f][2 * i] = (float)((float)(out[f][2 * i] * 112.0f) - (float)pad_x) / (float)sw;
            rel[f][2 * i + 1] = (float)((float)(out[f][2 * i + 1] * 112.0f) - (float)pad_y) / (float)sh;
        }
    }
    return PSK_OK;
}

int fc_landmarks_run(const fc_landmarks *l, psk_pool *pool, const uint8_t *rgb, int img_w, int x0, int y0, int w,
                     int h, double rel[136], psk_error *err) {
    const int crop[1][4] = {{x0, y0, w, h}};
    return fc_landmarks_run_n(l, pool, rgb, img_w, 1, crop, (double (*)[136])rel, err);
}
