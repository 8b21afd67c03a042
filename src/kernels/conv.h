/* Convolution kernels of the face engine, apart from the GEMM (kernels.h): a depthwise 3x3 convolution over NHWC
 * tensors, with a plain C reference (conv_ref.c, its specification and test oracle), an AVX2/FMA version
 * (conv_avx2.c) and an AVX-512 version (conv_avx512.c). psk_dwconv3x3 picks the version of the level the GEMM
 * kernels chose (psk_kernels()->name: PHOTOSEEK_KERNELS=ref|avx2|avx512 applies to both). */
#ifndef PSK_KERNELS_CONV_H
#define PSK_KERNELS_CONV_H

#include <stdbool.h>
#include <stdint.h>

/* out[oy][ox][ch] = clamp(bias[ch] + sum over ky, kx < 3 of in[oy*stride + ky - pad_top][ox*stride + kx - pad_left][ch]
 *                   * w[(ky*3 + kx)*c + ch], lo, hi), input outside h x w counting as 0, the taps added in that
 * order; clamp(v, lo, hi) = min(max(v, lo), hi) with max(NaN, lo) = lo (lo = 0, hi = 6: ReLU6; -INFINITY, INFINITY:
 * none). in: h x w x c, out: rows [oy0, oy1) of an oh x ow x c tensor (so that threads can split the rows). */
typedef void (*psk_dwconv3x3_fn)(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left,
                                 const float *wt, const float *bias, float lo, float hi, float *out, int ow, int oy0,
                                 int oy1);

void psk_dwconv3x3_ref(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                       const float *bias, float lo, float hi, float *out, int ow, int oy0, int oy1);
/* NULL when the CPU lacks AVX2+FMA. */
psk_dwconv3x3_fn psk_dwconv3x3_avx2(void);
/* NULL when the CPU (or OS) lacks the AVX-512 level of kernels.h. */
psk_dwconv3x3_fn psk_dwconv3x3_avx512(void);
/* The version of the chosen kernel level. */
psk_dwconv3x3_fn psk_dwconv3x3(void);

/* The epilogue of a product tile: c[r*ldc + j] = clamp(c[r*ldc + j] + bias[j], lo, hi) for r < mr, j < nr (bias may
 * be NULL: no bias), clamp as above. */
typedef void (*psk_bias_clamp_fn)(float *c, int ldc, int mr, int nr, const float *bias, float lo, float hi);
void psk_bias_clamp_ref(float *c, int ldc, int mr, int nr, const float *bias, float lo, float hi);
psk_bias_clamp_fn psk_bias_clamp_avx512(void); /* NULL without the AVX-512 level */
psk_bias_clamp_fn psk_bias_clamp(void);        /* the version of the chosen level (AVX2: the reference) */

/* Packs rows [0, mc) x columns [0, kc) of A (row stride lda) into MR-row panels for the GEMM micro-kernel:
 * dst[(i0/MR)*kc*MR + kk*MR + i] = a[(i0 + i)*lda + kk], rows past mc zero (MR <= 16, lda * 15 < 2^31). */
typedef void (*psk_pack_a_fn)(const float *a, int lda, int mc, int kc, int MR, float *dst);
void psk_pack_a_ref(const float *a, int lda, int mc, int kc, int MR, float *dst);
psk_pack_a_fn psk_pack_a_avx512(void); /* NULL without the AVX-512 level */
psk_pack_a_fn psk_pack_a(void);        /* the version of the chosen level */

/* A GEMM tile with A unpacked: c[i*ldc + j] (+ when load_c) = sum over kk < kc of a[i*lda + kk] * b[kk*32 + j]
 * for i < mr <= 14, j < nr <= 32, b one 32-wide strip of psk_pack_weights (64-byte aligned), the sum in k order;
 * then, when ep is not NULL (the last K block), psk_bias_clamp's epilogue on the tile (ep->bias: the tile's first
 * column's bias, or NULL) before the store. For products whose A is the previous layer's output, just written:
 * packing it cost a quarter of the products. */
typedef struct psk_tile_epilogue {
    const float *bias;
    float lo, hi;
} psk_tile_epilogue;
typedef void (*psk_tile_rowa_fn)(int kc, const float *a, int lda, const float *b, float *c, int ldc, int mr, int nr,
                                 bool load_c, const psk_tile_epilogue *ep);
psk_tile_rowa_fn psk_tile_rowa_avx512(void); /* NULL without the AVX-512 level */

/* ---- BF16 products (AVX-512 BF16: vdpbf16ps, two bf16 products per fp32 lane, summed in fp32) ----
 * bf16 is the upper half of a float32; psk_bf16 rounds to the nearest even (NaN stays NaN). A matrix in bf16 pairs
 * holds, per row, (x[2p], x[2p+1]) as one 32-bit word for each pair p (the low half first; an odd k padded by 0). */
uint16_t psk_bf16(float x);
float psk_bf16_f32(uint16_t b);

/* Rows [0, mc) x columns [0, kc) of A (row stride lda) as bf16 pairs: dst[i*ldd + p] (kp = (kc + 1) / 2 words per
 * row, ldd >= kp). */
typedef void (*psk_to_bf16_fn)(const float *a, int lda, int mc, int kc, uint32_t *dst, int ldd);
void psk_to_bf16_ref(const float *a, int lda, int mc, int kc, uint32_t *dst, int ldd);
psk_to_bf16_fn psk_to_bf16_avx512(void); /* NULL without AVX-512 BF16 */

/* Weights W[k][n] (row stride n, the layout fc_conv_init receives) for the BF16 tile: strips of 32 columns, each
 * kp = (k + 1) / 2 pairs of 32 (column, pair) words: data[(j/32)*kp*64 + p*64 + (j%32)*2 + r] = bf16(W[2p + r][j]),
 * zero past k and n. */
typedef struct psk_packed_bf16 {
    int n, k, kp;
    uint16_t *data; /* NULL: not packed */
} psk_packed_bf16;
int psk_pack_bf16(const float *w, int k, int n, psk_packed_bf16 *out);
void psk_packed_bf16_free(psk_packed_bf16 *p);

/* A BF16 tile: c[i*ldc + j] (+ when load_c) = sum over p < kp of the pair products of a[i*lda + p] (bf16 pairs)
 * with the strip b (p*64 + j*2 + r, one strip of psk_pack_bf16, 64-byte aligned) for i < mr <= 14, j < nr <= 32,
 * each pair added to the fp32 sum as vdpbf16ps does (the odd element's product first, then the even one's); then
 * ep's epilogue as psk_tile_rowa. */
typedef void (*psk_tile_bf16_fn)(int kp, const uint32_t *a, int lda, const uint16_t *b, float *c, int ldc, int mr,
                                 int nr, bool load_c, const psk_tile_epilogue *ep);
void psk_tile_bf16_ref(int kp, const uint32_t *a, int lda, const uint16_t *b, float *c, int ldc, int mr, int nr,
                       bool load_c, const psk_tile_epilogue *ep);
psk_tile_bf16_fn psk_tile_bf16_avx512(void); /* NULL without AVX-512 BF16 (cpuid 7.1 EAX bit 5) */

/* The FMA peak probe of the benchmarks: `rounds` rounds of 12 independent FMA chains at the widest level the CPU
 * has (zmm, ymm, or scalar), x = x * scale + 1e-9; the chains' sum lands in *sink. Returns the flops done
 * (2 per multiply-add). */
double psk_fma_burn(long rounds, float scale, float *sink);
double psk_fma_burn_avx512(long rounds, float scale, float *sink);
double psk_fma_burn_avx2(long rounds, float scale, float *sink);

#endif
