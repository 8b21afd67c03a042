/* The stored near-duplicate groups read back (src/store/dups_out.c), as both stores use them: rows become links to
 * each group's first member still there (an incremental update), and a result page gets its groups and sizes. */
#include "test.h"

#include "../../src/store/dups_out.h"

#include <stdlib.h>

TEST(dups_out_stored_rows_become_links) {
    /* items by id: 2, 5, 7, 9, 11 (id 3 is gone) */
    dups_item it[5] = {{.id = 2}, {.id = 5}, {.id = 7}, {.id = 9}, {.id = 11}};
    CHECK(store_dups_item_of(it, 5, 2) == 0 && store_dups_item_of(it, 5, 11) == 4);
    CHECK(store_dups_item_of(it, 5, 3) == -1 && store_dups_item_of(it, 5, 12) == -1 &&
          store_dups_item_of(it, 0, 2) == -1);
    /* group 3 (its keeper gone): 3, 5, 9; group 7: 7, 11; group 2: 2 alone */
    store_dup_row rows[6] = {{.media = 2, .group = 2, .kind = 0}, {.media = 3, .group = 3, .kind = 1},
                             {.media = 5, .group = 3, .kind = 1}, {.media = 9, .group = 3, .kind = 1},
                             {.media = 7, .group = 7, .kind = 2}, {.media = 11, .group = 7, .kind = 2}};
    dups_pair *pairs = NULL;
    int64_t n = 0, cap = 0;
    CHECK_OK(store_dups_links(it, 5, rows, 6, NULL, &pairs, &n, &cap, NULL));
    CHECKF(n == 2, "%lld links", (long long)n);
    /* 9 to 5 (the first member still there), 11 to 7, at cosine 1 with the stored kind */
    CHECK(n >= 1 && pairs[0].a == 1 && pairs[0].b == 3 && pairs[0].cos == 1.0f && pairs[0].kind == 1);
    CHECK(n >= 2 && pairs[1].a == 2 && pairs[1].b == 4 && pairs[1].kind == 2);
    free(pairs);
    /* 7 changed in place since: its row is no link, so 11 is alone in its group now */
    int64_t changed[1] = {7};
    store_dups_redo redo = {changed, 1, false};
    pairs = NULL, n = 0, cap = 0;
    CHECK_OK(store_dups_links(it, 5, rows, 6, &redo, &pairs, &n, &cap, NULL));
    CHECKF(n == 1 && pairs[0].a == 1 && pairs[0].b == 3, "%lld links", (long long)n);
    free(pairs);
}

TEST(dups_out_fills_a_page_of_results) {
    psk_result r[4] = {{.id = 40}, {.id = 10}, {.id = 30}, {.id = 20, .group = 99, .group_size = 5}};
    /* the rows of the page's media, in no order: 10 and 30 in group 10 (3 members), 20 in none any more */
    store_dup_row rows[2] = {{.media = 30, .group = 10, .size = 3}, {.media = 10, .group = 10, .size = 3}};
    store_dups_fill(r, 4, rows, 2);
    CHECK(r[0].group == 0 && r[0].group_size == 1);
    CHECK(r[1].group == 10 && r[1].group_size == 3);
    CHECK(r[2].group == 10 && r[2].group_size == 3);
    CHECK(r[3].group == 0 && r[3].group_size == 1);
    store_dups_fill(r, 4, NULL, 0);
    CHECK(r[1].group == 0 && r[1].group_size == 1);
}

/* The list of files changed in place (meta dups_redo): ids sorted and unique, junk after a number ignored, and past
 * STORE_DUPS_REDO_MAX ids the whole library regroups. */
TEST(dups_out_redo_list_parses_and_overflows) {
    psk_error err = {0};
    store_dups_redo r;
    CHECK_OK(store_dups_redo_parse(NULL, &r, &err));
    CHECK(r.n == 0 && !r.all && !store_dups_redo_has(&r, 1));
    store_dups_redo_free(&r);
    CHECK_OK(store_dups_redo_parse("17 3 17 9000000000 3 ", &r, &err));
    CHECKF(r.n == 3 && !r.all, "%zu ids", r.n);
    CHECK(r.ids[0] == 3 && r.ids[1] == 17 && r.ids[2] == 9000000000LL);
    CHECK(store_dups_redo_has(&r, 17) && store_dups_redo_has(&r, 9000000000LL) && !store_dups_redo_has(&r, 4));
    store_dups_redo_free(&r);
    CHECK_OK(store_dups_redo_parse("5 x 6 ", &r, &err));
    CHECK(r.n == 1 && r.ids[0] == 5);
    store_dups_redo_free(&r);
    psk_buf b = {0};
    for (int i = 1; i <= STORE_DUPS_REDO_MAX; i++) psk_buf_printf(&b, "%d ", i);
    CHECK_OK(store_dups_redo_parse(b.data, &r, &err));
    CHECK(r.n == STORE_DUPS_REDO_MAX && !r.all);
    store_dups_redo_free(&r);
    psk_buf_printf(&b, "%d ", STORE_DUPS_REDO_MAX + 1);
    CHECK_OK(store_dups_redo_parse(b.data, &r, &err));
    CHECK(r.all && r.n == 0);
    store_dups_redo_free(&r);
    psk_buf_free(&b);
}
