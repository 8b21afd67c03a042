/* The TensorFlow.js weight loader: NAME-weights_manifest.json plus its .bin shards (format in faces.h).
 * Everything is validated before a byte of a shard is read: the manifest is a JSON array of groups, each with
 * plain shard names and weight specs of known dtypes and quantisations, finite shapes whose byte sizes do not
 * overflow, unique names; the shards must hold at least what the specs need (a truncated download names the shard
 * and the first tensor that does not fit). */
#include "faces.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TFJS_MAX_BYTES ((size_t)1 << 30) /* 1 GiB per group: face-api's largest net is 6.4 MB */
#define TFJS_MAX_MANIFEST (16u << 20)

void tfjs_manifest_free(tfjs_manifest *m) {
    if (!m) return;
    for (int i = 0; i < m->n; i++) psk_free(m->specs[i].name);
    for (int g = 0; g < m->n_groups; g++)
        for (int p = 0; p < m->groups[g].n_paths; p++) psk_free(m->groups[g].paths[p]);
    psk_free(m->specs);
    psk_free(m->groups);
    psk_free(m);
}

static bool plain_name(const char *s) {
    if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 255) return false;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20) return false;
    return true;
}

static int parse_spec(const cJSON *w, int group, const char *file, tfjs_spec *t, psk_error *err) {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(w, "name");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(w, "shape");
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(w, "dtype");
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(w, "quantization");
    if (!cJSON_IsObject(w) || !cJSON_IsString(name) || !*name->valuestring)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: a weight entry has no name", file);
    const char *nm = name->valuestring;
    if (!cJSON_IsArray(shape) || !cJSON_IsString(dtype))
        return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s': entry needs shape and dtype", file, nm);
    if (strcmp(dtype->valuestring, "float32") == 0) t->is_int = false;
    else if (strcmp(dtype->valuestring, "int32") == 0) t->is_int = true;
    else
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: tensor '%.200s': dtype '%.16s' (only float32 and int32)", file,
                        nm, dtype->valuestring);
    t->quant = 0;
    if (q) {
        const cJSON *qd = cJSON_GetObjectItemCaseSensitive(q, "dtype");
        const cJSON *sc = cJSON_GetObjectItemCaseSensitive(q, "scale");
        const cJSON *mn = cJSON_GetObjectItemCaseSensitive(q, "min");
        if (!cJSON_IsObject(q) || !cJSON_IsString(qd))
            return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s': quantization needs a dtype", file, nm);
        if (strcmp(qd->valuestring, "uint8") == 0) t->quant = 1;
        else if (strcmp(qd->valuestring, "uint16") == 0) t->quant = 2;
        else
            return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: tensor '%.200s': quantization '%.16s' (only uint8, uint16)",
                            file, nm, qd->valuestring);
        if (!cJSON_IsNumber(sc) || !cJSON_IsNumber(mn) || !isfinite(sc->valuedouble) || !isfinite(mn->valuedouble))
            return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s': quantization needs a finite scale and min",
                            file, nm);
        t->scale = sc->valuedouble;
        t->min = mn->valuedouble;
    }
    int nd = cJSON_GetArraySize(shape);
    if (nd > TFJS_MAX_DIMS)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s': %d dimensions (at most %d)", file, nm, nd,
                        TFJS_MAX_DIMS);
    size_t n = 1;
    for (int d = 0; d < nd; d++) {
        const cJSON *v = cJSON_GetArrayItem(shape, d);
        if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= 1e12) ||
            v->valuedouble != floor(v->valuedouble) || !psk_mul_size(n, (size_t)v->valuedouble, &n))
            return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s': invalid shape", file, nm);
        t->shape[d] = (int64_t)v->valuedouble;
    }
    t->n_dims = nd;
    t->n_elem = n;
    if (!psk_mul_size(n, t->quant ? (size_t)t->quant : 4, &t->n_bytes) || t->n_bytes > TFJS_MAX_BYTES)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s': invalid shape (too large)", file, nm);
    t->group = group;
    if (!(t->name = psk_strdup(nm))) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
    return PSK_OK;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const tfjs_spec *const *)a)->name, (*(const tfjs_spec *const *)b)->name);
}

