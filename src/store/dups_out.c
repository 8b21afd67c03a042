/* The near-duplicate groups of src/dups as the library gives them (psk_dup_group), and the stored groups read
 * back, shared by the stores that find and keep them (sqlite_dups.c, pg_dups.c). */
#include "dups_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void describe(psk_dup_group *g, const dups_params *p) {
    if (strcmp(g->kind, "identical") == 0) snprintf(g->why, sizeof g->why, "the same bytes (equal content hashes)");
    else if (strcmp(g->kind, "same picture") == 0)
        snprintf(g->why, sizeof g->why,
                 "the same picture: perceptual hashes within %d bits (any turn or mirror) and embeddings at cosine "
                 ">= %.2f, or at cosine >= %.2f with hashes within %d bits, or at cosine >= %.3f with hashes within "
                 "%d bits",
                 p->very_close_hash, p->hash_only_cos, p->same_picture_cos, p->close_hash, p->very_close_cos, p->far_hash);
    else
        snprintf(g->why, sizeof g->why, "the same moment: taken at most %d s apart, embeddings at cosine >= %.2f",
                 p->moment_seconds, p->moment_cos);
}

int store_dups_output(const dups_item *items, const dups_group *g, int ng, const dups_params *p, store_dups_cos_fn cos,
                      void *user, psk_dup_group **groups, int *n, psk_error *err) {
    *groups = NULL, *n = 0;
    psk_dup_group *out = NULL;
    int rc = PSK_OK;
    if (ng && !(out = psk_calloc((size_t)ng, sizeof *out))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < ng; i++) {
        psk_dup_group *o = &out[i];
        o->group = i + 1;
        o->kind = dups_kind_name(g[i].kind);
        o->keeper_rule = dups_rule_name(g[i].rule);
        describe(o, p);
        if (!(o->members = psk_calloc((size_t)g[i].n_members, sizeof *o->members))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        o->n_members = g[i].n_members;
        int64_t keeper = g[i].keeper;
        for (int k = 0; k < g[i].n_members; k++) {
            int64_t it = g[i].members[k];
            const dups_item *d = &items[it];
            psk_dup_member *mm = &o->members[k];
            mm->id = d->id;
            snprintf(mm->path, sizeof mm->path, "%s", d->path);
            float c = cos(user, keeper, it);
            bool same_bytes = d->content_hash[0] && strcmp(d->content_hash, items[keeper].content_hash) == 0;
            mm->similarity = it == keeper || same_bytes ? 1.0f : c < -1.0f ? 0.0f : fminf(c, 1.0f);
            mm->width = d->width, mm->height = d->height;
            mm->bytes = d->bytes;
            mm->taken_at = d->taken_at;
        }
    }
    if (rc) {
        for (int i = 0; out && i < ng; i++) psk_free(out[i].members);
        psk_free(out);
        return rc;
    }
    *groups = out, *n = ng;
    return PSK_OK;
}

int64_t store_dups_item_of(const dups_item *items, int64_t n, int64_t id) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (items[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && items[lo].id == id ? lo : -1;
}

int store_dups_links(const dups_item *items, int64_t n, const store_dup_row *rows, int64_t n_rows,
                     const store_dups_redo *redo, dups_pair **pairs, int64_t *n_pairs, int64_t *cap, psk_error *err) {
    int64_t group = -1, first = -1;
    for (int64_t i = 0; i < n_rows; i++) {
        int64_t it = store_dups_item_of(items, n, rows[i].media);
        if (it < 0) continue; /* gone, or no longer a photo */
        if (redo && store_dups_redo_has(redo, rows[i].media)) continue; /* changed since: no link of its own */
        if (rows[i].group != group) {
            group = rows[i].group, first = it;
            continue;
        }
        if (dups_pairs_push(pairs, n_pairs, cap, first, it, 1.0f)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        (*pairs)[*n_pairs - 1].kind = rows[i].kind;
    }
    return PSK_OK;
}

static int by_media(const void *a, const void *b) {
    int64_t x = ((const store_dup_row *)a)->media, y = ((const store_dup_row *)b)->media;
    return (x > y) - (x < y);
}

void store_dups_fill(psk_result *r, int n, store_dup_row *rows, int n_rows) {
    if (n_rows > 1) qsort(rows, (size_t)n_rows, sizeof *rows, by_media);
    for (int i = 0; i < n; i++) {
        store_dup_row key = {.media = r[i].id};
        const store_dup_row *row = n_rows ? bsearch(&key, rows, (size_t)n_rows, sizeof *rows, by_media) : NULL;
        r[i].group = row ? row->group : 0;
        r[i].group_size = row ? row->size : 1;
    }
}

static int cmp_id(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int store_dups_redo_parse(const char *list, store_dups_redo *out, psk_error *err) {
    *out = (store_dups_redo){0};
    size_t n = 0;
    for (const char *c = list ? list : ""; *c; c++) n += *c == ' ';
    if (n > STORE_DUPS_REDO_MAX) {
        out->all = true;
        return PSK_OK;
    }
    if (!n) return PSK_OK;
    if (!(out->ids = psk_malloc(sizeof(int64_t) * n))) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    char *end;
    for (const char *c = list; out->n < n; c = end) {
        long long id = strtoll(c, &end, 10);
        if (end == c) break; /* not a number: the rest is ignored */
        if (id > 0) out->ids[out->n++] = id;
    }
    qsort(out->ids, out->n, sizeof *out->ids, cmp_id);
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++)
        if (!k || out->ids[k - 1] != out->ids[i]) out->ids[k++] = out->ids[i];
    out->n = k;
    return PSK_OK;
}

bool store_dups_redo_has(const store_dups_redo *r, int64_t id) {
    return r->n && bsearch(&id, r->ids, r->n, sizeof *r->ids, cmp_id);
}

void store_dups_redo_free(store_dups_redo *r) {
    psk_free(r->ids);
    *r = (store_dups_redo){0};
}
