/* Shared by the benchmark programs: a monotonic clock, and the synthetic data generator of bench_search.c,
 * bench_ann.c and make_library.c (xorshift64; a sum of four uniforms scaled to unit variance is a cheap normal,
 * close enough for benchmark data). Each program has its own stream: define SYNTH_SEED before including. */
#ifndef PSK_BENCH_UTIL_H
#define PSK_BENCH_UTIL_H

#include <stdint.h>
#include <time.h>

#ifndef SYNTH_SEED
#define SYNTH_SEED 88172645463325252ULL
#endif

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = SYNTH_SEED;

static inline float gauss(void) {
    float s = 0;
    for (int i = 0; i < 4; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        s += (float)(rng >> 40) / 16777216.0f - 0.5f;
    }
    return s * 1.7320508f;
}

#endif
