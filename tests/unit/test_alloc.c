/* Allocation failure: fail the Nth allocation for increasing N; every loader must return PSK_ERR_NOMEM cleanly
 * (the sanitizer run checks that nothing leaks) until N is large enough to succeed. */
#include "test.h"

#include "../../src/common/common.h"
#include "../../src/model/model.h"

typedef int (*attempt_fn)(void);

/* Returns the number of failure points tried; fails the test on a wrong status. */
static int sweep(const char *what, attempt_fn fn) {
    int tried = 0;
    for (long n = 0;; n = n < 64 ? n + 1 : n + n / 3) {
        psk_alloc_fail_after(n);
        int rc = fn();
        psk_alloc_fail_after(-1);
        tried++;
        if (rc == PSK_OK) return tried;
        if (rc != PSK_ERR_NOMEM) {
            test_fail(__FILE__, __LINE__, "%s: failing allocation %ld gave status %d, not PSK_ERR_NOMEM", what, n, rc);
            return tried;
        }
        if (n > 100000000) {
            test_fail(__FILE__, __LINE__, "%s: never succeeded", what);
            return tried;
        }
    }
}

static int load_clip(void) {
    psk_model *m = NULL;
    int rc = psk_model_load(fixture_path("models/tiny-clip"), NULL, &m, NULL);
    if (rc == PSK_OK) {
        psk_context *ctx;
        rc = psk_context_new(m, NULL, &ctx, NULL);
        if (rc == PSK_OK) {
            const char *t = "a photo of a cat";
            float e[24];
            rc = psk_encode_texts(ctx, &t, 1, e, NULL);
            psk_context_free(ctx);
        }
    }
    psk_model_free(m);
    return rc;
}

static int load_mclip(void) {
    psk_model *m = NULL;
    int rc = psk_model_load(fixture_path("models/tiny-mclip"), NULL, &m, NULL);
    psk_model_free(m);
    return rc;
}

static int decode_images(void) {
    const char *files[] = {"images/exif_orient6_640x480.jpg", "images/palette_200x200.png", "images/lossy_400x300.webp"};
    for (int i = 0; i < 3; i++) {
        psk_image *img = NULL;
        int rc = psk_image_load(fixture_path(files[i]), NULL, &img, NULL);
        psk_image_free(img);
        if (rc) return rc;
    }
    return PSK_OK;
}

TEST(model_loading_survives_allocation_failures) {
    int n = sweep("tiny-clip", load_clip);
    CHECKF(n > 10, "only %d failure points", n);
    sweep("tiny-mclip", load_mclip);
}

TEST(image_decoding_survives_allocation_failures) {
    sweep("images", decode_images);
}
