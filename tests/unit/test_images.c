/* Decoders and CLIP preprocessing against Pillow's results in refs/preprocess.json. */
#include "test.h"

#include "../../src/image/image.h"
#include "../../src/model/model.h"

#include <cjson/cJSON.h>

static float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *v = malloc(sizeof(float) * n);
    size_t got = fread(v, sizeof(float), n, f);
    fclose(f);
    if (got != n) {
        free(v);
        return NULL;
    }
    return v;
}

TEST(preprocessing_matches_pillow_for_every_fixture_image) {
    cJSON *ref = load_json_fixture("refs/preprocess.json");
    CHECK(ref);
    psk_model *m;
    psk_error err = {0};
    psk_model_params p = psk_model_default_params();
    p.load_text = 0;
    CHECKF(psk_model_load(fixture_path("models/tiny-clip"), &p, &m, &err) == PSK_OK, "%s", err.message);
    int cases = 0;
    const cJSON *c;
    float *px = malloc(sizeof(float) * 3 * 224 * 224);
    cJSON_ArrayForEach(c, ref) {
        const char *name = cJSON_GetObjectItem(c, "image")->valuestring;
        char rel[256];
        snprintf(rel, sizeof rel, "images/%s", name);
        psk_image *img;
        int rc = psk_image_load(fixture_path(rel), NULL, &img, &err);
        CHECKF(rc == PSK_OK, "%s: %s", name, err.message);
        const cJSON *size = cJSON_GetObjectItem(c, "decoded_size");
        CHECKF(img->width == cJSON_GetArrayItem(size, 0)->valueint && img->height == cJSON_GetArrayItem(size, 1)->valueint,
               "%s: decoded %dx%d", name, img->width, img->height);
        /* Decoded pixels: exact for lossless formats, near for JPEG/WebP (checked through the sum). */
        double sum = 0;
        for (size_t i = 0; i < (size_t)img->width * img->height * 3; i++) sum += img->rgb[i];
        double want = cJSON_GetObjectItem(c, "decoded_rgb_sum")->valuedouble;
        bool lossless = strstr(name, ".png") != NULL;
        double tol = lossless ? 0 : 0.01 * want / 255; /* under 1% of a grey level per sample on average */
        CHECKF(fabs(sum - want) <= tol + 0.5, "%s: decoded sum %.0f, Pillow %.0f", name, sum, want);
        CHECK_OK(psk_model_preprocess(m, img, px, err_));
        psk_image_free(img);
        char prel[300];
        snprintf(prel, sizeof prel, "refs/%s", cJSON_GetObjectItem(c, "pixels_file")->valuestring);
        float *want_px = read_f32(fixture_path(prel), 3 * 224 * 224);
        CHECK(want_px);
        double mx = 0, mean = 0;
        for (int i = 0; i < 3 * 224 * 224; i++) {
            double d = fabs(px[i] - want_px[i]);
            mx = fmax(mx, d);
            mean += d;
        }
        mean /= 3 * 224 * 224;
        free(want_px);
        CHECKF(mx <= 0.03 && mean <= 0.005, "%s: max diff %.4f mean %.5f", name, mx, mean);
        if (lossless) CHECKF(mx < 1e-5, "%s: PNG pixels must be identical (max diff %g)", name, mx);
        cases++;
    }
    free(px);
    psk_model_free(m);
    cJSON_Delete(ref);
    CHECKF(cases == 18, "%d cases", cases);
}