int tfjs_manifest_parse(const char *text, size_t len, const char *file, tfjs_manifest **out, psk_error *err) {
    *out = NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root || !cJSON_IsArray(root) || cJSON_GetArraySize(root) == 0) {
        cJSON_Delete(root);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: not a TensorFlow.js weights manifest (a JSON array of groups)",
                        file);
    }
    int n_groups = cJSON_GetArraySize(root), n_specs = 0;
    for (const cJSON *g = root->child; g; g = g->next) {
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(g, "weights");
        if (cJSON_IsArray(ws)) n_specs += cJSON_GetArraySize(ws);
    }
    tfjs_manifest *m = psk_calloc(1, sizeof *m);
    if (m) m->groups = psk_calloc((size_t)n_groups, sizeof *m->groups);
    if (m && m->groups) m->specs = psk_calloc((size_t)n_specs + 1, sizeof *m->specs);
    if (!m || !m->groups || !m->specs) {
        tfjs_manifest_free(m);
        cJSON_Delete(root);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
    }
    int rc = PSK_OK;
    for (const cJSON *g = root->child; g && rc == PSK_OK; g = g->next) {
        int gi = m->n_groups;
        tfjs_group *grp = &m->groups[gi];
        m->n_groups++;
        const cJSON *paths = cJSON_GetObjectItemCaseSensitive(g, "paths");
        const cJSON *ws = cJSON_GetObjectItemCaseSensitive(g, "weights");
        if (!cJSON_IsObject(g) || !cJSON_IsArray(paths) || !cJSON_IsArray(ws) || cJSON_GetArraySize(paths) < 1) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: group %d needs \"paths\" and \"weights\" arrays", file, gi);
            break;
        }
        if (cJSON_GetArraySize(paths) > TFJS_MAX_PATHS) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: group %d has more than %d shards", file, gi, TFJS_MAX_PATHS);
            break;
        }
        for (const cJSON *p = paths->child; p; p = p->next) {
            if (!cJSON_IsString(p) || !plain_name(p->valuestring)) {
                rc = psk_fail(err, PSK_ERR_FORMAT, "%s: group %d: shard paths must be plain file names", file, gi);
                break;
            }
            if (!(grp->paths[grp->n_paths] = psk_strdup(p->valuestring))) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
                break;
            }
            grp->n_paths++;
        }
        for (const cJSON *w = ws->child; w && rc == PSK_OK; w = w->next) {
            tfjs_spec *t = &m->specs[m->n];
            rc = parse_spec(w, gi, file, t, err);
            if (rc) break;
            m->n++;
            t->offset = grp->n_bytes;
            grp->n_bytes += t->n_bytes;
            if (grp->n_bytes > TFJS_MAX_BYTES)
                rc = psk_fail(err, PSK_ERR_FORMAT, "%s: group %d needs more than 1 GiB", file, gi);
        }
    }
    cJSON_Delete(root);
    if (rc == PSK_OK && m->n > 1) {
        const tfjs_spec **order = psk_malloc(sizeof *order * (size_t)m->n);
        if (!order) rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", file);
        for (int i = 0; order && i < m->n; i++) order[i] = &m->specs[i];
        if (order) qsort(order, (size_t)m->n, sizeof *order, cmp_name);
        for (int i = 1; order && i < m->n && rc == PSK_OK; i++)
            if (strcmp(order[i]->name, order[i - 1]->name) == 0)
                rc = psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%.200s' listed twice", file, order[i]->name);
        psk_free(order);
    }
    if (rc) {
        tfjs_manifest_free(m);
        return rc;
    }
    *out = m;
    return PSK_OK;
}

int tfjs_decode_group(const tfjs_manifest *m, int group, const uint8_t *bytes, size_t size, const char *file,
                      float **data, psk_error *err) {
    for (int i = 0; i < m->n; i++) {
        const tfjs_spec *t = &m->specs[i];
        if (t->group != group) continue;
        if (t->offset + t->n_bytes > size)
            return psk_fail(err, PSK_ERR_FORMAT,
                            "%s: truncated: tensor '%.200s' needs bytes %zu..%zu but the shards hold %zu", file,
                            t->name, t->offset, t->offset + t->n_bytes, size);
        float *d = psk_malloc_aligned(t->n_elem * sizeof(float) + 4);
        if (!d) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory for tensor '%.200s'", file, t->name);
        data[i] = d;
        const uint8_t *p = bytes + t->offset;
        for (size_t j = 0; j < t->n_elem; j++) {
            double v;
            if (t->quant == 1) {
                v = p[j] * t->scale + t->min;
            } else if (t->quant == 2) {
                v = (uint16_t)(p[2 * j] | p[2 * j + 1] << 8) * t->scale + t->min;
            } else if (t->is_int) {
                int32_t x;
                memcpy(&x, p + 4 * j, 4);
                v = x;
            } else {
                float x;
                memcpy(&x, p + 4 * j, 4);
                v = x;
            }
            if (t->is_int) v = floor(v + 0.5); /* Math.round */
            d[j] = (float)v;
        }
    }
    return PSK_OK;
}

