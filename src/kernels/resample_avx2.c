/* The AVX2 resampling passes (resample.h), as the AVX-512 ones with 8 lanes: a 24-byte (8-pixel) block is three
 * 8-byte steps, lane L of the three accumulators holds channel L % 3; the 24 lanes are folded to 12 in registers and
 * summed by channel. Pixels whose last block would read past the row take the reference's loop. Compiled with
 * -mavx2; used only after the CPU check. */
#include "resample.h"

#include <immintrin.h>

static inline __m256i widen8(const uint8_t *p) { return _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)); }

static void rows_avx2(const uint8_t *src, size_t src_stride, int rows, int sw, const psk_resample_taps *taps,
                      uint8_t *dst, size_t dst_stride) {
    const int32_t half = 1 << (PSK_RESAMPLE_BITS - 1);
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = src + (size_t)r * src_stride;
        uint8_t *o = dst + (size_t)r * dst_stride;
        for (int j = 0; j < taps->n_out; j++) {
            int first = taps->first[j], count = taps->count[j], blocks = (count + 7) / 8;
            const uint8_t *p = row + (size_t)first * 3;
            const int32_t *w = taps->w3 + (size_t)j * taps->np * 3;
            if (first + 8 * blocks > sw) {
                psk_resample_pixel(p, w, count, o + 3 * j);
                continue;
            }
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0;
            for (int b = 0; b < blocks; b++, p += 24, w += 24) {
                a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(widen8(p), _mm256_loadu_si256((const __m256i *)w)));
                a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(widen8(p + 8), _mm256_loadu_si256((const __m256i *)(w + 8))));
                a2 = _mm256_add_epi32(a2,
                                      _mm256_mullo_epi32(widen8(p + 16), _mm256_loadu_si256((const __m256i *)(w + 16))));
            }
            /* lanes L and L + 12 of a0|a1|a2 hold the same channel: lanes 0-3, 4-7, 8-11 after the fold */
            __m128i q0 = _mm_add_epi32(_mm256_castsi256_si128(a0), _mm256_extracti128_si256(a1, 1));
            __m128i q1 = _mm_add_epi32(_mm256_extracti128_si256(a0, 1), _mm256_castsi256_si128(a2));
            __m128i q2 = _mm_add_epi32(_mm256_castsi256_si128(a1), _mm256_extracti128_si256(a2, 1));
            int32_t s[12];
            _mm_storeu_si128((__m128i *)s, q0);
            _mm_storeu_si128((__m128i *)(s + 4), q1);
            _mm_storeu_si128((__m128i *)(s + 8), q2);
            o[3 * j] = psk_resample_clip8(half + s[0] + s[3] + s[6] + s[9]);
            o[3 * j + 1] = psk_resample_clip8(half + s[1] + s[4] + s[7] + s[10]);
            o[3 * j + 2] = psk_resample_clip8(half + s[2] + s[5] + s[8] + s[11]);
        }
    }
}

static void col_avx2(const uint8_t *src, size_t stride, int n, const int32_t *w, int count, uint8_t *dst) {
    const __m256i half = _mm256_set1_epi32(1 << (PSK_RESAMPLE_BITS - 1)), zero = _mm256_setzero_si256(),
                  top = _mm256_set1_epi32(255);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i acc = half;
        for (int t = 0; t < count; t++)
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(widen8(src + (size_t)t * stride + i), _mm256_set1_epi32(w[t])));
        __m256i q = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(acc, PSK_RESAMPLE_BITS), zero), top);
        __m128i p16 = _mm_packus_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(dst + i), _mm_packus_epi16(p16, p16));
    }
    for (; i < n; i++) { /* the last few bytes of the row */
        int32_t s = 1 << (PSK_RESAMPLE_BITS - 1);
        for (int t = 0; t < count; t++) s += src[(size_t)t * stride + i] * w[t];
        dst[i] = psk_resample_clip8(s);
    }
}

psk_resample_rows_fn psk_resample_rows_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? rows_avx2 : NULL;
}
psk_resample_col_fn psk_resample_col_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? col_avx2 : NULL;
}
