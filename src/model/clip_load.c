/* Loads CLIP towers from the Hugging Face CLIPModel layout (also inside a sentence-transformers 0_CLIPModel/
 * wrapper) and from the OpenCLIP layout. Every dimension comes from the config. */
#include "model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Tensor names of one layout. %d is the layer index. */
typedef struct clip_names {
    const char *block, *ln1, *ln2, *fc1, *fc2, *out;
    const char *q, *k, *v; /* separate q/k/v projections (HF), or NULL with `in_proj` set (OpenCLIP) */
    const char *in_proj_w, *in_proj_b;
} clip_names;

static const clip_names hf_names = {"%s.encoder.layers.%d", "layer_norm1", "layer_norm2", "mlp.fc1",
                                    "mlp.fc2", "self_attn.out_proj", "self_attn.q_proj", "self_attn.k_proj",
                                    "self_attn.v_proj", NULL, NULL};
static const clip_names oc_names = {"%stransformer.resblocks.%d", "ln_1", "ln_2", "mlp.c_fc", "mlp.c_proj",
                                    "attn.out_proj", NULL, NULL, NULL, "attn.in_proj_weight", "attn.in_proj_bias"};

static int load_blocks(psk_tower *t, const st_file *f, const char *file, const clip_names *nm, const char *prefix,
                       psk_error *err) {
    int D = t->width;
    t->blocks = psk_calloc((size_t)t->n_layers, sizeof(psk_block));
    if (!t->blocks) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
    int64_t sD[1] = {D}, sM[1] = {t->mlp}, s3D[1] = {3 * D};
    for (int l = 0; l < t->n_layers; l++) {
        psk_block *b = &t->blocks[l];
        char base[160];
        snprintf(base, sizeof base, nm->block, prefix, l);
        int rc;
        if ((rc = psk_w_f32(f, file, &b->ln1_w, err, 1, sD, "%s.%s.weight", base, nm->ln1)) ||
            (rc = psk_w_f32(f, file, &b->ln1_b, err, 1, sD, "%s.%s.bias", base, nm->ln1)) ||
            (rc = psk_w_f32(f, file, &b->ln2_w, err, 1, sD, "%s.%s.weight", base, nm->ln2)) ||
            (rc = psk_w_f32(f, file, &b->ln2_b, err, 1, sD, "%s.%s.bias", base, nm->ln2)) ||
            (rc = psk_w_linear(f, file, &b->out, D, D, false, err, "%s.%s.weight", base, nm->out)) ||
            (rc = psk_w_f32(f, file, &b->out_b, err, 1, sD, "%s.%s.bias", base, nm->out)) ||
            (rc = psk_w_linear(f, file, &b->fc1, t->mlp, D, false, err, "%s.%s.weight", base, nm->fc1)) ||
            (rc = psk_w_f32(f, file, &b->fc1_b, err, 1, sM, "%s.%s.bias", base, nm->fc1)) ||
            (rc = psk_w_linear(f, file, &b->fc2, D, t->mlp, false, err, "%s.%s.weight", base, nm->fc2)) ||
            (rc = psk_w_f32(f, file, &b->fc2_b, err, 1, sD, "%s.%s.bias", base, nm->fc2)))
            return rc;
        if (nm->in_proj_w) {
            if ((rc = psk_w_linear(f, file, &b->qkv, 3 * D, D, false, err, "%s.%s", base, nm->in_proj_w)) ||
                (rc = psk_w_f32(f, file, &b->qkv_b, err, 1, s3D, "%s.%s", base, nm->in_proj_b)))
                return rc;
        } else {
            /* Stack q, k, v into one matrix so that one GEMM computes all three. */
            /* (with deferred packing only the biases are read: the packed matrix comes from the cache) */
            float *w = psk_pack_deferred ? NULL : psk_malloc_aligned(sizeof(float) * 3 * (size_t)D * D);
            b->qkv_b = psk_malloc_aligned(sizeof(float) * 3 * (size_t)D);
            if ((!w && !psk_pack_deferred) || !b->qkv_b) {
                psk_free_aligned(w);
                return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
            }
            const char *parts[3] = {nm->q, nm->k, nm->v};
            int64_t sDD[2] = {D, D};
            for (int p = 0; p < 3; p++) {
                float *wp, *bp;
                if (w && (rc = psk_w_f32(f, file, &wp, err, 2, sDD, "%s.%s.weight", base, parts[p]))) {
                    psk_free_aligned(w);
                    return rc;
                }
                if (w) {
                    memcpy(w + (size_t)p * D * D, wp, sizeof(float) * (size_t)D * D);
                    psk_free_aligned(wp);
                }
                if ((rc = psk_w_f32(f, file, &bp, err, 1, sD, "%s.%s.bias", base, parts[p]))) {
                    psk_free_aligned(w);
                    return rc;
                }
                memcpy(b->qkv_b + (size_t)p * D, bp, sizeof(float) * (size_t)D);
                psk_free_aligned(bp);
            }
            if (!w) {
                b->qkv = (psk_packed){.n = 3 * D, .k = D};
                continue;
            }
            rc = psk_pack_weights(w, 3 * D, D, D, false, &b->qkv);
            psk_free_aligned(w);
            if (rc) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
        }
    }
    return PSK_OK;
}

