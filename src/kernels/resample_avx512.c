/* The AVX-512 resampling passes (resample.h). Horizontal: one output pixel at a time, its taps read as they lie in
 * the row (RGBRGB...), 16 bytes widened to 16 int32 lanes per step, multiplied by the tap weights repeated per
 * channel (taps->w3) and summed in three accumulators, one per 16-byte step of a 48-byte (16-pixel) block; in the 48
 * lanes of the three, lane L holds channel L % 3, so folding them by 24, 12, 6 and 3 lanes leaves R, G, B. Pixels
 * whose last block would read past the row take the reference's loop. Vertical: 16 bytes of the row at a time, a
 * weight per source row. Integer sums: bit for bit the reference's. Compiled with the AVX-512 flags; used only after
 * the CPU check. */
#include "kernels.h"
#include "resample.h"

#include <immintrin.h>

static void rows_avx512(const uint8_t *src, size_t src_stride, int rows, int sw, const psk_resample_taps *taps,
                        uint8_t *dst, size_t dst_stride) {
    const __m512i idx12 = _mm512_setr_epi32(12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 0, 0, 0);
    const __m512i idx6 = _mm512_setr_epi32(6, 7, 8, 9, 10, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i idx3 = _mm512_setr_epi32(3, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    const int32_t half = 1 << (PSK_RESAMPLE_BITS - 1);
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = src + (size_t)r * src_stride;
        uint8_t *o = dst + (size_t)r * dst_stride;
        for (int j = 0; j < taps->n_out; j++) {
            int first = taps->first[j], count = taps->count[j], blocks = (count + 15) / 16;
            const uint8_t *p = row + (size_t)first * 3;
            const int32_t *w = taps->w3 + (size_t)j * taps->np * 3;
            if (first + 16 * blocks > sw) { /* the row's end: the plain loop */
                psk_resample_pixel(p, w, count, o + 3 * j);
                continue;
            }
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0;
            for (int b = 0; b < blocks; b++, p += 48, w += 48) {
                a0 = _mm512_add_epi32(a0, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)),
                                                             _mm512_loadu_si512(w)));
                a1 = _mm512_add_epi32(a1, _mm512_mullo_epi32(
                                              _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 16))),
                                              _mm512_loadu_si512(w + 16)));
                a2 = _mm512_add_epi32(a2, _mm512_mullo_epi32(
                                              _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(p + 32))),
                                              _mm512_loadu_si512(w + 32)));
            }
            /* lanes L and L + 24 of a0|a1|a2 (the same channel): [a0 + (a1 high, a2 low)] and a1 low + a2 high */
            __m512i v = _mm512_add_epi32(a0, _mm512_alignr_epi32(a2, a1, 8));
            __m256i w8 = _mm256_add_epi32(_mm512_castsi512_si256(a1), _mm512_extracti64x4_epi64(a2, 1));
            __m512i z = _mm512_add_epi32(v, _mm512_permutex2var_epi32(v, idx12, _mm512_castsi256_si512(w8)));
            z = _mm512_add_epi32(z, _mm512_permutexvar_epi32(idx6, z));
            z = _mm512_add_epi32(z, _mm512_permutexvar_epi32(idx3, z));
            __m128i q = _mm512_castsi512_si128(z);
            o[3 * j] = psk_resample_clip8(half + _mm_cvtsi128_si32(q));
            o[3 * j + 1] = psk_resample_clip8(half + _mm_extract_epi32(q, 1));
            o[3 * j + 2] = psk_resample_clip8(half + _mm_extract_epi32(q, 2));
        }
    }
}

static void col_avx512(const uint8_t *src, size_t stride, int n, const int32_t *w, int count, uint8_t *dst) {
    const __m512i half = _mm512_set1_epi32(1 << (PSK_RESAMPLE_BITS - 1)), zero = _mm512_setzero_si512();
    for (int i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512i acc = half;
        for (int t = 0; t < count; t++) {
            __m128i x = _mm_maskz_loadu_epi8(m, src + (size_t)t * stride + i);
            acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_cvtepu8_epi32(x), _mm512_set1_epi32(w[t])));
        }
        /* clip8: >> 22, then 0..255 (the narrowing saturates above 255) */
        __m512i q = _mm512_max_epi32(_mm512_srai_epi32(acc, PSK_RESAMPLE_BITS), zero);
        _mm_mask_storeu_epi8(dst + i, m, _mm512_cvtusepi32_epi8(q));
    }
}

psk_resample_rows_fn psk_resample_rows_avx512(void) { return psk_cpu_has_avx512() ? rows_avx512 : NULL; }
psk_resample_col_fn psk_resample_col_avx512(void) { return psk_cpu_has_avx512() ? col_avx512 : NULL; }
