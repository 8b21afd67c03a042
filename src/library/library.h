/* The library handle shared by indexing (src/ingest) and searching (src/search): a store behind the store
 * interface (src/store/backend.h), plus the models and recent query vectors kept loaded between calls (a server
 * answers many queries with one handle). Other modules use these functions; the struct is library_int.h's. */
#ifndef PSK_LIBRARY_H
#define PSK_LIBRARY_H

#include "../store/backend.h"

/* The store the library lives in. */
store_backend *library_backend(psk_library *lib);
/* The SQLite file that writers fill row by row (the indexing pipeline, the importers); NULL, with
 * PSK_ERR_UNSUPPORTED naming `what` in err, when the library's store has none (PSK_STORE_CAP_LOCAL_INDEX). */
psk_store *library_local_store(psk_library *lib, const char *what, psk_error *err);
/* The same for the importers (PSK_STORE_CAP_IMPORT): NULL with PSK_ERR_UNSUPPORTED "importing ...". */
psk_store *library_import_store(psk_library *lib, psk_error *err);
/* The image model of the library's vectors (PSK_ERR_NOT_FOUND: the library is empty). */
int library_current_model(psk_library *lib, store_model *m, psk_error *err);

/* Loads (or reuses) the image model of `dir`; library_image and library_image_ctx are valid until the next call
 * with another folder or precision. */
int library_image_model(psk_library *lib, const char *dir, int n_threads, psk_precision precision, psk_error *err);
psk_model *library_image(psk_library *lib);
psk_context *library_image_ctx(psk_library *lib);

/* Query vectors (unit length) in the space of the library's model m. A phrase is encoded by the text model of
 * text_dir (loaded and kept; recent phrases are cached); an image file by the image model of image_dir (NULL: the
 * library's own). A model of another space is PSK_ERR_MODEL_MISMATCH with an explanation. */
int library_phrase_vector(psk_library *lib, const store_model *m, const char *text_dir, const char *text, float *out,
                          psk_error *err);
int library_image_vector(psk_library *lib, const store_model *m, const char *image_dir, int n_threads,
                         const char *path, float *out, psk_error *err);

/* Copies media rows of src (a SQLite library) with their vectors of its current model to dst, in batches of one
 * transaction each: all of them, or with `track` (src is a worker's catalog with a pg_pushed table) those not
 * pushed yet, recording each batch there once the server has committed it. Adds to *media and *vectors. */
int library_push(psk_store *src, store_backend *dst, bool track, volatile int *cancel, psk_progress_fn progress,
                 void *user, int64_t *media, int64_t *vectors, psk_error *err);

/* People (people.c): a search's --person names each name someone (PSK_ERR_INVALID_ARG naming close names if not);
 * the named people of results; the items a filter allows, newest first (a search by person without words). */
int library_check_people(psk_library *lib, const psk_filter *f, psk_error *err);
/* Its people by id (psk_filter.person_ids) are people of the library: PSK_ERR_NOT_FOUND naming one that is not. */
int library_check_person_ids(psk_library *lib, const psk_filter *f, psk_error *err);
int library_people_of(psk_library *lib, psk_result *r, int n, psk_error *err);
int library_browse(psk_library *lib, const psk_search_params *p, psk_result **results, int *n, psk_error *err);

#endif
