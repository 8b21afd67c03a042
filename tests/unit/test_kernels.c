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

/* ---- each vector level against the reference: the checks take the level's table ---- */

/* Names a test per level; a level the CPU lacks is skipped with the reason. */
#define FOR_LEVEL(check, level, lacks)                                                                                 \
    TEST(check##_##level) {                                                                                            \
        const psk_kernel_table *v = psk_kernels_##level();                                                             \
        if (!v) SKIP("this CPU (or its OS) has no %s", lacks);                                                         \
        check(v);                                                                                                      \
    }
#define FOR_EACH_LEVEL(check)                                                                                          \
    FOR_LEVEL(check, avx2, "AVX2+FMA")                                                                                 \
    FOR_LEVEL(check, avx512, "AVX-512 F/BW/VL/DQ + VNNI")

static void microkernel_matches_reference(const psk_kernel_table *v) {
    int MR = v->gemm_mr, NR = v->gemm_nr, ldc = NR + 4;
    for (int kc = 1; kc <= 300; kc += 37) {
        float *a = psk_malloc_aligned(sizeof(float) * kc * MR), *b = psk_malloc_aligned(sizeof(float) * kc * NR);
        float c1[PSK_GEMM_MR_MAX * (PSK_GEMM_NR_MAX + 4)], c2[PSK_GEMM_MR_MAX * (PSK_GEMM_NR_MAX + 4)];
        int nc = MR * ldc;
        fill(a, (size_t)kc * MR);
        fill(b, (size_t)kc * NR);
        for (int mr = 1; mr <= MR; mr++)
            for (int nr = 1; nr <= NR; nr += 3) {
                fill(c1, (size_t)nc);
                memcpy(c2, c1, sizeof(float) * nc);
                bool load = (mr + nr) % 2;
                psk_gemm_ukr_ref(MR, NR, kc, a, b, c1, ldc, mr, nr, load);
                v->gemm_ukr(kc, a, b, c2, ldc, mr, nr, load);
                double d = max_abs_diff(c1, c2, (size_t)nc);
                if (d > 1e-4 * (1 + sqrt(kc))) {
                    psk_free_aligned(a);
                    psk_free_aligned(b);
                    CHECKF(false, "%s ukr kc=%d mr=%d nr=%d: %g", v->name, kc, mr, nr, d);
                }
            }
        psk_free_aligned(a);
        psk_free_aligned(b);
    }
}
FOR_EACH_LEVEL(microkernel_matches_reference)

/* Packing A: the same floats, bit for bit, for row counts around MR and column counts around 16 (AVX-512 packs by
 * 16 x 16 transposes). */
static void pack_a_matches_reference(const psk_kernel_table *v) {
    static const int mcs[] = {1, 5, 13, 14, 15, 29, 112}, kcs[] = {1, 3, 15, 16, 17, 100, 768};
    for (size_t x = 0; x < sizeof mcs / sizeof mcs[0]; x++)
        for (size_t y = 0; y < sizeof kcs / sizeof kcs[0]; y++) {
            int mc = mcs[x], kc = kcs[y], lda = kc + 3, MR = v->gemm_mr, panels = (mc + MR - 1) / MR;
            size_t nd = (size_t)panels * MR * kc;
            float *a = malloc(sizeof(float) * (size_t)mc * lda), *d1 = malloc(sizeof(float) * nd),
                  *d2 = malloc(sizeof(float) * nd);
            fill(a, (size_t)mc * lda);
            memset(d2, 0x7f, sizeof(float) * nd);
            psk_gemm_pack_a_ref(MR, a, lda, mc, kc, d1);
            v->gemm_pack_a(a, lda, mc, kc, d2);
            CHECKF(memcmp(d1, d2, sizeof(float) * nd) == 0, "%s pack_a mc %d kc %d", v->name, mc, kc);
            free(a);
            free(d1);
            free(d2);
        }
}
FOR_EACH_LEVEL(pack_a_matches_reference)

