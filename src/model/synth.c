/* Full-size model folders with synthetic weights (fixtures/SYNTH_WEIGHTS.md): every tensor is a function of its
 * name and shape, so a C program and PyTorch generate the same bits, and full-size encoders can be tested and
 * benchmarked on machines that cannot download real checkpoints. */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static uint64_t mix(uint64_t v) {
    v += 0x9e3779b97f4a7c15ULL;
    v = (v ^ (v >> 30)) * 0xbf58476d1ce4e5b9ULL;
    v = (v ^ (v >> 27)) * 0x94d049bb133111ebULL;
    return v ^ (v >> 31);
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* (offset, scale) by the first matching rule; returns false for the constant logit_scale. */
static bool synth_rule(const char *name, int n_dims, const int64_t *shape, double *offset, double *scale) {
    char low[256];
    size_t n = strlen(name);
    if (n >= sizeof low) n = sizeof low - 1;
    for (size_t i = 0; i < n; i++) low[i] = (char)tolower((unsigned char)name[i]);
    low[n] = 0;
    if (ends_with(low, "logit_scale")) return false;
    *offset = 0.0;
    if (strstr(low, "norm")) {
        bool weight = ends_with(name, ".weight");
        *offset = weight ? 1.0 : 0.0;
        *scale = 0.1;
    } else if (ends_with(low, ".bias")) {
        *scale = 0.02;
    } else if (strstr(low, "embedding") && !strstr(low, "patch_embedding")) {
        *scale = 0.1;
    } else if (n_dims >= 2) {
        double fan_in = 1;
        for (int d = 1; d < n_dims; d++) fan_in *= (double)shape[d];
        *scale = 1.0 / sqrt(fan_in);
    } else {
        *scale = 0.02;
    }
    return true;
}

static inline float synth_from(uint64_t seed, uint64_t i, double offset, double scale) {
    uint64_t x = mix(seed + i);
    double r = (double)(x >> 40) / 16777216.0 * 2.0 - 1.0;
    return (float)(offset + scale * r);
}

float psk_synth_value(const char *name, int n_dims, const int64_t *shape, uint64_t i) {
    double offset, scale;
    if (!synth_rule(name, n_dims, shape, &offset, &scale)) return (float)4.605170185988092;
    return synth_from(psk_fnv1a64(name, strlen(name)), i, offset, scale);
}

/* ---- tensor lists ---- */
typedef struct synth_tensor {
    char name[128];
    int n_dims;
    int64_t shape[4];
} synth_tensor;

typedef struct synth_list {
    synth_tensor *t;
    int n, cap;
} synth_list;

static int add(synth_list *l, int n_dims, int64_t d0, int64_t d1, int64_t d2, int64_t d3, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
static int add(synth_list *l, int n_dims, int64_t d0, int64_t d1, int64_t d2, int64_t d3, const char *fmt, ...) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 64;
        synth_tensor *t = psk_realloc(l->t, sizeof *t * (size_t)cap);
        if (!t) return PSK_ERR_NOMEM;
        l->t = t;
        l->cap = cap;
    }
    synth_tensor *t = &l->t[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->n_dims = n_dims;
    int64_t s[4] = {d0, d1, d2, d3};
    memcpy(t->shape, s, sizeof s);
    return PSK_OK;
}

static int clip_layers(synth_list *l, const char *tower, int layers, int D, int M) {
    int rc = 0;
    for (int i = 0; i < layers && !rc; i++) {
        const char *p = tower;
        static const char *proj[] = {"k_proj", "v_proj", "q_proj", "out_proj"};
        for (int j = 0; j < 4 && !rc; j++) {
            rc = add(l, 2, D, D, 0, 0, "%s.encoder.layers.%d.self_attn.%s.weight", p, i, proj[j]);
            if (!rc) rc = add(l, 1, D, 0, 0, 0, "%s.encoder.layers.%d.self_attn.%s.bias", p, i, proj[j]);
        }
        if (!rc) rc = add(l, 1, D, 0, 0, 0, "%s.encoder.layers.%d.layer_norm1.weight", p, i);
        if (!rc) rc = add(l, 1, D, 0, 0, 0, "%s.encoder.layers.%d.layer_norm1.bias", p, i);
        if (!rc) rc = add(l, 2, M, D, 0, 0, "%s.encoder.layers.%d.mlp.fc1.weight", p, i);
        if (!rc) rc = add(l, 1, M, 0, 0, 0, "%s.encoder.layers.%d.mlp.fc1.bias", p, i);
        if (!rc) rc = add(l, 2, D, M, 0, 0, "%s.encoder.layers.%d.mlp.fc2.weight", p, i);
        if (!rc) rc = add(l, 1, D, 0, 0, 0, "%s.encoder.layers.%d.mlp.fc2.bias", p, i);
        if (!rc) rc = add(l, 1, D, 0, 0, 0, "%s.encoder.layers.%d.layer_norm2.weight", p, i);
        if (!rc) rc = add(l, 1, D, 0, 0, 0, "%s.encoder.layers.%d.layer_norm2.bias", p, i);
    }
    return rc;
}

/* openai/clip-vit-base-patch32: vision 768 x 12 (patch 32, 224 px), text 512 x 12, projection 512. */
static int clip_tensors(synth_list *l) {
    int rc = add(l, 0, 0, 0, 0, 0, "logit_scale");
    if (!rc) rc = add(l, 2, 49408, 512, 0, 0, "text_model.embeddings.token_embedding.weight");
    if (!rc) rc = add(l, 2, 77, 512, 0, 0, "text_model.embeddings.position_embedding.weight");
    if (!rc) rc = clip_layers(l, "text_model", 12, 512, 2048);
    if (!rc) rc = add(l, 1, 512, 0, 0, 0, "text_model.final_layer_norm.weight");
    if (!rc) rc = add(l, 1, 512, 0, 0, 0, "text_model.final_layer_norm.bias");
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "vision_model.embeddings.class_embedding");
    if (!rc) rc = add(l, 4, 768, 3, 32, 32, "vision_model.embeddings.patch_embedding.weight");
    if (!rc) rc = add(l, 2, 50, 768, 0, 0, "vision_model.embeddings.position_embedding.weight");
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "vision_model.pre_layrnorm.weight");
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "vision_model.pre_layrnorm.bias");
    if (!rc) rc = clip_layers(l, "vision_model", 12, 768, 3072);
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "vision_model.post_layernorm.weight");
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "vision_model.post_layernorm.bias");
    if (!rc) rc = add(l, 2, 512, 768, 0, 0, "visual_projection.weight");
    if (!rc) rc = add(l, 2, 512, 512, 0, 0, "text_projection.weight");
    return rc;
}

