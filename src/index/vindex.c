#include "index.h"

#include "../kernels/kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vindex_init(psk_vindex *ix, int dim) {
    memset(ix, 0, sizeof *ix);
    ix->dim = dim;
    ix->ann_filter_min = -1;
}

void vindex_free(psk_vindex *ix) {
    hnsw_free(ix->ann);
    if (ix->map.data) {
        psk_mmap_close(&ix->map);
    } else {
        psk_free(ix->media);
        psk_free(ix->frame);
        psk_free_aligned(ix->q);
        psk_free(ix->scale);
    }
    psk_free_aligned(ix->exact);
    memset(ix, 0, sizeof *ix);
}

float vindex_quantize(const float *v, int dim, int8_t *q) {
    /* Both loops vectorise (no libm calls, no branches; the file is built with -O3): loading a library quantises
     * every stored vector, and fmaxf / lrintf calls took a fifth of a 100k-vector CLI search. max |v| is taken on
     * the bits: without the sign bit a float's order is its bits' order, and an integer maximum vectorises where
     * a float one (NaN rules) does not. */
    int32_t mb = 0;
    for (int d = 0; d < dim; d++) {
        int32_t b;
        memcpy(&b, v + d, sizeof b);
        b &= 0x7fffffff;
        mb = b > mb ? b : mb;
    }
    float mx;
    memcpy(&mx, &mb, sizeof mx);
    float scale = mx > 0 ? mx / 127.0f : 1.0f;
    for (int d = 0; d < dim; d++) {
        float x = v[d] / scale; /* |x| <= 127 */
        q[d] = (int8_t)(int)(x + copysignf(0.5f, x));
    }
    return scale;
}

/* Grows every per-row array to hold `cap` rows. */
static int grow(psk_vindex *ix, int64_t cap, bool exact) {
    size_t d = (size_t)ix->dim;
    int64_t *media = psk_realloc(ix->media, sizeof(int64_t) * (size_t)cap);
    if (media) ix->media = media;
    int32_t *frame = psk_realloc(ix->frame, sizeof(int32_t) * (size_t)cap);
    if (frame) ix->frame = frame;
    float *scale = psk_realloc(ix->scale, sizeof(float) * (size_t)cap);
    if (scale) ix->scale = scale;
    int8_t *q = psk_malloc_aligned((size_t)cap * d);
    float *ex = exact ? psk_malloc_aligned(sizeof(float) * (size_t)cap * d) : NULL;
    if (!media || !frame || !scale || !q || (exact && !ex)) {
        psk_free_aligned(q);
        psk_free_aligned(ex);
        return PSK_ERR_NOMEM;
    }
    if (ix->n) memcpy(q, ix->q, (size_t)ix->n * d);
    psk_free_aligned(ix->q);
    ix->q = q;
    if (exact) {
        if (ix->n && ix->exact) memcpy(ex, ix->exact, sizeof(float) * (size_t)ix->n * d);
        psk_free_aligned(ix->exact);
        ix->exact = ex;
    }
    return PSK_OK;
}

/* Copies rows borrowed from a mapping into memory of the index's own, so that they can grow. */
static int own_rows(psk_vindex *ix) {
    size_t n = (size_t)ix->n, d = (size_t)ix->dim;
    int64_t *media = psk_malloc(sizeof(int64_t) * (n ? n : 1));
    int32_t *frame = psk_malloc(sizeof(int32_t) * (n ? n : 1));
    float *scale = psk_malloc(sizeof(float) * (n ? n : 1));
    int8_t *q = psk_malloc_aligned(n > 0 && d > 0 ? n * d : 1);
    if (!media || !frame || !scale || !q) {
        psk_free(media);
        psk_free(frame);
        psk_free(scale);
        psk_free_aligned(q);
        return PSK_ERR_NOMEM;
    }
    memcpy(media, ix->media, sizeof(int64_t) * n);
    memcpy(frame, ix->frame, sizeof(int32_t) * n);
    memcpy(scale, ix->scale, sizeof(float) * n);
    memcpy(q, ix->q, n * d);
    psk_mmap_close(&ix->map);
    ix->media = media, ix->frame = frame, ix->scale = scale, ix->q = q;
    ix->cap = ix->n;
    return PSK_OK;
}

int vindex_reserve(psk_vindex *ix, int64_t rows, bool keep_exact) {
    if (ix->map.data && own_rows(ix)) return PSK_ERR_NOMEM;
    if (rows <= ix->cap) return PSK_OK;
    int rc = grow(ix, rows, keep_exact);
    if (!rc) ix->cap = rows;
    return rc;
}

