/* Near-duplicates: the perceptual hash sees every turn and mirror of a picture, tells different pictures apart, and
 * the grouping links what its rules say (and only that), with the keeper the rules choose. */
#include "test.h"

#include "../../src/dups/dups.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A smooth picture with structure at several scales; `seed` makes another one. */
static uint8_t *picture(int w, int h, int seed) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double fx = (double)x / w, fy = (double)y / h;
            double v = 128 + 60 * sin(6.3 * fx * (1 + seed % 3) + seed) * cos(4.1 * fy * (2 + seed % 5)) +
                       40 * sin(17.0 * fx * fy + seed * 1.7) + 20 * cos(9.0 * fy + 3.0 * fx * seed);
            int c = v < 0 ? 0 : v > 255 ? 255 : (int)v;
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)c, q[1] = (uint8_t)(255 - c), q[2] = (uint8_t)(c / 2);
        }
    return p;
}

/* out = in turned a quarter clockwise (w x h -> h x w) */
static uint8_t *turn(const uint8_t *in, int w, int h) {
    uint8_t *o = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) memcpy(o + ((size_t)x * h + (h - 1 - y)) * 3, in + ((size_t)y * w + x) * 3, 3);
    return o;
}

static uint8_t *mirror(const uint8_t *in, int w, int h) {
    uint8_t *o = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) memcpy(o + ((size_t)y * w + (w - 1 - x)) * 3, in + ((size_t)y * w + x) * 3, 3);
    return o;
}

TEST(dups_phash_sees_turns_and_mirrors) {
    int w = 256, h = 192;
    uint8_t *a = picture(w, h, 1), *t = turn(a, w, h), *m = mirror(a, w, h), *b = picture(w, h, 4);
    uint64_t ha = dups_phash(a, w, h), ht = dups_phash(t, h, w), hm = dups_phash(m, w, h), hb = dups_phash(b, w, h);
    CHECKF(dups_phash_distance(ha, ht) <= 2, "turned: %d bits apart", dups_phash_distance(ha, ht));
    CHECKF(dups_phash_distance(ha, hm) <= 2, "mirrored: %d bits apart", dups_phash_distance(ha, hm));
    CHECKF(__builtin_popcountll(ha ^ ht) > 8, "a turn should change the plain hash (%d bits)",
           __builtin_popcountll(ha ^ ht));
    CHECKF(dups_phash_distance(ha, hb) >= 16, "different pictures only %d bits apart", dups_phash_distance(ha, hb));
    CHECK(!(ha & 1)); /* the DC term's bit */
    uint64_t turns[8];
    dups_phash_turns(ha, turns);
    CHECK(turns[0] == ha);
    for (int i = 0; i < 8; i++) CHECK(dups_phash_distance(turns[i], ha) == 0);
    free(a), free(t), free(m), free(b);
}

TEST(dups_phash_trims_a_frame) {
    int w = 200, h = 160, bw = 240, bh = 220;
    uint8_t *a = picture(w, h, 2), *f = malloc((size_t)bw * bh * 3);
    memset(f, 255, (size_t)bw * bh * 3);
    for (int y = 0; y < h; y++) memcpy(f + ((size_t)(y + 30) * bw + 20) * 3, a + (size_t)y * w * 3, (size_t)w * 3);
    int d = dups_phash_distance(dups_phash(a, w, h), dups_phash(f, bw, bh));
    CHECKF(d <= 4, "framed copy %d bits apart", d);
    free(a), free(f);
}

