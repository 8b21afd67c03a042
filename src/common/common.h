/* Shared internals: errors, checked allocation, files, JSON helpers, the thread pool. */
#ifndef PSK_COMMON_H
#define PSK_COMMON_H

#include "photoseek.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ---- */
/* Fills err (when not NULL) and returns code, so callers can `return psk_fail(err, PSK_ERR_IO, "...")`. */
int psk_fail(psk_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- allocation ----
 * Every allocation of the library goes through these so that tests can fail the Nth one (psk_alloc_fail_after). */
void *psk_malloc(size_t n);
void *psk_calloc(size_t count, size_t size);
void *psk_realloc(void *p, size_t n);
void psk_free(void *p);
char *psk_strdup(const char *s);
char *psk_strndup(const char *s, size_t n); /* at most n bytes of s, NUL-terminated */
/* 64-byte aligned, for SIMD buffers; release with psk_free_aligned. */
void *psk_malloc_aligned(size_t n);
void psk_free_aligned(void *p);
/* Test hook: after `n` more successful allocations, every allocation fails; n < 0 disables. */
void psk_alloc_fail_after(long n);
/* a*b without overflow, or false. */
bool psk_mul_size(size_t a, size_t b, size_t *out);

/* ---- files ---- */
/* Reads a whole file (NUL-terminated for convenience). max_size guards against huge inputs. */
int psk_read_file(const char *path, size_t max_size, char **data, size_t *size, psk_error *err);
int psk_write_file(const char *path, const void *data, size_t size, psk_error *err);
bool psk_file_exists(const char *path);
bool psk_dir_exists(const char *path);
int psk_mkdir_p(const char *path, psk_error *err);
/* Joins dir and name into buf; false when it does not fit. */
bool psk_path_join(char *buf, size_t cap, const char *dir, const char *name);

typedef struct psk_mmap {
    void *data;
    size_t size;
} psk_mmap;
int psk_mmap_open(const char *path, psk_mmap *m, psk_error *err);
void psk_mmap_close(psk_mmap *m);

/* ---- hashing ---- */
uint64_t psk_fnv1a64(const void *data, size_t n);
/* SHA-256 as 64 hex characters: of a file, read in chunks (videos are too large to read whole), or of a buffer. */
/* Content hashes of media files (content_hash.c): 32 hex digits. */
#define PSK_CONTENT_HASH_LEN 32
void psk_content_hash(const void *data, size_t n, char hex[PSK_CONTENT_HASH_LEN + 1]);
int psk_content_hash_file(const char *path, char hex[PSK_CONTENT_HASH_LEN + 1], psk_error *err);
typedef struct psk_content_hasher psk_content_hasher;
psk_content_hasher *psk_content_hasher_new(void); /* NULL when out of memory */
void psk_content_hasher_update(psk_content_hasher *h, const void *data, size_t n);
void psk_content_hasher_final(psk_content_hasher *h, char hex[PSK_CONTENT_HASH_LEN + 1]); /* and frees h */
int psk_sha256_file(const char *path, char hex[65], psk_error *err);
int psk_sha256(const void *data, size_t n, char hex[65]);

/* ---- string builder ---- */
typedef struct psk_buf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed; contents are truncated */
} psk_buf;
void psk_buf_append(psk_buf *b, const char *s, size_t n);
void psk_buf_printf(psk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void psk_buf_json_string(psk_buf *b, const char *s); /* appends a quoted, escaped JSON string */
void psk_buf_free(psk_buf *b);

/* ---- UTF-8 ---- */
bool psk_utf8_valid(const char *s, size_t n);

/* ---- time ---- */
/* Seconds on the monotonic clock (for durations). */
double psk_now(void);

/* ---- thread pool ----
 * A fixed set of workers that run `fn(arg, task, thread)` for task in [0, n_tasks); the caller's thread takes part.
 * One run at a time per pool. */
typedef struct psk_pool psk_pool;
typedef void (*psk_task_fn)(void *arg, int task, int thread);
int psk_pool_new(int n_threads, psk_pool **out);
void psk_pool_free(psk_pool *pool);
int psk_pool_threads(const psk_pool *pool);
void psk_pool_run(psk_pool *pool, int n_tasks, psk_task_fn fn, void *arg);
int psk_cpu_count(void);

/* ---- JSON (cJSON) helpers ---- */
typedef struct cJSON cJSON;
/* Parses a JSON file (limit max_size); on failure names the file and the position of the error. */
int psk_json_load(const char *path, size_t max_size, cJSON **out, psk_error *err);
/* Member lookups with defaults; `path` may be dotted ("vision_config.hidden_size"). */
const cJSON *psk_json_get(const cJSON *obj, const char *path);
double psk_json_number(const cJSON *obj, const char *path, double dflt);
const char *psk_json_string(const cJSON *obj, const char *path, const char *dflt);
bool psk_json_bool(const cJSON *obj, const char *path, bool dflt);

/* ---- hash maps (open addressing, grow at 50% load) ---- */
typedef struct psk_strmap {
    char **keys; /* owned copies */
    int32_t *vals;
    size_t cap, count;
} psk_strmap;
int psk_strmap_put(psk_strmap *m, const char *key, size_t len, int32_t val); /* replaces an existing value */
bool psk_strmap_get(const psk_strmap *m, const char *key, size_t len, int32_t *val);
void psk_strmap_free(psk_strmap *m);

typedef struct psk_u64map {
    uint64_t *keys; /* key 0 is reserved as empty: callers store key+1 */
    int64_t *vals;
    size_t cap, count;
} psk_u64map;
int psk_u64map_put(psk_u64map *m, uint64_t key, int64_t val);
bool psk_u64map_get(const psk_u64map *m, uint64_t key, int64_t *val);
void psk_u64map_free(psk_u64map *m);

#endif
