/* Public model API: folder detection, contexts, and the encode entry points. */
#include "model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

psk_model_params psk_model_default_params(void) {
    psk_model_params p = {1, 1, PSK_PRECISION_FP32};
    return p;
}

psk_context_params psk_context_default_params(void) {
    psk_context_params p = {0};
    return p;
}

void psk_model_free(psk_model *m) {
    if (!m) return;
    psk_tower_free(&m->vision);
    psk_tower_free(&m->text);
    psk_bpe_free(&m->bpe);
    psk_wordpiece_free(&m->wordpiece);
    st_free(m->ckpt);
    st_free(m->ckpt2);
    psk_mmap_close(&m->packed_map);
    psk_free(m);
}

/* The sentence-transformers wrapper of CLIP keeps a CLIPModel folder in a module subfolder (0_CLIPModel). */
static bool st_clip_subdir(const char *dir, char *sub, size_t cap) {
    char path[1200];
    psk_path_join(path, sizeof path, dir, "modules.json");
    cJSON *mods;
    if (psk_json_load(path, 1 << 20, &mods, NULL)) return false;
    bool found = false;
    const cJSON *it;
    cJSON_ArrayForEach(it, mods) {
        const char *type = psk_json_string(it, "type", "");
        const char *p = psk_json_string(it, "path", "");
        if (strstr(type, "CLIPModel") && psk_path_join(sub, cap, dir, p)) {
            found = true;
            break;
        }
    }
    cJSON_Delete(mods);
    if (!found && psk_path_join(sub, cap, dir, "0_CLIPModel") && psk_dir_exists(sub)) found = true;
    return found;
}

/* How a load uses the packed-weight cache: its matrices from the cache file when it has them and into it when it does
 * not (CACHE_USE), or into it without reading it (CACHE_REWRITE: the file there did not fit the model). */
typedef enum cache_use { CACHE_USE, CACHE_REWRITE } cache_use;

static psk_status load(const char *dir, const psk_model_params *params, cache_use use, psk_model **out,
                       psk_error *err);

psk_status psk_model_load(const char *dir, const psk_model_params *params, psk_model **out, psk_error *err) {
    return load(dir, params, CACHE_USE, out, err);
}

/* Loads a model; its packed matrices come from the packed-weight cache when it has them (packcache.c), and go into it
 * when it does not. */
