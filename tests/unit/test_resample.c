/* The resampling passes of Pillow's 8-bit resize (src/kernels/resample.h): the AVX2 and AVX-512 versions bit for bit
 * against the plain C reference, on random rows and weights (negative lobes, sums that clip at 0 and 255, tap counts
 * that are not multiples of a vector, pixels at the row's end), and a window of a resize against the same pixels of
 * the whole resize. The SIMD tests SKIP where the CPU lacks the level. */
#include "test.h"

#include "../../src/image/image.h"
#include "../../src/kernels/resample.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rnd(uint32_t *s) {
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

/* Random taps over rows of sw pixels: n_out outputs, counts 1..max_count, the last outputs ending at the row's end,
 * weights whose absolute sum is about 1.25 * 2^22 (Pillow's bound), about a fifth of them negative. */
static void random_taps(uint32_t *s, int sw, int n_out, int max_count, psk_resample_taps *t, int **first_out,
                        int32_t **w3_out) {
    int np = (max_count + 15) / 16 * 16;
    int *first = calloc(2 * (size_t)n_out, sizeof(int));
    int32_t *w3 = calloc((size_t)n_out * np * 3, sizeof(int32_t));
    for (int j = 0; j < n_out; j++) {
        int count = 1 + (int)(rnd(s) % (unsigned)max_count);
        if (count > sw) count = sw;
        int f = j >= n_out - 3 ? sw - count : (int)(rnd(s) % (unsigned)(sw - count + 1));
        first[j] = f, first[n_out + j] = count;
        double raw[256], total = 0;
        for (int x = 0; x < count; x++) {
            raw[x] = (double)(rnd(s) % 1000) * (rnd(s) % 5 == 0 ? -1 : 1);
            total += raw[x] < 0 ? -raw[x] : raw[x];
        }
        for (int x = 0; x < count; x++) {
            int32_t w = total > 0 ? (int32_t)(raw[x] / total * 1.25 * (1 << PSK_RESAMPLE_BITS)) : 0;
            w3[((size_t)j * np + x) * 3] = w3[((size_t)j * np + x) * 3 + 1] = w3[((size_t)j * np + x) * 3 + 2] = w;
        }
    }
    *t = (psk_resample_taps){n_out, np, first, first + n_out, w3};
    *first_out = first, *w3_out = w3;
}

static bool check_rows(psk_resample_rows_fn fn) {
    uint32_t s = 12345;
    static const int widths[] = {1, 7, 40, 333, 1501};
    static const int counts[] = {1, 5, 8, 13, 16, 17, 27, 53, 101};
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++)
        for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++) {
            int sw = widths[wi], rows = 3, n_out = 29;
            uint8_t *src = malloc((size_t)sw * 3 * rows), *want = malloc((size_t)n_out * 3 * rows),
                    *got = malloc((size_t)n_out * 3 * rows);
            for (size_t i = 0; i < (size_t)sw * 3 * rows; i++) src[i] = (uint8_t)rnd(&s);
            psk_resample_taps t;
            int *first;
            int32_t *w3;
            random_taps(&s, sw, n_out, counts[ci], &t, &first, &w3);
            psk_resample_rows_ref(src, (size_t)sw * 3, rows, sw, &t, want, (size_t)n_out * 3);
            memset(got, 0xAB, (size_t)n_out * 3 * rows);
            fn(src, (size_t)sw * 3, rows, sw, &t, got, (size_t)n_out * 3);
            int bad = -1, clipped = 0;
            for (int i = 0; i < n_out * 3 * rows; i++) {
                if (got[i] != want[i] && bad < 0) bad = i;
                clipped += want[i] == 0 || want[i] == 255;
            }
            bool ok = bad < 0 && (sw < 300 || counts[ci] <= 16 || clipped > 0);
            if (bad >= 0)
                test_fail(__FILE__, __LINE__, "width %d, counts up to %d: byte %d is %d, the reference's %d", sw,
                          counts[ci], bad, got[bad], want[bad]);
            else if (!ok)
                test_fail(__FILE__, __LINE__, "width %d: no clipped value, the test misses the clip", sw);
            free(src), free(want), free(got), free(first), free(w3);
            if (!ok) return false;
        }
    return true;
}

