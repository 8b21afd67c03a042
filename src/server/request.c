/* The server's decisions about a request, as plain functions (request.h says why). */
#include "request.h"

#include "../common/common.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits "name", "name:port", "[v6]" or "[v6]:port" into the name (brackets kept) and the port (0 when absent).
 * Returns false on anything else: an empty name, a bad port, bytes that cannot be in a host. */
static bool split_authority(const char *s, char *name, size_t cap, int *port) {
    size_t n = strlen(s), name_len;
    const char *colon;
    if (n == 0 || n >= cap) return false;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close) return false;
        name_len = (size_t)(close - s) + 1;
        colon = close[1] == ':' ? close + 1 : NULL;
        if (close[1] && !colon) return false;
    } else {
        colon = strchr(s, ':');
        name_len = colon ? (size_t)(colon - s) : n;
    }
    if (name_len == 0) return false;
    for (size_t i = 0; i < name_len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c >= 0x7f || c == '/' || c == '@' || c == '\\') return false;
    }
    memcpy(name, s, name_len);
    name[name_len] = 0;
    *port = 0;
    if (colon) {
        const char *p = colon + 1;
        size_t digits = strspn(p, "0123456789");
        if (digits == 0 || digits > 5 || p[digits]) return false;
        *port = atoi(p);
        if (*port < 1 || *port > 65535) return false;
    }
    return true;
}

static bool is_ip_literal(const char *name) {
    unsigned char buf[16];
    if (name[0] == '[') {
        char v6[64];
        size_t n = strlen(name);
        if (n < 3 || n - 2 >= sizeof v6) return false;
        memcpy(v6, name + 1, n - 2);
        v6[n - 2] = 0;
        return inet_pton(AF_INET6, v6, buf) == 1;
    }
    return inet_pton(AF_INET, name, buf) == 1;
}

/* A name/port pair (port 0 = the scheme's default, given as default_port) against the server's names. */
static bool authority_allowed(const gate_config *cfg, const char *name, int port) {
    for (int i = 0; i < cfg->n_allow_hosts; i++)
        if (cfg->allow_hosts[i] && strcasecmp(name, cfg->allow_hosts[i]) == 0) return true; /* behind a proxy */
    if (port != cfg->port) return false;
    bool loopback_name = strcasecmp(name, "localhost") == 0 || strcmp(name, "127.0.0.1") == 0 ||
                         strcmp(name, "[::1]") == 0;
    switch (cfg->bind) {
    case GATE_BIND_LOOPBACK:
        return loopback_name || (cfg->bind_addr && strcmp(name, cfg->bind_addr) == 0);
    case GATE_BIND_ADDRESS:
        return cfg->bind_addr && strcmp(name, cfg->bind_addr) == 0;
    case GATE_BIND_ANY:
        return loopback_name || is_ip_literal(name);
    }
    return false;
}

bool gate_host_allowed(const gate_config *cfg, const char *host) {
    char name[256];
    int port;
    if (!host || !split_authority(host, name, sizeof name, &port)) return false;
    return authority_allowed(cfg, name, port ? port : 80);
}

bool gate_origin_allowed(const gate_config *cfg, const char *origin) {
    if (!origin) return false;
    if (cfg->cors_origin && strcmp(origin, cfg->cors_origin) == 0) return true;
    int default_port;
    const char *rest;
    if (strncmp(origin, "http://", 7) == 0) rest = origin + 7, default_port = 80;
    else if (strncmp(origin, "https://", 8) == 0) rest = origin + 8, default_port = 443;
    else return false; /* "null" (sandboxed frames, file: pages) and anything else */
    char name[256];
    int port;
    if (!split_authority(rest, name, sizeof name, &port)) return false;
    return authority_allowed(cfg, name, port ? port : default_port);
}

