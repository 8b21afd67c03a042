/* Text in photos: folding for matching, the text gate, the region finder's geometry and a read of small rendered
 * images (ImageMagick draws them; the tests skip without it or without Tesseract's English data). */
#include "test.h"

#include "../../src/ocr/ocr.h"

#include <unistd.h>

static bool folds_to(const char *in, const char *want) {
    char *got = psk_text_fold(in);
    bool ok = got && strcmp(got, want) == 0;
    if (!ok) fprintf(stderr, "    fold(\"%s\") = \"%s\", want \"%s\"\n", in, got ? got : "(null)", want);
    psk_free_buffer(got);
    return ok;
}

TEST(ocr_fold_forgives_case_width_cjk_spaces_and_line_breaks) {
    CHECK(folds_to("WiFi PASSWORD", "wifi password"));
    CHECK(folds_to("Straße", "strasse"));                 /* case folding, not just lower case */
    CHECK(folds_to("ＲＥ１６ ＴＧＫ", "re16 tgk"));           /* NFKC: full-width letters and digits */
    CHECK(folds_to("ﬁsh", "fish"));                         /* NFKC: ligatures */
    CHECK(folds_to("欢 迎 光 临", "欢迎光临"));               /* Tesseract's spaces between Chinese characters */
    CHECK(folds_to("欢迎\n光临", "欢迎光临"));
    CHECK(folds_to("Keep calm\nand  carry\ton", "keep calm and carry on")); /* line breaks inside a phrase */
    CHECK(folds_to("  padded  ", "padded"));
    CHECK(folds_to("价格 42.17 元", "价格 42.17 元"));        /* a space beside a non-CJK character stays */
    CHECK(folds_to("", ""));
    char *bad = psk_text_fold("\xff\xfe broken");
    CHECK(bad == NULL);
}

static psk_image *blank(int w, int h, uint8_t v) {
    psk_image *img = calloc(1, sizeof *img);
    img->width = w;
    img->height = h;
    img->rgb = malloc((size_t)w * h * 3);
    memset(img->rgb, v, (size_t)w * h * 3);
    return img;
}

static void free_blank(psk_image *img) {
    free(img->rgb);
    free(img);
}

/* An image rendered by ImageMagick into the test folder, NULL (and the test skipped) without it. */
static psk_image *render(const char *name, const char *args) {
    if (access("/usr/bin/convert", X_OK) != 0) return NULL;
    char path[512], cmd[2048];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "/usr/bin/convert %s '%s' 2>/dev/null", args, path);
    if (system(cmd) != 0) return NULL;
    psk_image *img = NULL;
    psk_error err = {0};
    if (psk_image_load(path, NULL, &img, &err)) return NULL;
    return img;
}

TEST(ocr_gate_is_low_on_flat_gradient_and_noise_images_and_high_on_text) {
    psk_image *flat = blank(1200, 900, 128);
    CHECKF(psk_ocr_text_score(flat) < PSK_OCR_GATE, "flat grey scored %.2f", psk_ocr_text_score(flat));
    /* stripes of one width everywhere: strokes, but a texture, not a line of letters */
    for (int y = 0; y < flat->height; y++)
        for (int x = 0; x < flat->width; x++) memset(flat->rgb + ((size_t)y * flat->width + x) * 3, x % 8 < 4 ? 20 : 230, 3);
    float stripes = psk_ocr_text_score(flat);
    free_blank(flat);
    CHECKF(stripes < PSK_OCR_GATE, "stripes scored %.2f", stripes);
    psk_image *noise = blank(1200, 900, 0);
    uint32_t s = 12345;
    for (size_t i = 0; i < (size_t)1200 * 900 * 3; i++) {
        s = s * 1103515245u + 12345u;
        noise->rgb[i] = (uint8_t)(s >> 24);
    }
    float ns = psk_ocr_text_score(noise);
    free_blank(noise);
    CHECKF(ns < PSK_OCR_GATE, "noise scored %.2f", ns);
    psk_image *tiny = blank(1, 1, 0);
    CHECK(psk_ocr_text_score(tiny) == 0);
    free_blank(tiny);
    CHECK(psk_ocr_text_score(NULL) == 0);
    psk_image *text = render("gate_text.png", "-size 1200x900 xc:white -font DejaVu-Sans -pointsize 40 "
                                              "-annotate +60+200 'Meeting room B204 on the second floor'");
    if (!text) SKIP("ImageMagick (/usr/bin/convert) with DejaVu fonts is not installed");
    float ts = psk_ocr_text_score(text);
    psk_image_free(text);
    CHECKF(ts >= PSK_OCR_GATE, "a line of text scored %.2f", ts);
}

/* The fixtures' real photos enlarged to 12 megapixels as a camera would save them (a little sensor noise, JPEG):
 * wood grain, lattice towers and a space suit make strokes, but no line of text; a sign added to the cat's photo
 * is a line of text. (~2 s of ImageMagick per 12-megapixel image.) */