/* Random A (m x k), W (n x k) and bias, and two outputs. */
typedef struct gemm_data {
    float *a, *w, *bias, *c1, *c2;
} gemm_data;

static gemm_data gemm_data_new(int m, int n, int k) {
    gemm_data g = {malloc(sizeof(float) * m * k), malloc(sizeof(float) * n * k), malloc(sizeof(float) * n),
                   malloc(sizeof(float) * m * n), malloc(sizeof(float) * m * n)};
    fill(g.a, (size_t)m * k);
    fill(g.w, (size_t)n * k);
    fill(g.bias, (size_t)n);
    return g;
}

static void gemm_data_free(gemm_data *g) {
    free(g->a);
    free(g->w);
    free(g->bias);
    free(g->c1);
    free(g->c2);
}

/* The blocked GEMM driver on the level's own packing and tile. */
static void gemm_driver_matches_reference(const psk_kernel_table *v) {
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    static const int shapes[][3] = {{1, 33, 70}, {3, 100, 530}, {29, 31, 257}, {200, 300, 300}, {1600 / 8, 96, 768}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0] && !test_failed(); s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        gemm_data g = gemm_data_new(m, n, k);
        float *a = g.a, *w = g.w, *bias = g.bias, *c1 = g.c1, *c2 = g.c2;
        psk_packed p;
        CHECK(psk_pack_weights_nr(w, n, k, k, false, v->gemm_nr, &p) == PSK_OK);
        CHECK(psk_kernels_for_strip(false, v->gemm_nr) == v || v->gemm_nr == 16);
        psk_gemm(pool, m, a, k, &p, bias, c1, n, false, PSK_ACT_QUICK_GELU);
        psk_gemm_ref(m, n, k, a, k, w, k, bias, c2, n, false, PSK_ACT_QUICK_GELU);
        double d = max_abs_diff(c1, c2, (size_t)m * n);
        psk_packed_free(&p);
        gemm_data_free(&g);
        CHECKF(d < 1e-4 * (1 + sqrt(k)), "%s gemm %d x %d x %d: %g", v->name, m, n, k, d);
    }
    psk_pool_free(pool);
}
FOR_EACH_LEVEL(gemm_driver_matches_reference)

static void layer_norm_and_activations_match_reference(const psk_kernel_table *v) {
    const psk_kernel_table *ref = psk_kernels_ref();
    static const int ns[] = {1, 7, 8, 9, 15, 16, 17, 24, 48, 513, 768};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t];
        float x[768], g[768], b[768], o1[768], o2[768];
        fill(x, (size_t)n);
        fill(g, (size_t)n);
        fill(b, (size_t)n);
        for (int i = 0; i < n; i++) x[i] = x[i] * 10 + 3; /* an offset mean, as real activations have */
        ref->layer_norm(x, g, b, n, 1e-5f, o1);
        v->layer_norm(x, g, b, n, 1e-5f, o2);
        CHECKF(max_abs_diff(o1, o2, (size_t)n) < 1e-5, "%s layer_norm n=%d: %g", v->name, n, max_abs_diff(o1, o2, (size_t)n));
        for (int act = 0; act <= 3; act++) {
            for (int i = 0; i < n; i++) o1[i] = o2[i] = x[i] - 3;
            ref->bias_act(o1, b, n, (psk_act)act);
            v->bias_act(o2, b, n, (psk_act)act);
            CHECKF(max_abs_diff(o1, o2, (size_t)n) < 2e-6 * 10, "%s bias_act %d n=%d: %g", v->name, act, n,
                   max_abs_diff(o1, o2, (size_t)n));
        }
    }
}
FOR_EACH_LEVEL(layer_norm_and_activations_match_reference)

