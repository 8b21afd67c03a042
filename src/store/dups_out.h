/* The near-duplicate groups of src/dups turned into the library's psk_dup_group (dups_out.c). */
#ifndef PSK_STORE_DUPS_OUT_H
#define PSK_STORE_DUPS_OUT_H

#include "../dups/dups.h"

/* The cosine of two items' embeddings (indices into the items; below -1: not known). */
typedef float (*store_dups_cos_fn)(void *user, int64_t a, int64_t b);
/* *groups (ng of them: psk_dup_groups_free) from g: kind, keeper rule, why (in words, from p), members with their
 * similarity to the keeper. */
int store_dups_output(const dups_item *items, const dups_group *g, int ng, const dups_params *p, store_dups_cos_fn cos,
                      void *user, psk_dup_group **groups, int *n, psk_error *err);

#endif
