/* NHWC layers of the face networks on the shared kernels: convolutions as psk_gemm products (directly for 1x1
 * stride-1 layers, through im2col otherwise), depthwise 3x3 through the conv.h kernel on the pool's threads, valid
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

int fc_tensor_new(fc_tensor *t, int h, int w, int c) {
    size_t n;
    t->h = h;
    t->w = w;
    t->c = c;
    t->d = NULL;
    if (h <= 0 || w <= 0 || c <= 0 || !psk_mul_size((size_t)h * (size_t)w, (size_t)c * sizeof(float), &n))
        return PSK_ERR_INVALID_ARG;
    t->d = block_new(n);
    return t->d ? PSK_OK : PSK_ERR_NOMEM;
}

void fc_tensor_free(fc_tensor *t) {
    block_free(t->d);
    t->d = NULL;
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

void fc_conv_free(fc_conv *c) {
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

/* The activation after a product, in ACT_TASKS slices on the pool's threads. */
#define ACT_TASKS 16
typedef struct act_job {
    float *x;
    size_t n;
    fc_act act;
} act_job;

static void act_task(void *arg, int task, int thread) {
    const act_job *j = arg;
    size_t per = (j->n / ACT_TASKS + 15) & ~(size_t)15, a = per * (size_t)task;
    if (a >= j->n) return;
    fc_activate(j->x + a, a + per < j->n ? per : j->n - a, j->act);
}

typedef struct im2col_job {
    const fc_conv *c;
    const fc_tensor *in;
    float *cols;
    int oh, ow, pt, pl;
} im2col_job;

static void im2col_task(void *arg, int oy, int thread) {
    const im2col_job *j = arg;
    const fc_tensor *in = j->in;
    int k = j->c->k, cin = in->c, kk = k * k * cin;
    for (int ox = 0; ox < j->ow; ox++) {
        float *row = j->cols + ((size_t)oy * j->ow + ox) * kk;
        for (int ky = 0; ky < k; ky++) {
            int iy = oy * j->c->stride + ky - j->pt;
            for (int kx = 0; kx < k; kx++) {
                int ix = ox * j->c->stride + kx - j->pl;
                float *dst = row + (ky * k + kx) * cin;
                if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w)
                    memset(dst, 0, sizeof(float) * cin);
                else
                    memcpy(dst, in->d + ((size_t)iy * in->w + ix) * cin, sizeof(float) * cin);
            }
        }
    }
}

int fc_conv_forward(psk_pool *pool, const fc_conv *c, const fc_tensor *in, fc_act act, fc_tensor *out) {
    int oh, ow, pt, pl;
    tf_pad(in->h, c->k, c->stride, c->same, &oh, &pt);
    tf_pad(in->w, c->k, c->stride, c->same, &ow, &pl);
    int rc = fc_tensor_new(out, oh, ow, c->cout);
    if (rc) return rc;
    int m = oh * ow, kk = c->k * c->k * c->cin;
    if (c->k == 1 && c->stride == 1) {
        psk_gemm(pool, m, in->d, in->c, &c->w, c->bias, out->d, c->cout, false, PSK_ACT_NONE);
    } else {
        float *cols = block_new(sizeof(float) * (size_t)m * kk);
        if (!cols) {
            fc_tensor_free(out);
            return PSK_ERR_NOMEM;
        }
        im2col_job j = {c, in, cols, oh, ow, pt, pl};
        psk_pool_run(pool, oh, im2col_task, &j);
        psk_gemm(pool, m, cols, kk, &c->w, c->bias, out->d, c->cout, false, PSK_ACT_NONE);
        block_free(cols);
    }
    act_job j = {out->d, (size_t)m * c->cout, act};
    if (act != FC_NONE) psk_pool_run(pool, ACT_TASKS, act_task, &j);
    return PSK_OK;
}

typedef struct dw_job {
    const fc_dwconv *c;
    const fc_tensor *in;
    fc_tensor *out;
    int pt, pl, rows;
    fc_act act;
    psk_dwconv3x3_fn fn;
} dw_job;

