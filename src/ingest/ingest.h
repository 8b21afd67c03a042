/* Indexing: walking folders, reading each file's metadata, and the decode -> embed -> store pipeline. */
#ifndef PSK_INGEST_H
#define PSK_INGEST_H

#include "../library/library.h"

typedef struct walk_file {
    char *path; /* absolute */
    int64_t size, mtime_ns;
    int type; /* 1 photo, 2 video */
} walk_file;

typedef struct walk_list {
    walk_file *files;
    size_t n, cap;
} walk_list;

/* Collects the media files under the roots (absolute, normalised paths; symlinked folders are not followed),
 * skipping names that match an exclude glob and the library's own files. Unreadable folders are reported
 * through on_error and skipped. */
typedef void (*walk_error_fn)(void *user, const char *path, const char *reason);
int walk_roots(const char *const *roots, int n_roots, const char *const *excludes, int n_excludes,
               const char *skip_prefix, walk_list *out, walk_error_fn on_error, void *user, psk_error *err);
void walk_list_free(walk_list *l);
/* The media type of a file name by its extension: 1 photo, 2 video, 0 neither. */
int walk_media_type(const char *name);

/* Fills the date, camera and GPS fields of m from decoded image info, falling back to the file time. */
void meta_from_image(store_media *m, const psk_image_info *info, int64_t mtime_ns);
/* Fills the fields of m from a video's metadata, falling back to the file time. */
void meta_from_video(store_media *m, const psk_video_info *info, int64_t mtime_ns);

/* Parses "YYYY:MM:DD HH:MM:SS" (EXIF) into its fields; false when it is not a plausible date. */
bool meta_parse_exif_datetime(const char *s, int *y, int *mo, int *d, int *h, int *mi, int *sec);
/* Parses "+02:00" / "-0530" into minutes. */
bool meta_parse_offset(const char *s, int *minutes);

/* A row of the library as an index run found it (run.c). */
typedef enum row_state {
    ROW_EMBEDDED, /* indexed fine with the current model: unchanged files are skipped, moved ones keep it */
    ROW_FAILED,   /* recorded as failed: unchanged files are not tried again */
    ROW_PENDING   /* neither (indexed with another model): embedded again */
} row_state;

typedef struct known_row {
    int64_t id;
    char *path;
    int64_t size, mtime_ns;
    char hash[65];
    row_state state;
    bool seen;    /* its file was found by the walk */
    bool claimed; /* a new file turned out to be this one, moved (under the pipeline's lock) */
} known_row;

/* What the pipeline works on (pipeline.c): the files to do, in order, and the rows whose files vanished, by
 * content hash (a file with the same content is a move). */
typedef struct index_job {
    psk_store *store;
    psk_model *model; /* the image model and its context (library_image, library_image_ctx) */
    psk_context *ctx;
    const psk_index_params *p; /* batch_size and n_jobs set */
    int64_t model_id;
    const walk_file **todo;
    size_t n_todo;
    known_row *rows;
    psk_strmap missing;     /* hash -> index in rows */
    int64_t legacy_missing; /* how many of those hold SHA-256 (written before psk_content_hash) */
    psk_index_stats *stats; /* indexed, moved, failed and cancelled are counted */
    const psk_face_model *faces; /* with faces on: the detector, shared read-only by the workers */
} index_job;

/* Decodes, embeds and stores job->todo; stops after the batch in flight when p->cancel is set. */
int pipeline_run(index_job *job, psk_error *err);

/* psk_library_index on a library whose store the pipeline writes itself (PSK_STORE_CAP_LOCAL_INDEX): the walk,
 * the decode -> embed -> store pipeline, removals, the search graph and the run's summary (run.c). */
int ingest_local(psk_library *lib, const psk_index_params *p, psk_index_stats *stats, psk_error *err);
/* Names the place of every row with a position and no place yet (places.c); no places data is no names, not an
 * error. *placed counts the rows named. */
int ingest_name_places(psk_store *s, const char *places_dir, int64_t *placed, psk_error *err);
/* Faces (faces.c). The face model of an index run: NULL (and PSK_OK) when faces are off, or auto without the
 * model; with faces on, a missing model is PSK_ERR_NOT_FOUND naming the fetch command. */
int ingest_faces_open(const psk_index_params *p, psk_face_model **out, psk_error *err);
/* With --fast-decode, JPEGs are decoded at least this large (short side) when faces are looked for (the one decode
 * shared with CLIP, as bench_faces measures it): the descriptor's 150-pixel chip
 * of a face keeps its detail. */
#define INGEST_FACE_SHORT_SIDE PSK_FACE_MIN_SHORT_SIDE
/* Appends the faces of a decoded image (boxes in its full-size pixels) to *faces (psk_realloc'd). */
int ingest_detect_faces(const psk_face_model *m, const psk_image *img, int64_t frame_ms, int n_threads,
                        psk_face_detector detector, store_face **faces, int *n, psk_error *err);
/* Looks at the indexed rows no run has looked at for faces yet (a library indexed before faces were on). */
int ingest_faces_backfill(psk_store *s, const psk_face_model *m, const psk_index_params *p, psk_index_stats *stats,
                          psk_error *err);

/* psk_library_index on a server store: ingest_local into the worker's catalog, then the changes pushed
 * (remote_index.c). */
int ingest_remote(psk_library *lib, const psk_index_params *p, psk_index_stats *stats, psk_error *err);

#endif
