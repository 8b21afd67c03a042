/* HNSW (Malkov & Yashunin, 2018) over the vector index's int8 rows, for libraries too large for the exact scan.
 * Layer 0 keeps 2M neighbours per node, upper layers M; similarity is the inner product of the int8 rows (with
 * their scales), candidates are rescored exactly by vindex_search. A filter is honoured during the layer-0 search:
 * nodes it rejects are traversed but never returned. Built in parallel (a lock per node), saved to a file with
 * the rows it was built for, and extended when rows are appended; after each build, nodes that pruning left
 * weakly linked are linked again (repair_in_links). A node's unvisited neighbours are scored in one gathered,
 * prefetching kernel call (scan_i8_rows): at 1M rows the search waits on memory more than it computes.
 *
 * File format (little-endian, made to be mapped): a 128-byte header ("PSKHNSW2", int32 dim, M, M0, max_level,
 * int64 n, entry, blocks, then the vindex file key it was built for: int64 model_id, changes, uint64 library, then
 * uint64 file_bytes and the FNV-1a 64 of the bytes before it), then sections each at a multiple of 64 bytes: per
 * node int64 media, int32 frame, int8 level, int32 upper_at (its first upper-layer list, -1 if none); n x M0 int32
 * layer-0 links; blocks x M int32 upper-layer links. A search maps it (hnsw_map: the header only, so a cold
 * process does no pass over the nodes); an index run loads it to extend it (hnsw_load: every node checked). */
#include "index.h"

#include "../kernels/kernels.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct psk_hnsw {
    int dim, M, M0, ef_construction, max_level;
    int64_t n, cap, entry;
    int8_t *level;
    int32_t *links0;   /* n x M0, -1 = empty */
    int32_t **upper;   /* per node: level x M, or NULL */
    /* a graph mapped from its file (hnsw_map), read-only: level and links0 point into the mapping, and a node's
     * upper links are upper_flat + upper_at[node] * M (blocks lists in all) */
    psk_mmap map;
    const int32_t *upper_at, *upper_flat;
    int64_t blocks;
    pthread_mutex_t *locks;
    pthread_mutex_t global;
    const psk_vindex *ix;
    uint64_t seed;
};

static inline float sim(const psk_hnsw *h, const int16_t *q16, float qs, int64_t row) {
    float s;
    psk_kernels()->scan_i8(h->ix->q + (size_t)row * h->dim, h->ix->scale + row, 1, h->dim, q16, qs, &s);
    return s;
}

/* The similarity of two nodes, straight from their int8 rows. */
static inline float sim2(const psk_hnsw *h, int64_t a, int64_t b) {
    return (float)psk_kernels()->dot_i8(h->ix->q + (size_t)a * h->dim, h->ix->q + (size_t)b * h->dim, h->dim) *
           h->ix->scale[a] * h->ix->scale[b];
}

/* The int8 row of a node as a scan query. */
static float row_query(const psk_hnsw *h, int64_t row, int16_t *q16) {
    float v[4096];
    const int8_t *q = h->ix->q + (size_t)row * h->dim;
    for (int d = 0; d < h->dim; d++) v[d] = q[d] * h->ix->scale[row];
    return psk_quantize_query(v, h->dim, q16);
}

static int32_t *links_of(psk_hnsw *h, int64_t node, int layer) {
    if (layer == 0) return h->links0 + (size_t)node * h->M0;
    if (!h->upper_flat) return h->upper[node] + (size_t)(layer - 1) * h->M;
    /* mapped: a list outside the file (a damaged one) reads as no links */
    static const int32_t none[128] = {-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                      -1, -1, -1, -1, -1, -1, -1, -1};
    int64_t at = h->upper_at[node];
    if (layer > h->level[node] || at < 0 || at + layer > h->blocks) return (int32_t *)none;
    return (int32_t *)h->upper_flat + (size_t)(at + layer - 1) * h->M;
}

/* ---- a small binary heap of (similarity, node) ---- */
typedef struct hent {
    float s;
    int32_t id;
} hent;
typedef struct hheap {
    hent *e;
    int n, cap;
    bool max_first; /* candidates: best first; results: worst first */
} hheap;

static bool before(const hheap *h, hent a, hent b) {
    return h->max_first ? a.s > b.s : a.s < b.s;
}
static int hpush(hheap *h, float s, int32_t id) {
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        hent *e = psk_realloc(h->e, sizeof *e * (size_t)cap);
        if (!e) return -1;
        h->e = e;
        h->cap = cap;
    }
    int i = h->n++;
    hent x = {s, id};
    while (i > 0 && before(h, x, h->e[(i - 1) / 2])) {
        h->e[i] = h->e[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->e[i] = x;
    return 0;
}
static hent hpop(hheap *h) {
    hent top = h->e[0], x = h->e[--h->n];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        hent best = x;
        if (l < h->n && before(h, h->e[l], best)) m = l, best = h->e[l];
        if (r < h->n && before(h, h->e[r], best)) m = r;
        if (m == i) break;
        h->e[i] = h->e[m];
        i = m;
    }
    if (h->n) h->e[i] = x;
    return top;
}

