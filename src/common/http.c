/* HTTP requests with retries (libcurl). */
#include "http.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int retry_base_ms(void) {
    const char *v = getenv("PHOTOSEEK_TEST_RETRY_MS");
    return v ? atoi(v) : 1000;
}

/* ---- HTTP with retries ---- */

static size_t on_body(char *d, size_t s, size_t n, void *u) {
    psk_http_response *r = u;
    if (r->to_file) return fwrite(d, s, n, r->to_file) == n ? s * n : 0;
    if (r->body.len + s * n > (16u << 20)) return 0;
    psk_buf_append(&r->body, d, s * n);
    return s * n;
}

int psk_http(const char *method, const char *url, const char *const *headers, const char *body, FILE *to_file,
             psk_http_response *r, psk_error *err) {
    int delay = retry_base_ms();
    for (int attempt = 0;; attempt++) {
        memset(r, 0, sizeof *r);
        r->to_file = to_file;
        if (to_file) {
            fflush(to_file);
            if (ftruncate(fileno(to_file), 0) != 0 || fseek(to_file, 0, SEEK_SET) != 0)
                return psk_fail(err, PSK_ERR_IO, "cannot rewind a download");
        }
        CURL *c = curl_easy_init();
        if (!c) return psk_fail(err, PSK_ERR_NOMEM, "cannot start libcurl");
        struct curl_slist *h = NULL;
        for (int i = 0; headers && headers[i]; i++) h = curl_slist_append(h, headers[i]);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        if (h) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "photoseek/" PSK_VERSION);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        CURLcode cc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_easy_cleanup(c);
        curl_slist_free_all(h);
        bool transient = cc != CURLE_OK || r->status == 429 || r->status >= 500;
        if (!transient) return PSK_OK;
        if (attempt == 4) {
            int rc = cc != CURLE_OK ? psk_fail(err, PSK_ERR_NETWORK, "%s: %s", url, curl_easy_strerror(cc))
                                    : psk_fail(err, PSK_ERR_NETWORK, "%s: HTTP %ld after 5 tries", url, r->status);
            psk_buf_free(&r->body);
            return rc;
        }
        psk_buf_free(&r->body);
        usleep((useconds_t)delay * 1000);
        delay *= 2;
    }
}

