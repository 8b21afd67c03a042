/* photoseek model fetch: downloads a model folder from the Hugging Face hub.
 *
 *  1. GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true
 *     -> {"sha": "<commit>", "siblings": [{"rfilename": "...", "size": N, "lfs": {"sha256": "...", "size": N}}]}
 *  2. for every wanted file that the listing has:
 *     GET {endpoint}/{repo}/resolve/{commit}/{file} into FILE.incomplete, resuming with a Range request when a
 *     partial file exists, then checking the size and, for LFS files, the sha256; renamed into place when good.
 * Files already present with the listed size (and checksum) are not downloaded again.
 * A new folder is filled as DIR.incomplete (where an interrupted fetch resumes) and renamed to DIR only when every
 * file is there and checked, so that a folder named like a model is always a whole model. */
#include "model.h"

#include <curl/curl.h>
#include <errno.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct fetch_repo {
    const char *repo, *revision;
    const char *const *files; /* wanted files; those absent from the listing are skipped */
} fetch_repo;

static const char *const clip_files[] = {"config.json", "preprocessor_config.json", "tokenizer.json",
                                         "tokenizer_config.json", "special_tokens_map.json", "vocab.json",
                                         "merges.txt", "model.safetensors", NULL};
static const char *const openclip_files[] = {"open_clip_config.json", "open_clip_model.safetensors", NULL};
static const char *const mclip_files[] = {"config.json", "model.safetensors", "modules.json",
                                          "sentence_bert_config.json", "config_sentence_transformers.json",
                                          "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                          "vocab.txt", "1_Pooling/config.json", "2_Dense/config.json",
                                          "2_Dense/model.safetensors", NULL};

/* Pinned revisions: every fetch of a model brings the same bytes (the commit is recorded in photoseek-fetch.json). */
static const fetch_repo clip_repo = {"openai/clip-vit-base-patch32", "3d74acf9a28c67741b2f4f2ea7635f0aaf6f0268",
                                     clip_files};
static const fetch_repo clip_openclip_repo = {"timm/vit_base_patch32_clip_224.openai",
                                              "a6f597a30f7b82c51704746581f9a4e41421e878", openclip_files};
static const fetch_repo mclip_repo = {"sentence-transformers/clip-ViT-B-32-multilingual-v1",
                                      "58edf8cada9e398793dca955574a48cbb7f18be2", mclip_files};

psk_fetch_params psk_fetch_default_params(void) {
    psk_fetch_params p = {0};
    return p;
}

typedef struct fetch_ctx {
    const psk_fetch_params *p;
    const char *endpoint;
    char auth[512];
    psk_error *err;
} fetch_ctx;

static size_t to_buf(char *data, size_t size, size_t n, void *user) {
    psk_buf *b = user;
    if (b->len + size * n > (64u << 20)) return 0; /* a listing is never this large */
    psk_buf_append(b, data, size * n);
    return b->failed ? 0 : size * n;
}

static CURL *new_handle(fetch_ctx *fc, const char *url, struct curl_slist **headers) {
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L); /* give up on a stalled transfer after 60 s */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "photoseek/" PSK_VERSION);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    *headers = NULL;
    if (fc->auth[0]) *headers = curl_slist_append(*headers, fc->auth);
    if (*headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    return c;
}

static int net_error(fetch_ctx *fc, const char *url, CURLcode cc, long status) {
    if (cc != CURLE_OK)
        return psk_fail(fc->err, PSK_ERR_NETWORK, "%s: %s%s", url, curl_easy_strerror(cc),
                        cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT
                            ? " (offline? copy the model folder by hand from a machine that has it)"
                            : "");
    return psk_fail(fc->err, PSK_ERR_NETWORK, "%s: HTTP %ld%s", url, status,
                    status == 401 || status == 403 ? " (set HF_TOKEN if the model needs a login)" : "");
}

static int get_listing(fetch_ctx *fc, const fetch_repo *r, cJSON **out) {
    char url[1024];
    snprintf(url, sizeof url, "%s/api/models/%s/revision/%s?blobs=true", fc->endpoint, r->repo, r->revision);
    psk_buf body = {0};
    struct curl_slist *h;
    CURL *c = new_handle(fc, url, &h);
    if (!c) return psk_fail(fc->err, PSK_ERR_NOMEM, "cannot start libcurl");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    int rc = PSK_OK;
    if (cc != CURLE_OK || status != 200) rc = net_error(fc, url, cc, status);
    else if (!(*out = cJSON_ParseWithLength(body.data ? body.data : "", body.len)) ||
             !cJSON_IsArray(psk_json_get(*out, "siblings")))
        rc = psk_fail(fc->err, PSK_ERR_FORMAT, "%s: unexpected answer (no file list)", url);
    if (rc && *out) {
        cJSON_Delete(*out);
        *out = NULL;
    }
    psk_buf_free(&body);
    return rc;
}