static int check_dims(const psk_tower *t, const char *file, const char *what, psk_error *err) {
    if (t->width <= 0 || t->width > 16384 || t->n_layers <= 0 || t->n_layers > 256 || t->n_heads <= 0 ||
        t->width % t->n_heads != 0 || t->mlp <= 0 || t->mlp > 65536 || t->n_embd <= 0 || t->n_embd > 16384)
        return psk_fail(err, PSK_ERR_FORMAT,
                        "%s: implausible %s config (width %d, layers %d, heads %d, mlp %d, embed %d)", file, what,
                        t->width, t->n_layers, t->n_heads, t->mlp, t->n_embd);
    return PSK_OK;
}

static int load_vision(psk_tower *t, const st_file *f, const char *file, bool openclip, psk_error *err) {
    int rc;
    if ((rc = check_dims(t, file, "vision", err))) return rc;
    if (t->patch <= 0 || t->image_size <= 0 || t->image_size % t->patch != 0 || t->image_size > 4096)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: image size %d is not a multiple of patch size %d", file,
                        t->image_size, t->patch);
    int D = t->width, g = t->image_size / t->patch;
    t->n_pos = g * g + 1;
    int64_t sD[1] = {D}, sPos[2] = {t->n_pos, D}, sPatch[4] = {D, 3, t->patch, t->patch};
    const char *pfx = openclip ? "visual." : "vision_model.";
    float *pw;
    if ((rc = psk_w_f32(f, file, &t->class_emb, err, 1, sD, openclip ? "%sclass_embedding" : "%sembeddings.class_embedding", pfx)) ||
        (rc = psk_w_f32(f, file, &t->pos_emb, err, 2, sPos,
                        openclip ? "%spositional_embedding" : "%sembeddings.position_embedding.weight", pfx)) ||
        (rc = psk_w_f32(f, file, &t->ln_pre_w, err, 1, sD, openclip ? "%sln_pre.weight" : "%spre_layrnorm.weight", pfx)) ||
        (rc = psk_w_f32(f, file, &t->ln_pre_b, err, 1, sD, openclip ? "%sln_pre.bias" : "%spre_layrnorm.bias", pfx)) ||
        (rc = psk_w_f32(f, file, &t->ln_final_w, err, 1, sD, openclip ? "%sln_post.weight" : "%spost_layernorm.weight", pfx)) ||
        (rc = psk_w_f32(f, file, &t->ln_final_b, err, 1, sD, openclip ? "%sln_post.bias" : "%spost_layernorm.bias", pfx)) ||
        (rc = psk_w_f32(f, file, &pw, err, 4, sPatch, openclip ? "%sconv1.weight" : "%sembeddings.patch_embedding.weight", pfx)))
        return rc;
    if (psk_pack_deferred) t->patch_w = (psk_packed){.n = D, .k = 3 * t->patch * t->patch};
    else rc = psk_pack_weights(pw, D, 3 * t->patch * t->patch, 3 * t->patch * t->patch, false, &t->patch_w);
    psk_free_aligned(pw);
    if (rc) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
    if (openclip)
        rc = psk_w_linear(f, file, &t->proj, t->n_embd, D, true, err, "visual.proj");
    else
        rc = psk_w_linear(f, file, &t->proj, t->n_embd, D, false, err, "visual_projection.weight");
    if (rc) return rc;
    return load_blocks(t, f, file, openclip ? &oc_names : &hf_names, openclip ? "visual." : "vision_model", err);
}

