/* Benchmark of the full-size CLIP ViT-B/32 encoders (synthetic weights), with the machine's ceilings measured in
 * the same run: the FMA peak (a register-only FMA loop on each thread) and OpenBLAS sgemm at the encoder's
 * matrix shapes. Speeds are reported as fractions of those ceilings, so runs on a noisy machine compare.
 *
 * usage: bench_clip [CLIP_DIR [MCLIP_DIR]]   (default: synthesised under $TMPDIR/photoseek-bench)
 * Last line: RESULT vision_img_per_s_b32_t2=... fma_peak_fraction=... sgemm_fraction=... text_query_ms=... */
#include "photoseek.h"

#include "../src/common/common.h"
#include "../src/kernels/kernels.h"

#include "bench_util.h"

#include <cblas.h>
#include <math.h>
#include <immintrin.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

extern void openblas_set_num_threads(int);

/* ---- FMA peak: 12 independent register FMAs per iteration, in assembly so no compiler can fold them ---- */
#define FMA_ITERS 100000000L
#define FMA12(r)                                                                                                       \
    "vfmadd231ps %%" r "14, %%" r "15, %%" r "0\n\tvfmadd231ps %%" r "14, %%" r "15, %%" r "1\n\t"                     \
    "vfmadd231ps %%" r "14, %%" r "15, %%" r "2\n\tvfmadd231ps %%" r "14, %%" r "15, %%" r "3\n\t"                     \
    "vfmadd231ps %%" r "14, %%" r "15, %%" r "4\n\tvfmadd231ps %%" r "14, %%" r "15, %%" r "5\n\t"                     \
    "vfmadd231ps %%" r "14, %%" r "15, %%" r "6\n\tvfmadd231ps %%" r "14, %%" r "15, %%" r "7\n\t"                     \
    "vfmadd231ps %%" r "14, %%" r "15, %%" r "8\n\tvfmadd231ps %%" r "14, %%" r "15, %%" r "9\n\t"                     \
    "vfmadd231ps %%" r "14, %%" r "15, %%" r "10\n\tvfmadd231ps %%" r "14, %%" r "15, %%" r "11\n\t"
#define FMA_CLOBBER "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11"

static void *fma_loop_ymm(void *arg) {
    (void)arg;
    for (long i = 0; i < FMA_ITERS; i++) __asm__ volatile(FMA12("ymm")::: FMA_CLOBBER);
    return NULL;
}

/* Assembled whatever the compiler flags; run only where the CPU and OS have AVX-512. */
static void *fma_loop_zmm(void *arg) {
    (void)arg;
    for (long i = 0; i < FMA_ITERS; i++) __asm__ volatile(FMA12("zmm")::: FMA_CLOBBER);
    return NULL;
}

/* lanes: 8 (ymm) or 16 (zmm) */
static double fma_peak(int threads, int lanes) {
    pthread_t t[16];
    double t0 = now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, lanes == 16 ? fma_loop_zmm : fma_loop_ymm, NULL);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double dt = now() - t0;
    return (double)threads * FMA_ITERS * 12 * lanes * 2 / dt / 1e9; /* 12 FMAs x lanes x 2 flops */
}

/* ---- sgemm at the encoder's shapes: M = 32 images x 50 tokens ---- */
typedef struct shape {
    int n, k, per_layer;
} shape;
static const shape shapes[] = {{2304, 768, 1}, {768, 768, 1}, {3072, 768, 1}, {768, 3072, 1}};

static double blas_gflops(int threads) {
    openblas_set_num_threads(threads);
    int M = 32 * 50;
    double flops = 0, best = 1e30;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) flops += 2.0 * M * shapes[s].n * shapes[s].k;
    for (int rep = 0; rep < 3; rep++) {
        /* Time again, without the allocation noise. */
        double total = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int N = shapes[s].n, K = shapes[s].k;
            float *A = calloc((size_t)M * K, 4), *B = calloc((size_t)N * K, 4), *C = calloc((size_t)M * N, 4);
            double ts = now();
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
            total += now() - ts;
            free(A);
            free(B);
            free(C);
        }
        if (total < best) best = total;
    }
    return flops / best / 1e9;
}

/* photoseek's own GEMM at the same shapes, for the split between GEMM and everything else: float32 (zero inputs, as
 * the speed does not depend on them), or with q8 the int8 GEMM (random inputs, so that its weights and rows
 * quantise as in the encoder; activations are quantised per row inside, as there). GFLOP/s, or GOP/s for int8. */
