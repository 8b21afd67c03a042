/* NHWC layers of the face networks on the shared kernels: convolutions as fc_gemm products with their activation
 * fused (directly for 1x1 stride-1 layers, through im2col otherwise), depthwise 3x3 through the conv.h kernel on the pool's threads, valid
 * pooling, and the input resize that matches tf.image.resizeBilinear. */
#include "faces.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

/* Feature maps are allocated and freed layer after layer. Fresh large blocks come from mmap as zeroed pages, and
 * the kernel's page clearing took 15% of a detection: so freed blocks of 256 KiB or more are kept (a few, by size)
 * for the next layer or the next photo. The header before each block records its size. */
#define FC_CACHE_SLOTS 12
#define FC_CACHE_MIN ((size_t)256 << 10)
#define FC_CACHE_MAX ((size_t)128 << 20)
#define FC_HEAD 64
static struct {
    pthread_mutex_t lock;
    void *block[FC_CACHE_SLOTS];
    size_t size[FC_CACHE_SLOTS], total;
} cache = {PTHREAD_MUTEX_INITIALIZER, {0}, {0}, 0};

static float *block_new(size_t n) {
    if (n >= FC_CACHE_MIN) {
        pthread_mutex_lock(&cache.lock);
        int best = -1;
        for (int i = 0; i < FC_CACHE_SLOTS; i++)
            if (cache.block[i] && cache.size[i] >= n && cache.size[i] <= 2 * n &&
                (best < 0 || cache.size[i] < cache.size[best]))
                best = i;
        void *b = NULL;
        if (best >= 0) {
            b = cache.block[best];
            cache.block[best] = NULL;
            cache.total -= cache.size[best];
        }
        pthread_mutex_unlock(&cache.lock);
        if (b) return (float *)((char *)b + FC_HEAD);
    }
    char *b = psk_malloc_aligned(n + FC_HEAD);
    if (!b) return NULL;
    memcpy(b, &n, sizeof n);
    return (float *)(b + FC_HEAD);
}

static void block_free(float *d) {
    if (!d) return;
    char *b = (char *)d - FC_HEAD;
    size_t n;
    memcpy(&n, b, sizeof n);
    if (n >= FC_CACHE_MIN) {
        pthread_mutex_lock(&cache.lock);
        for (int i = 0; i < FC_CACHE_SLOTS && b; i++)
            if (!cache.block[i] && cache.total + n <= FC_CACHE_MAX) {
                cache.block[i] = b;
                cache.size[i] = n;
                cache.total += n;
                b = NULL;
            }
        pthread_mutex_unlock(&cache.lock);
    }
    psk_free_aligned(b);
}

int fc_tensor_new_n(fc_tensor *t, int n, int h, int w, int c) {
    size_t sz;
    t->n = n;
    t->h = h;
    t->w = w;
    t->c = c;
    t->d = NULL;
    t->same0 = t->same1 = 0;
    if (n <= 0 || h <= 0 || w <= 0 || c <= 0 ||
        !psk_mul_size((size_t)n * (size_t)h * (size_t)w, (size_t)c * sizeof(float), &sz))
        return PSK_ERR_INVALID_ARG;
    t->d = block_new(sz);
    return t->d ? PSK_OK : PSK_ERR_NOMEM;
}

int fc_tensor_new(fc_tensor *t, int h, int w, int c) { return fc_tensor_new_n(t, 1, h, w, c); }

size_t fc_tensor_floats(const fc_tensor *t) { return (size_t)t->n * t->h * t->w * t->c; }

void fc_tensor_free(fc_tensor *t) {
    block_free(t->d);
    t->d = NULL;
}

void fc_tensor_find_band(fc_tensor *t) {
    t->same0 = t->same1 = 0;
    if (t->n != 1 || t->h < 3) return;
    size_t row = (size_t)t->w * t->c;
    const float *last = t->d + (t->h - 1) * row;
    int r = t->h - 1;
    while (r > 0 && memcmp(t->d + (size_t)(r - 1) * row, last, row * sizeof(float)) == 0) r--;
    if (t->h - r >= 3) t->same0 = r, t->same1 = t->h;
}