static void attention_matches_reference(const psk_kernel_table *v) {
    const psk_kernel_table *ref = psk_kernels_ref();
    /* head sizes and lengths on both sides of the tiled AVX-512 version's limits (head_dim 64 or 128, up to 128
     * keys, blocks of 8 queries, 32 keys per score tile); one_query: a single query against every key (the text
     * tower's pooled row) */
    static const int dims[] = {8, 12, 16, 32, 64, 80, 128}, lens[] = {1, 7, 9, 17, 33, 50, 77, 128, 129};
    for (size_t a = 0; a < sizeof dims / sizeof dims[0]; a++)
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
            for (int mode = 0; mode <= 2; mode++) {
                bool causal = mode == 1, one_query = mode == 2;
                int hd = dims[a], n = lens[l], ld = 3 * hd + 5, nq = one_query ? 1 : n;
                float *qkv = malloc(sizeof(float) * n * ld), *o1 = malloc(sizeof(float) * n * hd),
                      *o2 = malloc(sizeof(float) * n * hd), scratch[160];
                fill(qkv, (size_t)n * ld);
                const float *q = qkv + (one_query ? (size_t)(n - 1) * ld : 0);
                ref->attention(q, ld, qkv + hd, ld, qkv + 2 * hd, ld, nq, n, hd, 0.125f, causal, o1, hd, scratch);
                v->attention(q, ld, qkv + hd, ld, qkv + 2 * hd, ld, nq, n, hd, 0.125f, causal, o2, hd, scratch);
                double d = max_abs_diff(o1, o2, (size_t)nq * hd);
                free(qkv);
                free(o1);
                free(o2);
                CHECKF(d < 1e-5, "%s attention hd=%d n=%d mode=%d: %g", v->name, hd, n, mode, d);
            }
}
FOR_EACH_LEVEL(attention_matches_reference)

/* The vector scans: exact integer sums, so bit for bit; float32 closely; dims with every kind of tail. */
static void scans_match_reference(const psk_kernel_table *v) {
    const psk_kernel_table *ref = psk_kernels_ref();
    static const int dims[] = {1, 15, 16, 31, 32, 33, 100, 512, 520, 768};
    int n = 11;
    int8_t *q = malloc((size_t)n * 768), *q2 = malloc((size_t)n * 768);
    float *f = malloc(sizeof(float) * n * 768), scale[11], qv[768], o1[11], o2[11];
    int16_t q16[768];
    for (int i = 0; i < n * 768; i++) {
        q[i] = (int8_t)(i * 7 % 255 - 127);
        q2[i] = (int8_t)(i * 13 % 256 - 128); /* -128 too */
        f[i] = frand();
    }
    for (int i = 0; i < n; i++) scale[i] = 0.01f * (i + 1);
    int32_t rows[7] = {10, 0, 3, 3, 9, 1, 5};
    for (size_t t = 0; t < sizeof dims / sizeof dims[0] && !test_failed(); t++) {
        int dim = dims[t];
        fill(qv, (size_t)dim);
        float qs = psk_quantize_query(qv, dim, q16);
        ref->scan_i8(q, scale, n, dim, q16, qs, o1);
        v->scan_i8(q, scale, n, dim, q16, qs, o2);
        for (int i = 0; i < n; i++) CHECKF(o1[i] == o2[i], "%s scan_i8 dim %d row %d: %g vs %g", v->name, dim, i, o1[i], o2[i]);
        ref->scan_i8_rows(q, scale, rows, 7, dim, q16, qs, o1);
        v->scan_i8_rows(q, scale, rows, 7, dim, q16, qs, o2);
        for (int i = 0; i < 7; i++) CHECKF(o1[i] == o2[i], "%s scan_i8_rows dim %d row %d", v->name, dim, i);
        for (int i = 0; i < n; i++)
            CHECKF(ref->dot_i8(q + i * dim, q2 + i * dim, dim) == v->dot_i8(q + i * dim, q2 + i * dim, dim),
                   "%s dot_i8 dim %d row %d", v->name, dim, i);
        ref->scan_f32(f, n, dim, qv, o1);
        v->scan_f32(f, n, dim, qv, o2);
        for (int i = 0; i < n; i++)
            CHECKF(fabsf(o1[i] - o2[i]) < 1e-5f * (1 + sqrtf((float)dim)), "%s scan_f32 dim %d row %d", v->name, dim, i);
    }
    free(q);
    free(q2);
    free(f);
}
FOR_EACH_LEVEL(scans_match_reference)

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