void tfjs_weights_free(tfjs_weights *w) {
    if (!w) return;
    if (w->m && w->data)
        for (int i = 0; i < w->m->n; i++) psk_free_aligned(w->data[i]);
    psk_free(w->data);
    tfjs_manifest_free(w->m);
    psk_free(w);
}

/* Reads one group's shards, concatenated. */
static int read_group(const char *dir, const tfjs_group *g, const char *file, uint8_t **out, size_t *size,
                      char *last, size_t last_cap, psk_error *err) {
    *out = NULL;
    *size = 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    for (int p = 0; p < g->n_paths; p++) {
        char path[1100];
        if (!psk_path_join(path, sizeof path, dir, g->paths[p])) {
            psk_free(buf);
            return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: shard path too long", file);
        }
        snprintf(last, last_cap, "%s", path);
        char *data = NULL;
        size_t n = 0;
        int rc = psk_read_file(path, TFJS_MAX_BYTES, &data, &n, err);
        if (rc) {
            psk_free(buf);
            return rc;
        }
        uint8_t *nb = psk_realloc(buf, len + n + 1);
        if (!nb) {
            psk_free(data);
            psk_free(buf);
            return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", path);
        }
        buf = nb;
        if (n) memcpy(buf + len, data, n);
        len += n;
        psk_free(data);
    }
    *out = buf;
    *size = len;
    return PSK_OK;
}

int tfjs_load(const char *dir, const char *name, tfjs_weights **out, psk_error *err) {
    *out = NULL;
    tfjs_weights *w = psk_calloc(1, sizeof *w);
    if (!w) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    char fname[300];
    snprintf(fname, sizeof fname, "%s-weights_manifest.json", name);
    if (!psk_path_join(w->file, sizeof w->file, dir, fname)) {
        psk_free(w);
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: model folder path too long", dir);
    }
    char *text = NULL;
    size_t len = 0;
    int rc = psk_read_file(w->file, TFJS_MAX_MANIFEST, &text, &len, err);
    if (rc == PSK_OK) rc = tfjs_manifest_parse(text, len, w->file, &w->m, err);
    psk_free(text);
    if (rc == PSK_OK && !(w->data = psk_calloc((size_t)w->m->n + 1, sizeof(float *))))
        rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", w->file);
    for (int g = 0; rc == PSK_OK && g < w->m->n_groups; g++) {
        uint8_t *bytes = NULL;
        size_t size = 0;
        char last[1100] = "";
        rc = read_group(dir, &w->m->groups[g], w->file, &bytes, &size, last, sizeof last, err);
        if (rc == PSK_OK) rc = tfjs_decode_group(w->m, g, bytes, size, last, w->data, err);
        psk_free(bytes);
    }
    if (rc) {
        tfjs_weights_free(w);
        return rc;
    }
    *out = w;
    return PSK_OK;
}

int tfjs_get(const tfjs_weights *w, const char *name, int n_dims, const int64_t *shape, const float **out,
             psk_error *err) {
    *out = NULL;
    for (int i = 0; i < w->m->n; i++) {
        const tfjs_spec *t = &w->m->specs[i];
        if (strcmp(t->name, name) != 0) continue;
        bool same = t->n_dims == n_dims;
        for (int d = 0; same && d < n_dims; d++) same = t->shape[d] == shape[d];
        if (!same) {
            char want[128] = "", got[128] = "";
            for (int d = 0; d < n_dims; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "",
                         (long long)shape[d]);
            for (int d = 0; d < t->n_dims; d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "",
                         (long long)t->shape[d]);
            return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s' has shape [%s], expected [%s]", w->file, name, got,
                            want);
        }
        *out = w->data[i];
        return PSK_OK;
    }
    return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing tensor '%s'", w->file, name);
}

int tfjs_getv(const tfjs_weights *w, const float **out, psk_error *err, const char *name, int n_dims, ...) {
    int64_t shape[TFJS_MAX_DIMS];
    va_list ap;
    va_start(ap, n_dims);
    for (int d = 0; d < n_dims && d < TFJS_MAX_DIMS; d++) shape[d] = va_arg(ap, int);
    va_end(ap);
    return tfjs_get(w, name, n_dims, shape, out, err);
}

int tfjs_build(const char *dir, const char *name, int (*build)(void *net, const tfjs_weights *w, psk_error *err),
               void *net, psk_error *err) {
    tfjs_weights *w = NULL;
    int rc = tfjs_load(dir, name, &w, err);
    if (rc) return rc;
    rc = build(net, w, err);
    if (rc == PSK_ERR_NOMEM) psk_fail(err, rc, "%s: out of memory", w->file);
    tfjs_weights_free(w);
    return rc;
}