/* The DistilBERT of sentence-transformers/clip-ViT-B-32-multilingual-v1 (6 x 768, vocab 119547). */
static int distilbert_tensors(synth_list *l) {
    int rc = add(l, 2, 119547, 768, 0, 0, "embeddings.word_embeddings.weight");
    if (!rc) rc = add(l, 2, 512, 768, 0, 0, "embeddings.position_embeddings.weight");
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "embeddings.LayerNorm.weight");
    if (!rc) rc = add(l, 1, 768, 0, 0, 0, "embeddings.LayerNorm.bias");
    for (int i = 0; i < 6 && !rc; i++) {
        static const char *lin[] = {"q_lin", "k_lin", "v_lin", "out_lin"};
        for (int j = 0; j < 4 && !rc; j++) {
            rc = add(l, 2, 768, 768, 0, 0, "transformer.layer.%d.attention.%s.weight", i, lin[j]);
            if (!rc) rc = add(l, 1, 768, 0, 0, 0, "transformer.layer.%d.attention.%s.bias", i, lin[j]);
        }
        if (!rc) rc = add(l, 1, 768, 0, 0, 0, "transformer.layer.%d.sa_layer_norm.weight", i);
        if (!rc) rc = add(l, 1, 768, 0, 0, 0, "transformer.layer.%d.sa_layer_norm.bias", i);
        if (!rc) rc = add(l, 2, 3072, 768, 0, 0, "transformer.layer.%d.ffn.lin1.weight", i);
        if (!rc) rc = add(l, 1, 3072, 0, 0, 0, "transformer.layer.%d.ffn.lin1.bias", i);
        if (!rc) rc = add(l, 2, 768, 3072, 0, 0, "transformer.layer.%d.ffn.lin2.weight", i);
        if (!rc) rc = add(l, 1, 768, 0, 0, 0, "transformer.layer.%d.ffn.lin2.bias", i);
        if (!rc) rc = add(l, 1, 768, 0, 0, 0, "transformer.layer.%d.output_layer_norm.weight", i);
        if (!rc) rc = add(l, 1, 768, 0, 0, 0, "transformer.layer.%d.output_layer_norm.bias", i);
    }
    return rc;
}