TEST(dups_grouping_follows_its_rules) {
    dups_params p = dups_default_params();
    dups_item it[6] = {
        {.id = 1, .path = "/a/IMG_1.jpg", .content_hash = "h1", .phash = 0x0F0F0F0F0F0F0F00ull, .has_phash = true,
         .taken_at = 1000, .bytes = 500, .width = 4000, .height = 3000},
        {.id = 2, .path = "/a/IMG_1 copy.jpg", .content_hash = "h1", .phash = 0x0F0F0F0F0F0F0F00ull, .has_phash = true,
         .taken_at = 1000, .bytes = 500, .width = 4000, .height = 3000},
        {.id = 3, .path = "/w/IMG_1-small.jpg", .content_hash = "h3", .phash = 0x0F0F0F0F0F0F0F06ull,
         .has_phash = true, .taken_at = 9000, .bytes = 90, .width = 1600, .height = 1200},
        {.id = 4, .path = "/b/other.jpg", .content_hash = "h4", .phash = 0xF0F0F0F0F0F0F000ull, .has_phash = true,
         .taken_at = 50000, .bytes = 400, .width = 4000, .height = 3000},
        {.id = 5, .path = "/b/burst_2.jpg", .content_hash = "h5", .phash = 0x123456789ABCDE00ull, .has_phash = true,
         .taken_at = 50003, .bytes = 400, .width = 4000, .height = 3000},
        {.id = 6, .path = "/c/alone.jpg", .content_hash = "h6", .phash = 0x5555555555555500ull, .has_phash = true,
         .taken_at = 50004, .bytes = 400, .width = 4000, .height = 3000},
    };
    /* 3 is the same picture by hash; 4 and 5 a burst (near in embedding, 3 s apart); 6 is 1 s after 5 but far in
     * embedding and hash */
    dups_pair pairs[] = {{0, 2, 0.5f, -1}, {3, 4, 0.95f, -1}, {4, 5, 0.3f, -1}, {0, 3, 0.999f, -1}};
    dups_group *g;
    int n;
    CHECK_OK(dups_group_items(it, 6, pairs, 4, &p, &g, &n, NULL));
    CHECKF(n == 2, "%d groups", n);
    if (n == 2) {
        CHECK(g[0].n_members == 3 && g[0].kind == DUPS_SAME_PICTURE);
        CHECK(g[0].keeper == 0 && g[0].rule == DUPS_RULE_ORIGINAL); /* same pixels and bytes: not the "copy" */
        CHECK(g[0].members[0] == 0);
        CHECK(g[1].n_members == 2 && g[1].kind == DUPS_SAME_MOMENT);
        CHECK(g[1].rule == DUPS_RULE_OLDEST && g[1].keeper == 3);
    }
    dups_groups_free(g, n);
    /* a very close embedding alone is not enough: the hashes must not be far apart */
    CHECK(dups_pair_kind(&it[0], &it[3], 0.999f, &p) < 0);
    CHECK(dups_pair_kind(&it[0], &it[1], -2.0f, &p) == DUPS_IDENTICAL);
    /* hashes within 10 bits link a copy the embedding hardly recognises (turned by pixels), not two photos the
     * embeddings call unrelated: random hashes meet that close by chance in a large library */
    dups_item a = it[0], b = it[2];
    b.content_hash = "h9";
    CHECK(dups_phash_distance(a.phash, b.phash) <= p.very_close_hash);
    CHECK(dups_pair_kind(&a, &b, 0.6f, &p) == DUPS_SAME_PICTURE);
    CHECK(dups_pair_kind(&a, &b, -2.0f, &p) == DUPS_SAME_PICTURE); /* no embedding to ask */
    CHECK(dups_pair_kind(&a, &b, 0.1f, &p) < 0);
    /* the largest wins first */
    int64_t idx[2] = {2, 3};
    dups_rule rule;
    CHECK(dups_pick_keeper(it, idx, 2, &rule) == 3 && rule == DUPS_RULE_LARGEST);
}

TEST(dups_candidates_from_hashes_and_times) {
    dups_item it[3] = {
        {.id = 1, .path = "a", .phash = 0x0123456789ABCD00ull, .has_phash = true, .taken_at = 100},
        {.id = 2, .path = "b", .phash = 0x0123456789ABCD00ull ^ 0x0101010100000000ull, .has_phash = true,
         .taken_at = 5000},
        {.id = 3, .path = "c", .phash = 0xFEDCBA9876543200ull, .has_phash = true, .taken_at = 104},
    };
    dups_pair *pairs = NULL;
    int64_t n = 0, cap = 0;
    CHECK_OK(dups_hash_pairs(it, 3, NULL, &pairs, &n, &cap, NULL));
    bool ab = false, other = false;
    for (int64_t i = 0; i < n; i++) {
        if ((pairs[i].a == 0 && pairs[i].b == 1) || (pairs[i].a == 1 && pairs[i].b == 0)) ab = true;
        else other = true;
    }
    CHECK(ab && !other);
    n = 0;
    CHECK_OK(dups_time_pairs(it, 3, 10, &pairs, &n, &cap, NULL));
    CHECK(n == 1 && ((pairs[0].a == 0 && pairs[0].b == 2) || (pairs[0].a == 2 && pairs[0].b == 0)));
    /* only the new item probes: its partner is found, and nothing between old items */
    bool probe[3] = {false, true, false};
    n = 0;
    CHECK_OK(dups_hash_pairs(it, 3, probe, &pairs, &n, &cap, NULL));
    CHECK(n >= 1);
    for (int64_t i = 0; i < n; i++) CHECK(pairs[i].a == 1 || pairs[i].b == 1);
    free(pairs);
}

/* A file's own time (a copied folder gives every file one) never makes a burst: only camera times do. */
TEST(dups_file_times_make_no_moment) {
    dups_params p = dups_params_for_threshold(0.92f);
    dups_item it[3] = {
        {.id = 1, .path = "a", .phash = 0x0123456789ABCD00ull, .has_phash = true, .taken_at = 1000},
        {.id = 2, .path = "b", .phash = 0xFEDCBA9876543200ull, .has_phash = true, .taken_at = 1003},
        {.id = 3, .path = "c", .phash = 0x00FF00FF00FF00FFull, .has_phash = true, .taken_at = 1003,
         .time_from_file = true},
    };
    CHECK(dups_pair_kind(&it[0], &it[1], 0.95f, &p) == DUPS_SAME_MOMENT);
    CHECK(dups_pair_kind(&it[0], &it[2], 0.95f, &p) < 0);
    CHECK(dups_pair_kind(&it[2], &it[1], 0.95f, &p) < 0);
    dups_pair *pairs = NULL;
    int64_t n = 0, cap = 0;
    CHECK_OK(dups_time_pairs(it, 3, 10, &pairs, &n, &cap, NULL));
    CHECK(n == 1 && pairs[0].a + pairs[0].b == 1); /* a and b, never c */
    free(pairs);
}
