/* face-api's face recognition net (FaceRecognitionNet, the port of dlib's ResNet-34-like model): the aligned face
 * chip padded to a centred square, resized to 150 x 150, mean-subtracted and divided by 255; a 7x7 stride-2 conv
 * and a 3x3 max pool; 15 residual blocks of two 3x3 convs, each conv followed by its bias and a scale layer (folded
 * here into the weights), the downsampling blocks adding a 2x2 average pool of their input, zero-padded in
 * channels and, when the map sizes differ, the conv output zero-padded by a row and a column; a global average
 * and a 256 x 128 product. */
#include "faces.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const float face_mean[3] = {122.782f, 117.001f, 104.298f};
static const char *const res_names[15] = {"conv32_1",  "conv32_2",  "conv32_3",    "conv64_down", "conv64_1",
                                          "conv64_2",  "conv64_3",  "conv128_down", "conv128_1",  "conv128_2",
                                          "conv256_down", "conv256_1", "conv256_2", "conv256_down_out", NULL};
static const int res_cin[14] = {32, 32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256, 256};
static const int res_cout[14] = {32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256, 256, 256};
#define N_RES 14

static bool is_down(int i) { return strstr(res_names[i], "down") != NULL; }

void fc_descriptor_free(fc_descriptor *d) {
    fc_conv_free(&d->conv0);
    for (int i = 0; i < 15; i++) {
        fc_conv_free(&d->res[i].conv1);
        fc_conv_free(&d->res[i].conv2);
    }
    psk_packed_free(&d->fc);
    memset(d, 0, sizeof *d);
}

/* A conv layer: filters, bias, then the scale layer (x * weights + biases), folded. */
static int conv_layer(const tfjs_weights *w, const char *prefix, int k, int stride, bool same, int cin, int cout,
                      fc_conv *c, psk_error *err) {
    const float *f, *b, *sw, *sb;
    char n[128];
    snprintf(n, sizeof n, "%s/conv/filters", prefix);
    int rc = tfjs_getv(w, &f, err, n, 4, k, k, cin, cout);
    snprintf(n, sizeof n, "%s/conv/bias", prefix);
    if (!rc) rc = tfjs_getv(w, &b, err, n, 1, cout);
    snprintf(n, sizeof n, "%s/scale/weights", prefix);
    if (!rc) rc = tfjs_getv(w, &sw, err, n, 1, cout);
    snprintf(n, sizeof n, "%s/scale/biases", prefix);
    if (!rc) rc = tfjs_getv(w, &sb, err, n, 1, cout);
    if (!rc && fc_conv_init(c, k, stride, same, cin, cout, f, sw, b, sb)) rc = PSK_ERR_NOMEM;
    /* the products in bf16 where the CPU has it: the descriptors stay within cosine 0.99999 of fp32's */
    if (!rc) rc = fc_conv_bf16(c);
    return rc;
}

static int desc_build(fc_descriptor *d, const tfjs_weights *w, psk_error *err) {
    int rc = conv_layer(w, "conv32_down", 7, 2, false, 3, 32, &d->conv0, err);
    for (int i = 0; i < N_RES && !rc; i++) {
        char p[64];
        bool down = is_down(i);
        snprintf(p, sizeof p, "%s/conv1", res_names[i]);
        rc = conv_layer(w, p, 3, down ? 2 : 1, !down, res_cin[i], res_cout[i], &d->res[i].conv1, err);
        snprintf(p, sizeof p, "%s/conv2", res_names[i]);
        if (!rc) rc = conv_layer(w, p, 3, 1, true, res_cout[i], res_cout[i], &d->res[i].conv2, err);
    }
    const float *fc;
    if (!rc) rc = tfjs_getv(w, &fc, err, "fc", 2, 256, 128);
    if (!rc && psk_pack_weights(fc, 128, 256, 128, true, &d->fc)) rc = PSK_ERR_NOMEM;
    return rc;
}

static int desc_build_cb(void *net, const tfjs_weights *w, psk_error *err) { return desc_build(net, w, err); }

int fc_descriptor_load(fc_descriptor *d, const char *dir, psk_error *err) {
    memset(d, 0, sizeof *d);
    int rc = tfjs_build(dir, "face_recognition_model", desc_build_cb, d, err);
    if (rc) fc_descriptor_free(d);
    return rc;
}

