#include "common.h"

#include <stdio.h>

const char *psk_strerror(int status) {
    switch (status) {
    case PSK_OK: return "ok";
    case PSK_ERR_INVALID_ARG: return "invalid argument";
    case PSK_ERR_NOMEM: return "out of memory";
    case PSK_ERR_IO: return "input/output error";
    case PSK_ERR_FORMAT: return "malformed data";
    case PSK_ERR_UNSUPPORTED: return "unsupported";
    case PSK_ERR_NOT_FOUND: return "not found";
    case PSK_ERR_NETWORK: return "network error";
    case PSK_ERR_CHECKSUM: return "checksum mismatch";
    case PSK_ERR_DB: return "database error";
    case PSK_ERR_MODEL_MISMATCH: return "model mismatch";
    case PSK_ERR_INTERRUPTED: return "interrupted";
    default: return "unknown error";
    }
}

int psk_fail(psk_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

uint64_t psk_fnv1a64(const void *data, size_t n) {
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

bool psk_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        int len;
        unsigned min;
        if (c < 0x80) { p++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
        else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
        else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
        else return false;
        if (end - p < len) return false;
        for (int i = 1; i < len; i++) {
            if ((p[i] & 0xC0) != 0x80) return false;
            c = (c << 6) | (p[i] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
        p += len;
    }
    return true;
}
