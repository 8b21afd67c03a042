/* Convolution kernels of the face engine, apart from the GEMM (kernels.h): a depthwise 3x3 convolution over NHWC
 * tensors, with a plain C reference (conv_ref.c, its specification and test oracle) and an AVX2/FMA version
 * (conv_avx2.c). psk_dwconv3x3 picks the AVX2 one once when the CPU has AVX2+FMA, unless PHOTOSEEK_KERNELS=ref. */
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
/* The version chosen for this CPU. */
psk_dwconv3x3_fn psk_dwconv3x3(void);

#endif