static void dw_task(void *arg, int task, int thread) {
    const dw_job *j = arg;
    int y0 = task * j->rows, y1 = y0 + j->rows < j->out->h ? y0 + j->rows : j->out->h;
    j->fn(j->in->d, j->in->h, j->in->w, j->in->c, j->c->stride, j->pt, j->pl, j->c->w, j->c->bias, j->out->d,
          j->out->w, y0, y1);
    size_t row = (size_t)j->out->w * j->out->c;
    fc_activate(j->out->d + (size_t)y0 * row, (size_t)(y1 - y0) * row, j->act);
}

int fc_dwconv_forward(psk_pool *pool, const fc_dwconv *c, const fc_tensor *in, fc_act act, fc_tensor *out) {
    int oh, ow, pt, pl;
    tf_pad(in->h, 3, c->stride, true, &oh, &pt);
    tf_pad(in->w, 3, c->stride, true, &ow, &pl);
    int rc = fc_tensor_new(out, oh, ow, c->c);
    if (rc) return rc;
    int threads = psk_pool_threads(pool), rows = (oh + 4 * threads - 1) / (4 * threads);
    if (rows < 1) rows = 1;
    dw_job j = {c, in, out, pt, pl, rows, act, psk_dwconv3x3()};
    psk_pool_run(pool, (oh + rows - 1) / rows, dw_task, &j);
    return PSK_OK;
}

int fc_pool(const fc_tensor *in, int k, int stride, bool max, fc_tensor *out) {
    int oh, ow, pad;
    tf_pad(in->h, k, stride, false, &oh, &pad);
    tf_pad(in->w, k, stride, false, &ow, &pad);
    int rc = fc_tensor_new(out, oh, ow, in->c);
    if (rc) return rc;
    int c = in->c;
    for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
            float *o = out->d + ((size_t)oy * ow + ox) * c;
            for (int ch = 0; ch < c; ch++) o[ch] = max ? -INFINITY : 0.0f;
            for (int ky = 0; ky < k; ky++)
                for (int kx = 0; kx < k; kx++) {
                    const float *x = in->d + ((size_t)(oy * stride + ky) * in->w + ox * stride + kx) * c;
                    for (int ch = 0; ch < c; ch++) o[ch] = max ? (x[ch] > o[ch] ? x[ch] : o[ch]) : o[ch] + x[ch];
                }
            if (!max)
                for (int ch = 0; ch < c; ch++) o[ch] /= (float)(k * k);
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

int fc_input(const uint8_t *rgb, int img_w, int x0, int y0, int w, int h, bool centre, int size, const float sub[3],
             float div, float add, fc_tensor *out) {
    int rc = fc_tensor_new(out, size, size, 3);
    if (rc) return rc;
    int side = w > h ? w : h, diff = side - (w > h ? h : w);
    /* padToSquare: round(diff * 0.5) after the image when centred (the rest before it), all of it after else */
    int after = centre ? (int)floor(diff * 0.5 + 0.5) : diff, before = diff - after;
    int bx = (h > w) ? before : 0, by = (w > h) ? before : 0;
    double ratio = (double)side / size;
    for (int r = 0; r < size; r++) {
        double fy = side == size ? r : ratio * r;
        int y_lo = (int)floor(fy), y_hi = (int)ceil(fy);
        if (y_hi > side - 1) y_hi = side - 1;
        double ry = fy - y_lo;
        for (int cc = 0; cc < size; cc++) {
            double fx = side == size ? cc : ratio * cc;
            int x_lo = (int)floor(fx), x_hi = (int)ceil(fx);
            if (x_hi > side - 1) x_hi = side - 1;
            double rx = fx - x_lo;
            for (int ch = 0; ch < 3; ch++) {
                float tl = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_lo, y_lo, ch);
                float tr = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_hi, y_lo, ch);
                float bl = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_lo, y_hi, ch);
                float br = sq_px(rgb, img_w, x0, y0, w, h, bx, by, x_hi, y_hi, ch);
                double top = tl + (tr - tl) * rx, bot = bl + (br - bl) * rx;
                float v = (float)(top + (bot - top) * ry);
                out->d[((size_t)r * size + cc) * 3 + ch] = (v - sub[ch]) / div + add;
            }
        }
    }
    return PSK_OK;
}
