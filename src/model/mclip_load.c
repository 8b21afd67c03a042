/* Loads a sentence-transformers text model: DistilBERT (modules.json module 0) + mean Pooling + Dense, in both the
 * sentence-transformers 6 config style and the legacy one the published multilingual CLIP model uses. */
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

/* Finds the path of the first module whose type ends with `suffix` ("Pooling", "Dense"). */
static const char *module_path(const cJSON *modules, const char *suffix) {
    const cJSON *it;
    cJSON_ArrayForEach(it, modules) {
        const char *type = psk_json_string(it, "type", "");
        size_t n = strlen(type), s = strlen(suffix);
        if (n >= s && strcmp(type + n - s, suffix) == 0) return psk_json_string(it, "path", NULL);
    }
    return NULL;
}

static int load_pooling(const char *dir, const char *sub, psk_error *err) {
    char path[1200], rel[512];
    snprintf(rel, sizeof rel, "%s/config.json", sub);
    psk_path_join(path, sizeof path, dir, rel);
    cJSON *c;
    int rc = psk_json_load(path, 1 << 20, &c, err);
    if (rc) return rc;
    const char *mode = psk_json_string(c, "pooling_mode", NULL);
    bool mean = mode ? strcmp(mode, "mean") == 0 : psk_json_bool(c, "pooling_mode_mean_tokens", false);
    bool other = psk_json_bool(c, "pooling_mode_cls_token", false) || psk_json_bool(c, "pooling_mode_max_tokens", false) ||
                 psk_json_bool(c, "pooling_mode_mean_sqrt_len_tokens", false);
    cJSON_Delete(c);
    if (!mean || other)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: only mean pooling is supported", path);
    return PSK_OK;
}

static int load_dense(psk_model *m, const char *dir, const char *sub, psk_error *err) {
    char path[1200], rel[512];
    snprintf(rel, sizeof rel, "%s/config.json", sub);
    psk_path_join(path, sizeof path, dir, rel);
    cJSON *c;
    int rc = psk_json_load(path, 1 << 20, &c, err);
    if (rc) return rc;
    psk_tower *t = &m->text;
    int in = (int)psk_json_number(c, "in_features", -1), out = (int)psk_json_number(c, "out_features", -1);
    bool bias = psk_json_bool(c, "bias", true);
    const char *act = psk_json_string(c, "activation_function", "torch.nn.modules.linear.Identity");
    if (strstr(act, "Identity")) t->dense_act = PSK_ACT_NONE;
    else if (strstr(act, "Tanh")) t->dense_act = PSK_ACT_TANH;
    else rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: unsupported Dense activation '%s'", path, act);
    if (!rc && (in != t->width || out <= 0 || out > 16384))
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: Dense %d -> %d does not follow the transformer's width %d", path, in,
                      out, t->width);
    cJSON_Delete(c);
    if (rc) return rc;
    t->n_embd = out;
    snprintf(rel, sizeof rel, "%s/model.safetensors", sub);
    psk_path_join(path, sizeof path, dir, rel);
    if (!psk_file_exists(path))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing (only safetensors checkpoints are read)", path);
    if ((rc = st_open(path, &m->ckpt2, err))) return rc;
    if ((rc = psk_w_linear(m->ckpt2, path, &t->proj, out, in, false, err, "linear.weight"))) return rc;
    if (bias) {
        int64_t s[1] = {out};
        if ((rc = psk_w_f32(m->ckpt2, path, &t->dense_b, err, 1, s, "linear.bias"))) return rc;
    }
    return PSK_OK;
}

