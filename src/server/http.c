/* The HTTP server: routing, authentication, limits and response helpers. */
#include "http.h"

#include "assets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One server runs per process; the --cors origin is read when any response is queued. */
static const char *cors_origin;

enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *r, const char *cache) {
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Frame-Options", "DENY");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, "Cross-Origin-Resource-Policy", "same-origin");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' blob:; media-src 'self'; frame-ancestors 'none'; "
                            "base-uri 'none'; form-action 'self'");
    MHD_add_response_header(r, "Cache-Control", cache);
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (cors_origin && origin && strcmp(origin, cors_origin) == 0) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", cors_origin);
        MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization, Content-Type, X-Photoseek-CSRF, Range");
        MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST");
        MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    }
    if (cors_origin) MHD_add_response_header(r, "Vary", "Origin");
    return MHD_queue_response(c, status, r);
}

enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const void *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ret = queue_response(c, status, r, "private, no-store");
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, const char *json) {
    return reply(c, status, "application/json; charset=utf-8", json, strlen(json));
}

enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    jbuf b = {0};
    jb_raw(&b, "{\"error\": ");
    jb_str(&b, msg);
    jb_raw(&b, "}");
    enum MHD_Result r = b.oom ? MHD_NO : reply_json(c, status, b.s);
    jb_free(&b);
    return r;
}

void jb_raw(jbuf *b, const char *s) {
    size_t n = strlen(s);
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->s, cap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->s = d;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

void jb_printf(jbuf *b, const char *fmt, ...) {
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    jb_raw(b, tmp);
}

void jb_str(jbuf *b, const char *s) {
    jb_raw(b, "\"");
    char esc[8];
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char one[2] = {(char)*p, 0};
        switch (*p) {
        case '"': jb_raw(b, "\\\""); break;
        case '\\': jb_raw(b, "\\\\"); break;
        case '\n': jb_raw(b, "\\n"); break;
        case '\r': jb_raw(b, "\\r"); break;
        case '\t': jb_raw(b, "\\t"); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                jb_raw(b, esc);
            } else {
                jb_raw(b, one);
            }
        }
    }
    jb_raw(b, "\"");
}

void jb_free(jbuf *b) {
    free(b->s);
    memset(b, 0, sizeof *b);
}

int server_fail(psk_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

static const char *header(struct MHD_Connection *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* The client's address, for the log (never the token or the query string). */
static void client_addr(struct MHD_Connection *c, char *buf, size_t cap) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(buf, cap, "?");
    if (ci && ci->client_addr && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, buf, (socklen_t)cap);
}

/* Re-encodes the query arguments but the token, for the address the browser is sent to. */
typedef struct query_rebuild {
    char *buf;
    size_t len, cap;
} query_rebuild;

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    query_rebuild *q = cls;
    if (strcmp(key, "token") == 0) return MHD_YES;
    static const char hex[] = "0123456789ABCDEF";
    const char *parts[2] = {key, value ? value : ""};
    for (int k = 0; k < 2; k++) {
        if (q->len + 2 >= q->cap) return MHD_NO;
        char sep = k ? '=' : q->len ? '&' : '?';
        q->buf[q->len++] = sep;
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++) {
            if (q->len + 4 >= q->cap) return MHD_NO;
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~,", *p)) {
                q->buf[q->len++] = (char)*p;
            } else {
                q->buf[q->len++] = '%';
                q->buf[q->len++] = hex[*p >> 4];
                q->buf[q->len++] = hex[*p & 15];
            }
        }
    }
    q->buf[q->len] = 0;
    return MHD_YES;
}

/* The page opened with the right ?token=: remember it in a cookie and drop it from the address bar (and from
 * history and any Referer) by sending the browser to the same page, with its other arguments, without it. */
