/* Convolution kernels of the face engine, apart from the GEMM (kernels.h): a depthwise 3x3 convolution over NHWC
 * tensors, with a plain C reference (conv_ref.c, its specification and test oracle), an AVX2/FMA version
 * (conv_avx2.c) and an AVX-512 version (conv_avx512.c). psk_dwconv3x3 picks the version of the level the GEMM
 * kernels chose (psk_kernels()->name: PHOTOSEEK_KERNELS=ref|avx2|avx512 applies to both). */
#ifndef PSK_KERNELS_CONV_H
#define PSK_KERNELS_CONV_H

#include <stdbool.h>

/* out[oy][ox][ch] = bias[ch] + sum over ky, kx < 3 of in[oy*stride + ky - pad_top][ox*stride + kx - pad_left][ch]
 *                   * w[(ky*3 + kx)*c + ch], input outside h x w counting as 0.
 * in: h x w x c, out: rows [oy0, oy1) of an oh x ow x c tensor (so that threads can split the rows). */
typedef void (*psk_dwconv3x3_fn)(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left,
                                 const float *wt, const float *bias, float *out, int ow, int oy0, int oy1);

void psk_dwconv3x3_ref(const float *in, int h, int w, int c, int stride, int pad_top, int pad_left, const float *wt,
                       const float *bias, float *out, int ow, int oy0, int oy1);
/* NULL when the CPU lacks AVX2+FMA. */
psk_dwconv3x3_fn psk_dwconv3x3_avx2(void);
/* NULL when the CPU (or OS) lacks the AVX-512 level of kernels.h. */
psk_dwconv3x3_fn psk_dwconv3x3_avx512(void);
/* The version of the chosen kernel level. */
psk_dwconv3x3_fn psk_dwconv3x3(void);

/* The FMA peak probe of the benchmarks: `rounds` rounds of 12 independent FMA chains at the widest level the CPU
 * has (zmm, ymm, or scalar), x = x * scale + 1e-9; the chains' sum lands in *sink. Returns the flops done
 * (2 per multiply-add). */
double psk_fma_burn(long rounds, float scale, float *sink);
double psk_fma_burn_avx512(long rounds, float scale, float *sink);
double psk_fma_burn_avx2(long rounds, float scale, float *sink);

#endif
