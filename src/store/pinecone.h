/* The Pinecone store: vectors and their metadata in a Pinecone index, through its data-plane REST API (libcurl),
 * for users of the reference system who keep their index there. Opened by giving the library
 * pinecone://INDEX_HOST[/namespace]; the API key comes from PINECONE_API_KEY.
 *
 * Vector ids: the first 32 hex digits of the path's SHA-256, '#', then "p" for a photo or the frame's time in ms
 * for a video frame, so that a file's vectors can be listed by prefix. Metadata (no nulls: missing values are left
 * out): path, year, month, day, type ("photo" | "video"), taken_at (UTC seconds), camera, lat and lon (a valid
 * position), place_city, place_region, place_country, place_cc (its place, when it has one).
 * The model a library was made with is kept as one record in the namespace "<namespace>.photoseek-model". */
#ifndef PSK_STORE_PINECONE_H
#define PSK_STORE_PINECONE_H

#include "backend.h"

typedef struct pc_store {
    char base[1024];   /* https://INDEX_HOST (PHOTOSEEK_TEST_PINECONE_URL replaces it, for tests only) */
    char ns[256];      /* namespace, "" for the default one */
    char key[256];
    char shown[1100];  /* pinecone://host/ns, for messages */
    int dim;           /* the index's dimension, from describe_index_stats */
    int64_t vectors;   /* the namespace's vector count when opened */
} pc_store;

bool pc_is_url(const char *s);
/* Checks the key and the index (describe_index_stats). */
int pc_store_open(const char *url, pc_store **out, psk_error *err);
void pc_store_close(pc_store *s);

/* The model record: written by pushes, read by searches. PSK_ERR_NOT_FOUND when the namespace has none. */
int pc_model_set(pc_store *s, const char *name, int dim, const char *dir, psk_error *err);
int pc_model_get(pc_store *s, char *name, size_t name_cap, int *dim, char *dir, size_t dir_cap, psk_error *err);

/* Upserts the vectors of the items in requests of at most 100 vectors; a file's old frames that it no longer has
 * are deleted first. */
int pc_put_items(pc_store *s, int dim, const store_item *items, int n, psk_error *err);
/* Deletes every vector of these paths (listed by their id prefix). */
int pc_delete_paths(pc_store *s, const char *const *paths, int n, psk_error *err);
/* A query: filter_json is a Pinecone metadata filter (or NULL); fills up to top_k results, best first, with path,
 * taken_at, type, camera, position, place, score and frame_ms (id 0: Pinecone has no row ids). */
int pc_query(pc_store *s, const float *q, int dim, int top_k, const char *filter_json, psk_result **results, int *n,
             psk_error *err);

#endif
