/* The Pinecone store over its data-plane REST API (pinecone.h). Requests follow Pinecone's API reference for
 * version 2025-04: POST /vectors/upsert, POST /query, POST /vectors/delete, GET /vectors/list, GET /vectors/fetch,
 * GET /describe_index_stats, with the Api-Key and X-Pinecone-API-Version headers. */
#include "pinecone.h"

#include "../common/http.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PC_API_VERSION "2025-04"
#define PC_UPSERT_MAX 100 /* vectors per upsert request */
#define PC_DELETE_MAX 1000

bool pc_is_url(const char *s) { return s && strncmp(s, "pinecone://", 11) == 0; }

/* A request with the key and version headers; a JSON answer in *out (NULL for an empty body). Non-2xx answers are
 * errors carrying Pinecone's message. */
static int call(pc_store *s, const char *method, const char *path, const char *body, cJSON **out, psk_error *err) {
    char url[2200], key[300];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    snprintf(key, sizeof key, "Api-Key: %s", s->key);
    const char *headers[] = {key, "X-Pinecone-API-Version: " PC_API_VERSION, "Accept: application/json",
                             body ? "Content-Type: application/json" : NULL, NULL};
    psk_http_response r;
    int rc = psk_http(method, url, headers, body, NULL, &r, err);
    if (rc) return rc;
    cJSON *j = r.body.data && r.body.len ? cJSON_ParseWithLength(r.body.data, r.body.len) : NULL;
    if (r.status < 200 || r.status >= 300) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (!cJSON_IsString(m) && cJSON_IsObject(e)) m = cJSON_GetObjectItemCaseSensitive(e, "message");
        if (r.status == 401)
            rc = psk_fail(err, PSK_ERR_INVALID_ARG, "%s: the API key was refused (HTTP 401): check PINECONE_API_KEY",
                          s->shown);
        else
            rc = psk_fail(err, PSK_ERR_DB, "%s: %s %s: HTTP %ld%s%s%s", s->shown, method, path, r.status,
                          cJSON_IsString(m) ? " (" : "", cJSON_IsString(m) ? m->valuestring : "",
                          cJSON_IsString(m) ? ")" : "");
        cJSON_Delete(j);
        psk_buf_free(&r.body);
        return rc;
    }
    psk_buf_free(&r.body);
    if (out) *out = j;
    else cJSON_Delete(j);
    return PSK_OK;
}

int pc_store_open(const char *url, pc_store **out, psk_error *err) {
    *out = NULL;
    const char *host = url + 11, *slash = strchr(host, '/');
    size_t host_len = slash ? (size_t)(slash - host) : strlen(host);
    if (host_len == 0 || host_len > 900)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: give the index host: pinecone://INDEX_HOST[/namespace]", url);
    const char *key = getenv("PINECONE_API_KEY");
    if (!key || !*key)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: set PINECONE_API_KEY to your Pinecone API key", url);
    pc_store *s = psk_calloc(1, sizeof *s);
    if (!s) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    const char *test = getenv("PHOTOSEEK_TEST_PINECONE_URL");
    if (test && *test) snprintf(s->base, sizeof s->base, "%s", test);
    else snprintf(s->base, sizeof s->base, "https://%.*s", (int)host_len, host);
    snprintf(s->ns, sizeof s->ns, "%s", slash ? slash + 1 : "");
    snprintf(s->key, sizeof s->key, "%s", key);
    snprintf(s->shown, sizeof s->shown, "pinecone://%.*s%s%s", (int)host_len, host, *s->ns ? "/" : "", s->ns);
    cJSON *j = NULL;
    int rc = call(s, "GET", "/describe_index_stats", NULL, &j, err);
    if (!rc) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "dimension");
        s->dim = cJSON_IsNumber(d) ? d->valueint : 0;
        const cJSON *ns = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "namespaces"), s->ns);
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(ns, "vectorCount");
        s->vectors = cJSON_IsNumber(c) ? (int64_t)c->valuedouble : 0;
        if (s->dim <= 0) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: describe_index_stats gave no dimension", s->shown);
    }
    cJSON_Delete(j);
    if (rc) {
        psk_free(s);
        return rc;
    }
    *out = s;
    return PSK_OK;
}

void pc_store_close(pc_store *s) { psk_free(s); }

/* "<32 hex digits of sha256(path)>#" */
static void id_prefix(const char *path, char out[34]) {
    char hex[65];
    psk_sha256(path, strlen(path), hex);
    memcpy(out, hex, 32);
    out[32] = '#';
    out[33] = 0;
}

static void vector_id(const char *path, int64_t frame_ms, char out[64]) {
    char p[34];
    id_prefix(path, p);
    if (frame_ms < 0) snprintf(out, 64, "%sp", p);
    else snprintf(out, 64, "%s%lld", p, (long long)frame_ms);
}

