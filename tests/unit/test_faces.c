/* The face engine's pieces that need no weights: the TensorFlow.js manifest loader against hand-broken manifests
 * and shards (one defect each), its decoding of quantised and split tensors, allocation failures while loading, the
 * depthwise 3x3 kernel's AVX2 version against its reference, and the network input's padding and resize. The
 * networks themselves are checked against face-api in tests/e2e/test_faces.sh. */
#include "test.h"

#include "../../src/faces/faces.h"

#include <stdint.h>

typedef struct bad_manifest {
    const char *what, *json;
    int code;
    const char *message;
} bad_manifest;

#define W1 "{\"name\":\"a\",\"shape\":[2],\"dtype\":\"float32\"}"
static const bad_manifest bad_manifests[] = {
    {"not JSON", "[{\"paths\":", PSK_ERR_FORMAT, "not a TensorFlow.js weights manifest"},
    {"an object, not an array", "{\"paths\":[\"a.bin\"],\"weights\":[]}", PSK_ERR_FORMAT, "JSON array of groups"},
    {"empty array", "[]", PSK_ERR_FORMAT, "JSON array of groups"},
    {"group without paths", "[{\"weights\":[" W1 "]}]", PSK_ERR_FORMAT, "group 0 needs \"paths\""},
    {"path leaving the folder", "[{\"paths\":[\"../x.bin\"],\"weights\":[" W1 "]}]", PSK_ERR_FORMAT, "plain file names"},
    {"path into a subfolder", "[{\"paths\":[\"d/x.bin\"],\"weights\":[" W1 "]}]", PSK_ERR_FORMAT, "plain file names"},
    {"weight without a name", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"shape\":[1],\"dtype\":\"float32\"}]}]", PSK_ERR_FORMAT, "has no name"},
    {"unknown dtype", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[1],\"dtype\":\"complex64\"}]}]", PSK_ERR_UNSUPPORTED, "tensor 't': dtype 'complex64'"},
    {"unknown quantisation", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[1],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"int4\",\"scale\":1,\"min\":0}}]}]", PSK_ERR_UNSUPPORTED, "quantization 'int4'"},
    {"quantisation without scale", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[1],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"min\":0}}]}]", PSK_ERR_FORMAT, "finite scale and min"},
    {"negative dimension", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[-3],\"dtype\":\"float32\"}]}]", PSK_ERR_FORMAT, "tensor 't': invalid shape"},
    {"fractional dimension", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[2.5],\"dtype\":\"float32\"}]}]", PSK_ERR_FORMAT, "invalid shape"},
    {"overflowing shape", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[1000000000000,1000000000000,1000000],\"dtype\":\"float32\"}]}]", PSK_ERR_FORMAT, "invalid shape"},
    {"too many dimensions", "[{\"paths\":[\"x.bin\"],\"weights\":[{\"name\":\"t\",\"shape\":[1,1,1,1,1,1,1],\"dtype\":\"float32\"}]}]", PSK_ERR_FORMAT, "7 dimensions"},
    {"a name twice", "[{\"paths\":[\"x.bin\"],\"weights\":[" W1 "," W1 "]}]", PSK_ERR_FORMAT, "tensor 'a' listed twice"},
};

TEST(tfjs_broken_manifests_give_clear_errors) {
    for (size_t i = 0; i < sizeof bad_manifests / sizeof bad_manifests[0]; i++) {
        const bad_manifest *c = &bad_manifests[i];
        tfjs_manifest *m = NULL;
        psk_error err = {0};
        int rc = tfjs_manifest_parse(c->json, strlen(c->json), "broken-weights_manifest.json", &m, &err);
        CHECKF(rc == c->code, "%s: got %d, want %d (%s)", c->what, rc, c->code, err.message);
        CHECKF(m == NULL, "%s: manifest handed back on error", c->what);
        CHECKF(strstr(err.message, "broken-weights_manifest.json") && strstr(err.message, c->message),
               "%s: message '%s' lacks '%s'", c->what, err.message, c->message);
    }
}

static void write_bytes(const char *dir, const char *name, const void *data, size_t n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
}

/* A model "m" in dir: float32 "f" [2,2] and uint8 "q" [3] in group 0 split over two shards, int32 (uint16
 * quantised) "i" [2] in group 1. */
