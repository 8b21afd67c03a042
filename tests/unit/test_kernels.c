/* Kernel parity: every vectorised kernel against its plain C reference, on random inputs of awkward sizes. */
#include "test.h"

#include "../../src/common/common.h"
#include "../../src/kernels/kernels.h"

static unsigned rng_state = 12345;
static float frand(void) {
    rng_state = rng_state * 1103515245u + 12345u;
    return ((rng_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}
static void fill(float *v, size_t n) {
    for (size_t i = 0; i < n; i++) v[i] = frand();
}
static double max_abs_diff(const float *a, const float *b, size_t n) {
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)a[i] - b[i]));
    return d;
}

static void gemm_case(psk_pool *pool, int m, int n, int k, bool accumulate, psk_act act, bool bias, bool transposed) {
    float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *wt = malloc(sizeof(float) * n * k);
    float *b = malloc(sizeof(float) * n), *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
    fill(a, (size_t)m * k);
    fill(w, (size_t)n * k);
    fill(b, (size_t)n);
    fill(c1, (size_t)m * n);
    memcpy(c2, c1, sizeof(float) * m * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < k; j++) wt[(size_t)j * n + i] = w[(size_t)i * k + j];
    psk_packed p;
    int rc = transposed ? psk_pack_weights(wt, n, k, n, true, &p) : psk_pack_weights(w, n, k, k, false, &p);
    if (rc == PSK_OK) {
        psk_gemm(pool, m, a, k, &p, bias ? b : NULL, c1, n, accumulate, act);
        psk_gemm_ref(m, n, k, a, k, w, k, bias ? b : NULL, c2, n, accumulate, act);
        psk_packed_free(&p);
    }
    double d = max_abs_diff(c1, c2, (size_t)m * n);
    free(a); free(w); free(wt); free(b); free(c1); free(c2);
    CHECKF(rc == PSK_OK, "pack failed");
    CHECKF(d < 1e-4 * (1 + sqrt(k)), "gemm m=%d n=%d k=%d acc=%d act=%d: max diff %g", m, n, k, accumulate, act, d);
}

TEST(gemm_matches_reference_on_awkward_sizes) {
    static const int ms[] = {1, 5, 6, 7, 13, 97, 200}, ns[] = {1, 15, 16, 17, 33, 300}, ks[] = {1, 3, 255, 256, 257, 530};
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++)
            for (size_t l = 0; l < sizeof ks / sizeof ks[0]; l++) {
                gemm_case(pool, ms[i], ns[j], ks[l], false, PSK_ACT_NONE, (i + j) % 2, (i + l) % 3 == 0);
                if (test_failed()) break;
            }
    psk_pool_free(pool);
}

TEST(gemm_fused_epilogues_match_reference) {
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    gemm_case(pool, 50, 100, 70, true, PSK_ACT_NONE, true, false);
    gemm_case(pool, 50, 100, 70, false, PSK_ACT_QUICK_GELU, true, false);
    gemm_case(pool, 23, 41, 300, false, PSK_ACT_GELU_ERF, true, false);
    gemm_case(pool, 3, 9, 31, false, PSK_ACT_TANH, false, false);
    psk_pool_free(pool);
}

TEST(microkernel_avx2_matches_reference) {
    const psk_kernel_table *ref = psk_kernels_ref(), *v = psk_kernels_avx2();
    if (!v) SKIP("this CPU has no AVX2+FMA");
    for (int kc = 1; kc <= 300; kc += 37) {
        float *a = psk_malloc_aligned(sizeof(float) * kc * PSK_GEMM_MR), *b = psk_malloc_aligned(sizeof(float) * kc * PSK_GEMM_NR);
        float c1[6 * 20], c2[6 * 20];
        fill(a, (size_t)kc * PSK_GEMM_MR);
        fill(b, (size_t)kc * PSK_GEMM_NR);
        for (int mr = 1; mr <= 6; mr += 2)
            for (int nr = 1; nr <= 16; nr += 5) {
                fill(c1, 120);
                memcpy(c2, c1, sizeof c1);
                bool load = (mr + nr) % 2;
                ref->gemm_ukr(kc, a, b, c1, 20, mr, nr, load);
                v->gemm_ukr(kc, a, b, c2, 20, mr, nr, load);
                double d = max_abs_diff(c1, c2, 120);
                if (d > 1e-4 * (1 + sqrt(kc))) {
                    psk_free_aligned(a);
                    psk_free_aligned(b);
                    CHECKF(false, "ukr kc=%d mr=%d nr=%d: %g", kc, mr, nr, d);
                }
            }
        psk_free_aligned(a);
        psk_free_aligned(b);
    }
}