/* visited marks and the candidate heap, reused between the searches of one thread */
typedef struct visited {
    uint32_t *mark;
    int64_t cap;
    uint32_t epoch;
    hheap cand;
} visited;

static void visited_free(visited *v) {
    psk_free(v->mark);
    psk_free(v->cand.e);
}

static int visited_reset(visited *v, int64_t n) {
    if (n > v->cap) {
        psk_free(v->mark);
        v->mark = psk_calloc((size_t)n, sizeof(uint32_t));
        if (!v->mark) {
            v->cap = 0;
            return -1;
        }
        v->cap = n;
        v->epoch = 0;
    }
    if (++v->epoch == 0) {
        memset(v->mark, 0, sizeof(uint32_t) * (size_t)v->cap);
        v->epoch = 1;
    }
    return 0;
}

static inline bool allows(const vindex_filter *allow, int64_t media) {
    return !allow || (allow->bits[media >> 6] >> (media & 63) & 1);
}

/* The similarities of the nodes in `rows`, gathered (and prefetched) by the kernel. */
static inline void sims_of(const psk_hnsw *h, const int16_t *q16, float qs, const int32_t *rows, int n, float *out) {
    psk_kernels()->scan_i8_rows(h->ix->q, h->ix->scale, rows, n, h->dim, q16, qs, out);
}

static void greedy(psk_hnsw *h, const int16_t *q16, float qs, int64_t *cur, float *cur_s, int layer, bool lock) {
    bool changed = true;
    while (changed) {
        changed = false;
        if (lock) pthread_mutex_lock(&h->locks[*cur]);
        const int32_t *l = links_of(h, *cur, layer);
        int deg = layer == 0 ? h->M0 : h->M;
        int32_t nb[256];
        memcpy(nb, l, sizeof(int32_t) * (size_t)deg);
        if (lock) pthread_mutex_unlock(&h->locks[*cur]);
        int n = 0;
        while (n < deg && nb[n] >= 0 && nb[n] < h->n) n++;
        float s[256];
        sims_of(h, q16, qs, nb, n, s);
        for (int i = 0; i < n; i++)
            if (s[i] > *cur_s) {
                *cur_s = s[i];
                *cur = nb[i];
                changed = true;
            }
    }
}

/* The entry point of a layer-0 search for the query: greedy steps down from the top layer. */
static int64_t descend(psk_hnsw *h, const int16_t *q16, float qs) {
    int64_t ep = h->entry;
    float s = sim(h, q16, qs, ep);
    for (int l = h->max_level; l > 0; l--) greedy(h, q16, qs, &ep, &s, l, false);
    return ep;
}

/* Marks a node's neighbours (a list of deg, ended early by -1) that this search has not seen yet and writes them to
 * fresh; returns how many. */
static inline int mark_fresh(const psk_hnsw *h, visited *vis, const int32_t *nb, int deg, int32_t *fresh) {
    int n = 0;
    for (int i = 0; i < deg && nb[i] >= 0; i++) {
        int32_t x = nb[i];
        if (x >= h->n || vis->mark[x] == vis->epoch) continue;
        vis->mark[x] = vis->epoch;
        fresh[n++] = x;
    }
    return n;
}

/* Beam search of one layer (the build's): expands the best candidate of vis->cand while it can still improve the
 * results (worst first, up to ef nodes that `allow` accepts). */
static int expand(psk_hnsw *h, const int16_t *q16, float qs, int ef, int layer, visited *vis, const vindex_filter *allow,
                  hheap *res, bool lock) {
    hheap cand = vis->cand; /* reused: a search allocates nothing once warm */
    int deg = layer == 0 ? h->M0 : h->M;
    int32_t nb[256], fresh[256];
    float sims[256];
    while (cand.n) {
        if (res->n >= ef && cand.e[0].s < res->e[0].s) break;
        hent c = hpop(&cand);
        if (lock) pthread_mutex_lock(&h->locks[c.id]);
        memcpy(nb, links_of(h, c.id, layer), sizeof(int32_t) * (size_t)deg);
        if (lock) pthread_mutex_unlock(&h->locks[c.id]);
        /* the unvisited neighbours first, then their similarities in one gathered pass */
        int n_fresh = mark_fresh(h, vis, nb, deg, fresh);
        sims_of(h, q16, qs, fresh, n_fresh, sims);
        for (int i = 0; i < n_fresh; i++) {
            int32_t x = fresh[i];
            float s = sims[i];
            if (res->n < ef || s > res->e[0].s) {
                if (hpush(&cand, s, x)) goto fail;
                if (allows(allow, h->ix->media[x])) {
                    if (hpush(res, s, x)) goto fail;
                    if (res->n > ef) hpop(res);
                }
            }
        }
    }
    vis->cand = cand;
    return 0;
fail:
    vis->cand = cand;
    return -1;
}

