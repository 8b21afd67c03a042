/* The detector's padding band (fc_tensor_find_band): rows of a map that are copies of one row are computed once per
 * layer and copied. Each layer kind (the 3x3 conv through im2col, the 1x1 product, the depthwise conv alone and
 * fused with its 1x1) gives the same bits with the band as without it, on maps whose last rows are padding. */
#include "test.h"

#include "../../src/faces/faces.h"

#include <stdint.h>
#include <string.h>

static float value(uint32_t *s) {
    *s = *s * 22695477u + 1u;
    return (float)((*s >> 10) & 0x3fff) / 8192.0f - 1.0f;
}

/* A map of h x w x c whose rows from `pad` on are all the same (a padding value per channel). */
static void padded_map(fc_tensor *t, int h, int w, int c, int pad, uint32_t *s) {
    CHECK(fc_tensor_new(t, h, w, c) == PSK_OK);
    for (int y = 0; y < h; y++)
        for (int i = 0; i < w * c; i++) t->d[(size_t)y * w * c + i] = y < pad ? value(s) : -1.0f + 0.01f * (i % c);
}

static int differing(const fc_tensor *a, const fc_tensor *b) {
    int n = 0;
    for (size_t i = 0; i < fc_tensor_floats(a); i++) n += memcmp(&a->d[i], &b->d[i], sizeof(float)) != 0;
    return n;
}

TEST(tensor_band_found_below_the_rows_that_differ) {
    uint32_t s = 1;
    fc_tensor t;
    padded_map(&t, 20, 6, 3, 13, &s);
    fc_tensor_find_band(&t);
    CHECK(t.same0 == 13 && t.same1 == 20);
    fc_tensor_free(&t);
    padded_map(&t, 20, 6, 3, 18, &s); /* 2 rows: not worth a band */
    fc_tensor_find_band(&t);
    CHECK(t.same1 == 0);
    fc_tensor_free(&t);
}

TEST(layers_on_a_padding_band_give_the_same_bits) {
    uint32_t s = 7;
    int cin = 24, cout = 40;
    float *f3 = malloc(sizeof(float) * 9 * cin * cout), *f1 = malloc(sizeof(float) * cin * cout);
    float *dwf = malloc(sizeof(float) * 9 * cin), bias[40];
    for (int i = 0; i < 9 * cin * cout; i++) f3[i] = value(&s);
    for (int i = 0; i < cin * cout; i++) f1[i] = value(&s);
    for (int i = 0; i < 9 * cin; i++) dwf[i] = value(&s);
    for (int i = 0; i < 40; i++) bias[i] = value(&s);
    fc_conv c3s2, c3s1, c1;
    fc_dwconv dw1, dw2;
    CHECK(fc_conv_init(&c3s2, 3, 2, true, cin, cout, f3, NULL, bias, NULL) == PSK_OK);
    CHECK(fc_conv_init(&c3s1, 3, 1, true, cin, cout, f3, NULL, bias, NULL) == PSK_OK);
    CHECK(fc_conv_init(&c1, 1, 1, true, cin, cout, f1, NULL, bias, NULL) == PSK_OK);
    CHECK(fc_dwconv_init(&dw1, cin, 1, dwf, NULL, bias, NULL) == PSK_OK);
    CHECK(fc_dwconv_init(&dw2, cin, 2, dwf, NULL, bias, NULL) == PSK_OK);
    /* 90 x 72 maps: the fused depthwise + 1x1 takes its row-block path (4096 pixels and more) */
    static const int shapes[][3] = {{90, 72, 51}, {31, 9, 12}, {96, 70, 80}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        fc_tensor x;
        padded_map(&x, shapes[t][0], shapes[t][1], cin, shapes[t][2], &s);
        for (int layer = 0; layer < 6; layer++) {
            fc_tensor plain, banded;
            x.same0 = x.same1 = 0;
            int rc1, rc2;
#define RUN(out)                                                                                                       \
    (layer == 0   ? fc_conv_forward(NULL, &c3s2, &x, FC_RELU6, out)                                                   \
     : layer == 1 ? fc_conv_forward(NULL, &c3s1, &x, FC_NONE, out)                                                    \
     : layer == 2 ? fc_conv_forward(NULL, &c1, &x, FC_RELU, out)                                                      \
     : layer == 3 ? fc_dwconv_forward(NULL, &dw2, &x, FC_RELU6, out)                                                  \
     : layer == 4 ? fc_dwpw_forward(NULL, &dw1, FC_RELU6, &c1, FC_RELU6, &x, out)                                     \
                  : fc_dwpw_forward(NULL, &dw2, FC_RELU6, &c1, FC_NONE, &x, out))
            rc1 = RUN(&plain);
            fc_tensor_find_band(&x);
            CHECK(x.same0 == shapes[t][2]);
            rc2 = RUN(&banded);
#undef RUN
            CHECK(rc1 == PSK_OK && rc2 == PSK_OK);
            CHECKF(differing(&plain, &banded) == 0, "shape %zu, layer %d: %d values differ", t, layer,
                   differing(&plain, &banded));
            CHECKF(plain.same1 == 0 && banded.same1 - banded.same0 >= 3, "shape %zu, layer %d: band [%d, %d)", t,
                   layer, banded.same0, banded.same1);
            fc_tensor_free(&plain);
            fc_tensor_free(&banded);
        }
        fc_tensor_free(&x);
    }
    fc_conv_free(&c3s2), fc_conv_free(&c3s1), fc_conv_free(&c1);
    fc_dwconv_free(&dw1), fc_dwconv_free(&dw2);
    free(f3), free(f1), free(dwf);
}