static const cJSON *find_sibling(const cJSON *listing, const char *name) {
    const cJSON *it;
    cJSON_ArrayForEach(it, psk_json_get(listing, "siblings")) {
        const char *f = psk_json_string(it, "rfilename", "");
        if (strcmp(f, name) == 0) return it;
    }
    return NULL;
}

typedef struct dl_state {
    FILE *f;
    fetch_ctx *fc;
    const char *name;
    uint64_t base, total;
} dl_state;

static size_t to_file(char *data, size_t size, size_t n, void *user) {
    dl_state *s = user;
    return fwrite(data, size, n, s->f) == n ? size * n : 0;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult, curl_off_t ulnow) {
    dl_state *s = user;
    (void)dltotal;
    if (s->fc->p->progress && dlnow > 0)
        s->fc->p->progress(s->fc->p->progress_user, s->name, s->base + (uint64_t)dlnow, s->total);
    return 0;
}

/* Downloads one file with resume; verifies size and checksum. */
static int download(fetch_ctx *fc, const fetch_repo *r, const char *commit, const cJSON *sib, const char *dir) {
    const char *name = psk_json_string(sib, "rfilename", "");
    const char *sha = psk_json_string(sib, "lfs.sha256", NULL);
    double size_d = psk_json_number(sib, "lfs.size", psk_json_number(sib, "size", -1));
    uint64_t size = size_d >= 0 ? (uint64_t)size_d : 0;
    char path[1300], part[1320], url[1400];
    if (strstr(name, "..") || name[0] == '/') return psk_fail(fc->err, PSK_ERR_FORMAT, "refusing file name '%s'", name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(part, sizeof part, "%s.incomplete", path);
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = 0;
        int rc = psk_mkdir_p(path, fc->err);
        *slash = '/';
        if (rc) return rc;
    }
    struct stat st;
    char hex[65];
    if (stat(path, &st) == 0 && (size_d < 0 || (uint64_t)st.st_size == size)) {
        if (!sha || (psk_sha256_file(path, hex, NULL) == PSK_OK && strcmp(hex, sha) == 0)) {
            if (fc->p->progress) fc->p->progress(fc->p->progress_user, name, (uint64_t)st.st_size, (uint64_t)st.st_size);
            return PSK_OK; /* already complete */
        }
    }
    uint64_t have = stat(part, &st) == 0 ? (uint64_t)st.st_size : 0;
    if (size_d >= 0 && have > size) have = 0; /* a partial file longer than the real one cannot be resumed */
    FILE *f = fopen(part, have ? "ab" : "wb");
    if (!f) return psk_fail(fc->err, PSK_ERR_IO, "%s: %s", part, strerror(errno));
    snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", fc->endpoint, r->repo, commit, name);
    struct curl_slist *h;
    CURL *c = new_handle(fc, url, &h);
    if (!c) {
        fclose(f);
        return psk_fail(fc->err, PSK_ERR_NOMEM, "cannot start libcurl");
    }
    dl_state s = {f, fc, name, have, size};
    char range[64];
    if (have && have < size) {
        snprintf(range, sizeof range, "%llu-", (unsigned long long)have);
        curl_easy_setopt(c, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_file);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    CURLcode cc = CURLE_OK;
    long status = 206;
    if (!(have && have == size)) {
        cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    int closed = fclose(f);
    if (cc == CURLE_OK && status == 200 && have) {
        /* The server ignored the Range request and sent the whole file after our partial bytes: start over. */
        remove(part);
        return download(fc, r, commit, sib, dir);
    }
    if (cc != CURLE_OK || (status != 200 && status != 206)) return net_error(fc, url, cc, status);
    if (closed != 0) return psk_fail(fc->err, PSK_ERR_IO, "%s: write failed", part);
    if (stat(part, &st) != 0 || (size_d >= 0 && (uint64_t)st.st_size != size)) {
        uint64_t got = (uint64_t)st.st_size;
        remove(part);
        return psk_fail(fc->err, PSK_ERR_CHECKSUM, "%s: downloaded %llu bytes, the hub lists %llu", name,
                        (unsigned long long)got, (unsigned long long)size);
    }
    if (sha) {
        if (psk_sha256_file(part, hex, NULL) != PSK_OK) return psk_fail(fc->err, PSK_ERR_IO, "%s: cannot read back", part);
        if (strcmp(hex, sha) != 0) {
            remove(part);
            return psk_fail(fc->err, PSK_ERR_CHECKSUM, "%s: sha256 %s does not match the hub's %s; removed", name,
                            hex, sha);
        }
    }
    if (rename(part, path) != 0) return psk_fail(fc->err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
    return PSK_OK;
}

static int fetch_repo_files(fetch_ctx *fc, const fetch_repo *r, const char *dir, bool need_weights, char *commit_out,
                            size_t commit_cap) {
    cJSON *listing = NULL;
    int rc = get_listing(fc, r, &listing);
    if (rc) return rc;
    const char *commit = psk_json_string(listing, "sha", r->revision);
    snprintf(commit_out, commit_cap, "%s", commit);
    for (int i = 0; r->files[i] && !rc; i++) {
        const cJSON *sib = find_sibling(listing, r->files[i]);
        if (!sib) continue;
        rc = download(fc, r, commit, sib, dir);
    }
    if (!rc && need_weights && !find_sibling(listing, "model.safetensors") &&
        !find_sibling(listing, "open_clip_model.safetensors"))
        rc = psk_fail(fc->err, PSK_ERR_NOT_FOUND, "%s@%s has no safetensors checkpoint", r->repo, commit);
    cJSON_Delete(listing);
    return rc;
}

psk_status psk_model_fetch(const char *name, const char *dir, const psk_fetch_params *params, psk_error *err) {
    psk_fetch_params p = params ? *params : psk_fetch_default_params();
    fetch_ctx fc = {&p, p.endpoint, "", err};
    if (!fc.endpoint) fc.endpoint = getenv("HF_ENDPOINT");
    if (!fc.endpoint || !*fc.endpoint) fc.endpoint = "https://huggingface.co";
    const char *token = p.token ? p.token : getenv("HF_TOKEN");
    if (token && *token) snprintf(fc.auth, sizeof fc.auth, "Authorization: Bearer %s", token);
    bool clip = strcmp(name, "clip-vit-b-32") == 0, mclip = strcmp(name, "mclip") == 0;
    if (!clip && !mclip) return psk_fail(err, PSK_ERR_INVALID_ARG, "unknown model '%s' (clip-vit-b-32 or mclip)", name);
    /* A folder fetched before is checked and brought up to date in place; a new one is staged beside it. */
    char manifest[1300], stage[1100];
    psk_path_join(manifest, sizeof manifest, dir, "photoseek-fetch.json");
    bool in_place = psk_file_exists(manifest);
    if (snprintf(stage, sizeof stage, "%s.incomplete", dir) >= (int)sizeof stage)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: path too long", dir);
    const char *into = in_place ? dir : stage;
    int rc = psk_mkdir_p(into, err);
    if (rc) return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return psk_fail(err, PSK_ERR_NETWORK, "cannot start libcurl");
    char commit[128] = "", commit2[128] = "";
    const fetch_repo *main_repo = clip ? &clip_repo : &mclip_repo;
    rc = fetch_repo_files(&fc, main_repo, into, mclip, commit, sizeof commit);
    if (!rc && clip) {
        /* Older snapshots of the OpenAI repository hold only pytorch_model.bin: then the same weights come in
         * OpenCLIP layout from timm's repository, next to the tokenizer fetched above. */
        char ckpt[1300];
        psk_path_join(ckpt, sizeof ckpt, into, "model.safetensors");
        if (!psk_file_exists(ckpt)) rc = fetch_repo_files(&fc, &clip_openclip_repo, into, true, commit2, sizeof commit2);
    }
    if (!rc) {
        char text[1024];
        psk_path_join(manifest, sizeof manifest, into, "photoseek-fetch.json");
        snprintf(text, sizeof text, "{\"model\": \"%s\", \"repo\": \"%s\", \"commit\": \"%s\"%s%s%s}\n", name,
                 main_repo->repo, commit, commit2[0] ? ", \"weights_repo\": \"" : "",
                 commit2[0] ? clip_openclip_repo.repo : "", commit2[0] ? "\"" : "");
        rc = psk_write_file(manifest, text, strlen(text), err);
    }
    if (!rc && !in_place) {
        rmdir(dir); /* an empty folder left by an older version or by hand is replaced; anything else is not */
        if (rename(stage, dir) != 0)
            rc = psk_fail(err, PSK_ERR_IO, "%s: cannot move the fetched model into place from %s: %s", dir, stage,
                          strerror(errno));
    }
    curl_global_cleanup();
    return rc;
}