/* Starts a beam search of one layer from `ep` (see expand). */
static int search_layer(psk_hnsw *h, const int16_t *q16, float qs, int64_t ep, int ef, int layer, visited *vis,
                        const vindex_filter *allow, hheap *res, bool lock) {
    vis->cand.n = 0;
    vis->cand.max_first = true;
    res->max_first = false;
    res->n = 0;
    if (visited_reset(vis, h->n)) return -1;
    float s0 = sim(h, q16, qs, ep);
    vis->mark[ep] = vis->epoch;
    if (hpush(&vis->cand, s0, (int32_t)ep)) return -1;
    if (allows(allow, h->ix->media[ep]) && hpush(res, s0, (int32_t)ep)) return -1;
    return expand(h, q16, qs, ef, layer, vis, allow, res, lock);
}

/* The heuristic of the paper: keep a candidate only if it is closer to the node than to any neighbour kept.
 * Returns how many were kept, or -1 when out of memory. */
static int select_neighbours(psk_hnsw *h, hheap *res, int max, int32_t *out) {
    /* results come worst first: take them best first */
    int n = res->n;
    hent *sorted = psk_malloc(sizeof(hent) * (size_t)(n ? n : 1));
    if (!sorted) return -1;
    for (int i = n - 1; i >= 0; i--) sorted[i] = hpop(res);
    int kept = 0;
    for (int i = 0; i < n && kept < max; i++) {
        bool good = true;
        for (int j = 0; j < kept && good; j++) good = sim2(h, sorted[i].id, out[j]) <= sorted[i].s;
        if (good) out[kept++] = sorted[i].id;
    }
    psk_free(sorted);
    return kept;
}

/* Returns -1 when out of memory (a's links are then left as they were). */
static int connect(psk_hnsw *h, int64_t a, int32_t b, int layer) {
    /* adds a -> b, pruning a's list by similarity to a when full */
    int deg = layer == 0 ? h->M0 : h->M;
    pthread_mutex_lock(&h->locks[a]);
    int32_t *l = links_of(h, a, layer);
    int i = 0;
    while (i < deg && l[i] >= 0 && l[i] != b) i++;
    if (i < deg && l[i] == b) {
        pthread_mutex_unlock(&h->locks[a]);
        return 0;
    }
    if (i < deg) {
        l[i] = b;
        pthread_mutex_unlock(&h->locks[a]);
        return 0;
    }
    /* Full: the heuristic again over the old neighbours and b. Dropping simply the least similar one would cut
     * the long links between clusters first, which are the ones a search needs. */
    hheap cands = {0};
    cands.max_first = false;
    int bad = 0;
    for (i = 0; i < deg; i++) bad |= hpush(&cands, sim2(h, a, l[i]), l[i]);
    bad |= hpush(&cands, sim2(h, a, b), b);
    int32_t kept[256];
    int n = bad ? -1 : select_neighbours(h, &cands, deg, kept);
    psk_free(cands.e);
    if (n >= 0) {
        memcpy(l, kept, sizeof(int32_t) * (size_t)n);
        for (i = n; i < deg; i++) l[i] = -1;
    }
    pthread_mutex_unlock(&h->locks[a]);
    return n < 0 ? -1 : 0;
}

static int random_level(psk_hnsw *h) {
    pthread_mutex_lock(&h->global);
    h->seed = h->seed * 6364136223846793005ULL + 1442695040888963407ULL;
    double u = ((h->seed >> 11) + 1) / 9007199254740993.0;
    pthread_mutex_unlock(&h->global);
    int l = (int)(-log(u) / log((double)h->M));
    return l > 16 ? 16 : l;
}

static int insert(psk_hnsw *h, int64_t node, visited *vis) {
    int level = random_level(h);
    h->level[node] = (int8_t)level;
    if (level > 0) {
        h->upper[node] = psk_malloc(sizeof(int32_t) * (size_t)level * h->M);
        if (!h->upper[node]) return -1;
        memset(h->upper[node], 0xff, sizeof(int32_t) * (size_t)level * h->M);
    }
    memset(h->links0 + (size_t)node * h->M0, 0xff, sizeof(int32_t) * (size_t)h->M0);
    pthread_mutex_lock(&h->global);
    int64_t ep = h->entry;
    int top = h->max_level;
    if (ep < 0) {
        h->entry = node;
        h->max_level = level;
        pthread_mutex_unlock(&h->global);
        return 0;
    }
    pthread_mutex_unlock(&h->global);
    int16_t q16[4096];
    float qs = row_query(h, node, q16), s = sim(h, q16, qs, ep);
    for (int l = top; l > level; l--) greedy(h, q16, qs, &ep, &s, l, true);
    hheap res = {0};
    int32_t chosen[256];
    for (int l = level < top ? level : top; l >= 0; l--) {
        if (search_layer(h, q16, qs, ep, h->ef_construction, l, vis, NULL, &res, true)) {
            psk_free(res.e);
            return -1;
        }
        /* the best result is the entry of the next layer down */
        for (int i = 0; i < res.n; i++)
            if (res.e[i].s > s || i == 0) ep = res.e[i].id, s = res.e[i].s;
        /* M links at every layer, chosen by the heuristic alone (as the paper and hnswlib do): layer 0's room
         * for 2M fills with the links later nodes make back. Filling it at once with the nearest (tried) built
         * 15% slower for the same recall. */
        int n = select_neighbours(h, &res, h->M, chosen);
        if (n < 0) {
            psk_free(res.e);
            return -1;
        }
        pthread_mutex_lock(&h->locks[node]);
        memcpy(links_of(h, node, l), chosen, sizeof(int32_t) * (size_t)n);
        pthread_mutex_unlock(&h->locks[node]);
        int bad = 0;
        for (int i = 0; i < n; i++) bad |= connect(h, chosen[i], (int32_t)node, l);
        if (bad) {
            psk_free(res.e);
            return -1;
        }
    }
    psk_free(res.e);
    if (level > top) {
        pthread_mutex_lock(&h->global);
        if (level > h->max_level) {
            h->max_level = level;
            h->entry = node;
        }
        pthread_mutex_unlock(&h->global);
    }
    return 0;
}

