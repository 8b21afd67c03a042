/* The Google Photos Picker API import (developers.google.com/photos/picker):
 *   OAuth 2.0 for installed apps: the user opens accounts.google.com/o/oauth2/v2/auth with a PKCE challenge and a
 *   loopback redirect to 127.0.0.1:<port>, where we wait for ?code=&state=; the code is exchanged (with the
 *   verifier) at oauth2.googleapis.com/token; tokens are kept in a 0600 file and refreshed.
 *   POST /v1/sessions -> {id, pickerUri, pollingConfig: {pollInterval: "5s", timeoutIn: "1800s"}, mediaItemsSet}
 *   GET  /v1/sessions/{id} until mediaItemsSet
 *   GET  /v1/mediaItems?sessionId=&pageSize=100&pageToken= -> {mediaItems: [{id, createTime, type: PHOTO|VIDEO,
 *        mediaFile: {baseUrl, mimeType, filename, mediaFileMetadata: {width, height, cameraMake, cameraModel}}}],
 *        nextPageToken}
 *   GET  baseUrl + "=d" (photos, EXIF without location) or "=dv" (videos), with the bearer token; a baseUrl lasts
 *        60 minutes, so the list is fetched again when that has passed or a download is refused
 *   DELETE /v1/sessions/{id}
 * Progress is saved in <into>/.photoseek-picker.json (the session in progress and every item id ever imported), so
 * an interrupted import resumes and an item picked again is not imported twice. The endpoints can be pointed elsewhere only for tests ($PHOTOSEEK_TEST_GOOGLE_*). */
#include "ingest.h"

#include "../common/http.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCOPE "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"

typedef struct endpoints {
    const char *auth, *token, *picker;
} endpoints;

static endpoints get_endpoints(void) {
    endpoints e = {"https://accounts.google.com/o/oauth2/v2/auth", "https://oauth2.googleapis.com/token",
                   "https://photospicker.googleapis.com"};
    const char *v;
    if ((v = getenv("PHOTOSEEK_TEST_GOOGLE_AUTH_URL"))) e.auth = v;
    if ((v = getenv("PHOTOSEEK_TEST_GOOGLE_TOKEN_URL"))) e.token = v;
    if ((v = getenv("PHOTOSEEK_TEST_GOOGLE_PICKER_URL"))) e.picker = v;
    return e;
}

/* ---- HTTP ---- */
typedef psk_http_response response;

static int http(const char *method, const char *url, const char *bearer, const char *content_type, const char *body,
                FILE *to_file, response *r, psk_error *err) {
    char auth[2200], ct[128];
    const char *headers[3] = {NULL, NULL, NULL};
    int n = 0;
    if (bearer) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", bearer);
        headers[n++] = auth;
    }
    if (content_type) {
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        headers[n++] = ct;
    }
    return psk_http(method, url, headers, body, to_file, r, err);
}

static cJSON *json_of(response *r) {
    cJSON *j = r->body.data ? cJSON_ParseWithLength(r->body.data, r->body.len) : NULL;
    return j;
}

/* ---- tokens ---- */
typedef struct tokens {
    char access[2048], refresh[1024];
    int64_t expires_at;
} tokens;

static void default_token_file(char *buf, size_t cap) {
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, cap, "%s/photoseek/google-token.json", xdg);
    else snprintf(buf, cap, "%s/.config/photoseek/google-token.json", home ? home : ".");
}

/* Writes the tokens readable by the owner only; an existing file that others can read is refused. */
static int save_tokens(const char *path, const tokens *t, psk_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077))
        return psk_fail(err, PSK_ERR_IO, "%s: readable by other users (mode %03o): refusing to write tokens there; "
                        "chmod 600 it or remove it", path, (unsigned)(st.st_mode & 0777));
    char dir[1100];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        if (*dir && psk_mkdir_p(dir, err)) return PSK_ERR_IO;
    }
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return psk_fail(err, PSK_ERR_IO, "%s: %s", tmp, strerror(errno));
    fchmod(fd, 0600);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "access_token", t->access);
    cJSON_AddStringToObject(j, "refresh_token", t->refresh);
    cJSON_AddNumberToObject(j, "expires_at", (double)t->expires_at);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    bool ok = text && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    free(text);
    if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return psk_fail(err, PSK_ERR_IO, "%s: cannot write the tokens", path);
    }
    return PSK_OK;
}