/* The band of a layer's output (oh rows) whose rows read only rows of the input's band through a k-row window at
 * `stride` from -pt: their sums are the same (rows [*a, *b), or *b = 0 when fewer than 3). The layer computes rows
 * [0, *a + 1) and [*b, oh) and copies row *a over the others (band_fill). */
static void band_of(const fc_tensor *in, int k, int stride, int pt, int oh, int *a, int *b) {
    *a = *b = 0;
    if (in->n != 1 || in->same1 - in->same0 < 3) return;
    int lo = (in->same0 + pt + stride - 1) / stride, hi = (in->same1 - k + pt) / stride + 1;
    if (hi > oh) hi = oh;
    if (hi - lo >= 3) *a = lo, *b = hi;
}

/* out's rows [a + 1, b) as copies of row a, and its band recorded. */
static void band_fill(fc_tensor *out, int a, int b) {
    size_t row = (size_t)out->w * out->c;
    for (int r = a + 1; r < b; r++) memcpy(out->d + (size_t)r * row, out->d + (size_t)a * row, row * sizeof(float));
    out->same0 = a;
    out->same1 = b;
}

/* The row ranges a layer computes: all of its n*oh rows, or around the band [a, b) of its single map. */
static int band_segments(int n, int oh, int a, int b, int y0[2], int y1[2]) {
    if (b == 0) {
        y0[0] = 0, y1[0] = n * oh;
        return 1;
    }
    y0[0] = 0, y1[0] = a + 1, y0[1] = b, y1[1] = oh;
    return b < oh ? 2 : 1;
}

/* TensorFlow's output size and leading padding for one axis. */
static void tf_pad(int in, int k, int stride, bool same, int *out, int *pad) {
    if (same) {
        *out = (in + stride - 1) / stride;
        int total = (*out - 1) * stride + k - in;
        *pad = total > 0 ? total / 2 : 0;
    } else {
        *out = in >= k ? (in - k) / stride + 1 : 0;
        *pad = 0;
    }
}

int fc_conv_init(fc_conv *c, int k, int stride, bool same, int cin, int cout, const float *filter, const float *mul,
                 const float *bias, const float *add) {
    memset(c, 0, sizeof *c);
    c->k = k;
    c->stride = stride;
    c->same = same;
    c->cin = cin;
    c->cout = cout;
    int kk = k * k * cin;
    float *w = psk_malloc_aligned(sizeof(float) * (size_t)kk * cout);
    c->bias = psk_malloc_aligned(sizeof(float) * (size_t)cout);
    if (!w || !c->bias) {
        psk_free_aligned(w);
        fc_conv_free(c);
        return PSK_ERR_NOMEM;
    }
    for (int i = 0; i < kk; i++)
        for (int o = 0; o < cout; o++) w[(size_t)i * cout + o] = filter[(size_t)i * cout + o] * (mul ? mul[o] : 1.0f);
    for (int o = 0; o < cout; o++) c->bias[o] = (bias ? bias[o] : 0.0f) * (mul ? mul[o] : 1.0f) + (add ? add[o] : 0.0f);
    int rc = psk_pack_weights(w, cout, kk, cout, true, &c->w);
    psk_free_aligned(w);
    if (rc) fc_conv_free(c);
    return rc;
}

int fc_conv_bf16(fc_conv *c) {
    if (!fc_bf16_available() || c->wb.data) return PSK_OK;
    int kk = c->w.k, n = c->w.n, nr = c->w.nr;
    float *w = psk_malloc(sizeof(float) * (size_t)kk * n);
    if (!w) return PSK_ERR_NOMEM;
    for (int i = 0; i < kk; i++) /* back from psk_pack_weights' strips to [k][n] */
        for (int o = 0; o < n; o++) w[(size_t)i * n + o] = c->w.data[((size_t)(o / nr) * kk + i) * nr + o % nr];
    int rc = psk_pack_bf16(w, kk, n, &c->wb);
    psk_free(w);
    return rc;
}

