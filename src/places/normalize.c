/* Place names compared as people type them: "ZURICH", "zürich" and "Zürich" are one name, "Sao  Paulo" and
 * "São Paulo" too. */
#include "places.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

static bool is_separator(utf8proc_int32_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-' || c == '_' || c == '.' || c == ',' ||
           c == 0x3000 /* ideographic space */;
}

bool places_normalize(const char *s, char *out, size_t cap) {
    if (!cap) return false;
    out[0] = 0;
    utf8proc_uint8_t *folded = NULL;
    /* NFKD + case fold first, so that accents are separate marks we can drop, then NFC again at the end. */
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &folded,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE |
                                          UTF8PROC_CASEFOLD);
    if (n < 0) return false;
    size_t o = 0;
    bool pending_space = false, ok = true;
    for (utf8proc_ssize_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t k = utf8proc_iterate(folded + i, n - i, &c);
        if (k <= 0) {
            ok = false;
            break;
        }
        i += k;
        if (c >= 0x300 && c <= 0x36f) continue; /* combining diacritical marks: the accents of Latin names */
        if (is_separator(c)) {
            pending_space = o > 0;
            continue;
        }
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t e = utf8proc_encode_char(c, enc);
        if (o + (pending_space ? 1 : 0) + (size_t)e + 1 > cap) {
            ok = false;
            break;
        }
        if (pending_space) out[o++] = ' ';
        pending_space = false;
        memcpy(out + o, enc, (size_t)e);
        o += (size_t)e;
    }
    out[o] = 0;
    free(folded);
    if (!ok) return false;
    /* Recompose what is left (Hangul syllables, kana with voicing marks) so both sides compare in NFC. */
    utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)out);
    if (!nfc) return false;
    size_t len = strlen((const char *)nfc);
    if (len + 1 > cap) ok = false;
    else memcpy(out, nfc, len + 1);
    free(nfc);
    return ok;
}
