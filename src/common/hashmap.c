#include "common.h"

#include <string.h>

static uint64_t mix64(uint64_t v) {
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

static int strmap_grow(psk_strmap *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    char **keys = psk_calloc(cap, sizeof *keys);
    int32_t *vals = psk_calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        psk_free(keys);
        psk_free(vals);
        return PSK_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t h = psk_fnv1a64(m->keys[i], strlen(m->keys[i])) & (cap - 1);
        while (keys[h]) h = (h + 1) & (cap - 1);
        keys[h] = m->keys[i];
        vals[h] = m->vals[i];
    }
    psk_free(m->keys);
    psk_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return PSK_OK;
}

int psk_strmap_put(psk_strmap *m, const char *key, size_t len, int32_t val) {
    if ((m->count + 1) * 2 > m->cap && strmap_grow(m)) return PSK_ERR_NOMEM;
    size_t h = psk_fnv1a64(key, len) & (m->cap - 1);
    while (m->keys[h]) {
        if (strlen(m->keys[h]) == len && memcmp(m->keys[h], key, len) == 0) {
            m->vals[h] = val;
            return PSK_OK;
        }
        h = (h + 1) & (m->cap - 1);
    }
    char *k = psk_malloc(len + 1);
    if (!k) return PSK_ERR_NOMEM;
    memcpy(k, key, len);
    k[len] = 0;
    m->keys[h] = k;
    m->vals[h] = val;
    m->count++;
    return PSK_OK;
}

bool psk_strmap_get(const psk_strmap *m, const char *key, size_t len, int32_t *val) {
    if (!m->cap) return false;
    size_t h = psk_fnv1a64(key, len) & (m->cap - 1);
    while (m->keys[h]) {
        if (strncmp(m->keys[h], key, len) == 0 && m->keys[h][len] == 0) {
            *val = m->vals[h];
            return true;
        }
        h = (h + 1) & (m->cap - 1);
    }
    return false;
}

void psk_strmap_free(psk_strmap *m) {
    for (size_t i = 0; i < m->cap; i++) psk_free(m->keys[i]);
    psk_free(m->keys);
    psk_free(m->vals);
    memset(m, 0, sizeof *m);
}

static int u64map_grow(psk_u64map *m) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    uint64_t *keys = psk_calloc(cap, sizeof *keys);
    int64_t *vals = psk_calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        psk_free(keys);
        psk_free(vals);
        return PSK_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t h = mix64(m->keys[i]) & (cap - 1);
        while (keys[h]) h = (h + 1) & (cap - 1);
        keys[h] = m->keys[i];
        vals[h] = m->vals[i];
    }
    psk_free(m->keys);
    psk_free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return PSK_OK;
}

int psk_u64map_put(psk_u64map *m, uint64_t key, int64_t val) {
    if ((m->count + 1) * 2 > m->cap && u64map_grow(m)) return PSK_ERR_NOMEM;
    size_t h = mix64(key) & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != key) h = (h + 1) & (m->cap - 1);
    if (!m->keys[h]) m->count++;
    m->keys[h] = key;
    m->vals[h] = val;
    return PSK_OK;
}

bool psk_u64map_get(const psk_u64map *m, uint64_t key, int64_t *val) {
    if (!m->cap) return false;
    size_t h = mix64(key) & (m->cap - 1);
    while (m->keys[h]) {
        if (m->keys[h] == key) {
            *val = m->vals[h];
            return true;
        }
        h = (h + 1) & (m->cap - 1);
    }
    return false;
}

void psk_u64map_free(psk_u64map *m) {
    psk_free(m->keys);
    psk_free(m->vals);
    memset(m, 0, sizeof *m);
}
