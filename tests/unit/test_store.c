/* The store interface: each backend's table keeps the promises of its capability flags, the SQLite backend opens
 * and answers through it, and a missing capability is a clear PSK_ERR_UNSUPPORTED naming what works. */
#include "test.h"

#include "../../src/library/library.h"
#include "../../src/store/pinecone.h"

#include <cjson/cJSON.h>

static const store_ops *const all_ops[3] = {&store_sqlite_ops, &store_pg_ops, &store_pc_ops};

TEST(store_tables_keep_their_flags) {
    for (int i = 0; i < 3; i++) {
        const store_ops *o = all_ops[i];
        unsigned c = o->caps;
        CHECKF(o->kind && o->close && o->shown && o->identity && o->current_model && o->model_ensure && o->search &&
                   o->status,
               "%s: an operation every store has is missing", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_ROW_IDS) == !o->get_media, "%s: ROW_IDS and get_media disagree", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_SIMILAR_BY_ID) == !o->get_vector, "%s: SIMILAR_BY_ID and get_vector", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_FACETS) == !o->facets, "%s: FACETS and facets disagree", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_DUPLICATES) == !o->duplicates, "%s: DUPLICATES and duplicates", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_PEOPLE) == !(o->people && o->people_group && o->people_edit), "%s: PEOPLE and people",
               o->kind);
        CHECKF(!(c & PSK_STORE_CAP_ERRORS) == !o->errors, "%s: ERRORS and errors disagree", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_LOCAL_INDEX) == !o->local_store, "%s: LOCAL_INDEX and local_store", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_COPY_INTO) == !(o->put_items && o->delete_paths), "%s: COPY_INTO and put_items",
               o->kind);
        CHECKF(!(c & PSK_STORE_CAP_SERVER_INDEX) == !!o->refresh_index, "%s: SERVER_INDEX and refresh_index", o->kind);
        /* a store indexed by workers is one the pipeline does not write itself, and the other way round */
        CHECKF(!(c & PSK_STORE_CAP_SHARDS) == !!(c & PSK_STORE_CAP_LOCAL_INDEX), "%s: SHARDS and LOCAL_INDEX", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_TEXT) == !(o->text_find && o->text_of), "%s: TEXT and text_find/text_of", o->kind);
        CHECKF(!(c & PSK_STORE_CAP_PEOPLE) == !(o->people_group && o->people && o->person_faces && o->face_get &&
                                                o->people_edit && o->people_of && o->browse && o->person_names),
               "%s: PEOPLE and the people operations", o->kind);
    }
    CHECK(store_sqlite_ops.caps == (PSK_STORE_CAP_ROW_IDS | PSK_STORE_CAP_SIMILAR_BY_ID | PSK_STORE_CAP_FACETS |
                                    PSK_STORE_CAP_ERRORS | PSK_STORE_CAP_IMPORT | PSK_STORE_CAP_LOCAL_INDEX |
                                    PSK_STORE_CAP_DUPLICATES | PSK_STORE_CAP_TEXT |
                                    PSK_STORE_CAP_PLACES | PSK_STORE_CAP_NEAR | PSK_STORE_CAP_PEOPLE));
    CHECK(store_pg_ops.caps == (PSK_STORE_CAP_ROW_IDS | PSK_STORE_CAP_SIMILAR_BY_ID | PSK_STORE_CAP_FACETS |
                                PSK_STORE_CAP_SHARDS | PSK_STORE_CAP_COPY_INTO | PSK_STORE_CAP_SERVER_INDEX |
                                PSK_STORE_CAP_NEAR | PSK_STORE_CAP_TEXT | PSK_STORE_CAP_PLACES |
                                PSK_STORE_CAP_DUPLICATES | PSK_STORE_CAP_PEOPLE));
    CHECK(store_pc_ops.caps == (PSK_STORE_CAP_SHARDS | PSK_STORE_CAP_COPY_INTO | PSK_STORE_CAP_SERVER_INDEX |
                                PSK_STORE_CAP_NEAR | PSK_STORE_CAP_PLACES));
    char has[160];
    backend_describe(store_pg_ops.caps, has, sizeof has);
    CHECKF(strcmp(has, "search, similar, status, items, facets, duplicates, text search and people") == 0, "%s", has);
    backend_describe(store_pc_ops.caps, has, sizeof has);
    CHECKF(strcmp(has, "search, similar IMAGE and status") == 0, "%s", has);
}

