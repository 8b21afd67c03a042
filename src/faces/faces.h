/* Internals of the face engine: the TensorFlow.js weight loader, NHWC convolution layers, and the three networks of
 * face-api 1.7.15 (SSD MobileNet v1 detector, 68-point landmark net, ResNet-34-like descriptor net). */
#ifndef PSK_FACES_H
#define PSK_FACES_H

#include "../common/common.h"
#include "../kernels/conv.h"
#include "../kernels/kernels.h"

/* ---- TensorFlow.js weight manifests (manifest.c) ----
 * NAME-weights_manifest.json is a JSON array of groups: {"paths": ["NAME.bin", ...], "weights": [spec, ...]}.
 * A group's shards, concatenated in order, hold its weights back to back in the order listed. A spec is
 *   {"name": "conv/filters", "shape": [3, 3, 3, 32], "dtype": "float32" | "int32",
 *    "quantization": {"dtype": "uint8" | "uint16", "scale": s, "min": m}}   (quantization optional)
 * An unquantised tensor takes 4 bytes per element, a quantised one 1 or 2, decoded as q * scale + min (computed
 * in double and rounded to float32, as tf.io.decodeWeights does; int32 values are rounded to integers). */
#define TFJS_MAX_DIMS 6
#define TFJS_MAX_PATHS 64
typedef struct tfjs_spec {
    char *name;
    bool is_int;    /* dtype int32 */
    int quant;      /* 0: none, 1: uint8, 2: uint16 (bytes per value) */
    double scale, min;
    int n_dims;
    int64_t shape[TFJS_MAX_DIMS];
    size_t n_elem, offset, n_bytes; /* offset inside its group's concatenated shards */
    int group;
} tfjs_spec;

typedef struct tfjs_group {
    char *paths[TFJS_MAX_PATHS]; /* plain file names in the manifest's folder */
    int n_paths;
    size_t n_bytes;              /* what the group's weights need */
} tfjs_group;

typedef struct tfjs_manifest {
    tfjs_spec *specs;
    int n;
    tfjs_group *groups;
    int n_groups;
} tfjs_manifest;

/* Parses and validates a manifest's text (names unique, shapes and sizes sane, paths plain names). `file` names it
 * in errors. */
int tfjs_manifest_parse(const char *text, size_t len, const char *file, tfjs_manifest **out, psk_error *err);
void tfjs_manifest_free(tfjs_manifest *m);
/* Decodes one group's weights from its concatenated shards (size bytes, which must be at least what the group's
 * weights need: `file` names the shards in errors) into data[i] for the specs i of that group. */
int tfjs_decode_group(const tfjs_manifest *m, int group, const uint8_t *bytes, size_t size, const char *file,
                      float **data, psk_error *err);

typedef struct tfjs_weights {
    char file[1100]; /* the manifest's path, for errors */
    tfjs_manifest *m;
    float **data;    /* per spec, float32 (int32 tensors converted) */
} tfjs_weights;

/* Reads DIR/NAME-weights_manifest.json and its shards. */
int tfjs_load(const char *dir, const char *name, tfjs_weights **out, psk_error *err);
void tfjs_weights_free(tfjs_weights *w);
/* The tensor `name` with exactly this shape; the error names the file and the tensor. */
int tfjs_get(const tfjs_weights *w, const char *name, int n_dims, const int64_t *shape, const float **out,
             psk_error *err);
/* Loads DIR/NAME's weights, hands them to build(net, w, err) and frees them (the net keeps its own copies); an out
 * of memory in build is reported naming the manifest. */
int tfjs_build(const char *dir, const char *name, int (*build)(void *net, const tfjs_weights *w, psk_error *err),
               void *net, psk_error *err);
/* tfjs_get with the shape as int arguments: tfjs_getv(w, &p, err, "conv/filters", 4, 3, 3, 3, 32). */
int tfjs_getv(const tfjs_weights *w, const float **out, psk_error *err, const char *name, int n_dims, ...);

/* ---- NHWC tensors and layers (conv.c) ---- */
typedef struct fc_tensor { /* a batch of n maps (the faces of a photo go through a net together) */
    int n, h, w, c;
    float *d; /* n*h*w*c floats, map after map, 64-byte aligned, owned */
    /* Rows [same0, same1) (of a single map) are copies of row same0, or same1 = 0: the detector's padding below a
     * wide photo. The layers compute such a band's first row only, and copy it (fc_tensor_find_band). */
    int same0, same1;
} fc_tensor;

/* Sets t's band: the last rows of a single map that are all equal to its last row, when there are 3 or more. */
void fc_tensor_find_band(fc_tensor *t);

