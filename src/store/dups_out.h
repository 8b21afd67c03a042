/* The near-duplicate groups of src/dups turned into the library's psk_dup_group, and the stored groups (a store's
 * table of (media id, group id, kind) rows) read back as links and as results' group and group_size (dups_out.c). */
#ifndef PSK_STORE_DUPS_OUT_H
#define PSK_STORE_DUPS_OUT_H

#include "../dups/dups.h"

/* The cosine of two items' embeddings (indices into the items; below -1: not known). */
typedef float (*store_dups_cos_fn)(void *user, int64_t a, int64_t b);
/* *groups (ng of them: psk_dup_groups_free) from g: kind, keeper rule, why (in words, from p), members with their
 * similarity to the keeper. */
int store_dups_output(const dups_item *items, const dups_group *g, int ng, const dups_params *p, store_dups_cos_fn cos,
                      void *user, psk_dup_group **groups, int *n, psk_error *err);

/* Files changed in place since the last update of the stored groups: a store keeps their ids as a meta value
 * ("dups_redo": ids, each followed by a space), the update lets them look for partners as new photos do and takes
 * none of their stored links. Past STORE_DUPS_REDO_MAX of them the update regroups the whole library instead. */
#define STORE_DUPS_REDO_MAX 4096
typedef struct store_dups_redo {
    int64_t *ids; /* sorted, unique */
    size_t n;
    bool all; /* more than STORE_DUPS_REDO_MAX: regroup everything */
} store_dups_redo;
/* Parses a dups_redo value (NULL or "": none). PSK_ERR_NOMEM only. */
int store_dups_redo_parse(const char *list, store_dups_redo *out, psk_error *err);
bool store_dups_redo_has(const store_dups_redo *r, int64_t id);
void store_dups_redo_free(store_dups_redo *r);

/* One row of a store's stored groups: a member, its group (the keeper's media id when stored), the group's kind
 * (store_dups_links) or its number of members (store_dups_fill). */
typedef struct store_dup_row {
    int64_t media, group;
    int kind, size;
} store_dup_row;

/* The item of media id `id` among items sorted by id; -1: none. */
int64_t store_dups_item_of(const dups_item *items, int64_t n, int64_t id);
/* The stored groups (rows sorted by group, then media) as links already made: each member still among the items to
 * its group's first member still there, at cosine 1 with the stored kind (an incremental update's old groups). The
 * rows of files changed in place since (redo; NULL: none) are no links: such a row may have been written again by
 * an update that ran beside the change. */
int store_dups_links(const dups_item *items, int64_t n, const store_dup_row *rows, int64_t n_rows,
                     const store_dups_redo *redo, dups_pair **pairs, int64_t *n_pairs, int64_t *cap, psk_error *err);
/* Fills group and group_size of each result from the rows of the results' media (each media once; sorted here
 * by media): a result without a row is in no group (group 0, size 1). */
void store_dups_fill(psk_result *r, int n, store_dup_row *rows, int n_rows);

#endif
