/* The vector index: every embedding of one model held in memory in compact form (int8 with a scale per vector,
 * a quarter of float32's bytes), scanned in parallel with the SIMD kernels, restricted to the media a filter
 * allows, and rescored exactly in float32 before the top k are returned. */
#ifndef PSK_INDEX_H
#define PSK_INDEX_H

#include "../common/common.h"

typedef struct psk_vindex {
    int dim;
    int64_t n, cap;  /* rows (vectors), and rows allocated */
    int64_t *media;  /* media id per row, ascending */
    int32_t *frame;  /* frame time in ms per row (-1 for a photo) */
    int8_t *q;       /* n x dim quantised values */
    float *scale;    /* n: value = q * scale */
    float *exact;    /* n x dim float32, or NULL: rescoring then asks `exact_fn` */
    struct psk_hnsw *ann; /* an HNSW graph over all rows, or NULL: exact scans only */
    int ann_ef;           /* its search breadth */
    /* the breadth a crowded neighbourhood may widen it to (hnsw_search_adaptive): 0 (the default) PSK_ANN_EF_MAX,
     * negative or below ann_ef: none, ann_ef is fixed */
    int ann_ef_max;
    /* filters that allow at least this fraction of the rows search the graph, more selective ones take the exact
     * filtered scan; negative (the default): vindex_filter_min_fraction decides */
    float ann_filter_min;
    /* non-empty when media, frame, scale and q are borrowed from a mapped index file (vindex_file.c) rather
     * than owned: vindex_free unmaps it, and growing the index first copies the rows into memory of its own */
    psk_mmap map;
} psk_vindex;

/* Fills the exact float32 vector of a row (for rescoring when ix->exact is NULL). Returns false if unavailable. */
typedef bool (*vindex_exact_fn)(void *user, int64_t media, int32_t frame, float *out);

typedef struct vindex_hit {
    int64_t row;
    float score;
} vindex_hit;

/* A set of allowed media ids as a bitmap over [0, max_id]. */
typedef struct vindex_filter {
    uint64_t *bits;
    int64_t max_id;
    int64_t count;
} vindex_filter;

void vindex_init(psk_vindex *ix, int dim);
/* Room for `rows` rows, so that loading a library of known size copies nothing. */
int vindex_reserve(psk_vindex *ix, int64_t rows, bool keep_exact);
/* Appends a row (rows must come in ascending media id); `v` must be unit length. */
int vindex_add(psk_vindex *ix, int64_t media, int32_t frame, const float *v, bool keep_exact);
void vindex_free(psk_vindex *ix);
/* Quantises one vector: q[d] = round(v[d] / scale), scale = max|v| / 127. */
float vindex_quantize(const float *v, int dim, int8_t *q);

int vindex_filter_init(vindex_filter *f, int64_t max_id);
void vindex_filter_add(vindex_filter *f, int64_t id);
void vindex_filter_free(vindex_filter *f);

/* The best `k` distinct media for `query` (unit length) among the rows whose media the filter allows (filter NULL:
 * all). Candidates are rescored exactly; hits are sorted by score, best first, one per media (its best frame).
 * min_score drops weaker hits. Returns the number of hits written to out (capacity k). */
int vindex_search(const psk_vindex *ix, psk_pool *pool, const float *query, const vindex_filter *filter, int k,
                  float min_score, vindex_exact_fn exact_fn, void *exact_user, vindex_hit *out);

/* ---- the index file beside a library (vindex_file.c) ---- */
/* What a file must have been written for to be used: the model, the library's change counter when it was written
 * (any write to the vectors moves it) and the library's identity (a random number the library got when made). */
typedef struct vindex_file_key {
    int64_t model_id;
    int64_t changes;
    uint64_t library;
} vindex_file_key;
/* Writes ix's rows (not its float32 vectors, not its graph) to path, through a temporary file and a rename. */
int vindex_file_save(const psk_vindex *ix, const char *path, const vindex_file_key *key, psk_error *err);
/* Maps the file into ix (vindex_init'ed with `dim`, empty): the rows are borrowed from the mapping. Anything but
 * a complete file of this format version, dimension and key is refused (PSK_ERR_NOT_FOUND: no file,
 * PSK_ERR_FORMAT: the reason in err) and ix is left empty: the caller then rebuilds it. */
int vindex_file_load(psk_vindex *ix, const char *path, const vindex_file_key *key, psk_error *err);
/* Rows rescored exactly by all searches so far (benchmarks read it). */
extern int64_t vindex_rescored_total;
/* Similarities the graph's searches computed so far (benchmarks read it: a measure of work beside the time). */
extern int64_t hnsw_sims_total;