TEST(layer_norm_and_activations_match_reference) {
    const psk_kernel_table *ref = psk_kernels_ref(), *v = psk_kernels_avx2();
    if (!v) SKIP("this CPU has no AVX2+FMA");
    static const int ns[] = {1, 7, 8, 9, 24, 48, 513, 768};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float x[768], g[768], b[768], o1[768], o2[768];
        fill(x, (size_t)n);
        fill(g, (size_t)n);
        fill(b, (size_t)n);
        for (int i = 0; i < n; i++) x[i] = x[i] * 10 + 3; /* an offset mean, as real activations have */
        ref->layer_norm(x, g, b, n, 1e-5f, o1);
        v->layer_norm(x, g, b, n, 1e-5f, o2);
        CHECKF(max_abs_diff(o1, o2, (size_t)n) < 1e-5, "layer_norm n=%d: %g", n, max_abs_diff(o1, o2, (size_t)n));
        for (int act = 0; act <= 3; act++) {
            for (int i = 0; i < n; i++) o1[i] = o2[i] = x[i] - 3;
            ref->bias_act(o1, b, n, (psk_act)act);
            v->bias_act(o2, b, n, (psk_act)act);
            CHECKF(max_abs_diff(o1, o2, (size_t)n) < 2e-6 * 10, "bias_act %d n=%d: %g", act, n, max_abs_diff(o1, o2, (size_t)n));
        }
    }
}

TEST(attention_matches_reference) {
    const psk_kernel_table *ref = psk_kernels_ref(), *v = psk_kernels_avx2();
    if (!v) SKIP("this CPU has no AVX2+FMA");
    static const int dims[] = {8, 12, 16, 64}, lens[] = {1, 7, 50, 77};
    for (size_t a = 0; a < 4; a++)
        for (size_t l = 0; l < 4; l++)
            for (int causal = 0; causal <= 1; causal++) {
                int hd = dims[a], n = lens[l], ld = 3 * hd + 5;
                float *qkv = malloc(sizeof(float) * n * ld), *o1 = malloc(sizeof(float) * n * hd),
                      *o2 = malloc(sizeof(float) * n * hd), scratch[128];
                fill(qkv, (size_t)n * ld);
                ref->attention(qkv, ld, qkv + hd, ld, qkv + 2 * hd, ld, n, n, hd, 0.125f, causal, o1, hd, scratch);
                v->attention(qkv, ld, qkv + hd, ld, qkv + 2 * hd, ld, n, n, hd, 0.125f, causal, o2, hd, scratch);
                double d = max_abs_diff(o1, o2, (size_t)n * hd);
                free(qkv);
                free(o1);
                free(o2);
                CHECKF(d < 1e-5, "attention hd=%d n=%d causal=%d: %g", hd, n, causal, d);
            }
}

static void count_task(void *arg, int task, int thread) {
    (void)thread;
    __atomic_fetch_add(&((int *)arg)[task], 1, __ATOMIC_RELAXED);
}

TEST(pool_runs_every_task_once) {
    psk_pool *pool;
    CHECK(psk_pool_new(3, &pool) == PSK_OK);
    static int hits[1000];
    memset(hits, 0, sizeof hits);
    for (int rep = 0; rep < 50; rep++) psk_pool_run(pool, 1000, count_task, hits);
    psk_pool_free(pool);
    for (int i = 0; i < 1000; i++) CHECKF(hits[i] == 50, "task %d ran %d times", i, hits[i]);
}

