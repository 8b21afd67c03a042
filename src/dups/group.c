/* Grouping near-duplicates: which links two photos (pair kinds), union-find over the candidate pairs, and the
 * member each group suggests keeping. */
#include "dups.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *dups_kind_name(dups_kind k) {
    return k == DUPS_IDENTICAL ? "identical" : k == DUPS_SAME_PICTURE ? "same picture" : "same moment";
}

const char *dups_rule_name(dups_rule r) {
    static const char *names[] = {"largest", "original", "oldest", "first path"};
    return names[r];
}

/* Measured on the generated test set (tests/e2e/test_duplicates.sh): copies of one photo (rescaled, recompressed,
 * cropped 5%, colour-edited, turned, framed) are within 12 bits of each other in hash, different photos 20 or
 * more apart; the tiny and synthetic models' embeddings are not semantic (different photos reach cosine 0.997),
 * so no cosine alone makes a group: an even closer embedding still needs hashes within 18 bits. The other way round,
 * 63-bit hashes of unrelated photos fall within 10 bits by chance (about 1 pair in 10^8, times 8 turns: hundreds
 * of pairs in a library of 10^5, tens of thousands in 10^6), so a very close hash links only embeddings that are
 * not unrelated (cosine 0.5; the synthetic model's copy turned by pixels and its framed copy are at 0.74). */
dups_params dups_default_params(void) { return dups_params_for_threshold(0.92f); }

dups_params dups_params_for_threshold(float t) {
    dups_params p = {0};
    p.same_picture_cos = t;
    p.very_close_cos = t + (1.0f - t) * 0.6f;
    p.close_hash = 14;
    p.very_close_hash = 10;
    p.hash_only_cos = 0.5f;
    p.moment_cos = t - 0.05f;
    p.moment_hash = 18;
    p.far_hash = 18;
    p.moment_seconds = 10;
    return p;
}

int dups_pair_kind(const dups_item *a, const dups_item *b, float cos, const dups_params *p) {
    if (a->content_hash && b->content_hash && a->content_hash[0] && strcmp(a->content_hash, b->content_hash) == 0)
        return DUPS_IDENTICAL;
    int hd = a->has_phash && b->has_phash ? dups_phash_distance(a->phash, b->phash) : 64;
    bool related = cos < -1.0f || cos >= p->hash_only_cos; /* below -1: not known */
    if ((hd <= p->very_close_hash && related) || (cos >= p->same_picture_cos && hd <= p->close_hash) ||
        (cos >= p->very_close_cos && hd <= p->far_hash))
        return DUPS_SAME_PICTURE;
    int64_t dt = a->taken_at - b->taken_at;
    bool camera_times = a->taken_at && b->taken_at && !a->time_from_file && !b->time_from_file;
    if (camera_times && llabs(dt) <= p->moment_seconds && cos >= p->moment_cos)
        return DUPS_SAME_MOMENT;
    return -1;
}

/* ---- the keeper ---- */

/* Marks an editor or a copy leaves in a name: "IMG_1-edited.jpg", "IMG_1 copy.jpg", "IMG_1(1).jpg". */
static bool looks_edited(const char *path) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    static const char *marks[] = {"edited", "copy", "bearbeitet", "modifi", "whatsapp", "screenshot", "-1.", "(1)", "(2)"};
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        size_t n = strlen(marks[i]);
        for (const char *p = name; *p; p++)
            if (strncasecmp(p, marks[i], n) == 0) return true;
    }
    return false;
}

