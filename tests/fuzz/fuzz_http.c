/* libFuzzer target: what the server decides about a request (src/server/request.c) on arbitrary bytes.
 * Input: a request as text, "METHOD URL[?QUERY]\n" then "Name: value\n" header lines; the first byte also picks
 * the server's configuration (bind kind, --token, --allow-host, --cors). Besides memory errors, it aborts when a
 * promise is broken: a foreign Host served, a token-guarded route served without the token, a state-changing
 * request served without a JSON type, a Range outside the file, a media id out of range. */
#include "../../src/server/request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS 16

typedef struct query {
    char *names[MAX_FIELDS], *values[MAX_FIELDS];
    int n;
} query;

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decoding in place, as libmicrohttpd does for arguments. */
static void unescape(char *s) {
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') *o++ = ' ';
        else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else *o++ = *s;
    }
    *o = 0;
}

static const char *get_param(void *ctx, const char *name) {
    const query *q = ctx;
    for (int i = 0; i < q->n; i++)
        if (strcmp(q->names[i], name) == 0) return q->values[i];
    return NULL;
}

static void check(int cond, const char *what) {
    if (!cond) {
        fprintf(stderr, "fuzz_http: broken promise: %s\n", what);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 8192) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0; /* the HTTP parser hands us NUL-terminated strings; an embedded NUL ends a field */
    unsigned mode = data[0];

    static const char *const hosts[] = {"photos.lan"};
    gate_config cfg = {
        .bind = (gate_bind)(mode % 3),
        .bind_addr = mode % 3 == GATE_BIND_LOOPBACK ? "127.0.0.1" : mode % 3 == GATE_BIND_ANY ? "0.0.0.0" : "192.168.1.5",
        .port = 8080,
        .allow_hosts = (mode & 4) ? hosts : NULL,
        .n_allow_hosts = (mode & 4) ? 1 : 0,
        .token = (mode & 8) ? "s3cret-token" : NULL,
        .csrf = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        .cors_origin = (mode & 16) ? "https://photos.example.org" : NULL,
    };

    /* request line, then headers */
    gate_request rq = {0};
    char *save = NULL, *line = strtok_r(text, "\n", &save);
    char *query_string = NULL;
    if (line) {
        char *sp = strchr(line, ' ');
        rq.method = line;
        if (sp) {
            *sp = 0;
            rq.url = sp + 1;
            char *qm = strchr(sp + 1, '?');
            if (qm) *qm = 0, query_string = qm + 1;
        }
    }
    const char *range = NULL;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        *colon = 0;
        char *v = colon + 1;
        while (*v == ' ') v++;
        if (!strcasecmp(line, "Host")) rq.host = v;
        else if (!strcasecmp(line, "Origin")) rq.origin = v;
        else if (!strcasecmp(line, "Sec-Fetch-Site")) rq.fetch_site = v;
        else if (!strcasecmp(line, "Content-Type")) rq.content_type = v;
        else if (!strcasecmp(line, "Authorization")) rq.authorization = v;
        else if (!strcasecmp(line, "Cookie")) rq.cookie_token = strncmp(v, "psk_token=", 10) == 0 ? v + 10 : NULL;
        else if (!strcasecmp(line, "X-Photoseek-CSRF")) rq.csrf_header = v;
        else if (!strcasecmp(line, "Range")) range = v;
    }
    query q = {0};
    for (char *qs = query_string, *s2 = NULL, *kv; qs && q.n < MAX_FIELDS && (kv = strtok_r(qs, "&", &s2)); qs = NULL) {
        char *eq = strchr(kv, '=');
        if (eq) *eq = 0;
        unescape(kv);
        if (eq) unescape(eq + 1);
        q.names[q.n] = kv;
        q.values[q.n++] = eq ? eq + 1 : "";
    }
    rq.query_token = get_param(&q, "token");

    gate_verdict v = gate_check(&cfg, &rq);
    check(v.action <= GATE_PREFLIGHT, "a verdict");
    bool host_ok = gate_host_allowed(&cfg, rq.host);
    if (!host_ok) check(v.action == GATE_REFUSE && v.status == 403, "a foreign Host is refused with 403");
    if (v.action == GATE_REFUSE) check(v.reason && v.status >= 400 && v.status < 500 && !strstr(v.reason, "s3cret"), "a refusal with a reason");
    bool read = rq.method && (!strcmp(rq.method, "GET") || !strcmp(rq.method, "HEAD"));
    bool page = read && rq.url && gate_is_page(rq.url);
    if (v.action == GATE_SERVE && cfg.token && !page) {
        bool bearer = rq.authorization && !strncmp(rq.authorization, "Bearer ", 7) && !strcmp(rq.authorization + 7, cfg.token);
        bool cookie = rq.cookie_token && !strcmp(rq.cookie_token, cfg.token);
        check(bearer || cookie, "a guarded route is served only with the token");
    }
    if (v.action == GATE_SET_TOKEN_COOKIE) check(cfg.token && rq.query_token && !strcmp(rq.query_token, cfg.token), "the cookie only for the right token");
    if (v.action == GATE_SERVE && !read && rq.method && strcmp(rq.method, "OPTIONS") != 0)
        check(rq.content_type && !strncasecmp(rq.content_type, "application/json", 16), "state changes only with JSON");
    if (rq.origin) (void)gate_origin_allowed(&cfg, rq.origin);

    int64_t id;
    const char *rest;
    if (rq.url && route_media_path(rq.url, &id, &rest))
        check(id >= 1 && id <= (1LL << 53) && (*rest == 0 || *rest == '/'), "a media id in range");
    if (range) {
        int64_t sizes[] = {0, 1, 100, (int64_t)size, INT64_MAX / 2};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            int64_t start = -7, end = -7;
            int pr = parse_range(range, sizes[i], &start, &end);
            check(pr >= -1 && pr <= 1, "a range verdict");
            if (pr == 0) check(0 <= start && start <= end && end < sizes[i], "a range inside the file");
        }
    }
    psk_search_params p = psk_search_default_params();
    char msg[600];
    unsigned bad = parse_search_params(get_param, &q, mode & 32, &p, &id, msg, sizeof msg);
    if (bad) check(bad == 400 && msg[0], "a bad parameter is a 400 with a reason");
    else check(p.k >= 1 && p.k <= MAX_K && (!(mode & 32) || id > 0), "accepted parameters in range");
    psk_place_match places[MAX_PLACE_FILTERS];
    int n_places = -1;
    bad = parse_place_params(get_param, &q, places, MAX_PLACE_FILTERS, &n_places, msg, sizeof msg);
    if (bad) check(bad == 400 && msg[0], "a bad place is a 400 with a reason");
    else check(n_places >= 0 && n_places <= MAX_PLACE_FILTERS, "a place filter within its array");
    for (int i = 0; !bad && i < n_places; i++)
        check(strlen(places[i].country_code) == 2 && (places[i].kind == PSK_PLACE_COUNTRY || places[i].city[0]),
              "a place names its country (and its city)");
    int64_t people[MAX_PERSON_FILTERS];
    int n_people = -1;
    bad = parse_person_params(get_param, &q, people, MAX_PERSON_FILTERS, &n_people, msg, sizeof msg);
    if (bad) check(bad == 400 && msg[0], "a bad person filter is a 400 with a reason");
    else check(n_people >= 0 && n_people <= MAX_PERSON_FILTERS, "a person filter within its array");
    for (int i = 0; !bad && i < n_people; i++) check(people[i] >= 1 && people[i] <= (1LL << 53), "a person id in range");
    free(text);
    return 0;
}