/* A query-string value, percent-encoded (psk_free it). */
static char *url_escape(const char *v) {
    CURL *c = curl_easy_init();
    char *e = c ? curl_easy_escape(c, v, 0) : NULL;
    char *copy = e ? psk_strdup(e) : NULL;
    curl_free(e);
    if (c) curl_easy_cleanup(c);
    return copy;
}

/* The namespace of the model record (ns is 255 characters at most, so it fits). */
static void model_record(pc_store *s, char ns[300]) { snprintf(ns, 300, "%s.photoseek-model", s->ns); }

int pc_model_set(pc_store *s, const char *name, int dim, const char *dir, psk_error *err) {
    if (dim != s->dim)
        return psk_fail(err, PSK_ERR_MODEL_MISMATCH, "%s: the index has dimension %d, the model %s makes %d", s->shown,
                        s->dim, name, dim);
    char ns[300];
    model_record(s, ns);
    cJSON *req = cJSON_CreateObject(), *vecs = cJSON_AddArrayToObject(req, "vectors"), *v = cJSON_CreateObject();
    cJSON_AddItemToArray(vecs, v);
    cJSON_AddStringToObject(v, "id", "model");
    /* a record, not a vector to find: any non-zero values do (cosine indexes refuse all-zero ones) */
    float *ones = psk_malloc(sizeof(float) * (size_t)dim);
    if (!ones) {
        cJSON_Delete(req);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    for (int d = 0; d < dim; d++) ones[d] = 1.0f;
    cJSON_AddItemToObject(v, "values", cJSON_CreateFloatArray(ones, dim));
    psk_free(ones);
    cJSON *m = cJSON_AddObjectToObject(v, "metadata");
    cJSON_AddStringToObject(m, "model", name);
    cJSON_AddNumberToObject(m, "dim", dim);
    cJSON_AddStringToObject(m, "dir", dir);
    cJSON_AddStringToObject(req, "namespace", ns);
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    int rc = body ? call(s, "POST", "/vectors/upsert", body, NULL, err) : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    free(body);
    return rc;
}

int pc_model_get(pc_store *s, char *name, size_t name_cap, int *dim, char *dir, size_t dir_cap, psk_error *err) {
    char ns[300], path[700];
    model_record(s, ns);
    char *e = url_escape(ns);
    if (!e) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(path, sizeof path, "/vectors/fetch?ids=model&namespace=%s", e);
    psk_free(e);
    cJSON *j = NULL;
    int rc = call(s, "GET", path, NULL, &j, err);
    if (rc) return rc;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "vectors"), "model");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(v, "metadata");
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(m, "model"), *jd = cJSON_GetObjectItemCaseSensitive(m, "dim"),
                *jdir = cJSON_GetObjectItemCaseSensitive(m, "dir");
    if (!cJSON_IsString(jn) || !cJSON_IsNumber(jd)) {
        rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: the library is empty (index photos into it, or copy a SQLite "
                                              "library into it with photoseek migrate)", s->shown);
    } else {
        snprintf(name, name_cap, "%s", jn->valuestring);
        *dim = jd->valueint;
        snprintf(dir, dir_cap, "%s", cJSON_IsString(jdir) ? jdir->valuestring : "");
    }
    cJSON_Delete(j);
    return rc;
}

/* Every id that starts with prefix (GET /vectors/list, following pagination). */
static int list_prefix(pc_store *s, const char *prefix, char ***ids, int *n, psk_error *err) {
    *ids = NULL;
    *n = 0;
    int cap = 0, rc = PSK_OK;
    char token[512] = "";
    /* escaped: the '#' in ids would otherwise start the URL's fragment */
    char *e_ns = url_escape(s->ns), *e_prefix = url_escape(prefix);
    if (!e_ns || !e_prefix) {
        psk_free(e_ns);
        psk_free(e_prefix);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    do {
        char path[1400];
        snprintf(path, sizeof path, "/vectors/list?prefix=%s&limit=100&namespace=%s%s%s", e_prefix, e_ns,
                 *token ? "&paginationToken=" : "", token);
        cJSON *j = NULL;
        if ((rc = call(s, "GET", path, NULL, &j, err))) break;
        const cJSON *v;
        cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(j, "vectors")) {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(v, "id");
            if (!cJSON_IsString(id)) continue;
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                char **x = psk_realloc(*ids, sizeof(char *) * (size_t)cap);
                if (!x) {
                    rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                    break;
                }
                *ids = x;
            }
            if (!((*ids)[*n] = psk_strdup(id->valuestring))) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            (*n)++;
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "pagination"), "next");
        token[0] = 0;
        if (!rc && cJSON_IsString(next)) {
            char *t = url_escape(next->valuestring);
            snprintf(token, sizeof token, "%s", t ? t : "");
            psk_free(t);
        }
        cJSON_Delete(j);
    } while (!rc && *token);
    psk_free(e_ns);
    psk_free(e_prefix);
    return rc;
}