int64_t dups_pick_keeper(const dups_item *items, const int64_t *idx, int n, dups_rule *rule) {
    /* each rule narrows the candidates; the first that leaves one decided */
    int64_t *c = psk_malloc(sizeof *c * (size_t)n);
    if (!c) {
        *rule = DUPS_RULE_PATH;
        return idx[0];
    }
    memcpy(c, idx, sizeof *c * (size_t)n);
    int m = n;
    int64_t best_px = -1;
    for (int i = 0; i < m; i++) best_px = (int64_t)items[c[i]].width * items[c[i]].height > best_px
                                            ? (int64_t)items[c[i]].width * items[c[i]].height : best_px;
    int k = 0;
    for (int i = 0; i < m; i++)
        if ((int64_t)items[c[i]].width * items[c[i]].height == best_px) c[k++] = c[i];
    m = k;
    *rule = DUPS_RULE_LARGEST;
    if (m > 1) {
        k = 0;
        for (int i = 0; i < m; i++)
            if (!looks_edited(items[c[i]].path)) c[k++] = c[i];
        if (k > 0) m = k;
        int64_t big = -1;
        for (int i = 0; i < m; i++) big = items[c[i]].bytes > big ? items[c[i]].bytes : big;
        k = 0;
        for (int i = 0; i < m; i++)
            if (items[c[i]].bytes == big) c[k++] = c[i];
        m = k;
        *rule = DUPS_RULE_ORIGINAL;
    }
    if (m > 1) {
        int64_t old = INT64_MAX;
        for (int i = 0; i < m; i++)
            if (items[c[i]].taken_at && items[c[i]].taken_at < old) old = items[c[i]].taken_at;
        k = 0;
        for (int i = 0; i < m; i++)
            if (old == INT64_MAX || items[c[i]].taken_at == old) c[k++] = c[i];
        m = k;
        *rule = DUPS_RULE_OLDEST;
    }
    if (m > 1) *rule = DUPS_RULE_PATH;
    int64_t best = c[0];
    for (int i = 1; i < m; i++)
        if (strcmp(items[c[i]].path, items[best].path) < 0) best = c[i];
    psk_free(c);
    return best;
}

/* ---- union-find ---- */

