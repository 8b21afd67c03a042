/* Forward passes of the CLIP vision and text towers and of DistilBERT, on the kernels of src/kernels/.
 * Sequences are laid out row after row without padding: with per-sequence attention that is exactly what a padded
 * batch with an attention mask computes, without the wasted rows. */
#include "model.h"

#include <math.h>
#include <string.h>

#define VISION_CHUNK 32 /* images per pass: bounds scratch memory (about 50 MB for ViT-B/32) */

static bool grow(float **buf, size_t *cap, size_t need) {
    if (need <= *cap) return true;
    psk_free_aligned(*buf);
    *buf = psk_malloc_aligned(sizeof(float) * need);
    *cap = *buf ? need : 0;
    return *buf != NULL;
}

/* Makes room for `rows` token rows of tower t, `tmp` extra floats and attention scores for sequences up to
 * max_len tokens on every thread. */
static bool ensure(psk_context *ctx, const psk_tower *t, size_t rows, size_t tmp, size_t max_len) {
    size_t D = (size_t)t->width;
    ctx->score_stride = max_len;
    return grow(&ctx->x, &ctx->cap_x, rows * D) && grow(&ctx->h, &ctx->cap_h, rows * D) &&
           grow(&ctx->qkv, &ctx->cap_qkv, rows * 3 * D) && grow(&ctx->att, &ctx->cap_att, rows * D) &&
           grow(&ctx->ff, &ctx->cap_ff, rows * (size_t)t->mlp) && grow(&ctx->tmp, &ctx->cap_tmp, tmp ? tmp : 1) &&
           grow(&ctx->scores, &ctx->cap_scores, max_len * (size_t)psk_pool_threads(ctx->pool));
}

/* ---- row-parallel layer norm ---- */
typedef struct ln_job {
    const float *in;
    float *out;
    int rows, width, in_stride, out_stride;
    const float *g, *b;
    float eps;
} ln_job;

#define LN_ROWS_PER_TASK 64

static void ln_task(void *arg, int task, int thread) {
    (void)thread;
    const ln_job *j = arg;
    const psk_kernel_table *kt = psk_kernels();
    int r1 = (task + 1) * LN_ROWS_PER_TASK < j->rows ? (task + 1) * LN_ROWS_PER_TASK : j->rows;
    for (int r = task * LN_ROWS_PER_TASK; r < r1; r++)
        kt->layer_norm(j->in + (size_t)r * j->in_stride, j->g, j->b, j->width, j->eps, j->out + (size_t)r * j->out_stride);
}

static void layer_norm_rows(psk_pool *pool, const float *in, int in_stride, float *out, int out_stride, int rows,
                            int width, const float *g, const float *b, float eps) {
    ln_job j = {in, out, rows, width, in_stride, out_stride, g, b, eps};
    psk_pool_run(pool, (rows + LN_ROWS_PER_TASK - 1) / LN_ROWS_PER_TASK, ln_task, &j);
}

/* ---- attention over sequences of possibly different lengths ---- */
typedef struct att_job {
    const float *qkv;
    float *out;
    const int *starts, *lens;
    int n_heads, head_dim, width;
    bool causal;
    float *scores;
    int scores_stride;
} att_job;

static void att_task(void *arg, int task, int thread) {
    const att_job *j = arg;
    int s = task / j->n_heads, h = task % j->n_heads, W = j->width, ld = 3 * W;
    const float *q = j->qkv + (size_t)j->starts[s] * ld + (size_t)h * j->head_dim;
    psk_kernels()->attention(q, ld, q + W, ld, q + 2 * W, ld, j->lens[s], j->lens[s], j->head_dim,
                             1.0f / sqrtf((float)j->head_dim), j->causal,
                             j->out + (size_t)j->starts[s] * W + (size_t)h * j->head_dim, W,
                             j->scores + (size_t)thread * j->scores_stride);
}

