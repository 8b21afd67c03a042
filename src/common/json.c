#include "common.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

int psk_json_load(const char *path, size_t max_size, cJSON **out, psk_error *err) {
    char *data;
    size_t size;
    int rc = psk_read_file(path, max_size, &data, &size, err);
    if (rc) return rc;
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(data, size, &end, 0);
    if (!j) {
        size_t pos = end && end >= data ? (size_t)(end - data) : 0;
        psk_free(data);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: invalid JSON near byte %zu", path, pos);
    }
    psk_free(data);
    *out = j;
    return PSK_OK;
}

const cJSON *psk_json_get(const cJSON *obj, const char *path) {
    char part[128];
    while (obj && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part) return NULL;
        memcpy(part, path, n);
        part[n] = 0;
        obj = cJSON_GetObjectItemCaseSensitive(obj, part);
        path += n + (dot ? 1 : 0);
    }
    return obj;
}

double psk_json_number(const cJSON *obj, const char *path, double dflt) {
    const cJSON *v = psk_json_get(obj, path);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

const char *psk_json_string(const cJSON *obj, const char *path, const char *dflt) {
    const cJSON *v = psk_json_get(obj, path);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

bool psk_json_bool(const cJSON *obj, const char *path, bool dflt) {
    const cJSON *v = psk_json_get(obj, path);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}
