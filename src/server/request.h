/* What the server decides about a request before any endpoint runs, as plain functions of the request's fields
 * (no libmicrohttpd here, so that the fuzz target and the tests call exactly what the server calls):
 * - which Host names the server answers to (DNS rebinding),
 * - which Origins may change state, and what a state-changing request must carry (cross-site requests),
 * - the access token, compared in constant time,
 * - the media routes, the Range header and the search parameters.
 * Every function takes bytes a stranger sent: none may assume a length, a format or a terminating condition other
 * than the NUL that the HTTP parser guarantees. */
#ifndef PSK_SERVER_REQUEST_H
#define PSK_SERVER_REQUEST_H

#include "photoseek.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_QUERY_BYTES 1024
#define MAX_K 500

/* How the server listens, which decides the names it is reachable as. */
typedef enum gate_bind {
    GATE_BIND_LOOPBACK = 0, /* 127.x.y.z: 127.0.0.1, localhost, [::1] and the address itself */
    GATE_BIND_ADDRESS = 1,  /* one other address: that address */
    GATE_BIND_ANY = 2,      /* 0.0.0.0: any IP literal (no name can be rebound to it) and localhost */
} gate_bind;

typedef struct gate_config {
    gate_bind bind;
    const char *bind_addr;              /* the address as given (dotted IPv4) */
    int port;                           /* the port actually listened on */
    const char *const *allow_hosts;     /* --allow-host names: matched without regard to case or port */
    int n_allow_hosts;
    const char *token;                  /* --token, or NULL */
    const char *csrf;                   /* this run's request token for the page's state-changing requests */
    const char *cors_origin;            /* --cors ORIGIN, or NULL */
} gate_config;

/* The fields of a request that the gate reads; NULL where the request did not carry the field. */
typedef struct gate_request {
    const char *method;
    const char *url;           /* the path, without the query string */
    const char *host;          /* Host header */
    const char *origin;        /* Origin header */
    const char *fetch_site;    /* Sec-Fetch-Site header */
    const char *content_type;
    const char *authorization; /* Authorization header */
    const char *cookie_token;  /* the psk_token cookie */
    const char *csrf_header;   /* X-Photoseek-CSRF header */
    const char *query_token;   /* ?token= */
} gate_request;

typedef enum gate_action {
    GATE_SERVE = 0,          /* go on to the endpoint */
    GATE_REFUSE = 1,         /* answer status with reason */
    GATE_SET_TOKEN_COOKIE = 2, /* the page was opened with the right ?token=: set the cookie, redirect without it */
    GATE_PREFLIGHT = 3,      /* an OPTIONS preflight from the --cors origin: answer it */
} gate_action;

typedef struct gate_verdict {
    gate_action action;
    unsigned status;    /* with GATE_REFUSE */
    const char *reason; /* with GATE_REFUSE: a static, token-free sentence */
    bool cors;          /* add Access-Control-Allow-Origin for the --cors origin */
} gate_verdict;

/* Decides what to do with a request. Never fails: every input gets a verdict. */
gate_verdict gate_check(const gate_config *cfg, const gate_request *rq);

/* Whether a Host header value names this server (see gate_bind); exposed for the tests and the fuzz target. */
bool gate_host_allowed(const gate_config *cfg, const char *host);
/* Whether an Origin header value is this server's own origin or the --cors origin. */
bool gate_origin_allowed(const gate_config *cfg, const char *origin);
/* Equality of two secrets in time independent of where they differ (and of their lengths). NULL never matches. */
bool gate_secret_equal(const char *given, const char *secret);
/* Whether a path is one of the page's public assets ("/", "/index.html", "/app.js", ...: no library data). */
bool gate_is_page(const char *url);

/* /api/media/123, /api/media/123/thumb, /api/media/123/file: the id (1 .. 2^53) and what follows it. */
bool route_media_path(const char *url, int64_t *id, const char **rest);

/* A Range header ("bytes=START-END", "bytes=START-", "bytes=-SUFFIX", one range) against a file of size bytes:
 * 0 with 0 <= *start <= *end < size, 1 when unsatisfiable (416), -1 when malformed (ignored: the whole file). */
int parse_range(const char *h, int64_t size, int64_t *start, int64_t *end);

/* Whether s is valid UTF-8 (no overlongs, no surrogates). */
bool utf8_ok(const char *s);

/* Reads the search parameters of /api/search (similar false) or /api/similar (similar true) through get(), which
 * returns a parameter's value or NULL. Returns 0, or the HTTP status of the refusal with the reason in msg. */
typedef const char *(*param_getter)(void *ctx, const char *name);
unsigned parse_search_params(param_getter get, void *ctx, bool similar, psk_search_params *p, int64_t *id, char *msg,
                             size_t cap);

/* Reads the place filter of /api/search and /api/similar, as the page's place facet gives it: place=CC|REGION|CITY
 * (one city; REGION may be empty), else country=CC,CC,... (ISO country codes). Fills m[0..*n) (cap entries at
 * most). Returns 0, or 400 with the reason in msg. */
#define MAX_PLACE_FILTERS 16
unsigned parse_place_params(param_getter get, void *ctx, psk_place_match *m, int cap, int *n, char *msg,
                            size_t msg_cap);

/* Reads the person filter of /api/search and /api/similar: person=ID,ID,... (the ids of /api/people; every one of
 * them in the photo). Fills ids[0..*n) (cap at most). Returns 0, or 400 with the reason in msg. */
#define MAX_PERSON_FILTERS 16
unsigned parse_person_params(param_getter get, void *ctx, int64_t *ids, int cap, int *n, char *msg, size_t msg_cap);

#endif
