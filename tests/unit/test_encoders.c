/* Encoders against the PyTorch references: tiny models in every layout, and the full-size architectures with
 * synthetic weights generated here. */
#include "test.h"

#include "../../src/model/model.h"

#include <cjson/cJSON.h>

#define TOL 1e-4
#define COS 0.99999

static float *read_pixels(const char *image) {
    char rel[256];
    snprintf(rel, sizeof rel, "refs/pixels/%.*s.f32", (int)(strrchr(image, '.') - image), image);
    FILE *f = fopen(fixture_path(rel), "rb");
    if (!f) return NULL;
    float *v = malloc(sizeof(float) * 3 * 224 * 224);
    size_t n = fread(v, sizeof(float), 3 * 224 * 224, f);
    fclose(f);
    if (n != 3 * 224 * 224) {
        free(v);
        return NULL;
    }
    return v;
}

static bool near(const cJSON *ref, const float *got, int n, const char *what) {
    int rn;
    double *r = json_doubles(ref, &rn);
    double d = rel_diff(r, got, n), c = cosine(r, got, n);
    free(r);
    if (rn != n || d > TOL || c < COS) {
        test_fail(__FILE__, __LINE__, "%s: %d vs %d values, rel diff %.3g, cosine %.8f", what, rn, n, d, c);
        return false;
    }
    return true;
}

/* Images (from reference pixels and from the files), texts: everything in embeddings_tiny_clip.json. */
static void check_clip_model(const char *dir, cJSON *ref, bool from_files) {
    psk_model *m;
    psk_error err = {0};
    CHECKF(psk_model_load(fixture_path(dir), NULL, &m, &err) == PSK_OK, "%s", err.message);
    CHECK(psk_model_n_embd(m) == 24);
    psk_context *ctx;
    CHECK(psk_context_new(m, NULL, &ctx, &err) == PSK_OK);
    const cJSON *c;
    float emb[64], *px = malloc(sizeof(float) * 3 * 224 * 224);
    int n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "images")) {
        const char *image = cJSON_GetObjectItem(c, "image")->valuestring;
        float *p = read_pixels(image);
        CHECKF(p, "no pixels for %s", image);
        CHECK_OK(psk_encode_pixels(ctx, p, 1, emb, err_));
        free(p);
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb, 24, image)) break;
        if (from_files) {
            char rel[256];
            snprintf(rel, sizeof rel, "images/%s", image);
            psk_image *img;
            CHECK_OK(psk_image_load(fixture_path(rel), NULL, &img, err_));
            CHECK_OK(psk_model_preprocess(m, img, px, err_));
            psk_image_free(img);
            CHECK_OK(psk_encode_pixels(ctx, px, 1, emb, err_));
            int rn;
            double *r = json_doubles(cJSON_GetObjectItem(c, "embedding"), &rn);
            double cs = cosine(r, emb, 24);
            free(r);
            CHECKF(cs >= 0.995, "%s from the file: cosine %.5f", image, cs);
        }
        n++;
    }
    CHECKF(n == 18, "%d images", n);
    n = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "texts")) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        CHECK_OK(psk_encode_texts(ctx, &text, 1, emb, err_));
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb, 24, text)) break;
        n++;
    }
    CHECKF(n == 25, "%d texts", n);
    free(px);
    psk_context_free(ctx);
    psk_model_free(m);
}

TEST(tiny_clip_embeddings_match_pytorch) {
    cJSON *ref = load_json_fixture("refs/embeddings_tiny_clip.json");
    CHECK(ref);
    check_clip_model("models/tiny-clip", ref, true);
    cJSON_Delete(ref);
}

TEST(tiny_clip_openclip_layout_matches_pytorch) {
    cJSON *ref = load_json_fixture("refs/embeddings_tiny_clip.json");
    CHECK(ref);
    check_clip_model("models/tiny-clip-openclip", ref, false);
    cJSON_Delete(ref);
}

