/* Shared by the benchmark programs: a monotonic clock, and the synthetic data generator of bench_search.c,
 * bench_ann.c and make_library.c (xorshift64; a sum of four uniforms scaled to unit variance is a cheap normal,
 * close enough for benchmark data). Each program has its own stream: define SYNTH_SEED before including. */
#ifndef PSK_BENCH_UTIL_H
#define PSK_BENCH_UTIL_H

#include "photoseek.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SYNTH_SEED
#define SYNTH_SEED 88172645463325252ULL
#endif

static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Seconds to index the folder dir into a new library at db with p's settings (its roots are set here); the run's
 * counts in *st. Exits with the message on an error. */
static inline double index_folder(const char *dir, const char *db, psk_index_params p, psk_index_stats *st) {
    unlink(db);
    psk_library *lib;
    psk_error err = {0};
    const char *roots[1] = {dir};
    p.roots = roots;
    p.n_roots = 1;
    if (psk_library_open(db, PSK_OPEN_WRITE, &lib, &err)) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    double t = now();
    if (psk_library_index(lib, &p, st, &err)) {
        fprintf(stderr, "%s: %s\n", dir, err.message);
        exit(1);
    }
    t = now() - t;
    psk_library_close(lib);
    return t;
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

/* ---- CLIP-like vectors (bench_ann --cliplike; bench/README.md) ----
 * Unlike the isotropic clusters above, these share a strong common direction (two random vectors have cosine
 * ~0.3), their variance falls off over a few dozen directions (a power-law spectrum), and the clusters' sizes span
 * 100x (log-uniform weights). Built in a basis where coordinate 0 is the common direction and coordinate k's
 * variance is SPEC(k), then turned into a dense basis by a fixed random rotation (three rounds of random signs and
 * a Walsh-Hadamard transform), so that no coordinate stands out for the int8 quantisation, as in real embeddings. */
#define CLIPLIKE_DIM 512      /* a power of two: the rotation is a Walsh-Hadamard transform */
#define CLIPLIKE_CLUSTERS 1000
#define CLIPLIKE_COMMON 0.66f /* the common direction's weight: random pairs at cosine ~ COMMON^2 / (COMMON^2 + 1) */
#define CLIPLIKE_SIZE_RANGE 100.0 /* the largest cluster's weight over the smallest */
#define CLIPLIKE_SPREAD 0.5f  /* the share of the variance between cluster centres, the rest within a cluster */
#define CLIPLIKE_DECAY 1.0f    /* variance of coordinate k >= 1 of the centres: (1 + (k - 1) / KNEE) ^ -DECAY */
#define CLIPLIKE_KNEE 16.0f
#define CLIPLIKE_NOISE_DECAY 1.75f /* ... of the noise around them: steeper, which sets the LID (~40 at 1M) */

typedef struct cliplike {
    float sd[CLIPLIKE_DIM];             /* the standard deviation of each coordinate, total variance 1 */
    float noise_sd[CLIPLIKE_DIM];       /* within a cluster: a steeper spectrum, total variance 1 */
    float *centres;                     /* CLIPLIKE_CLUSTERS x DIM, before the rotation */
    double cum[CLIPLIKE_CLUSTERS];      /* cumulative cluster weights, ending at 1 */
    float signs[3][CLIPLIKE_DIM];       /* the rotation's random signs */
} cliplike;

static inline double uniform01(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}

/* In place, unnormalised: x <- H x (H the n x n Walsh-Hadamard matrix, n a power of two). */
static inline void fwht(float *x, int n) {
    for (int h = 1; h < n; h *= 2)
        for (int i = 0; i < n; i += 2 * h)
            for (int j = i; j < i + h; j++) {
                float a = x[j], b = x[j + h];
                x[j] = a + b;
                x[j + h] = a - b;
            }
}

static inline void cliplike_init(cliplike *g) {
    double total = 0;
    for (int k = 1; k < CLIPLIKE_DIM; k++) total += pow(1.0 + (k - 1) / CLIPLIKE_KNEE, -CLIPLIKE_DECAY);
    g->sd[0] = 0;
    for (int k = 1; k < CLIPLIKE_DIM; k++) g->sd[k] = (float)sqrt(pow(1.0 + (k - 1) / CLIPLIKE_KNEE, -CLIPLIKE_DECAY) / total);
    double nt = 0, nd = CLIPLIKE_NOISE_DECAY;
    for (int k = 1; k < CLIPLIKE_DIM; k++) nt += pow(1.0 + (k - 1) / CLIPLIKE_KNEE, -nd);
    g->noise_sd[0] = 0;
    for (int k = 1; k < CLIPLIKE_DIM; k++) g->noise_sd[k] = (float)sqrt(pow(1.0 + (k - 1) / CLIPLIKE_KNEE, -nd) / nt);
    g->centres = malloc(sizeof(float) * CLIPLIKE_CLUSTERS * CLIPLIKE_DIM);
    for (int c = 0; c < CLIPLIKE_CLUSTERS; c++) {
        float *x = g->centres + (size_t)c * CLIPLIKE_DIM;
        x[0] = CLIPLIKE_COMMON;
        for (int k = 1; k < CLIPLIKE_DIM; k++) x[k] = sqrtf(CLIPLIKE_SPREAD) * g->sd[k] * gauss();
    }
    /* log-uniform weights from 1 down to 1 / SIZE_RANGE */
    double sum = 0;
    for (int c = 0; c < CLIPLIKE_CLUSTERS; c++)
        sum += g->cum[c] = pow(CLIPLIKE_SIZE_RANGE, -(double)c / (CLIPLIKE_CLUSTERS - 1));
    double acc = 0;
    for (int c = 0; c < CLIPLIKE_CLUSTERS; c++) g->cum[c] = (acc += g->cum[c] / sum);
    g->cum[CLIPLIKE_CLUSTERS - 1] = 1.0;
    for (int r = 0; r < 3; r++)
        for (int d = 0; d < CLIPLIKE_DIM; d++) g->signs[r][d] = uniform01() < 0.5 ? -1.0f : 1.0f;
}

static inline void cliplike_free(cliplike *g) {
    free(g->centres);
}

/* One unit vector: a cluster drawn by weight (returned), its centre plus noise with the same spectrum, rotated. */
static inline int cliplike_vector(const cliplike *g, float *out) {
    double u = uniform01();
    int lo = 0, hi = CLIPLIKE_CLUSTERS - 1;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (g->cum[mid] < u) lo = mid + 1;
        else hi = mid;
    }
    const float *c = g->centres + (size_t)lo * CLIPLIKE_DIM;
    float w = sqrtf(1.0f - CLIPLIKE_SPREAD);
    for (int k = 0; k < CLIPLIKE_DIM; k++) out[k] = c[k] + w * g->noise_sd[k] * gauss();
    for (int r = 0; r < 3; r++) {
        for (int d = 0; d < CLIPLIKE_DIM; d++) out[d] *= g->signs[r][d];
        fwht(out, CLIPLIKE_DIM);
    }
    double n2 = 0;
    for (int d = 0; d < CLIPLIKE_DIM; d++) n2 += (double)out[d] * out[d];
    float inv = (float)(1.0 / sqrt(n2));
    for (int d = 0; d < CLIPLIKE_DIM; d++) out[d] *= inv;
    return lo;
}

#endif