static void write_model(const char *dir, size_t cut_second_shard) {
    const char *json =
        "[{\"paths\":[\"m.1.bin\",\"m.2.bin\"],\"weights\":["
        "{\"name\":\"f\",\"shape\":[2,2],\"dtype\":\"float32\"},"
        "{\"name\":\"q\",\"shape\":[3],\"dtype\":\"float32\",\"quantization\":{\"dtype\":\"uint8\",\"scale\":0.5,\"min\":-1}}]},"
        "{\"paths\":[\"m.3.bin\"],\"weights\":[{\"name\":\"i\",\"shape\":[2],\"dtype\":\"int32\","
        "\"quantization\":{\"dtype\":\"uint16\",\"scale\":0.3,\"min\":1}}]}]";
    write_bytes(dir, "m-weights_manifest.json", json, strlen(json));
    uint8_t g0[19];
    const float f[4] = {1.5f, -2.0f, 0.25f, 3.0f};
    memcpy(g0, f, 16);
    g0[16] = 0, g0[17] = 2, g0[18] = 255;
    write_bytes(dir, "m.1.bin", g0, 10); /* the first shard ends inside "f" */
    write_bytes(dir, "m.2.bin", g0 + 10, 9 - cut_second_shard);
    const uint8_t g1[4] = {5, 0, 0x10, 0x27}; /* 5 and 10000 */
    write_bytes(dir, "m.3.bin", g1, 4);
}

TEST(tfjs_loads_split_and_quantised_tensors) {
    const char *dir = test_tmpdir();
    write_model(dir, 0);
    tfjs_weights *w = NULL;
    CHECK_OK(tfjs_load(dir, "m", &w, err_));
    const float *f, *q, *i;
    psk_error err = {0};
    CHECK(tfjs_getv(w, &f, &err, "f", 2, 2, 2) == PSK_OK);
    CHECK(f[0] == 1.5f && f[1] == -2.0f && f[2] == 0.25f && f[3] == 3.0f);
    CHECK(tfjs_getv(w, &q, &err, "q", 1, 3) == PSK_OK);
    CHECK(q[0] == -1.0f && q[1] == 0.0f && q[2] == 126.5f);
    CHECK(tfjs_getv(w, &i, &err, "i", 1, 2) == PSK_OK);
    CHECK(i[0] == 3.0f && i[1] == 3001.0f); /* Math.round(5 * 0.3 + 1), Math.round(10000 * 0.3 + 1) */
    CHECK(tfjs_getv(w, &f, &err, "f", 2, 4, 1) == PSK_ERR_FORMAT);
    CHECKF(strstr(err.message, "m-weights_manifest.json: tensor 'f' has shape [2, 2], expected [4, 1]"), "%s",
           err.message);
    CHECK(tfjs_getv(w, &f, &err, "nope", 1, 1) == PSK_ERR_NOT_FOUND);
    CHECKF(strstr(err.message, "missing tensor 'nope'"), "%s", err.message);
    tfjs_weights_free(w);
}

TEST(tfjs_truncated_shard_names_file_and_tensor) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/trunc", test_tmpdir());
    psk_error err = {0};
    CHECK(psk_mkdir_p(dir, &err) == PSK_OK);
    write_model(dir, 2);
    tfjs_weights *w = NULL;
    int rc = tfjs_load(dir, "m", &w, &err);
    CHECKF(rc == PSK_ERR_FORMAT && !w, "rc %d", rc);
    CHECKF(strstr(err.message, "m.2.bin: truncated: tensor 'q' needs bytes 16..19 but the shards hold 17"), "%s",
           err.message);
    rc = tfjs_load(dir, "absent", &w, &err);
    CHECKF(rc == PSK_ERR_NOT_FOUND && strstr(err.message, "absent-weights_manifest.json"), "%d %s", rc, err.message);
}

TEST(tfjs_load_survives_allocation_failures) {
    const char *dir = test_tmpdir();
    write_model(dir, 0);
    int failures = 0;
    for (long n = 0; n < 200; n++) {
        tfjs_weights *w = NULL;
        psk_error err = {0};
        psk_alloc_fail_after(n);
        int rc = tfjs_load(dir, "m", &w, &err);
        psk_alloc_fail_after(-1);
        if (rc == PSK_OK) {
            tfjs_weights_free(w);
            break;
        }
        CHECKF(rc == PSK_ERR_NOMEM && !w, "allocation %ld: rc %d (%s)", n, rc, err.message);
        failures++;
    }
    CHECK(failures > 5);
}

