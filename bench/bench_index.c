/* End-to-end indexing benchmark: N noisy 12-megapixel JPEGs (one photo, N copies with different trailing bytes,
 * so each is hashed, decoded and embedded on its own) indexed with the full-size synthetic ViT-B/32, with the full
 * decode and with DCT-scaled decoding. In the same run it measures what one image costs in CPU time (decode on one
 * core, the encoder at batch 32 on 2 threads), so the pipeline's rate can be compared with what those costs allow:
 * ideal images/s = cores / (decode core-seconds + encoder core-seconds) per image, the encoder at the index's
 * default precision (int8), or at the one BENCH_PRECISION=fp32|int8 names (indexing and encoder alike).
 * usage: bench_index PHOTO.jpg N [CLIP_DIR]
 * Last line: RESULT index_img_per_s_full=... index_img_per_s_fast=... efficiency_full=... efficiency_fast=...
 *            decode_ms_full=... decode_ms_fast=... encoder_core_ms=...
 *            (BENCH_FACES=DIR, face-api's weights: the runs again with the face pass on, and on the same line
 *            index_img_per_s_full_faces=... index_img_per_s_fast_faces=... faces_added_cost_full=...
 *            faces_added_cost_fast=...: what the face pass adds to a photo's indexing, end to end; give it a photo
 *            with faces, e.g. build/bench-faces-12mp.jpg of make bench-faces; BENCH_FACE_DETECTOR=auto|tiny|ssd:
 *            the detector, default the index's, auto) */
#include "photoseek.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double decode_ms(const char *path, int min_short, const psk_model *m, float *px) {
    double best = 1e9;
    for (int r = 0; r < 3; r++) {
        psk_image_params p = psk_image_default_params();
        p.min_short_side = min_short;
        psk_image *img;
        psk_error err;
        double t = now();
        if (psk_image_load(path, &p, &img, &err)) {
            fprintf(stderr, "%s\n", err.message);
            exit(1);
        }
        psk_model_preprocess(m, img, px, &err);
        double dt = now() - t;
        psk_image_free(img);
        if (dt < best) best = dt;
    }
    return best * 1e3;
}

/* the precision of the index runs: the library's default, or BENCH_PRECISION=fp32|int8 */
static psk_precision bench_precision(void) {
    const char *e = getenv("BENCH_PRECISION");
    if (e && strcmp(e, "fp32") == 0) return PSK_PRECISION_FP32;
    if (e && strcmp(e, "int8") == 0) return PSK_PRECISION_INT8;
    return psk_index_default_params().precision;
}

/* BENCH_FACE_DETECTOR's detector, or the index's default. */
static psk_face_detector bench_detector(void) {
    psk_face_detector d = psk_index_default_params().face_detector;
    const char *name = getenv("BENCH_FACE_DETECTOR");
    if (name && !psk_face_detector_parse(name, &d)) {
        fprintf(stderr, "bench_index: BENCH_FACE_DETECTOR must be auto, tiny or ssd\n");
        exit(2);
    }
    return d;
}