TEST(ocr_gate_turns_away_real_12mp_photos_and_passes_a_sign_in_one) {
    static const char *photos[] = {"photo_astronaut", "photo_coffee", "photo_rocket"}; /* the gate passed them once */
    const char *camera = "-resize 4000x3000^ -gravity center -extent 4000x3000 -attenuate 0.15 +noise Gaussian";
    char args[2048], name[64];
    for (size_t i = 0; i < sizeof photos / sizeof *photos; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "images/%s.jpg", photos[i]);
        snprintf(args, sizeof args, "'%s' %s -quality 92", fixture_path(rel), camera);
        snprintf(name, sizeof name, "%s_12mp.jpg", photos[i]);
        psk_image *img = render(name, args);
        if (!img) SKIP("ImageMagick (/usr/bin/convert) is not installed");
        float s = psk_ocr_text_score(img);
        psk_image_free(img);
        CHECKF(s < PSK_OCR_GATE, "%s at 12 MP scored %.2f (a photo without text)", photos[i], s);
    }
    snprintf(args, sizeof args,
             "'%s' %s -gravity northwest -fill white -stroke gray20 -strokewidth 6 -draw 'rectangle 1200,1300 2900,1700' "
             "-stroke none -fill '#202020' -font DejaVu-Sans-Bold -pointsize 100 -annotate +1300+1440 'Fresh Bakery' "
             "-quality 92",
             fixture_path("images/photo_chelsea.jpg"), camera);
    psk_image *sign = render("sign_12mp.jpg", args);
    if (!sign) SKIP("ImageMagick with the DejaVu fonts is not installed");
    float s = psk_ocr_text_score(sign);
    psk_image_free(sign);
    CHECKF(s >= PSK_OCR_GATE, "a sign on the cat's photo scored %.2f", s);
}

TEST(ocr_gray_turns_and_warp_xform_map_points_back) {
    ocr_gray g = {4, 3, malloc(12)}, t = {0};
    for (int i = 0; i < 12; i++) g.px[i] = (uint8_t)i;
    CHECK(ocr_gray_rotate(&g, 1, &t) == PSK_OK);
    CHECK(t.w == 3 && t.h == 4);
    CHECK(t.px[0 * 3 + 2] == g.px[0]);          /* top-left goes to the top-right */
    CHECK(t.px[3 * 3 + 0] == g.px[2 * 4 + 3]);  /* bottom-right goes to the bottom-left */
    ocr_gray_free(&t);
    /* a warp by 90 degrees: the copy's pixels are the source's at the points the xform names */
    ocr_xform xf;
    ocr_rect r = {1.5, 1.0, 3, 4, 90}; /* lines running down: the copy is 3 wide (along) and 4 high */
    CHECK(ocr_gray_warp(&g, r, 1.0, 0, 255, &t, &xf) == PSK_OK);
    for (int y = 0; y < t.h; y++)
        for (int x = 0; x < t.w; x++) {
            double sx, sy;
            ocr_xform_apply(&xf, x, y, &sx, &sy);
            int ix = (int)lround(sx), iy = (int)lround(sy);
            uint8_t want = ix >= 0 && iy >= 0 && ix < g.w && iy < g.h ? g.px[iy * g.w + ix] : 255;
            CHECKF(fabs(sx - ix) < 1e-6 && fabs(sy - iy) < 1e-6, "(%d,%d) maps to (%.3f,%.3f)", x, y, sx, sy);
            CHECKF(t.px[(size_t)y * t.w + x] == want, "(%d,%d) = %d, want %d", x, y, t.px[(size_t)y * t.w + x], want);
        }
    ocr_gray_free(&t);
    ocr_gray_free(&g);
}

/* The grey copy of a rendered image at its own size. */
static bool gray_of(const psk_image *img, ocr_gray *g) {
    return img && ocr_gray_from_rgb(img, 4000, g) == PSK_OK;
}

TEST(ocr_regions_find_a_turned_sign_and_measure_its_slant) {
    psk_image *img = render("sign.png", "-size 1000x700 xc:'#5a7d4f' +size \\( -background white -fill black -font "
                                        "DejaVu-Sans-Bold -pointsize 48 label:'Grand Hotel Budapest' -bordercolor white "
                                        "-border 20 -background none -rotate 7 \\) -gravity center -composite");
    if (!img) SKIP("ImageMagick (/usr/bin/convert) with DejaVu fonts is not installed");
    ocr_gray g;
    CHECK(gray_of(img, &g));
    psk_image_free(img);
    ocr_region regs[8];
    int n = ocr_find_regions(&g, regs, 8);
    CHECKF(n >= 1, "no region found");
    /* the likeliest region holds the sign's centre and is wider than high (upright text) */
    ocr_window b = regs[0].box;
    CHECKF(b.x < 500 && b.x + b.w > 500 && b.y < 350 && b.y + b.h > 350, "region %d,%d %dx%d", b.x, b.y, b.w, b.h);
    CHECK(!regs[0].vertical && b.w > b.h);
    ocr_rect text;
    double line_h;
    CHECK(ocr_measure_text(&g, b, 0, &text, &line_h) == PSK_OK);
    CHECKF(fabs(text.angle - 7) <= 1.0, "slant %.1f, want 7", text.angle);
    CHECKF(line_h > 15 && line_h < 80, "line height %.1f", line_h);
    ocr_gray_free(&g);
    /* a flat image has no regions */
    ocr_gray flat = {300, 200, malloc(300 * 200)};
    memset(flat.px, 200, 300 * 200);
    CHECK(ocr_find_regions(&flat, regs, 8) == 0);
    CHECK(ocr_measure_text(&flat, (ocr_window){0, 0, 300, 200}, 0, &text, &line_h) == PSK_ERR_INVALID_ARG);
    ocr_gray_free(&flat);
}