int vindex_add(psk_vindex *ix, int64_t media, int32_t frame, const float *v, bool keep_exact) {
    int64_t n = ix->n;
    if (n == ix->cap) {
        int rc = vindex_reserve(ix, n ? 2 * n : 1024, keep_exact);
        if (rc) return rc;
    }
    ix->media[n] = media;
    ix->frame[n] = frame;
    ix->scale[n] = vindex_quantize(v, ix->dim, ix->q + (size_t)n * ix->dim);
    if (keep_exact && ix->exact) memcpy(ix->exact + (size_t)n * ix->dim, v, sizeof(float) * (size_t)ix->dim);
    ix->n = n + 1;
    return PSK_OK;
}

int vindex_filter_init(vindex_filter *f, int64_t max_id) {
    f->max_id = max_id < 0 ? 0 : max_id;
    f->count = 0;
    f->bits = psk_calloc((size_t)(f->max_id / 64 + 1), sizeof(uint64_t));
    return f->bits ? PSK_OK : PSK_ERR_NOMEM;
}

void vindex_filter_add(vindex_filter *f, int64_t id) {
    if (id < 0 || id > f->max_id) return;
    uint64_t bit = 1ULL << (id & 63);
    if (!(f->bits[id >> 6] & bit)) f->count++;
    f->bits[id >> 6] |= bit;
}

void vindex_filter_free(vindex_filter *f) {
    psk_free(f->bits);
    f->bits = NULL;
}

static inline bool allowed(const vindex_filter *f, int64_t id) {
    return !f || (id >= 0 && id <= f->max_id && (f->bits[id >> 6] >> (id & 63) & 1));
}

/* ---- a bounded min-heap of the best candidates ---- */
typedef struct heap {
    vindex_hit *h;
    int n, cap;
} heap;

static void heap_push(heap *hp, int64_t row, float score) {
    if (hp->n < hp->cap) {
        int i = hp->n++;
        while (i > 0 && hp->h[(i - 1) / 2].score > score) {
            hp->h[i] = hp->h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        hp->h[i] = (vindex_hit){row, score};
        return;
    }
    if (score <= hp->h[0].score) return;
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        float ms = score;
        if (l < hp->n && hp->h[l].score < ms) m = l, ms = hp->h[l].score;
        if (r < hp->n && hp->h[r].score < ms) m = r;
        if (m == i) break;
        hp->h[i] = hp->h[m];
        i = m;
    }
    hp->h[i] = (vindex_hit){row, score};
}

#define BLOCK 512 /* rows scored per kernel call */

typedef struct scan_job {
    const psk_vindex *ix;
    const int16_t *query16;
    float query_scale;
    const vindex_filter *filter;
    const int64_t *rows; /* sparse: the candidate rows, or NULL to scan all */
    int64_t n_rows;
    /* a broad filter: every row is scored at full speed and the filter asked only of those good enough for the
     * heap (scoring runs of allowed rows one by one was twice as slow as the unfiltered scan at 50%) */
    bool filter_late;
    int n_tasks;
    heap *heaps; /* one per task */
} scan_job;

static void scan_task(void *arg, int task, int thread) {
    (void)thread;
    scan_job *j = arg;
    const psk_vindex *ix = j->ix;
    const psk_kernel_table *kt = psk_kernels();
    heap *hp = &j->heaps[task];
    int64_t per = (j->n_rows + j->n_tasks - 1) / j->n_tasks;
    int64_t r0 = (int64_t)task * per, r1 = r0 + per < j->n_rows ? r0 + per : j->n_rows;
    float scores[BLOCK];
    if (j->rows) { /* a selective filter: score only the allowed rows */
        for (int64_t i = r0; i < r1; i++) {
            int64_t row = j->rows[i];
            kt->scan_i8(ix->q + (size_t)row * ix->dim, ix->scale + row, 1, ix->dim, j->query16, j->query_scale, scores);
            heap_push(hp, row, scores[0]);
        }
        return;
    }
    for (int64_t b = r0; b < r1; b += BLOCK) {
        int64_t nb = r1 - b < BLOCK ? r1 - b : BLOCK;
        if (!j->filter || j->filter_late) {
            kt->scan_i8(ix->q + (size_t)b * ix->dim, ix->scale + b, nb, ix->dim, j->query16, j->query_scale, scores);
            for (int64_t i = 0; i < nb; i++)
                if ((scores[i] > hp->h[0].score || hp->n < hp->cap) && (!j->filter || allowed(j->filter, ix->media[b + i])))
                    heap_push(hp, b + i, scores[i]);
            continue;
        }
        /* with a filter, only runs of allowed rows are scored */
        for (int64_t i = 0; i < nb;) {
            if (!allowed(j->filter, ix->media[b + i])) {
                i++;
                continue;
            }
            int64_t e = i + 1;
            while (e < nb && allowed(j->filter, ix->media[b + e])) e++;
            kt->scan_i8(ix->q + (size_t)(b + i) * ix->dim, ix->scale + b + i, e - i, ix->dim, j->query16,
                        j->query_scale, scores);
            for (int64_t t = 0; t < e - i; t++) heap_push(hp, b + i + t, scores[t]);
            i = e;
        }
    }
}