/* ---- the --outliers stress variant ----
 * Real CLIP transformers carry a few residual channels whose activations are tens to hundreds of times the rest
 * ("massive activations"), met by small weights. The variant puts 4 such channels into every CLIP block: channel c
 * of width D is an outlier for c = (2i + 1) * D / 8 + i, i = 0..3 (96, 289, 482, 675 at 768). In each block both
 * layer norms' weight and bias are multiplied by OUTLIER_GAIN at those channels, so that the normalised residual
 * entering q/k/v and fc1 carries them at ~100x the median activation, and the matching input columns of the
 * q/k/v and fc1 weights are divided by OUTLIER_GAIN: the float32 function is unchanged up to rounding, and what a
 * quantiser meets is what it meets on a real checkpoint. */
#define OUTLIER_GAIN 100.0f

static bool outlier_channel(int64_t c, int64_t width) {
    for (int64_t i = 0; i < 4; i++)
        if (c == (2 * i + 1) * width / 8 + i) return true;
    return false;
}

/* The factor of element i of tensor t in the stress variant (1 outside the rule). */
static float outlier_factor(const synth_tensor *t, uint64_t i) {
    if (!strstr(t->name, "encoder.layers.")) return 1.0f;
    if (strstr(t->name, ".layer_norm1.") || strstr(t->name, ".layer_norm2."))
        return outlier_channel((int64_t)i, t->shape[0]) ? OUTLIER_GAIN : 1.0f;
    if (t->n_dims == 2 && (strstr(t->name, "q_proj.weight") || strstr(t->name, "k_proj.weight") ||
                           strstr(t->name, "v_proj.weight") || strstr(t->name, "fc1.weight")))
        return outlier_channel((int64_t)(i % (uint64_t)t->shape[1]), t->shape[1]) ? 1.0f / OUTLIER_GAIN : 1.0f;
    return 1.0f;
}