static void free_ids(char **ids, int n) {
    for (int i = 0; i < n; i++) psk_free(ids[i]);
    psk_free(ids);
}

static int delete_ids(pc_store *s, char **ids, int n, psk_error *err) {
    int rc = PSK_OK;
    for (int at = 0; !rc && at < n; at += PC_DELETE_MAX) {
        int m = n - at < PC_DELETE_MAX ? n - at : PC_DELETE_MAX;
        cJSON *req = cJSON_CreateObject();
        cJSON_AddItemToObject(req, "ids", cJSON_CreateStringArray((const char *const *)ids + at, m));
        cJSON_AddStringToObject(req, "namespace", s->ns);
        char *body = cJSON_PrintUnformatted(req);
        cJSON_Delete(req);
        rc = body ? call(s, "POST", "/vectors/delete", body, NULL, err) : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        free(body);
    }
    return rc;
}

int pc_delete_paths(pc_store *s, const char *const *paths, int n, psk_error *err) {
    int rc = PSK_OK;
    for (int i = 0; !rc && i < n; i++) {
        char prefix[34], **ids;
        int n_ids;
        id_prefix(paths[i], prefix);
        if (!(rc = list_prefix(s, prefix, &ids, &n_ids, err))) rc = delete_ids(s, ids, n_ids, err);
        free_ids(ids, n_ids);
    }
    return rc;
}

static void add_metadata(cJSON *v, const store_media *m, const store_extra *x) {
    cJSON *md = cJSON_AddObjectToObject(v, "metadata");
    cJSON_AddStringToObject(md, "path", m->path);
    if (m->year) {
        cJSON_AddNumberToObject(md, "year", m->year);
        cJSON_AddNumberToObject(md, "month", m->month);
        cJSON_AddNumberToObject(md, "day", m->day);
    }
    cJSON_AddStringToObject(md, "type", m->type == 2 ? "video" : "photo");
    cJSON_AddNumberToObject(md, "taken_at", (double)m->taken_at);
    char camera[160];
    store_camera_name(m->make, m->model, camera, sizeof camera);
    if (*camera) cJSON_AddStringToObject(md, "camera", camera);
    if (!m->has_gps || !psk_gps_valid(m->lat, m->lon)) return;
    cJSON_AddNumberToObject(md, "lat", m->lat);
    cJSON_AddNumberToObject(md, "lon", m->lon);
    if (!x || !x->has_place || !x->country_code[0]) return;
    const char *keys[4] = {"place_city", "place_region", "place_country", "place_cc"};
    const char *vals[4] = {x->city, x->region, x->country, x->country_code};
    for (int i = 0; i < 4; i++)
        if (vals[i][0]) cJSON_AddStringToObject(md, keys[i], vals[i]);
}

static int send_upsert(pc_store *s, cJSON *req, psk_error *err) {
    char *body = cJSON_PrintUnformatted(req);
    int rc = body ? call(s, "POST", "/vectors/upsert", body, NULL, err) : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    free(body);
    return rc;
}

int pc_put_items(pc_store *s, int dim, const store_item *items, int n, psk_error *err) {
    int rc = PSK_OK;
    /* videos first lose the frames they no longer have */
    for (int i = 0; !rc && i < n; i++) {
        if (items[i].media->type != 2) continue;
        char prefix[34], **ids;
        int n_ids, stale = 0;
        id_prefix(items[i].media->path, prefix);
        if ((rc = list_prefix(s, prefix, &ids, &n_ids, err))) break;
        for (int k = 0; k < n_ids; k++) {
            bool keep = false;
            for (int f = 0; f < items[i].n_vecs && !keep; f++) {
                char id[64];
                vector_id(items[i].media->path, items[i].frame_ms[f], id);
                keep = strcmp(id, ids[k]) == 0;
            }
            if (!keep) {
                char *t = ids[stale];
                ids[stale++] = ids[k];
                ids[k] = t;
            }
        }
        rc = delete_ids(s, ids, stale, err);
        free_ids(ids, n_ids);
    }
    cJSON *req = NULL, *vecs = NULL;
    int in_req = 0;
    for (int i = 0; !rc && i < n; i++) {
        for (int f = 0; !rc && f < items[i].n_vecs; f++) {
            if (!req) {
                req = cJSON_CreateObject();
                vecs = cJSON_AddArrayToObject(req, "vectors");
                cJSON_AddStringToObject(req, "namespace", s->ns);
                in_req = 0;
            }
            cJSON *v = cJSON_CreateObject();
            cJSON_AddItemToArray(vecs, v);
            char id[64];
            vector_id(items[i].media->path, items[i].frame_ms[f], id);
            cJSON_AddStringToObject(v, "id", id);
            cJSON_AddItemToObject(v, "values", cJSON_CreateFloatArray(items[i].vecs + (size_t)f * (size_t)dim, dim));
            add_metadata(v, items[i].media, items[i].extra);
            if (++in_req == PC_UPSERT_MAX) {
                rc = send_upsert(s, req, err);
                cJSON_Delete(req);
                req = NULL;
            }
        }
    }
    if (!rc && req) rc = send_upsert(s, req, err);
    cJSON_Delete(req);
    return rc;
}

