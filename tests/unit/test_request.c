/* The server's request decisions (src/server/request.c): Host names per bind, Origins, the token, routes, Range. */
#include "test.h"

#include "../../src/server/request.h"

static const char *const proxy_names[] = {"photos.lan"};

TEST(host_names_the_server_answers_to) {
    gate_config lo = {.bind = GATE_BIND_LOOPBACK, .bind_addr = "127.0.0.1", .port = 8080};
    gate_config any = {.bind = GATE_BIND_ANY, .bind_addr = "0.0.0.0", .port = 8080};
    gate_config one = {.bind = GATE_BIND_ADDRESS, .bind_addr = "192.168.1.5", .port = 8080,
                       .allow_hosts = proxy_names, .n_allow_hosts = 1};
    const struct {
        const gate_config *cfg;
        const char *host;
        bool ok;
    } cases[] = {
        {&lo, "127.0.0.1:8080", true},     {&lo, "localhost:8080", true},      {&lo, "LocalHost:8080", true},
        {&lo, "[::1]:8080", true},         {&lo, "127.0.0.1", false},          {&lo, "127.0.0.1:80", false},
        {&lo, "attacker.test:8080", false}, {&lo, "localhost.:8080", false},   {&lo, "127.0.0.1:08080x", false},
        {&lo, "", false},                  {&lo, ":8080", false},              {&lo, "[::1]x:8080", false},
        {&lo, "a@127.0.0.1:8080", false},  {&lo, "10.0.0.2:8080", false},      {&lo, "127.0.0.1:99999", false},
        {&any, "10.0.0.2:8080", true},     {&any, "[fe80::1]:8080", true},     {&any, "localhost:8080", true},
        {&any, "nas:8080", false},         {&any, "10.0.0.2:9090", false},     {&one, "192.168.1.5:8080", true},
        {&one, "127.0.0.1:8080", false},   {&one, "photos.lan", true},         {&one, "PHOTOS.lan:443", true},
        {&one, "photos.lan.evil:8080", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECKF(gate_host_allowed(cases[i].cfg, cases[i].host) == cases[i].ok, "Host '%s': want %s", cases[i].host,
               cases[i].ok ? "allowed" : "refused");
    CHECK(!gate_host_allowed(&lo, NULL));
}

TEST(origins_tokens_and_state_changes) {
    gate_config cfg = {.bind = GATE_BIND_LOOPBACK, .bind_addr = "127.0.0.1", .port = 8080, .csrf = "abc123",
                       .cors_origin = "https://photos.example.org"};
    CHECK(gate_origin_allowed(&cfg, "http://127.0.0.1:8080"));
    CHECK(gate_origin_allowed(&cfg, "http://localhost:8080"));
    CHECK(gate_origin_allowed(&cfg, "https://photos.example.org"));
    CHECK(!gate_origin_allowed(&cfg, "http://127.0.0.1")); /* port 80: another origin */
    CHECK(!gate_origin_allowed(&cfg, "null"));
    CHECK(!gate_origin_allowed(&cfg, "http://evil.example"));
    CHECK(gate_secret_equal("s3cret-token", "s3cret-token"));
    CHECK(!gate_secret_equal("s3cret-toke", "s3cret-token"));
    CHECK(!gate_secret_equal("s3cret-tokenX", "s3cret-token"));
    CHECK(!gate_secret_equal(NULL, "s3cret-token"));
    CHECK(!gate_secret_equal("", ""));
    gate_request post = {.method = "POST", .url = "/api/index", .host = "127.0.0.1:8080",
                         .content_type = "application/json"};
    CHECK(gate_check(&cfg, &post).action == GATE_SERVE); /* curl: no Origin, no Sec-Fetch-Site */
    post.origin = "http://127.0.0.1:8080";
    gate_verdict v = gate_check(&cfg, &post);
    CHECKF(v.action == GATE_REFUSE && v.status == 403, "a browser POST without the request token: %u", v.status);
    post.csrf_header = "abc123";
    CHECK(gate_check(&cfg, &post).action == GATE_SERVE);
    post.content_type = "text/plain";
    v = gate_check(&cfg, &post);
    CHECK(v.action == GATE_REFUSE && v.status == 415);
    gate_request page = {.method = "GET", .url = "/", .host = "localhost:8080", .fetch_site = "cross-site"};
    CHECK(gate_check(&cfg, &page).action == GATE_SERVE); /* a link from elsewhere opens the page */
    page.url = "/api/media/1/file";
    v = gate_check(&cfg, &page);
    CHECK(v.action == GATE_REFUSE && v.status == 403);
    cfg.token = "s3cret-token";
    gate_request api = {.method = "GET", .url = "/api/status", .host = "127.0.0.1:8080"};
    CHECK(gate_check(&cfg, &api).status == 401);
    api.query_token = "s3cret-token";
    CHECK(gate_check(&cfg, &api).status == 401); /* never in an API URL */
    api.authorization = "Bearer s3cret-token";
    CHECK(gate_check(&cfg, &api).action == GATE_SERVE);
    gate_request open = {.method = "GET", .url = "/", .host = "127.0.0.1:8080", .query_token = "s3cret-token"};
    CHECK(gate_check(&cfg, &open).action == GATE_SET_TOKEN_COOKIE);
    open.query_token = "wrong";
    CHECK(gate_check(&cfg, &open).status == 401);
}

TEST(media_routes_and_ranges) {
    int64_t id, s, e;
    const char *rest;
    CHECK(route_media_path("/api/media/42/file", &id, &rest) && id == 42 && strcmp(rest, "/file") == 0);
    CHECK(route_media_path("/api/media/9007199254740992", &id, &rest) && *rest == 0);
    CHECK(!route_media_path("/api/media/9007199254740993", &id, &rest));
    CHECK(!route_media_path("/api/media/99999999999999999999999", &id, &rest));
    CHECK(!route_media_path("/api/media/0", &id, &rest));
    CHECK(!route_media_path("/api/media/-1", &id, &rest));
    CHECK(!route_media_path("/api/media/1x", &id, &rest));
    CHECK(parse_range("bytes=100-199", 1000, &s, &e) == 0 && s == 100 && e == 199);
    CHECK(parse_range("bytes=100-", 1000, &s, &e) == 0 && s == 100 && e == 999);
    CHECK(parse_range("bytes=-10", 1000, &s, &e) == 0 && s == 990 && e == 999);
    CHECK(parse_range("bytes=-5000", 1000, &s, &e) == 0 && s == 0 && e == 999);
    CHECK(parse_range("bytes=900-5000", 1000, &s, &e) == 0 && e == 999);
    CHECK(parse_range("bytes=1000-", 1000, &s, &e) == 1);
    CHECK(parse_range("bytes=-10", 0, &s, &e) == 1); /* an empty file has no suffix to send */
    CHECK(parse_range("bytes=0-", 0, &s, &e) == 1);
    CHECK(parse_range("bytes=5-1", 1000, &s, &e) == -1);
    CHECK(parse_range("bytes=1-2,4-5", 1000, &s, &e) == -1);
    CHECK(parse_range("bytes=-", 1000, &s, &e) == -1);
    CHECK(parse_range("bytes=--5", 1000, &s, &e) == -1);
    CHECK(parse_range("bytes= 1-2", 1000, &s, &e) == -1);
    CHECK(parse_range("items=1-2", 1000, &s, &e) == -1);
}

static const char *person_param(void *ctx, const char *name) { return strcmp(name, "person") == 0 ? ctx : NULL; }

TEST(person_filter_params) {
    int64_t ids[MAX_PERSON_FILTERS];
    int n = -1;
    char msg[200];
    CHECK(parse_person_params(person_param, (void *)"3,17", ids, MAX_PERSON_FILTERS, &n, msg, sizeof msg) == 0 &&
          n == 2 && ids[0] == 3 && ids[1] == 17);
    CHECK(parse_person_params(person_param, (void *)"9007199254740992", ids, 16, &n, msg, sizeof msg) == 0 && n == 1);
    CHECK(parse_person_params(person_param, (void *)"", ids, 16, &n, msg, sizeof msg) == 0 && n == 0);
    const char *bad[] = {"0", "-1", "1x", "x", "1,,2", ",1", "1 2", "9007199254740993", "99999999999999999999", "1,2,3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = 0;
        CHECKF(parse_person_params(person_param, (void *)bad[i], ids, 2, &n, msg, sizeof msg) == 400 && strstr(msg, "person"),
               "person=%s", bad[i]);
    }
    /* a search by people needs no words */
    psk_search_params p = psk_search_default_params();
    int64_t id;
    CHECK(parse_search_params(person_param, (void *)"4", false, &p, &id, msg, sizeof msg) == 0 && !p.query);
    CHECK(parse_search_params(person_param, NULL, false, &p, &id, msg, sizeof msg) == 400 && strstr(msg, "q"));
}