TEST(sqlite_backend_through_the_interface) {
    char path[600];
    snprintf(path, sizeof path, "%s/iface.db", test_tmpdir());
    psk_library *lib = NULL;
    psk_error err = {0};
    CHECK_OK(psk_library_open(path, PSK_OPEN_WRITE, &lib, err_));
    if (!lib) return;
    CHECK(psk_library_capabilities(lib) == store_sqlite_ops.caps);
    CHECK(strcmp(psk_library_store_kind(lib), "SQLite") == 0);
    store_backend *b = library_backend(lib);
    CHECK(library_local_store(lib, "indexing", &err) != NULL);
    CHECK(strcmp(backend_shown(b), path) == 0);
    store_model m;
    CHECK(backend_current_model(b, &m, &err) == PSK_ERR_NOT_FOUND && strstr(err.message, "the library is empty"));
    CHECK_OK(b->ops->model_ensure(b->self, "test-model", 4, "/models/test", &m, err_));
    CHECK(m.id > 0 && m.dim == 4);
    store_model cur;
    CHECK_OK(backend_current_model(b, &cur, err_));
    CHECK(cur.id == m.id && cur.dim == 4 && strcmp(cur.name, "test-model") == 0);
    psk_store *s = library_local_store(lib, "indexing", &err);
    store_media row = {0};
    snprintf(row.path, sizeof row.path, "/photos/a.jpg");
    row.type = 1;
    row.year = 2022;
    CHECK_OK(store_media_put(s, &row, err_));
    const float v[4] = {1, 0, 0, 0};
    CHECK_OK(store_put_embedding(s, row.id, m.id, -1, v, 4, err_));
    psk_search_params p = psk_search_default_params();
    psk_result *res = NULL;
    int n = 0;
    CHECK_OK(backend_search(b, &m, v, &p, &res, &n, err_));
    CHECK(n == 1 && res && res[0].id == row.id && fabsf(res[0].score - 1.0f) < 1e-3f);
    psk_results_free(res);
    p.filter.years[0] = 2021;
    p.filter.n_years = 1;
    CHECK_OK(backend_search(b, &m, v, &p, &res, &n, err_));
    CHECK(n == 0);
    psk_results_free(res);
    float got[4];
    CHECK_OK(backend_get_vector(b, &m, row.id, got, err_));
    CHECK(got[0] == 1.0f && got[1] == 0.0f);
    psk_result r;
    CHECK_OK(backend_get_media(b, row.id, &r, err_));
    CHECK(strcmp(r.path, "/photos/a.jpg") == 0 && r.frame_ms == -1);
    CHECK(backend_get_media(b, row.id + 100, &r, &err) == PSK_ERR_NOT_FOUND);
    psk_library_status st;
    CHECK_OK(psk_library_get_status(lib, &st, err_));
    CHECK(st.photos == 1 && st.embeddings == 1 && strcmp(st.model_id, "test-model") == 0);
    psk_facets *f = NULL;
    CHECK_OK(psk_library_facets(lib, &f, err_));
    CHECK(f && f->n_years == 1 && strcmp(f->years[0].value, "2022") == 0);
    psk_facets_free(f);
    psk_library_close(lib);
}