int fc_tensor_new(fc_tensor *t, int h, int w, int c); /* n = 1 */
int fc_tensor_new_n(fc_tensor *t, int n, int h, int w, int c);
size_t fc_tensor_floats(const fc_tensor *t);
void fc_tensor_free(fc_tensor *t);

/* A convolution with TensorFlow's padding: `same` pads (k - 1 + ...) with the smaller half before, as
 * tf.conv2d does; `valid` none. The filter [kh][kw][cin][cout] is packed as psk_gemm's transposed weight; 1x1
 * stride-1 layers multiply the input directly, the others go through im2col. Batch norm or a scale layer are
 * folded into the weights and bias at load. */
typedef struct fc_conv {
    int k, stride, cin, cout;
    bool same;
    psk_packed w;
    psk_packed_bf16 wb; /* the same weights in bf16 (fc_conv_bf16), or data NULL: the products in fp32 */
    float *bias;        /* cout, never NULL */
} fc_conv;

typedef struct fc_dwconv { /* depthwise 3x3, `same` padding */
    int c, stride;
    float *w;    /* 9 * c: [ky][kx][c] */
    float *bias; /* c */
} fc_dwconv;

/* Filter values [k][k][cin][cout] scaled per output channel by mul (may be NULL), bias = bias*mul + add (each may
 * be NULL: 0 bias, no add). */
int fc_conv_init(fc_conv *c, int k, int stride, bool same, int cin, int cout, const float *filter, const float *mul,
                 const float *bias, const float *add);
void fc_conv_free(fc_conv *c);
/* Makes the convolution's products BF16 ones (fc_gemm_bf16) from now on; PSK_OK without doing anything where
 * fc_bf16_available() is false. */
int fc_conv_bf16(fc_conv *c);
int fc_dwconv_init(fc_dwconv *c, int ch, int stride, const float *filter, const float *mul, const float *bias,
                   const float *add);
void fc_dwconv_free(fc_dwconv *c);

typedef enum fc_act { FC_NONE, FC_RELU, FC_RELU6 } fc_act;
int fc_conv_forward(psk_pool *pool, const fc_conv *c, const fc_tensor *in, fc_act act, fc_tensor *out);
int fc_dwconv_forward(psk_pool *pool, const fc_dwconv *c, const fc_tensor *in, fc_act act, fc_tensor *out);
/* A depthwise 3x3 convolution then a 1x1 one, each with its activation: on maps of 64 x 64 and more, each task takes
 * a row or two of the depthwise output in a 64 KiB buffer and multiplies it at once, so that the depthwise output
 * never goes to memory (the detector's early maps are 4 to 16 MB); the same sums as the two layers in turn. */
int fc_dwpw_forward(psk_pool *pool, const fc_dwconv *dw, fc_act dw_act, const fc_conv *pw, fc_act pw_act,
                    const fc_tensor *in, fc_tensor *out);
void fc_activate(float *x, size_t n, fc_act act);
/* The activation as a clamp to [lo, hi] (conv.h's kernels): -inf..inf, 0..inf or 0..6. */
void fc_act_range(fc_act act, float *lo, float *hi);
/* c[m x n] (row stride ldc) = act(A[m x k] W^T + bias) for W packed by psk_pack_weights (gemm.c): psk_gemm's sums,
 * the activation fused. bias may be NULL. */
void fc_gemm(psk_pool *pool, int m, const float *a, int lda, const psk_packed *w, const float *bias, float *c,
             int ldc, fc_act act);
/* The same product with A and W rounded to bf16 (W packed by psk_pack_bf16), the sums in fp32, on the AVX-512 BF16
 * tile; only where fc_bf16_available(). */
void fc_gemm_bf16(psk_pool *pool, int m, const float *a, int lda, const psk_packed_bf16 *w, const float *bias,
                  float *c, int ldc, fc_act act);
/* True on the AVX-512 kernel level of a CPU with AVX-512 BF16, unless PHOTOSEEK_FACES_FP32 is set (not "0"): the
 * switch back to fp32 everywhere. Asked once. */
bool fc_bf16_available(void);
/* Pools with `valid` padding. */
int fc_pool(const fc_tensor *in, int k, int stride, bool max, fc_tensor *out);

/* The network input: pixels [y0, y0+h) x [x0, x0+w) of an RGB image (row stride img_w*3), zero-padded to a square
 * (the padding after the image, or when centred split with the larger half after it, as face-api's padToSquare),
 * resized to size x size as tf.image.resizeBilinear (align_corners and half_pixel_centers false; skipped when the
 * square is already that size), then out[(y*size + x)*3 + c] = (v - sub[c]) / div + add in float32. */