static void int8_kernels_match_reference(const psk_kernel_table *v) {
    const psk_kernel_table *ref = psk_kernels_ref();
    /* quantisation, at 7 bits and at the level's own range: bit for bit */
    static const int ns[] = {1, 7, 8, 15, 16, 17, 33, 768};
    int qmaxes[2] = {127, v->q8_act_max};
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++)
        for (int qi = 0; qi < 2; qi++) {
            float x[768];
            uint8_t q1[768], q2[768];
            fill(x, (size_t)ns[t]);
            if (t % 2) for (int i = 0; i < ns[t]; i++) x[i] += 0.5f; /* a row whose range does not straddle 0 */
            float s1, s2;
            int32_t z1, z2;
            ref->quantize_row(x, ns[t], qmaxes[qi], q1, &s1, &z1);
            v->quantize_row(x, ns[t], qmaxes[qi], q2, &s2, &z2);
            CHECKF(s1 == s2 && z1 == z2 && memcmp(q1, q2, (size_t)ns[t]) == 0, "%s quantize n=%d qmax=%d", v->name, ns[t],
                   qmaxes[qi]);
            for (int i = 0; i < ns[t]; i++) CHECK(q1[i] <= qmaxes[qi]);
        }
    /* micro-kernel: exact integer sums, with activations up to the level's range */
    int NR = v->q8_nr, TW = 2 * NR, kq = 37, lda = kq * 4 + 8;
    uint8_t *a = malloc((size_t)PSK_Q8_MR_MAX * lda);
    int8_t *b = psk_malloc_aligned(2 * (size_t)kq * 4 * NR);
    for (int i = 0; i < PSK_Q8_MR_MAX * lda; i++) a[i] = (uint8_t)(i * 37 % (v->q8_act_max + 1));
    for (int i = 0; i < 2 * kq * 4 * NR; i++) b[i] = (int8_t)(i * 53 % 255 - 127);
    for (int mr = 1; mr <= v->q8_mr; mr++) {
        int32_t o1[PSK_Q8_MR_MAX * 2 * PSK_Q8_NR_MAX], o2[PSK_Q8_MR_MAX * 2 * PSK_Q8_NR_MAX];
        psk_gemm_q8_ukr_ref(NR, kq, a, lda, mr, b, b + kq * 4 * NR, o1);
        v->gemm_q8_ukr(kq, a, lda, mr, b, b + kq * 4 * NR, o2);
        CHECKF(memcmp(o1, o2, sizeof(int32_t) * TW * (size_t)mr) == 0, "%s q8 ukr mr %d", v->name, mr);
    }
    free(a);
    psk_free_aligned(b);
    /* the epilogue: the same floats, bit for bit, with and without bias, storing and accumulating, full and short */
    int32_t acc[32], wsum[32];
    float wscale[32], bias[32], base[32];
    for (int t = 0; t < 32; t++) {
        acc[t] = (t * 7919) % 200000 - 100000;
        wsum[t] = t * 31 - 200;
        wscale[t] = 0.001f * (t + 1);
        bias[t] = 0.1f * t - 0.7f;
        base[t] = 0.25f * t;
    }
    int widths[4] = {TW, TW - 5, 1, TW / 2 + 1};
    for (int variant = 0; variant < 16 * 4; variant++) {
        int nc = widths[(variant >> 2) & 3];
        bool acc_mode = variant & 1;
        const float *bb = variant & 2 ? bias : NULL;
        psk_act act = (psk_act)(variant >> 4); /* NONE (bit for bit), then the fused activations */
        float r1[32], r2[32];
        memcpy(r1, base, sizeof r1);
        memcpy(r2, base, sizeof r2);
        ref->dequant_q8(acc, nc, 0.0173f, 57, wscale, wsum, bb, r1, acc_mode, act);
        v->dequant_q8(acc, nc, 0.0173f, 57, wscale, wsum, bb, r2, acc_mode, act);
        if (act == PSK_ACT_NONE)
            CHECKF(memcmp(r1, r2, sizeof r1) == 0, "%s dequant variant %d", v->name, variant);
        else
            CHECKF(max_abs_diff(r1, r2, 32) < 2e-5, "%s dequant variant %d (act %d): %g", v->name, variant, act,
                   max_abs_diff(r1, r2, 32));
    }
}
FOR_EACH_LEVEL(int8_kernels_match_reference)

