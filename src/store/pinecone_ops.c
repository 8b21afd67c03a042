/* The Pinecone backend's table: pinecone.c's requests behind the store interface. Pinecone has no row ids
 * (items, similar-by-id and thumbnails need SQLite or PostgreSQL) and no GROUP BY (no facets); it ranks, and
 * filters by date, type, place and the bounding box of --near; camera, folder and the exact great-circle distance
 * of --near, which its operators cannot express, are checked here. */
#include "pinecone.h"

#include <stdio.h>
#include <string.h>

static void pc_close_op(void *self) { pc_store_close(self); }
static const char *pc_shown(void *self) { return ((pc_store *)self)->shown; }

static int pc_model(void *self, store_model *m, psk_error *err) {
    m->id = 0;
    return pc_model_get(self, m->name, sizeof m->name, &m->dim, m->dir, sizeof m->dir, err);
}

static int pc_ensure(void *self, const char *name, int dim, const char *dir, store_model *m, psk_error *err) {
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    m->dim = dim;
    return pc_model_set(self, name, dim, dir, err);
}

static int pc_put(void *self, const store_model *m, const store_item *items, int n, psk_error *err) {
    return pc_put_items(self, m->dim, items, n, err);
}

static int pc_delete(void *self, const char *const *paths, int n, psk_error *err) {
    return pc_delete_paths(self, paths, n, err);
}

static int pc_search(void *self, const store_model *m, const float *qv, const psk_search_params *p, int k,
                     psk_result **results, int *n_out, psk_error *err) {
    psk_buf f = {0};
    int rc = filter_pinecone(&p->filter, &f, err);
    /* what is checked here (camera, folder, the exact distance of --near) drops matches: as many as Pinecone gives
     * are asked for then, to make up for them */
    const psk_filter *pf = &p->filter;
    bool local = (pf->camera && *pf->camera) || (pf->folder && *pf->folder) || pf->near_km > 0;
    int top_k = local ? 1000 : k * 4 + 64;
    if (top_k > 1000) top_k = 1000; /* Pinecone's limit with metadata */
    psk_result *hits = NULL;
    int n_hits = 0;
    if (!rc) rc = pc_query(self, qv, m->dim, top_k, f.len ? f.data : NULL, &hits, &n_hits, err);
    psk_buf_free(&f);
    int kept = 0;
    for (int i = 0; !rc && i < n_hits; i++) {
        const psk_result *h = &hits[i];
        bool near = pf->near_km <= 0 ||
                    (h->has_gps && psk_great_circle_km(pf->near_lat, pf->near_lon, h->lat, h->lon) <= pf->near_km);
        if (near && filter_accepts(pf, h)) hits[kept++] = hits[i];
    }
    if (!rc) rc = store_best_per_file(hits, kept, p, k, results, n_out, err);
    psk_free(hits);
    return rc;
}

static int pc_status(void *self, psk_library_status *st, psk_error *err) {
    int dim, rc = pc_model_get(self, st->model_id, sizeof st->model_id, &dim, st->model_dir, sizeof st->model_dir, err);
    st->embeddings = ((pc_store *)self)->vectors;
    return rc == PSK_ERR_NOT_FOUND ? PSK_OK : rc;
}

const store_ops store_pc_ops = {
    .kind = "Pinecone",
    .caps = PSK_STORE_CAP_SHARDS | PSK_STORE_CAP_COPY_INTO | PSK_STORE_CAP_SERVER_INDEX | PSK_STORE_CAP_NEAR |
            PSK_STORE_CAP_PLACES,
    .close = pc_close_op,
    .shown = pc_shown,
    .identity = pc_shown,
    .current_model = pc_model,
    .model_ensure = pc_ensure,
    .put_items = pc_put,
    .delete_paths = pc_delete,
    .search = pc_search,
    .status = pc_status,
};