static bool load_tokens(const char *path, tokens *t) {
    cJSON *j;
    if (psk_json_load(path, 1 << 16, &j, NULL)) return false;
    snprintf(t->access, sizeof t->access, "%s", psk_json_string(j, "access_token", ""));
    snprintf(t->refresh, sizeof t->refresh, "%s", psk_json_string(j, "refresh_token", ""));
    t->expires_at = (int64_t)psk_json_number(j, "expires_at", 0);
    cJSON_Delete(j);
    return t->access[0] || t->refresh[0];
}

static void url_encode(const char *s, char *out, size_t cap) {
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
            out[o++] = (char)*p;
        else o += (size_t)snprintf(out + o, cap - o, "%%%02X", *p);
    }
    out[o] = 0;
}

static int token_request(const endpoints *e, const char *form, tokens *t, psk_error *err) {
    response r;
    int rc = http("POST", e->token, NULL, "application/x-www-form-urlencoded", form, NULL, &r, err);
    if (rc) return rc;
    cJSON *j = json_of(&r);
    if (r.status != 200 || !j || !psk_json_string(j, "access_token", NULL)) {
        rc = psk_fail(err, PSK_ERR_NETWORK, "the token request failed (HTTP %ld): %s", r.status,
                      j ? psk_json_string(j, "error_description", psk_json_string(j, "error", "no details")) : "no JSON");
    } else {
        snprintf(t->access, sizeof t->access, "%s", psk_json_string(j, "access_token", ""));
        const char *refresh = psk_json_string(j, "refresh_token", NULL);
        if (refresh) snprintf(t->refresh, sizeof t->refresh, "%s", refresh);
        t->expires_at = (int64_t)time(NULL) + (int64_t)psk_json_number(j, "expires_in", 3600) - 60;
    }
    cJSON_Delete(j);
    psk_buf_free(&r.body);
    return rc;
}

static void base64url(const unsigned char *d, size_t n, char *out) {
    static const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        out[o++] = tbl[v >> 18 & 63];
        out[o++] = tbl[v >> 12 & 63];
        if (i + 1 < n) out[o++] = tbl[v >> 6 & 63];
        if (i + 2 < n) out[o++] = tbl[v & 63];
    }
    out[o] = 0;
}

static bool random_bytes(unsigned char *b, size_t n) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = read(fd, b, n) == (ssize_t)n;
    close(fd);
    return ok;
}

/* Reads the value of `key` from a query string into out (URL-decoded). */
static bool query_value(const char *q, const char *key, char *out, size_t cap) {
    size_t kl = strlen(key);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
            size_t o = 0;
            for (const char *s = p + kl + 1; *s && *s != '&' && *s != ' ' && o + 1 < cap; s++) {
                if (*s == '%' && s[1] && s[2]) {
                    char hex[3] = {s[1], s[2], 0};
                    out[o++] = (char)strtol(hex, NULL, 16);
                    s += 2;
                } else out[o++] = *s == '+' ? ' ' : *s;
            }
            out[o] = 0;
            return true;
        }
    }
    return false;
}