bool gate_secret_equal(const char *given, const char *secret) {
    if (!given || !secret || !*secret) return false;
    /* Digests of both: the comparison then reads the same 64 bytes whatever the inputs' lengths. */
    char a[65], b[65];
    if (psk_sha256(given, strlen(given), a) || psk_sha256(secret, strlen(secret), b)) return false;
    volatile unsigned char diff = 0;
    for (int i = 0; i < 64; i++) diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool gate_is_page(const char *url) {
    static const char *page[] = {"/", "/index.html", "/app.js", "/style.css", "/favicon.ico", "/favicon.svg"};
    for (size_t i = 0; i < sizeof page / sizeof page[0]; i++)
        if (strcmp(url, page[i]) == 0) return true;
    return false;
}

static bool json_type(const char *ct) {
    if (!ct) return false;
    while (*ct == ' ') ct++;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

static gate_verdict refuse(unsigned status, const char *reason) {
    return (gate_verdict){.action = GATE_REFUSE, .status = status, .reason = reason};
}

gate_verdict gate_check(const gate_config *cfg, const gate_request *rq) {
    const char *method = rq->method ? rq->method : "";
    const char *url = rq->url ? rq->url : "";
    if (!gate_host_allowed(cfg, rq->host))
        return refuse(403, "this server does not answer to that Host name (a protection against DNS rebinding); "
                           "start it with --allow-host NAME to reach it by another name");
    bool cors = cfg->cors_origin && rq->origin && strcmp(rq->origin, cfg->cors_origin) == 0;
    if (strcmp(method, "OPTIONS") == 0) {
        if (cors) return (gate_verdict){.action = GATE_PREFLIGHT, .cors = true};
        return refuse(405, "method not allowed");
    }
    bool read = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    if (read && gate_is_page(url)) {
        /* The page holds no library data: anyone who may reach the server may load it, also from a link. */
        if (cfg->token && rq->query_token) {
            if (!gate_secret_equal(rq->query_token, cfg->token)) return refuse(401, "wrong token");
            return (gate_verdict){.action = GATE_SET_TOKEN_COOKIE, .cors = cors};
        }
        return (gate_verdict){.action = GATE_SERVE, .cors = cors};
    }
    /* A page of another site may embed or send to us, never read or change: its requests say so. */
    if (rq->fetch_site && !cors && (strcmp(rq->fetch_site, "cross-site") == 0 || strcmp(rq->fetch_site, "same-site") == 0))
        return refuse(403, "requests from another site's page are refused");
    bool bearer = cfg->token && rq->authorization && strncmp(rq->authorization, "Bearer ", 7) == 0 &&
                  gate_secret_equal(rq->authorization + 7, cfg->token);
    if (cfg->token && !bearer && !gate_secret_equal(rq->cookie_token, cfg->token))
        return refuse(401, rq->query_token ? "the token goes in an Authorization: Bearer header (or the cookie the "
                                             "page sets when opened with ?token=), not in an API URL"
                                           : "this server needs a token (Authorization: Bearer ..., or open the "
                                             "page once as /?token=...)");
    if (read) return (gate_verdict){.action = GATE_SERVE, .cors = cors};
    /* State-changing requests: a JSON body type (a form or text/plain POST, which any page may send without
     * asking, is refused), and from a browser only our own page, which proves itself with this run's token. */
    if (!json_type(rq->content_type)) return refuse(415, "state-changing requests need Content-Type: application/json");
    if (rq->origin && !gate_origin_allowed(cfg, rq->origin)) return refuse(403, "requests from another origin are refused");
    bool browser = rq->origin || rq->fetch_site;
    if (browser && !bearer && !gate_secret_equal(rq->csrf_header, cfg->csrf))
        return refuse(403, "the page's request token (X-Photoseek-CSRF) is missing or wrong: reload the page");
    return (gate_verdict){.action = GATE_SERVE, .cors = cors};
}

bool route_media_path(const char *url, int64_t *id, const char **rest) {
    static const char prefix[] = "/api/media/";
    if (strncmp(url, prefix, sizeof prefix - 1) != 0) return false;
    const char *p = url + sizeof prefix - 1;
    if (*p < '1' || *p > '9') return false;
    size_t digits = strspn(p, "0123456789");
    if (digits > 16) return false;
    long long v = strtoll(p, NULL, 10);
    if (v <= 0 || v > (1LL << 53)) return false;
    const char *end = p + digits;
    if (*end != 0 && *end != '/') return false;
    *id = v;
    *rest = end;
    return true;
}

int parse_range(const char *h, int64_t size, int64_t *start, int64_t *end) {
    if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',')) return -1;
    const char *p = h + 6;
    char *e;
    if (*p == '-') {
        if (p[1] < '0' || p[1] > '9') return -1;
        long long n = strtoll(p + 1, &e, 10);
        if (*e || n <= 0) return -1;
        if (size <= 0) return 1; /* nothing to send a suffix of */
        *start = n >= size ? 0 : size - n;
        *end = size - 1;
        return 0;
    }
    if (*p < '0' || *p > '9') return -1;
    long long a = strtoll(p, &e, 10);
    if (*e != '-' || a < 0) return -1;
    long long b = -1;
    if (e[1]) {
        if (e[1] < '0' || e[1] > '9') return -1;
        char *e2;
        b = strtoll(e + 1, &e2, 10);
        if (*e2 || b < a) return -1;
    }
    if (a >= size) return 1; /* unsatisfiable */
    if (b < 0 || b >= size) b = size - 1;
    *start = a;
    *end = b;
    return 0;
}

bool utf8_ok(const char *s) {
    return psk_utf8_valid(s, strlen(s));
}

static const char *param(param_getter get, void *ctx, const char *name) {
    const char *v = get(ctx, name);
    return v && *v ? v : NULL;
}

#define REFUSE(status, ...)                                                                                            \
    do {                                                                                                               \
        snprintf(msg, cap, __VA_ARGS__);                                                                               \
        return status;                                                                                                 \
    } while (0)