static int grow(psk_hnsw *h, int64_t n) {
    if (n <= h->cap) return 0;
    int64_t cap = n;
    int8_t *lv = psk_realloc(h->level, (size_t)cap);
    if (lv) h->level = lv;
    int32_t *l0 = psk_realloc(h->links0, sizeof(int32_t) * (size_t)cap * h->M0);
    if (l0) h->links0 = l0;
    int32_t **up = psk_realloc(h->upper, sizeof(int32_t *) * (size_t)cap);
    if (up) h->upper = up;
    pthread_mutex_t *lk = psk_realloc(h->locks, sizeof(pthread_mutex_t) * (size_t)cap);
    if (lk) h->locks = lk;
    if (!lv || !l0 || !up || !lk) return -1;
    for (int64_t i = h->cap; i < cap; i++) {
        h->upper[i] = NULL;
        pthread_mutex_init(&h->locks[i], NULL);
    }
    h->cap = cap;
    return 0;
}

typedef struct build_job {
    psk_hnsw *h;
    int64_t from, to;
    int n_tasks;
    int failed;
} build_job;

static void build_task(void *arg, int task, int thread) {
    (void)thread;
    build_job *j = arg;
    visited vis = {0};
    /* runs of 64 rows, interleaved so that both threads work on the whole range; within a run one thread inserts
     * row after row, so that neighbouring rows (a photo and its copy, a burst, indexed together) each see the
     * other: two close rows inserted at the same moment by two threads both miss each other, and a search for
     * one's near-duplicates (hnsw_neighbours) may then miss the other */
    const int64_t run = 64;
    for (int64_t r = j->from + task * run; r < j->to; r += j->n_tasks * run)
        for (int64_t i = r; i < r + run && i < j->to; i++)
            if (insert(j->h, i, &vis)) j->failed = 1;
    visited_free(&vis);
}

/* Incoming links per node at layer 0 (calloc'd; NULL when out of memory). */
static int32_t *in_links(const psk_hnsw *h) {
    int32_t *indeg = psk_calloc((size_t)h->n, sizeof(int32_t));
    for (int64_t i = 0; indeg && i < h->n * h->M0; i++)
        if (h->links0[i] >= 0) indeg[h->links0[i]]++;
    return indeg;
}

/* Puts a link y -> x into a free slot of y's layer-0 list, or in place of y's least similar link to a node that
 * keeps more than MIN_IN incoming links. Returns whether it did. */
#define MIN_IN 3
static bool add_in_link(psk_hnsw *h, int32_t *indeg, int64_t y, int64_t x) {
    int32_t *l = links_of(h, y, 0);
    int slot = -1;
    float worst = 2;
    for (int j = 0; j < h->M0; j++) {
        if (l[j] == x) return false;
        if (l[j] < 0) {
            slot = j;
            break;
        }
        if (indeg[l[j]] > MIN_IN) {
            float sj = sim2(h, y, l[j]);
            if (sj < worst) worst = sj, slot = j;
        }
    }
    if (slot < 0) return false;
    if (l[slot] >= 0) indeg[l[slot]]--;
    l[slot] = (int32_t)x;
    indeg[x]++;
    return true;
}

/* Pruning full neighbour lists leaves some nodes at layer 0 with no incoming link (no search reaches them again)
 * or with one from a node that searches near them never expand: mostly early nodes, whose links were made when
 * the graph was small. At 20k vectors that was 0.05% of the nodes and every miss at ef 512. Each node with fewer
 * than MIN_IN is searched for in the finished graph, and its nearest nodes link to it. */
static int repair_in_links(psk_hnsw *h) {
    int32_t *indeg = in_links(h);
    if (!indeg) return PSK_ERR_NOMEM;
    visited vis = {0};
    hheap res = {0};
    int rc = PSK_OK;
    int16_t q16[4096];
    for (int64_t x = 0; x < h->n && !rc; x++) {
        if (indeg[x] >= MIN_IN || x == h->entry) continue;
        float qs = row_query(h, x, q16);
        if (search_layer(h, q16, qs, descend(h, q16, qs), h->ef_construction, 0, &vis, NULL, &res, false)) {
            rc = PSK_ERR_NOMEM;
            break;
        }
        /* results come worst first */
        int n = res.n;
        hent best[512];
        for (int i = n - 1; i >= 0; i--) {
            hent e = hpop(&res);
            if (i < 512) best[i] = e;
        }
        for (int i = 0; i < n && i < 512 && indeg[x] < MIN_IN; i++)
            if (best[i].id != x) add_in_link(h, indeg, best[i].id, x);
    }
    visited_free(&vis);
    psk_free(res.e);
    psk_free(indeg);
    return rc;
}