/* One of a block's linear layers, in float32 or int8. */
static void linear(psk_context *ctx, int rows, const float *a, int lda, const psk_packed *f, const psk_packed_q8 *q,
                   bool use_q8, const float *bias, float *c, int ldc, bool accumulate, psk_act act) {
    if (use_q8) {
        if (psk_gemm_q8(ctx->pool, rows, a, lda, q, bias, c, ldc, accumulate, act)) ctx->oom = true;
    } else {
        psk_gemm(ctx->pool, rows, a, lda, f, bias, c, ldc, accumulate, act);
    }
}

/* A pre-LN block's layer norm and the linear layer after it: in int8 the layer norm writes the quantised rows
 * straight into ctx->h (never the float32 ones), unless the weights keep float32 columns, which need the float32
 * rows. */
static void norm_linear(psk_context *ctx, int rows, const float *ln_w, const float *ln_b, float eps, int D,
                        const psk_packed *f, const psk_packed_q8 *q, bool use_q8, const float *bias, float *c, int ldc,
                        psk_act act) {
    /* the fused kernels keep a row of at most PSK_Q8_K_MAX floats (longer rows keep no float32 columns, n_out 0) */
    if (use_q8 && q->n_out == 0 && D <= PSK_Q8_K_MAX && psk_q8_rows_bytes(rows, D) <= sizeof(float) * ctx->cap_h) {
        psk_q8_rows a;
        psk_q8_rows_init(&a, ctx->h, rows, D, psk_kernels()->q8_act_max);
        psk_layer_norm_q8(ctx->pool, ctx->x, D, ln_w, ln_b, eps, &a);
        if (psk_gemm_q8_rows(ctx->pool, &a, q, bias, c, ldc, false, act)) ctx->oom = true;
        return;
    }
    layer_norm_rows(ctx->pool, ctx->x, D, ctx->h, D, rows, D, ln_w, ln_b, eps);
    linear(ctx, rows, ctx->h, D, f, q, use_q8, bias, c, ldc, false, act);
}

/* Runs the transformer blocks on ctx->x (rows x width). */
static void run_blocks(psk_context *ctx, const psk_tower *t, int rows, const int *starts, const int *lens, int n_seq,
                       bool causal, int n_layers) {
    psk_pool *pool = ctx->pool;
    int D = t->width;
    for (int l = 0; l < n_layers; l++) {
        const psk_block *b = &t->blocks[l];
        att_job aj = {ctx->qkv, ctx->att, starts, lens, t->n_heads, D / t->n_heads, D, causal, ctx->scores,
                      (int)ctx->score_stride};
        if (!t->post_ln) {
            /* CLIP (pre-LN): x += attn(ln1(x)); x += mlp(ln2(x)) */
            norm_linear(ctx, rows, b->ln1_w, b->ln1_b, t->eps, D, &b->qkv, &b->qkv8, t->q8, b->qkv_b, ctx->qkv,
                        3 * D, PSK_ACT_NONE);
            psk_pool_run(pool, n_seq * t->n_heads, att_task, &aj);
            linear(ctx, rows, ctx->att, D, &b->out, &b->out8, t->q8, b->out_b, ctx->x, D, true, PSK_ACT_NONE);
            norm_linear(ctx, rows, b->ln2_w, b->ln2_b, t->eps, D, &b->fc1, &b->fc18, t->q8, b->fc1_b, ctx->ff,
                        t->mlp, t->act);
            linear(ctx, rows, ctx->ff, t->mlp, &b->fc2, &b->fc28, t->q8, b->fc2_b, ctx->x, D, true, PSK_ACT_NONE);
        } else {
            /* DistilBERT (post-LN): x = sa_ln(x + attn(x)); x = out_ln(x + ffn(x)) */
            linear(ctx, rows, ctx->x, D, &b->qkv, &b->qkv8, t->q8, b->qkv_b, ctx->qkv, 3 * D, false, PSK_ACT_NONE);
            psk_pool_run(pool, n_seq * t->n_heads, att_task, &aj);
            linear(ctx, rows, ctx->att, D, &b->out, &b->out8, t->q8, b->out_b, ctx->x, D, true, PSK_ACT_NONE);
            layer_norm_rows(pool, ctx->x, D, ctx->x, D, rows, D, b->ln1_w, b->ln1_b, t->eps);
            linear(ctx, rows, ctx->x, D, &b->fc1, &b->fc18, t->q8, b->fc1_b, ctx->ff, t->mlp, false, t->act);
            linear(ctx, rows, ctx->ff, t->mlp, &b->fc2, &b->fc28, t->q8, b->fc2_b, ctx->x, D, true, PSK_ACT_NONE);
            layer_norm_rows(pool, ctx->x, D, ctx->x, D, rows, D, b->ln2_w, b->ln2_b, t->eps);
        }
    }
}

