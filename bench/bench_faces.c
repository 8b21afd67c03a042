/* The face pass on one photo beside the CLIP image encoding of the same photo, in one run (ratios, not times, are
 * what to compare across machines): decode + detector, landmarks and descriptor per face, the whole psk_faces_detect,
 * and decode + CLIP preprocessing + the full-size synthetic ViT-B/32 image encoder (at the index's precision) on one
 * image, all on the same number of threads (2 by default, as bench_clip), best of 5.
 * usage: bench_faces FACE_MODEL_DIR PHOTO [CLIP_DIR] [THREADS]
 * Last line: RESULT faces=... detector_ms_per_photo=... landmarks_ms_per_face=... descriptor_ms_per_face=...
 *            face_pass_ms=... face_pass_scaled_decode_ms=... clip_image_ms=... face_to_clip_ratio=... */
#include "photoseek.h"

#include "../src/faces/faces.h"
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPS 5

static void die(const char *what, const psk_error *err) {
    fprintf(stderr, "bench_faces: %s: %s\n", what, err->message);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: bench_faces FACE_MODEL_DIR PHOTO [CLIP_DIR] [THREADS]\n");
        return 2;
    }
    char clip_dir[1024];
    snprintf(clip_dir, sizeof clip_dir, "%s/photoseek-bench/clip-vit-b-32", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (argc > 3) snprintf(clip_dir, sizeof clip_dir, "%s", argv[3]);
    int threads = argc > 4 ? atoi(argv[4]) : 2;
    psk_error err = {0};
    psk_face_model *fm;
    if (psk_face_model_load(argv[1], &fm, &err)) die("face model", &err);
    psk_model_params mp = psk_model_default_params();
    mp.load_text = 0;
    mp.precision = psk_index_default_params().precision;
    psk_model *clip;
    if (!psk_file_exists(clip_dir) &&
        psk_model_synth("clip-vit-b-32", "../shared/fixtures/models/tiny-clip", clip_dir, &err))
        die("synthetic CLIP", &err);
    if (psk_model_load(clip_dir, &mp, &clip, &err)) die("CLIP model", &err);
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = threads;
    psk_context *ctx;
    if (psk_context_new(clip, &cp, &ctx, &err)) die("CLIP context", &err);
    psk_pool *pool = NULL;
    if (threads > 1) psk_pool_new(threads, &pool);
    psk_face_params fp = psk_face_default_params();
    fp.n_threads = threads;
    psk_image_params ip = psk_image_default_params();

    double best_face = 1e9, best_scaled = 1e9, best_clip = 1e9, best_det = 1e9, best_lm = 1e9, best_desc = 1e9;
    int n_faces = 0;
    float *px = malloc(sizeof(float) * 3 * 224 * 224), emb[1024];
    for (int r = 0; r < REPS; r++) {
        /* the face pass as indexing would run it: decode at full size, then everything */
        double t = now();
        psk_image *img;
        if (psk_image_load(argv[2], &ip, &img, &err)) die(argv[2], &err);
        psk_face *faces;
        if (psk_faces_detect(fm, img, &fp, &faces, &n_faces, &err)) die("faces", &err);
        double dt = now() - t;
        if (dt < best_face) best_face = dt;
        /* the same with a DCT-scaled decode whose short side stays at least 1024 pixels (what an indexer that
         * shares one decode between CLIP and the faces could do) */
        psk_image_params sip = ip;
        sip.min_short_side = 1024;
        psk_image *simg;
        psk_face *sf;
        int n_sf;
        t = now();
        if (psk_image_load(argv[2], &sip, &simg, &err)) die(argv[2], &err);
        if (psk_faces_detect(fm, simg, &fp, &sf, &n_sf, &err)) die("faces", &err);
        dt = now() - t;
        if (dt < best_scaled) best_scaled = dt;
        psk_free_buffer(sf);
        psk_image_free(simg);
        /* its parts */
        fc_detection *det;
        int n_det;
        t = now();
        if (fc_ssd_detect(&fm->ssd, pool, img->rgb, img->width, img->height, 0.5f, 100, &det, &n_det, &err))
            die("detector", &err);
        dt = now() - t;
        if (dt < best_det) best_det = dt;
        double lm = 0, de = 0;
        for (int i = 0; i < n_faces; i++) {
            double rel[136];
            const float *b = faces[i].box;
            int x = b[0] > 0 ? (int)b[0] : 0, y = b[1] > 0 ? (int)b[1] : 0;
            int w = (int)b[2] < img->width - x ? (int)b[2] : img->width - x;
            int h = (int)b[3] < img->height - y ? (int)b[3] : img->height - y;
            float d[128];
            t = now();
            fc_landmarks_run(&fm->lm, pool, img->rgb, img->width, x, y, w, h, rel, &err);
            lm += now() - t;
            t = now();
            fc_descriptor_run(&fm->desc, pool, img->rgb, img->width, x, y, w, h, d, &err);
            de += now() - t;
        }
        if (n_faces && lm / n_faces < best_lm) best_lm = lm / n_faces;
        if (n_faces && de / n_faces < best_desc) best_desc = de / n_faces;
        psk_free(det);
        psk_free_buffer(faces);
        psk_image_free(img);
        /* CLIP: decode (DCT-scaled, as the index does), preprocess, encode one image */
        psk_image_params cip = ip;
        cip.min_short_side = 224;
        t = now();
        if (psk_image_load(argv[2], &cip, &img, &err)) die(argv[2], &err);
        if (psk_model_preprocess(clip, img, px, &err) || psk_encode_pixels(ctx, px, 1, emb, &err)) die("CLIP", &err);
        dt = now() - t;
        psk_image_free(img);
        if (dt < best_clip) best_clip = dt;
    }
    printf("photo %s, %d faces, %d threads\n", argv[2], n_faces, threads);
    printf("face pass (decode + detect + landmarks + descriptors): %.1f ms\n", best_face * 1e3);
    printf("  detector %.1f ms, landmarks %.1f ms/face, descriptor %.1f ms/face\n", best_det * 1e3, best_lm * 1e3,
           best_desc * 1e3);
    printf("face pass with the decode scaled to a short side >= 1024: %.1f ms\n", best_scaled * 1e3);
    printf("CLIP image (decode at 1/8 + preprocess + ViT-B/32): %.1f ms\n", best_clip * 1e3);
    printf("RESULT faces=%d detector_ms_per_photo=%.1f landmarks_ms_per_face=%.1f descriptor_ms_per_face=%.1f "
           "face_pass_ms=%.1f face_pass_scaled_decode_ms=%.1f clip_image_ms=%.1f face_to_clip_ratio=%.2f\n",
           n_faces, best_det * 1e3, best_lm * 1e3, best_desc * 1e3, best_face * 1e3, best_scaled * 1e3,
           best_clip * 1e3, best_face / best_clip);
    free(px);
    psk_pool_free(pool);
    psk_context_free(ctx);
    psk_model_free(clip);
    psk_face_model_free(fm);
    return 0;
}