psk_hnsw *hnsw_new(const psk_vindex *ix, int M, int ef_construction) {
    psk_hnsw *h = psk_calloc(1, sizeof *h);
    if (!h) return NULL;
    h->dim = ix->dim;
    h->M = M;
    h->M0 = 2 * M;
    h->ef_construction = ef_construction;
    h->entry = -1;
    h->ix = ix;
    h->seed = 42;
    pthread_mutex_init(&h->global, NULL);
    return h;
}

psk_hnsw *hnsw_new_default(const psk_vindex *ix) {
    return hnsw_new(ix, PSK_ANN_M, PSK_ANN_EF_CONSTRUCTION);
}

int hnsw_extend(psk_hnsw *h, const psk_vindex *ix, psk_pool *pool) {
    h->ix = ix;
    if (h->map.data || ix->dim != h->dim || ix->dim > 4096 || h->M0 > 256) return PSK_ERR_UNSUPPORTED;
    int64_t from = h->n;
    if (ix->n <= from) return PSK_OK;
    if (grow(h, ix->n)) return PSK_ERR_NOMEM;
    h->n = ix->n;
    /* the first node alone, so that there is an entry point */
    build_job j = {h, from, ix->n, 1, 0};
    if (from == 0) {
        visited vis = {0};
        if (insert(h, 0, &vis)) j.failed = 1;
        visited_free(&vis);
        j.from = 1;
    }
    j.n_tasks = psk_pool_threads(pool);
    psk_pool_run(pool, j.n_tasks, build_task, &j);
    if (j.failed) return PSK_ERR_NOMEM;
    return repair_in_links(h);
}

void hnsw_free(psk_hnsw *h) {
    if (!h) return;
    if (h->map.data) { /* mapped: nothing of its own but the struct */
        psk_mmap_close(&h->map);
        pthread_mutex_destroy(&h->global);
        psk_free(h);
        return;
    }
    for (int64_t i = 0; i < h->cap; i++) {
        psk_free(h->upper[i]);
        pthread_mutex_destroy(&h->locks[i]);
    }
    psk_free(h->level);
    psk_free(h->links0);
    psk_free(h->upper);
    psk_free(h->locks);
    pthread_mutex_destroy(&h->global);
    psk_free(h);
}

int64_t hnsw_size(const psk_hnsw *h) {
    return h ? h->n : 0;
}

size_t hnsw_bytes(const psk_hnsw *h) {
    size_t b = (size_t)h->n * (1 + sizeof(int32_t) * h->M0 + sizeof(void *) + sizeof(pthread_mutex_t));
    for (int64_t i = 0; i < h->n; i++) b += (size_t)h->level[i] * h->M * sizeof(int32_t);
    return b;
}

/* The query's layer-0 search with a breadth that adapts: a beam of ef_max whose search also stops, as a beam of ef
 * would, once its best candidate is worse than the ef-th best result, provided the k best results have not changed
 * over the last `patience` expansions. A query whose top k still improves there (a crowded neighbourhood, where the
 * beam of ef cuts through near-ties) goes on, up to where the beam of ef_max stops. */
static int expand_query(psk_hnsw *h, const int16_t *q16, float qs, int ef, int ef_max, int k, int patience,
                        visited *vis, const vindex_filter *allow, hheap *res, hheap *narrow) {
    hheap cand = vis->cand;
    int deg = h->M0, stale = 0, n_top = 0;
    int64_t n_sims = 0;
    int32_t nb[256], fresh[256];
    float sims[256], top[64];
    k = k < 64 ? k : 64;
    for (int i = 0; i < res->n; i++) top[n_top++] = res->e[i].s; /* the entry point alone */
    while (cand.n) {
        float best = cand.e[0].s;
        if (res->n >= ef_max && best < res->e[0].s) break;
        if (narrow->n >= ef && best < narrow->e[0].s && stale >= patience) break;
        hent c = hpop(&cand);
        memcpy(nb, links_of(h, c.id, 0), sizeof(int32_t) * (size_t)deg);
        int n_fresh = mark_fresh(h, vis, nb, deg, fresh);
        sims_of(h, q16, qs, fresh, n_fresh, sims);
        n_sims += n_fresh;
        stale++;
        for (int i = 0; i < n_fresh; i++) {
            int32_t x = fresh[i];
            float s = sims[i];
            if (res->n >= ef_max && s <= res->e[0].s) continue;
            if (hpush(&cand, s, x)) goto fail;
            if (!allows(allow, h->ix->media[x])) continue;
            if (hpush(res, s, x)) goto fail;
            if (res->n > ef_max) hpop(res);
            if (narrow->n < ef || s > narrow->e[0].s) {
                if (hpush(narrow, s, x)) goto fail;
                if (narrow->n > ef) hpop(narrow);
            }
            if (n_top < k || s > top[n_top - 1]) { /* a new member of the top k */
                int p = n_top < k ? n_top++ : k - 1;
                while (p > 0 && top[p - 1] < s) top[p] = top[p - 1], p--;
                top[p] = s;
                stale = 0;
            }
        }
    }
    vis->cand = cand;
    __atomic_fetch_add(&hnsw_sims_total, n_sims, __ATOMIC_RELAXED);
    return 0;
fail:
    vis->cand = cand;
    return -1;
}