/* A residual block; consumes x. */
static int residual(const fc_resblock *r, psk_pool *pool, bool down, fc_tensor *x) {
    fc_tensor a = {0}, b = {0}, pooled = {0}, out = {0};
    int rc = fc_conv_forward(pool, &r->conv1, x, FC_RELU, &a);
    if (!rc) rc = fc_conv_forward(pool, &r->conv2, &a, FC_NONE, &b);
    fc_tensor_free(&a);
    if (!rc && !down) {
        size_t n = fc_tensor_floats(&b);
        for (size_t i = 0; i < n; i++) {
            float v = b.d[i] + x->d[i];
            b.d[i] = v > 0.0f ? v : 0.0f;
        }
        fc_tensor_free(x);
        *x = b;
        return PSK_OK;
    }
    if (!rc) rc = fc_pool(x, 2, 2, false, &pooled);
    if (!rc) rc = fc_tensor_new_n(&out, pooled.n, pooled.h, pooled.w, b.c);
    if (!rc) {
        /* out = pooled (zero-padded channels) + b (zero-padded by a row and column when smaller), then ReLU */
        for (int f = 0; f < out.n; f++) {
            const float *pd = pooled.d + (size_t)f * pooled.h * pooled.w * pooled.c;
            const float *bd = b.d + (size_t)f * b.h * b.w * b.c;
            float *od = out.d + (size_t)f * out.h * out.w * out.c;
            for (int y = 0; y < out.h; y++)
                for (int xx = 0; xx < out.w; xx++)
                    for (int c = 0; c < out.c; c++) {
                        float p = c < pooled.c ? pd[((size_t)y * pooled.w + xx) * pooled.c + c] : 0.0f;
                        float q = (y < b.h && xx < b.w) ? bd[((size_t)y * b.w + xx) * b.c + c] : 0.0f;
                        float v = p + q;
                        od[((size_t)y * out.w + xx) * out.c + c] = v > 0.0f ? v : 0.0f;
                    }
        }
        fc_tensor_free(x);
        *x = out;
        out.d = NULL;
    }
    fc_tensor_free(&b);
    fc_tensor_free(&pooled);
    fc_tensor_free(&out);
    return rc;
}

int fc_descriptor_run_n(const fc_descriptor *d, psk_pool *pool, const uint8_t *rgb, int img_w, int n,
                        const int (*chip)[4], float (*out)[128], psk_error *err) {
    fc_tensor x = {0}, t = {0};
    int rc = n >= 1 && n <= FC_BATCH_MAX ? fc_tensor_new_n(&x, n, 150, 150, 3) : PSK_ERR_INVALID_ARG;
    for (int i = 0; i < n && !rc; i++)
        rc = fc_input_into(rgb, img_w, chip[i][0], chip[i][1], chip[i][2], chip[i][3], true, 150, face_mean, 255.0f,
                           0.0f, x.d + (size_t)i * 150 * 150 * 3);
    if (!rc) rc = fc_conv_forward(pool, &d->conv0, &x, FC_RELU, &t);
    fc_tensor_free(&x);
    if (!rc) rc = fc_pool(&t, 3, 2, true, &x);
    fc_tensor_free(&t);
    for (int i = 0; i < N_RES && !rc; i++) rc = residual(&d->res[i], pool, is_down(i), &x);
    if (!rc) {
        float mean[FC_BATCH_MAX][256];
        size_t hw = (size_t)x.h * x.w;
        for (int f = 0; f < n; f++) {
            const float *xf = x.d + (size_t)f * hw * 256;
            for (int c = 0; c < 256; c++) {
                float s = 0.0f;
                for (size_t i = 0; i < hw; i++) s += xf[i * 256 + c];
                mean[f][c] = s / (float)hw;
            }
        }
        fc_gemm(pool, n, mean[0], 256, &d->fc, NULL, out[0], 128, FC_NONE);
    }
    fc_tensor_free(&x);
    if (rc == PSK_ERR_INVALID_ARG) return psk_fail(err, rc, "descriptor net: a batch of %d faces", n);
    if (rc) return psk_fail(err, rc, "descriptor net: out of memory");
    return PSK_OK;
}

int fc_descriptor_run(const fc_descriptor *d, psk_pool *pool, const uint8_t *rgb, int img_w, int x0, int y0, int w,
                      int h, float out[128], psk_error *err) {
    const int chip[1][4] = {{x0, y0, w, h}};
    return fc_descriptor_run_n(d, pool, rgb, img_w, 1, chip, (float (*)[128])out, err);
}