/* The layer's product: out = act(A W^T + bias), in bf16 when the layer was made so. */
static void conv_gemm(psk_pool *pool, const fc_conv *c, int m, const float *a, int lda, float *out, fc_act act) {
    if (c->wb.data) fc_gemm_bf16(pool, m, a, lda, &c->wb, c->bias, out, c->cout, act);
    else fc_gemm(pool, m, a, lda, &c->w, c->bias, out, c->cout, act);
}

void fc_conv_free(fc_conv *c) {
    psk_packed_bf16_free(&c->wb);
    psk_packed_free(&c->w);
    psk_free_aligned(c->bias);
    c->bias = NULL;
}

int fc_dwconv_init(fc_dwconv *c, int ch, int stride, const float *filter, const float *mul, const float *bias,
                   const float *add) {
    c->c = ch;
    c->stride = stride;
    c->w = psk_malloc_aligned(sizeof(float) * 9 * (size_t)ch);
    c->bias = psk_malloc_aligned(sizeof(float) * (size_t)ch);
    if (!c->w || !c->bias) {
        fc_dwconv_free(c);
        return PSK_ERR_NOMEM;
    }
    for (int i = 0; i < 9; i++)
        for (int o = 0; o < ch; o++) c->w[i * ch + o] = filter[i * ch + o] * (mul ? mul[o] : 1.0f);
    for (int o = 0; o < ch; o++) c->bias[o] = (bias ? bias[o] : 0.0f) * (mul ? mul[o] : 1.0f) + (add ? add[o] : 0.0f);
    return PSK_OK;
}

void fc_dwconv_free(fc_dwconv *c) {
    psk_free_aligned(c->w);
    psk_free_aligned(c->bias);
    c->w = c->bias = NULL;
}

void fc_act_range(fc_act act, float *lo, float *hi) {
    *lo = act == FC_NONE ? -INFINITY : 0.0f;
    *hi = act == FC_RELU6 ? 6.0f : INFINITY;
}

void fc_activate(float *x, size_t n, fc_act act) {
    /* compare-and-select, which -O3 (this file's flag) turns into vector max/min */
    if (act == FC_RELU)
        for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    else if (act == FC_RELU6)
        for (size_t i = 0; i < n; i++) {
            float v = x[i] > 0.0f ? x[i] : 0.0f;
            x[i] = v < 6.0f ? v : 6.0f;
        }
}

typedef struct im2col_job {
    const fc_conv *c;
    const fc_tensor *in;
    float *cols;
    int oh, ow, pt, pl;
} im2col_job;

static void im2col_task(void *arg, int task, int thread) {
    const im2col_job *j = arg;
    const fc_tensor *in = j->in;
    int k = j->c->k, cin = in->c, kk = k * k * cin, oy = task % j->oh;
    const float *src = in->d + (size_t)(task / j->oh) * in->h * in->w * cin; /* this row's map of the batch */
    for (int ox = 0; ox < j->ow; ox++) {
        float *row = j->cols + ((size_t)task * j->ow + ox) * kk;
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * j->c->stride + ky - j->pt;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * j->c->stride + kx - j->pl;
                float *dst = row + (ky * k + kx) * cin;
                if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w)
                    memset(dst, 0, sizeof(float) * cin);
                else
                    memcpy(dst, src + ((size_t)iy * in->w + ix) * cin, sizeof(float) * cin);
            }
        }
    }
}

