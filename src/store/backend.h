/* One interface over the stores a library can live in: the SQLite file (with the in-memory vector index and its
 * HNSW graph), PostgreSQL + pgvector, and Pinecone. Each backend fills one table of operations and says, in one
 * place (its table), what it can do: the capability flags of include/photoseek.h (PSK_STORE_CAP_*), which the
 * library, the CLI and the server read to explain what a backend cannot do instead of branching on its kind.
 *
 * An operation a backend does not have is NULL in its table and its flag is off; callers go through the
 * backend_* functions below, which turn a missing operation into PSK_ERR_UNSUPPORTED naming what does work.
 *
 * The features coming next each slot in as new operations (and a flag), implemented by every backend that can:
 *   faces/people     the people operations below, PSK_STORE_CAP_PEOPLE (SQLite: sqlite_people.c; PostgreSQL:
 *                    pg_people.c, the descriptor as vector(128), the faces coming in put_items' store_extra)
 *   text in photos   text_find / text_of (SQLite fts5 trigram, PostgreSQL pg_trgm) and a text condition in the filter
 *   places           the place columns beside the GPS ones (store_extra at put_items), a place facet
 *   near-duplicates  dup_groups(self, threshold, fn, user) over the vectors the backend already holds
 */
#ifndef PSK_STORE_BACKEND_H
#define PSK_STORE_BACKEND_H

#include "store.h"

/* The image model a library's vectors were made with (id 0 where the store has no model rows: Pinecone). */
typedef struct store_model {
    int64_t id;
    char name[128];
    int dim;
    char dir[1024];
} store_model;

/* What a server store keeps beside a file's row where it can (copies and workers' pushes fill it from the SQLite
 * file): the text OCR read, the place names, the perceptual hash, the faces. */
typedef struct store_extra {
    const char *text, *words; /* the text read in the photo and its words as JSON (NULL or "": none) */
    bool has_place;           /* the place was looked up: the names below ("" everywhere: none within 50 km) */
    char city[128], region[128], country[128], country_code[3];
    bool has_phash;
    int64_t phash; /* src/dups/phash.c's 63 bits, as SQLite keeps them */
    bool face_scanned;       /* the faces were looked for: these (none: a file without faces); else none kept */
    const store_face *faces; /* (PSK_STORE_CAP_PEOPLE stores; the names and groups stay the server's own) */
    int n_faces;
    const char *moved_from; /* the path the file had on the server before it moved (NULL: none): its faces'
                             * people follow it, as a moved row's do in SQLite */
} store_extra;

/* One media file with its vectors (frame_ms -1 for a photo), as a store takes it in put_items. */
typedef struct store_item {
    const store_media *media;
    const int64_t *frame_ms;
    const float *vecs; /* n_vecs x dim */
    int n_vecs;
    const store_extra *extra; /* NULL: nothing beside the row */
} store_item;

/* A change the user makes to the people (psk_library_person_name and the rest). */
typedef enum store_people_op { PEOPLE_NAME = 1, PEOPLE_MERGE, PEOPLE_UNASSIGN, PEOPLE_SPLIT } store_people_op;
typedef struct store_people_edit {
    store_people_op op;
    int64_t person, other;  /* NAME: person; MERGE: into person from other; UNASSIGN: person is the face */
    const char *name;       /* NAME: NULL or "": unnamed */
    const int64_t *faces;   /* SPLIT: these faces to a new person, whose id goes to *made */
    int n_faces;
    int64_t *made;
} store_people_edit;

/* The people of a SQLite library that migrate carries into a server store (psk_library_migrate): each face by its
 * file and its place among that file's faces in the order they were copied (1, 2, ...), with its person there (an
 * id of the SQLite file's; 0: none) and whether the user placed it (assigned); and those people with their names. */