static double own_gemm_gflops_of(int threads, bool q8) {
    int M = 32 * 50;
    psk_pool *pool = NULL;
    psk_pool_new(threads, &pool);
    double flops = 0, best = 1e30;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) flops += 2.0 * M * shapes[s].n * shapes[s].k;
    for (int rep = 0; rep < 3; rep++) {
        double total = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            int N = shapes[s].n, K = shapes[s].k;
            float *A = calloc((size_t)M * K, 4), *B = calloc((size_t)N * K, 4), *C = calloc((size_t)M * N, 4);
            for (size_t i = 0; q8 && i < (size_t)M * K; i++) A[i] = gauss();
            for (size_t i = 0; q8 && i < (size_t)N * K; i++) B[i] = gauss();
            psk_packed W;
            psk_packed_q8 W8;
            if (q8) psk_pack_weights_q8(B, N, K, K, false, &W8);
            else psk_pack_weights(B, N, K, K, false, &W);
            double ts = now();
            if (q8) psk_gemm_q8(pool, M, A, K, &W8, NULL, C, N, false, PSK_ACT_NONE);
            else psk_gemm(pool, M, A, K, &W, NULL, C, N, false, PSK_ACT_NONE);
            total += now() - ts;
            if (q8) psk_packed_q8_free(&W8);
            else psk_packed_free(&W);
            free(A);
            free(B);
            free(C);
        }
        if (total < best) best = total;
    }
    psk_pool_free(pool);
    return flops / best / 1e9;
}

static double own_gemm_gflops(int threads) {
    return own_gemm_gflops_of(threads, false);
}

static double vision_flops_per_image(void) {
    /* ViT-B/32: 49 patches + class token, width 768, 12 layers, MLP 3072, projection 512. */
    double T = 50, D = 768, M = 3072, L = 12;
    double patch = 2.0 * 49 * (3 * 32 * 32) * D;
    double layer = 2.0 * T * (3 * D * D + D * D + 2 * D * M) + 2.0 * 2.0 * T * T * D;
    return patch + L * layer + 2.0 * D * 512;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double bench_vision(psk_model *m, int batch, int threads, int reps) {
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = threads;
    psk_context *ctx;
    psk_error err;
    if (psk_context_new(m, &cp, &ctx, &err)) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    size_t px = 3 * 224 * 224;
    float *pix = malloc(sizeof(float) * px * batch), *out = malloc(sizeof(float) * 512 * batch);
    for (size_t i = 0; i < px * batch; i++) pix[i] = (float)((i * 2654435761u) % 1000) / 500.0f - 1.0f;
    psk_encode_pixels(ctx, pix, batch, out, &err); /* warm-up */
    double times[16];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        psk_encode_pixels(ctx, pix, batch, out, &err);
        times[r] = now() - t0;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    free(pix);
    free(out);
    psk_context_free(ctx);
    return batch / times[0]; /* best run: the machine is shared */
}

static double bench_text(psk_model *m, const char *text, int reps) {
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = 1;
    psk_context *ctx;
    psk_error err;
    if (psk_context_new(m, &cp, &ctx, &err)) return -1;
    float out[1024];
    psk_encode_texts(ctx, &text, 1, out, &err);
    double times[64];
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (psk_encode_texts(ctx, &text, 1, out, &err)) {
            fprintf(stderr, "%s\n", err.message);
            exit(1);
        }
        times[r] = now() - t0;
    }
    qsort(times, (size_t)reps, sizeof(double), cmp_double);
    psk_context_free(ctx);
    return times[reps / 2] * 1e3; /* median */
}

/* int8 vs float32 cosine of image embeddings over n images (2 threads, batches of 32). The images are random
 * pixel tensors (normal noise in the normalised pixel range), not photos: every channel of every layer is
 * exercised, but the embeddings are not those of real images. */
static int int8_cosines(const char *dir, int n, double *mean, double *min) {
    psk_model_params p32 = psk_model_default_params(), p8 = psk_model_default_params();
    p32.load_text = p8.load_text = 0;
    p32.precision = PSK_PRECISION_FP32;
    p8.precision = PSK_PRECISION_INT8;
    psk_model *m[2] = {NULL, NULL};
    psk_error err;
    if (psk_model_load(dir, &p32, &m[0], &err) || psk_model_load(dir, &p8, &m[1], &err)) {
        fprintf(stderr, "bench: %s\n", err.message);
        psk_model_free(m[0]);
        return -1;
    }
    size_t px = 3 * 224 * 224;
    float *pix = malloc(sizeof(float) * px * (size_t)n), *e[2];
    for (size_t i = 0; i < px * (size_t)n; i++) pix[i] = gauss() * 0.9f;
    for (int v = 0; v < 2; v++) {
        psk_context_params cp = psk_context_default_params();
        cp.n_threads = 2;
        psk_context *ctx;
        e[v] = malloc(sizeof(float) * 512 * (size_t)n);
        if (psk_context_new(m[v], &cp, &ctx, &err) || psk_encode_pixels(ctx, pix, n, e[v], &err)) {
            fprintf(stderr, "bench: %s\n", err.message);
            exit(1);
        }
        psk_context_free(ctx);
        psk_model_free(m[v]);
    }
    *mean = 0;
    *min = 1;
    for (int i = 0; i < n; i++) {
        double dot = 0, a2 = 0, b2 = 0;
        for (int d = 0; d < 512; d++) {
            double a = e[0][(size_t)i * 512 + d], b = e[1][(size_t)i * 512 + d];
            dot += a * b;
            a2 += a * a;
            b2 += b * b;
        }
        double c = dot / sqrt(a2 * b2 + 1e-30);
        *mean += c / n;
        if (c < *min) *min = c;
    }
    free(pix);
    free(e[0]);
    free(e[1]);
    return 0;
}