/* The int8 GEMM of a level (its packing, quantiser and tile) against the float32 reference. */
static void int8_gemm_close_to_float(const psk_kernel_table *v) {
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    static const int shapes[][3] = {{1, 5, 3}, {7, 17, 33}, {50, 300, 96}, {130, 64, 768}, {13, 40, 3072}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        gemm_data g = gemm_data_new(m, n, k);
        float *a = g.a, *w = g.w, *bias = g.bias, *c1 = g.c1, *c2 = g.c2;
        psk_packed_q8 q;
        CHECK(psk_pack_weights_q8_nr(w, n, k, k, false, v ? v->q8_nr : psk_kernels()->q8_nr, &q) == PSK_OK);
        CHECK(psk_gemm_q8(pool, m, a, k, &q, bias, c1, n, false, PSK_ACT_NONE) == PSK_OK);
        psk_gemm_ref(m, n, k, a, k, w, k, bias, c2, n, false, PSK_ACT_NONE);
        double num = 0, den = 0;
        for (int i = 0; i < m * n; i++) {
            num += (c1[i] - c2[i]) * (c1[i] - c2[i]);
            den += c2[i] * c2[i];
        }
        psk_packed_q8_free(&q);
        gemm_data_free(&g);
        /* 8-bit activations (VNNI) halve the quantisation step of 7-bit ones */
        double limit = v && v->q8_act_max == 255 ? 0.01 : 0.02;
        CHECKF(sqrt(num / den) < limit, "%s shape %d x %d x %d: relative error %.4f", v ? v->name : "default", m, n, k,
               sqrt(num / den));
    }
    psk_pool_free(pool);
}
FOR_EACH_LEVEL(int8_gemm_close_to_float)

TEST(int8_gemm_is_close_to_float) {
    int8_gemm_close_to_float(NULL);
}

/* Activation outliers met by tiny weights (the --outliers stress rule, and real CLIP's massive activations): the
 * columns are found at packing, kept in float32, and the int8 product stays close. */
TEST(int8_gemm_keeps_outlier_columns_in_float) {
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    int m = 70, n = 96, k = 300;
    static const int cols[3] = {5, 150, 299};
    gemm_data g = gemm_data_new(m, n, k);
    for (int t = 0; t < 3; t++) {
        for (int j = 0; j < n; j++) g.w[(size_t)j * k + cols[t]] /= 100;
        for (int i = 0; i < m; i++) g.a[(size_t)i * k + cols[t]] *= 100;
    }
    psk_packed_q8 q;
    CHECK(psk_pack_weights_q8(g.w, n, k, k, false, &q) == PSK_OK);
    CHECKF(q.n_out == 3 && q.out_cols[0] == 5 && q.out_cols[1] == 150 && q.out_cols[2] == 299, "found %d", q.n_out);
    for (int acc = 0; acc <= 1; acc++) {
        fill(g.c1, (size_t)m * n);
        memcpy(g.c2, g.c1, sizeof(float) * m * n);
        CHECK(psk_gemm_q8(pool, m, g.a, k, &q, g.bias, g.c1, n, acc, acc ? PSK_ACT_NONE : PSK_ACT_QUICK_GELU) == PSK_OK);
        psk_gemm_ref(m, n, k, g.a, k, g.w, k, g.bias, g.c2, n, acc, acc ? PSK_ACT_NONE : PSK_ACT_QUICK_GELU);
        double num = 0, den = 0;
        for (int i = 0; i < m * n; i++) {
            num += (g.c1[i] - g.c2[i]) * (g.c1[i] - g.c2[i]);
            den += g.c2[i] * g.c2[i];
        }
        CHECKF(sqrt(num / den) < 0.02, "accumulate %d: relative error %.4f", acc, sqrt(num / den));
    }
    psk_packed_q8_free(&q);
    gemm_data_free(&g);
    psk_pool_free(pool);
}