static int load_distilbert(psk_tower *t, const st_file *f, const char *file, const char *pfx, psk_error *err) {
    int D = t->width, rc;
    int64_t sD[1] = {D}, sM[1] = {t->mlp}, sPos[2] = {t->n_pos, D};
    char tok[160];
    snprintf(tok, sizeof tok, "%sembeddings.word_embeddings.weight", pfx);
    t->tok_emb = st_find(f, tok);
    if (!t->tok_emb) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing tensor '%s'", file, tok);
    if (t->tok_emb->n_dims != 2 || t->tok_emb->shape[1] != D || t->tok_emb->shape[0] < 1 ||
        (t->tok_emb->dtype != ST_F32 && t->tok_emb->dtype != ST_F16 && t->tok_emb->dtype != ST_BF16))
        return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s' is not a float [vocab, %d] matrix", file, tok, D);
    t->vocab = (int)t->tok_emb->shape[0];
    if ((rc = psk_w_f32(f, file, &t->pos_emb, err, 2, sPos, "%sembeddings.position_embeddings.weight", pfx)) ||
        (rc = psk_w_f32(f, file, &t->emb_ln_w, err, 1, sD, "%sembeddings.LayerNorm.weight", pfx)) ||
        (rc = psk_w_f32(f, file, &t->emb_ln_b, err, 1, sD, "%sembeddings.LayerNorm.bias", pfx)))
        return rc;
    t->blocks = psk_calloc((size_t)t->n_layers, sizeof(psk_block));
    if (!t->blocks) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
    for (int l = 0; l < t->n_layers; l++) {
        psk_block *b = &t->blocks[l];
        char base[160];
        snprintf(base, sizeof base, "%stransformer.layer.%d", pfx, l);
        if ((rc = psk_w_f32(f, file, &b->ln1_w, err, 1, sD, "%s.sa_layer_norm.weight", base)) ||
            (rc = psk_w_f32(f, file, &b->ln1_b, err, 1, sD, "%s.sa_layer_norm.bias", base)) ||
            (rc = psk_w_f32(f, file, &b->ln2_w, err, 1, sD, "%s.output_layer_norm.weight", base)) ||
            (rc = psk_w_f32(f, file, &b->ln2_b, err, 1, sD, "%s.output_layer_norm.bias", base)) ||
            (rc = psk_w_linear(f, file, &b->out, D, D, false, err, "%s.attention.out_lin.weight", base)) ||
            (rc = psk_w_f32(f, file, &b->out_b, err, 1, sD, "%s.attention.out_lin.bias", base)) ||
            (rc = psk_w_linear(f, file, &b->fc1, t->mlp, D, false, err, "%s.ffn.lin1.weight", base)) ||
            (rc = psk_w_f32(f, file, &b->fc1_b, err, 1, sM, "%s.ffn.lin1.bias", base)) ||
            (rc = psk_w_linear(f, file, &b->fc2, D, t->mlp, false, err, "%s.ffn.lin2.weight", base)) ||
            (rc = psk_w_f32(f, file, &b->fc2_b, err, 1, sD, "%s.ffn.lin2.bias", base)))
            return rc;
        /* (with deferred packing only the biases are read: the packed matrix comes from the cache) */
        float *w = psk_pack_deferred ? NULL : psk_malloc_aligned(sizeof(float) * 3 * (size_t)D * D);
        b->qkv_b = psk_malloc_aligned(sizeof(float) * 3 * (size_t)D);
        if ((!w && !psk_pack_deferred) || !b->qkv_b) {
            psk_free_aligned(w);
            return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
        }
        static const char *parts[3] = {"q_lin", "k_lin", "v_lin"};
        int64_t sDD[2] = {D, D};
        for (int p = 0; p < 3 && !rc; p++) {
            float *wp = NULL, *bp = NULL;
            if (!(rc = w ? psk_w_f32(f, file, &wp, err, 2, sDD, "%s.attention.%s.weight", base, parts[p]) : 0) &&
                !(rc = psk_w_f32(f, file, &bp, err, 1, sD, "%s.attention.%s.bias", base, parts[p]))) {
                if (w) memcpy(w + (size_t)p * D * D, wp, sizeof(float) * (size_t)D * D);
                memcpy(b->qkv_b + (size_t)p * D, bp, sizeof(float) * (size_t)D);
            }
            psk_free_aligned(wp);
            psk_free_aligned(bp);
        }
        if (!rc && !w) b->qkv = (psk_packed){.n = 3 * D, .k = D};
        else if (!rc && psk_pack_weights(w, 3 * D, D, D, false, &b->qkv))
            rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
        psk_free_aligned(w);
        if (rc) return rc;
    }
    return PSK_OK;
}