static const char *ensure_model(const char *arch, const char *dir, bool outliers) {
    char cfg[1100];
    snprintf(cfg, sizeof cfg, "%s/model.safetensors", dir);
    struct stat st;
    if (stat(cfg, &st) == 0) return dir;
    fprintf(stderr, "bench: synthesising %s into %s\n", arch, dir);
    psk_error err;
    if ((outliers ? psk_model_synth_outliers : psk_model_synth)(
            arch, strcmp(arch, "clip-vit-b-32") == 0 ? "../shared/fixtures/models/tiny-clip" : NULL, dir, &err)) {
        fprintf(stderr, "bench: %s\n", err.message);
        exit(1);
    }
    return dir;
}

/* BENCH_ONLY=gemm|gemmq8|peak|f32|q8[:THREADS]: one measure alone, for profiling and quick A/B runs (perf record). */
static int bench_only(const char *what, const char *clip) {
    const char *colon = strchr(what, ':');
    int threads = colon ? atoi(colon + 1) : 2;
    if (strncmp(what, "gemmq8", 6) == 0) {
        printf("photoseek gemm q8 %d threads %7.1f GOP/s\n", threads, own_gemm_gflops_of(threads, true));
        return 0;
    }
    if (strncmp(what, "peak", 4) == 0) {
        printf("fma peak zmm      %d threads %7.1f GFLOP/s\n", threads, fma_peak(threads, 16));
        return 0;
    }
    if (strncmp(what, "gemm", 4) == 0) {
        printf("photoseek gemm    %d threads %7.1f GFLOP/s\n", threads, own_gemm_gflops(threads));
        return 0;
    }
    psk_model_params p = psk_model_default_params();
    p.load_text = 0;
    p.precision = strncmp(what, "q8", 2) == 0 ? PSK_PRECISION_INT8 : PSK_PRECISION_FP32;
    psk_model *m;
    psk_error err;
    if (psk_model_load(clip, &p, &m, &err)) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    double ips = bench_vision(m, 32, threads, 5);
    printf("vision %s  batch 32  threads %d  %7.2f images/s\n", p.precision == PSK_PRECISION_INT8 ? "int8" : "fp32",
           threads, ips);
    psk_model_free(m);
    return 0;
}