/* Writes a safetensors file of the listed tensors (F32), generating the data as it goes. */
static int write_safetensors(const char *path, const synth_list *l, bool outliers, psk_error *err) {
    psk_buf hdr = {0};
    psk_buf_append(&hdr, "{\"__metadata__\":{\"format\":\"pt\"}", 32);
    uint64_t off = 0;
    for (int i = 0; i < l->n; i++) {
        const synth_tensor *t = &l->t[i];
        uint64_t n = 1;
        psk_buf_printf(&hdr, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", t->name);
        for (int d = 0; d < t->n_dims; d++) {
            psk_buf_printf(&hdr, d ? ",%lld" : "%lld", (long long)t->shape[d]);
            n *= (uint64_t)t->shape[d];
        }
        psk_buf_printf(&hdr, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                       (unsigned long long)(off + 4 * n));
        off += 4 * n;
    }
    psk_buf_append(&hdr, "}", 1);
    while (hdr.len % 8) psk_buf_append(&hdr, " ", 1); /* keep the data area 8-byte aligned */
    if (hdr.failed) {
        psk_buf_free(&hdr);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        psk_buf_free(&hdr);
        return psk_fail(err, PSK_ERR_IO, "%s: %s", tmp, strerror(errno));
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)hdr.len >> (8 * i));
    bool ok = fwrite(len8, 1, 8, f) == 8 && fwrite(hdr.data, 1, hdr.len, f) == hdr.len;
    psk_buf_free(&hdr);
    enum { CHUNK = 1 << 16 };
    float *buf = psk_malloc(sizeof(float) * CHUNK);
    if (!buf) ok = false;
    for (int i = 0; ok && i < l->n; i++) {
        const synth_tensor *t = &l->t[i];
        uint64_t n = 1;
        for (int d = 0; d < t->n_dims; d++) n *= (uint64_t)t->shape[d];
        double offset = 0, scale = 0;
        bool random = synth_rule(t->name, t->n_dims, t->shape, &offset, &scale);
        uint64_t seed = psk_fnv1a64(t->name, strlen(t->name));
        for (uint64_t j = 0; ok && j < n; j += CHUNK) {
            size_t k = n - j < CHUNK ? (size_t)(n - j) : CHUNK;
            for (size_t q = 0; q < k; q++)
                buf[q] = random ? synth_from(seed, j + q, offset, scale) : psk_synth_value(t->name, 0, NULL, 0);
            if (outliers)
                for (size_t q = 0; q < k; q++) buf[q] *= outlier_factor(t, j + q);
            ok = fwrite(buf, sizeof(float), k, f) == k; /* little-endian hosts only, as x86-64 and arm64 are */
        }
    }
    psk_free(buf);
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return psk_fail(err, PSK_ERR_IO, "%s: write failed", path);
    }
    return PSK_OK;
}

static int write_text(const char *dir, const char *name, const char *text, psk_error *err) {
    char path[1300];
    if (!psk_path_join(path, sizeof path, dir, name)) return psk_fail(err, PSK_ERR_INVALID_ARG, "path too long");
    return psk_write_file(path, text, strlen(text), err);
}

static int copy_file(const char *from_dir, const char *to_dir, const char *name, bool required, psk_error *err) {
    char src[1300], dst[1300];
    psk_path_join(src, sizeof src, from_dir, name);
    psk_path_join(dst, sizeof dst, to_dir, name);
    if (!psk_file_exists(src))
        return required ? psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing (needed for the tokenizer)", src) : PSK_OK;
    char *data;
    size_t size;
    int rc = psk_read_file(src, 512u << 20, &data, &size, err);
    if (rc) return rc;
    rc = psk_write_file(dst, data, size, err);
    psk_free(data);
    return rc;
}

static const char *clip_config =
    "{\n  \"architectures\": [\"CLIPModel\"],\n  \"model_type\": \"clip\",\n  \"projection_dim\": 512,\n"
    "  \"logit_scale_init_value\": 2.6592,\n"
    "  \"text_config\": {\"hidden_size\": 512, \"intermediate_size\": 2048, \"num_attention_heads\": 8,\n"
    "    \"num_hidden_layers\": 12, \"max_position_embeddings\": 77, \"vocab_size\": 49408, \"hidden_act\": \"quick_gelu\",\n"
    "    \"layer_norm_eps\": 1e-05, \"bos_token_id\": 49406, \"eos_token_id\": 49407, \"projection_dim\": 512},\n"
    "  \"vision_config\": {\"hidden_size\": 768, \"intermediate_size\": 3072, \"num_attention_heads\": 12,\n"
    "    \"num_hidden_layers\": 12, \"image_size\": 224, \"patch_size\": 32, \"hidden_act\": \"quick_gelu\",\n"
    "    \"layer_norm_eps\": 1e-05, \"num_channels\": 3, \"projection_dim\": 512}\n}\n";