/* The installed-app flow: a loopback listener receives the authorization code. */
static int authorize(const psk_picker_params *p, const endpoints *e, tokens *t, psk_error *err) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0 ||
        getsockname(s, (struct sockaddr *)&a, &al) != 0) {
        if (s >= 0) close(s);
        return psk_fail(err, PSK_ERR_IO, "cannot listen on 127.0.0.1 for the sign-in: %s", strerror(errno));
    }
    char redirect[64], verifier[64], challenge[64], state[32];
    snprintf(redirect, sizeof redirect, "http://127.0.0.1:%d", ntohs(a.sin_port));
    unsigned char rnd[32], st[12], dg[32];
    unsigned int dl;
    if (!random_bytes(rnd, sizeof rnd) || !random_bytes(st, sizeof st)) {
        close(s);
        return psk_fail(err, PSK_ERR_IO, "no randomness for the sign-in");
    }
    base64url(rnd, sizeof rnd, verifier);
    EVP_Digest(verifier, strlen(verifier), dg, &dl, EVP_sha256(), NULL);
    base64url(dg, 32, challenge);
    base64url(st, sizeof st, state);
    char cid[600], red[200], scope[200], url[2400];
    url_encode(p->client_id, cid, sizeof cid);
    url_encode(redirect, red, sizeof red);
    url_encode(SCOPE, scope, sizeof scope);
    snprintf(url, sizeof url,
             "%s?client_id=%s&redirect_uri=%s&response_type=code&scope=%s&code_challenge=%s"
             "&code_challenge_method=S256&state=%s&access_type=offline&prompt=consent",
             e->auth, cid, red, scope, challenge, state);
    if (p->show_link) p->show_link(p->show_link_user, "Sign in to Google Photos", url);
    int timeout = (p->auth_timeout_s > 0 ? p->auth_timeout_s : 300) * 1000;
    char code[1024] = "", got_state[64] = "", request[4096];
    int rc = PSK_OK;
    while (!code[0] && !rc) {
        struct pollfd pf = {s, POLLIN, 0};
        if (poll(&pf, 1, timeout) <= 0) {
            rc = psk_fail(err, PSK_ERR_INTERRUPTED, "no sign-in within %d s", timeout / 1000);
            break;
        }
        int c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        struct timeval tv = {5, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(c, request, sizeof request - 1, 0);
        request[n > 0 ? n : 0] = 0;
        const char *q = strchr(request, '?');
        char error[128] = "";
        bool is_get = strncmp(request, "GET /", 5) == 0;
        if (is_get && q) {
            query_value(q + 1, "state", got_state, sizeof got_state);
            query_value(q + 1, "error", error, sizeof error);
            if (strcmp(got_state, state) == 0 && !error[0]) query_value(q + 1, "code", code, sizeof code);
        }
        const char *page = code[0] ? "<html><body>photoseek is signed in. You can close this tab.</body></html>"
                                   : "<html><body>photoseek: the sign-in did not work. Try again.</body></html>";
        char resp[512];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(page), page);
        if (send(c, resp, (size_t)len, MSG_NOSIGNAL) < 0) { /* the browser went away: nothing to do */
        }
        close(c);
        if (error[0]) rc = psk_fail(err, PSK_ERR_INVALID_ARG, "the sign-in was refused: %s", error);
    }
    close(s);
    if (rc) return rc;
    char csec[600], cod[2048], form[6000];
    url_encode(p->client_secret ? p->client_secret : "", csec, sizeof csec);
    url_encode(code, cod, sizeof cod);
    snprintf(form, sizeof form,
             "code=%s&client_id=%s&client_secret=%s&redirect_uri=%s&grant_type=authorization_code&code_verifier=%s", cod,
             cid, csec, red, verifier);
    return token_request(e, form, t, err);
}

static int ensure_token(const psk_picker_params *p, const endpoints *e, const char *file, tokens *t, bool force,
                        psk_error *err) {
    if (!force && t->access[0] && t->expires_at > (int64_t)time(NULL)) return PSK_OK;
    int rc = PSK_ERR_NOT_FOUND;
    if (t->refresh[0]) {
        char cid[600], csec[600], ref[2048], form[4000];
        url_encode(p->client_id, cid, sizeof cid);
        url_encode(p->client_secret ? p->client_secret : "", csec, sizeof csec);
        url_encode(t->refresh, ref, sizeof ref);
        snprintf(form, sizeof form, "client_id=%s&client_secret=%s&refresh_token=%s&grant_type=refresh_token", cid, csec,
                 ref);
        rc = token_request(e, form, t, err);
    }
    if (rc) rc = authorize(p, e, t, err);
    if (!rc) rc = save_tokens(file, t, err);
    return rc;
}

/* ---- resume state ---- */
typedef struct picker_state {
    char session[256];
    psk_strmap done; /* item id -> 1 */
    char path[4200];
} picker_state;

static void state_load(picker_state *s) {
    cJSON *j;
    if (psk_json_load(s->path, 64u << 20, &j, NULL)) return;
    snprintf(s->session, sizeof s->session, "%s", psk_json_string(j, "session", ""));
    const cJSON *it;
    cJSON_ArrayForEach(it, psk_json_get(j, "done")) if (cJSON_IsString(it)) psk_strmap_put(&s->done, it->valuestring,
                                                                                            strlen(it->valuestring), 1);
    cJSON_Delete(j);
}