TEST(broken_images_give_clear_errors) {
    static const struct {
        const char *file, *needle;
        int code;
    } cases[] = {
        {"images/bad_empty.png", "empty file", PSK_ERR_FORMAT},
        {"images/bad_not_an_image.jpg", "not a supported image (starts with", PSK_ERR_FORMAT},
        {"images/bad_truncated.jpg", "broken JPEG", PSK_ERR_FORMAT},
        {"images/bad_crc.png", "broken PNG", PSK_ERR_FORMAT},
        {"images/does_not_exist.jpg", "No such file", PSK_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        psk_image *img = NULL;
        psk_error err = {0};
        const char *path = fixture_path(cases[i].file);
        int rc = psk_image_load(path, NULL, &img, &err);
        CHECKF(rc == cases[i].code, "%s: rc %d (%s)", cases[i].file, rc, err.message);
        CHECKF(img == NULL, "%s: image handed back", cases[i].file);
        CHECKF(strstr(err.message, path) && strstr(err.message, cases[i].needle), "%s: message '%s'", cases[i].file,
               err.message);
    }
}

TEST(exif_metadata_and_orientation) {
    psk_image *img;
    psk_error err = {0};
    CHECK_OK(psk_image_load(fixture_path("images/exif_orient6_640x480.jpg"), NULL, &img, err_));
    CHECK(img->info.orientation == 6);
    CHECK(img->width == 480 && img->height == 640);
    CHECKF(strcmp(img->info.datetime, "2019:07:04 18:30:00") == 0, "%s", img->info.datetime);
    CHECKF(strcmp(img->info.offset, "+02:00") == 0, "%s", img->info.offset);
    CHECK(strcmp(img->info.make, "TestMake") == 0 && strcmp(img->info.model, "TestModel X1") == 0);
    CHECK(strcmp(img->info.format, "jpeg") == 0);
    psk_image_free(img);
    psk_image_params p = psk_image_default_params();
    p.apply_orientation = 0;
    CHECK_OK(psk_image_load(fixture_path("images/exif_orient6_640x480.jpg"), &p, &img, err_));
    CHECK(img->width == 640 && img->height == 480);
    psk_image_free(img);
    (void)err;
}

TEST(orientation_transforms_are_correct) {
    /* A 3x2 image whose pixels hold their own index; each orientation is checked at two corners. */
    uint8_t src[3 * 2 * 3];
    for (int i = 0; i < 6; i++) src[3 * i] = src[3 * i + 1] = src[3 * i + 2] = (uint8_t)i;
    /* expected top-left and top-right source index after each orientation (Pillow's exif_transpose) */
    static const int tl[9] = {0, 0, 2, 5, 3, 0, 3, 5, 2}, tr[9] = {0, 2, 0, 3, 5, 3, 0, 2, 5};
    for (int o = 2; o <= 8; o++) {
        int w, h;
        uint8_t *d = img_apply_orientation(src, 3, 2, o, &w, &h);
        CHECK(d);
        bool swap = o >= 5;
        int a = d[0], b = d[3 * (w - 1)];
        free(d);
        CHECKF(w == (swap ? 2 : 3) && h == (swap ? 3 : 2), "orientation %d size %dx%d", o, w, h);
        CHECKF(a == tl[o] && b == tr[o], "orientation %d: corners %d %d, want %d %d", o, a, b, tl[o], tr[o]);
    }
}

TEST(image_dimension_cap_is_enforced) {
    psk_image_params p = psk_image_default_params();
    p.max_pixels = 1000 * 1000; /* large_3000x2000.jpg is 6 megapixels */
    psk_image *img = NULL;
    psk_error err = {0};
    CHECK(psk_image_load(fixture_path("images/large_3000x2000.jpg"), &p, &img, &err) == PSK_ERR_UNSUPPORTED);
    CHECKF(strstr(err.message, "too large"), "%s", err.message);
    CHECK(img == NULL);
}

TEST(every_supported_format_decodes) {
    /* Small files made with ImageMagick and heif-enc, committed as the image fuzzer's seed corpus: an 8x8
     * red-to-blue gradient in each format (gray.png is 8x6). The top-left pixel must be red. */
    static const struct {
        const char *file, *format;
        int tol;
    } cases[] = {
        {"g.png", "png", 0},    {"pal.png", "png", 60}, {"rgba.png", "png", 0}, {"j.jpg", "jpeg", 40},
        {"prog.jpg", "jpeg", 40}, {"cmyk.jpg", "jpeg", 60}, {"gif.gif", "gif", 40}, {"w.webp", "webp", 0},
        {"t.tiff", "tiff", 0},  {"h.heic", "heif", 60},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/image/%s", cases[i].file);
        psk_image *img;
        psk_error err = {0};
        CHECKF(psk_image_load(path, NULL, &img, &err) == PSK_OK, "%s", err.message);
        int w = img->width, h = img->height, r = img->rgb[0], g = img->rgb[1], b = img->rgb[2];
        bool fmt = strcmp(img->info.format, cases[i].format) == 0;
        psk_image_free(img);
        CHECKF(w == 8 && h == 8 && fmt, "%s: %dx%d %s", cases[i].file, w, h, cases[i].format);
        CHECKF(abs(r - 255) <= cases[i].tol && g <= cases[i].tol && b <= cases[i].tol, "%s: top-left %d,%d,%d",
               cases[i].file, r, g, b);
    }
    psk_image *img;
    psk_error err = {0};
    CHECK_OK(psk_image_load("tests/fuzz/corpus/image/gray.png", NULL, &img, err_));
    CHECK(img->width == 8 && img->height == 6 && img->rgb[0] == img->rgb[1] && img->rgb[1] == img->rgb[2]);
    psk_image_free(img);
    (void)err;
}

TEST(dct_scaled_jpeg_decoding_keeps_the_embedding) {
    /* Decoding a JPEG at 1/2..1/8 scale (never below 224 on the short side) must keep the embedding at cosine
     * >= 0.995 with the reference, and report the full size. */
    cJSON *ref = load_json_fixture("refs/embeddings_tiny_clip.json");
    CHECK(ref);
    psk_model *m;
    CHECK_OK(psk_model_load(fixture_path("models/tiny-clip"), NULL, &m, err_));
    psk_context *ctx;
    CHECK_OK(psk_context_new(m, NULL, &ctx, err_));
    float *px = malloc(sizeof(float) * 3 * 224 * 224), emb[24];
    const cJSON *c;
    int scaled = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "images")) {
        const char *name = cJSON_GetObjectItem(c, "image")->valuestring;
        if (!strstr(name, ".jpg")) continue;
        char rel[256];
        snprintf(rel, sizeof rel, "images/%s", name);
        psk_image_params ip = psk_image_default_params();
        ip.min_short_side = 224;
        psk_image *img, *full;
        CHECK_OK(psk_image_load(fixture_path(rel), &ip, &img, err_));
        CHECK_OK(psk_image_load(fixture_path(rel), NULL, &full, err_));
        CHECKF(img->info.width == full->width && img->info.height == full->height, "%s: full size kept", name);
        CHECKF((img->width <= full->width && (img->width < img->height ? img->width : img->height) >= 224) ||
                   img->width == full->width,
               "%s: decoded %dx%d", name, img->width, img->height);
        if (img->width < full->width) scaled++;
        psk_image_free(full);
        CHECK_OK(psk_model_preprocess(m, img, px, err_));
        psk_image_free(img);
        CHECK_OK(psk_encode_pixels(ctx, px, 1, emb, err_));
        int rn;
        double *r = json_doubles(cJSON_GetObjectItem(c, "embedding"), &rn);
        double cs = cosine(r, emb, 24);
        free(r);
        CHECKF(cs >= 0.995, "%s: cosine %.5f after DCT-scaled decoding", name, cs);
    }
    CHECKF(scaled >= 2, "only %d images were decoded scaled", scaled);
    free(px);
    psk_context_free(ctx);
    psk_model_free(m);
    cJSON_Delete(ref);
}
