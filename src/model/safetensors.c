/* The safetensors reader. File format (https://github.com/huggingface/safetensors):
 *   bytes 0..7    u64 little-endian N: length of the JSON header
 *   bytes 8..8+N  JSON object: "name": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]},
 *                 plus an optional "__metadata__" object of strings
 *   the rest      the data area; offsets are relative to its start
 * Everything is validated before any tensor is used: header inside the file, valid JSON, known dtypes,
 * shape x element size == end - begin, ranges inside the data area and not overlapping. */
#include "model.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    st_dtype dtype;
    int size;
} dtypes[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8}, {"I64", ST_I64, 8},
    {"I32", ST_I32, 4}, {"I16", ST_I16, 2}, {"I8", ST_I8, 1},     {"U8", ST_U8, 1},   {"BOOL", ST_BOOL, 1},
};

int st_dtype_size(st_dtype d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == d) return dtypes[i].size;
    return 0;
}

static int cmp_range(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

void st_free(st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) psk_free(f->tensors[i].name);
    psk_free(f->tensors);
    psk_mmap_close(&f->map);
    psk_free(f);
}

int st_parse(const void *data, size_t size, const char *name, st_file **out, psk_error *err) {
    *out = NULL;
    const uint8_t *p = data;
    if (size < 8) return psk_fail(err, PSK_ERR_FORMAT, "%s: not a safetensors file (only %zu bytes)", name, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | p[i];
    if (hlen < 2 || hlen > size - 8)
        return psk_fail(err, PSK_ERR_FORMAT,
                        "%s: safetensors header length %llu does not fit in the file (%zu bytes)", name,
                        (unsigned long long)hlen, size);
    if (hlen > 100u * 1024 * 1024)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: safetensors header too large (%llu bytes)", name,
                        (unsigned long long)hlen);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)p + 8, (size_t)hlen, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: safetensors header is not a valid JSON object", name);
    }
    size_t data_size = size - 8 - (size_t)hlen;
    st_file *f = psk_calloc(1, sizeof *f);
    int count = cJSON_GetArraySize(root);
    if (!f || !(f->tensors = psk_calloc((size_t)count + 1, sizeof(st_tensor)))) {
        psk_free(f);
        cJSON_Delete(root);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    }
    f->data = p + 8 + hlen;
    int rc = PSK_OK;
    for (cJSON *it = root->child; it; it = it->next) {
        if (!it->string) continue;
        if (strcmp(it->string, "__metadata__") == 0) continue;
        st_tensor *t = &f->tensors[f->n];
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
        const cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsObject(it) || !cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
            cJSON_GetArraySize(offs) != 2) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s': entry needs dtype, shape and data_offsets", name,
                          it->string);
            break;
        }
        int elem = 0;
        for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
            if (strcmp(dt->valuestring, dtypes[i].name) == 0) {
                t->dtype = dtypes[i].dtype;
                elem = dtypes[i].size;
            }
        if (!elem) {
            rc = psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype '%.16s'", name, it->string,
                          dt->valuestring);
            break;
        }
        int nd = cJSON_GetArraySize(shape);
        if (nd > ST_MAX_DIMS) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s': %d dimensions (at most %d)", name, it->string, nd,
                          ST_MAX_DIMS);
            break;
        }
        size_t n_elem = 1;
        bool bad = false;
        t->n_dims = nd;
        for (int d = 0; d < nd; d++) {
            const cJSON *v = cJSON_GetArrayItem(shape, d);
            if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e15 ||
                v->valuedouble != (double)(int64_t)v->valuedouble) {
                bad = true;
                break;
            }
            t->shape[d] = (int64_t)v->valuedouble;
            if (!psk_mul_size(n_elem, (size_t)t->shape[d], &n_elem)) bad = true;
        }
        size_t n_bytes = 0;
        if (bad || !psk_mul_size(n_elem, (size_t)elem, &n_bytes)) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s': invalid shape", name, it->string);
            break;
        }
        const cJSON *b = cJSON_GetArrayItem(offs, 0), *e = cJSON_GetArrayItem(offs, 1);
        if (!cJSON_IsNumber(b) || !cJSON_IsNumber(e) || b->valuedouble < 0 || e->valuedouble < b->valuedouble ||
            e->valuedouble > (double)data_size || b->valuedouble != (double)(uint64_t)b->valuedouble ||
            e->valuedouble != (double)(uint64_t)e->valuedouble) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s': data_offsets outside the data area (%zu bytes)",
                          name, it->string, data_size);
            break;
        }
        t->offset = (size_t)b->valuedouble;
        t->n_bytes = (size_t)e->valuedouble - t->offset;
        if (t->n_bytes != n_bytes) {
            rc = psk_fail(err, PSK_ERR_FORMAT,
                          "%s: tensor '%s': shape and dtype need %zu bytes but data_offsets give %zu", name,
                          it->string, n_bytes, t->n_bytes);
            break;
        }
        t->n_elem = n_elem;
        t->data = f->data + t->offset;
        if (!(t->name = psk_strdup(it->string))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
            break;
        }
        f->n++;
    }
    cJSON_Delete(root);
    if (rc == PSK_OK && f->n > 1) {
        st_tensor **order = psk_malloc(sizeof(st_tensor *) * (size_t)f->n);
        if (!order) rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
        for (int i = 0; order && i < f->n; i++) order[i] = &f->tensors[i];
        if (order) qsort(order, (size_t)f->n, sizeof *order, cmp_range);
        for (int i = 1; order && i < f->n && rc == PSK_OK; i++) {
            if (order[i]->offset < order[i - 1]->offset + order[i - 1]->n_bytes)
                rc = psk_fail(err, PSK_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap in the data area", name,
                              order[i - 1]->name, order[i]->name);
        }
        psk_free(order);
    }
    if (rc) {
        st_free(f);
        return rc;
    }
    *out = f;
    return PSK_OK;
}

