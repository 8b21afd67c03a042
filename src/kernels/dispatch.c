/* Chooses the kernel table once, from the CPU's features (never from -march=native at build time): cpuid says what
 * the CPU has, xgetbv what the OS saves on a context switch (ymm for AVX2; opmask and all 32 zmm for AVX-512).
 * PHOTOSEEK_KERNELS=ref|avx2|avx512 forces a level; a level the CPU lacks is reported and the best one is used. */
#include "kernels.h"

#include "photoseek.h"

#include <cpuid.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* The OS-enabled state mask (XCR0), or 0 when the OS does not use xsave. */
static uint64_t os_state(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & bit_OSXSAVE)) return 0;
    return xgetbv0();
}

bool psk_cpu_has_avx2(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_AVX) || !(c & bit_FMA)) return false;
    if ((os_state() & 0x6) != 0x6) return false; /* xmm and ymm state */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    return (b & bit_AVX2) != 0;
}

bool psk_cpu_has_avx512(void) {
    if (!psk_cpu_has_avx2()) return false;
    if ((os_state() & 0xe6) != 0xe6) return false; /* plus opmask, the upper halves of zmm0-15, and zmm16-31 */
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
    unsigned need_b = bit_AVX512F | bit_AVX512DQ | bit_AVX512BW | bit_AVX512VL;
    return (b & need_b) == need_b && (c & bit_AVX512VNNI);
}

static const psk_kernel_table *chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const psk_kernel_table *levels[] = {psk_kernels_avx512(), psk_kernels_avx2(), psk_kernels_ref()};
    const char *names[] = {"avx512", "avx2", "ref"};
    int best = 0;
    while (!levels[best]) best++;
    chosen = levels[best];
    const char *force = getenv("PHOTOSEEK_KERNELS");
    if (!force || !*force) return;
    for (int i = 0; i < 3; i++) {
        if (strcmp(force, names[i]) != 0) continue;
        if (levels[i]) {
            chosen = levels[i];
        } else {
            fprintf(stderr, "photoseek: PHOTOSEEK_KERNELS=%s: this CPU (or its OS) lacks %s; using %s\n", force,
                    i == 0 ? "AVX-512 F/BW/VL/DQ with VNNI" : "AVX2 with FMA", chosen->name);
        }
        return;
    }
    fprintf(stderr, "photoseek: PHOTOSEEK_KERNELS=%s: unknown level (ref, avx2 or avx512); using %s\n", force,
            chosen->name);
}

const psk_kernel_table *psk_kernels(void) {
    pthread_once(&once, choose);
    return chosen;
}

const char *psk_kernel_level(void) {
    return psk_kernels()->name;
}

const psk_kernel_table *psk_kernels_for_strip(bool q8, int nr) {
    /* the chosen level first, without asking the CPU again (cpuid is slow under a hypervisor, and this runs per
     * product) */
    const psk_kernel_table *k = psk_kernels();
    if ((q8 ? k->q8_nr : k->gemm_nr) == nr) return k;
    const psk_kernel_table *levels[] = {psk_kernels_avx512(), psk_kernels_avx2(), psk_kernels_ref()};
    for (int i = 0; i < 3; i++)
        if (levels[i] && (q8 ? levels[i]->q8_nr : levels[i]->gemm_nr) == nr) return levels[i];
    return psk_kernels_ref();
}
