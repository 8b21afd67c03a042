/* Near-duplicates: a perceptual hash of each decoded photo (phash.c), and the grouping of a library's media into
 * byte-identical copies, copies of the same picture and bursts of the same moment (group.c), with the member each
 * group suggests keeping. The candidate pairs come from the caller (the store: the embeddings' nearest neighbours,
 * the hash's buckets, the capture times); nothing here looks at all pairs. */
#ifndef PSK_DUPS_H
#define PSK_DUPS_H

#include "../common/common.h"

/* ---- the perceptual hash (phash.c) ----
 * 63 bits: the signs of the 8x8 lowest DCT-II coefficients (the DC term's bit is always 0) of a 32x32 grey copy
 * of the image, after trimming a uniform border (a screenshot's frame, a letterbox). Because a flip of the image
 * only negates the odd coefficients along it and a transpose swaps the coefficients' indices, the hash of each of
 * the eight quarter turns and mirrors is a fixed permutation of these bits (dups_phash_turns): no second decode. */
uint64_t dups_phash(const uint8_t *rgb, int width, int height);
/* The hashes of the image turned and mirrored: out[0] = h, then the other seven dihedral transforms. */
void dups_phash_turns(uint64_t h, uint64_t out[8]);
/* The fewest differing bits between a and any turn or mirror of b. */
int dups_phash_distance(uint64_t a, uint64_t b);

/* ---- grouping (group.c) ---- */
typedef enum dups_kind { DUPS_IDENTICAL = 0, DUPS_SAME_PICTURE = 1, DUPS_SAME_MOMENT = 2 } dups_kind;
const char *dups_kind_name(dups_kind k); /* "identical", "same picture", "same moment" */

typedef struct dups_item {
    int64_t id;
    const char *path;
    const char *content_hash; /* "" or NULL: unknown */
    uint64_t phash;
    bool has_phash;
    int64_t taken_at; /* UTC seconds, 0: unknown */
    int64_t bytes;
    int width, height;
    bool time_from_file; /* taken_at is the file's time, not a camera's: copying a folder gives every file one
                          * time, so such a time never makes a burst (only the keeper rule uses it) */
} dups_item;

/* A candidate pair (indices into the items) with the cosine of their embeddings (-2: not known), and the kind of
 * link when it is already known (a stored group's; -1: dups_pair_kind decides). */
typedef struct dups_pair {
    int64_t a, b;
    float cos;
    int kind;
} dups_pair;

typedef struct dups_params {
    float same_picture_cos;  /* cosine at or above which, with a close hash, two photos are the same picture */
    float very_close_cos;    /* cosine at or above which, with hashes within far_hash, two photos are the same */
    int close_hash;          /* hash distance that, with same_picture_cos, says so */
    int very_close_hash;     /* hash distance that alone says so, unless the embeddings say the photos are unrelated: */
    float hash_only_cos;     /* below this cosine (when known) even very close hashes link nothing */
    float moment_cos;        /* a burst: taken at most moment_seconds apart and at least this near in embedding */
    int moment_hash;         /* (the hash bound printed for a moment; the time and embedding decide) */
    int moment_seconds;
    int far_hash;            /* see very_close_cos */
} dups_params;
dups_params dups_default_params(void);
/* The params for a user's --threshold t (the cosine for "same picture"; the others follow it). */
dups_params dups_params_for_threshold(float t);

/* What links two items, or -1 when nothing does. */
int dups_pair_kind(const dups_item *a, const dups_item *b, float cos, const dups_params *p);

typedef enum dups_rule { DUPS_RULE_LARGEST = 0, DUPS_RULE_ORIGINAL = 1, DUPS_RULE_OLDEST = 2, DUPS_RULE_PATH = 3 } dups_rule;
const char *dups_rule_name(dups_rule r); /* "largest", "original", "oldest", "first path" */

typedef struct dups_group {
    dups_kind kind;     /* the loosest link inside the group */
    int64_t keeper;     /* index of the suggested keeper */
    dups_rule rule;     /* the rule that chose it */
    int64_t *members;   /* indices, the keeper first, then by path */
    int n_members;
} dups_group;

/* Groups items linked by candidate pairs (and by equal content hashes, which need no pair), union-find over the
 * links dups_pair_kind accepts. Groups of two or more come out ordered by their keeper's path; free them with
 * dups_groups_free. */
int dups_group_items(const dups_item *items, int64_t n, const dups_pair *pairs, int64_t n_pairs,
                     const dups_params *p, dups_group **groups, int *n_groups, psk_error *err);
void dups_groups_free(dups_group *g, int n);
/* Which member to keep: the most pixels, then the unedited original (no "edited", "copy" or "(1)" style marks in
 * its name, and the larger file), then the oldest capture time, then the first path. Returns the index among
 * idx[0..n) and the rule that decided. */
int64_t dups_pick_keeper(const dups_item *items, const int64_t *idx, int n, dups_rule *rule);

/* Candidate pairs from the hashes alone: items whose hashes (any turn) share one of the chunks of bits exactly
 * (multi-index hashing: two hashes within d bits share a chunk when d < the number of chunks). Appends to *pairs
 * (cos -2). */
/* Only items with probe[i] set (probe NULL: all) look for partners: the new photos of an incremental update. */
int dups_hash_pairs(const dups_item *items, int64_t n, const bool *probe, dups_pair **pairs, int64_t *n_pairs,
                    int64_t *cap, psk_error *err);
/* Candidate pairs from the capture times: items taken at most `seconds` apart (sorted by time, a window). */
int dups_time_pairs(const dups_item *items, int64_t n, int seconds, dups_pair **pairs, int64_t *n_pairs,
                    int64_t *cap, psk_error *err);
int dups_pairs_push(dups_pair **pairs, int64_t *n_pairs, int64_t *cap, int64_t a, int64_t b, float cos);

#endif
