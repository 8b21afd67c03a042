/* Incremental assignment of faces to groups: nearest labelled face (single linkage, as Immich's incremental
 * face recognition does) or nearest group mean. One pass in order, so a face seen earlier anchors the later ones. */
#include "people.h"

#include <math.h>
#include <string.h>

/* The squared distance, or something >= bound as soon as the partial sum passes it: most pairs are different
 * people, far beyond the threshold, and are told apart by their first dimensions (3-4x less work). */
static float dist2_below(const float *a, const float *b, float bound) {
    float s = 0;
    for (int d0 = 0; d0 < PSK_FACE_DIM; d0 += 32) {
        for (int d = d0; d < d0 + 32; d++) {
            float t = a[d] - b[d];
            s += t * t;
        }
        if (s >= bound) return s;
    }
    return s;
}

static int nearest_face(const float *desc, const int64_t *label, int i, float thr2, int64_t *out) {
    float best = thr2;
    *out = 0;
    for (int j = 0; j < i; j++) {
        if (!label[j]) continue;
        float d = dist2_below(desc + (size_t)i * PSK_FACE_DIM, desc + (size_t)j * PSK_FACE_DIM, best);
        if (d < best) {
            best = d;
            *out = label[j];
        }
    }
    return PSK_OK;
}

/* Group means, kept as sums and counts per distinct label. */
typedef struct centroids {
    int64_t *label;
    double *sum;
    int *count;
    int n, cap;
} centroids;

static int centroid_add(centroids *c, int64_t label, const float *v) {
    int k = 0;
    while (k < c->n && c->label[k] != label) k++;
    if (k == c->n) {
        if (c->n == c->cap) {
            int cap = c->cap ? c->cap * 2 : 64;
            int64_t *l = psk_realloc(c->label, sizeof *l * (size_t)cap);
            if (l) c->label = l;
            double *s = psk_realloc(c->sum, sizeof *s * (size_t)cap * PSK_FACE_DIM);
            if (s) c->sum = s;
            int *n = psk_realloc(c->count, sizeof *n * (size_t)cap);
            if (n) c->count = n;
            if (!l || !s || !n) return PSK_ERR_NOMEM;
            c->cap = cap;
        }
        c->label[k] = label;
        c->count[k] = 0;
        memset(c->sum + (size_t)k * PSK_FACE_DIM, 0, sizeof(double) * PSK_FACE_DIM);
        c->n++;
    }
    for (int d = 0; d < PSK_FACE_DIM; d++) c->sum[(size_t)k * PSK_FACE_DIM + d] += v[d];
    c->count[k]++;
    return PSK_OK;
}

static int64_t nearest_centroid(const centroids *c, const float *v, float thr2) {
    double best = thr2;
    int64_t out = 0;
    for (int k = 0; k < c->n; k++) {
        double s = 0;
        for (int d = 0; d < PSK_FACE_DIM; d++) {
            double t = v[d] - c->sum[(size_t)k * PSK_FACE_DIM + d] / c->count[k];
            s += t * t;
        }
        if (s < best) {
            best = s;
            out = c->label[k];
        }
    }
    return out;
}

int people_assign(const float *desc, int64_t *label, int n, int first, float threshold, people_linkage linkage,
                  int64_t *next_new) {
    float thr2 = threshold * threshold;
    centroids c = {0};
    int rc = PSK_OK;
    if (linkage == PEOPLE_CENTROID)
        for (int j = 0; j < first && !rc; j++)
            if (label[j]) rc = centroid_add(&c, label[j], desc + (size_t)j * PSK_FACE_DIM);
    for (int i = first; i < n && !rc; i++) {
        const float *v = desc + (size_t)i * PSK_FACE_DIM;
        if (!label[i]) {
            int64_t to = 0;
            if (linkage == PEOPLE_CENTROID) to = nearest_centroid(&c, v, thr2);
            else nearest_face(desc, label, i, thr2, &to);
            label[i] = to ? to : (*next_new)--;
        }
        if (linkage == PEOPLE_CENTROID) rc = centroid_add(&c, label[i], v);
    }
    psk_free(c.label);
    psk_free(c.sum);
    psk_free(c.count);
    return rc;
}