static int cmp_hit_desc(const void *a, const void *b) {
    float x = ((const vindex_hit *)a)->score, y = ((const vindex_hit *)b)->score;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int64_t lower_bound(const int64_t *v, int64_t n, int64_t key) {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (v[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

int64_t vindex_rescored_total;

/* Puts (row, score) into out, the best distinct media so far (at most k, best first). */
static int keep_best(const psk_vindex *ix, vindex_hit *out, int n_out, int k, vindex_hit c) {
    int j = 0;
    while (j < n_out && ix->media[out[j].row] != ix->media[c.row]) j++;
    if (j < n_out) { /* another row of a media already held: it counts only if better */
        if (c.score <= out[j].score) return n_out;
    } else if (n_out < k) {
        j = n_out++;
    } else if (c.score > out[k - 1].score) {
        j = k - 1;
    } else {
        return n_out;
    }
    while (j > 0 && out[j - 1].score < c.score) {
        out[j] = out[j - 1];
        j--;
    }
    out[j] = c;
    return n_out;
}

/* Exact rescoring of the candidates, best first, one hit per media, down to min_score. The candidates are taken in
 * the order of their int8 scores, and the rescoring stops once no candidate left can reach the k-th exact score:
 * an int8 score is off by the two quantisations' rounding, whose standard deviation is at most (row scale + query
 * scale) / sqrt(12) for unit vectors, and the remaining ones are given RESCORE_SIGMAS of it. The pool can then be as
 * large as the graph's beam (a search of the dense regions, where near-ties are many, needs it) while an easy query
 * rescores a few dozen (in the library, each is a read from the database). */
#define RESCORE_SIGMAS 6.0f
static int finish(const psk_vindex *ix, const float *query, vindex_hit *cand, int n, int k, float min_score,
                  vindex_exact_fn exact_fn, void *exact_user, vindex_hit *out) {
    qsort(cand, (size_t)n, sizeof *cand, cmp_hit_desc);
    float qmax = 0, smax = 0;
    for (int d = 0; d < ix->dim; d++) qmax = fmaxf(qmax, fabsf(query[d]));
    for (int i = 0; i < n; i++) smax = fmaxf(smax, ix->scale[cand[i].row]);
    float margin = RESCORE_SIGMAS * (smax + qmax / 8191.0f) / sqrtf(12.0f);
    float *v = psk_malloc(sizeof(float) * (size_t)ix->dim);
    int n_out = 0, done = 0;
    for (; done < n; done++) {
        float bound = cand[done].score + margin; /* no candidate from here on scores above it */
        if (bound < min_score || (n_out == k && bound < out[k - 1].score)) break;
        vindex_hit c = cand[done];
        const float *ex = ix->exact ? ix->exact + (size_t)c.row * ix->dim : NULL;
        if (!ex && v && exact_fn && exact_fn(exact_user, ix->media[c.row], ix->frame[c.row], v)) ex = v;
        if (ex) psk_kernels()->scan_f32(ex, 1, ix->dim, query, &c.score);
        if (c.score >= min_score) n_out = keep_best(ix, out, n_out, k, c);
    }
    psk_free(v);
    __atomic_fetch_add(&vindex_rescored_total, done, __ATOMIC_RELAXED);
    return n_out;
}

float vindex_filter_min_fraction(int64_t n) {
    return n > 0 ? sqrtf(1500.0f / (float)n) : 1.0f;
}

bool vindex_uses_graph(const psk_vindex *ix, const vindex_filter *filter) {
    if (!ix->ann || hnsw_size(ix->ann) != ix->n) return false;
    float min = ix->ann_filter_min >= 0 ? ix->ann_filter_min : vindex_filter_min_fraction(ix->n);
    return !filter || (double)filter->count >= (double)ix->n * min;
}

int vindex_search(const psk_vindex *ix, psk_pool *pool, const float *query, const vindex_filter *filter, int k,
                  float min_score, vindex_exact_fn exact_fn, void *exact_user, vindex_hit *out) {
    if (ix->n == 0 || k <= 0) return 0;
    if (filter && filter->count == 0) return 0;
    /* Candidates for exact rescoring from the scan: generous, because int8 scores are approximate and a video's
     * frames all compete for one place (finish stops early when the rest cannot matter). */
    int n_cand = k * 4 + 64;
    if (vindex_uses_graph(ix, filter)) {
        /* the graph's whole beam, rescored and deduplicated as the scan's candidates are */
        /* a filtered search keeps its breadth: its results are only the allowed nodes, whose top k settles late, and
         * the filtered searches of bench_ann (100k, 50% and 33%) widened ran several times slower (measured beside
         * other jobs) for the recall 1.000 they had without */
        int ef = ix->ann_ef > k ? ix->ann_ef : k, ef_max = ix->ann_ef_max ? ix->ann_ef_max : PSK_ANN_EF_MAX;
        if (filter) ef_max = ef;
        int want = ef_max > ef ? ef_max : ef;
        vindex_hit *cand = psk_malloc(sizeof(vindex_hit) * (size_t)want);
        int64_t *rows_c = psk_malloc(sizeof(int64_t) * (size_t)want);
        float *sims = psk_malloc(sizeof(float) * (size_t)want);
        int got = cand && rows_c && sims ? hnsw_search_adaptive(ix->ann, query, ef, ef_max, filter, k, want, rows_c, sims) : -1;
        for (int i = 0; i < got; i++) cand[i] = (vindex_hit){rows_c[i], sims[i]};
        psk_free(rows_c);
        psk_free(sims);
        int n_out = got < 0 ? -1 : finish(ix, query, cand, got, k, min_score, exact_fn, exact_user, out);
        psk_free(cand);
        return n_out;
    }
    int64_t *rows = NULL, n_rows = ix->n;
    if (filter && filter->count * 16 < ix->n) {
        /* Few media allowed: gather their rows instead of testing every row. */
        rows = psk_malloc(sizeof(int64_t) * (size_t)(filter->count * 4 + 16));
        int64_t cap = filter->count * 4 + 16;
        n_rows = 0;
        if (!rows) return -1;
        for (int64_t w = 0; w <= filter->max_id / 64; w++) {
            uint64_t bits = filter->bits[w];
            while (bits) {
                int64_t id = w * 64 + __builtin_ctzll(bits);
                bits &= bits - 1;
                for (int64_t r = lower_bound(ix->media, ix->n, id); r < ix->n && ix->media[r] == id; r++) {
                    if (n_rows == cap) {
                        int64_t *nr = psk_realloc(rows, sizeof(int64_t) * (size_t)cap * 2);
                        if (!nr) {
                            psk_free(rows);
                            return -1;
                        }
                        rows = nr;
                        cap *= 2;
                    }
                    rows[n_rows++] = r;
                }
            }
        }
    }
    int n_tasks = psk_pool_threads(pool) * 4;
    if (n_rows < 4096) n_tasks = 1;
    heap *heaps = psk_calloc((size_t)n_tasks, sizeof(heap));
    vindex_hit *store = psk_malloc(sizeof(vindex_hit) * (size_t)n_cand * (size_t)n_tasks);
    if (!heaps || !store) {
        psk_free(heaps);
        psk_free(store);
        psk_free(rows);
        return -1;
    }
    for (int t = 0; t < n_tasks; t++) heaps[t] = (heap){store + (size_t)t * n_cand, 0, n_cand};
    int16_t *q16 = psk_malloc(sizeof(int16_t) * (size_t)ix->dim);
    if (!q16) {
        psk_free(heaps);
        psk_free(store);
        psk_free(rows);
        return -1;
    }
    float q_scale = psk_quantize_query(query, ix->dim, q16);
    scan_job job = {ix, q16, q_scale, filter, rows, n_rows, filter && filter->count * 4 >= ix->n, n_tasks, heaps};
    psk_pool_run(pool, n_tasks, scan_task, &job);
    psk_free(q16);
    /* Merge the per-task heaps, rescore exactly, keep each media's best row. */
    vindex_hit *merged = psk_malloc(sizeof(vindex_hit) * (size_t)n_cand);
    int n_merged = 0;
    if (!merged) {
        psk_free(heaps);
        psk_free(store);
        psk_free(rows);
        return -1;
    }
    heap best = {merged, 0, n_cand};
    for (int t = 0; t < n_tasks; t++)
        for (int i = 0; i < heaps[t].n; i++) heap_push(&best, heaps[t].h[i].row, heaps[t].h[i].score);
    n_merged = best.n;
    int n_out = finish(ix, query, merged, n_merged, k, min_score, exact_fn, exact_user, out);
    psk_free(merged);
    psk_free(heaps);
    psk_free(store);
    psk_free(rows);
    return n_out;
}