/* The patch embedding in int8: the pixel rows quantised once (into ctx->h, free until the blocks run), times the
 * 8-bit weights and their remainder. */
static int patch_embed_q8(psk_context *ctx, const psk_tower *t, int rows, const float *cols, float *pe) {
    int D = t->width, KP = t->patch_w8.k;
    const psk_packed_q8 *hi = &t->patch_w8, *lo = &t->patch_w8lo;
    if (lo->n == 0) return psk_gemm_q8(ctx->pool, rows, cols, KP, hi, NULL, pe, D, false, PSK_ACT_NONE);
    if (lo->n_out || psk_q8_rows_bytes(rows, KP) > sizeof(float) * ctx->cap_h)
        return psk_gemm_q8(ctx->pool, rows, cols, KP, hi, NULL, pe, D, false, PSK_ACT_NONE) ||
               psk_gemm_q8(ctx->pool, rows, cols, KP, lo, NULL, pe, D, true, PSK_ACT_NONE);
    psk_q8_rows a;
    psk_q8_rows_init(&a, ctx->h, rows, KP, psk_kernels()->q8_act_max);
    psk_quantize_rows(ctx->pool, cols, KP, &a);
    return psk_gemm_q8_rows(ctx->pool, &a, hi, NULL, pe, D, false, PSK_ACT_NONE) ||
           psk_gemm_q8_rows(ctx->pool, &a, lo, NULL, pe, D, true, PSK_ACT_NONE);
}

int psk_vision_forward(psk_context *ctx, const float *pixels, int n, float *out, psk_error *err) {
    const psk_tower *t = &ctx->model->vision;
    int D = t->width, P = t->patch, S = t->image_size, g = S / P, NP = g * g, T = t->n_pos, KP = 3 * P * P;
    ctx->oom = false;
    for (int i0 = 0; i0 < n; i0 += VISION_CHUNK) {
        int nb = n - i0 < VISION_CHUNK ? n - i0 : VISION_CHUNK;
        int rows = nb * T;
        size_t patch_floats = (size_t)nb * NP * KP + (size_t)nb * NP * D;
        if (!ensure(ctx, t, (size_t)rows, patch_floats, (size_t)T))
            return psk_fail(err, PSK_ERR_NOMEM, "out of memory for a batch of %d images", nb);
        /* im2col: each patch becomes a row of 3*P*P values ordered (channel, row, column). */
        float *cols = ctx->tmp, *pe = ctx->tmp + (size_t)nb * NP * KP;
        for (int b = 0; b < nb; b++) {
            const float *img = pixels + (size_t)(i0 + b) * 3 * S * S;
            for (int gy = 0; gy < g; gy++)
                for (int gx = 0; gx < g; gx++) {
                    float *row = cols + ((size_t)b * NP + (size_t)gy * g + gx) * KP;
                    for (int c = 0; c < 3; c++)
                        for (int r = 0; r < P; r++)
                            memcpy(row + (c * P + r) * P, img + ((size_t)c * S + (size_t)gy * P + r) * S + (size_t)gx * P,
                                   sizeof(float) * (size_t)P);
                }
        }
        if (t->q8 && t->patch_w8.n > 0) {
            if (patch_embed_q8(ctx, t, nb * NP, cols, pe))
                return psk_fail(err, PSK_ERR_NOMEM, "out of memory in the int8 patch embedding");
        } else {
            psk_gemm(ctx->pool, nb * NP, cols, KP, &t->patch_w, NULL, pe, D, false, PSK_ACT_NONE);
        }
        int starts[VISION_CHUNK], lens[VISION_CHUNK];
        for (int b = 0; b < nb; b++) {
            float *x = ctx->x + (size_t)b * T * D;
            for (int d = 0; d < D; d++) x[d] = t->class_emb[d] + t->pos_emb[d];
            for (int p = 0; p < NP; p++)
                for (int d = 0; d < D; d++)
                    x[(size_t)(p + 1) * D + d] = pe[((size_t)b * NP + p) * D + d] + t->pos_emb[(size_t)(p + 1) * D + d];
            starts[b] = b * T;
            lens[b] = T;
        }
        layer_norm_rows(ctx->pool, ctx->x, D, ctx->x, D, rows, D, t->ln_pre_w, t->ln_pre_b, t->eps);
        run_blocks(ctx, t, rows, starts, lens, nb, false, t->n_layers);
        /* Pool the class token of each image, then project. */
        layer_norm_rows(ctx->pool, ctx->x, T * D, ctx->h, D, nb, D, t->ln_final_w, t->ln_final_b, t->eps);
        psk_gemm(ctx->pool, nb, ctx->h, D, &t->proj, NULL, out + (size_t)i0 * t->n_embd, t->n_embd, false,
                 PSK_ACT_NONE);
    }
    if (ctx->oom) return psk_fail(err, PSK_ERR_NOMEM, "out of memory in the int8 encoder");
    return PSK_OK;
}

