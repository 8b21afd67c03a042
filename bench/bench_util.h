/* Shared by the benchmark programs: a monotonic clock, and the synthetic data generator of bench_search.c,
 * bench_ann.c and make_library.c (xorshift64; a sum of four uniforms scaled to unit variance is a cheap normal,
 * close enough for benchmark data). Each program has its own stream: define SYNTH_SEED before including. */
#ifndef PSK_BENCH_UTIL_H
#define PSK_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef SYNTH_SEED
#define SYNTH_SEED 88172645463325252ULL
#endif

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* N copies of a file in dir (photo_NNNN.jpg) that differ in a trailing byte (ignored by decoders), so that an
 * index run takes none for a move of another. Returns 0, or -1 with a message. */
static inline int write_copies(const char *src, const char *dir, int n) {
    FILE *in = fopen(src, "rb");
    if (!in) {
        perror(src);
        return -1;
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    char *data = malloc((size_t)size);
    if (!data || fread(data, 1, (size_t)size, in) != (size_t)size) {
        fclose(in);
        free(data);
        return -1;
    }
    fclose(in);
    for (int i = 0; i < n; i++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/photo_%04d.jpg", dir, i);
        FILE *f = fopen(path, "wb");
        if (!f) {
            perror(path);
            free(data);
            return -1;
        }
        fwrite(data, 1, (size_t)size, f);
        fprintf(f, "%d", i);
        fclose(f);
    }
    free(data);
    return 0;
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