int64_t hnsw_sims_total;

/* The layer-0 search of a quantised query from the node ep (see hnsw_search_adaptive). */
static int search_from(psk_hnsw *h, const int16_t *q16, float qs, int64_t ep, int ef, int ef_max,
                       const vindex_filter *allow, int k, int n_max, int64_t *rows, float *sims) {
    static _Thread_local visited vis;
    hheap res = {0}, narrow = {0};
    if (ef < k) ef = k;
    if (ef_max < ef) ef_max = ef; /* n_max only bounds what is returned: the beam holds up to ef_max */
    /* the start of search_layer, then the adaptive expansion */
    vis.cand.n = 0;
    vis.cand.max_first = true;
    res.max_first = narrow.max_first = false;
    int rc = visited_reset(&vis, h->n);
    float s0 = sim(h, q16, qs, ep);
    if (!rc) {
        vis.mark[ep] = vis.epoch;
        rc = hpush(&vis.cand, s0, (int32_t)ep);
        if (!rc && allows(allow, h->ix->media[ep])) rc = hpush(&res, s0, (int32_t)ep) || hpush(&narrow, s0, (int32_t)ep);
    }
    if (!rc) rc = expand_query(h, q16, qs, ef, ef_max, k, PSK_ANN_PATIENCE, &vis, allow, &res, &narrow);
    psk_free(narrow.e);
    if (rc) {
        psk_free(res.e);
        return -1;
    }
    int n = res.n;
    for (int i = n - 1; i >= 0; i--) {
        hent e = hpop(&res);
        if (i < n_max) {
            rows[i] = e.id;
            sims[i] = e.s;
        }
    }
    psk_free(res.e);
    return n < n_max ? n : n_max;
}

int hnsw_search_adaptive(psk_hnsw *h, const float *query, int ef, int ef_max, const vindex_filter *allow, int k,
                         int n_max, int64_t *rows, float *sims) {
    if (!h || h->entry < 0) return 0;
    int16_t q16[4096];
    float qs = psk_quantize_query(query, h->dim, q16);
    return search_from(h, q16, qs, descend(h, q16, qs), ef, ef_max, allow, k, n_max, rows, sims);
}

int hnsw_neighbours(psk_hnsw *h, int64_t row, float min_sim, int k, int64_t *rows, float *sims) {
    if (!h || h->entry < 0 || row < 0 || row >= h->n || k < 1) return 0;
    int16_t q16[4096];
    float qs = row_query(h, row, q16);
    static _Thread_local visited vis;
    if (visited_reset(&vis, h->n)) return -1;
    hheap cand = vis.cand, res = {0};
    cand.n = 0;
    cand.max_first = true;
    res.max_first = false;
    float s0 = sim(h, q16, qs, row);
    vis.mark[row] = vis.epoch;
    int rc = hpush(&cand, s0, (int32_t)row) || hpush(&res, s0, (int32_t)row);
    int32_t nb[256], fresh[256];
    float s[256];
    /* only nodes at min_sim or more are expanded: the node's own links, and those of its close neighbours (a copy
     * of a copy, the frames of a burst), so that a photo with nothing close costs one node's links */
    for (int expanded = 0; !rc && cand.n && expanded < HNSW_CLOSE_MAX_EXPAND; expanded++) {
        hent c = hpop(&cand);
        memcpy(nb, links_of(h, c.id, 0), sizeof(int32_t) * (size_t)h->M0);
        int n_fresh = mark_fresh(h, &vis, nb, h->M0, fresh);
        sims_of(h, q16, qs, fresh, n_fresh, s);
        for (int i = 0; !rc && i < n_fresh; i++) {
            if (s[i] < min_sim) continue;
            rc = hpush(&cand, s[i], fresh[i]);
            if (!rc && (res.n < k || s[i] > res.e[0].s)) {
                rc = hpush(&res, s[i], fresh[i]);
                if (!rc && res.n > k) hpop(&res);
            }
        }
    }
    vis.cand = cand;
    int n = rc ? -1 : res.n;
    for (int i = res.n - 1; !rc && i >= 0; i--) {
        hent e = hpop(&res);
        rows[i] = e.id;
        sims[i] = e.s;
    }
    psk_free(res.e);
    return n;
}

int hnsw_search(psk_hnsw *h, const float *query, int ef, const vindex_filter *allow, int k, int64_t *rows, float *sims) {
    return hnsw_search_adaptive(h, query, ef, ef, allow, k, k, rows, sims);
}