/* The last CLIP text block computed for the pooled rows only: every row's keys and values are needed, but only
 * the end token's query, attention output and MLP reach the embedding. Writes the final-layer-normed pooled state
 * of each sequence to `pooled` (n x width). */
static void last_layer_pooled(psk_context *ctx, const psk_tower *t, int rows, const int *starts, const int *lens,
                              const int *pool_at, int n, float *pooled) {
    psk_pool *pool = ctx->pool;
    const psk_kernel_table *kt = psk_kernels();
    int D = t->width, H = t->n_heads, hd = D / H;
    const psk_block *b = &t->blocks[t->n_layers - 1];
    layer_norm_rows(pool, ctx->x, D, ctx->h, D, rows, D, b->ln1_w, b->ln1_b, t->eps);
    linear(ctx, rows, ctx->h, D, &b->qkv, &b->qkv8, t->q8, b->qkv_b, ctx->qkv, 3 * D, false, PSK_ACT_NONE);
    /* gathered rows: x (residual), attention output, MLP hidden */
    float *gx = ctx->att + (size_t)n * D, *ga = ctx->att, *gh = ctx->att + (size_t)2 * n * D;
    for (int s = 0; s < n; s++) {
        int r = starts[s] + pool_at[s], nk = pool_at[s] + 1;
        const float *base = ctx->qkv + (size_t)starts[s] * 3 * D;
        for (int h = 0; h < H; h++)
            kt->attention(ctx->qkv + (size_t)r * 3 * D + (size_t)h * hd, 3 * D, base + D + (size_t)h * hd, 3 * D,
                          base + 2 * D + (size_t)h * hd, 3 * D, 1, nk, hd, 1.0f / sqrtf((float)hd), false,
                          ga + (size_t)s * D + (size_t)h * hd, D, ctx->scores);
        memcpy(gx + (size_t)s * D, ctx->x + (size_t)r * D, sizeof(float) * (size_t)D);
    }
    (void)lens;
    linear(ctx, n, ga, D, &b->out, &b->out8, t->q8, b->out_b, gx, D, true, PSK_ACT_NONE);
    layer_norm_rows(pool, gx, D, gh, D, n, D, b->ln2_w, b->ln2_b, t->eps);
    linear(ctx, n, gh, D, &b->fc1, &b->fc18, t->q8, b->fc1_b, ctx->ff, t->mlp, false, t->act);
    linear(ctx, n, ctx->ff, t->mlp, &b->fc2, &b->fc28, t->q8, b->fc2_b, gx, D, true, PSK_ACT_NONE);
    layer_norm_rows(pool, gx, D, pooled, D, n, D, t->ln_final_w, t->ln_final_b, t->eps);
}