/* Layer norm written straight as quantised rows: bit for bit what the level's layer_norm then quantize_row make,
 * and within a rounding step of the reference's. */
static void layer_norm_q8_matches_reference(const psk_kernel_table *v) {
    const psk_kernel_table *ref = psk_kernels_ref();
    static const int ns[] = {1, 7, 16, 17, 33, 768, 3072};
    float *x = malloc(sizeof(float) * 3072 * 4), *g = x + 3072, *b = g + 3072, *y = b + 3072;
    uint8_t *q1 = malloc(3 * 3072), *q2 = q1 + 3072, *q3 = q2 + 3072;
    for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
        int n = ns[t], qmax = v->q8_act_max;
        fill(x, (size_t)n);
        fill(g, (size_t)n);
        fill(b, (size_t)n);
        for (int i = 0; i < n; i++) x[i] = 3 * x[i] + 0.7f; /* an offset row: the mean matters */
        float s1, s2, s3;
        int32_t z1, z2, z3;
        v->layer_norm(x, g, b, n, 1e-5f, y);
        v->quantize_row(y, n, qmax, q1, &s1, &z1);
        v->layer_norm_q8(x, g, b, n, 1e-5f, qmax, q2, &s2, &z2);
        CHECKF(s1 == s2 && z1 == z2 && memcmp(q1, q2, (size_t)n) == 0, "%s layer_norm_q8 n=%d: not its own two kernels",
               v->name, n);
        ref->layer_norm_q8(x, g, b, n, 1e-5f, qmax, q3, &s3, &z3);
        int worst = 0;
        for (int i = 0; i < n; i++) worst = abs((int)q2[i] - q3[i]) > worst ? abs((int)q2[i] - q3[i]) : worst;
        CHECKF(fabsf(s2 - s3) <= 1e-5f * s3 && abs(z2 - z3) <= 1 && worst <= 1,
               "%s layer_norm_q8 n=%d vs reference: scale %g / %g, zero %d / %d, values differ by %d", v->name, n, s2, s3,
               z2, z3, worst);
    }
    free(x);
    free(q1);
}
FOR_EACH_LEVEL(layer_norm_q8_matches_reference)

TEST(layer_norm_q8_reference_is_layer_norm_then_quantize) {
    const psk_kernel_table *ref = psk_kernels_ref();
    float x[100], g[100], b[100], y[100], s1, s2;
    uint8_t q1[100], q2[100];
    int32_t z1, z2;
    fill(x, 100);
    fill(g, 100);
    fill(b, 100);
    ref->layer_norm(x, g, b, 100, 1e-5f, y);
    ref->quantize_row(y, 100, 255, q1, &s1, &z1);
    ref->layer_norm_q8(x, g, b, 100, 1e-5f, 255, q2, &s2, &z2);
    CHECK(s1 == s2 && z1 == z2 && memcmp(q1, q2, sizeof q1) == 0);
}

/* The fused path of the encoders' pre-LN blocks: psk_layer_norm_q8 + psk_gemm_q8_rows give bit for bit what the
 * layer norm in float32 then psk_gemm_q8 give; weights with float32 columns are refused. */