static int state_save(picker_state *s, psk_error *err) {
    cJSON *j = cJSON_CreateObject(), *done = cJSON_CreateArray();
    cJSON_AddStringToObject(j, "session", s->session);
    for (size_t i = 0; i < s->done.cap; i++)
        if (s->done.keys[i]) cJSON_AddItemToArray(done, cJSON_CreateString(s->done.keys[i]));
    cJSON_AddItemToObject(j, "done", done);
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    int rc = text ? psk_write_file(s->path, text, strlen(text), err) : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    free(text);
    return rc;
}

static double duration_s(const char *s, double dflt) {
    if (!s) return dflt;
    char *end;
    double v = strtod(s, &end);
    return end != s && *end == 's' ? v : dflt;
}

static bool parse_rfc3339(const char *s, int64_t *out) {
    int y, mo, d, h, mi, sec;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6) return false;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec};
    int64_t t = (int64_t)timegm(&tm);
    const char *z = s + 19;
    while (*z == '.' || (*z >= '0' && *z <= '9')) z++;
    int off = 0;
    if (*z != 'Z' && *z && meta_parse_offset(z, &off)) t -= (int64_t)off * 60;
    *out = t;
    return true;
}

/* A name that is safe as a file name: no folders, no hidden files, no control characters. */
static void safe_name(const char *in, const char *id, char *out, size_t cap) {
    const char *base = in && *in ? (strrchr(in, '/') ? strrchr(in, '/') + 1 : in) : id;
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)base; *p && o + 1 < cap; p++) out[o++] = *p < 0x20 || *p == '\\' ? '_' : (char)*p;
    out[o] = 0;
    if (out[0] == '.' || !out[0]) snprintf(out, cap, "item_%s", id);
}

