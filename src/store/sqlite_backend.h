/* The SQLite backend's handle, shared by sqlite_ops.c (the table, rows, status) and sqlite_search.c (the
 * in-memory vector index, its HNSW graph, filtered search). */
#ifndef PSK_STORE_SQLITE_BACKEND_H
#define PSK_STORE_SQLITE_BACKEND_H

#include "../index/index.h"
#include "backend.h"

typedef struct sqlite_backend {
    psk_store *store;
    /* the vector index of one model, valid while the database's data_version is unchanged */
    psk_vindex vindex;
    int64_t vindex_model;
    int64_t vindex_version;
    bool vindex_loaded;
    vindex_file_key vindex_key; /* the key of the loaded rows (vindex_keyed: the library has the change counter),
                                 * which the graph file is saved with */
    bool vindex_keyed;
    psk_pool *pool; /* the scan's and the graph build's threads, made on first use */
} sqlite_backend;

/* Fills r from a row of "SELECT " SQLITE_RESULT_COLUMNS " FROM media WHERE id = ?" (st is reset and bound to id here). PSK_ERR_NOT_FOUND when there is no such row. */
int sqlite_fill_result(sqlite3_stmt *st, int64_t id, psk_result *r);
#define SQLITE_RESULT_COLUMNS                                                                                          \
    "path, taken_at, offset_min, taken_local, type, width, height, make, model, lat, lon, place_city, place_region,"    \
    " place_country, place_cc"

int sqlite_search(void *self, const store_model *m, const float *q, const psk_search_params *p, int k,
                  psk_result **results, int *n, psk_error *err);
int sqlite_refresh_index(void *self, const store_model *m, bool force, psk_error *err);
void sqlite_index_free(sqlite_backend *b);
/* Loads (or keeps) the vector index of model m into b->vindex. */
int sqlite_vindex(sqlite_backend *b, const store_model *m, psk_error *err);
/* Near-duplicate groups (sqlite_dups.c), and the stored ones brought up to date incrementally. */
int sqlite_dups_update(void *self, const store_model *m, psk_error *err);
int sqlite_dup_groups_of(void *self, psk_result *r, int n, psk_error *err);
int sqlite_duplicates(void *self, const store_model *m, const psk_dups_params *p, psk_dup_group **groups, int *n,
                      psk_error *err);

/* People (sqlite_people.c). */
int sqlite_people_group(void *self, bool recluster, psk_error *err);
int sqlite_people(void *self, int min_faces, const psk_filter *f, psk_person **out, int *n, psk_error *err);
int sqlite_person_faces(void *self, int64_t person, psk_face_ref **out, int *n, psk_error *err);
int sqlite_face_get(void *self, int64_t face, psk_face_ref *out, psk_error *err);
int sqlite_media_faces(void *self, int64_t media_id, psk_face_ref **out, int *n, psk_error *err);
int sqlite_people_edit(void *self, const store_people_edit *e, psk_error *err);
int sqlite_people_of(void *self, psk_result *r, int n, psk_error *err);
int sqlite_browse(void *self, const psk_filter *f, int k, psk_result **out, int *n, psk_error *err);
int sqlite_person_names(void *self, int (*fn)(void *user, const char *name), void *user, psk_error *err);

#endif
