/* Tokenizers against Hugging Face's ids for every fixture text. */
#include "test.h"

#include <cjson/cJSON.h>

static void check_ids(psk_model *m, const char *text, const cJSON *want, int truncate_to, int end_id) {
    int32_t ids[4096];
    int n = 0;
    psk_error err = {0};
    CHECKF(psk_model_tokenize(m, text, ids, 4096, &n, &err) == PSK_OK, "'%s': %s", text, err.message);
    if (truncate_to && n > truncate_to) {
        ids[truncate_to - 1] = end_id;
        n = truncate_to;
    }
    CHECKF(n == cJSON_GetArraySize(want), "'%.40s': %d ids, want %d", text, n, cJSON_GetArraySize(want));
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, want) {
        CHECKF(ids[i] == it->valueint, "'%.40s': id %d is %d, want %d", text, i, ids[i], it->valueint);
        i++;
    }
}

/* Every fixture case through the CLIP tokenizer of a freshly loaded tiny model. */
static void clip_cases(void) {
    cJSON *ref = load_json_fixture("refs/tokenize_clip.json");
    CHECK(ref);
    psk_model *m;
    psk_error err = {0};
    psk_model_params p = psk_model_default_params();
    p.load_vision = 0;
    CHECKF(psk_model_load(fixture_path("models/tiny-clip"), &p, &m, &err) == PSK_OK, "%s", err.message);
    int cases = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(ref, "cases")) {
        const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
        check_ids(m, text, cJSON_GetObjectItem(c, "ids"), 0, 0);
        if (test_failed()) break;
        /* ids_77 without the padding: truncated to 77 with the end token last */
        cJSON *ids77 = cJSON_GetObjectItem(c, "ids_77"), *mask = cJSON_GetObjectItem(c, "mask_77");
        cJSON *trimmed = cJSON_CreateArray();
        for (int i = 0; i < cJSON_GetArraySize(ids77); i++)
            if (cJSON_GetArrayItem(mask, i)->valueint)
                cJSON_AddItemToArray(trimmed, cJSON_CreateNumber(cJSON_GetArrayItem(ids77, i)->valueint));
        check_ids(m, text, trimmed, 77, 49407);
        cJSON_Delete(trimmed);
        if (test_failed()) break;
        cases++;
    }
    psk_model_free(m);
    cJSON_Delete(ref);
    CHECKF(cases == 25, "%d cases", cases);
}

TEST(clip_bpe_matches_huggingface_on_all_cases) {
    setenv("PHOTOSEEK_PACK_CACHE", "", 1); /* built from vocab.json and merges.txt, no cache */
    clip_cases();
    unsetenv("PHOTOSEEK_PACK_CACHE");
}

/* The tokenizer cache (src/model/tokcache.c): written on the first load, mapped on the next, and a damaged or
 * stale file is a miss, never a crash or wrong ids. */
TEST(clip_bpe_from_the_tokenizer_cache) {
    char cache[600], cmd[1400];
    snprintf(cache, sizeof cache, "%s/tokcache", test_tmpdir());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache);
    CHECK(system(cmd) == 0);
    setenv("PHOTOSEEK_PACK_CACHE", cache, 1);
    clip_cases(); /* a miss: built, then written */
    snprintf(cmd, sizeof cmd, "test $(ls '%s'/*-bpe.tok | wc -l) = 1", cache);
    CHECKF(system(cmd) == 0, "no tokenizer cache file in %s", cache);
    clip_cases(); /* a hit: the mapped tables */
    /* a damaged header (a byte of the key): a miss, rebuilt and rewritten */
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*-bpe.tok) && printf X | dd of=\"$f\" bs=1 seek=20 conv=notrunc 2>/dev/null", cache);
    CHECK(system(cmd) == 0);
    clip_cases();
    /* a cut file: a miss */
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*-bpe.tok) && truncate -s 5000 \"$f\"", cache);
    CHECK(system(cmd) == 0);
    clip_cases();
    /* a body overwritten behind a valid header: lookups stay in bounds (ids may be wrong, nothing crashes) */
    snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*-bpe.tok) && head -c 200000 /dev/urandom | dd of=\"$f\" bs=1 seek=4096 conv=notrunc 2>/dev/null", cache);
    CHECK(system(cmd) == 0);
    psk_model *m;
    psk_error err = {0};
    psk_model_params p = psk_model_default_params();
    p.load_vision = 0;
    CHECKF(psk_model_load(fixture_path("models/tiny-clip"), &p, &m, &err) == PSK_OK, "%s", err.message);
    int32_t ids[128];
    int n = 0;
    CHECK(psk_model_tokenize(m, "a photo of a cat on the beach, 1984 ☃ 猫", ids, 128, &n, &err) == PSK_OK && n >= 2);
    psk_model_free(m);
    unsetenv("PHOTOSEEK_PACK_CACHE");
}

