/* The embedded store: one SQLite file (WAL) holding media, metadata, models and embeddings.
 *
 * Schema (PRAGMA user_version = STORE_SCHEMA_VERSION; migrations in store.c upgrade older files):
 *   meta(key TEXT PRIMARY KEY, value TEXT)            last_run_at, last_run (summary), image_model (models.id)
 *   models(id INTEGER PRIMARY KEY, name TEXT UNIQUE,  the psk_model_id() of an image model, its width,
 *          dim INTEGER, dir TEXT, created_at INTEGER)  the folder it was loaded from
 *   media(id INTEGER PRIMARY KEY, path TEXT UNIQUE,   one row per file; folder = dirname(path)
 *         folder TEXT, size INTEGER, mtime_ns INTEGER, hash TEXT (psk_content_hash of the content; SHA-256 in older libraries),
 *         type INTEGER (1 photo, 2 video), width INTEGER, height INTEGER (after orientation),
 *         taken_at INTEGER (UTC seconds), offset_min INTEGER (NULL: unknown), taken_src TEXT (exif|file),
 *         taken_local TEXT ("YYYY-MM-DD HH:MM:SS", camera clock), year, month, day, local_date (YYYYMMDD),
 *         make TEXT, model TEXT, lat REAL, lon REAL (NULL: no GPS), indexed_at INTEGER, error TEXT (NULL: ok),
 *         duration_ms INTEGER (videos; schema 2), description TEXT, people TEXT (JSON array of names),
 *         albums TEXT (JSON array) (schema 3))
 *         place_city, place_region, place_country TEXT, place_cc TEXT (ISO 3166-1 alpha-2) (schema 6): the place of
 *         lat, lon (psk_places_reverse); place_cc NULL: not named yet, '' : no place within 50 km
 *   sidecars(path TEXT PRIMARY KEY, taken_at, lat, lon, description, people, albums, source)   (schema 3)
 *         what a Google Takeout sidecar says about the file imported to `path`; the indexer fills in from it
 *         whatever EXIF lacks
 *   phashes(media_id INTEGER PRIMARY KEY REFERENCES media ON DELETE CASCADE, phash INTEGER)   (schema 4)
 *         the perceptual hash of a photo (src/dups/phash.c: 63 bits of DCT signs, as a signed 64-bit integer)
 *   dup_groups(media_id INTEGER PRIMARY KEY REFERENCES media ON DELETE CASCADE, group_id INTEGER (the keeper's
 *         media id), kind INTEGER (0 identical, 1 same picture, 2 same moment))   (schema 4)
 *         the near-duplicate groups at the default threshold, extended by each index run from its new photos
 *         (meta dups_max_id: the largest media id already looked at)
 *   media_text(media_id INTEGER PRIMARY KEY REFERENCES media ON DELETE CASCADE, text TEXT, words TEXT (JSON:
 *              [{"text", "conf", "box": [x, y, w, h]}]))   what OCR read in a photo (schema 5)
 *   media_text_fts(folded) FTS5, tokenize trigram, rowid = media_id: the text folded by psk_text_fold (schema 5)
 *   people(id INTEGER PRIMARY KEY, name TEXT UNIQUE COLLATE NOCASE (NULL: unnamed), cover_face_id INTEGER
 *          (a face chosen as its picture, NULL: its best-scored face), created_at INTEGER)   (schema 7)
 *   faces(id INTEGER PRIMARY KEY, media_id REFERENCES media ON DELETE CASCADE, frame_ms INTEGER (-1: a photo),
 *         x, y, w, h REAL (the box in the upright image's full-size pixels), score REAL (the detector's),
 *         descriptor BLOB (128 float32, face-api's), person_id REFERENCES people ON DELETE SET NULL (NULL: in no
 *         group yet, or unassigned by the user), assigned INTEGER (0: placed by the grouping, 1: by the user, who
 *         moved or unassigned it: never regrouped automatically))   (schema 7)
 *   face_scans(media_id INTEGER PRIMARY KEY REFERENCES media ON DELETE CASCADE, n_faces INTEGER)   (schema 7)
 *         the media already looked at for faces (a photo without a face is not looked at again); a changed file
 *         loses its row and its faces, a moved one keeps them (same media id)
 *   embeddings(media_id INTEGER REFERENCES media ON DELETE CASCADE, model_id INTEGER, frame_ms INTEGER
 *              (-1 for a photo), vec BLOB (float32 little-endian, unit length), PRIMARY KEY(media_id, model_id,
 *              frame_ms))
 */
#ifndef PSK_STORE_H
#define PSK_STORE_H

#include "../common/common.h"

#include <sqlite3.h>

#define STORE_SCHEMA_VERSION 7

