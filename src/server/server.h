/* photoseek serve: a local web page and JSON API over a library, on libmicrohttpd. A thin client of
 * photoseek.h: every answer comes from the public library API. */
#ifndef PSK_SERVER_H
#define PSK_SERVER_H

#include "photoseek.h"

typedef struct psk_server_params {
    const char *db;
    const char *bind;       /* address to listen on (default 127.0.0.1) */
    int port;               /* 0 picks a free port */
    const char *token;      /* required for every request when not NULL */
    const char *text_model; /* query encoder, or NULL for the library's default */
    const char *image_model;
    const char *const *roots; /* folders POST /api/index re-indexes (default: those of the last index run) */
    int n_roots;
    int n_threads;          /* HTTP worker threads (default 4) */
    const char *port_file;  /* written with the port once listening (for scripts and tests) */
    const char *const *allow_hosts; /* Host names answered besides the address's own (a reverse proxy, a LAN name) */
    int n_allow_hosts;
    const char *cors_origin; /* an origin whose pages may read the API (CORS), or NULL for none */
    void (*on_listen)(void *user, const char *host, int port); /* called once listening (e.g. to open a browser) */
    void *on_listen_user;
} psk_server_params;

/* Serves until *stop becomes non-zero (a signal handler sets it). Requests are answered only when their Host names
 * this server (127.0.0.1, localhost, [::1] on loopback; the address itself; allow_hosts), state-changing requests
 * only with a JSON body from our own page or a non-browser client, and with a token only with the token
 * (src/server/request.h). One server per process. */
int psk_server_run(const psk_server_params *p, volatile int *stop, psk_error *err);

#endif