unsigned parse_search_params(param_getter get, void *ctx, bool similar, psk_search_params *p, int64_t *id, char *msg,
                             size_t cap) {
    const char *v;
    /* Every parameter is checked before the library sees it: bad input is a 400 with the reason. */
    static const char *strings[] = {"q", "camera", "folder"};
    for (int i = 0; i < 3; i++)
        if ((v = param(get, ctx, strings[i])) && (!utf8_ok(v) || strlen(v) > MAX_QUERY_BYTES))
            REFUSE(400, "%s is not valid UTF-8 or is longer than %d bytes", strings[i], MAX_QUERY_BYTES);
    *id = 0;
    if (similar) {
        char *end;
        if (!(v = param(get, ctx, "id")) || (*id = strtoll(v, &end, 10)) <= 0 || *end)
            REFUSE(400, "id must be a positive number");
    } else if (!(p->query = param(get, ctx, "q")) && !param(get, ctx, "person")) {
        REFUSE(400, "q (the query) is required, unless person= chooses photos by who is in them");
    }
    if ((v = param(get, ctx, "k"))) {
        char *end;
        long k = strtol(v, &end, 10);
        if (*end || k < 1 || k > MAX_K) REFUSE(400, "k must be a number from 1 to %d", MAX_K);
        p->k = (int)k;
    }
    static const char *filters[] = {"year", "month", "day", "from", "to", "type", "camera", "folder", "near"};
    psk_error ferr = {0};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        if ((v = param(get, ctx, filters[i])) && psk_filter_set(&p->filter, filters[i], v, &ferr))
            REFUSE(400, "%s", ferr.message);
    if ((v = param(get, ctx, "sort"))) {
        if (strcmp(v, "score") == 0) p->sort = PSK_SORT_SCORE;
        else if (strcmp(v, "date") == 0) p->sort = PSK_SORT_DATE;
        else REFUSE(400, "sort must be score or date");
    }
    if ((v = param(get, ctx, "min_score"))) {
        char *end;
        double m = strtod(v, &end);
        if (*end || !(m >= -1 && m <= 1)) REFUSE(400, "min_score must be a number from -1 to 1");
        p->min_score = (float)m;
    }
    return 0;
}

unsigned parse_place_params(param_getter get, void *ctx, psk_place_match *m, int cap, int *n, char *msg,
                            size_t msg_cap) {
    *n = 0;
    const char *v = param(get, ctx, "place");
    if (v) {
        const char *bar1 = strchr(v, '|'), *bar2 = bar1 ? strchr(bar1 + 1, '|') : NULL;
        size_t region_len = bar2 ? (size_t)(bar2 - bar1 - 1) : 0;
        if (!utf8_ok(v) || !bar2 || bar1 - v != 2 || strchr(bar2 + 1, '|') || !bar2[1] ||
            region_len >= sizeof m->region || strlen(bar2 + 1) >= sizeof m->city || cap < 1) {
            snprintf(msg, msg_cap, "place must be CC|REGION|CITY (a country code, a region and a city)");
            return 400;
        }
        memset(&m[0], 0, sizeof m[0]);
        m[0].kind = PSK_PLACE_CITY;
        memcpy(m[0].country_code, v, 2);
        memcpy(m[0].region, bar1 + 1, region_len);
        snprintf(m[0].city, sizeof m[0].city, "%s", bar2 + 1);
        *n = 1;
        return 0;
    }
    if (!(v = param(get, ctx, "country"))) return 0;
    for (const char *p = v;; p += 3) {
        bool code = p[0] >= 'A' && p[0] <= 'Z' && p[1] >= 'A' && p[1] <= 'Z' && (p[2] == ',' || !p[2]);
        if (!code || *n >= cap) {
            snprintf(msg, msg_cap, "country must be country codes (JP,FR), %d at most", cap);
            return 400;
        }
        memset(&m[*n], 0, sizeof m[*n]);
        m[*n].kind = PSK_PLACE_COUNTRY;
        memcpy(m[*n].country_code, p, 2);
        (*n)++;
        if (!p[2]) break;
    }
    return 0;
}

unsigned parse_person_params(param_getter get, void *ctx, int64_t *ids, int cap, int *n, char *msg, size_t msg_cap) {
    *n = 0;
    const char *v = param(get, ctx, "person");
    for (const char *p = v; p && *p; p++) {
        char *end = (char *)p;
        long long id = *p >= '1' && *p <= '9' && strspn(p, "0123456789") <= 16 ? strtoll(p, &end, 10) : 0;
        if (id <= 0 || id > (1LL << 53) || (*end && *end != ',') || *n >= cap) {
            snprintf(msg, msg_cap, "person must be people's ids (3,17), %d at most", cap);
            return 400;
        }
        ids[(*n)++] = id;
        p = end;
        if (!*p) break;
    }
    return 0;
}