static void embed_token(const psk_tower *t, int32_t id, int pos, float *x) {
    int D = t->width;
    st_convert_f32(t->tok_emb, (size_t)id * D, (size_t)D, x);
    for (int d = 0; d < D; d++) x[d] += t->pos_emb[(size_t)pos * D + d];
}

int psk_text_forward(psk_context *ctx, const int32_t *const *ids, const int *lens_in, int n, float *out,
                     psk_error *err) {
    ctx->oom = false;
    const psk_model *m = ctx->model;
    const psk_tower *t = &m->text;
    bool clip = m->kind == PSK_MODEL_CLIP;
    int D = t->width;
    int *starts = psk_malloc(sizeof(int) * (size_t)n * 3);
    if (!starts) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int *lens = starts + n, *pool_at = starts + 2 * n;
    size_t rows = 0;
    for (int s = 0; s < n; s++) {
        int len = lens_in[s] < m->n_ctx ? lens_in[s] : m->n_ctx;
        if (len <= 0) {
            psk_free(starts);
            return psk_fail(err, PSK_ERR_INVALID_ARG, "empty token sequence");
        }
        for (int i = 0; i < len; i++)
            if (ids[s][i] < 0 || ids[s][i] >= t->vocab) {
                psk_free(starts);
                return psk_fail(err, PSK_ERR_INVALID_ARG, "token id %d is outside the vocabulary (0..%d)", ids[s][i],
                                t->vocab - 1);
            }
        pool_at[s] = 0;
        if (clip) {
            /* The pooled state is at the first end token (position 0 when there is none, as transformers'
             * argmax does); causal attention means the tokens after it change nothing, so they are not run. */
            for (int i = 0; i < len; i++)
                if (ids[s][i] == t->eos_id) {
                    pool_at[s] = i;
                    len = i + 1;
                    break;
                }
        }
        starts[s] = (int)rows;
        lens[s] = len;
        rows += (size_t)len;
    }
    int max_len = 0;
    for (int s = 0; s < n; s++) max_len = lens[s] > max_len ? lens[s] : max_len;
    /* the last CLIP layer gathers three rows per sequence into the attention buffer */
    size_t buf_rows = rows > 3 * (size_t)n ? rows : 3 * (size_t)n;
    if (!ensure(ctx, t, buf_rows, 0, (size_t)max_len)) {
        psk_free(starts);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory for %zu tokens", rows);
    }
    for (int s = 0; s < n; s++)
        for (int i = 0; i < lens[s]; i++) embed_token(t, ids[s][i], i, ctx->x + (size_t)(starts[s] + i) * D);
    if (!clip) layer_norm_rows(ctx->pool, ctx->x, D, ctx->x, D, (int)rows, D, t->emb_ln_w, t->emb_ln_b, t->eps);
    float *pooled = ctx->h;
    if (clip) {
        run_blocks(ctx, t, (int)rows, starts, lens, n, true, t->n_layers - 1);
        last_layer_pooled(ctx, t, (int)rows, starts, lens, pool_at, n, pooled);
    } else {
        run_blocks(ctx, t, (int)rows, starts, lens, n, false, t->n_layers);
    }
    for (int s = 0; s < n; s++) {
        float *p = pooled + (size_t)s * D;
        if (clip) {
            /* done by last_layer_pooled */
        } else {
            /* sentence-transformers mean pooling over the (unpadded) tokens */
            for (int d = 0; d < D; d++) p[d] = 0;
            for (int i = 0; i < lens[s]; i++)
                for (int d = 0; d < D; d++) p[d] += ctx->x[(size_t)(starts[s] + i) * D + d];
            for (int d = 0; d < D; d++) p[d] /= (float)lens[s];
        }
    }
    if (t->proj.data) {
        psk_gemm(ctx->pool, n, pooled, D, &t->proj, t->dense_b, out, t->n_embd, false, t->dense_act);
    } else {
        for (int s = 0; s < n; s++) memcpy(out + (size_t)s * D, pooled + (size_t)s * D, sizeof(float) * (size_t)D);
    }
    psk_free(starts);
    if (ctx->oom) return psk_fail(err, PSK_ERR_NOMEM, "out of memory in the int8 encoder");
    return PSK_OK;
}