typedef struct store_carried_face {
    const char *path;
    int64_t ordinal, person;
    int assigned;
} store_carried_face;
typedef struct store_carried_person {
    int64_t id;
    const char *name; /* NULL: unnamed */
} store_carried_person;
typedef struct store_people_carry {
    const store_carried_face *faces;
    int64_t n_faces;
    const store_carried_person *people;
    int n_people;
    /* out: what was carried and what could not be */
    int64_t n_carried;      /* people made or found again by their name */
    int64_t faces_missed;   /* faces the store does not have at that file and place (the file was not copied) */
    int n_names_dropped;    /* names the store would not take (another person there has it, in its case rules) */
    char names_dropped[256]; /* the first of them, ", " between (those people are carried unnamed) */
} store_people_carry;

typedef struct store_ops {
    const char *kind; /* "SQLite", "PostgreSQL", "Pinecone": for messages */
    unsigned caps;    /* PSK_STORE_CAP_* */
    void (*close)(void *self);
    /* The library as shown in messages (a file path, or a URL without its password). */
    const char *(*shown)(void *self);
    /* What names the library for a worker's catalog (the URL as given). */
    const char *(*identity)(void *self);

    /* -- models -- */
    /* The model of the library's vectors; PSK_ERR_NOT_FOUND with "the library is empty" when there is none. */
    int (*current_model)(void *self, store_model *m, psk_error *err);
    /* Records a model (creating what its vectors need) before items are put; fills m. */
    int (*model_ensure)(void *self, const char *name, int dim, const char *dir, store_model *m, psk_error *err);

    /* -- writes (copies and workers' pushes; the SQLite file is written by the indexing pipeline through
     * local_store) -- */
    int (*put_items)(void *self, const store_model *m, const store_item *items, int n, psk_error *err);
    int (*delete_paths)(void *self, const char *const *paths, int n, psk_error *err);
    /* Brings derived search structures up to date after writes (SQLite: the HNSW graph beside the file, built
     * for large libraries or with `force`); NULL where the server keeps its own index. */
    int (*refresh_index)(void *self, const store_model *m, bool force, psk_error *err);

    /* -- reads -- */
    /* The k best items for the unit vector q under p's filter, min_score, all_moments and sort: each file once,
     * at its best moment. */
    int (*search)(void *self, const store_model *m, const float *q, const psk_search_params *p, int k,
                  psk_result **results, int *n, psk_error *err);
    /* One item by row id (score 1, frame_ms -1). PSK_ERR_NOT_FOUND when there is none. */
    int (*get_media)(void *self, int64_t id, psk_result *out, psk_error *err);
    /* The first vector of an item (a photo's only one, a video's first frame): m->dim floats. */
    int (*get_vector)(void *self, const store_model *m, int64_t id, float *out, psk_error *err);
    int (*facets)(void *self, psk_facets **out, psk_error *err);
    /* Fills what the store knows of st (which the caller zeroed). */
    int (*status)(void *self, psk_library_status *st, psk_error *err);
    int (*errors)(void *self, psk_error_row_fn fn, void *user, psk_error *err);

    /* -- text in photos (PSK_STORE_CAP_TEXT) -- */
    /* The items whose folded text (psk_text_fold) contains folded_query, by row id, at most limit: fn gets each
     * one's id and folded text; returning non-zero stops. */
    int (*text_find)(void *self, const char *folded_query, int limit, store_text_fn fn, void *user, psk_error *err);
    /* The folded text of an item into *folded (psk_free it); NULL when it has none. */
    int (*text_of)(void *self, int64_t id, char **folded, psk_error *err);

    /* -- near-duplicates (PSK_STORE_CAP_DUPLICATES; sqlite_dups.c) -- */
    int (*duplicates)(void *self, const store_model *m, const psk_dups_params *p, psk_dup_group **groups, int *n,
                      psk_error *err);
    /* Brings the stored groups up to date after an index run: only the new photos look for partners. */
    int (*dup_update)(void *self, const store_model *m, psk_error *err);
    /* Fills group and group_size of each result from the stored groups. */
    int (*dup_groups_of)(void *self, psk_result *r, int n, psk_error *err);
    /* The media ids of a stored group (psk_free *ids), its keeper (the group's id) first, then as indexed; NULL: the
     * library's local store answers (SQLite's dup_groups). */
    int (*dup_members)(void *self, int64_t group, int64_t **ids, int *n, psk_error *err);

    /* -- people (PSK_STORE_CAP_PEOPLE; sqlite_people.c) -- */
    /* Groups the faces in no group yet (recluster: every automatic face again, names kept). */
    int (*people_group)(void *self, bool recluster, psk_error *err);
    /* The people (f NULL) or those in the photos f selects, counted in those photos only. */
    int (*people)(void *self, int min_faces, const psk_filter *f, psk_person **out, int *n, psk_error *err);
    int (*person_faces)(void *self, int64_t person, psk_face_ref **out, int *n, psk_error *err);
    int (*face_get)(void *self, int64_t face, psk_face_ref *out, psk_error *err);
    /* The faces of one item (none: *n = 0; PSK_ERR_NOT_FOUND when there is no such item). */
    int (*media_faces)(void *self, int64_t media_id, psk_face_ref **out, int *n, psk_error *err);
    int (*people_edit)(void *self, const struct store_people_edit *e, psk_error *err);
    /* Fills each result's people (the named people in it). */
    int (*people_of)(void *self, psk_result *r, int n, psk_error *err);
    /* The items the filter allows, newest first, at most k (a search with conditions only). */
    int (*browse)(void *self, const psk_filter *f, int k, psk_result **out, int *n, psk_error *err);
    /* Every name a person filter can match: the named people, then Takeout's names; fn returns non-zero to stop. */
    int (*person_names)(void *self, int (*fn)(void *user, const char *name), void *user, psk_error *err);
    /* Places each carried face in a person of the store's own that stands for its SQLite person: a named one is
     * found again by its name (a re-run makes no second person), an unnamed one is made; the faces' old people left
     * empty go. NULL: the store keeps no people of the user's (migrate then groups the faces anew). */
    int (*people_carry)(void *self, store_people_carry *c, psk_error *err);

    /* -- the backend's own -- */
    /* The SQLite file that the indexing pipeline and the importers write row by row (PSK_STORE_CAP_LOCAL_INDEX). */
    psk_store *(*local_store)(void *self);
    /* How often a lost connection was made again. */
    int (*reconnects)(void *self);
} store_ops;

