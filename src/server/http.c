/* The HTTP server: routing, authentication, limits and response helpers. */
#include "http.h"

#include "assets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const void *body, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
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

bool utf8_ok(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int len;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) len = 2, min = 0x80, c &= 0x1F;
        else if ((c & 0xF0) == 0xE0) len = 3, min = 0x800, c &= 0x0F;
        else if ((c & 0xF8) == 0xF0) len = 4, min = 0x10000, c &= 0x07;
        else return false;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) return false;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
        p += len;
    }
    return true;
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

static bool authorised(server *s, struct MHD_Connection *c) {
    const char *token = s->p->token;
    if (!token || !*token) return true;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && strncmp(auth, "Bearer ", 7) == 0 && strcmp(auth + 7, token) == 0) return true;
    const char *cookie = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, "psk_token");
    if (cookie && strcmp(cookie, token) == 0) return true;
    const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    return arg && strcmp(arg, token) == 0;
}

/* /api/media/123, /api/media/123/thumb, /api/media/123/file */
static bool parse_media_path(const char *url, int64_t *id, const char **rest) {
    const char *p = url + strlen("/api/media/");
    if (*p < '1' || *p > '9') return false;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (v <= 0 || v > (1LL << 53)) return false;
    if (*end != 0 && *end != '/') return false;
    *id = v;
    *rest = end;
    return true;
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
    if (!authorised(s, c)) return reply_error(c, 401, "this server needs a token (?token=... or Authorization: Bearer ...)");
    if (strncmp(url, "/api/", 5) == 0) {
        if (strcmp(url, "/api/search") == 0 && get) return api_search(s, c, false);
        if (strcmp(url, "/api/similar") == 0 && get) return api_search(s, c, true);
        if (strcmp(url, "/api/facets") == 0 && get) return api_facets(s, c);
        if (strcmp(url, "/api/status") == 0 && get) return api_status(s, c);
        if (strcmp(url, "/api/index") == 0) {
            if (!post) return reply_error(c, 405, "use POST to start an index run");
            return api_index(s, c);
        }
        int64_t id;
        const char *rest;
        if (strncmp(url, "/api/media/", 11) == 0 && get) {
            if (!parse_media_path(url, &id, &rest)) return reply_error(c, 404, "no such item");
            if (*rest == 0) return api_media(s, c, id);
            if (strcmp(rest, "/thumb") == 0) return serve_thumb(s, c, id);
            if (strcmp(rest, "/file") == 0) return serve_file(s, c, id);
        }
        return reply_error(c, 404, "no such endpoint");
    }
    if (!get) return reply_error(c, 405, "method not allowed");
    const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
    for (const psk_asset *a = psk_assets; a->path; a++) {
        if (strcmp(a->path, path) == 0) {
            struct MHD_Response *r =
                MHD_create_response_from_buffer(a->size, (void *)a->data, MHD_RESPMEM_PERSISTENT);
            if (!r) return MHD_NO;
            MHD_add_response_header(r, "Content-Type", a->type);
            MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
            MHD_add_response_header(r, "Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' blob:; media-src 'self'");
            const char *tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
            if (tok && s->p->token && strcmp(tok, s->p->token) == 0) {
                /* the page's own requests carry the token as a cookie from here on */
                char cookie[600];
                snprintf(cookie, sizeof cookie, "psk_token=%s; HttpOnly; SameSite=Strict; Path=/", tok);
                MHD_add_response_header(r, "Set-Cookie", cookie);
            }
            enum MHD_Result ret = MHD_queue_response(c, 200, r);
            MHD_destroy_response(r);
            return ret;
        }
    }
    return reply_error(c, 404, "not found");
}

int psk_server_run(const psk_server_params *p, volatile int *stop, psk_error *err) {
    server *s = calloc(1, sizeof *s);
    if (!s) return server_fail(err, PSK_ERR_NOMEM, "out of memory");
    s->p = p;
    pthread_mutex_init(&s->lib_mu, NULL);
    pthread_mutex_init(&s->thumb_mu, NULL);
    pthread_mutex_init(&s->index_mu, NULL);
    int rc = psk_library_open(p->db, PSK_OPEN_READ, &s->lib, err);
    if (rc) {
        free(s);
        return rc;
    }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)p->port);
    const char *bind = p->bind ? p->bind : "127.0.0.1";
    if (inet_pton(AF_INET, bind, &addr.sin_addr) != 1) {
        psk_library_close(s->lib);
        free(s);
        return server_fail(err, PSK_ERR_INVALID_ARG, "bad --bind address '%s' (an IPv4 address)", bind);
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR, &addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(p->n_threads > 0 ? p->n_threads : 4),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)512, MHD_OPTION_END);
    if (!d) {
        psk_library_close(s->lib);
        free(s);
        return server_fail(err, PSK_ERR_IO, "cannot listen on %s:%d: %s", bind, p->port, strerror(errno));
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : p->port;
    fprintf(stderr, "photoseek: serving %s on http://%s:%d/%s\n", p->db, bind, port,
            p->token ? "?token=..." : "");
    if (p->port_file) {
        FILE *f = fopen(p->port_file, "w");
        if (f) {
            fprintf(f, "%d\n", port);
            fclose(f);
        }
    }
    while (!*stop) usleep(100 * 1000);
    MHD_stop_daemon(d);
    if (s->index_thread_started) {
        s->index_cancel = 1;
        pthread_join(s->index_thread, NULL);
    }
    for (int i = 0; i < THUMB_CACHE; i++) psk_free_buffer(s->thumbs[i].jpeg);
    psk_library_close(s->lib);
    free(s);
    return PSK_OK;
}