int hnsw_layer0_stats(const psk_hnsw *h, int64_t *unreachable, int64_t *few_in_links) {
    *unreachable = *few_in_links = 0;
    if (!h || h->entry < 0) return PSK_OK;
    int32_t *indeg = in_links(h), *queue = psk_malloc(sizeof(int32_t) * (size_t)h->n);
    if (!indeg || !queue) {
        psk_free(indeg);
        psk_free(queue);
        return PSK_ERR_NOMEM;
    }
    for (int64_t i = 0; i < h->n; i++) *few_in_links += i != h->entry && indeg[i] < MIN_IN;
    /* breadth first from the entry; indeg becomes -1 once reached */
    int64_t head = 0, tail = 0;
    queue[tail++] = (int32_t)h->entry;
    indeg[h->entry] = -1;
    while (head < tail) {
        const int32_t *l = h->links0 + (size_t)queue[head++] * h->M0;
        for (int j = 0; j < h->M0 && l[j] >= 0; j++)
            if (indeg[l[j]] >= 0) {
                indeg[l[j]] = -1;
                queue[tail++] = l[j];
            }
    }
    *unreachable = h->n - tail;
    psk_free(indeg);
    psk_free(queue);
    return PSK_OK;
}

/* ---- persistence ---- */
#define HNSW_HEADER_BYTES 128

typedef struct hnsw_header {
    char magic[8]; /* "PSKHNSW2" */
    int32_t dim, M, M0, max_level;
    int64_t n, entry, blocks; /* blocks: upper-layer link lists (M int32 each), all nodes together */
    int64_t model_id, changes;
    uint64_t library, file_bytes, check; /* check: FNV-1a 64 of the bytes before it */
    char pad[HNSW_HEADER_BYTES - 88];
} hnsw_header;
_Static_assert(sizeof(hnsw_header) == HNSW_HEADER_BYTES, "the graph header is 128 bytes");

typedef struct hnsw_layout {
    uint64_t media, frame, level, upper_at, links0, upper, total;
} hnsw_layout;

static uint64_t up64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

static hnsw_layout hnsw_layout_of(int64_t n, int M, int M0, int64_t blocks) {
    hnsw_layout l;
    l.media = HNSW_HEADER_BYTES;
    l.frame = up64(l.media + 8 * (uint64_t)n);
    l.level = up64(l.frame + 4 * (uint64_t)n);
    l.upper_at = up64(l.level + (uint64_t)n);
    l.links0 = up64(l.upper_at + 4 * (uint64_t)n);
    l.upper = up64(l.links0 + 4 * (uint64_t)n * (uint64_t)M0);
    l.total = l.upper + 4 * (uint64_t)blocks * (uint64_t)M;
    return l;
}

static bool put_at(FILE *f, uint64_t *pos, uint64_t at, const void *data, size_t bytes) {
    static const char zeros[64];
    while (*pos < at) {
        size_t pad = at - *pos < sizeof zeros ? (size_t)(at - *pos) : sizeof zeros;
        if (fwrite(zeros, 1, pad, f) != pad) return false;
        *pos += pad;
    }
    if (bytes && fwrite(data, 1, bytes, f) != bytes) return false;
    *pos += bytes;
    return true;
}

int hnsw_save(const psk_hnsw *h, const char *path, const vindex_file_key *key) {
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= sizeof tmp) return PSK_ERR_IO;
    int32_t *upper_at = psk_malloc(sizeof(int32_t) * (size_t)(h->n ? h->n : 1));
    if (!upper_at) return PSK_ERR_NOMEM;
    int64_t blocks = 0;
    for (int64_t i = 0; i < h->n; i++) {
        upper_at[i] = h->level[i] > 0 ? (int32_t)blocks : -1;
        blocks += h->level[i];
    }
    hnsw_layout l = hnsw_layout_of(h->n, h->M, h->M0, blocks);
    hnsw_header hd = {.magic = {'P', 'S', 'K', 'H', 'N', 'S', 'W', '2'}, .dim = h->dim, .M = h->M, .M0 = h->M0,
                      .max_level = h->max_level, .n = h->n, .entry = h->entry, .blocks = blocks,
                      .file_bytes = l.total};
    if (key) {
        hd.model_id = key->model_id;
        hd.changes = key->changes;
        hd.library = key->library;
    }
    hd.check = psk_fnv1a64(&hd, offsetof(hnsw_header, check));
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        psk_free(upper_at);
        return PSK_ERR_IO;
    }
    size_t n = (size_t)h->n;
    uint64_t pos = 0;
    bool ok = put_at(f, &pos, 0, &hd, sizeof hd) && put_at(f, &pos, l.media, h->ix->media, 8 * n) &&
              put_at(f, &pos, l.frame, h->ix->frame, 4 * n) && put_at(f, &pos, l.level, h->level, n) &&
              put_at(f, &pos, l.upper_at, upper_at, 4 * n) &&
              put_at(f, &pos, l.links0, h->links0, sizeof(int32_t) * n * (size_t)h->M0) && put_at(f, &pos, l.upper, NULL, 0);
    for (int64_t i = 0; ok && i < h->n; i++)
        if (h->level[i] > 0) ok = fwrite(h->upper[i], sizeof(int32_t) * h->M, (size_t)h->level[i], f) == (size_t)h->level[i];
    psk_free(upper_at);
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return PSK_ERR_IO;
    }
    return PSK_OK;
}

