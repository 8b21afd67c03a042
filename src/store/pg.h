/* The PostgreSQL + pgvector store (libpq): media metadata and vectors on a server, for collections that outgrow one
 * machine. Opened by giving the library a postgres:// or postgresql:// URL instead of a file.
 *
 * Schema (created on first use; the vector table is sized from the model):
 *   photoseek_models(id serial PRIMARY KEY, name text UNIQUE, dim int, dir text)
 *   photoseek_media(id bigserial PRIMARY KEY, path text UNIQUE, folder, hash, type, width, height, taken_at,
 *                   offset_min, taken_local, year, month, day, local_date, make, model, lat, lon, duration_ms,
 *                   description)                      the same meaning as the SQLite columns (store.h)
 *   photoseek_vectors_<model id>(media_id bigint REFERENCES photoseek_media ON DELETE CASCADE, frame_ms bigint,
 *                   embedding vector(dim), PRIMARY KEY(media_id, frame_ms))
 *                   with an HNSW index using vector_ip_ops: vectors are unit length, so the inner product is the
 *                   cosine and `<#>` (negative inner product) orders best first.
 *   photoseek_media also has place_city, place_region, place_country, place_cc (the SQLite columns: NULL not looked
 *                   up, '' no place near), phash (the perceptual hash), size (bytes) and people (jsonb: the names
 *                   of a Takeout sidecar's people, an array of strings; NULL: none); older libraries gain them in place
 *   photoseek_text(media_id bigint PRIMARY KEY REFERENCES photoseek_media ON DELETE CASCADE, text, words (JSON),
 *                   folded (psk_text_fold)) with a GIN index on folded using pg_trgm's gin_trgm_ops (pg_text.c)
 *   photoseek_people(id bigserial PRIMARY KEY, name (unique in any case), cover_face_id, created_at)
 *   photoseek_faces(id bigserial PRIMARY KEY, media_id REFERENCES photoseek_media ON DELETE CASCADE, frame_ms,
 *                   x, y, w, h, score real, descriptor vector(128), person_id REFERENCES photoseek_people ON DELETE
 *                   SET NULL, assigned (1: placed by the user))
 *   photoseek_face_scans(media_id PRIMARY KEY REFERENCES photoseek_media ON DELETE CASCADE, n_faces)
 *                   the SQLite store's faces, people and face_scans (store.h, sqlite_people.c; pg_people.c) */
#ifndef PSK_STORE_PG_H
#define PSK_STORE_PG_H

#include "backend.h"

#include <libpq-fe.h>

typedef struct pg_store {
    PGconn *conn;
    char url[1024]; /* as given, for messages (the password is not printed: see pg_store_open) */
    char shown[1024];
    int reconnects; /* how often the connection was lost and made again */
    bool trgm;          /* the server has pg_trgm (text in photos) */
    char trgm_why[200]; /* else the server's reason */
} pg_store;

bool pg_is_url(const char *s);
/* Connects (10 s connect timeout unless the URL sets one) and creates the schema; a server without the vector
 * extension gets a message saying what to install. */
int pg_store_open(const char *url, pg_store **out, psk_error *err);
void pg_store_close(pg_store *s);

/* The row of a model, created with its vector table and HNSW index when missing. */
int pg_model_ensure(pg_store *s, const char *name, int dim, const char *dir, int64_t *id, psk_error *err);
/* The most recently created model: id, name, dim, dir. PSK_ERR_NOT_FOUND when there is none. */
int pg_current_model(pg_store *s, int64_t *id, char *name, size_t name_cap, int *dim, char *dir, size_t dir_cap,
                     psk_error *err);

/* Upserts items in one transaction, as pipelined prepared statements with binary vectors. A lost connection is
 * made again (with backoff, for up to a minute) and the transaction repeated. */
int pg_put_items(pg_store *s, int64_t model_id, int dim, const store_item *items, int n, psk_error *err);

/* Deletes the media rows of these paths (their vectors go with them), in one transaction. */
int pg_delete_paths(pg_store *s, const char *const *paths, int n, psk_error *err);

/* One media row as a result (score 0, frame_ms unset). PSK_ERR_NOT_FOUND when there is none. */
int pg_get_media(pg_store *s, int64_t id, psk_result *out, psk_error *err);
/* The first vector of a media row (a photo's only one, a video's first frame), read in pgvector's binary form. */
int pg_get_vector(pg_store *s, int64_t model_id, int64_t media_id, int dim, float *out, psk_error *err);
/* Rows of (text, count) from a query, as facets; also used for counts. */
int pg_pairs(pg_store *s, const char *sql, psk_facet **out, int *n, psk_error *err);

/* A search: `where` holds " AND ..." conditions over photoseek_media columns with $2.. placeholders bound to the
 * text values in params ($1 is the query vector). Fills up to `limit` results best first (several per video),
 * with id, path, dates, type, size, camera, place, score and frame_ms. `exact`: a filter that leaves few rows (the
 * text in photos): they are read and ranked exactly rather than through the HNSW index. */
int pg_search(pg_store *s, int64_t model_id, int dim, const float *q, const char *where, const char *const *params,
              int n_params, int limit, bool exact, psk_result **results, int *n, psk_error *err);