int fc_input(const uint8_t *rgb, int img_w, int x0, int y0, int w, int h, bool centre, int size, const float sub[3],
             float div, float add, fc_tensor *out);
/* The same into dst (size*size*3 floats): one map of a batch. */
int fc_input_into(const uint8_t *rgb, int img_w, int x0, int y0, int w, int h, bool centre, int size,
                  const float sub[3], float div, float add, float *dst);
/* At most this many faces go through the landmark and descriptor nets in one batch (memory stays bounded: the
 * descriptor's first im2col takes 3 MB per face). */
#define FC_BATCH_MAX 4

/* ---- the networks (ssd.c, landmarks.c, descriptor.c) ---- */
typedef struct fc_ssd {
    fc_conv conv0;
    fc_dwconv dw[13];
    fc_conv pw[13];
    fc_conv pred[8];
    fc_conv box[6], cls[6];
    float *anchors; /* 5118 x 4 */
    int n_anchors;
} fc_ssd;

typedef struct fc_detection {
    double x, y, w, h; /* face-api's detection.box, in image pixels */
    float score;
} fc_detection;

int fc_ssd_load(fc_ssd *s, const char *dir, psk_error *err);
/* The detector's flops per photo (2 per multiply-add), for the benchmark. */
double fc_ssd_flops(const fc_ssd *s);
void fc_ssd_free(fc_ssd *s);
/* Detections sorted by score, after non-maximum suppression (IoU 0.5), at most max_faces. *out is allocated. */
int fc_ssd_detect(const fc_ssd *s, psk_pool *pool, const uint8_t *rgb, int w, int h, float min_score, int max_faces,
                  fc_detection **out, int *n, psk_error *err);

/* face-api's Tiny Face Detector (tiny.c) */
typedef struct fc_tiny {
    fc_conv conv0;
    fc_dwconv dw[5];
    fc_conv pw[5];
    fc_conv conv8;
} fc_tiny;

int fc_tiny_load(fc_tiny *t, const char *dir, psk_error *err);
double fc_tiny_flops(const fc_tiny *t);
void fc_tiny_free(fc_tiny *t);
/* As fc_ssd_detect: detections best first after non-maximum suppression (IoU 0.4), at most max_faces. */
int fc_tiny_detect(const fc_tiny *t, psk_pool *pool, const uint8_t *rgb, int w, int h, float min_score, int max_faces,
                   fc_detection **out, int *n, psk_error *err);

typedef struct fc_dense_sep { /* a separable conv: depthwise 3x3 then pointwise, then bias */
    fc_dwconv dw;
    fc_conv pw;
} fc_dense_sep;

typedef struct fc_landmarks {
    fc_conv conv0;        /* dense0's first layer: a plain 3x3 conv */
    fc_dense_sep sep[15]; /* dense0 conv1..3, dense1..3 conv0..3 */
    psk_packed fc;
    float *fc_bias;
} fc_landmarks;

int fc_landmarks_load(fc_landmarks *l, const char *dir, psk_error *err);
void fc_landmarks_free(fc_landmarks *l);
/* 68 points (x, y) relative to the crop [x0, x0+w) x [y0, y0+h): fractions of w and h. */
int fc_landmarks_run(const fc_landmarks *l, psk_pool *pool, const uint8_t *rgb, int img_w, int x0, int y0, int w,
                     int h, double rel[136], psk_error *err);
/* The same for n <= FC_BATCH_MAX crops {x0, y0, w, h} in one batch. */
int fc_landmarks_run_n(const fc_landmarks *l, psk_pool *pool, const uint8_t *rgb, int img_w, int n,
                       const int (*crop)[4], double (*rel)[136], psk_error *err);

typedef struct fc_resblock {
    fc_conv conv1, conv2;
} fc_resblock;

typedef struct fc_descriptor {
    fc_conv conv0;
    fc_resblock res[15];
    psk_packed fc; /* 128 x 256 */
} fc_descriptor;

int fc_descriptor_load(fc_descriptor *d, const char *dir, psk_error *err);
void fc_descriptor_free(fc_descriptor *d);
int fc_descriptor_run(const fc_descriptor *d, psk_pool *pool, const uint8_t *rgb, int img_w, int x0, int y0, int w,
                      int h, float out[128], psk_error *err);
/* The same for n <= FC_BATCH_MAX chips {x0, y0, w, h} in one batch. */
int fc_descriptor_run_n(const fc_descriptor *d, psk_pool *pool, const uint8_t *rgb, int img_w, int n,
                        const int (*chip)[4], float (*out)[128], psk_error *err);

struct psk_face_model {
    char dir[1024];
    fc_ssd ssd;
    fc_tiny tiny;
    fc_landmarks lm;
    fc_descriptor desc;
};

#endif