static float rnd(uint32_t *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* The largest difference between a version of the depthwise 3x3 convolution and the reference, over shapes with
 * channel tails (13, 37), one pixel, both strides, and wide maps of many channels (the detector's). */
static double dwconv_worst(psk_dwconv3x3_fn v) {
    static const int shapes[][4] = {{7, 5, 13, 1}, {8, 8, 8, 2}, {9, 6, 37, 2}, {1, 1, 3, 1},
                                    {16, 3, 64, 2}, {5, 9, 100, 1}, {6, 7, 1024, 1}, {2, 2, 17, 2}};
    uint32_t s = 7;
    double worst = 0;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int h = shapes[t][0], w = shapes[t][1], c = shapes[t][2], st = shapes[t][3];
        int oh = (h + st - 1) / st, ow = (w + st - 1) / st;
        int pt = ((oh - 1) * st + 3 - h) / 2, pl = ((ow - 1) * st + 3 - w) / 2;
        if (pt < 0) pt = 0;
        if (pl < 0) pl = 0;
        float *in = malloc(sizeof(float) * h * w * c), *k = malloc(sizeof(float) * 9 * c);
        float *b = malloc(sizeof(float) * c), *o1 = malloc(sizeof(float) * oh * ow * c);
        float *o2 = malloc(sizeof(float) * oh * ow * c);
        for (int i = 0; i < h * w * c; i++) in[i] = rnd(&s);
        for (int i = 0; i < 9 * c; i++) k[i] = rnd(&s);
        for (int i = 0; i < c; i++) b[i] = rnd(&s);
        /* every other shape clamped to [-0.5, 0.7] (an activation), the others not */
        float lo = t % 2 ? -0.5f : -INFINITY, hi = t % 2 ? 0.7f : INFINITY;
        psk_dwconv3x3_ref(in, h, w, c, st, pt, pl, k, b, lo, hi, o1, ow, 0, oh);
        /* in two row ranges, as the threads split it */
        v(in, h, w, c, st, pt, pl, k, b, lo, hi, o2, ow, 0, oh / 2);
        v(in, h, w, c, st, pt, pl, k, b, lo, hi, o2, ow, oh / 2, oh);
        for (int i = 0; i < oh * ow * c; i++) worst = fmax(worst, fabs(o1[i] - o2[i]));
        free(in), free(k), free(b), free(o1), free(o2);
    }
    return worst;
}

TEST(dwconv3x3_avx2_matches_reference) {
    psk_dwconv3x3_fn v = psk_dwconv3x3_avx2();
    if (!v) SKIP("this CPU has no AVX2+FMA");
    double worst = dwconv_worst(v);
    CHECKF(worst < 1e-5, "max difference %g", worst);
}

TEST(dwconv3x3_avx512_matches_reference) {
    psk_dwconv3x3_fn v = psk_dwconv3x3_avx512();
    if (!v) SKIP("this CPU has no AVX-512 (F, BW, VL, DQ, VNNI)");
    double worst = dwconv_worst(v);
    CHECKF(worst < 1e-5, "max difference %g", worst);
}

TEST(bias_clamp_avx512_matches_reference) {
    psk_bias_clamp_fn v = psk_bias_clamp_avx512();
    if (!v) SKIP("this CPU has no AVX-512 (F, BW, VL, DQ, VNNI)");
    uint32_t s = 11;
    static const int shapes[][3] = {{14, 32, 40}, {3, 17, 17}, {1, 5, 8}, {14, 64, 64}};
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int mr = shapes[t][0], nr = shapes[t][1], ldc = shapes[t][2];
        float c1[14 * 64], c2[14 * 64], bias[64];
        for (int i = 0; i < mr * ldc; i++) c1[i] = c2[i] = 8 * rnd(&s);
        for (int i = 0; i < nr; i++) bias[i] = rnd(&s);
        const float *b = t == 2 ? NULL : bias;
        float lo = t == 3 ? -INFINITY : 0.0f, hi = t == 3 ? INFINITY : 6.0f;
        psk_bias_clamp_ref(c1, ldc, mr, nr, b, lo, hi);
        v(c2, ldc, mr, nr, b, lo, hi);
        int bad = 0;
        for (int i = 0; i < mr * ldc; i++) bad += c1[i] != c2[i];
        CHECKF(bad == 0, "shape %zu: %d values differ", t, bad);
        /* the columns past nr are untouched, the clamp holds */
        if (ldc > nr) CHECK(c1[nr] == c2[nr]);
        for (int i = 0; t != 3 && i < nr; i++) CHECK(c2[i] >= 0.0f && c2[i] <= 6.0f);
    }
}