/* The columns of a media row `m` as a result, and that result from row i of a query that starts with them. */
#define PG_RESULT_COLUMNS                                                                                              \
    "m.id, m.path, m.taken_at, m.offset_min, m.taken_local, m.type, m.width, m.height, m.make, m.model, m.lat, m.lon," \
    " m.place_city, m.place_region, m.place_country, m.place_cc"
#define PG_N_RESULT_COLUMNS 16
void pg_fill_result(const PGresult *r, int i, psk_result *x);

/* A read statement with text parameters; on a lost connection it is made again and the statement repeated once.
 * Returns the result (PQclear it) or NULL with err filled. */
PGresult *pg_read(pg_store *s, const char *sql, int n, const char *const *values, int binary, const char *what,
                  psk_error *err);
/* err from the server's message about r (or the connection's), prefixed with the library and what was done. */
int pg_fail(pg_store *s, psk_error *err, const char *what, const PGresult *r);
bool pg_ok(const PGresult *r);

/* Prepares statement `name` (n parameters) in the session. */
int pg_prepare(pg_store *s, const char *name, const char *sql, int n, psk_error *err);

/* Text in photos (pg_text.c). */
/* PSK_ERR_UNSUPPORTED: `what` needs pg_trgm, with the command that installs it. */
int pg_text_missing(pg_store *s, const char *what, psk_error *err);
/* Prepares psk_del_text and psk_put_text in the current transaction. */
int pg_text_prepare(pg_store *s, psk_error *err);
/* Sends (pipelined) what replaces the text of media id_s with x's; *sent counts the statements (none when x is
 * NULL: nothing known, the text stays). */
int pg_text_send(pg_store *s, const char *id_s, const store_extra *x, int *sent, psk_error *err);
/* store_ops.text_find / text_of over photoseek_text. */
int pg_text_find(pg_store *s, const char *folded_query, int limit, store_text_fn fn, void *user, psk_error *err);
int pg_text_of(pg_store *s, int64_t id, char **folded, psk_error *err);

/* The stored near-duplicate groups (pg_dups.c): photoseek_dup_groups(media_id bigint PRIMARY KEY REFERENCES
 * photoseek_media ON DELETE CASCADE, group_id (the keeper's id), kind) and photoseek_meta(key PRIMARY KEY, value)
 * with dups_max_id, as the SQLite file's dup_groups and meta.
 * store_ops.dup_update: the groups at the default threshold kept in photoseek_dup_groups, incrementally (only the
 * photos with ids above photoseek_meta's dups_max_id look for partners; the stored groups are links already made),
 * one update at a time (an advisory lock). */
int pg_dups_update(pg_store *s, const store_model *m, psk_error *err);
/* store_ops.dup_groups_of: each result's stored group and its size, in one query for the page. */
int pg_dup_groups_of(pg_store *s, psk_result *r, int n, psk_error *err);
/* store_ops.dup_members: the media ids of a stored group, its keeper (the group's id) first. */
int pg_dup_members(pg_store *s, int64_t group, int64_t **ids, int *n, psk_error *err);
/* store_ops.duplicates (pg_dups.c): the groups among the photos p's filter allows, as the SQLite store finds them. */
int pg_duplicates(pg_store *s, const store_model *m, const psk_dups_params *p, psk_dup_group **groups, int *n,
                  psk_error *err);

/* Faces and people (pg_people.c): the store_ops of PSK_STORE_CAP_PEOPLE, as the SQLite store's (sqlite_people.c),
 * and the faces that come with put_items. */
#define PG_FACE_DIM "128" /* PSK_FACE_DIM, in the schema */
/* Prepares psk_put_faces and psk_del_faces in the current transaction. */
int pg_faces_prepare(pg_store *s, psk_error *err);
/* Sends (pipelined) what replaces the faces of media id_s with x's (a face found again keeps its person), or
 * forgets them when x was not looked at for faces; *sent counts the statements (none when x is NULL). */
int pg_faces_send(pg_store *s, const char *id_s, const store_extra *x, int *sent, psk_error *err);
int pg_people_group(void *self, bool recluster, psk_error *err);
int pg_people(void *self, int min_faces, const psk_filter *f, psk_person **out, int *n, psk_error *err);
int pg_person_faces(void *self, int64_t person, psk_face_ref **out, int *n, psk_error *err);
int pg_face_get(void *self, int64_t face, psk_face_ref *out, psk_error *err);
int pg_media_faces(void *self, int64_t media_id, psk_face_ref **out, int *n, psk_error *err);
int pg_people_edit(void *self, const store_people_edit *e, psk_error *err);
int pg_people_of(void *self, psk_result *r, int n, psk_error *err);
int pg_browse(void *self, const psk_filter *f, int k, psk_result **out, int *n, psk_error *err);
int pg_person_names(void *self, int (*fn)(void *user, const char *name), void *user, psk_error *err);
int pg_people_carry(void *self, store_people_carry *c, psk_error *err);
/* The faces and the people listed by default, for status. */
int pg_people_status(pg_store *s, psk_library_status *st, psk_error *err);

#endif