static double index_rate(const char *dir, const char *db, const char *model, int n, int fast, const char *faces) {
    psk_index_params p = psk_index_default_params();
    p.precision = bench_precision();
    p.image_model_dir = model;
    p.fast_decode = fast;
    p.faces = faces ? PSK_FACES_ON : PSK_FACES_OFF;
    p.faces_dir = faces;
    p.face_detector = bench_detector();
    psk_index_stats st;
    double dt = index_folder(dir, db, p, &st);
    if (st.indexed != n) fprintf(stderr, "bench_index: indexed %lld of %d\n", (long long)st.indexed, n);
    return st.indexed / dt;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_index PHOTO.jpg N [CLIP_DIR]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    char model[1024], dir[1024], db[1100];
    snprintf(model, sizeof model, "%s/photoseek-bench/clip-vit-b-32", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (argc > 3) snprintf(model, sizeof model, "%s", argv[3]);
    snprintf(dir, sizeof dir, "%s/photoseek-bench/photos-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", n);
    snprintf(db, sizeof db, "%s.db", dir);
    mkdir(dir, 0755);
    if (write_copies(argv[1], dir, n)) return 1;
    psk_error err;
    psk_model *m;
    psk_model_params mp = psk_model_default_params();
    mp.load_text = 0;
    /* the encoder's cost at the precision the index runs use (int8 by default), or the ideal rate is wrong */
    mp.precision = bench_precision();
    if (psk_model_load(model, &mp, &m, &err)) {
        fprintf(stderr, "%s (run make bench first)\n", err.message);
        return 1;
    }
    float *px = malloc(sizeof(float) * 3 * 224 * 224 * 32), *emb = malloc(sizeof(float) * 512 * 32);
    char first[1200];
    snprintf(first, sizeof first, "%s/photo_0000.jpg", dir);
    double dec_full = decode_ms(first, 0, m, px), dec_fast = decode_ms(first, 224, m, px);
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = 2;
    psk_context *ctx;
    psk_context_new(m, &cp, &ctx, &err);
    psk_encode_pixels(ctx, px, 32, emb, &err);
    double best = 1e9;
    for (int r = 0; r < 2; r++) {
        double t = now();
        psk_encode_pixels(ctx, px, 32, emb, &err);
        if (now() - t < best) best = now() - t;
    }
    double enc_core_ms = best * 2 / 32 * 1e3;
    psk_context_free(ctx);
    psk_model_free(m);
    int cores = 2;
    double ideal_full = cores * 1e3 / (dec_full + enc_core_ms), ideal_fast = cores * 1e3 / (dec_fast + enc_core_ms);
    double full = index_rate(dir, db, model, n, 0, NULL), fast = index_rate(dir, db, model, n, 1, NULL);
    /* BENCH_FACES=DIR: the same runs with the face pass on (in the decode workers, as `index --faces on`) */
    const char *faces = getenv("BENCH_FACES");
    double full_faces = 0, fast_faces = 0;
    if (faces && *faces) {
        full_faces = index_rate(dir, db, model, n, 0, faces);
        fast_faces = index_rate(dir, db, model, n, 1, faces);
    }
    printf("one 12-megapixel photo: decode + preprocess %.1f ms (full), %.1f ms (DCT-scaled); encoder %.1f core-ms\n",
           dec_full, dec_fast, enc_core_ms);
    printf("indexing %d photos: %.2f images/s with full decoding (ideal %.2f), %.2f with DCT scaling (ideal %.2f)\n", n,
           full, ideal_full, fast, ideal_fast);
    printf("precision %s\n", mp.precision == PSK_PRECISION_FP32 ? "fp32" : "int8");
    if (full_faces > 0)
        printf("with the face pass (detector %s): %.2f images/s with full decoding (%.2f x the cost of a photo without it), %.2f with "
               "DCT scaling (%.2f x)\n",
               psk_face_detector_name(bench_detector()),
               full_faces, full / full_faces, fast_faces, fast / fast_faces);
    printf("RESULT index_img_per_s_full=%.2f index_img_per_s_fast=%.2f efficiency_full=%.3f efficiency_fast=%.3f "
           "decode_ms_full=%.1f decode_ms_fast=%.1f encoder_core_ms=%.1f",
           full, fast, full / ideal_full, fast / ideal_fast, dec_full, dec_fast, enc_core_ms);
    if (full_faces > 0) /* the face keys on the same line */
        printf(" index_img_per_s_full_faces=%.2f index_img_per_s_fast_faces=%.2f faces_added_cost_full=%.2f "
               "faces_added_cost_fast=%.2f",
               full_faces, fast_faces, full / full_faces - 1, fast / fast_faces - 1);
    printf("\n");
    free(px);
    free(emb);
    return 0;
}
