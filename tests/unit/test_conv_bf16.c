/* The BF16 products of the face engine (conv.h, faces/gemm.c): the rounding to bf16, the AVX-512 BF16 conversion
 * and tile against their plain C references, and the product and a convolution in bf16 within bf16's error bound of
 * the fp32 ones. The tests of the AVX-512 BF16 versions SKIP where the CPU lacks the extension. */
#include "test.h"

#include "../../src/faces/faces.h"

#include <stdint.h>

static float uniform(uint32_t *s) { /* in [-1, 1) */
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 9) & 0xffff) / 32768.0f - 1.0f;
}

#define NO_BF16 "this CPU has no AVX-512 BF16 (or the kernels are not at the AVX-512 level)"

TEST(bf16_rounds_to_nearest_even) {
    CHECK(psk_bf16(1.0f) == 0x3f80);
    CHECK(psk_bf16(-2.0f) == 0xc000);
    CHECK(psk_bf16(1.0f + 1.0f / 256) == 0x3f80);     /* a tie: to the even 0x3f80 */
    CHECK(psk_bf16(1.0f + 3.0f / 256) == 0x3f82);     /* a tie: to the even 0x3f82, up */
    CHECK(psk_bf16(1.0f + 1.0f / 256 + 1e-6f) == 0x3f81); /* past the tie: up */
    CHECK(psk_bf16(INFINITY) == 0x7f80);
    float nan = psk_bf16_f32(psk_bf16(NAN));
    CHECK(nan != nan); /* a NaN whose payload is in the low half stays a NaN, not infinity */
    CHECK(psk_bf16_f32(0x3f80) == 1.0f && psk_bf16_f32(0x4049) == 3.140625f);
}

TEST(to_bf16_avx512_matches_reference) {
    psk_to_bf16_fn v = psk_to_bf16_avx512();
    if (!v || !fc_bf16_available()) SKIP(NO_BF16);
    /* rows, columns (odd, under and over a vector of 32), row stride of A, words per row of the output */
    static const int shapes[][4] = {{3, 27, 27, 14}, {14, 64, 70, 32}, {5, 1, 3, 1}, {2, 95, 100, 50}, {1, 32, 32, 17}};
    uint32_t s = 9;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int mc = shapes[t][0], kc = shapes[t][1], lda = shapes[t][2], ldd = shapes[t][3];
        float *a = malloc(sizeof(float) * mc * lda);
        uint32_t *d1 = malloc(sizeof(uint32_t) * mc * ldd), *d2 = malloc(sizeof(uint32_t) * mc * ldd);
        for (int i = 0; i < mc * lda; i++) a[i] = 3 * uniform(&s);
        for (int i = 0; i < mc * ldd; i++) d1[i] = d2[i] = 0xdeadbeef;
        psk_to_bf16_ref(a, lda, mc, kc, d1, ldd);
        v(a, lda, mc, kc, d2, ldd);
        int bad = 0;
        for (int i = 0; i < mc * ldd; i++) bad += d1[i] != d2[i];
        CHECKF(bad == 0, "shape %zu: %d words differ (the words past (kc + 1) / 2 untouched too)", t, bad);
        CHECK(d1[0] == ((uint32_t)psk_bf16(a[0]) | (kc > 1 ? (uint32_t)psk_bf16(a[1]) << 16 : 0)));
        if (kc % 2) CHECK(d1[kc / 2] >> 16 == 0); /* an odd k's last pair padded by 0 */
        CHECK(ldd == (kc + 1) / 2 || d1[(kc + 1) / 2] == 0xdeadbeef);
        free(a), free(d1), free(d2);
    }
}

TEST(tile_bf16_avx512_matches_reference) {
    psk_tile_bf16_fn v = psk_tile_bf16_avx512();
    if (!v || !fc_bf16_available()) SKIP(NO_BF16);
    /* mr, nr, k, mode (0: store, 1: accumulate, 2: store with bias and ReLU6) */
    static const int shapes[][4] = {{14, 32, 40, 0}, {5, 17, 3, 1}, {14, 32, 301, 2}, {1, 9, 1, 1}, {13, 20, 64, 2}};
    uint32_t s = 4;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int mr = shapes[t][0], nr = shapes[t][1], k = shapes[t][2], mode = shapes[t][3], kp = (k + 1) / 2;
        int lda = kp + 2, ldc = 40;
        float *a = malloc(sizeof(float) * mr * k), *w = malloc(sizeof(float) * k * nr), bias[32];
        uint32_t *ab = malloc(sizeof(uint32_t) * mr * lda);
        float c1[14 * 40], c2[14 * 40];
        for (int i = 0; i < mr * k; i++) a[i] = uniform(&s);
        for (int i = 0; i < k * nr; i++) w[i] = uniform(&s);
        for (int i = 0; i < 32; i++) bias[i] = uniform(&s);
        for (int i = 0; i < 14 * 40; i++) c1[i] = c2[i] = uniform(&s);
        psk_to_bf16_ref(a, k, mr, k, ab, lda);
        psk_packed_bf16 p;
        CHECK(psk_pack_bf16(w, k, nr, &p) == PSK_OK);
        psk_tile_epilogue ep = {bias, 0.0f, 6.0f};
        psk_tile_bf16_ref(kp, ab, lda, p.data, c1, ldc, mr, nr, mode == 1, mode == 2 ? &ep : NULL);
        v(kp, ab, lda, p.data, c2, ldc, mr, nr, mode == 1, mode == 2 ? &ep : NULL);
        double worst = 0, worst_exact = 0;
        for (int i = 0; i < 14 * 40; i++) worst = fmax(worst, fabs(c1[i] - c2[i]));
        /* and the reference within bf16's rounding of the fp32 product: 2^-8 of the sum of |products| */
        for (int i = 0; i < mr && mode == 0; i++)
            for (int j = 0; j < nr; j++) {
                double exact = 0, mag = 0;
                for (int kk = 0; kk < k; kk++) {
                    exact += (double)a[i * k + kk] * w[kk * nr + j];
                    mag += fabs((double)a[i * k + kk] * w[kk * nr + j]);
                }
                worst_exact = fmax(worst_exact, fabs(c1[i * ldc + j] - exact) / (mag / 256 + 1e-6));
            }
        CHECKF(worst < 1e-4, "shape %zu: max difference %g (the columns past nr and rows past mr untouched too)", t,
               worst);
        CHECKF(worst_exact <= 1.0, "shape %zu: %.2f of bf16's error bound from the exact product", t, worst_exact);
        psk_packed_bf16_free(&p);
        free(a), free(w), free(ab);
    }
}