static psk_ocr *open_reader(const char *langs) {
    psk_ocr_params p = psk_ocr_default_params();
    p.langs = langs;
    psk_ocr *o = NULL;
    psk_error err = {0};
    return psk_ocr_open(&p, &o, &err) == PSK_OK ? o : NULL;
}

static bool text_has(const psk_ocr_text *t, const char *want) {
    char *f = psk_text_fold(t->text), *w = psk_text_fold(want);
    bool ok = f && w && strstr(f, w);
    if (!ok) fprintf(stderr, "    read \"%s\", want \"%s\"\n", t->text, want);
    psk_free_buffer(f);
    psk_free_buffer(w);
    return ok;
}

TEST(ocr_reads_a_sign_in_a_photo_and_sideways_text_with_boxes) {
    psk_ocr *o = open_reader("eng");
    if (!o) SKIP("Tesseract's English data (tesseract-ocr-eng) is not installed");
    psk_image *img = render("read_sign.jpg", "-size 900x600 plasma:fractal -blur 0x3 +size \\( -background '#fff3e0' "
                                             "-fill '#b00020' -font DejaVu-Serif -pointsize 44 label:'Fresh Bakery' "
                                             "-bordercolor '#fff3e0' -border 20 -background none -rotate -6 \\) "
                                             "-gravity center -composite");
    if (!img) {
        psk_ocr_close(o);
        SKIP("ImageMagick (/usr/bin/convert) with DejaVu fonts is not installed");
    }
    psk_ocr_text t;
    psk_error err = {0};
    CHECKF(psk_ocr_read(o, img, &t, &err) == PSK_OK, "%s", err.message);
    bool found = text_has(&t, "Fresh Bakery");
    /* the words' boxes lie around the image's centre, where the sign is */
    bool boxed = false;
    for (int i = 0; i < t.n_words; i++)
        if (strstr(t.words[i].text, "Bakery"))
            boxed = t.words[i].x > 300 && t.words[i].x < 600 && t.words[i].y > 200 && t.words[i].y < 400;
    psk_ocr_text_free(&t);
    psk_image_free(img);
    CHECK(found);
    CHECK(boxed);
    img = render("read_side.png", "-size 900x500 xc:white -font DejaVu-Sans-Bold -pointsize 60 -gravity center "
                                  "-annotate +0+0 'Platform 9' -rotate 270");
    CHECK(img);
    CHECKF(psk_ocr_read(o, img, &t, &err) == PSK_OK, "%s", err.message);
    found = text_has(&t, "Platform 9");
    int rotation = t.rotation;
    psk_ocr_text_free(&t);
    psk_image_free(img);
    psk_ocr_close(o);
    CHECK(found);
    CHECKF(rotation == 90, "rotation %d, want 90", rotation);
}

TEST(ocr_bad_inputs_and_missing_languages_fail_cleanly) {
    psk_ocr_params p = psk_ocr_default_params();
    p.langs = "xyz";
    psk_ocr *o = NULL;
    psk_error err = {0};
    CHECK(psk_ocr_open(&p, &o, &err) == PSK_ERR_NOT_FOUND && !o);
    CHECKF(strstr(err.message, "tesseract-ocr-xyz"), "%s", err.message);
    p.langs = "eng;rm";
    CHECK(psk_ocr_open(&p, &o, &err) == PSK_ERR_INVALID_ARG);
    p.langs = "eng";
    p.tessdata = test_tmpdir(); /* an empty folder */
    CHECK(psk_ocr_open(&p, &o, &err) == PSK_ERR_NOT_FOUND);
    o = open_reader("eng");
    if (!o) SKIP("Tesseract's English data (tesseract-ocr-eng) is not installed");
    psk_ocr_text t;
    psk_image *one = blank(1, 1, 0);
    CHECK(psk_ocr_read(o, one, &t, &err) == PSK_OK && t.n_words == 0 && strcmp(t.text, "") == 0);
    psk_ocr_text_free(&t);
    free_blank(one);
    psk_image none = {0};
    CHECK(psk_ocr_read(o, &none, &t, &err) == PSK_ERR_INVALID_ARG);
    psk_ocr_text_free(&t);
    psk_ocr_close(o);
}