static bool check_col(psk_resample_col_fn fn) {
    uint32_t s = 777;
    for (int n = 1; n < 100; n += 7)
        for (int count = 1; count <= 60; count += 11) {
            size_t stride = (size_t)n + 5;
            uint8_t *src = malloc(stride * count), want[128], got[128];
            for (size_t i = 0; i < stride * count; i++) src[i] = (uint8_t)rnd(&s);
            int32_t w[64];
            double total = 0, raw[64];
            for (int t = 0; t < count; t++) {
                raw[t] = (double)(rnd(&s) % 1000) * (rnd(&s) % 4 == 0 ? -1 : 1);
                total += raw[t] < 0 ? -raw[t] : raw[t];
            }
            for (int t = 0; t < count; t++) w[t] = (int32_t)(raw[t] / total * 1.25 * (1 << PSK_RESAMPLE_BITS));
            psk_resample_col_ref(src, stride, n, w, count, want);
            memset(got, 0xAB, sizeof got);
            fn(src, stride, n, w, count, got);
            free(src);
            if (memcmp(got, want, (size_t)n) != 0 || got[n] != 0xAB) {
                test_fail(__FILE__, __LINE__, "n %d, count %d: differs from the reference or wrote past the row", n,
                          count);
                return false;
            }
        }
    return true;
}

TEST(resample_avx2_matches_reference) {
    psk_resample_rows_fn rows = psk_resample_rows_avx2();
    psk_resample_col_fn col = psk_resample_col_avx2();
    if (!rows || !col) SKIP("this CPU has no AVX2");
    CHECK(check_rows(rows));
    CHECK(check_col(col));
}

TEST(resample_avx512_matches_reference) {
    psk_resample_rows_fn rows = psk_resample_rows_avx512();
    psk_resample_col_fn col = psk_resample_col_avx512();
    if (!rows || !col) SKIP("this CPU has no AVX-512 (F, BW, VL, DQ, VNNI)");
    CHECK(check_rows(rows));
    CHECK(check_col(col));
}

/* A window (CLIP's centre crop) gives the whole resize's pixels, shrinking, enlarging, one axis only, 12 MP. */
TEST(resize_window_is_the_whole_resize_cropped) {
    static const int cases[][4] = {{1000, 700, 321, 224}, {640, 480, 298, 224}, {50, 40, 280, 224},
                                   {300, 224, 224, 224},  {224, 900, 224, 900}, {4243, 2829, 336, 224},
                                   {37, 1000, 224, 6054}};
    uint32_t s = 99;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        int sw = cases[c][0], sh = cases[c][1], dw = cases[c][2], dh = cases[c][3];
        uint8_t *src = malloc((size_t)sw * sh * 3), *whole = malloc((size_t)dw * dh * 3);
        for (size_t i = 0; i < (size_t)sw * sh * 3; i++) src[i] = (uint8_t)(rnd(&s) % 7 + (i / 3 % (size_t)sw) % 200);
        CHECK(img_resize_bicubic(src, sw, sh, whole, dw, dh) == PSK_OK);
        int cw = dw < 224 ? dw : 224, ch = dh < 224 ? dh : 224, x0 = (dw - cw) / 2, y0 = (dh - ch) / 2;
        uint8_t *win = malloc((size_t)cw * ch * 3);
        CHECK(img_resize_bicubic_window(src, sw, sh, dw, dh, x0, y0, cw, ch, win) == PSK_OK);
        int bad = -1;
        for (int y = 0; y < ch && bad < 0; y++)
            if (memcmp(win + (size_t)y * cw * 3, whole + ((size_t)(y + y0) * dw + x0) * 3, (size_t)cw * 3)) bad = y;
        CHECKF(bad < 0, "%dx%d -> %dx%d: window row %d differs", sw, sh, dw, dh, bad);
        free(src), free(whole), free(win);
    }
    uint8_t px[3] = {1, 2, 3}, out[3];
    CHECK(img_resize_bicubic_window(px, 1, 1, 4, 4, 3, 3, 2, 1, out) == PSK_ERR_INVALID_ARG);
}
