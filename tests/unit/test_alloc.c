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

/* Open a fresh library, index three images, search it: every failure point must give PSK_ERR_NOMEM (or a file
 * recorded as failed, which the next attempt redoes), never a crash or a leak. */
static int library_round_trip(void) {
    static int attempt;
    char db[600], dir[600], cmd[1800];
    snprintf(dir, sizeof dir, "%s/alloc-photos", test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp -n '%s' '%s' '%s' '%s/' 2>/dev/null; true", dir,
             fixture_path("images/photo_coffee.jpg"), fixture_path("images/gray_320x240.png"),
             fixture_path("images/exif_orient6_640x480.jpg"), dir);
    if (system(cmd) != 0) return PSK_ERR_IO;
    snprintf(db, sizeof db, "%s/alloc-%d.db", test_tmpdir(), attempt++);
    psk_library *lib = NULL;
    int rc = psk_library_open(db, PSK_OPEN_WRITE, &lib, NULL);
    if (rc) return rc;
    const char *roots[1] = {dir};
    psk_index_params p = psk_index_default_params();
    p.roots = roots;
    p.n_roots = 1;
    p.image_model_dir = fixture_path("models/tiny-clip");
    p.n_jobs = 1;
    p.n_threads = 1;
    psk_index_stats st;
    rc = psk_library_index(lib, &p, &st, NULL);
    if (rc == PSK_OK && st.failed) rc = PSK_ERR_NOMEM; /* a decode failed for lack of memory */
    if (rc == PSK_OK) {
        psk_search_params sp = psk_search_default_params();
        sp.query = "a cup of coffee";
        psk_result *res = NULL;
        int n = 0;
        rc = psk_library_search(lib, &sp, &res, &n, NULL);
        psk_results_free(res);
        if (rc == PSK_OK && n != 3) rc = PSK_ERR_NOMEM;
    }
    psk_library_close(lib);
    return rc;
}

TEST(library_survives_allocation_failures) {
    int n = sweep("library", library_round_trip);
    CHECKF(n > 20, "only %d failure points", n);
}