int main(int argc, char **argv) {
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char clip_dir[1024], mclip_dir[1024], outl_dir[1024];
    snprintf(clip_dir, sizeof clip_dir, "%s/photoseek-bench/clip-vit-b-32", tmp);
    snprintf(mclip_dir, sizeof mclip_dir, "%s/photoseek-bench/mclip", tmp);
    snprintf(outl_dir, sizeof outl_dir, "%s/photoseek-bench/clip-vit-b-32-outliers", tmp);
    const char *clip = argc > 1 ? argv[1] : ensure_model("clip-vit-b-32", clip_dir, false);
    const char *mclip = argc > 2 ? argv[2] : ensure_model("mclip-distilbert", mclip_dir, false);
    const char *outl = argc > 3 ? argv[3] : ensure_model("clip-vit-b-32", outl_dir, true);
    bool quick = getenv("BENCH_QUICK") != NULL;

    const char *level = psk_kernels()->name;
    printf("kernels           %s (PHOTOSEEK_KERNELS=ref|avx2|avx512 forces a level)\n", level);
    const char *only = getenv("BENCH_ONLY");
    if (only) return bench_only(only, clip);
    double ymm1 = fma_peak(1, 8), ymm2 = fma_peak(2, 8);
    printf("fma_peak ymm      1 thread %7.1f GFLOP/s   2 threads %7.1f GFLOP/s\n", ymm1, ymm2);
    double peak1 = ymm1, peak2 = ymm2;
    if (psk_cpu_has_avx512()) {
        peak1 = fma_peak(1, 16);
        peak2 = fma_peak(2, 16);
        printf("fma_peak zmm      1 thread %7.1f GFLOP/s   2 threads %7.1f GFLOP/s  (the peak fractions below use it)\n",
               peak1, peak2);
    }
    double blas1 = blas_gflops(1), blas2 = blas_gflops(2);
    printf("openblas sgemm    1 thread %7.1f GFLOP/s   2 threads %7.1f GFLOP/s  (M=1600, encoder shapes)\n", blas1,
           blas2);

    double own1 = own_gemm_gflops(1), own2 = own_gemm_gflops(2);
    printf("photoseek gemm    1 thread %7.1f GFLOP/s   2 threads %7.1f GFLOP/s  (same shapes; %.2f / %.2f of FMA "
           "peak)\n", own1, own2, own1 / peak1, own2 / peak2);
    psk_model *m;
    psk_error err;
    if (psk_model_load(clip, NULL, &m, &err)) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    double gf = vision_flops_per_image() / 1e9, b32t[3] = {0, 0, 0};
    printf("vision encoder: %.2f GFLOP per image\n", gf);
    int batches[3] = {1, 8, 32};
    for (int t = 1; t <= 2; t++) {
        for (int b = 0; b < 3; b++) {
            int reps = quick ? 1 : (batches[b] == 32 ? 3 : 5);
            double ips = bench_vision(m, batches[b], t, reps);
            double gfs = ips * gf;
            printf("vision  batch %2d  threads %d  %7.2f images/s  %7.1f GFLOP/s  %.2f of FMA peak  %.2f of sgemm\n",
                   batches[b], t, ips, gfs, gfs / (t == 1 ? peak1 : peak2), gfs / (t == 1 ? blas1 : blas2));
            if (b == 2) b32t[t] = ips;
        }
    }
    psk_model_params q8p = psk_model_default_params();
    q8p.precision = PSK_PRECISION_INT8;
    q8p.load_text = 0;
    psk_model *m8;
    double int8_b32 = 0, int8_b32_t1 = 0;
    if (psk_model_load(clip, &q8p, &m8, &err) == PSK_OK) {
        for (int t = 1; t <= 2; t++) {
            double ips = bench_vision(m8, 32, t, quick ? 1 : 3);
            printf("vision int8  batch 32  threads %d  %7.2f images/s  (%.2fx float32)\n", t, ips,
                   b32t[t] > 0 ? ips / b32t[t] : 0);
            if (t == 2) int8_b32 = ips;
            else int8_b32_t1 = ips;
        }
        psk_model_free(m8);
    }
    const char *q = "a photo of a cat";
    double text_ms = bench_text(m, q, quick ? 3 : 31);
    printf("clip text query   '%s'  %.2f ms (1 thread, median)\n", q, text_ms);
    psk_model_free(m);
    double mclip_ms = -1;
    if (psk_model_load(mclip, NULL, &m, &err) == PSK_OK) {
        const char *q5 = "a dog running on beach";
        mclip_ms = bench_text(m, q5, quick ? 3 : 31);
        printf("mclip text query  '%s'  %.2f ms (1 thread, median, tokenize + encode)\n", q5, mclip_ms);
        psk_model_free(m);
    } else {
        fprintf(stderr, "bench: %s\n", err.message);
    }
    double cos_mean = 0, cos_min = 0, cos_mean_o = 0, cos_min_o = 0;
    int n_cos = quick ? 32 : 64;
    if (int8_cosines(clip, n_cos, &cos_mean, &cos_min) == 0)
        printf("int8 vs float32 image embeddings, %d random pixel tensors: cosine mean %.5f min %.5f\n", n_cos,
               cos_mean, cos_min);
    if (int8_cosines(outl, n_cos, &cos_mean_o, &cos_min_o) == 0)
        printf("  the same on the --outliers model:                         cosine mean %.5f min %.5f\n", cos_mean_o,
               cos_min_o);
    double b32t2 = b32t[2], gfs = b32t2 * gf;
    printf("RESULT vision_img_per_s_b32_t2=%.2f fma_peak_fraction=%.3f sgemm_fraction=%.3f text_query_ms=%.2f "
           "mclip_query_ms=%.2f int8_img_per_s_b32_t2=%.2f int8_speedup=%.2f kernels=%s fma_peak_ymm_t2=%.1f "
           "fma_peak_t2=%.1f vision_img_per_s_b32_t1=%.2f int8_img_per_s_b32_t1=%.2f int8_cos_mean=%.5f "
           "int8_cos_min=%.5f int8_cos_mean_outliers=%.5f int8_cos_min_outliers=%.5f\n",
           b32t2, gfs / peak2, gfs / blas2, text_ms, mclip_ms, int8_b32, b32t2 > 0 ? int8_b32 / b32t2 : 0, level, ymm2,
           peak2, b32t[1], int8_b32_t1, cos_mean, cos_min, cos_mean_o, cos_min_o);
    return 0;
}
