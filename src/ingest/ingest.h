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


#endif