TEST(sentence_transformers_wrapper_of_clip_loads) {
    /* modules.json + 0_CLIPModel/ around the Hugging Face folder */
    char dir[600], cmd[4096];
    snprintf(dir, sizeof dir, "%s/st-clip", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%s/0_CLIPModel' && cp '%s'/* '%s/0_CLIPModel/' && printf '%%s' '[{\"idx\": 0, \"name\": \"0\", "
             "\"path\": \"0_CLIPModel\", \"type\": \"sentence_transformers.models.CLIPModel\"}]' > '%s/modules.json'",
             dir, fixture_path("models/tiny-clip"), dir, dir);
    CHECK(system(cmd) == 0);
    cJSON *ref = load_json_fixture("refs/embeddings_tiny_clip.json");
    CHECK(ref);
    psk_model *m;
    psk_error err = {0};
    CHECKF(psk_model_load(dir, NULL, &m, &err) == PSK_OK, "%s", err.message);
    CHECK(psk_model_get_kind(m) == PSK_MODEL_CLIP);
    psk_context *ctx;
    CHECK(psk_context_new(m, NULL, &ctx, &err) == PSK_OK);
    const cJSON *t = cJSON_GetArrayItem(cJSON_GetObjectItem(ref, "texts"), 0);
    const char *text = cJSON_GetObjectItem(t, "text")->valuestring;
    float emb[24];
    CHECK_OK(psk_encode_texts(ctx, &text, 1, emb, err_));
    near(cJSON_GetObjectItem(t, "embedding"), emb, 24, text);
    psk_context_free(ctx);
    psk_model_free(m);
    cJSON_Delete(ref);
}

static void check_mclip(const char *dir) {
    cJSON *ref = load_json_fixture("refs/embeddings_tiny_mclip.json");
    CHECK(ref);
    psk_model *m;
    psk_error err = {0};
    CHECKF(psk_model_load(fixture_path(dir), NULL, &m, &err) == PSK_OK, "%s", err.message);
    CHECK(psk_model_get_kind(m) == PSK_MODEL_MCLIP && psk_model_n_embd(m) == 24 && !psk_model_has_vision(m));
    psk_context *ctx;
    CHECK(psk_context_new(m, NULL, &ctx, &err) == PSK_OK);
    const cJSON *c, *cases = cJSON_GetObjectItem(ref, "texts");
    int n = 0, total = cJSON_GetArraySize(cases);
    const char **texts = malloc(sizeof(char *) * total);
    float emb[24], *batch = malloc(sizeof(float) * 24 * total);
    cJSON_ArrayForEach(c, cases) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        texts[n] = text;
        CHECK_OK(psk_encode_texts(ctx, &text, 1, emb, err_));
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb, 24, text)) break;
        n++;
    }
    /* All texts in one batch give the same vectors as one at a time. */
    CHECK_OK(psk_encode_texts(ctx, texts, total, batch, err_));
    for (int i = 0; i < total && !test_failed(); i++)
        near(cJSON_GetObjectItem(cJSON_GetArrayItem(cases, i), "embedding"), batch + 24 * i, 24, texts[i]);
    free(texts);
    free(batch);
    psk_context_free(ctx);
    psk_model_free(m);
    cJSON_Delete(ref);
    CHECKF(n == total && total == 20, "%d of %d texts", n, total);
}

TEST(tiny_mclip_embeddings_match_sentence_transformers) {
    check_mclip("models/tiny-mclip");
}

TEST(tiny_mclip_legacy_layout_gives_the_same_embeddings) {
    check_mclip("models/tiny-mclip-legacy");
}