static int load_text(psk_tower *t, const st_file *f, const char *file, bool openclip, psk_error *err) {
    int rc;
    if ((rc = check_dims(t, file, "text", err))) return rc;
    int D = t->width;
    int64_t sD[1] = {D}, sPos[2] = {t->n_pos, D};
    const char *tok = openclip ? "token_embedding.weight" : "text_model.embeddings.token_embedding.weight";
    t->tok_emb = st_find(f, tok);
    if (!t->tok_emb) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing tensor '%s'", file, tok);
    if (t->tok_emb->n_dims != 2 || t->tok_emb->shape[1] != D || t->tok_emb->shape[0] < 1 ||
        (t->tok_emb->dtype != ST_F32 && t->tok_emb->dtype != ST_F16 && t->tok_emb->dtype != ST_BF16))
        return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s' is not a float [vocab, %d] matrix", file, tok, D);
    t->vocab = (int)t->tok_emb->shape[0];
    if ((rc = psk_w_f32(f, file, &t->pos_emb, err, 2, sPos,
                        openclip ? "positional_embedding" : "text_model.embeddings.position_embedding.weight")) ||
        (rc = psk_w_f32(f, file, &t->ln_final_w, err, 1, sD, openclip ? "ln_final.weight" : "text_model.final_layer_norm.weight")) ||
        (rc = psk_w_f32(f, file, &t->ln_final_b, err, 1, sD, openclip ? "ln_final.bias" : "text_model.final_layer_norm.bias")))
        return rc;
    if (openclip)
        rc = psk_w_linear(f, file, &t->proj, t->n_embd, D, true, err, "text_projection");
    else
        rc = psk_w_linear(f, file, &t->proj, t->n_embd, D, false, err, "text_projection.weight");
    if (rc) return rc;
    return load_blocks(t, f, file, openclip ? &oc_names : &hf_names, openclip ? "" : "text_model", err);
}

static psk_act parse_act(const char *s, const char *file, int *rc, psk_error *err) {
    if (!s || strcmp(s, "quick_gelu") == 0) return PSK_ACT_QUICK_GELU;
    if (strcmp(s, "gelu") == 0) return PSK_ACT_GELU_ERF;
    *rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: unsupported activation '%s'", file, s);
    return PSK_ACT_NONE;
}

