/* The stores a library can push to besides its own SQLite file: PostgreSQL (pg.h) or Pinecone (pinecone.h), behind
 * the few operations that copying and indexing need. */
#ifndef PSK_LIBRARY_REMOTE_H
#define PSK_LIBRARY_REMOTE_H

#include "../store/pg.h"
#include "../store/pinecone.h"

typedef struct remote {
    pg_store *pg; /* exactly one of the two */
    pc_store *pc;
    int64_t model_id; /* after remote_model_ensure */
    int dim;
} remote;

bool remote_is_url(const char *s);
int remote_open(const char *url, remote *r, psk_error *err);
void remote_close(remote *r);
const char *remote_name(const remote *r);
/* Records the model (creating PostgreSQL's vector table) before items are put. */
int remote_model_ensure(remote *r, const char *name, int dim, const char *dir, psk_error *err);
int remote_put(remote *r, const remote_item *items, int n, psk_error *err);
int remote_delete_paths(remote *r, const char *const *paths, int n, psk_error *err);

#endif
