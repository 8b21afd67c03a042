/* Query vectors in the space of a library's model: phrases through the text model kept loaded (with a cache of
 * recent phrases), image files through the image model, each checked to belong to the library's space. */
#include "library_int.h"

#include <stdio.h>
#include <string.h>

static int text_model(psk_library *lib, const char *dir, int n_threads, psk_error *err) {
    if (lib->text_model && strcmp(lib->text_model_dir, dir) == 0) return PSK_OK;
    psk_model_params mp = psk_model_default_params();
    mp.load_vision = 0;
    int rc = library_load_model(&lib->text_model, &lib->text_ctx, dir, &mp, n_threads, err);
    if (!rc) snprintf(lib->text_model_dir, sizeof lib->text_model_dir, "%s", dir);
    return rc;
}

static int check_same_model(const psk_model *model, const char *dir, const store_model *m, psk_error *err) {
    if (psk_model_get_kind(model) == PSK_MODEL_MCLIP) {
        /* A multilingual text model is distilled into one CLIP's space; its width must at least agree. */
        if (psk_model_n_embd(model) != m->dim)
            return psk_fail(err, PSK_ERR_MODEL_MISMATCH,
                            "the library was indexed with %s (%d dimensions), but %s makes %d-dimensional vectors",
                            m->name, m->dim, dir, psk_model_n_embd(model));
        return PSK_OK;
    }
    /* int8 and float32 weights of one checkpoint make vectors of one space ("...+int8" marks the former) */
    size_t a = strcspn(psk_model_id(model), "+"), b = strcspn(m->name, "+");
    if (a != b || strncmp(psk_model_id(model), m->name, a) != 0)
        return psk_fail(err, PSK_ERR_MODEL_MISMATCH,
                        "the library was indexed with %s (from %s), but %s is %s: vectors of different models cannot "
                        "be compared; re-index with this model or pass the library's model",
                        m->name, m->dir, dir, psk_model_id(model));
    return PSK_OK;
}

/* A cached phrase vector, or the slot to put a new one in (the least recently used). */
static bool cache_get(psk_library *lib, const char *key, float *out, int dim, int *slot) {
    *slot = 0;
    for (int i = 0; i < 64; i++) {
        if (lib->qcache[i].key && strcmp(lib->qcache[i].key, key) == 0) {
            memcpy(out, lib->qcache[i].vec, sizeof(float) * (size_t)dim);
            lib->qcache[i].used = ++lib->qclock;
            return true;
        }
        if (lib->qcache[i].used < lib->qcache[*slot].used) *slot = i;
    }
    return false;
}

int library_phrase_vector(psk_library *lib, const store_model *m, const char *text_dir, const char *text, float *out,
                          psk_error *err) {
    int rc = text_model(lib, text_dir, 1, err);
    if (!rc) rc = check_same_model(lib->text_model, text_dir, m, err);
    if (rc) return rc;
    size_t kl = strlen(text_dir) + 1 + strlen(text);
    char *key = psk_malloc(kl + 1);
    if (!key) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(key, kl + 1, "%s\n%s", text_dir, text);
    int slot;
    if (cache_get(lib, key, out, m->dim, &slot)) {
        psk_free(key);
        return PSK_OK;
    }
    if ((rc = psk_encode_texts(lib->text_ctx, &text, 1, out, err))) {
        psk_free(key);
        return rc;
    }
    psk_normalize(out, m->dim);
    float *v = psk_malloc(sizeof(float) * (size_t)m->dim);
    if (!v) {
        psk_free(key);
        return PSK_OK; /* not cached, still answered */
    }
    memcpy(v, out, sizeof(float) * (size_t)m->dim);
    psk_free(lib->qcache[slot].key);
    psk_free(lib->qcache[slot].vec);
    lib->qcache[slot].key = key;
    lib->qcache[slot].vec = v;
    lib->qcache[slot].used = ++lib->qclock;
    return PSK_OK;
}

int library_image_vector(psk_library *lib, const store_model *m, const char *image_dir, int n_threads,
                         const char *path, float *out, psk_error *err) {
    const char *dir = image_dir ? image_dir : m->dir;
    int rc = library_image_model(lib, dir, n_threads, PSK_PRECISION_FP32, err);
    if (rc) return rc;
    if ((rc = check_same_model(lib->image_model, dir, m, err))) return rc;
    psk_image *img;
    if ((rc = psk_image_load(path, NULL, &img, err))) return rc;
    int S = psk_model_image_size(lib->image_model);
    float *px = psk_malloc(sizeof(float) * 3 * (size_t)S * S);
    if (!px) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) rc = psk_model_preprocess(lib->image_model, img, px, err);
    if (!rc) rc = psk_encode_pixels(lib->image_ctx, px, 1, out, err);
    psk_free(px);
    psk_image_free(img);
    if (!rc) psk_normalize(out, m->dim);
    return rc;
}