/* The worst error of c against A W^T + bias (clamped to [lo, hi]), as a fraction of bf16's bound: 2^-8 of the sum
 * of |products|. */
static double bf16_error(int m, int n, int k, const float *a, const float *w, const float *bias, const float *c,
                         float lo, float hi) {
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double exact = bias[j], mag = fabs(bias[j]);
            for (int kk = 0; kk < k; kk++) {
                exact += (double)a[(size_t)i * k + kk] * w[(size_t)kk * n + j];
                mag += fabs((double)a[(size_t)i * k + kk] * w[(size_t)kk * n + j]);
            }
            exact = fmin(fmax(exact, lo), hi);
            worst = fmax(worst, fabs(c[(size_t)i * n + j] - exact) / (mag / 256 + 1e-5));
        }
    return worst;
}

TEST(gemm_bf16_within_bf16_rounding_of_fp32) {
    if (!fc_bf16_available()) SKIP(NO_BF16);
    /* m, n, k: the detector's first conv (k 27), a row tail, a K longer than a block (1153), n tails */
    static const int shapes[][3] = {{300, 32, 27}, {15, 37, 1153}, {113, 64, 64}, {1, 128, 256}};
    uint32_t s = 21;
    psk_pool *pool = NULL;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int m = shapes[t][0], n = shapes[t][1], k = shapes[t][2];
        float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * k * n), *bias = malloc(sizeof(float) * n);
        float *c = malloc(sizeof(float) * m * n);
        for (int i = 0; i < m * k; i++) a[i] = uniform(&s);
        for (int i = 0; i < k * n; i++) w[i] = uniform(&s);
        for (int i = 0; i < n; i++) bias[i] = uniform(&s);
        psk_packed_bf16 p;
        CHECK(psk_pack_bf16(w, k, n, &p) == PSK_OK);
        fc_act act = t % 2 ? FC_RELU6 : FC_NONE;
        float lo, hi;
        fc_act_range(act, &lo, &hi);
        fc_gemm_bf16(t == 3 ? NULL : pool, m, a, k, &p, bias, c, n, act);
        double e = bf16_error(m, n, k, a, w, bias, c, lo, hi);
        CHECKF(e <= 1.0, "shape %zu: %.2f of bf16's error bound", t, e);
        psk_packed_bf16_free(&p);
        free(a), free(w), free(bias), free(c);
    }
    psk_pool_free(pool);
}

/* fc_conv_bf16 unpacks the fp32 layer's packed weights: a 3x3 convolution through im2col in bf16 stays within bf16's
 * rounding of the fp32 one, and is not the fp32 one (the switch took). */
TEST(conv_bf16_matches_fp32_conv_within_rounding) {
    if (!fc_bf16_available()) SKIP(NO_BF16);
    int cin = 5, cout = 40, hw = 9;
    uint32_t s = 33;
    float *f = malloc(sizeof(float) * 9 * cin * cout), bias[40];
    for (int i = 0; i < 9 * cin * cout; i++) f[i] = uniform(&s);
    for (int i = 0; i < cout; i++) bias[i] = uniform(&s);
    fc_conv c;
    CHECK(fc_conv_init(&c, 3, 1, true, cin, cout, f, NULL, bias, NULL) == PSK_OK);
    fc_tensor x, y32, y16;
    CHECK(fc_tensor_new(&x, hw, hw, cin) == PSK_OK);
    for (size_t i = 0; i < fc_tensor_floats(&x); i++) x.d[i] = uniform(&s);
    CHECK(fc_conv_forward(NULL, &c, &x, FC_NONE, &y32) == PSK_OK);
    CHECK(fc_conv_bf16(&c) == PSK_OK && c.wb.data != NULL);
    CHECK(fc_conv_forward(NULL, &c, &x, FC_NONE, &y16) == PSK_OK);
    double worst = 0;
    int differ = 0;
    for (size_t i = 0; i < fc_tensor_floats(&y32); i++) {
        worst = fmax(worst, fabs(y32.d[i] - y16.d[i]));
        differ += y32.d[i] != y16.d[i];
    }
    /* 45 products of |x| <= 1 and |w| <= 1: bf16's bound is 45/256 at most; random signs keep it far below */
    CHECKF(worst < 0.05, "max difference %g", worst);
    CHECK(differ > 0);
    fc_tensor_free(&x), fc_tensor_free(&y32), fc_tensor_free(&y16);
    fc_conv_free(&c);
    free(f);
}
