/* Text folded for matching what OCR read against what a person types: NFKC with case folding (utf8proc), white
 * space runs as one space, and no space between two CJK characters, since Tesseract spaces Chinese out
 * ("欢 迎 光 临") and people do not. */
#include "photoseek.h"

#include "../common/common.h"

#include <stdbool.h>
#include <string.h>
#include <utf8proc.h>

/* Han, Hiragana, Katakana, Hangul and CJK punctuation: scripts written without spaces between words. */
static bool cjk(utf8proc_int32_t c) {
    return (c >= 0x2E80 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) || (c >= 0xF900 && c <= 0xFAFF) ||
           (c >= 0xFF00 && c <= 0xFF60) || (c >= 0x20000 && c <= 0x3FFFF);
}

char *psk_text_fold(const char *text) {
    utf8proc_uint8_t *mapped = NULL;
    utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)text, 0, &mapped,
                                      UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |
                                          UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
    if (n < 0) return NULL;
    char *out = psk_malloc((size_t)n + 1); /* psk_free_buffer frees it */
    if (!out) {
        free(mapped);
        return NULL;
    }
    size_t o = 0;
    utf8proc_int32_t prev = 0; /* the last character written (0 at the start) */
    bool pending_space = false;
    for (utf8proc_ssize_t i = 0; i < n;) {
        utf8proc_int32_t c;
        utf8proc_ssize_t len = utf8proc_iterate(mapped + i, n - i, &c);
        if (len <= 0) break;
        const utf8proc_property_t *prop = utf8proc_get_property(c);
        bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || prop->category == UTF8PROC_CATEGORY_ZS;
        if (space) {
            pending_space = prev != 0;
        } else {
            if (pending_space && !(cjk(prev) && cjk(c))) out[o++] = ' ';
            pending_space = false;
            memcpy(out + o, mapped + i, (size_t)len);
            o += (size_t)len;
            prev = c;
        }
        i += len;
    }
    out[o] = 0;
    free(mapped);
    return out;
}