int st_open(const char *path, st_file **out, psk_error *err) {
    psk_mmap map;
    int rc = psk_mmap_open(path, &map, err);
    if (rc) return rc;
    rc = st_parse(map.data, map.size, path, out, err);
    if (rc) {
        psk_mmap_close(&map);
        return rc;
    }
    (*out)->map = map;
    return PSK_OK;
}

const st_tensor *st_find(const st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000 | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

void st_convert_f32(const st_tensor *t, size_t first, size_t count, float *out) {
    /* one loop per type: a model's load converts hundreds of MB, and a switch per element doubled its time */
    const uint8_t *src = t->data;
    switch (t->dtype) {
    case ST_F32: memcpy(out, src + 4 * first, 4 * count); break;
    case ST_F64:
        for (size_t i = 0; i < count; i++) {
            double d;
            memcpy(&d, src + 8 * (first + i), 8);
            out[i] = (float)d;
        }
        break;
    case ST_F16:
        for (size_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * (first + i), 2);
            out[i] = half_to_float(h);
        }
        break;
    case ST_BF16:
        for (size_t i = 0; i < count; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * (first + i), 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(&out[i], &bits, 4);
        }
        break;
    default: memset(out, 0, sizeof(float) * count); break;
    }
}

int st_get_f32(const st_file *f, const char *file_name, const char *name, int n_dims, const int64_t *shape,
               float **out, psk_error *err) {
    *out = NULL;
    const st_tensor *t = st_find(f, name);
    if (!t) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing tensor '%s'", file_name, name);
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16 && t->dtype != ST_F64)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: tensor '%s' is not floating point", file_name, name);
    size_t expect = 1;
    bool same = true;
    /* A 1-element tensor may be stored as [] or [1]. */
    for (int d = 0; d < n_dims; d++) expect *= (size_t)shape[d];
    if (t->n_dims != n_dims) same = false;
    for (int d = 0; same && d < n_dims; d++)
        if (t->shape[d] != shape[d]) same = false;
    if (!same && !(expect == 1 && t->n_elem == 1)) {
        char want[96] = "", got[96] = "";
        for (int d = 0; d < n_dims; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? "," : "", (long long)shape[d]);
        for (int d = 0; d < t->n_dims; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? "," : "", (long long)t->shape[d]);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s' has shape [%s], expected [%s]", file_name, name, got,
                        want);
    }
    float *buf = psk_malloc_aligned(expect * sizeof(float));
    if (!buf) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory for tensor '%s'", file_name, name);
    st_convert_f32(t, 0, expect, buf);
    *out = buf;
    return PSK_OK;
}