static int64_t find(int64_t *parent, int64_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

static void unite(int64_t *parent, int8_t *kind, int64_t a, int64_t b, int k) {
    a = find(parent, a), b = find(parent, b);
    if (a != b) {
        if (a < b) {
            int64_t t = a;
            a = b, b = t;
        }
        parent[a] = b;
        if (kind[a] > kind[b]) kind[b] = kind[a];
    }
    if (k > kind[b]) kind[b] = (int8_t)k;
}

static const dups_item *sort_items;
static int by_hash(const void *x, const void *y) {
    const dups_item *a = &sort_items[*(const int64_t *)x], *b = &sort_items[*(const int64_t *)y];
    return strcmp(a->content_hash ? a->content_hash : "", b->content_hash ? b->content_hash : "");
}
static int by_path(const void *x, const void *y) {
    return strcmp(sort_items[*(const int64_t *)x].path, sort_items[*(const int64_t *)y].path);
}
static int by_keeper_path(const void *x, const void *y) {
    const dups_group *a = x, *b = y;
    return strcmp(sort_items[a->keeper].path, sort_items[b->keeper].path);
}

int dups_group_items(const dups_item *items, int64_t n, const dups_pair *pairs, int64_t n_pairs,
                     const dups_params *p, dups_group **groups, int *n_groups, psk_error *err) {
    *groups = NULL, *n_groups = 0;
    int64_t *parent = psk_malloc(sizeof *parent * (size_t)(n ? n : 1));
    int8_t *kind = psk_calloc((size_t)(n ? n : 1), 1);
    int64_t *order = psk_malloc(sizeof *order * (size_t)(n ? n : 1));
    int64_t *size = psk_calloc((size_t)(n ? n : 1), sizeof *size);
    if (!parent || !kind || !order || !size) {
        psk_free(parent), psk_free(kind), psk_free(order), psk_free(size);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory grouping %lld items", (long long)n);
    }
    for (int64_t i = 0; i < n; i++) parent[i] = i, order[i] = i;
    /* byte-identical files need no candidate pair: equal content hashes sort together (qsort's comparator has no
     * user pointer: one grouping at a time per process is all the store does) */
    sort_items = items;
    qsort(order, (size_t)n, sizeof *order, by_hash);
    for (int64_t i = 1; i < n; i++) {
        const char *h0 = items[order[i - 1]].content_hash, *h1 = items[order[i]].content_hash;
        if (h0 && h1 && h0[0] && strcmp(h0, h1) == 0) unite(parent, kind, order[i - 1], order[i], DUPS_IDENTICAL);
    }
    for (int64_t i = 0; i < n_pairs; i++) {
        int64_t a = pairs[i].a, b = pairs[i].b;
        if (a == b || a < 0 || b < 0 || a >= n || b >= n) continue;
        int k = pairs[i].kind >= 0 ? pairs[i].kind : dups_pair_kind(&items[a], &items[b], pairs[i].cos, p);
        if (k >= 0) unite(parent, kind, a, b, k);
    }
    /* members of each root, in path order */
    for (int64_t i = 0; i < n; i++) size[find(parent, i)]++, order[i] = i;
    qsort(order, (size_t)n, sizeof *order, by_path);
    int ng = 0;
    for (int64_t i = 0; i < n; i++)
        if (parent[i] == i && size[i] > 1) ng++;
    dups_group *g = psk_calloc((size_t)(ng ? ng : 1), sizeof *g);
    int64_t *slot = psk_malloc(sizeof *slot * (size_t)(n ? n : 1)); /* root -> its group */
    int rc = g && slot ? PSK_OK : psk_fail(err, PSK_ERR_NOMEM, "out of memory grouping %lld items", (long long)n);
    int gi = 0;
    for (int64_t i = 0; !rc && i < n; i++) {
        if (parent[i] != i || size[i] < 2) continue;
        slot[i] = gi;
        g[gi].kind = (dups_kind)kind[i];
        if (!(g[gi].members = psk_malloc(sizeof(int64_t) * (size_t)size[i])))
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        gi++;
    }
    for (int64_t i = 0; !rc && i < n; i++) {
        int64_t r = find(parent, order[i]);
        if (size[r] < 2) continue;
        dups_group *d = &g[slot[r]];
        d->members[d->n_members++] = order[i];
    }
    for (int i = 0; !rc && i < ng; i++) {
        dups_group *d = &g[i];
        d->keeper = dups_pick_keeper(items, d->members, d->n_members, &d->rule);
        int at = 0;
        while (d->members[at] != d->keeper) at++;
        memmove(d->members + 1, d->members, sizeof(int64_t) * (size_t)at);
        d->members[0] = d->keeper;
    }
    if (!rc) qsort(g, (size_t)ng, sizeof *g, by_keeper_path);
    psk_free(parent), psk_free(kind), psk_free(order), psk_free(size), psk_free(slot);
    if (rc) {
        dups_groups_free(g, ng);
        return rc;
    }
    *groups = g, *n_groups = ng;
    return PSK_OK;
}

void dups_groups_free(dups_group *g, int n) {
    if (!g) return;
    for (int i = 0; i < n; i++) psk_free(g[i].members);
    psk_free(g);
}

/* ---- candidate pairs that do not come from the embeddings ---- */

int dups_pairs_push(dups_pair **pairs, int64_t *n_pairs, int64_t *cap, int64_t a, int64_t b, float cos) {
    if (*n_pairs == *cap) {
        int64_t nc = *cap ? *cap * 2 : 1024;
        dups_pair *np = psk_realloc(*pairs, sizeof *np * (size_t)nc);
        if (!np) return PSK_ERR_NOMEM;
        *pairs = np, *cap = nc;
    }
    (*pairs)[(*n_pairs)++] = (dups_pair){a, b, cos, -1};
    return PSK_OK;
}

/* The set bits of x, without the library call the compiler makes for __builtin_popcountll on a baseline x86-64. */
static inline int bit_count(uint64_t x) {
    x -= x >> 1 & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + (x >> 2 & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (int)(x * 0x0101010101010101ull >> 56);
}

int dups_hash_pairs(const dups_item *items, int64_t n, const bool *probe, dups_pair **pairs, int64_t *n_pairs,
                    int64_t *cap, psk_error *err) {
    /* 8 chunks of 8 bits find every pair within 7 bits; a large library takes 4 chunks of 16 bits (within 3 bits
     * for sure, most of those within 10) so that a bucket stays small */
    int bits = n > 20000 ? 16 : 8, chunks = 64 / bits;
    uint64_t mask = (1ull << bits) - 1;
    /* each item's own hash is bucketed (a counting sort: bucket c << bits | chunk bits holds the items whose chunk
     * c has those bits, in item order), and each turn of every item probes: a turned copy meets its original */
    size_t n_buckets = (size_t)chunks << bits;
    int64_t *start = psk_calloc(n_buckets + 1, sizeof *start);
    int64_t *member = psk_malloc(sizeof *member * (size_t)(n ? n : 1) * (size_t)chunks);
    uint64_t *member_hash = psk_malloc(sizeof *member_hash * (size_t)(n ? n : 1) * (size_t)chunks); /* read in order */
    if (!start || !member || !member_hash) {
        psk_free(start), psk_free(member), psk_free(member_hash);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory bucketing %lld hashes", (long long)n);
    }
    for (int64_t i = 0; i < n; i++)
        if (items[i].has_phash)
            for (int c = 0; c < chunks; c++) start[((size_t)c << bits | (items[i].phash >> (c * bits) & mask)) + 1]++;
    for (size_t k = 0; k < n_buckets; k++) start[k + 1] += start[k];
    int64_t *fill = psk_malloc(sizeof *fill * n_buckets);
    if (!fill) {
        psk_free(start), psk_free(member), psk_free(member_hash);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory bucketing %lld hashes", (long long)n);
    }
    memcpy(fill, start, sizeof *fill * n_buckets);
    for (int64_t i = 0; i < n; i++)
        if (items[i].has_phash)
            for (int c = 0; c < chunks; c++) {
                int64_t at = fill[(size_t)c << bits | (items[i].phash >> (c * bits) & mask)]++;
                member[at] = i, member_hash[at] = items[i].phash;
            }
    psk_free(fill);
    int rc = PSK_OK;
    for (int64_t i = 0; !rc && i < n; i++) {
        if (!items[i].has_phash || (probe && !probe[i])) continue;
        uint64_t turns[8];
        dups_phash_turns(items[i].phash, turns);
        for (int t = 0; !rc && t < 8; t++)
            for (int c = 0; !rc && c < chunks; c++) {
                size_t key = (size_t)c << bits | (turns[t] >> (c * bits) & mask);
                /* a bucket of a flat, featureless hash can be huge: only its first 64 are tried */
                for (int64_t j = start[key]; j < start[key + 1] && j < start[key] + 64; j++) {
                    if (bit_count(turns[t] ^ member_hash[j]) > 16) continue;
                    int64_t o = member[j];
                    if (o == i || (o < i && (!probe || probe[o]))) continue; /* each pair once */
                    if (dups_pairs_push(pairs, n_pairs, cap, i, o, -2.0f)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                }
            }
    }
    psk_free(start), psk_free(member), psk_free(member_hash);
    return rc;
}

static int by_time(const void *x, const void *y) {
    int64_t a = sort_items[*(const int64_t *)x].taken_at, b = sort_items[*(const int64_t *)y].taken_at;
    return a < b ? -1 : a > b;
}

int dups_time_pairs(const dups_item *items, int64_t n, int seconds, dups_pair **pairs, int64_t *n_pairs,
                    int64_t *cap, psk_error *err) {
    int64_t *order = psk_malloc(sizeof *order * (size_t)(n ? n : 1));
    if (!order) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) order[i] = i;
    sort_items = items;
    qsort(order, (size_t)n, sizeof *order, by_time);
    int rc = PSK_OK;
    for (int64_t i = 0; !rc && i < n; i++) {
        if (!items[order[i]].taken_at || items[order[i]].time_from_file) continue;
        /* a burst's neighbours: at most 16 following frames within the window */
        for (int64_t j = i + 1; !rc && j < n && j <= i + 16 && items[order[j]].taken_at - items[order[i]].taken_at <= seconds;
             j++)
            if (!items[order[j]].time_from_file && dups_pairs_push(pairs, n_pairs, cap, order[i], order[j], -2.0f))
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    psk_free(order);
    return rc;
}