TEST(pack_a_avx512_matches_reference) {
    psk_pack_a_fn v = psk_pack_a_avx512();
    if (!v) SKIP("this CPU has no AVX-512 (F, BW, VL, DQ, VNNI)");
    static const int shapes[][4] = {{30, 7, 9, 14}, {14, 14, 14, 14}, {5, 3, 300, 14}, {33, 33, 40, 16}, {6, 1, 1, 6}};
    uint32_t s = 5;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int mc = shapes[t][0], kc = shapes[t][1], lda = shapes[t][2], MR = shapes[t][3];
        int panels = (mc + MR - 1) / MR;
        float *a = malloc(sizeof(float) * mc * lda), *d1 = malloc(sizeof(float) * panels * MR * kc);
        float *d2 = malloc(sizeof(float) * panels * MR * kc);
        for (int i = 0; i < mc * lda; i++) a[i] = rnd(&s);
        for (int i = 0; i < panels * MR * kc; i++) d1[i] = d2[i] = 99.0f;
        psk_pack_a_ref(a, lda, mc, kc, MR, d1);
        v(a, lda, mc, kc, MR, d2);
        int bad = 0;
        for (int i = 0; i < panels * MR * kc; i++) bad += d1[i] != d2[i];
        CHECKF(bad == 0, "shape %zu: %d values differ", t, bad);
        CHECK(d1[0] == a[0] && (mc < 2 || d1[1] == a[lda])); /* the layout: row 1 of column 0 second */
        free(a), free(d1), free(d2);
    }
}

TEST(tile_rowa_avx512_matches_reference) {
    psk_tile_rowa_fn v = psk_tile_rowa_avx512();
    if (!v) SKIP("this CPU has no AVX-512 (F, BW, VL, DQ, VNNI)");
    static const int shapes[][4] = {{14, 32, 40, 0}, {5, 17, 3, 1}, {14, 32, 300, 2}, {1, 9, 1, 1}, {13, 20, 64, 2}};
    uint32_t s = 3;
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        int mr = shapes[t][0], nr = shapes[t][1], kc = shapes[t][2], mode = shapes[t][3], lda = kc + 3, ldc = 40;
        float *a = malloc(sizeof(float) * mr * lda), *w = malloc(sizeof(float) * nr * kc), bias[32];
        float c[14 * 40], want[14 * 40];
        for (int i = 0; i < mr * lda; i++) a[i] = rnd(&s);
        for (int i = 0; i < nr * kc; i++) w[i] = rnd(&s);
        for (int i = 0; i < 32; i++) bias[i] = rnd(&s);
        for (int i = 0; i < 14 * 40; i++) c[i] = want[i] = rnd(&s);
        psk_packed p;
        CHECK(psk_pack_weights_nr(w, nr, kc, kc, false, 32, &p) == PSK_OK);
        /* mode 0: store; 1: accumulate into c; 2: store, then bias and a ReLU6 clamp */
        psk_tile_epilogue ep = {bias, 0.0f, 6.0f};
        v(kc, a, lda, p.data, c, ldc, mr, nr, mode == 1, mode == 2 ? &ep : NULL);
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) {
                double acc = mode == 1 ? want[i * ldc + j] : 0;
                for (int k = 0; k < kc; k++) acc += (double)a[i * lda + k] * w[j * kc + k];
                if (mode == 2) acc = fmin(fmax(acc + bias[j], 0.0), 6.0);
                want[i * ldc + j] = (float)acc;
            }
        double worst = 0;
        for (int i = 0; i < 14 * 40; i++) worst = fmax(worst, fabs(c[i] - want[i]));
        CHECKF(worst < 1e-4, "shape %zu: max difference %g (the columns past nr and rows past mr untouched too)", t,
               worst);
        psk_packed_free(&p);
        free(a), free(w);
    }
}

TEST(fma_burn_counts_its_flops) {
    float sink = 0;
    CHECK(psk_fma_burn(1000, 1.0f, &sink) >= 1000.0 * 12 * 2);
    CHECK(sink > 60.0f); /* 0 + 1 + ... + 11, per lane, grown a little */
}

