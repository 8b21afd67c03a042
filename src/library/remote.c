/* Dispatch of the remote-store operations to PostgreSQL or Pinecone. */
#include "remote.h"

bool remote_is_url(const char *s) { return pg_is_url(s) || pc_is_url(s); }

int remote_open(const char *url, remote *r, psk_error *err) {
    *r = (remote){0};
    if (pg_is_url(url)) return pg_store_open(url, &r->pg, err);
    if (pc_is_url(url)) return pc_store_open(url, &r->pc, err);
    return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: not a postgres:// or pinecone:// URL", url);
}

void remote_close(remote *r) {
    pg_store_close(r->pg);
    pc_store_close(r->pc);
    *r = (remote){0};
}

const char *remote_name(const remote *r) { return r->pg ? r->pg->shown : r->pc ? r->pc->shown : ""; }

int remote_model_ensure(remote *r, const char *name, int dim, const char *dir, psk_error *err) {
    r->dim = dim;
    if (r->pg) return pg_model_ensure(r->pg, name, dim, dir, &r->model_id, err);
    return pc_model_set(r->pc, name, dim, dir, err);
}

int remote_put(remote *r, const remote_item *items, int n, psk_error *err) {
    return r->pg ? pg_put_items(r->pg, r->model_id, r->dim, items, n, err) : pc_put_items(r->pc, r->dim, items, n, err);
}

int remote_delete_paths(remote *r, const char *const *paths, int n, psk_error *err) {
    return r->pg ? pg_delete_paths(r->pg, paths, n, err) : pc_delete_paths(r->pc, paths, n, err);
}
