#include "model.h"

#include <stdio.h>
#include <string.h>

int psk_w_f32(const st_file *f, const char *file, float **out, psk_error *err, int n_dims, const int64_t *shape,
              const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return st_get_f32(f, file, name, n_dims, shape, out, err);
}

int psk_w_linear(const st_file *f, const char *file, psk_packed *out, int n, int k, bool transposed, psk_error *err,
                 const char *fmt, ...) {
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    int64_t shape[2] = {transposed ? k : n, transposed ? n : k};
    if (psk_pack_deferred) { /* the packed bytes come from the cache: only the tensor's shape is checked */
        const st_tensor *t = st_find(f, name);
        if (!t || t->n_dims != 2 || t->shape[0] != shape[0] || t->shape[1] != shape[1])
            return psk_fail(err, PSK_ERR_FORMAT, "%s: tensor '%s' missing or of another shape", file, name);
        *out = (psk_packed){.n = n, .k = k};
        return PSK_OK;
    }
    float *w;
    int rc = st_get_f32(f, file, name, 2, shape, &w, err);
    if (rc) return rc;
    rc = psk_pack_weights(w, n, k, transposed ? n : k, transposed, out);
    psk_free_aligned(w);
    if (rc) return psk_fail(err, rc, "%s: out of memory packing '%s'", file, name);
    return PSK_OK;
}

_Thread_local bool psk_pack_deferred;

size_t psk_tower_packed(psk_tower *t, psk_packed **list, int *n_out) {
    int n = 0;
    if (t->patch_w.n > 0) list[n++] = &t->patch_w;
    for (int i = 0; t->blocks && !t->q8 && i < t->n_layers; i++) { /* int8 blocks keep no float32 matrices */
        psk_packed *m[4] = {&t->blocks[i].qkv, &t->blocks[i].out, &t->blocks[i].fc1, &t->blocks[i].fc2};
        for (int j = 0; j < 4; j++)
            if (m[j]->n > 0 && (m[j]->data || psk_pack_deferred)) list[n++] = m[j];
    }
    if (t->proj.n > 0) list[n++] = &t->proj;
    size_t total = 0;
    for (int i = 0; i < n; i++) total += (psk_packed_floats(list[i]->n, list[i]->k) + 15) / 16 * 16;
    *n_out = n;
    return total;
}

int psk_tower_q8(psk_tower *t, psk_packed_q8 **list, psk_packed **shape) {
    int n = 0;
    for (int i = 0; t->blocks && i < t->n_layers; i++) {
        psk_block *b = &t->blocks[i];
        psk_packed_q8 *q[4] = {&b->qkv8, &b->out8, &b->fc18, &b->fc28};
        psk_packed *f[4] = {&b->qkv, &b->out, &b->fc1, &b->fc2};
        for (int j = 0; j < 4; j++) {
            shape[n] = f[j];
            list[n++] = q[j];
        }
    }
    shape[n] = &t->patch_w;
    list[n++] = &t->patch_w8;
    shape[n] = &t->patch_w;
    list[n++] = &t->patch_w8lo;
    return n;
}

int psk_tower_consolidate(psk_tower *t) {
    psk_packed *list[PSK_TOWER_MAX_PACKED];
    int n;
    size_t total = psk_tower_packed(t, list, &n);
    float *arena = psk_malloc_aligned(sizeof(float) * (total ? total : 16));
    if (!arena) return PSK_ERR_NOMEM;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t f = psk_packed_floats(list[i]->n, list[i]->k);
        memcpy(arena + off, list[i]->data, sizeof(float) * f);
        psk_packed_free(list[i]);
        list[i]->data = arena + off;
        list[i]->borrowed = true;
        off += (f + 15) / 16 * 16;
    }
    t->arena = arena;
    return PSK_OK;
}

int psk_tower_quantize(psk_tower *t) {
    for (int i = 0; t->blocks && i < t->n_layers; i++) {
        psk_block *b = &t->blocks[i];
        psk_packed *f[4] = {&b->qkv, &b->out, &b->fc1, &b->fc2};
        psk_packed_q8 *q[4] = {&b->qkv8, &b->out8, &b->fc18, &b->fc28};
        for (int j = 0; j < 4; j++) {
            if (psk_pack_q8_from_packed(f[j], q[j])) return PSK_ERR_NOMEM;
            psk_packed_free(f[j]);
        }
    }
    /* The patch embedding too, where activations get 8 bits (VNNI), its pixel rows quantised per patch like any
     * activation row. The first layer's error reaches every later one: with 8-bit weights alone, or with 7-bit
     * pixels (the AVX2 level, which keeps it in float32), a near tie among the fixtures' images flips
     * (test_encoders.c); so the weights' remainder is a second int8 product (where no column stays float32, which
     * the remainder cannot have). */
    if (t->patch_w.n > 0 && psk_kernels()->q8_act_max >= 255) {
        if (psk_pack_q8_from_packed(&t->patch_w, &t->patch_w8)) return PSK_ERR_NOMEM;
        if (t->patch_w8.n_out == 0 && psk_pack_q8_residual(&t->patch_w, &t->patch_w8, &t->patch_w8lo))
            return PSK_ERR_NOMEM;
    }
    t->q8 = true;
    return PSK_OK;
}

void psk_tower_free(psk_tower *t) {
    for (int i = 0; t->blocks && i < t->n_layers; i++) {
        psk_block *b = &t->blocks[i];
        float *fs[] = {b->ln1_w, b->ln1_b, b->ln2_w, b->ln2_b, b->qkv_b, b->out_b, b->fc1_b, b->fc2_b};
        for (size_t j = 0; j < sizeof fs / sizeof fs[0]; j++) psk_free_aligned(fs[j]);
        psk_packed_free(&b->qkv);
        psk_packed_free(&b->out);
        psk_packed_free(&b->fc1);
        psk_packed_free(&b->fc2);
        psk_packed_q8_free(&b->qkv8);
        psk_packed_q8_free(&b->out8);
        psk_packed_q8_free(&b->fc18);
        psk_packed_q8_free(&b->fc28);
    }
    psk_free(t->blocks);
    float *fs[] = {t->ln_final_w, t->ln_final_b, t->class_emb, t->pos_emb, t->ln_pre_w,
                   t->ln_pre_b,   t->emb_ln_w,   t->emb_ln_b,  t->dense_b};
    for (size_t j = 0; j < sizeof fs / sizeof fs[0]; j++) psk_free_aligned(fs[j]);
    psk_packed_free(&t->proj);
    psk_packed_free(&t->patch_w);
    psk_packed_q8_free(&t->patch_w8);
    psk_packed_q8_free(&t->patch_w8lo);
    psk_free_aligned(t->arena);
}