TEST(synthetic_weights_match_the_known_answers) {
    int64_t s768[1] = {768}, s512[2] = {512, 512};
    float v0 = psk_synth_value("vision_model.embeddings.class_embedding", 1, s768, 0);
    float v767 = psk_synth_value("vision_model.embeddings.class_embedding", 1, s768, 767);
    float ln = psk_synth_value("vision_model.pre_layrnorm.weight", 1, s768, 0);
    float q = psk_synth_value("text_model.encoder.layers.0.self_attn.q_proj.weight", 2, s512, 0);
    float q_last = psk_synth_value("text_model.encoder.layers.0.self_attn.q_proj.weight", 2, s512, 512 * 512 - 1);
    float ls = psk_synth_value("logit_scale", 0, NULL, 0);
    CHECK(v0 == 0.01118479948490858f && v767 == 0.04786495119333267f);
    CHECK(ln == 1.0129327774047852f);
    CHECK(q == 0.0370187871158123f && q_last == 0.012276486493647099f);
    CHECK(ls == 4.605170249938965f);
    CHECK(psk_fnv1a64("vision_model.embeddings.class_embedding", 39) == 0x5b5637333d3ba2a5ULL);
}

/* Every tensor of a generated checkpoint against the fixture's list of names, shapes, first values and sums. */
static void check_tensor_list(const char *ckpt, const char *ref_rel) {
    cJSON *ref = load_json_fixture(ref_rel);
    CHECK(ref);
    st_file *f;
    psk_error err = {0};
    CHECKF(st_open(ckpt, &f, &err) == PSK_OK, "%s", err.message);
    const cJSON *t;
    int n = 0, want = 0;
    cJSON_ArrayForEach(t, cJSON_GetObjectItem(ref, "tensors")) {
        const char *name = cJSON_GetObjectItem(t, "name")->valuestring;
        if (strcmp(name, "linear.weight") == 0) continue; /* lives in 2_Dense/ */
        want++;
        const st_tensor *x = st_find(f, name);
        if (!x) {
            test_fail(__FILE__, __LINE__, "%s: missing %s", ckpt, name);
            break;
        }
        float first;
        st_convert_f32(x, 0, 1, &first);
        double sum = 0;
        float buf[4096];
        for (size_t i = 0; i < x->n_elem; i += 4096) {
            size_t k = x->n_elem - i < 4096 ? x->n_elem - i : 4096;
            st_convert_f32(x, i, k, buf);
            for (size_t j = 0; j < k; j++) sum += buf[j];
        }
        double ws = cJSON_GetObjectItem(t, "sum")->valuedouble;
        if (first != (float)cJSON_GetObjectItem(t, "first")->valuedouble || fabs(sum - ws) > 1e-6 * (1 + fabs(ws)) * 100) {
            test_fail(__FILE__, __LINE__, "%s: first %g sum %.9g, want %.9g", name, first, sum, ws);
            break;
        }
        n++;
    }
    CHECKF(n == want && f->n == want, "%d of %d tensors checked, file has %d", n, want, f->n);
    st_free(f);
    cJSON_Delete(ref);
}

static const char *synth_dir(const char *arch) {
    static char dirs[2][600];
    int i = strcmp(arch, "clip-vit-b-32") == 0 ? 0 : 1;
    snprintf(dirs[i], sizeof dirs[i], "%s/synth-%s", test_tmpdir(), arch);
    char probe[700];
    snprintf(probe, sizeof probe, "%s/model.safetensors", dirs[i]);
    FILE *f = fopen(probe, "rb");
    if (f) {
        fclose(f);
        return dirs[i];
    }
    psk_error err = {0};
    if (psk_model_synth(arch, i == 0 ? fixture_path("models/tiny-clip") : NULL, dirs[i], &err) != PSK_OK) {
        fprintf(stderr, "synth: %s\n", err.message);
        return NULL;
    }
    return dirs[i];
}

