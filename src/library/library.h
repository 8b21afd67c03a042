/* The library handle shared by indexing (src/ingest) and searching (src/search): the store plus the models and
 * the vector index kept loaded between calls (a server answers many queries with one handle). */
#ifndef PSK_LIBRARY_H
#define PSK_LIBRARY_H

#include "../index/index.h"
#include "../store/store.h"
#include "remote.h"

struct psk_library {
    psk_store *store; /* the SQLite file, or NULL when the library lives in PostgreSQL: */
    pg_store *pg;
    pc_store *pc;     /* ... or in Pinecone */
    bool pg_catalog; /* this SQLite library is a worker's catalog for a PostgreSQL library (pg_sync.c) */
    /* the image model, loaded on first use and kept */
    psk_model *image_model;
    psk_context *image_ctx;
    char image_model_dir[1024];
    psk_precision image_precision;
    /* the text model of the last query */
    psk_model *text_model;
    psk_context *text_ctx;
    char text_model_dir[1024];
    int n_threads;
    /* the vector index of one model, valid while the database's data_version is unchanged */
    psk_vindex vindex;
    int64_t vindex_model;
    int64_t vindex_version;
    bool vindex_loaded;
    psk_pool *pool;
    /* recent query phrases and their vectors (a server sees the same queries again and again) */
    struct {
        char *key; /* model folder + '\n' + phrase */
        float *vec;
        uint64_t used;
    } qcache[64];
    uint64_t qclock;
};

/* Loads (or reuses) the image model of `dir`. */
int library_image_model(psk_library *lib, const char *dir, int n_threads, psk_precision precision, psk_error *err);
int library_text_model(psk_library *lib, const char *dir, int n_threads, psk_error *err);
/* Loads every vector of a model into lib->vindex (unless the loaded one is still current), with the HNSW graph
 * saved beside the database when there is one built for exactly these rows. */
int library_vindex(psk_library *lib, int64_t model_id, int dim, psk_error *err);
/* Brings the HNSW graph beside the database up to date for a model with many vectors (PSK_ANN_MIN_ROWS or more;
 * `force` builds one whatever the size). */
int library_update_ann(psk_library *lib, int64_t model_id, int dim, bool force, psk_error *err);
/* For the operations only the SQLite store has so far: PSK_ERR_UNSUPPORTED naming `what` on a PostgreSQL store. */
int library_need_sqlite(psk_library *lib, const char *what, psk_error *err);
/* Copies media rows of src (a SQLite library) with their vectors of its current model to dst, in batches of one
 * transaction each: all of them, or with `track` (src is a worker's catalog, its pg_pushed table made by
 * library_index_pg) those not pushed yet, recording each batch there once the server has committed it. Adds to
 * *media and *vectors. */
int library_push(psk_store *src, remote *dst, bool track, volatile int *cancel, psk_progress_fn progress,
                 void *user, int64_t *media, int64_t *vectors, psk_error *err);
/* psk_library_index on a PostgreSQL or Pinecone library (pg_sync.c): index into the local catalog, then push the changes. */
int library_index_pg(psk_library *lib, const psk_index_params *p, psk_index_stats *stats, psk_error *err);
/* A change counter of the database file that moves whenever any connection commits. */
int64_t library_data_version(psk_library *lib);

#endif