static void read_mean_std(psk_model *m, const cJSON *mean, const cJSON *std) {
    static const float dm[3] = {0.48145466f, 0.4578275f, 0.40821073f}, ds[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    for (int c = 0; c < 3; c++) {
        const cJSON *a = cJSON_IsArray(mean) ? cJSON_GetArrayItem(mean, c) : NULL;
        const cJSON *b = cJSON_IsArray(std) ? cJSON_GetArrayItem(std, c) : NULL;
        m->mean[c] = cJSON_IsNumber(a) ? (float)a->valuedouble : dm[c];
        m->std[c] = cJSON_IsNumber(b) && b->valuedouble > 0 ? (float)b->valuedouble : ds[c];
    }
}

int psk_clip_load(psk_model *m, const char *dir, const psk_model_params *p, psk_error *err) {
    char path[1200], ckpt[1200];
    bool openclip = false;
    psk_path_join(path, sizeof path, dir, "open_clip_config.json");
    if (psk_file_exists(path)) openclip = true;
    else psk_path_join(path, sizeof path, dir, "config.json");
    cJSON *cfg = NULL;
    int rc = psk_json_load(path, 1 << 20, &cfg, err);
    if (rc) return rc;
    psk_tower *v = &m->vision, *t = &m->text;
    if (openclip) {
        const cJSON *mc = psk_json_get(cfg, "model_cfg");
        if (!mc) mc = cfg;
        int embed = (int)psk_json_number(mc, "embed_dim", 512);
        psk_act act = psk_json_bool(mc, "quick_gelu", false) ? PSK_ACT_QUICK_GELU : PSK_ACT_GELU_ERF;
        v->width = (int)psk_json_number(mc, "vision_cfg.width", 768);
        v->n_layers = (int)psk_json_number(mc, "vision_cfg.layers", 12);
        int head_width = (int)psk_json_number(mc, "vision_cfg.head_width", 64);
        v->n_heads = head_width > 0 ? v->width / head_width : 0;
        v->mlp = (int)(v->width * psk_json_number(mc, "vision_cfg.mlp_ratio", 4.0));
        v->image_size = (int)psk_json_number(mc, "vision_cfg.image_size", 224);
        v->patch = (int)psk_json_number(mc, "vision_cfg.patch_size", 32);
        t->width = (int)psk_json_number(mc, "text_cfg.width", 512);
        t->n_layers = (int)psk_json_number(mc, "text_cfg.layers", 12);
        t->n_heads = (int)psk_json_number(mc, "text_cfg.heads", 8);
        t->mlp = (int)(t->width * psk_json_number(mc, "text_cfg.mlp_ratio", 4.0));
        t->n_pos = (int)psk_json_number(mc, "text_cfg.context_length", 77);
        v->n_embd = t->n_embd = embed;
        v->act = t->act = act;
        v->eps = t->eps = 1e-5f;
        read_mean_std(m, psk_json_get(cfg, "preprocess_cfg.mean"), psk_json_get(cfg, "preprocess_cfg.std"));
        psk_path_join(ckpt, sizeof ckpt, dir, "open_clip_model.safetensors");
    } else {
        int embed = (int)psk_json_number(cfg, "projection_dim", 512);
        v->width = (int)psk_json_number(cfg, "vision_config.hidden_size", 768);
        v->n_layers = (int)psk_json_number(cfg, "vision_config.num_hidden_layers", 12);
        v->n_heads = (int)psk_json_number(cfg, "vision_config.num_attention_heads", 12);
        v->mlp = (int)psk_json_number(cfg, "vision_config.intermediate_size", 3072);
        v->image_size = (int)psk_json_number(cfg, "vision_config.image_size", 224);
        v->patch = (int)psk_json_number(cfg, "vision_config.patch_size", 32);
        v->eps = (float)psk_json_number(cfg, "vision_config.layer_norm_eps", 1e-5);
        v->act = parse_act(psk_json_string(cfg, "vision_config.hidden_act", "quick_gelu"), path, &rc, err);
        t->width = (int)psk_json_number(cfg, "text_config.hidden_size", 512);
        t->n_layers = (int)psk_json_number(cfg, "text_config.num_hidden_layers", 12);
        t->n_heads = (int)psk_json_number(cfg, "text_config.num_attention_heads", 8);
        t->mlp = (int)psk_json_number(cfg, "text_config.intermediate_size", 2048);
        t->n_pos = (int)psk_json_number(cfg, "text_config.max_position_embeddings", 77);
        t->eps = (float)psk_json_number(cfg, "text_config.layer_norm_eps", 1e-5);
        t->act = parse_act(psk_json_string(cfg, "text_config.hidden_act", "quick_gelu"), path, &rc, err);
        t->eos_id = (int32_t)psk_json_number(cfg, "text_config.eos_token_id", 49407);
        v->n_embd = t->n_embd = embed;
        psk_path_join(ckpt, sizeof ckpt, dir, "model.safetensors");
        /* The image processor's mean/std, when the folder has one. */
        char pp[1200];
        cJSON *pc = NULL;
        psk_path_join(pp, sizeof pp, dir, "preprocessor_config.json");
        if (rc == PSK_OK && psk_file_exists(pp) && (rc = psk_json_load(pp, 1 << 20, &pc, err)) == PSK_OK) {
            read_mean_std(m, psk_json_get(pc, "image_mean"), psk_json_get(pc, "image_std"));
            int crop = (int)psk_json_number(pc, "crop_size.height", psk_json_number(pc, "crop_size", v->image_size));
            if (crop != v->image_size)
                rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: crop size %d differs from the model's image size %d", pp,
                              crop, v->image_size);
            cJSON_Delete(pc);
        } else if (rc == PSK_OK) {
            read_mean_std(m, NULL, NULL);
        }
    }
    if (t->eos_id == 0) t->eos_id = 49407;
    cJSON_Delete(cfg);
    if (rc) return rc;
    if (t->n_pos <= 0 || t->n_pos > 4096)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: implausible text context length %d", path, t->n_pos);
    m->n_ctx = t->n_pos;
    if ((rc = st_open(ckpt, &m->ckpt, err))) return rc;
    m->has_vision = p->load_vision;
    m->has_text = p->load_text;
    if (m->has_vision && (rc = load_vision(v, m->ckpt, ckpt, openclip, err))) return rc;
    if (m->has_text) {
        if ((rc = load_text(t, m->ckpt, ckpt, openclip, err))) return rc;
        if ((rc = psk_bpe_load(&m->bpe, dir, err))) return rc;
    }
    /* The identity covers the dimensions and the checkpoint's header bytes (names, shapes, offsets). */
    const uint8_t *hdr = m->ckpt->map.data;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | hdr[i];
    uint64_t h = psk_fnv1a64(hdr, 8 + (size_t)hlen);
    /* Fold in a sample of the data too, so that two checkpoints with equal headers differ. */
    size_t data_len = m->ckpt->map.size - 8 - (size_t)hlen, step = data_len / 64 + 1;
    for (size_t o = 0; o < data_len; o += step) h = (h ^ hdr[8 + hlen + o]) * 0x100000001b3ULL;
    snprintf(m->id, sizeof m->id, "clip-%dx%d-%d:%016llx", v->width ? v->width : t->width, v->n_layers,
             v->n_embd, (unsigned long long)h);
    return PSK_OK;
}