TEST(int8_gemm_on_layer_normed_rows_matches_unfused) {
    psk_pool *pool;
    CHECK(psk_pool_new(2, &pool) == PSK_OK);
    static const int shapes[][3] = {{1, 5, 8}, {50, 300, 96}, {130, 64, 770}};
    const psk_kernel_table *kt = psk_kernels();
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
        gemm_data gd = gemm_data_new(m, n, k);
        float *g = malloc(sizeof(float) * 2 * k), *b = g + k, *ln = malloc(sizeof(float) * (size_t)m * k);
        fill(g, 2 * (size_t)k);
        for (int i = 0; i < m; i++) kt->layer_norm(gd.a + (size_t)i * k, g, b, k, 1e-5f, ln + (size_t)i * k);
        psk_packed_q8 q;
        CHECK(psk_pack_weights_q8(gd.w, n, k, k, false, &q) == PSK_OK);
        CHECK(q.n_out == 0);
        void *mem = psk_malloc_aligned(psk_q8_rows_bytes(m, k));
        psk_q8_rows rows;
        psk_q8_rows_init(&rows, mem, m, k, kt->q8_act_max);
        psk_layer_norm_q8(pool, gd.a, k, g, b, 1e-5f, &rows);
        for (int act = 0; act <= 1; act++) {
            CHECK(psk_gemm_q8(pool, m, ln, k, &q, gd.bias, gd.c1, n, false, (psk_act)act) == PSK_OK);
            CHECK(psk_gemm_q8_rows(pool, &rows, &q, gd.bias, gd.c2, n, false, (psk_act)act) == PSK_OK);
            CHECKF(memcmp(gd.c1, gd.c2, sizeof(float) * (size_t)m * n) == 0, "%d x %d x %d act %d: differs", m, n, k,
                   act);
        }
        q.n_out = 1; /* as if a column were kept in float32 */
        CHECK(psk_gemm_q8_rows(pool, &rows, &q, gd.bias, gd.c2, n, false, PSK_ACT_NONE) == PSK_ERR_INVALID_ARG);
        q.n_out = 0;
        psk_packed_q8_free(&q);
        psk_free_aligned(mem);
        free(g);
        free(ln);
        gemm_data_free(&gd);
    }
    psk_pool_free(pool);
}

/* The int8 tile with its epilogue: what the reference micro-kernel then the reference epilogue make on each row, bit
 * for bit without an activation, for every row count, full and short tiles, with and without bias, storing and
 * accumulating. */