typedef struct store_backend {
    const store_ops *ops;
    void *self;
} store_backend;

extern const store_ops store_sqlite_ops, store_pg_ops, store_pc_ops;
/* The SQLite backend's own handle (sqlite_ops.c): the file, its vector index and HNSW graph. */
int store_sqlite_open(const char *path, bool writable, void **self, psk_error *err);

/* Whether s names a store on a server (postgres://, postgresql://, pinecone://) rather than a file. */
bool backend_is_url(const char *s);
/* Opens the store `where` names: a URL of a server store, else a SQLite file (created when writable). */
int backend_open(const char *where, bool writable, store_backend *b, psk_error *err);
void backend_close(store_backend *b);
static inline bool backend_can(const store_backend *b, unsigned cap) { return (b->ops->caps & cap) == cap; }
static inline const char *backend_shown(const store_backend *b) { return b->ops->shown(b->self); }
/* PSK_ERR_UNSUPPORTED: "<library>: <what> works on a SQLite library only so far (a <kind> library has ...)",
 * the list read from the backend's flags. */
int backend_unsupported(const store_backend *b, const char *what, psk_error *err);
/* The same for a capability: "<library>: <what> works on SQLite and PostgreSQL libraries (a <kind> library has ...)"
 * where two kinds of store have `cap`, else as backend_unsupported. */
