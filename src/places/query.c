/* Place names inside a free-text query: runs of up to 4 words resolved as one name, longest first. */
#include "places.h"

#include <string.h>

#define MAX_RUN 4
#define MAX_WORDS 64

/* A word: bytes up to the next space; only words of letters (and inner '-', '.', '\'') may be part of a name. */
static bool name_word(const char *s, int n) {
    if (n <= 0) return false;
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) continue; /* letters of other scripts */
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        bool inner = (c == '-' || c == '.' || c == '\'') && i > 0 && i < n - 1;
        if (!letter && !inner) return false;
    }
    return true;
}

psk_status psk_places_find_in_query(psk_places *p, const char *query, psk_place_span **out, int *n, psk_error *err) {
    *out = NULL, *n = 0;
    int ws[MAX_WORDS], we[MAX_WORDS], nw = 0;
    for (int i = 0; query[i] && nw < MAX_WORDS;) {
        while (query[i] == ' ' || query[i] == '\t' || query[i] == '\n') i++;
        if (!query[i]) break;
        ws[nw] = i;
        while (query[i] && query[i] != ' ' && query[i] != '\t' && query[i] != '\n') i++;
        we[nw++] = i;
    }
    psk_place_span *spans = NULL;
    int ns = 0, rc = PSK_OK;
    for (int w = 0; w < nw && !rc;) {
        int taken = 0;
        for (int k = MAX_RUN; k >= 1 && !taken && !rc; k--) {
            if (w + k > nw) continue;
            bool ok = true;
            for (int j = w; j < w + k && ok; j++) ok = name_word(query + ws[j], we[j] - ws[j]);
            int len = we[w + k - 1] - ws[w];
            if (!ok || len >= 256) continue;
            char text[256];
            memcpy(text, query + ws[w], (size_t)len);
            text[len] = 0;
            psk_place_match *m;
            int nm;
            if ((rc = psk_places_resolve(p, text, &m, &nm, err))) break;
            if (!nm) {
                psk_place_matches_free(m);
                continue;
            }
            psk_place_span *grown = psk_realloc(spans, (size_t)(ns + 1) * sizeof *spans);
            if (!grown) {
                psk_place_matches_free(m);
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            spans = grown;
            spans[ns++] = (psk_place_span){ws[w], len, m, nm};
            taken = k;
        }
        w += taken ? taken : 1;
    }
    if (rc) {
        psk_place_spans_free(spans, ns);
        return rc;
    }
    *out = spans, *n = ns;
    return PSK_OK;
}

void psk_place_spans_free(psk_place_span *spans, int n) {
    for (int i = 0; spans && i < n; i++) psk_place_matches_free(spans[i].matches);
    psk_free(spans);
}