TEST(int8_kernels_match_reference) {
    const psk_kernel_table *ref = psk_kernels_ref(), *v = psk_kernels_avx2();
    if (!v) SKIP("this CPU has no AVX2+FMA");
    /* quantisation: bit for bit */
    static const int ns[] = {1, 7, 8, 33, 768};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        float x[768];
        uint8_t q1[768], q2[768];
        fill(x, (size_t)ns[t]);
        float s1, s2;
        int32_t z1, z2;
        ref->quantize_row_u7(x, ns[t], q1, &s1, &z1);
        v->quantize_row_u7(x, ns[t], q2, &s2, &z2);
        CHECK(s1 == s2 && z1 == z2 && memcmp(q1, q2, (size_t)ns[t]) == 0);
        for (int i = 0; i < ns[t]; i++) CHECK(q1[i] <= 127);
    }
    /* micro-kernel: exact integer sums */
    int kq = 37, lda = kq * 4 + 8;
    uint8_t *a = malloc((size_t)4 * lda);
    int8_t *b = psk_malloc_aligned(2 * (size_t)kq * 32);
    for (int i = 0; i < 4 * lda; i++) a[i] = (uint8_t)(i * 37 % 128);
    for (int i = 0; i < 2 * kq * 32; i++) b[i] = (int8_t)(i * 53 % 255 - 127);
    for (int mr = 1; mr <= 4; mr++) {
        int32_t o1[64], o2[64];
        ref->gemm_q8_ukr(kq, a, lda, mr, b, b + kq * 32, o1);
        v->gemm_q8_ukr(kq, a, lda, mr, b, b + kq * 32, o2);
        CHECKF(memcmp(o1, o2, sizeof(int32_t) * 16 * (size_t)mr) == 0, "mr %d", mr);
    }
    /* the epilogue: the same floats, bit for bit, with and without bias, storing and accumulating, full and short */
    {
        int32_t acc[16], wsum[16];
        float wscale[16], bias[16], base[16];
        for (int t = 0; t < 16; t++) {
            acc[t] = (t * 7919) % 200000 - 100000;
            wsum[t] = t * 31 - 200;
            wscale[t] = 0.001f * (t + 1);
            bias[t] = 0.1f * t - 0.7f;
            base[t] = 0.25f * t;
        }
        for (int variant = 0; variant < 8; variant++) {
            int nc = variant & 4 ? 11 : 16;
            bool acc_mode = variant & 1;
            const float *bb = variant & 2 ? bias : NULL;
            float r1[16], r2[16];
            memcpy(r1, base, sizeof r1);
            memcpy(r2, base, sizeof r2);
            ref->dequant_q8(acc, nc, 0.0173f, 57, wscale, wsum, bb, r1, acc_mode);
            v->dequant_q8(acc, nc, 0.0173f, 57, wscale, wsum, bb, r2, acc_mode);
            CHECKF(memcmp(r1, r2, sizeof r1) == 0, "dequant variant %d", variant);
        }
    }
    free(a);
    psk_free_aligned(b);
}

TEST(int8_gemm_is_close_to_float) {
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    static const int shapes[][3] = {{1, 5, 3}, {7, 17, 33}, {50, 300, 96}, {130, 64, 768}};
    for (size_t s = 0; s < 4; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        float *a = malloc(sizeof(float) * m * k), *w = malloc(sizeof(float) * n * k), *bias = malloc(sizeof(float) * n);
        float *c1 = malloc(sizeof(float) * m * n), *c2 = malloc(sizeof(float) * m * n);
        fill(a, (size_t)m * k);
        fill(w, (size_t)n * k);
        fill(bias, (size_t)n);
        psk_packed_q8 q;
        CHECK(psk_pack_weights_q8(w, n, k, k, false, &q) == PSK_OK);
        CHECK(psk_gemm_q8(pool, m, a, k, &q, bias, c1, n, false, PSK_ACT_NONE) == PSK_OK);
        psk_gemm_ref(m, n, k, a, k, w, k, bias, c2, n, false, PSK_ACT_NONE);
        double num = 0, den = 0;
        for (int i = 0; i < m * n; i++) {
            num += (c1[i] - c2[i]) * (c1[i] - c2[i]);
            den += c2[i] * c2[i];
        }
        psk_packed_q8_free(&q);
        free(a);
        free(w);
        free(bias);
        free(c1);
        free(c2);
        CHECKF(sqrt(num / den) < 0.02, "shape %d x %d x %d: relative error %.4f", m, n, k, sqrt(num / den));
    }
    psk_pool_free(pool);
}
