#include "common.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Failure injection for the allocation tests: when >= 0, the number of allocations still allowed. */
static _Atomic long fail_countdown = -1;

void psk_alloc_fail_after(long n) {
    atomic_store(&fail_countdown, n);
}

static bool alloc_allowed(void) {
    long v = atomic_load(&fail_countdown);
    while (v >= 0) {
        if (v == 0) return false;
        if (atomic_compare_exchange_weak(&fail_countdown, &v, v - 1)) return true;
    }
    return true;
}

void *psk_malloc(size_t n) {
    return alloc_allowed() ? malloc(n ? n : 1) : NULL;
}
void *psk_calloc(size_t count, size_t size) {
    return alloc_allowed() ? calloc(count ? count : 1, size ? size : 1) : NULL;
}
void *psk_realloc(void *p, size_t n) {
    return alloc_allowed() ? realloc(p, n ? n : 1) : NULL;
}
void psk_free(void *p) {
    free(p);
}
char *psk_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = psk_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
char *psk_strndup(const char *s, size_t n) {
    size_t len = strnlen(s, n);
    char *d = psk_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = 0;
    }
    return d;
}
void *psk_malloc_aligned(size_t n) {
    if (!alloc_allowed()) return NULL;
    void *p = NULL;
    /* Large buffers (packed weights) get 2 MB alignment and transparent huge pages: streaming hundreds of
     * megabytes of weights through 4 KB pages costs a TLB miss every 4 KB. */
    size_t align = n >= (8u << 20) ? (2u << 20) : 64;
    if (posix_memalign(&p, align, n ? (n + 63) / 64 * 64 : 64) != 0) return NULL;
    if (align > 64) madvise(p, n, MADV_HUGEPAGE);
    return p;
}
void psk_free_aligned(void *p) {
    free(p);
}
bool psk_mul_size(size_t a, size_t b, size_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
