/* An implicit k-d tree over points of the unit sphere: the range [lo, hi) has its median (by the axis of widest
 * spread) at mid = lo + (hi - lo) / 2, the left subtree in [lo, mid) and the right one in [mid + 1, hi). No pointers:
 * the tree is the point array itself plus one byte per node, so the cache file is the tree. Nearest neighbour by
 * chord length, which orders points as the great-circle distance does. */
#include "places.h"

#include <string.h>

static inline float coord(const float *pts, const uint32_t *idx, uint32_t i, int d) { return pts[idx[i] * 3 + d]; }

/* Quickselect: rearranges idx[lo, hi) so that idx[k] holds the point of rank k along axis d. */
static void select_k(const float *pts, uint32_t *idx, uint32_t lo, uint32_t hi, uint32_t k, int d) {
    while (hi - lo > 1) {
        /* median of three as the pivot keeps sorted input (GeoNames is sorted by country) from going quadratic */
        uint32_t a = lo, b = lo + (hi - lo) / 2, c = hi - 1;
        float va = coord(pts, idx, a, d), vb = coord(pts, idx, b, d), vc = coord(pts, idx, c, d);
        uint32_t m = (va < vb) ? ((vb < vc) ? b : (va < vc ? c : a)) : ((va < vc) ? a : (vb < vc ? c : b));
        float pivot = coord(pts, idx, m, d);
        /* three-way partition: < pivot, == pivot, > pivot (many cities share a coordinate) */
        uint32_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            float v = coord(pts, idx, i, d);
            if (v < pivot) {
                uint32_t t = idx[lt]; idx[lt] = idx[i]; idx[i] = t;
                lt++, i++;
            } else if (v > pivot) {
                gt--;
                uint32_t t = idx[gt]; idx[gt] = idx[i]; idx[i] = t;
            } else i++;
        }
        if (k < lt) hi = lt;
        else if (k >= gt) lo = gt;
        else return;
    }
}

static void build_range(const float *pts, uint32_t *idx, uint8_t *dims, uint32_t lo, uint32_t hi) {
    while (hi > lo) {
        float mn[3] = {2, 2, 2}, mx[3] = {-2, -2, -2};
        for (uint32_t i = lo; i < hi; i++)
            for (int d = 0; d < 3; d++) {
                float v = coord(pts, idx, i, d);
                if (v < mn[d]) mn[d] = v;
                if (v > mx[d]) mx[d] = v;
            }
        int d = 0;
        for (int k = 1; k < 3; k++)
            if (mx[k] - mn[k] > mx[d] - mn[d]) d = k;
        uint32_t mid = lo + (hi - lo) / 2;
        select_k(pts, idx, lo, hi, mid, d);
        dims[mid] = (uint8_t)d;
        build_range(pts, idx, dims, lo, mid);
        lo = mid + 1; /* the right half by iteration: the recursion depth stays log2(n) */
    }
}

int places_kd_build(float *pts, uint32_t n, uint8_t *dims, uint32_t *perm) {
    for (uint32_t i = 0; i < n; i++) perm[i] = i;
    build_range(pts, perm, dims, 0, n);
    float *tmp = psk_malloc((size_t)n * 3 * sizeof(float) + 1);
    if (!tmp) return PSK_ERR_NOMEM;
    for (uint32_t i = 0; i < n; i++) memcpy(tmp + (size_t)i * 3, pts + (size_t)perm[i] * 3, 3 * sizeof(float));
    memcpy(pts, tmp, (size_t)n * 3 * sizeof(float));
    psk_free(tmp);
    return PSK_OK;
}

typedef struct kd_query {
    const float *pts;
    const uint8_t *dims;
    double q[3];
    double best;
    int64_t best_i;
} kd_query;

static void search(kd_query *k, uint32_t lo, uint32_t hi) {
    while (hi > lo) {
        if (hi - lo <= 8) { /* small ranges: a plain scan beats descending */
            for (uint32_t i = lo; i < hi; i++) {
                const float *p = k->pts + (size_t)i * 3;
                double dx = p[0] - k->q[0], dy = p[1] - k->q[1], dz = p[2] - k->q[2];
                double d2 = dx * dx + dy * dy + dz * dz;
                if (d2 < k->best) k->best = d2, k->best_i = i;
            }
            return;
        }
        uint32_t mid = lo + (hi - lo) / 2;
        const float *p = k->pts + (size_t)mid * 3;
        double dx = p[0] - k->q[0], dy = p[1] - k->q[1], dz = p[2] - k->q[2];
        double d2 = dx * dx + dy * dy + dz * dz;
        if (d2 < k->best) k->best = d2, k->best_i = mid;
        int d = k->dims[mid];
        double diff = k->q[d] - p[d];
        uint32_t near_lo = diff < 0 ? lo : mid + 1, near_hi = diff < 0 ? mid : hi;
        uint32_t far_lo = diff < 0 ? mid + 1 : lo, far_hi = diff < 0 ? hi : mid;
        search(k, near_lo, near_hi);
        if (diff * diff >= k->best) return;
        lo = far_lo, hi = far_hi;
    }
}

int64_t places_kd_nearest(const float *pts, const uint8_t *dims, uint32_t n, const double q[3], double max_chord2,
                          double *chord2_out) {
    kd_query k = {pts, dims, {q[0], q[1], q[2]}, max_chord2, -1};
    search(&k, 0, n);
    if (chord2_out) *chord2_out = k.best;
    return k.best_i;
}