TEST(full_size_clip_synthetic_matches_pytorch) {
    const char *dir = synth_dir("clip-vit-b-32");
    CHECK(dir);
    char ckpt[700];
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", dir);
    check_tensor_list(ckpt, "refs/full_clip_tensors.json");
    if (test_failed()) return;
    cJSON *ref = load_json_fixture("refs/embeddings_full_clip_synth.json");
    CHECK(ref);
    psk_model *m;
    psk_error err = {0};
    CHECKF(psk_model_load(dir, NULL, &m, &err) == PSK_OK, "%s", err.message);
    CHECK(psk_model_n_embd(m) == 512 && psk_model_image_size(m) == 224);
    psk_context *ctx;
    CHECK(psk_context_new(m, NULL, &ctx, &err) == PSK_OK);
    const cJSON *c, *images = cJSON_GetObjectItem(ref, "images");
    int n = cJSON_GetArraySize(images), i = 0;
    float *px = malloc(sizeof(float) * 3 * 224 * 224 * n), *emb = malloc(sizeof(float) * 512 * n);
    cJSON_ArrayForEach(c, images) {
        float *p = read_pixels(cJSON_GetObjectItem(c, "image")->valuestring);
        CHECK(p);
        memcpy(px + (size_t)i++ * 3 * 224 * 224, p, sizeof(float) * 3 * 224 * 224);
        free(p);
    }
    CHECK_OK(psk_encode_pixels(ctx, px, n, emb, err_)); /* all four in one batch */
    i = 0;
    cJSON_ArrayForEach(c, images) {
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb + 512 * i++, 512, cJSON_GetObjectItem(c, "image")->valuestring))
            break;
    }
    int texts = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "texts")) {
        int cnt;
        double *ids_d = json_doubles(cJSON_GetObjectItem(c, "ids_77"), &cnt);
        int32_t ids[77];
        for (int k = 0; k < cnt && k < 77; k++) ids[k] = (int32_t)ids_d[k];
        free(ids_d);
        CHECK_OK(psk_encode_ids(ctx, ids, cnt, emb, err_));
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb, 512, cJSON_GetObjectItem(c, "text")->valuestring)) break;
        /* and from the text itself, through the tokenizer */
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        CHECK_OK(psk_encode_texts(ctx, &text, 1, emb, err_));
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb, 512, text)) break;
        texts++;
    }
    CHECKF(texts == 6, "%d texts", texts);
    free(px);
    free(emb);
    psk_context_free(ctx);
    psk_model_free(m);
    cJSON_Delete(ref);
}

TEST(full_size_mclip_synthetic_matches_pytorch) {
    const char *dir = synth_dir("mclip-distilbert");
    CHECK(dir);
    char ckpt[700];
    snprintf(ckpt, sizeof ckpt, "%s/model.safetensors", dir);
    check_tensor_list(ckpt, "refs/full_mclip_tensors.json");
    if (test_failed()) return;
    cJSON *ref = load_json_fixture("refs/embeddings_full_mclip_synth.json");
    CHECK(ref);
    psk_model *m;
    psk_error err = {0};
    CHECKF(psk_model_load(dir, NULL, &m, &err) == PSK_OK, "%s", err.message);
    CHECK(psk_model_n_embd(m) == 512);
    psk_context *ctx;
    CHECK(psk_context_new(m, NULL, &ctx, &err) == PSK_OK);
    const cJSON *c, *cases = cJSON_GetObjectItem(ref, "cases");
    int n = cJSON_GetArraySize(cases), i = 0;
    int32_t *ids[8];
    int lens[8];
    float emb[512], *batch = malloc(sizeof(float) * 512 * n);
    cJSON_ArrayForEach(c, cases) {
        int cnt;
        double *d = json_doubles(cJSON_GetObjectItem(c, "ids"), &cnt);
        ids[i] = malloc(sizeof(int32_t) * cnt);
        for (int k = 0; k < cnt; k++) ids[i][k] = (int32_t)d[k];
        lens[i] = cnt;
        free(d);
        CHECK_OK(psk_encode_ids(ctx, ids[i], cnt, emb, err_));
        char what[32];
        snprintf(what, sizeof what, "id sequence %d", i);
        if (!near(cJSON_GetObjectItem(c, "embedding"), emb, 512, what)) break;
        i++;
    }
    CHECKF(i == 4 && n == 4, "%d of %d sequences", i, n);
    /* A batch of sequences of different lengths equals the single runs. */
    CHECK_OK(psk_text_forward(ctx, (const int32_t *const *)ids, lens, n, batch, err_));
    for (i = 0; i < n && !test_failed(); i++) {
        char what[32];
        snprintf(what, sizeof what, "batched sequence %d", i);
        near(cJSON_GetObjectItem(cJSON_GetArrayItem(cases, i), "embedding"), batch + 512 * i, 512, what);
    }
    for (i = 0; i < n; i++) free(ids[i]);
    free(batch);
    psk_context_free(ctx);
    psk_model_free(m);
    cJSON_Delete(ref);
}