/* Maps a graph file and checks its header (O(1): no pass over the nodes); NULL when it is not a complete graph
 * of ix's dimension. */
static const hnsw_header *map_graph(const char *path, const psk_vindex *ix, psk_mmap *m, hnsw_layout *l) {
    psk_error quiet = {0};
    if (psk_mmap_open(path, m, &quiet)) return NULL;
    const hnsw_header *hd = m->data;
    if (m->size < sizeof *hd || memcmp(hd->magic, "PSKHNSW2", 8) != 0 ||
        hd->check != psk_fnv1a64(hd, offsetof(hnsw_header, check)) || hd->dim != ix->dim || hd->M < 2 || hd->M > 128 ||
        hd->M0 != 2 * hd->M || hd->max_level < 0 || hd->max_level > 16 || hd->n < 1 || hd->n > ix->n ||
        hd->n > INT32_MAX || hd->entry < 0 || hd->entry >= hd->n || hd->blocks < 0 || hd->blocks > 17 * hd->n)
        goto fail;
    *l = hnsw_layout_of(hd->n, hd->M, hd->M0, hd->blocks);
    if (hd->file_bytes != l->total || m->size != l->total) goto fail;
    return hd;
fail:
    psk_mmap_close(m);
    return NULL;
}

/* Loads a graph if it was built for a prefix of ix's rows (then hnsw_extend adds the rest), checking every node
 * (the writer's path: an index run extends it); NULL otherwise. */
psk_hnsw *hnsw_load(const char *path, const psk_vindex *ix) {
    psk_mmap m;
    hnsw_layout l;
    const hnsw_header *hd = map_graph(path, ix, &m, &l);
    if (!hd) return NULL;
    const char *base = m.data;
    const int64_t *media = (const int64_t *)(base + l.media);
    const int32_t *frame = (const int32_t *)(base + l.frame), *upper_at = (const int32_t *)(base + l.upper_at);
    const int8_t *level = (const int8_t *)(base + l.level);
    const int32_t *links0 = (const int32_t *)(base + l.links0), *upper = (const int32_t *)(base + l.upper);
    psk_hnsw *h = hnsw_new(ix, hd->M, PSK_ANN_EF_CONSTRUCTION); /* the file keeps M; rows added later take today's breadth */
    if (!h || grow(h, hd->n)) goto fail;
    h->n = hd->n;
    h->entry = hd->entry;
    h->max_level = hd->max_level;
    for (int64_t i = 0; i < h->n; i++) {
        /* the rows must be the same, in the same order */
        if (media[i] != ix->media[i] || frame[i] != ix->frame[i] || level[i] < 0 || level[i] > hd->max_level) goto fail;
        h->level[i] = level[i];
        if (level[i] > 0) {
            if (upper_at[i] < 0 || upper_at[i] + (int64_t)level[i] > hd->blocks) goto fail;
            size_t bytes = sizeof(int32_t) * (size_t)level[i] * h->M;
            if (!(h->upper[i] = psk_malloc(bytes))) goto fail;
            memcpy(h->upper[i], upper + (size_t)upper_at[i] * h->M, bytes);
            for (int j = 0; j < level[i] * h->M; j++)
                if (h->upper[i][j] >= h->n) goto fail;
        }
    }
    memcpy(h->links0, links0, sizeof(int32_t) * (size_t)h->n * h->M0);
    for (int64_t j = 0; j < h->n * h->M0; j++)
        if (h->links0[j] >= h->n) goto fail;
    psk_mmap_close(&m);
    return h;
fail:
    psk_mmap_close(&m);
    hnsw_free(h);
    return NULL;
}

/* Maps a graph for searching, if it was built for exactly ix's rows as the library is now (`key`, the vindex
 * file's key, and the same number of rows): only the header is read. Links are bounds-checked where the search
 * follows them, so a damaged file gives poor answers, never a read outside the mapping. */
psk_hnsw *hnsw_map(const char *path, const psk_vindex *ix, const vindex_file_key *key) {
    psk_mmap m;
    hnsw_layout l;
    const hnsw_header *hd = map_graph(path, ix, &m, &l);
    if (!hd) return NULL;
    if (hd->n != ix->n || hd->model_id != key->model_id || hd->changes != key->changes || hd->library != key->library) {
        psk_mmap_close(&m);
        return NULL;
    }
    psk_hnsw *h = hnsw_new(ix, hd->M, PSK_ANN_EF_CONSTRUCTION);
    if (!h) {
        psk_mmap_close(&m);
        return NULL;
    }
    madvise(m.data, m.size, MADV_RANDOM); /* a search visits a few thousand nodes scattered over the file */
    const char *base = m.data;
    h->n = hd->n;
    h->entry = hd->entry;
    h->max_level = hd->max_level;
    h->blocks = hd->blocks;
    h->level = (int8_t *)(base + l.level);
    h->links0 = (int32_t *)(base + l.links0);
    h->upper_at = (const int32_t *)(base + l.upper_at);
    h->upper_flat = (const int32_t *)(base + l.upper);
    h->map = m;
    return h;
}