/* ---- HNSW (hnsw.c) ---- */
typedef struct psk_hnsw psk_hnsw;
/* Below this many rows the exact scan answers every query: fast enough there, and exact. */
#define PSK_ANN_MIN_ROWS 300000
/* The smallest fraction of n rows a filter must allow for the graph to answer. The filtered graph search costs
 * about 0.26 ms / fraction (it walks past the rows the filter rejects), the exact scan of the allowed rows about
 * 0.17 us per row (bench_ann: 300k and 1M rows, filters of 10% and 5%), so the graph wins above sqrt(1500 / n):
 * 7% of 300k rows, 4% of 1M. */
float vindex_filter_min_fraction(int64_t n);
/* Whether vindex_search answers this filter (NULL: none) from the graph. */
bool vindex_uses_graph(const psk_vindex *ix, const vindex_filter *filter);
/* The graph's search breadth, and how far a search whose top 10 still changes may widen it (vindex_search). On
 * 1M CLIP-like vectors (bench_ann --cliplike: LID ~40, a common direction) a graph of M 16, efConstruction 100
 * stalled at recall@10 0.985 (ef 768 and 1024 alike, after the exact rescoring; 0.967 at ef 256): the graph, not
 * the search, was short, hence the wider build below. */
#define PSK_ANN_EF 256
#define PSK_ANN_EF_MAX 768
/* The graph's build parameters: links per node (2M at layer 0) and the build's search breadth. */
#define PSK_ANN_M 24
#define PSK_ANN_EF_CONSTRUCTION 200
psk_hnsw *hnsw_new(const psk_vindex *ix, int M, int ef_construction);
/* hnsw_new with the library's parameters (PSK_ANN_M, PSK_ANN_EF_CONSTRUCTION). A graph saved with other ones still
 * loads (the file keeps M) and extends. */
psk_hnsw *hnsw_new_default(const psk_vindex *ix);
/* Inserts the rows of ix the graph does not hold yet (all of them for a new graph), on the pool's threads. */
int hnsw_extend(psk_hnsw *h, const psk_vindex *ix, psk_pool *pool);
/* The k most similar rows (by the int8 inner product), best first, among those whose media `allow` accepts
 * (NULL: all). Returns how many were found. */
int hnsw_search(psk_hnsw *h, const float *query, int ef, const vindex_filter *allow, int k, int64_t *rows, float *sims);
/* hnsw_search with a breadth that adapts: the search goes on past where a beam of ef stops, up to a beam of ef_max,
 * while its k best results still changed over the last PSK_ANN_PATIENCE expansions; it returns up to n_max (>= k)
 * results, best first (the pool vindex_search rescores). ef_max <= ef: hnsw_search. */
#define PSK_ANN_PATIENCE 16
int hnsw_search_adaptive(psk_hnsw *h, const float *query, int ef, int ef_max, const vindex_filter *allow, int k,
                         int n_max, int64_t *rows, float *sims);
/* Up to k rows at similarity min_sim or more to row's own vector (row itself among them, normally first), best
 * first, for the near-duplicates of a row: the search starts at the row's node and walks only through nodes at
 * min_sim or more (up to HNSW_CLOSE_MAX_EXPAND of them), so it cannot lose its way, and a row with nothing close
 * costs one node's links. Returns how many, -1 when out of memory. */
#define HNSW_CLOSE_MAX_EXPAND 64
int hnsw_neighbours(psk_hnsw *h, int64_t row, float min_sim, int k, int64_t *rows, float *sims);
/* Writes the graph (through a temporary file and a rename) with the key of the rows it was built for (NULL: none,
 * then hnsw_map never takes it). */
int hnsw_save(const psk_hnsw *h, const char *path, const vindex_file_key *key);
/* A graph file built for a prefix of ix's rows, loaded into memory to be extended (every node checked). */
psk_hnsw *hnsw_load(const char *path, const psk_vindex *ix);
/* A graph file built for exactly ix's rows under `key`, mapped read-only for searching (the header checked, no pass
 * over the nodes); NULL otherwise. hnsw_extend must not be called on it. */
psk_hnsw *hnsw_map(const char *path, const psk_vindex *ix, const vindex_file_key *key);
void hnsw_free(psk_hnsw *h);
int64_t hnsw_size(const psk_hnsw *h);
/* Layer 0's health: nodes no search from the entry can reach, and nodes with fewer incoming links than the build
 * guarantees where it can (3). */
int hnsw_layer0_stats(const psk_hnsw *h, int64_t *unreachable, int64_t *few_in_links);
size_t hnsw_bytes(const psk_hnsw *h);

#endif