int fc_conv_forward(psk_pool *pool, const fc_conv *c, const fc_tensor *in, fc_act act, fc_tensor *out) {
    int oh, ow, pt, pl;
    tf_pad(in->h, c->k, c->stride, c->same, &oh, &pt);
    tf_pad(in->w, c->k, c->stride, c->same, &ow, &pl);
    int rc = fc_tensor_new_n(out, in->n, oh, ow, c->cout);
    if (rc) return rc;
    int m = in->n * oh * ow, kk = c->k * c->k * c->cin, a, b, y0[2], y1[2];
    band_of(in, c->k, c->stride, pt, oh, &a, &b);
    int segs = band_segments(in->n, oh, a, b, y0, y1);
    const float *rows = in->d; /* the product's A: the input itself, or its im2col */
    int lda = in->c;
    float *cols = NULL;
    if (c->k != 1 || c->stride != 1) {
        if (!(cols = block_new(sizeof(float) * (size_t)m * kk))) {
            fc_tensor_free(out);
            return PSK_ERR_NOMEM;
        }
        im2col_job j = {c, in, cols, oh, ow, pt, pl};
        psk_pool_run(pool, in->n * oh, im2col_task, &j);
        rows = cols;
        lda = kk;
    }
    for (int s = 0; s < segs; s++)
        conv_gemm(pool, c, (y1[s] - y0[s]) * ow, rows + (size_t)y0[s] * ow * lda, lda,
                  out->d + (size_t)y0[s] * ow * c->cout, act);
    block_free(cols);
    if (b) band_fill(out, a, b);
    return PSK_OK;
}

typedef struct dw_job {
    const fc_dwconv *c;
    const fc_tensor *in;
    fc_tensor *out;
    int pt, pl, rows, blocks; /* blocks of `rows` output rows per map, over its rows [first, end) */
    int first, end;
    fc_act act;
    psk_dwconv3x3_fn fn;
} dw_job;

static void dw_task(void *arg, int task, int thread) {
    const dw_job *j = arg;
    const fc_tensor *in = j->in, *out = j->out;
    int b = task / j->blocks, y0 = j->first + task % j->blocks * j->rows;
    int y1 = y0 + j->rows < j->end ? y0 + j->rows : j->end;
    const float *src = in->d + (size_t)b * in->h * in->w * in->c;
    float *dst = out->d + (size_t)b * out->h * out->w * out->c;
    float lo, hi;
    fc_act_range(j->act, &lo, &hi);
    j->fn(src, in->h, in->w, in->c, j->c->stride, j->pt, j->pl, j->c->w, j->c->bias, lo, hi, dst, out->w, y0, y1);
}

int fc_dwconv_forward(psk_pool *pool, const fc_dwconv *c, const fc_tensor *in, fc_act act, fc_tensor *out) {
    int oh, ow, pt, pl;
    tf_pad(in->h, 3, c->stride, true, &oh, &pt);
    tf_pad(in->w, 3, c->stride, true, &ow, &pl);
    int rc = fc_tensor_new_n(out, in->n, oh, ow, c->c);
    if (rc) return rc;
    /* about 4 tasks per thread over the batch */
    int threads = psk_pool_threads(pool), rows = (in->n * oh + 4 * threads - 1) / (4 * threads);
    if (rows > oh) rows = oh;
    if (rows < 1) rows = 1;
    int a, b, y0[2], y1[2];
    band_of(in, 3, c->stride, pt, oh, &a, &b);
    int segs = band_segments(1, oh, a, b, y0, y1);
    for (int s = 0; s < segs; s++) {
        int blocks = (y1[s] - y0[s] + rows - 1) / rows;
        dw_job j = {c, in, out, pt, pl, rows, blocks, y0[s], y1[s], act, psk_dwconv3x3()};
        psk_pool_run(pool, in->n * blocks, dw_task, &j);
    }
    if (b) band_fill(out, a, b);
    return PSK_OK;
}

/* The depthwise then pointwise pair with the depthwise rows kept in a small buffer (see fc_dwpw_forward). */
#define DWPW_BUF_FLOATS 16384 /* 64 KiB: a row or two of the depthwise output, in L2 while it is multiplied */
typedef struct dwpw_job {
    const fc_dwconv *dw;
    const fc_conv *pw;
    const fc_tensor *in;
    fc_tensor *out;
    int oh, ow, pt, pl, rows, blocks, first, end; /* blocks of `rows` output rows per map, over [first, end) */
    float lo, hi;
    fc_act pw_act;
    psk_dwconv3x3_fn fn;
} dwpw_job;