int backend_unsupported_cap(const store_backend *b, const char *what, unsigned cap, psk_error *err);
/* A human list of what a backend can do ("search, similar, status, items and facets"). */
void backend_describe(unsigned caps, char *buf, size_t cap);

/* Each operation through its table; a missing one is backend_unsupported naming `what` the caller was doing. */
int backend_current_model(store_backend *b, store_model *m, psk_error *err);
int backend_search(store_backend *b, const store_model *m, const float *q, const psk_search_params *p,
                   psk_result **results, int *n, psk_error *err);
int backend_get_media(store_backend *b, int64_t id, psk_result *out, psk_error *err);
int backend_get_vector(store_backend *b, const store_model *m, int64_t id, float *out, psk_error *err);
int backend_facets(store_backend *b, psk_facets **out, psk_error *err);
int backend_text_find(store_backend *b, const char *folded_query, int limit, store_text_fn fn, void *user,
                      psk_error *err);
int backend_text_of(store_backend *b, int64_t id, char **folded, psk_error *err);
int backend_status(store_backend *b, psk_library_status *st, psk_error *err);
int backend_errors(store_backend *b, psk_error_row_fn fn, void *user, psk_error *err);
int backend_duplicates(store_backend *b, const store_model *m, const psk_dups_params *p, psk_dup_group **groups,
                       int *n, psk_error *err);

/* Shared by the backends' implementations: */
/* The facets of a media table (`table`, whose indexed rows satisfy `cond`), each list read by `pairs` from a
 * query of (value, count) rows. */
typedef int (*store_pairs_fn)(void *self, const char *sql, psk_facet **out, int *n, psk_error *err);
int store_facets(void *self, store_pairs_fn pairs, const char *table, const char *cond, psk_facets **out,
                 psk_error *err);
/* The results of a store's rows (several per video, roughly best first): each file once, at its best moment,
 * with the other moments for all_moments; k at most; by date when asked. */
int store_best_per_file(psk_result *hits, int n_hits, const psk_search_params *p, int k, psk_result **results,
                        int *n_out, psk_error *err);
void store_sort_by_date(psk_result *r, int n);

/* A search filter (psk_filter) in each store's query language (filter.c). */
/* Appends " AND ..." conditions for the filter to sql and binds nothing; values go to the bind list. */
typedef struct sql_binds {
    int pg_base; /* 0: SQLite's "?" placeholders; else PostgreSQL's "$N", numbered from pg_base + 1 */
    int n;
    int kinds[128]; /* 1 int64, 2 text */
    int64_t ints[128];
    char *texts[128];
} sql_binds;
int filter_sql(const psk_filter *f, psk_buf *sql, sql_binds *b, bool *any, psk_error *err);
void sql_binds_free(sql_binds *b);
/* Binds b's values to a SQLite statement's placeholders first + 1 on (the texts are b's: free b after the statement). */
void sql_binds_sqlite(const sql_binds *b, sqlite3_stmt *st, int first);
/* b's values as PostgreSQL text parameters: vals[i] is nums[i] (a number) or b's text. */
void sql_binds_pg(const sql_binds *b, char nums[][24], const char **vals);
/* A LIKE pattern for "contains s" ('%s%' with s's '%', '_' and '\\' escaped by '\\'); psk_free it. NULL: no memory. */
char *store_like_contains(const char *s);
/* The filter's dates, type, places and --near in Pinecone's metadata filter syntax ({"year": {"$in": [2022]}, ...});
 * nothing is appended when they are not set. from/to become bounds on taken_at (UTC days); --near becomes its
 * bounding box on lat and lon ($gte/$lte), within which the caller keeps the matches near enough. */
int filter_pinecone(const psk_filter *f, psk_buf *json, psk_error *err);
/* Whether a result passes the filter's camera (substring, any case) and folder (prefix) conditions. */
bool filter_accepts(const psk_filter *f, const psk_result *r);

#endif