int psk_mclip_load(psk_model *m, const char *dir, psk_error *err) {
    char path[1200];
    cJSON *modules = NULL, *cfg = NULL, *sb = NULL, *tc = NULL;
    int rc;
    psk_path_join(path, sizeof path, dir, "modules.json");
    if ((rc = psk_json_load(path, 1 << 20, &modules, err))) return rc;
    const char *pool_dir = module_path(modules, "Pooling"), *dense_dir = module_path(modules, "Dense");
    if (!pool_dir) rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: no Pooling module", path);
    if (!rc) rc = load_pooling(dir, pool_dir, err);
    psk_tower *t = &m->text;
    psk_path_join(path, sizeof path, dir, "config.json");
    if (!rc) rc = psk_json_load(path, 1 << 20, &cfg, err);
    if (!rc) {
        const char *type = psk_json_string(cfg, "model_type", "");
        if (strcmp(type, "distilbert") != 0)
            rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: model_type '%s' (only distilbert text models are supported)",
                          path, type);
        t->width = (int)psk_json_number(cfg, "dim", 768);
        t->n_layers = (int)psk_json_number(cfg, "n_layers", 6);
        t->n_heads = (int)psk_json_number(cfg, "n_heads", 12);
        t->mlp = (int)psk_json_number(cfg, "hidden_dim", 3072);
        t->n_pos = (int)psk_json_number(cfg, "max_position_embeddings", 512);
        const char *act = psk_json_string(cfg, "activation", "gelu");
        if (!rc && strcmp(act, "gelu") != 0)
            rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: activation '%s' (only gelu)", path, act);
        if (!rc && psk_json_bool(cfg, "sinusoidal_pos_embds", false))
            rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: sinusoidal position embeddings are not supported", path);
        t->act = PSK_ACT_GELU_ERF;
        t->eps = 1e-12f; /* DistilBERT's LayerNorm eps, which its config does not state */
        t->post_ln = true;
        t->n_embd = t->width;
        if (!rc && (t->width <= 0 || t->width > 16384 || t->n_layers <= 0 || t->n_layers > 256 || t->n_heads <= 0 ||
                    t->width % t->n_heads || t->mlp <= 0 || t->mlp > 65536 || t->n_pos <= 0 || t->n_pos > 8192))
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: implausible DistilBERT dimensions", path);
    }
    /* max_seq_length: sentence_bert_config.json, else the tokenizer's model_max_length; never past the positions. */
    int max_len = t->n_pos;
    psk_path_join(path, sizeof path, dir, "sentence_bert_config.json");
    if (!rc && psk_file_exists(path) && !(rc = psk_json_load(path, 1 << 20, &sb, err))) {
        int v = (int)psk_json_number(sb, "max_seq_length", 0);
        if (v > 0 && v < max_len) max_len = v;
    }
    psk_path_join(path, sizeof path, dir, "tokenizer_config.json");
    if (!rc && !(sb && psk_json_get(sb, "max_seq_length")) && psk_file_exists(path) &&
        !(rc = psk_json_load(path, 1 << 20, &tc, err))) {
        double v = psk_json_number(tc, "model_max_length", 0);
        if (v > 0 && v < max_len) max_len = (int)v;
    }
    m->n_ctx = max_len;
    cJSON_Delete(sb);
    cJSON_Delete(tc);
    cJSON_Delete(cfg);
    if (!rc) {
        psk_path_join(path, sizeof path, dir, "model.safetensors");
        if (!psk_file_exists(path))
            rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing (only safetensors checkpoints are read)", path);
        else if (!(rc = st_open(path, &m->ckpt, err))) {
            /* Some exports prefix the keys with the model name. */
            const char *pfx = st_find(m->ckpt, "distilbert.embeddings.word_embeddings.weight") ? "distilbert." : "";
            rc = load_distilbert(t, m->ckpt, path, pfx, err);
        }
    }
    if (!rc && dense_dir) rc = load_dense(m, dir, dense_dir, err);
    cJSON_Delete(modules);
    if (!rc) rc = psk_wordpiece_load(&m->wordpiece, dir, err);
    if (rc) return rc;
    m->has_text = true;
    const uint8_t *hdr = m->ckpt->map.data;
    uint64_t h = psk_fnv1a64(hdr, m->ckpt->map.size < 65536 ? m->ckpt->map.size : 65536);
    for (size_t o = 0; o < m->ckpt->map.size; o += m->ckpt->map.size / 64 + 1) h = (h ^ hdr[o]) * 0x100000001b3ULL;
    snprintf(m->id, sizeof m->id, "mclip-distilbert-%dx%d-%d:%016llx", t->width, t->n_layers, t->n_embd,
             (unsigned long long)h);
    return PSK_OK;
}
