/* A file changed in place (store_put_phash under an id the duplicate groups have seen) leaves its stored group and is
 * listed once in meta dups_redo for the next update; past STORE_DUPS_REDO_MAX listed the update regroups everything,
 * and a file changed after a full regroup was asked for still leaves its group (its row would otherwise stay a link
 * already made). */
#include "test.h"

#include "../../src/store/dups_out.h"
#include "../../src/store/store.h"

static bool in_group(psk_store *s, int64_t id) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM dup_groups WHERE media_id = %lld", (long long)id);
    return store_count(s, sql) == 1;
}

TEST(dups_changed_file_leaves_its_group) {
    char path[600], v[256];
    snprintf(path, sizeof path, "%s/redo.db", test_tmpdir());
    psk_store *s = NULL;
    CHECK_OK(store_open(path, true, &s, err_));
    if (!s) return;
    CHECK_OK(store_exec(s,
                        "INSERT INTO media(id, path, folder) VALUES (1, '/p/1.jpg', '/p'), (2, '/p/2.jpg', '/p'),"
                        " (3, '/p/3.jpg', '/p'), (4, '/p/4.jpg', '/p');"
                        "INSERT INTO dup_groups(media_id, group_id, kind) VALUES (1, 1, 1), (2, 1, 1), (3, 3, 1),"
                        " (4, 3, 1);"
                        "INSERT INTO meta(key, value) VALUES ('dups_max_id', '4')",
                        err_));
    /* changed: it leaves its group and is listed, once however often it changes before the update */
    CHECK_OK(store_put_phash(s, 2, 7, err_));
    CHECK(!in_group(s, 2) && in_group(s, 1));
    CHECK_OK(store_put_phash(s, 2, 8, err_));
    CHECK(store_meta_get(s, "dups_redo", v, sizeof v) == PSK_OK);
    CHECKF(strcmp(v, "2 ") == 0, "dups_redo '%s'", v);
    /* a long list that holds 12, not 1 or 2: 1 is added */
    CHECK_OK(store_meta_set(s, "dups_redo", "12 ", err_));
    CHECK_OK(store_put_phash(s, 1, 9, err_));
    CHECK(store_meta_get(s, "dups_redo", v, sizeof v) == PSK_OK);
    CHECKF(strcmp(v, "12 1 ") == 0, "dups_redo '%s'", v);
    /* a full list asks for a full regroup */
    psk_buf full = {0};
    for (int i = 0; i < STORE_DUPS_REDO_MAX; i++) psk_buf_printf(&full, "%d ", 1000 + i);
    CHECK(!full.failed);
    CHECK_OK(store_meta_set(s, "dups_redo", full.data, err_));
    psk_buf_free(&full);
    CHECK_OK(store_put_phash(s, 3, 10, err_));
    CHECK(!in_group(s, 3));
    char *list = psk_malloc(STORE_DUPS_REDO_MAX * 21 + 32);
    store_dups_redo redo = {0};
    CHECK(list && store_meta_get(s, "dups_redo", list, STORE_DUPS_REDO_MAX * 21 + 32) == PSK_OK);
    CHECK_OK(store_dups_redo_parse(list, &redo, err_));
    psk_free(list);
    CHECK(redo.all);
    store_dups_redo_free(&redo);
    /* a full regroup asked for (dups_max_id 0): a file changed then still leaves its group, its row is no link */
    CHECK_OK(store_meta_set(s, "dups_max_id", "0", err_));
    CHECK_OK(store_put_phash(s, 4, 11, err_));
    CHECK(!in_group(s, 4));
    store_close(s);
}