static void int8_tile_matches_reference(const psk_kernel_table *v) {
    const psk_kernel_table *ref = psk_kernels_ref();
    int NR = v->q8_nr, TW = 2 * NR, kq = 29, lda = kq * 4 + 4, ldc = TW + 3;
    uint8_t *a = malloc((size_t)PSK_Q8_MR_MAX * lda);
    int8_t *b = psk_malloc_aligned(2 * (size_t)kq * 4 * NR);
    for (int i = 0; i < PSK_Q8_MR_MAX * lda; i++) a[i] = (uint8_t)(i * 41 % (v->q8_act_max + 1));
    for (int i = 0; i < 2 * kq * 4 * NR; i++) b[i] = (int8_t)(i * 59 % 255 - 127);
    float sa[PSK_Q8_MR_MAX], wscale[2 * PSK_Q8_NR_MAX], bias[2 * PSK_Q8_NR_MAX];
    int32_t z[PSK_Q8_MR_MAX], wsum[2 * PSK_Q8_NR_MAX];
    for (int r = 0; r < PSK_Q8_MR_MAX; r++) {
        sa[r] = 0.002f * (r + 1);
        z[r] = 3 * r + 11;
    }
    for (int t = 0; t < TW; t++) {
        wscale[t] = 0.0007f * (t % 5 + 1);
        bias[t] = 0.05f * t - 0.4f;
        int32_t s = 0;
        for (int g = 0; g < kq; g++)
            for (int e = 0; e < 4; e++) s += b[(t < NR ? 0 : kq * 4 * NR) + g * 4 * NR + (t % NR) * 4 + e];
        wsum[t] = s;
    }
    int widths[4] = {TW, TW - 5, 1, NR + 1};
    float c1[PSK_Q8_MR_MAX * (2 * PSK_Q8_NR_MAX + 3)], c2[PSK_Q8_MR_MAX * (2 * PSK_Q8_NR_MAX + 3)];
    int32_t acc[PSK_Q8_MR_MAX * 2 * PSK_Q8_NR_MAX];
    for (int mr = 1; mr <= v->q8_mr; mr++)
        for (int variant = 0; variant < 4 * 4 * 2; variant++) {
            int nc = widths[variant & 3];
            bool accumulate = variant & 4, with_bias = variant & 8;
            psk_act act = accumulate || !(variant & 16) ? PSK_ACT_NONE : PSK_ACT_QUICK_GELU;
            fill(c1, sizeof c1 / sizeof c1[0]);
            memcpy(c2, c1, sizeof c1);
            psk_gemm_q8_ukr_ref(NR, kq, a, lda, mr, b, b + kq * 4 * NR, acc);
            for (int r = 0; r < mr; r++)
                ref->dequant_q8(acc + r * TW, nc, sa[r], z[r], wscale, wsum, with_bias ? bias : NULL, c1 + r * ldc,
                                accumulate, act);
            v->gemm_q8_tile(kq, a, lda, mr, b, b + kq * 4 * NR, sa, z, wscale, wsum, with_bias ? bias : NULL, c2, ldc,
                            nc, accumulate, act);
            double d = max_abs_diff(c1, c2, sizeof c1 / sizeof c1[0]);
            CHECKF(act == PSK_ACT_NONE ? d == 0 : d < 2e-5, "%s q8 tile mr %d nc %d acc %d bias %d act %d: %g", v->name,
                   mr, nc, accumulate, with_bias, act, d);
        }
    free(a);
    psk_free_aligned(b);
}
FOR_EACH_LEVEL(int8_tile_matches_reference)

/* The remainder of a quantised matrix carries the weights to ~15 bits: hi + lo is ~100x closer to W than hi. */
TEST(int8_weights_remainder_is_far_closer) {
    int n = 40, k = 300;
    float *w = malloc(sizeof(float) * n * k);
    fill(w, (size_t)n * k);
    psk_packed p;
    psk_packed_q8 hi, lo;
    CHECK(psk_pack_weights(w, n, k, k, false, &p) == PSK_OK);
    CHECK(psk_pack_q8_from_packed(&p, &hi) == PSK_OK && hi.n_out == 0);
    CHECK(psk_pack_q8_residual(&p, &hi, &lo) == PSK_OK);
    double e_hi = 0, e_both = 0;
    for (int j = 0; j < n; j++)
        for (int kk = 0; kk < k; kk++) {
            size_t at = ((size_t)(j / hi.nr) * hi.kq + kk / 4) * 4 * hi.nr + (j % hi.nr) * 4 + kk % 4;
            double vh = hi.scale[j] * hi.data[at], vl = lo.scale[j] * lo.data[at];
            e_hi = fmax(e_hi, fabs(w[(size_t)j * k + kk] - vh));
            e_both = fmax(e_both, fabs(w[(size_t)j * k + kk] - vh - vl));
        }
    CHECKF(e_hi > 0 && e_both < e_hi / 100, "largest error: hi %g, hi + lo %g", e_hi, e_both);
    psk_packed_q8_free(&lo);
    hi.n_out = 1; /* a matrix with float32 columns has no remainder */
    CHECK(psk_pack_q8_residual(&p, &hi, &lo) == PSK_ERR_INVALID_ARG);
    hi.n_out = 0;
    psk_packed_q8_free(&hi);
    psk_packed_free(&p);
    free(w);
}