static void dwpw_task(void *arg, int task, int thread) {
    const dwpw_job *j = arg;
    const fc_tensor *in = j->in;
    int b = task / j->blocks, oy0 = j->first + task % j->blocks * j->rows;
    int n_rows = oy0 + j->rows < j->end ? j->rows : j->end - oy0, c = in->c;
    float buf[DWPW_BUF_FLOATS] __attribute__((aligned(64)));
    /* the input from the first row this block reads (the top padding stays the kernel's to skip in block 0) */
    int first = oy0 * j->dw->stride - j->pt, pt = j->pt;
    if (first < 0) first = 0;
    else pt = 0;
    const float *src = in->d + ((size_t)b * in->h + first) * in->w * c;
    j->fn(src, in->h - first, in->w, c, j->dw->stride, pt, j->pl, j->dw->w, j->dw->bias, j->lo, j->hi, buf, j->ow, 0,
          n_rows);
    float *dst = j->out->d + ((size_t)b * j->oh + oy0) * j->ow * j->pw->cout;
    conv_gemm(NULL, j->pw, n_rows * j->ow, buf, c, dst, j->pw_act);
}

int fc_dwpw_forward(psk_pool *pool, const fc_dwconv *dw, fc_act dw_act, const fc_conv *pw, fc_act pw_act,
                    const fc_tensor *in, fc_tensor *out) {
    int oh, ow, pt, pl;
    tf_pad(in->h, 3, dw->stride, true, &oh, &pt);
    tf_pad(in->w, 3, dw->stride, true, &ow, &pl);
    int rows = DWPW_BUF_FLOATS / (ow * in->c);
    if (rows < 1 || (size_t)oh * ow < 4096 || pw->k != 1 || pw->stride != 1) { /* small maps: layer by layer */
        fc_tensor t;
        int rc = fc_dwconv_forward(pool, dw, in, dw_act, &t);
        if (rc) return rc;
        rc = fc_conv_forward(pool, pw, &t, pw_act, out);
        fc_tensor_free(&t);
        return rc;
    }
    if (rows > oh) rows = oh;
    int rc = fc_tensor_new_n(out, in->n, oh, ow, pw->cout);
    if (rc) return rc;
    int a, b, y0[2], y1[2];
    band_of(in, 3, dw->stride, pt, oh, &a, &b);
    int segs = band_segments(1, oh, a, b, y0, y1);
    for (int s = 0; s < segs; s++) {
        dwpw_job j = {dw, pw, in, out, oh, ow, pt, pl, rows, (y1[s] - y0[s] + rows - 1) / rows, y0[s], y1[s], 0, 0,
                      pw_act, psk_dwconv3x3()};
        fc_act_range(dw_act, &j.lo, &j.hi);
        psk_pool_run(pool, in->n * j.blocks, dwpw_task, &j);
    }
    if (b) band_fill(out, a, b);
    return PSK_OK;
}

int fc_pool(const fc_tensor *in, int k, int stride, bool max, fc_tensor *out) {
    int oh, ow, pad;
    tf_pad(in->h, k, stride, false, &oh, &pad);
    tf_pad(in->w, k, stride, false, &ow, &pad);
    int rc = fc_tensor_new_n(out, in->n, oh, ow, in->c);
    if (rc) return rc;
    int c = in->c;
    for (int b = 0; b < in->n; b++) {
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++) {
                float *o = out->d + (((size_t)b * oh + oy) * ow + ox) * c;
                for (int ch = 0; ch < c; ch++) o[ch] = max ? -INFINITY : 0.0f;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) {
                        const float *x = in->d + (((size_t)b * in->h + oy * stride + ky) * in->w + ox * stride + kx) * c;
                        for (int ch = 0; ch < c; ch++) o[ch] = max ? (x[ch] > o[ch] ? x[ch] : o[ch]) : o[ch] + x[ch];
                    }
                if (!max)
                    for (int ch = 0; ch < c; ch++) o[ch] /= (float)(k * k);
            }
    }
    return PSK_OK;
}