TEST(clip_bpe_from_tokenizer_json_only) {
    /* The OpenCLIP fixture has no config.json; give a folder with only tokenizer.json to be sure that path works. */
    char dir[600], cmd[4096];
    snprintf(dir, sizeof dir, "%s/tokjson", test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s' '%s' '%s/'", dir, fixture_path("models/tiny-clip/config.json"),
             fixture_path("models/tiny-clip/model.safetensors"), fixture_path("models/tiny-clip/tokenizer.json"), dir);
    CHECK(system(cmd) == 0);
    psk_model *m;
    psk_error err = {0};
    CHECKF(psk_model_load(dir, NULL, &m, &err) == PSK_OK, "%s", err.message);
    cJSON *want = cJSON_Parse("[49406, 320, 1125, 539, 320, 2368, 49407]");
    check_ids(m, "a photo of a cat", want, 0, 0);
    cJSON_Delete(want);
    psk_model_free(m);
}

TEST(wordpiece_matches_huggingface_on_all_cases) {
    cJSON *ref = load_json_fixture("refs/tokenize_wordpiece.json");
    CHECK(ref);
    const char *dirs[] = {"models/tiny-mclip", "models/tiny-mclip-legacy"};
    for (int d = 0; d < 2; d++) {
        psk_model *m;
        psk_error err = {0};
        CHECKF(psk_model_load(fixture_path(dirs[d]), NULL, &m, &err) == PSK_OK, "%s", err.message);
        CHECK(psk_model_n_ctx(m) == 128);
        int cases = 0;
        const cJSON *c, *list = cJSON_GetObjectItem(ref, "cases");
        cJSON_ArrayForEach(c, list) {
            check_ids(m, cJSON_GetObjectItem(c, "text")->valuestring, cJSON_GetObjectItem(c, "ids"), 128, 102);
            if (test_failed()) break;
            cases++;
        }
        psk_model_free(m);
        CHECKF(cases == 21, "%d cases", cases);
    }
    cJSON_Delete(ref);
}

TEST(tokenizers_reject_invalid_utf8) {
    const char *dirs[] = {"models/tiny-clip", "models/tiny-mclip"};
    const char *bad[] = {"caf\xc3", "\xff\xfe", "a\xed\xa0\x80z", "\xc0\xaf"};
    for (int d = 0; d < 2; d++) {
        psk_model *m;
        psk_error err = {0};
        psk_model_params p = psk_model_default_params();
        p.load_vision = 0;
        CHECK(psk_model_load(fixture_path(dirs[d]), &p, &m, &err) == PSK_OK);
        for (int i = 0; i < 4; i++) {
            int32_t ids[16];
            int n;
            int rc = psk_model_tokenize(m, bad[i], ids, 16, &n, &err);
            if (rc != PSK_ERR_INVALID_ARG || !strstr(err.message, "UTF-8")) {
                psk_model_free(m);
                CHECKF(false, "%s: invalid UTF-8 case %d gave %d (%s)", dirs[d], i, rc, err.message);
            }
        }
        psk_model_free(m);
    }
}

TEST(every_script_round_trips_through_both_tokenizers) {
    const char *texts[] = {"a photo of a cat", "甜甜圈生日蛋糕", "東京タワーの夜景", "서울의 봄", "قطة على الأريكة",
                           "кошка на диване", "Ein Hund läuft am Strand", "😀 emoji 🎂🍩", "नमस्ते दुनिया", "ελληνικά"};
    const char *dirs[] = {"models/tiny-clip", "models/tiny-mclip"};
    for (int d = 0; d < 2; d++) {
        psk_model *m;
        psk_error err = {0};
        CHECK(psk_model_load(fixture_path(dirs[d]), NULL, &m, &err) == PSK_OK);
        psk_context *ctx;
        CHECK(psk_context_new(m, NULL, &ctx, &err) == PSK_OK);
        float out[10 * 64];
        int rc = psk_encode_texts(ctx, texts, 10, out, &err);
        bool finite = true;
        for (int i = 0; i < 10 * psk_model_n_embd(m); i++) finite = finite && isfinite(out[i]);
        psk_context_free(ctx);
        psk_model_free(m);
        CHECKF(rc == PSK_OK && finite, "%s: %s", dirs[d], err.message);
    }
}