static const char *clip_preprocessor =
    "{\n  \"crop_size\": {\"height\": 224, \"width\": 224},\n  \"do_center_crop\": true,\n  \"do_normalize\": true,\n"
    "  \"do_resize\": true,\n  \"image_mean\": [0.48145466, 0.4578275, 0.40821073],\n"
    "  \"image_std\": [0.26862954, 0.26130258, 0.27577711],\n  \"resample\": 3,\n"
    "  \"size\": {\"shortest_edge\": 224}\n}\n";

static const char *mclip_config =
    "{\n  \"activation\": \"gelu\",\n  \"architectures\": [\"DistilBertModel\"],\n  \"dim\": 768,\n"
    "  \"hidden_dim\": 3072,\n  \"max_position_embeddings\": 512,\n  \"model_type\": \"distilbert\",\n"
    "  \"n_heads\": 12,\n  \"n_layers\": 6,\n  \"pad_token_id\": 0,\n  \"sinusoidal_pos_embds\": false,\n"
    "  \"vocab_size\": 119547\n}\n";

static int synth_mclip(const char *out_dir, const char *tokenizer_from, psk_error *err) {
    int rc;
    char sub[1300], path[1300];
    if ((rc = write_text(out_dir, "config.json", mclip_config, err)) ||
        (rc = write_text(out_dir, "modules.json",
                         "[\n  {\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": \"sentence_transformers.models.Transformer\"},\n"
                         "  {\"idx\": 1, \"name\": \"1\", \"path\": \"1_Pooling\", \"type\": \"sentence_transformers.models.Pooling\"},\n"
                         "  {\"idx\": 2, \"name\": \"2\", \"path\": \"2_Dense\", \"type\": \"sentence_transformers.models.Dense\"}\n]\n",
                         err)) ||
        (rc = write_text(out_dir, "sentence_bert_config.json", "{\"max_seq_length\": 128, \"do_lower_case\": false}\n", err)) ||
        (rc = write_text(out_dir, "tokenizer_config.json",
                         "{\"do_lower_case\": false, \"tokenize_chinese_chars\": true, \"model_max_length\": 512}\n", err)))
        return rc;
    psk_path_join(sub, sizeof sub, out_dir, "1_Pooling");
    if ((rc = psk_mkdir_p(sub, err)) ||
        (rc = write_text(sub, "config.json",
                         "{\"word_embedding_dimension\": 768, \"pooling_mode_cls_token\": false, "
                         "\"pooling_mode_mean_tokens\": true, \"pooling_mode_max_tokens\": false}\n",
                         err)))
        return rc;
    psk_path_join(sub, sizeof sub, out_dir, "2_Dense");
    if ((rc = psk_mkdir_p(sub, err)) ||
        (rc = write_text(sub, "config.json",
                         "{\"in_features\": 768, \"out_features\": 512, \"bias\": false, "
                         "\"activation_function\": \"torch.nn.modules.linear.Identity\"}\n",
                         err)))
        return rc;
    if (tokenizer_from) {
        /* A real WordPiece vocabulary (and its settings), so that the synthetic model tokenizes words. */
        if ((rc = copy_file(tokenizer_from, out_dir, "vocab.txt", true, err)) ||
            (rc = copy_file(tokenizer_from, out_dir, "tokenizer_config.json", false, err)) ||
            (rc = copy_file(tokenizer_from, out_dir, "tokenizer.json", false, err)))
            return rc;
        char *vocab;
        size_t size, lines = 0;
        psk_path_join(path, sizeof path, out_dir, "vocab.txt");
        if ((rc = psk_read_file(path, 64u << 20, &vocab, &size, err))) return rc;
        for (size_t i = 0; i < size; i++) lines += vocab[i] == '\n';
        psk_free(vocab);
        if (lines < 104 || lines > 119547)
            return psk_fail(err, PSK_ERR_FORMAT, "%s/vocab.txt: %zu tokens; the multilingual model's embedding table "
                            "takes 104 to 119547", tokenizer_from, lines);
    } else {
        /* A placeholder vocabulary of the right size, with BERT's special tokens at their usual ids. */
        psk_buf v = {0};
        for (int i = 0; i < 119547; i++) {
            if (i == 0) psk_buf_printf(&v, "[PAD]\n");
            else if (i < 100) psk_buf_printf(&v, "[unused%d]\n", i);
            else if (i == 100) psk_buf_printf(&v, "[UNK]\n");
            else if (i == 101) psk_buf_printf(&v, "[CLS]\n");
            else if (i == 102) psk_buf_printf(&v, "[SEP]\n");
            else if (i == 103) psk_buf_printf(&v, "[MASK]\n");
            else if (i < 104 + 94) psk_buf_printf(&v, "%c\n", (char)('!' + (i - 104)));
            else psk_buf_printf(&v, "[synth%d]\n", i);
        }
        rc = v.failed ? psk_fail(err, PSK_ERR_NOMEM, "out of memory") : write_text(out_dir, "vocab.txt", v.data, err);
        psk_buf_free(&v);
        if (rc) return rc;
    }
    synth_list dense = {0}, body = {0};
    if ((rc = add(&dense, 2, 512, 768, 0, 0, "linear.weight")) || (rc = distilbert_tensors(&body))) {
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    } else {
        psk_path_join(path, sizeof path, sub, "model.safetensors");
        rc = write_safetensors(path, &dense, false, err);
        psk_path_join(path, sizeof path, out_dir, "model.safetensors");
        if (!rc) rc = write_safetensors(path, &body, false, err);
    }
    psk_free(dense.t);
    psk_free(body.t);
    return rc;
}

