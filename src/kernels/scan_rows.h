/* The graph search's gathered scan, shared by the vector levels: each file includes it with its own row dot product
 * (inlined, compiled with that file's instruction set). Private to src/kernels/. */
#ifndef PSK_SCAN_ROWS_H
#define PSK_SCAN_ROWS_H

#include "kernels.h"

#include <immintrin.h>

/* Rows this far ahead are prefetched: a row is dim bytes (8 lines at 512), and a neighbour list is scattered over
 * the whole index, so each row costs a trip to memory that the scoring of the rows before it has to hide. */
#define PSK_ROWS_AHEAD 3

static inline void psk_prefetch_row(const int8_t *r, int dim) {
    for (int d = 0; d < dim; d += 64) _mm_prefetch((const char *)(r + d), _MM_HINT_T0);
}

/* scan_i8_rows with `dot` (sum_d r[d] * query16[d], exact) for each listed row. */
static inline __attribute__((always_inline)) void psk_scan_rows(int32_t (*dot)(const int8_t *, const int16_t *, int),
                                                               const int8_t *q, const float *scale,
                                                               const int32_t *rows, int n, int dim,
                                                               const int16_t *query16, float query_scale, float *out) {
    for (int i = 0; i < n && i < PSK_ROWS_AHEAD; i++) psk_prefetch_row(q + (size_t)rows[i] * dim, dim);
    for (int i = 0; i < n; i++) {
        if (i + PSK_ROWS_AHEAD < n) psk_prefetch_row(q + (size_t)rows[i + PSK_ROWS_AHEAD] * dim, dim);
        out[i] = (float)dot(q + (size_t)rows[i] * dim, query16, dim) * scale[rows[i]] * query_scale;
    }
}

#endif