static int record_sidecar(psk_library *lib, const char *path, int64_t taken, bool has_taken, const char *make,
                          const char *model, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(library_import_store(lib, NULL),
                           "INSERT OR REPLACE INTO sidecars(path, taken_at, make, model, source) VALUES(?, ?, ?, ?, 'picker')",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (has_taken) sqlite3_bind_int64(st, 2, taken);
    if (make && *make) sqlite3_bind_text(st, 3, make, -1, SQLITE_STATIC);
    if (model && *model) sqlite3_bind_text(st, 4, model, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(library_import_store(lib, NULL), err, "recording a picked item");
    sqlite3_finalize(st);
    return rc;
}

/* Downloads one picked item; returns PSK_ERR_NOT_FOUND when its URL has expired (the caller lists again). */
static int download_item(psk_library *lib, const cJSON *item, const char *into, const char *bearer, picker_state *ps,
                         psk_import_stats *stats, psk_error *err) {
    const char *id = psk_json_string(item, "id", NULL), *type = psk_json_string(item, "type", "PHOTO");
    const char *base_url = psk_json_string(item, "mediaFile.baseUrl", NULL);
    if (!id || !base_url) {
        stats->failed++;
        return PSK_OK;
    }
    int64_t taken = 0;
    bool has_taken = parse_rfc3339(psk_json_string(item, "createTime", NULL), &taken);
    char year[16] = "undated";
    if (has_taken) {
        time_t tt = (time_t)taken;
        struct tm tm;
        gmtime_r(&tt, &tm);
        snprintf(year, sizeof year, "%04d", tm.tm_year + 1900);
    }
    char dir[4300], name[512], path[4900], part[5000], url[4096];
    snprintf(dir, sizeof dir, "%s/%s", into, year);
    int rc = psk_mkdir_p(dir, err);
    if (rc) return rc;
    safe_name(psk_json_string(item, "mediaFile.filename", NULL), id, name, sizeof name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (int k = 2; psk_file_exists(path) && k < 10000; k++) {
        const char *d = strrchr(name, '.');
        snprintf(path, sizeof path, "%s/%.*s (%d)%s", dir, d ? (int)(d - name) : (int)strlen(name), name, k, d ? d : "");
    }
    snprintf(part, sizeof part, "%s.part", path);
    snprintf(url, sizeof url, "%s=%s", base_url, strcmp(type, "VIDEO") == 0 ? "dv" : "d");
    FILE *f = fopen(part, "wb");
    if (!f) return psk_fail(err, PSK_ERR_IO, "%s: %s", part, strerror(errno));
    response r;
    rc = http("GET", url, bearer, NULL, NULL, f, &r, err);
    if (fclose(f) != 0 && !rc) rc = psk_fail(err, PSK_ERR_IO, "%s: write failed", part);
    if (!rc && (r.status == 403 || r.status == 404 || r.status == 410)) {
        unlink(part);
        return PSK_ERR_NOT_FOUND; /* the 60-minute URL ran out */
    }
    if (!rc && r.status != 200) {
        unlink(part);
        return psk_fail(err, PSK_ERR_NETWORK, "downloading %s: HTTP %ld", name, r.status);
    }
    if (rc) {
        unlink(part);
        return rc;
    }
    if (rename(part, path) != 0) return psk_fail(err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
    rc = record_sidecar(lib, path, taken, has_taken, psk_json_string(item, "mediaFile.mediaFileMetadata.cameraMake", NULL),
                        psk_json_string(item, "mediaFile.mediaFileMetadata.cameraModel", NULL), err);
    if (!rc) {
        psk_strmap_put(&ps->done, id, strlen(id), 1);
        rc = state_save(ps, err);
        stats->imported++;
    }
    return rc;
}

psk_status psk_import_google_photos(psk_library *lib, const psk_picker_params *params, psk_import_stats *stats,
                                    psk_error *err) {
    memset(stats, 0, sizeof *stats);
    if (!library_import_store(lib, err)) return PSK_ERR_UNSUPPORTED;
    if (!params->into || !params->client_id || !*params->client_id)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "give a folder to import into and your OAuth client id (and its secret)");
    int rc = psk_mkdir_p(params->into, err);
    if (rc) return rc;
    char into[4096], token_file[1024];
    if (!realpath(params->into, into)) return psk_fail(err, PSK_ERR_IO, "%s: %s", params->into, strerror(errno));
    if (params->token_file) snprintf(token_file, sizeof token_file, "%s", params->token_file);
    else default_token_file(token_file, sizeof token_file);
    endpoints e = get_endpoints();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return psk_fail(err, PSK_ERR_NETWORK, "cannot start libcurl");
    tokens t = {0};
    load_tokens(token_file, &t);
    picker_state ps = {0};
    snprintf(ps.path, sizeof ps.path, "%s/.photoseek-picker.json", into);
    state_load(&ps);
    rc = ensure_token(params, &e, token_file, &t, false, err);
    char url[4600];
    response r;
    cJSON *j = NULL;
    /* A session left by an interrupted import is taken up again; a new one otherwise. */
    for (int pass = 0; !rc && pass < 2; pass++) {
        if (!ps.session[0]) {
            snprintf(url, sizeof url, "%s/v1/sessions", e.picker);
            if ((rc = http("POST", url, t.access, "application/json", "{}", NULL, &r, err))) break;
            j = json_of(&r);
            psk_buf_free(&r.body);
            if (r.status == 401 && pass == 0) {
                cJSON_Delete(j);
                j = NULL;
                rc = ensure_token(params, &e, token_file, &t, true, err);
                continue;
            }
            if (r.status != 200 || !psk_json_string(j, "id", NULL)) {
                rc = psk_fail(err, PSK_ERR_NETWORK, "sessions.create failed (HTTP %ld)", r.status);
                break;
            }
            snprintf(ps.session, sizeof ps.session, "%s", psk_json_string(j, "id", ""));
            if ((rc = state_save(&ps, err))) break;
            if (params->show_link) params->show_link(params->show_link_user, "Pick your photos", psk_json_string(j, "pickerUri", ""));
            break;
        }
        snprintf(url, sizeof url, "%s/v1/sessions/%s", e.picker, ps.session);
        if ((rc = http("GET", url, t.access, NULL, NULL, NULL, &r, err))) break;
        j = json_of(&r);
        psk_buf_free(&r.body);
        if (r.status == 200) break;
        cJSON_Delete(j);
        j = NULL;
        ps.session[0] = 0; /* gone or expired: start a new one */
    }
    /* Poll at the interval the service asks for, until the user has picked. */
    double waited = 0;
    while (!rc && !psk_json_bool(j, "mediaItemsSet", false)) {
        double interval = duration_s(psk_json_string(j, "pollingConfig.pollInterval", NULL), 5);
        double timeout = duration_s(psk_json_string(j, "pollingConfig.timeoutIn", NULL), 1800);
        if (timeout <= 0 || waited > timeout) {
            rc = psk_fail(err, PSK_ERR_INTERRUPTED, "nothing was picked before the session timed out; run again");
            break;
        }
        if (params->index.cancel && *params->index.cancel) {
            rc = psk_fail(err, PSK_ERR_INTERRUPTED, "interrupted; run again to continue with the same session");
            break;
        }
        usleep((useconds_t)(interval * 1e6));
        waited += interval;
        cJSON_Delete(j);
        j = NULL;
        snprintf(url, sizeof url, "%s/v1/sessions/%s", e.picker, ps.session);
        if ((rc = http("GET", url, t.access, NULL, NULL, NULL, &r, err))) break;
        if (r.status == 401) {
            psk_buf_free(&r.body);
            rc = ensure_token(params, &e, token_file, &t, true, err);
            j = cJSON_CreateObject();
            continue;
        }
        j = json_of(&r);
        psk_buf_free(&r.body);
        if (r.status != 200) rc = psk_fail(err, PSK_ERR_NETWORK, "sessions.get failed (HTTP %ld)", r.status);
    }
    cJSON_Delete(j);
    /* List page by page and download; list again from the start when URLs expire (done items are skipped). */
    for (int listing = 0; !rc && listing < 5; listing++) {
        bool expired = false;
        time_t listed_at = time(NULL);
        char token[1024] = "";
        do {
            char tok[1200] = "";
            if (token[0]) {
                char enc[1100];
                url_encode(token, enc, sizeof enc);
                snprintf(tok, sizeof tok, "&pageToken=%s", enc);
            }
            snprintf(url, sizeof url, "%s/v1/mediaItems?sessionId=%s&pageSize=100%s", e.picker, ps.session, tok);
            if ((rc = http("GET", url, t.access, NULL, NULL, NULL, &r, err))) break;
            cJSON *page = json_of(&r);
            psk_buf_free(&r.body);
            if (r.status != 200 || !page) {
                rc = psk_fail(err, PSK_ERR_NETWORK, "mediaItems.list failed (HTTP %ld)", r.status);
                cJSON_Delete(page);
                break;
            }
            const cJSON *it;
            cJSON_ArrayForEach(it, psk_json_get(page, "mediaItems")) {
                const char *id = psk_json_string(it, "id", "");
                int32_t one;
                if (psk_strmap_get(&ps.done, id, strlen(id), &one)) {
                    if (listing == 0) stats->already_present++;
                    continue;
                }
                if (listing == 0) stats->found++;
                if (time(NULL) - listed_at > 55 * 60) { /* the URLs are about to run out */
                    expired = true;
                    break;
                }
                rc = download_item(lib, it, into, t.access, &ps, stats, err);
                if (rc == PSK_ERR_NOT_FOUND) {
                    rc = PSK_OK;
                    expired = true;
                    break;
                }
                if (rc) break;
                if (params->index.cancel && *params->index.cancel) {
                    rc = psk_fail(err, PSK_ERR_INTERRUPTED, "interrupted; run again to continue");
                    break;
                }
            }
            const char *next = psk_json_string(page, "nextPageToken", "");
            snprintf(token, sizeof token, "%s", next);
            cJSON_Delete(page);
        } while (!rc && !expired && token[0]);
        if (!expired) break;
    }
    if (!rc) {
        /* done: the session goes; the item ids stay, since they are permanent in Google Photos and a later pick
         * of the same items must not import them twice */
        snprintf(url, sizeof url, "%s/v1/sessions/%s", e.picker, ps.session);
        if (!http("DELETE", url, t.access, NULL, NULL, NULL, &r, NULL)) psk_buf_free(&r.body);
        ps.session[0] = 0;
        rc = state_save(&ps, err);
    }
    psk_strmap_free(&ps.done);
    curl_global_cleanup();
    if (rc) return rc;
    psk_index_params ip = params->index;
    const char *roots[1] = {into};
    ip.roots = roots;
    ip.n_roots = 1;
    return psk_library_index(lib, &ip, &stats->index, err);
}