TEST(missing_capability_says_what_works) {
    /* A Pinecone backend that never connected: only its table and its name are used. */
    pc_store *pc = psk_calloc(1, sizeof *pc);
    CHECK(pc != NULL);
    if (!pc) return;
    snprintf(pc->shown, sizeof pc->shown, "pinecone://example/ns");
    store_backend b = {&store_pc_ops, pc};
    psk_error err = {0};
    psk_facets *f = NULL;
    CHECK(backend_facets(&b, &f, &err) == PSK_ERR_UNSUPPORTED);
    CHECKF(strcmp(err.message, "pinecone://example/ns: listing facets works on a SQLite library only so far (a Pinecone "
                               "library has search, similar IMAGE and status)") == 0,
           "%s", err.message);
    psk_result r;
    CHECK(backend_get_media(&b, 1, &r, &err) == PSK_ERR_UNSUPPORTED && strstr(err.message, "looking an item up"));
    store_model m = {.dim = 4};
    float v[4];
    CHECK(backend_get_vector(&b, &m, 1, v, &err) == PSK_ERR_UNSUPPORTED && strstr(err.message, "similar to an item"));
    CHECK(backend_errors(&b, NULL, NULL, &err) == PSK_ERR_UNSUPPORTED && strstr(err.message, "listing failures"));
    char *text = NULL;
    CHECK(backend_text_of(&b, 1, &text, &err) == PSK_ERR_UNSUPPORTED && !text);
    CHECKF(strcmp(err.message, "pinecone://example/ns: text search works on SQLite and PostgreSQL libraries (a Pinecone "
                               "library has search, similar IMAGE and status)") == 0,
           "%s", err.message);
    backend_close(&b);
}

/* --near and places in Pinecone's metadata filter: the bounding box as $gte/$lte on lat and lon (an $or across the
 * antimeridian), places as an $or of their names, all inside $and beside the dates; valid JSON throughout. */
TEST(pinecone_filter_has_the_near_box_and_places) {
    psk_place_match pm[3] = {{PSK_PLACE_COUNTRY, "PT", "", ""},
                             {PSK_PLACE_CITY, "JP", "Kyoto", "Kamigy\xc5\x8d-ku"},
                             {PSK_PLACE_CITY, "JP", "Osaka", "Kamigy\xc5\x8d-ku"}}; /* the same city twice: once */
    psk_filter f = {.near_lat = 35, .near_lon = 179.9, .near_km = 50, .places = pm, .n_places = 3, .from_date = 20190101};
    psk_buf j = {0};
    CHECK_OK(filter_pinecone(&f, &j, err_));
    CHECKF(j.data && strstr(j.data, "{\"lat\": {\"$gte\": 34.55") && strstr(j.data, "{\"lat\": {\"$lte\": 35.44"), "%s", j.data);
    CHECKF(j.data && strstr(j.data, "{\"$or\": [{\"lon\": {\"$gte\": 179.") && strstr(j.data, "{\"lon\": {\"$lte\": -179."),
           "%s", j.data);
    CHECKF(j.data && strstr(j.data, "{\"$and\": [{\"place_cc\": {\"$eq\": \"PT\"}}]}") &&
               strstr(j.data, "{\"place_cc\": {\"$eq\": \"JP\"}}, {\"place_city\": {\"$eq\": \"Kamigy\xc5\x8d-ku\"}}"),
           "%s", j.data);
    const char *first = j.data ? strstr(j.data, "Kamigy") : NULL;
    CHECKF(first && !strstr(first + 1, "Kamigy"), "the same city twice: %s", j.data);
    CHECKF(j.data && strstr(j.data, "{\"taken_at\": {\"$gte\": 1546300800}}"), "%s", j.data);
    cJSON *parsed = j.data ? cJSON_Parse(j.data) : NULL;
    CHECKF(parsed != NULL, "not JSON: %s", j.data);
    cJSON_Delete(parsed);
    psk_buf_free(&j);
    psk_filter near_only = {.near_lat = 38.7, .near_lon = -9.1, .near_km = 10};
    CHECK_OK(filter_pinecone(&near_only, &j, err_));
    CHECKF(j.data && strstr(j.data, "{\"lon\": {\"$gte\": -9.2") && strstr(j.data, "{\"lon\": {\"$lte\": -8.9") &&
               !strstr(j.data, "$or"),
           "%s", j.data);
    psk_buf_free(&j);
}