TEST(face_input_pads_and_resizes_like_tfjs) {
    /* a 2 x 3 crop (w x h) of a 4 x 4 image, centred in a 3 x 3 square: round(1 * 0.5) = 1 column after, 0 before */
    uint8_t rgb[4 * 4 * 3];
    for (int i = 0; i < 48; i++) rgb[i] = (uint8_t)(i * 5);
    static const float zero[3] = {0, 0, 0};
    fc_tensor t;
    CHECK(fc_input(rgb, 4, 1, 1, 2, 3, true, 3, zero, 1.0f, 0.0f, &t) == PSK_OK);
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++) {
            float want = x < 2 ? rgb[((1 + y) * 4 + 1 + x) * 3] : 0.0f;
            CHECKF(t.d[(y * 3 + x) * 3] == want, "(%d, %d): %g, want %g", x, y, t.d[(y * 3 + x) * 3], want);
        }
    fc_tensor_free(&t);
    /* resized 4 -> 2 without half-pixel centres: the source pixels 0 and 2 exactly, then scaled */
    static const float sub[3] = {10, 10, 10};
    CHECK(fc_input(rgb, 4, 0, 0, 4, 4, false, 2, sub, 2.0f, -1.0f, &t) == PSK_OK);
    CHECK(t.d[0] == (rgb[0] - 10) / 2.0f - 1.0f);
    CHECK(t.d[(1 * 2 + 1) * 3 + 2] == (rgb[(2 * 4 + 2) * 3 + 2] - 10) / 2.0f - 1.0f);
    fc_tensor_free(&t);
}

static double iou4(const float *a, const float *b) {
    double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
    double x1 = fmin(a[0] + a[2], b[0] + b[2]), y1 = fmin(a[1] + a[3], b[1] + b[3]);
    double i = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    return i / ((double)a[2] * a[3] + (double)b[2] * b[3] - i);
}

/* The indexer's face pass on a half-size decode finds the faces of the full decode, in the full photo's pixels, as
 * the same people. Needs face-api's package (tests/faces/fetch_cached.sh, as test_faces.sh fetches it). */
TEST(faces_on_a_scaled_decode_come_back_in_full_pixels) {
    const char *dir = "tests/faces/cache/model", *photo = "tests/faces/cache/demo/sample1.jpg";
    if (!psk_file_exists(photo) || !psk_dir_exists(dir)) SKIP("no face model in tests/faces/cache (fetch_cached.sh)");
    psk_face_model *m;
    CHECK_OK(psk_face_model_load(dir, &m, err_));
    psk_image_params ip = psk_image_default_params();
    psk_image *full, *half;
    CHECK_OK(psk_image_load(photo, &ip, &full, err_));
    ip.min_short_side = full->height / 2; /* 1920 x 1280 decodes at 1/2 */
    CHECK_OK(psk_image_load(photo, &ip, &half, err_));
    CHECK(half->width * 2 == full->width && half->info.width == full->width);
    psk_face_params p = psk_face_default_params();
    p.n_threads = 2;
    psk_face *f_full, *f_half, *f_raw;
    int n_full, n_half, n_raw;
    CHECK_OK(psk_faces_detect(m, full, &p, &f_full, &n_full, err_));
    CHECK_OK(psk_faces_detect_scaled(m, half, &p, &f_half, &n_half, err_));
    CHECK_OK(psk_faces_detect(m, half, &p, &f_raw, &n_raw, err_));
    CHECKF(n_full == 3 && n_half == n_full && n_raw == n_full, "%d, %d and %d faces", n_full, n_half, n_raw);
    for (int i = 0; i < n_full && n_half == n_full; i++) {
        int best = 0;
        for (int j = 1; j < n_half; j++)
            if (iou4(f_full[i].box, f_half[j].box) > iou4(f_full[i].box, f_half[best].box)) best = j;
        double iou = iou4(f_full[i].box, f_half[best].box);
        float d = psk_face_distance(f_full[i].descriptor, f_half[best].descriptor);
        CHECKF(iou > 0.9, "face %d: box IoU %.3f with the half-size decode's", i, iou);
        CHECKF(d < PSK_FACE_SAME_PERSON, "face %d: descriptor distance %.3f", i, d);
        CHECKF(fabs(f_full[i].landmarks[30][0] - f_half[best].landmarks[30][0]) < 8, "face %d: nose tip %g vs %g", i,
               f_full[i].landmarks[30][0], f_half[best].landmarks[30][0]);
        /* unscaled, the same faces would sit at half the coordinates */
        CHECK(iou4(f_full[i].box, f_raw[best].box) < 0.5);
    }
    psk_free_buffer(f_full);
    psk_free_buffer(f_half);
    psk_free_buffer(f_raw);
    psk_image_free(full);
    psk_image_free(half);
    psk_face_model_free(m);
}
