#include "common.h"

#include <stdio.h>
#include <string.h>

void psk_buf_append(psk_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = psk_realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void psk_buf_printf(psk_buf *b, const char *fmt, ...) {
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        psk_buf_append(b, small, (size_t)n);
        return;
    }
    char *big = psk_malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    psk_buf_append(b, big, (size_t)n);
    psk_free(big);
}

void psk_buf_json_string(psk_buf *b, const char *s) {
    psk_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        switch (*p) {
        case '"': psk_buf_append(b, "\\\"", 2); break;
        case '\\': psk_buf_append(b, "\\\\", 2); break;
        case '\n': psk_buf_append(b, "\\n", 2); break;
        case '\r': psk_buf_append(b, "\\r", 2); break;
        case '\t': psk_buf_append(b, "\\t", 2); break;
        default:
            if (*p < 0x20) {
                snprintf(esc, sizeof esc, "\\u%04x", *p);
                psk_buf_append(b, esc, 6);
            } else {
                psk_buf_append(b, (const char *)p, 1);
            }
        }
    }
    psk_buf_append(b, "\"", 1);
}

void psk_buf_free(psk_buf *b) {
    psk_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}