static enum MHD_Result set_token_cookie(server *s, struct MHD_Connection *c, const char *url) {
    char location[2048];
    int n = snprintf(location, sizeof location, "%s", url);
    query_rebuild q = {location + n, 0, sizeof location - (size_t)n};
    q.buf[0] = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    char cookie[600];
    snprintf(cookie, sizeof cookie, "psk_token=%s; HttpOnly; SameSite=Strict; Path=/", s->p->token);
    MHD_add_response_header(r, "Set-Cookie", cookie);
    MHD_add_response_header(r, "Location", location);
    enum MHD_Result ret = queue_response(c, 303, r, "no-store");
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result serve_asset(server *s, struct MHD_Connection *c, const char *url) {
    const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
    if (strcmp(path, "/favicon.ico") == 0) path = "/favicon.svg";
    for (const psk_asset *a = psk_assets; a->path; a++) {
        if (strcmp(a->path, path) != 0) continue;
        struct MHD_Response *r = MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        MHD_add_response_header(r, "Content-Type", a->type);
        if (strcmp(path, "/index.html") == 0) {
            /* The page's state-changing requests carry this run's token from this cookie; another site's page
             * can neither read it nor have it sent (SameSite=Strict). */
            char cookie[128];
            snprintf(cookie, sizeof cookie, "psk_csrf=%s; SameSite=Strict; Path=/", s->csrf);
            MHD_add_response_header(r, "Set-Cookie", cookie);
        }
        enum MHD_Result ret = queue_response(c, 200, r, "no-cache");
        MHD_destroy_response(r);
        return ret;
    }
    return reply_error(c, 404, "not found");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls) {
    (void)version;
    server *s = cls;
    /* Bodies are never read: every endpoint takes its input from the URL. */
    if (*con_cls == NULL) {
        *con_cls = (void *)1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* discard */
        (void)upload_data;
        return MHD_YES;
    }
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, post = strcmp(method, "POST") == 0;
    gate_request rq = {
        .method = method,
        .url = url,
        .host = header(c, "Host"),
        .origin = header(c, "Origin"),
        .fetch_site = header(c, "Sec-Fetch-Site"),
        .content_type = header(c, "Content-Type"),
        .authorization = header(c, "Authorization"),
        .cookie_token = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "psk_token"),
        .csrf_header = header(c, "X-Photoseek-CSRF"),
        .query_token = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"),
    };
    gate_verdict v = gate_check(&s->gate, &rq);
    if (v.action == GATE_REFUSE) {
        char who[64];
        client_addr(c, who, sizeof who);
        fprintf(stderr, "photoseek: refused %s %s from %s: %u %s\n", method, url, who, v.status, v.reason);
        return reply_error(c, v.status, "%s", v.reason);
    }
    if (v.action == GATE_SET_TOKEN_COOKIE) return set_token_cookie(s, c, url);
    if (v.action == GATE_PREFLIGHT) {
        struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        if (!r) return MHD_NO;
        enum MHD_Result ret = queue_response(c, 204, r, "no-store");
        MHD_destroy_response(r);
        return ret;
    }
    if (strncmp(url, "/api/", 5) == 0) {
        if (strcmp(url, "/api/search") == 0 && get) return api_search(s, c, false);
        if (strcmp(url, "/api/similar") == 0 && get) return api_search(s, c, true);
        if (strcmp(url, "/api/facets") == 0 && get) return api_facets(s, c);
        if (strcmp(url, "/api/status") == 0 && get) return api_status(s, c);
        if (strcmp(url, "/api/duplicates") == 0 && get) return api_duplicates(s, c);
        if (strncmp(url, "/api/people", 11) == 0 || strncmp(url, "/api/faces/", 11) == 0) return api_people(s, c, url, get, post);
        if (strcmp(url, "/api/index") == 0) {
            if (!post) return reply_error(c, 405, "use POST to start an index run");
            return api_index(s, c);
        }
        int64_t id;
        const char *rest;
        if (strncmp(url, "/api/media/", 11) == 0 && get) {
            if (!route_media_path(url, &id, &rest)) return reply_error(c, 404, "no such item");
            if (*rest == 0) return api_media(s, c, id);
            if (strcmp(rest, "/thumb") == 0) return serve_thumb(s, c, id);
            if (strcmp(rest, "/file") == 0) return serve_file(s, c, id);
            if (strcmp(rest, "/text") == 0) return api_media_text(s, c, id);
            if (strcmp(rest, "/faces") == 0) return api_media_faces(s, c, id);
        }
        return reply_error(c, 404, "no such endpoint");
    }
    if (!get) return reply_error(c, 405, "method not allowed");
    return serve_asset(s, c, url);
}

/* Random hex from the kernel, for this run's request token. */
static int random_hex(char *out, size_t n_bytes) {
    unsigned char buf[32];
    if (n_bytes > sizeof buf) return -1;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) return -1;
    size_t got = fread(buf, 1, n_bytes, f);
    fclose(f);
    if (got != n_bytes) return -1;
    for (size_t i = 0; i < n_bytes; i++) snprintf(out + 2 * i, 3, "%02x", buf[i]);
    return 0;
}

psk_library *reader_take(server *s, psk_error *err) {
    pthread_mutex_lock(&s->lib_mu);
    int i;
    for (;;) {
        for (i = 0; i < s->n_readers && s->reader_busy[i]; i++) {}
        if (i < s->n_readers) break;
        pthread_cond_wait(&s->reader_cv, &s->lib_mu);
    }
    s->reader_busy[i] = true;
    pthread_mutex_unlock(&s->lib_mu);
    /* a handle is opened outside the lock: no other request waits for this one's file */
    if (!s->readers[i] && psk_library_open(s->p->db, PSK_OPEN_READ, &s->readers[i], err)) {
        s->readers[i] = NULL;
        pthread_mutex_lock(&s->lib_mu);
        s->reader_busy[i] = false;
        pthread_cond_signal(&s->reader_cv);
        pthread_mutex_unlock(&s->lib_mu);
        return NULL;
    }
    return s->readers[i];
}

