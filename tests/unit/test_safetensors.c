/* The safetensors reader against hand-broken files, one defect each, and the dtype conversions. */
#include "test.h"

#include "../../src/model/model.h"

/* Builds a file image: 8-byte header length + header + data. hlen_override < 0 means the real length. */
static size_t build(uint8_t *out, const char *header, size_t data_len, long long hlen_override) {
    size_t h = strlen(header);
    uint64_t hl = hlen_override >= 0 ? (uint64_t)hlen_override : h;
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(hl >> (8 * i));
    memcpy(out + 8, header, h);
    memset(out + 8 + h, 0, data_len);
    return 8 + h + data_len;
}

typedef struct bad_case {
    const char *what, *header;
    size_t data_len;
    long long hlen;
    size_t truncate_to; /* 0: keep */
    int code;
    const char *message; /* a part of the expected message */
} bad_case;

static const bad_case bad_cases[] = {
    {"truncated", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16, -1, 5, PSK_ERR_FORMAT, "not a safetensors file"},
    {"header length past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, 100000, 0, PSK_ERR_FORMAT, "does not fit"},
    {"bad JSON", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],", 4, -1, 0, PSK_ERR_FORMAT, "not a valid JSON"},
    {"wrong byte count", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,16]}}", 16, -1, 0, PSK_ERR_FORMAT, "need 12 bytes"},
    {"unknown dtype", "{\"a\":{\"dtype\":\"F12\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, -1, 0, PSK_ERR_UNSUPPORTED, "unknown dtype"},
    {"overlapping ranges", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, -1, 0, PSK_ERR_FORMAT, "overlap"},
    {"range past the data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8, -1, 0, PSK_ERR_FORMAT, "outside the data area"},
    {"negative dimension", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, -1, 0, PSK_ERR_FORMAT, "invalid shape"},
    {"huge shape overflow", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4, -1, 0, PSK_ERR_FORMAT, "invalid shape"},
    {"entry not an object", "{\"a\":5}", 0, -1, 0, PSK_ERR_FORMAT, "needs dtype"},
    {"header not an object", "[1,2,3]", 0, -1, 0, PSK_ERR_FORMAT, "not a valid JSON object"},
    {"tiny header length", "{}", 0, 1, 0, PSK_ERR_FORMAT, "does not fit"},
};

TEST(safetensors_broken_files_give_clear_errors) {
    uint8_t buf[1024];
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        size_t n = build(buf, c->header, c->data_len, c->hlen);
        if (c->truncate_to) n = c->truncate_to;
        st_file *f = NULL;
        psk_error err = {0};
        int rc = st_parse(buf, n, "broken.safetensors", &f, &err);
        CHECKF(rc == c->code, "%s: got %d, want %d (%s)", c->what, rc, c->code, err.message);
        CHECKF(f == NULL, "%s: file handed back on error", c->what);
        CHECKF(strstr(err.message, "broken.safetensors") && strstr(err.message, c->message),
               "%s: message '%s' lacks '%s'", c->what, err.message, c->message);
    }
}

TEST(safetensors_valid_file_and_dtypes) {
    uint8_t buf[512];
    const char *h = "{\"__metadata__\":{\"format\":\"pt\"},\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[6,10]},"
                    "\"ids\":{\"dtype\":\"I64\",\"shape\":[1,2],\"data_offsets\":[10,26]}}";
    size_t n = build(buf, h, 26, -1);
    uint8_t *data = buf + 8 + strlen(h);
    uint16_t f16[3] = {0x3c00, 0xc000, 0x0001}; /* 1.0, -2.0, the smallest subnormal */
    uint16_t bf[2] = {0x3f80, 0x4049};          /* 1.0, 3.140625 */
    memcpy(data, f16, 6);
    memcpy(data + 6, bf, 4);
    st_file *f;
    psk_error err = {0};
    CHECKF(st_parse(buf, n, "ok.safetensors", &f, &err) == PSK_OK, "%s", err.message);
    CHECK(f->n == 3);
    float out[3];
    st_convert_f32(st_find(f, "h"), 0, 3, out);
    CHECK(out[0] == 1.0f && out[1] == -2.0f && fabsf(out[2] - 5.9604645e-8f) < 1e-12f);
    st_convert_f32(st_find(f, "b"), 0, 2, out);
    CHECK(out[0] == 1.0f && out[1] == 3.140625f);
    float *w;
    int64_t shape[1] = {4};
    CHECK(st_get_f32(f, "ok.safetensors", "h", 1, shape, &w, &err) == PSK_ERR_FORMAT);
    CHECKF(strstr(err.message, "'h' has shape [3], expected [4]"), "%s", err.message);
    CHECK(st_get_f32(f, "ok.safetensors", "missing", 1, shape, &w, &err) == PSK_ERR_NOT_FOUND);
    CHECKF(strstr(err.message, "missing tensor 'missing'"), "%s", err.message);
    CHECK(st_get_f32(f, "ok.safetensors", "ids", 1, shape, &w, &err) == PSK_ERR_UNSUPPORTED);
    st_free(f);
}

/* A model folder whose checkpoint is broken: the error names the checkpoint and the problem. */
TEST(model_with_broken_checkpoint_is_refused) {
    char dir[600], path[700], cmd[4096];
    snprintf(dir, sizeof dir, "%s/broken-model", test_tmpdir());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s' '%s' '%s/' && head -c 5000 '%s' > '%s/model.safetensors'",
             dir, fixture_path("models/tiny-clip/config.json"), fixture_path("models/tiny-clip/vocab.json"),
             fixture_path("models/tiny-clip/merges.txt"), dir, fixture_path("models/tiny-clip/model.safetensors"), dir);
    CHECK(system(cmd) == 0);
    psk_model *m = NULL;
    psk_error err = {0};
    CHECK(psk_model_load(dir, NULL, &m, &err) == PSK_ERR_FORMAT);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECKF(strstr(err.message, path) && strstr(err.message, "does not fit"), "%s", err.message);
    CHECK(m == NULL);
    CHECK(psk_model_load("/nonexistent/model", NULL, &m, &err) == PSK_ERR_NOT_FOUND);
    CHECK(psk_model_load(test_tmpdir(), NULL, &m, &err) == PSK_ERR_NOT_FOUND);
    CHECKF(strstr(err.message, "not a model folder"), "%s", err.message);
}