/* int8: every fixture embedding at cosine >= 0.99 with float32 (measured: > 0.999), and the same best image for
 * every reference text. */
TEST(int8_encoders_stay_close_to_float32) {
    cJSON *ref = load_json_fixture("refs/embeddings_tiny_clip.json");
    CHECK(ref);
    psk_model *m32, *m8;
    psk_model_params p = psk_model_default_params();
    CHECK_OK(psk_model_load(fixture_path("models/tiny-clip"), &p, &m32, err_));
    p.precision = PSK_PRECISION_INT8;
    CHECK_OK(psk_model_load(fixture_path("models/tiny-clip"), &p, &m8, err_));
    CHECK(strstr(psk_model_id(m8), "+int8") && !strstr(psk_model_id(m32), "+int8"));
    psk_context *c32, *c8;
    CHECK_OK(psk_context_new(m32, NULL, &c32, err_));
    CHECK_OK(psk_context_new(m8, NULL, &c8, err_));
    const cJSON *images = cJSON_GetObjectItem(ref, "images"), *texts = cJSON_GetObjectItem(ref, "texts"), *c;
    int ni = cJSON_GetArraySize(images), nt = cJSON_GetArraySize(texts), i = 0;
    float *px = malloc(sizeof(float) * 3 * 224 * 224 * ni), *e32 = malloc(sizeof(float) * 24 * ni),
          *e8 = malloc(sizeof(float) * 24 * ni), t32[24], t8[24];
    cJSON_ArrayForEach(c, images) {
        float *one = read_pixels(cJSON_GetObjectItem(c, "image")->valuestring);
        CHECK(one);
        memcpy(px + (size_t)i++ * 3 * 224 * 224, one, sizeof(float) * 3 * 224 * 224);
        free(one);
    }
    CHECK_OK(psk_encode_pixels(c32, px, ni, e32, err_));
    CHECK_OK(psk_encode_pixels(c8, px, ni, e8, err_));
    for (i = 0; i < ni; i++) {
        double d32[24];
        for (int d = 0; d < 24; d++) d32[d] = e32[i * 24 + d];
        double cs = cosine(d32, e8 + i * 24, 24);
        CHECKF(cs >= 0.99, "image %d: cosine %.5f", i, cs);
        psk_normalize(e32 + i * 24, 24);
        psk_normalize(e8 + i * 24, 24);
    }
    int same_top1 = 0;
    cJSON_ArrayForEach(c, texts) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        CHECK_OK(psk_encode_texts(c32, &text, 1, t32, err_));
        CHECK_OK(psk_encode_texts(c8, &text, 1, t8, err_));
        double d32[24];
        for (int d = 0; d < 24; d++) d32[d] = t32[d];
        CHECKF(cosine(d32, t8, 24) >= 0.99, "'%s': cosine %.5f", text, cosine(d32, t8, 24));
        int best32 = 0, best8 = 0;
        float s32 = -2, s8 = -2;
        for (i = 0; i < ni; i++) {
            float a = 0, b = 0;
            for (int d = 0; d < 24; d++) {
                a += t32[d] * e32[i * 24 + d];
                b += t8[d] * e8[i * 24 + d];
            }
            if (a > s32) s32 = a, best32 = i;
            if (b > s8) s8 = b, best8 = i;
        }
        same_top1 += best32 == best8;
    }
    CHECKF(same_top1 == nt, "the same best image for %d of %d texts", same_top1, nt);
    free(px);
    free(e32);
    free(e8);
    psk_context_free(c32);
    psk_context_free(c8);
    psk_model_free(m32);
    psk_model_free(m8);
    cJSON_Delete(ref);
}