typedef struct psk_store {
    sqlite3 *db;
    char path[1024];
    bool writable;
} psk_store;

int store_open(const char *path, bool writable, psk_store **out, psk_error *err);
void store_close(psk_store *s);
int store_exec(psk_store *s, const char *sql, psk_error *err);
/* Prepares a statement; on failure fills err with SQLite's message. */
int store_prepare(psk_store *s, const char *sql, sqlite3_stmt **st, psk_error *err);
int store_fail(psk_store *s, psk_error *err, const char *what);

int store_meta_get(psk_store *s, const char *key, char *buf, size_t cap);
int store_meta_set(psk_store *s, const char *key, const char *value, psk_error *err);

/* The row of an image model, created when missing (store_model_row), and made the library's model (ensure). */
int store_model_row(psk_store *s, const char *name, int dim, const char *dir, int64_t *id, psk_error *err);
int store_model_ensure(psk_store *s, const char *name, int dim, const char *dir, int64_t *id, psk_error *err);
/* The model recorded for the library's last index run: id, name, dim, dir. Returns PSK_ERR_NOT_FOUND if none. */
int store_current_model(psk_store *s, int64_t *id, char *name, size_t name_cap, int *dim, char *dir, size_t dir_cap);

typedef struct store_media {
    int64_t id;
    char path[1024];
    int64_t size, mtime_ns;
    char hash[65];
    int type;
    int width, height;
    int64_t taken_at;
    bool has_offset;
    int offset_min;
    char taken_src[8];
    char taken_local[20];
    int year, month, day;
    char make[64], model[64];
    bool has_gps;
    double lat, lon;
    char error[512]; /* "" when indexed fine */
    int64_t duration_ms;
    char description[512], people[512], albums[512];
} store_media;

/* Looks a path up; *found tells whether it exists. */
int store_media_by_path(psk_store *s, const char *path, store_media *m, bool *found, psk_error *err);
/* Inserts or replaces the row of m->path (keeping its id when it exists); m->id receives the id. */
int store_media_put(psk_store *s, store_media *m, psk_error *err);
/* The file of row id moved to new_path (same content, its hash now `hash`): the vectors stay. */
int store_media_move(psk_store *s, int64_t id, const char *new_path, int64_t mtime_ns, const char *hash,
                     psk_error *err);
int store_media_delete(psk_store *s, int64_t id, psk_error *err);
int store_put_embedding(psk_store *s, int64_t media_id, int64_t model_id, int64_t frame_ms, const float *v, int dim,
                        psk_error *err);
int store_delete_embeddings(psk_store *s, int64_t media_id, psk_error *err);
bool store_has_embedding(psk_store *s, int64_t media_id, int64_t model_id);
/* Fills in from the sidecars table what m's own metadata lacks (date, place) and the description, people and
 * albums. */
int store_apply_sidecar(psk_store *s, store_media *m);

/* Faces (sqlite_people.c). A face as found: the box in the upright full-size image's pixels. */
typedef struct store_face {
    int64_t frame_ms; /* -1 for a photo */
    float box[4];
    float score;
    float desc[PSK_FACE_DIM];
} store_face;
/* The faces found in a media row (replacing any it had), and the row marked as looked at. Call inside the
 * transaction that writes the row. */
int store_put_faces(psk_store *s, int64_t media_id, const store_face *faces, int n, psk_error *err);
/* A changed file's faces go (and it is looked at again when faces are on). */
int store_forget_faces(psk_store *s, int64_t media_id, psk_error *err);

/* Records the perceptual hash of a photo (near-duplicates; sqlite_dups.c). */
int store_put_phash(psk_store *s, int64_t media_id, uint64_t phash, psk_error *err);
/* Text in photos (text.c). The text read in a media row, with its words as JSON; "" removes it. Call inside the
 * transaction that writes the row, so that a crash never leaves the one without the other. */
int store_put_text(psk_store *s, int64_t media_id, const char *text, const char *words_json, psk_error *err);
/* The rows whose folded text contains the folded query (psk_text_fold), in row order, at most limit: fn gets each
 * row's id and folded text; returning non-zero stops. */
typedef int (*store_text_fn)(void *user, int64_t media_id, const char *folded);
int store_text_find(psk_store *s, const char *folded_query, int limit, store_text_fn fn, void *user, psk_error *err);

/* The first column of the first row of a query (a count), 0 when it fails. */
int64_t store_count(psk_store *s, const char *sql);
/* The camera as shown: make and model, without the make repeated ("Canon Canon EOS 5D" -> "Canon EOS 5D"). */
void store_camera_name(const char *make, const char *model, char *buf, size_t cap);

#endif