static psk_status load(const char *dir, const psk_model_params *params, cache_use use, psk_model **out,
                       psk_error *err) {
    *out = NULL;
    psk_model_params p = params ? *params : psk_model_default_params();
    if (!psk_dir_exists(dir)) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: model folder not found", dir);
    psk_model *m = psk_calloc(1, sizeof *m);
    if (!m) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    psk_packcache pc = {0};
    bool hit = packcache_open(&pc, dir, &p);
    if (hit && use == CACHE_REWRITE) { /* its path and key only */
        psk_mmap_close(&pc.map);
        hit = false;
    }
    psk_pack_deferred = hit;
    char path[1200], sub[1200];
    int rc;
    if (st_clip_subdir(dir, sub, sizeof sub)) {
        m->kind = PSK_MODEL_CLIP;
        rc = psk_clip_load(m, sub, &p, err);
    } else if (psk_path_join(path, sizeof path, dir, "modules.json") && psk_file_exists(path)) {
        m->kind = PSK_MODEL_MCLIP;
        rc = psk_mclip_load(m, dir, err);
    } else if (psk_path_join(path, sizeof path, dir, "open_clip_config.json") && psk_file_exists(path)) {
        m->kind = PSK_MODEL_CLIP;
        rc = psk_clip_load(m, dir, &p, err);
    } else if (psk_path_join(path, sizeof path, dir, "config.json") && psk_file_exists(path)) {
        cJSON *cfg;
        rc = psk_json_load(path, 1 << 20, &cfg, err);
        if (!rc) {
            const char *type = psk_json_string(cfg, "model_type", "");
            if (strcmp(type, "clip") == 0) {
                m->kind = PSK_MODEL_CLIP;
            } else {
                rc = psk_fail(err, PSK_ERR_UNSUPPORTED,
                              "%s: model_type '%s' is not a CLIP model (a text-only model needs its "
                              "sentence-transformers modules.json)",
                              path, type);
            }
            cJSON_Delete(cfg);
        }
        if (!rc) rc = psk_clip_load(m, dir, &p, err);
    } else {
        rc = psk_fail(err, PSK_ERR_NOT_FOUND,
                      "%s: not a model folder (no config.json, open_clip_config.json or modules.json)", dir);
    }
    if (!rc && p.precision == PSK_PRECISION_INT8) {
        if (hit) { /* the int8 matrices are in the cache file: packcache_attach points them there */
            m->vision.q8 = m->has_vision;
            m->text.q8 = m->has_text;
        } else if ((m->has_vision && psk_tower_quantize(&m->vision)) ||
                   (m->has_text && psk_tower_quantize(&m->text))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory quantising the model");
        }
        /* int8 weights have their own identity: their vectors are close to, not equal to, float32's */
        size_t l = strlen(m->id);
        if (!rc && l + 5 < sizeof m->id) memcpy(m->id + l, "+int8", 6);
    }
    if (hit) {
        bool attached = !rc && packcache_attach(&pc, m);
        psk_pack_deferred = false;
        psk_mmap_close(&pc.map);
        if (!attached) { /* a cache file that does not fit this model (or a load that failed): load it plainly, and
                          * write the file again, else every later load would map it and load twice */
            psk_model_free(m);
            return load(dir, params, CACHE_REWRITE, out, err);
        }
        *out = m;
        return PSK_OK;
    }
    if (!rc && m->has_vision && psk_tower_consolidate(&m->vision)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc && m->has_text && psk_tower_consolidate(&m->text)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (rc) {
        psk_model_free(m);
        return rc;
    }
    packcache_save(&pc, m);
    *out = m;
    return PSK_OK;
}

psk_model_kind psk_model_get_kind(const psk_model *m) {
    return m->kind;
}
int psk_model_n_embd(const psk_model *m) {
    return m->has_vision ? m->vision.n_embd : m->text.n_embd;
}
int psk_model_has_vision(const psk_model *m) {
    return m->has_vision;
}
int psk_model_has_text(const psk_model *m) {
    return m->has_text;
}
int psk_model_image_size(const psk_model *m) {
    return m->vision.image_size;
}
int psk_model_n_ctx(const psk_model *m) {
    return m->n_ctx;
}
const char *psk_model_id(const psk_model *m) {
    return m->id;
}

static int tokenize(const psk_model *m, const char *text, int32_t **ids, int *n, psk_error *err) {
    if (!m->has_text) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: this model has no text encoder loaded", m->dir);
    if (m->kind == PSK_MODEL_CLIP) return psk_bpe_encode(&m->bpe, text, ids, n, err);
    return psk_wordpiece_encode(&m->wordpiece, text, ids, n, err);
}

psk_status psk_model_tokenize(const psk_model *m, const char *text, int32_t *ids, int cap, int *n_ids,
                              psk_error *err) {
    int32_t *all;
    int n;
    int rc = tokenize(m, text, &all, &n, err);
    if (rc) return rc;
    for (int i = 0; i < n && i < cap; i++) ids[i] = all[i];
    *n_ids = n;
    psk_free(all);
    return PSK_OK;
}

psk_status psk_context_new(const psk_model *model, const psk_context_params *params, psk_context **out,
                           psk_error *err) {
    *out = NULL;
    psk_context_params p = params ? *params : psk_context_default_params();
    psk_context *ctx = psk_calloc(1, sizeof *ctx);
    if (!ctx) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    ctx->model = model;
    if (psk_pool_new(p.n_threads, &ctx->pool)) {
        psk_free(ctx);
        return psk_fail(err, PSK_ERR_NOMEM, "cannot start %d threads", p.n_threads);
    }
    *out = ctx;
    return PSK_OK;
}

void psk_context_free(psk_context *ctx) {
    if (!ctx) return;
    psk_pool_free(ctx->pool);
    float *bufs[] = {ctx->x, ctx->h, ctx->qkv, ctx->att, ctx->ff, ctx->tmp, ctx->scores};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) psk_free_aligned(bufs[i]);
    psk_free(ctx);
}

psk_status psk_encode_pixels(psk_context *ctx, const float *pixels, int n, float *out, psk_error *err) {
    if (!ctx->model->has_vision)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: this model has no image encoder", ctx->model->dir);
    if (n <= 0) return PSK_OK;
    return psk_vision_forward(ctx, pixels, n, out, err); /* which says when an int8 product found no memory */
}

/* Truncates to the context the way the tokenizers do: keep the first n_ctx-1 ids, end with the end token. */
static int truncate_ids(const psk_model *m, int32_t *ids, int n) {
    if (n <= m->n_ctx) return n;
    ids[m->n_ctx - 1] = ids[n - 1];
    return m->n_ctx;
}

psk_status psk_encode_texts(psk_context *ctx, const char *const *texts, int n, float *out, psk_error *err) {
    const psk_model *m = ctx->model;
    if (!m->has_text) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: this model has no text encoder", m->dir);
    if (n <= 0) return PSK_OK;
    int32_t **ids = psk_calloc((size_t)n, sizeof *ids);
    int *lens = psk_calloc((size_t)n, sizeof *lens);
    int rc = ids && lens ? PSK_OK : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        rc = tokenize(m, texts[i], &ids[i], &lens[i], err);
        if (!rc) lens[i] = truncate_ids(m, ids[i], lens[i]);
    }
    if (!rc) rc = psk_text_forward(ctx, (const int32_t *const *)ids, lens, n, out, err);
    for (int i = 0; ids && i < n; i++) psk_free(ids[i]);
    psk_free(ids);
    psk_free(lens);
    return rc;
}

psk_status psk_encode_ids(psk_context *ctx, const int32_t *ids, int n_ids, float *out, psk_error *err) {
    const psk_model *m = ctx->model;
    if (!m->has_text) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: this model has no text encoder", m->dir);
    if (n_ids <= 0) return psk_fail(err, PSK_ERR_INVALID_ARG, "empty id sequence");
    int len = n_ids < m->n_ctx ? n_ids : m->n_ctx;
    return psk_text_forward(ctx, &ids, &len, 1, out, err);
}

void psk_normalize(float *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)v[i] * v[i];
    if (s <= 0) return;
    float inv = (float)(1.0 / sqrt(s));
    for (int i = 0; i < n; i++) v[i] *= inv;
}