/* A pixel of the padded square: the crop's pixel, or 0 in the padding. */
static inline float sq_px(const uint8_t *rgb, int img_w, int x0, int y0, int w, int h, int before_x, int before_y,
                          int sx, int sy, int ch) {
    int x = sx - before_x, y = sy - before_y;
    if (x < 0 || y < 0 || x >= w || y >= h) return 0.0f;
    return rgb[((size_t)(y0 + y) * img_w + (x0 + x)) * 3 + ch];
}

/* Where output coordinate i samples the side-pixel square: lo, hi and the fraction, as resizeBilinear. */
static void resize_axis(int size, int side, int *lo, int *hi, double *frac) {
    double ratio = (double)side / size;
    for (int i = 0; i < size; i++) {
        double f = side == size ? i : ratio * i;
        lo[i] = (int)floor(f);
        hi[i] = (int)ceil(f);
        if (hi[i] > side - 1) hi[i] = side - 1;
        frac[i] = f - lo[i];
    }
}

int fc_input(const uint8_t *rgb, int img_w, int x0, int y0, int w, int h, bool centre, int size, const float sub[3],
             float div, float add, fc_tensor *out) {
    int rc = fc_tensor_new(out, size, size, 3);
    if (!rc) rc = fc_input_into(rgb, img_w, x0, y0, w, h, centre, size, sub, div, add, out->d);
    if (rc) fc_tensor_free(out);
    return rc;
}

int fc_input_into(const uint8_t *rgb, int img_w, int x0, int y0, int w, int h, bool centre, int size,
                  const float sub[3], float div, float add, float *dst) {
    int side = w > h ? w : h, diff = side - (w > h ? h : w);
    /* padToSquare: round(diff * 0.5) after the image when centred (the rest before it), all of it after else */
    int after = centre ? (int)floor(diff * 0.5 + 0.5) : diff, before = diff - after;
    int bx = (h > w) ? before : 0, by = (w > h) ? before : 0;
    int *lo = psk_malloc(sizeof(int) * 4 * (size_t)size);
    double *frac = psk_malloc(sizeof(double) * 2 * (size_t)size);
    if (!lo || !frac) {
        psk_free(lo);
        psk_free(frac);
        return PSK_ERR_NOMEM;
    }
    int *hi = lo + size, *ylo = lo + 2 * size, *yhi = lo + 3 * size;
    double *fx = frac, *fy = frac + size;
    resize_axis(size, side, lo, hi, fx);
    resize_axis(size, side, ylo, yhi, fy);
    for (int r = 0; r < size; r++) {
        double ry = fy[r];
        for (int cc = 0; cc < size; cc++) {
            double rx = fx[cc];
            int x_lo = lo[cc], x_hi = hi[cc], y_lo = ylo[r], y_hi = yhi[r];
            /* inside the crop (the usual case): the four pixels directly, else through the padding test */
            bool inside = x_lo >= bx && x_hi - bx < w && y_lo >= by && y_hi - by < h;
            const uint8_t *ptl = rgb, *ptr = rgb, *pbl = rgb, *pbr = rgb;
            if (inside) {
                ptl = rgb + ((size_t)(y0 + y_lo - by) * img_w + (x0 + x_lo - bx)) * 3;
                ptr = ptl + (size_t)(x_hi - x_lo) * 3;
                pbl = ptl + (size_t)(y_hi - y_lo) * img_w * 3;
                pbr = pbl + (size_t)(x_hi - x_lo) * 3;
            }
            for (int ch = 0; ch < 3; ch++) {
                float tl, tr, bl, br;
                if (inside) {
                    tl = ptl[ch];
                    tr = ptr[ch];
                    bl = pbl[ch];
                    br = pbr[ch];
                } else {
                    tl = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_lo, y_lo, ch);
                    tr = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_hi, y_lo, ch);
                    bl = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_lo, y_hi, ch);
                    br = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_hi, y_hi, ch);
                }
                double top = tl + (tr - tl) * rx, bot = bl + (br - bl) * rx;
                float v = (float)(top + (bot - top) * ry);
                dst[((size_t)r * size + cc) * 3 + ch] = (v - sub[ch]) / div + add;
            }
        }
    }
    psk_free(lo);
    psk_free(frac);
    return PSK_OK;
}
