/* The query algebra. */
#include "search.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool is_image_path(const char *s) {
    struct stat st;
    const char *dot = strrchr(s, '.');
    if (!dot || stat(s, &st) != 0 || !S_ISREG(st.st_mode)) return false;
    static const char *ext[] = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".heic", ".heif", ".tif", ".tiff", ".avif"};
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return true;
    return false;
}

static int add_term(query *q, const char *text, size_t len, float weight, psk_error *err) {
    while (len && isspace((unsigned char)text[len - 1])) len--;
    while (len && isspace((unsigned char)*text)) text++, len--;
    if (!len) return PSK_OK;
    query_term *t = psk_realloc(q->terms, sizeof *t * (size_t)(q->n + 1));
    if (!t) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    q->terms = t;
    char *s = psk_malloc(len + 1);
    if (!s) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    memcpy(s, text, len);
    s[len] = 0;
    q->terms[q->n++] = (query_term){s, weight, is_image_path(s)};
    return PSK_OK;
}

void query_free(query *q) {
    for (int i = 0; i < q->n; i++) psk_free(q->terms[i].text);
    psk_free(q->terms);
    q->terms = NULL;
    q->n = 0;
}

int query_parse(const char *s, query *q, psk_error *err) {
    memset(q, 0, sizeof *q);
    if (!psk_utf8_valid(s, strlen(s))) return psk_fail(err, PSK_ERR_INVALID_ARG, "the query is not valid UTF-8");
    const char *p = s, *phrase = NULL;
    int rc = PSK_OK;
    while (*p && !rc) {
        if (isspace((unsigned char)*p)) {
            p++;
            continue;
        }
        float weight = 1.0f;
        bool prefixed = false;
        const char *start = p;
        if (*p == '-' || *p == '+') {
            weight = *p == '-' ? -1.0f : 1.0f;
            prefixed = true;
            p++;
        }
        /* a weight "N:" */
        char *end;
        double w = strtod(p, &end);
        /* "2:beach" is a weight; "3:45pm" is text (a weight is followed by a word or a quote, not a digit) */
        if (end != p && *end == ':' && (isdigit((unsigned char)*p) || *p == '.') && end[1] &&
            !isdigit((unsigned char)end[1]) && !isspace((unsigned char)end[1])) {
            /* at least 0.01: a smaller one (1e-60) would become a weight of 0 as a float */
            if (!(w >= 0.01 && w <= 100)) {
                query_free(q);
                return psk_fail(err, PSK_ERR_INVALID_ARG, "weight %.*s must be between 0.01 and 100", (int)(end - p), p);
            }
            weight *= (float)w;
            prefixed = true;
            p = end + 1;
        }
        if (*p == '"') {
            const char *close = strchr(p + 1, '"');
            if (!close) {
                query_free(q);
                return psk_fail(err, PSK_ERR_INVALID_ARG, "unclosed quote in the query");
            }
            if (phrase) rc = add_term(q, phrase, (size_t)(start - phrase), 1.0f, err);
            phrase = NULL;
            if (!rc) rc = add_term(q, p + 1, (size_t)(close - p - 1), weight, err);
            p = close + 1;
            continue;
        }
        const char *w_end = p;
        while (*w_end && !isspace((unsigned char)*w_end)) w_end++;
        if (prefixed) {
            if (phrase) rc = add_term(q, phrase, (size_t)(start - phrase), 1.0f, err);
            phrase = NULL;
            if (!rc) rc = add_term(q, p, (size_t)(w_end - p), weight, err);
        } else {
            /* A plain word that names an image file stands alone; other plain words join the phrase. */
            char word[4096];
            size_t wl = (size_t)(w_end - p);
            if (wl < sizeof word) {
                memcpy(word, p, wl);
                word[wl] = 0;
            }
            if (wl < sizeof word && is_image_path(word)) {
                if (phrase) rc = add_term(q, phrase, (size_t)(start - phrase), 1.0f, err);
                phrase = NULL;
                if (!rc) rc = add_term(q, p, wl, 1.0f, err);
            } else if (!phrase) {
                phrase = p;
            }
        }
        p = w_end;
    }
    if (!rc && phrase) rc = add_term(q, phrase, strlen(phrase), 1.0f, err);
    if (!rc && q->n == 0) rc = psk_fail(err, PSK_ERR_INVALID_ARG, "empty query");
    if (rc) query_free(q);
    return rc;
}