void reader_give(server *s, psk_library *lib) {
    pthread_mutex_lock(&s->lib_mu);
    for (int i = 0; i < s->n_readers; i++)
        if (s->readers[i] == lib) s->reader_busy[i] = false;
    pthread_cond_signal(&s->reader_cv);
    pthread_mutex_unlock(&s->lib_mu);
}

static void close_readers(server *s) {
    for (int i = 0; i < s->n_readers; i++) psk_library_close(s->readers[i]);
    free(s);
}

/* Why the daemon could not listen: libmicrohttpd closes its socket before it returns, so errno no longer says.
 * Binding a socket of our own the way it does (SO_REUSEADDR) finds the cause again. */
static int listen_failure(psk_error *err, const struct sockaddr_in *addr, const char *bind_addr, int port) {
    int e = 0, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) e = errno;
    else {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (const struct sockaddr *)addr, sizeof *addr) != 0 || listen(fd, 1) != 0) e = errno;
        close(fd);
    }
    if (e == EADDRINUSE)
        return server_fail(err, PSK_ERR_IO, "cannot listen on %s:%d: the port is in use (another photoseek serve, or "
                           "another program); stop it, or give another port with --port N (--port 0 picks a free one)",
                           bind_addr, port);
    if (e == EADDRNOTAVAIL)
        return server_fail(err, PSK_ERR_IO, "cannot listen on %s:%d: this machine has no address %s (--bind takes "
                           "one of its own addresses, 127.0.0.1 or 0.0.0.0)", bind_addr, port, bind_addr);
    if (e == EACCES)
        return server_fail(err, PSK_ERR_IO, "cannot listen on %s:%d: permission denied (ports below 1024 need "
                           "privileges; give --port 8080 or another above 1023)", bind_addr, port);
    if (e) return server_fail(err, PSK_ERR_IO, "cannot listen on %s:%d: %s", bind_addr, port, strerror(e));
    return server_fail(err, PSK_ERR_IO, "cannot start the HTTP server on %s:%d", bind_addr, port);
}

int psk_server_run(const psk_server_params *p, volatile int *stop, psk_error *err) {
    server *s = calloc(1, sizeof *s);
    if (!s) return server_fail(err, PSK_ERR_NOMEM, "out of memory");
    s->p = p;
    pthread_mutex_init(&s->lib_mu, NULL);
    pthread_cond_init(&s->reader_cv, NULL);
    pthread_mutex_init(&s->thumb_mu, NULL);
    pthread_mutex_init(&s->index_mu, NULL);
    int n_threads = p->n_threads > 0 ? p->n_threads : 4;
    s->n_readers = n_threads < SERVER_MAX_READERS ? n_threads : SERVER_MAX_READERS;
    int rc = psk_library_open(p->db, PSK_OPEN_READ, &s->readers[0], err);
    if (rc) {
        free(s);
        return rc;
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)p->port);
    const char *bind = p->bind ? p->bind : "127.0.0.1";
    if (inet_pton(AF_INET, bind, &addr.sin_addr) != 1) {
        close_readers(s);
        return server_fail(err, PSK_ERR_INVALID_ARG, "bad --bind address '%s' (an IPv4 address)", bind);
    }
    if (random_hex(s->csrf, 32)) {
        close_readers(s);
        return server_fail(err, PSK_ERR_IO, "cannot read random bytes from /dev/urandom for the page's request token");
    }
    s->gate = (gate_config){
        .bind = strncmp(bind, "127.", 4) == 0 ? GATE_BIND_LOOPBACK
                : strcmp(bind, "0.0.0.0") == 0 ? GATE_BIND_ANY
                                               : GATE_BIND_ADDRESS,
        .bind_addr = bind,
        .allow_hosts = p->allow_hosts,
        .n_allow_hosts = p->n_allow_hosts,
        .token = p->token && *p->token ? p->token : NULL,
        .csrf = s->csrf,
        .cors_origin = p->cors_origin,
    };
    cors_origin = p->cors_origin;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)n_threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
    if (!d) {
        close_readers(s);
        return listen_failure(err, &addr, bind, p->port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : p->port;
    s->gate.port = port; /* before anyone can know the port: the port file and the message come after */
    fprintf(stderr, "photoseek: serving %s on http://%s:%d/%s\n", p->db, bind, port,
            p->token ? "?token=..." : "");
    if (p->port_file) {
        FILE *f = fopen(p->port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    if (p->on_listen) p->on_listen(p->on_listen_user, strcmp(bind, "0.0.0.0") == 0 ? "127.0.0.1" : bind, port);
    while (!*stop) usleep(100 * 1000);
    MHD_stop_daemon(d);
    if (s->index_thread_started) {
        s->index_cancel = 1;
        pthread_join(s->index_thread, NULL);
    }
    for (int i = 0; i < THUMB_CACHE; i++) psk_free_buffer(s->thumbs[i].jpeg);
    close_readers(s);
    return PSK_OK;
}