int pc_query(pc_store *s, const float *q, int dim, int top_k, const char *filter_json, psk_result **results, int *n,
             psk_error *err) {
    *results = NULL;
    *n = 0;
    cJSON *req = cJSON_CreateObject();
    cJSON_AddItemToObject(req, "vector", cJSON_CreateFloatArray(q, dim));
    cJSON_AddNumberToObject(req, "topK", top_k);
    cJSON_AddBoolToObject(req, "includeMetadata", 1);
    cJSON_AddBoolToObject(req, "includeValues", 0);
    cJSON_AddStringToObject(req, "namespace", s->ns);
    if (filter_json) {
        cJSON *f = cJSON_Parse(filter_json);
        if (f) cJSON_AddItemToObject(req, "filter", f);
    }
    char *body = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    cJSON *j = NULL;
    int rc = body ? call(s, "POST", "/query", body, &j, err) : psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    free(body);
    if (rc) return rc;
    const cJSON *matches = cJSON_GetObjectItemCaseSensitive(j, "matches");
    int count = cJSON_GetArraySize(matches);
    psk_result *res = count ? psk_calloc((size_t)count, sizeof *res) : NULL;
    if (count && !res) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int kept = 0;
    const cJSON *mt;
    cJSON_ArrayForEach(mt, matches) {
        if (rc) break;
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(mt, "id"), *score = cJSON_GetObjectItemCaseSensitive(mt, "score");
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(mt, "metadata");
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(md, "path");
        if (!cJSON_IsString(id) || !cJSON_IsNumber(score) || !cJSON_IsString(path)) continue;
        psk_result *r = &res[kept++];
        snprintf(r->path, sizeof r->path, "%s", path->valuestring);
        r->score = (float)score->valuedouble;
        const char *hash = strchr(id->valuestring, '#');
        r->frame_ms = hash && hash[1] != 'p' ? atoll(hash + 1) : -1;
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(md, "type");
        r->type = cJSON_IsString(type) && strcmp(type->valuestring, "video") == 0 ? PSK_TYPE_VIDEO : PSK_TYPE_PHOTO;
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(md, "taken_at");
        if (cJSON_IsNumber(t)) {
            r->taken_at = (int64_t)t->valuedouble;
            time_t tt = (time_t)r->taken_at;
            struct tm tm;
            gmtime_r(&tt, &tm);
            /* the camera's clock is not stored in Pinecone: shown in UTC, with the offset known as +00:00 */
            strftime(r->taken_local, sizeof r->taken_local, "%Y-%m-%d %H:%M:%S", &tm);
            r->has_offset = 1;
        }
        const cJSON *cam = cJSON_GetObjectItemCaseSensitive(md, "camera");
        if (cJSON_IsString(cam)) snprintf(r->camera, sizeof r->camera, "%s", cam->valuestring);
        const cJSON *lat = cJSON_GetObjectItemCaseSensitive(md, "lat"), *lon = cJSON_GetObjectItemCaseSensitive(md, "lon");
        r->has_gps = cJSON_IsNumber(lat) && cJSON_IsNumber(lon) && psk_gps_valid(lat->valuedouble, lon->valuedouble);
        if (!r->has_gps) continue;
        r->lat = lat->valuedouble, r->lon = lon->valuedouble;
        const char *keys[4] = {"place_city", "place_region", "place_country", "place_cc"};
        char *place[4] = {r->city, r->region, r->country, r->country_code};
        size_t caps[4] = {sizeof r->city, sizeof r->region, sizeof r->country, sizeof r->country_code};
        for (int k = 0; k < 4; k++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(md, keys[k]);
            if (cJSON_IsString(x)) snprintf(place[k], caps[k], "%s", x->valuestring);
        }
    }
    cJSON_Delete(j);
    if (rc) {
        psk_free(res);
        return rc;
    }
    *results = res;
    *n = kept;
    return PSK_OK;
}
