/* Internals of the server: the shared state and the response helpers. */
#ifndef PSK_SERVER_HTTP_H
#define PSK_SERVER_HTTP_H

#include "request.h"
#include "server.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>

typedef struct thumb_entry {
    int64_t id;
    unsigned char *jpeg;
    size_t size;
    uint64_t used;
} thumb_entry;

#define THUMB_CACHE 512
#define SERVER_MAX_READERS 64

typedef struct server {
    const psk_server_params *p;
    /* Read handles, one per HTTP worker thread at most: a request takes a free one (reader_take) and gives it
     * back, so that searches run concurrently. Each has its own SQLite connection and text-model context; the
     * index rows (the index file beside the library) and the packed text model (the packed-weight cache) are
     * read-only mappings the kernel shares between them. readers[0] is opened at start, the others on first use. */
    psk_library *readers[SERVER_MAX_READERS];
    bool reader_busy[SERVER_MAX_READERS];
    int n_readers;
    pthread_mutex_t lib_mu; /* guards the pool, not the handles */
    pthread_cond_t reader_cv;
    /* thumbnails, least recently used out */
    thumb_entry thumbs[THUMB_CACHE];
    uint64_t thumb_clock;
    pthread_mutex_t thumb_mu;
    /* a background index run */
    pthread_t index_thread;
    pthread_mutex_t index_mu;
    bool indexing, index_thread_started;
    psk_index_progress index_progress;
    char index_result[512];
    volatile int index_cancel;
    char image_model_dir[1024];
    gate_config gate;  /* who may ask what (request.h) */
    char csrf[65];     /* this run's request token for the page's state-changing requests */
} server;

/* A read handle of the pool for this request's thread alone (waits while all are taken), or NULL with err set when
 * a new one cannot be opened; reader_give hands it back. */
psk_library *reader_take(server *s, psk_error *err);
void reader_give(server *s, psk_library *lib);

/* Queues a response with the headers every answer carries (no framing, no sniffing, no referrer, a CSP, private
 * caching, and CORS only for the --cors origin). cache is the Cache-Control value. */
enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r, const char *cache);
/* A response: status, content type, body (copied), never cached. */
enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const void *body, size_t len);
enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, const char *json);
enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* JSON text building */
typedef struct jbuf {
    char *s;
    size_t len, cap;
    bool oom;
} jbuf;
void jb_raw(jbuf *b, const char *s);
void jb_printf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void jb_str(jbuf *b, const char *s);
void jb_free(jbuf *b);

int server_fail(psk_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Endpoints (api.c, files.c) */
enum MHD_Result api_search(server *s, struct MHD_Connection *c, bool similar);
enum MHD_Result api_media(server *s, struct MHD_Connection *c, int64_t id);
enum MHD_Result api_facets(server *s, struct MHD_Connection *c);
enum MHD_Result api_status(server *s, struct MHD_Connection *c);
enum MHD_Result api_media_text(server *s, struct MHD_Connection *c, int64_t id);
enum MHD_Result api_index(server *s, struct MHD_Connection *c);
enum MHD_Result api_duplicates(server *s, struct MHD_Connection *c);
enum MHD_Result serve_thumb(server *s, struct MHD_Connection *c, int64_t id);
/* /api/people..., /api/faces/ID/thumb, /api/media/ID/faces (people_api.c) */
enum MHD_Result api_people(server *s, struct MHD_Connection *c, const char *url, bool get, bool post);
enum MHD_Result api_media_faces(server *s, struct MHD_Connection *c, int64_t id);
enum MHD_Result serve_file(server *s, struct MHD_Connection *c, int64_t id);

#endif /* PSK_SERVER_HTTP_H */