static psk_status synth(const char *arch, const char *tokenizer_from, const char *out_dir, bool outliers,
                        psk_error *err) {
    int rc = psk_mkdir_p(out_dir, err);
    if (rc) return rc;
    if (strcmp(arch, "mclip-distilbert") == 0) {
        if (outliers) return psk_fail(err, PSK_ERR_INVALID_ARG, "--outliers applies to clip-vit-b-32 only");
        return synth_mclip(out_dir, tokenizer_from, err);
    }
    if (strcmp(arch, "clip-vit-b-32") != 0)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "unknown architecture '%s' (clip-vit-b-32 or mclip-distilbert)", arch);
    if (!tokenizer_from)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "clip-vit-b-32 needs a folder to copy the CLIP tokenizer from");
    if ((rc = copy_file(tokenizer_from, out_dir, "vocab.json", false, err)) ||
        (rc = copy_file(tokenizer_from, out_dir, "merges.txt", false, err)) ||
        (rc = copy_file(tokenizer_from, out_dir, "tokenizer.json", false, err)) ||
        (rc = copy_file(tokenizer_from, out_dir, "tokenizer_config.json", false, err)))
        return rc;
    char check[1300];
    psk_path_join(check, sizeof check, out_dir, "tokenizer.json");
    if (!psk_file_exists(check)) {
        psk_path_join(check, sizeof check, out_dir, "merges.txt");
        if (!psk_file_exists(check))
            return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no CLIP tokenizer files to copy", tokenizer_from);
    }
    if ((rc = write_text(out_dir, "config.json", clip_config, err)) ||
        (rc = write_text(out_dir, "preprocessor_config.json", clip_preprocessor, err)))
        return rc;
    synth_list l = {0};
    if (clip_tensors(&l)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    char path[1300];
    psk_path_join(path, sizeof path, out_dir, "model.safetensors");
    if (!rc) rc = write_safetensors(path, &l, outliers, err);
    psk_free(l.t);
    return rc;
}

psk_status psk_model_synth(const char *arch, const char *tokenizer_from, const char *out_dir, psk_error *err) {
    return synth(arch, tokenizer_from, out_dir, false, err);
}

psk_status psk_model_synth_outliers(const char *arch, const char *tokenizer_from, const char *out_dir,
                                    psk_error *err) {
    return synth(arch, tokenizer_from, out_dir, true, err);
}
