/* The face pass on one photo beside the CLIP image encoding of the same photo, in one run (ratios, not times, are
 * what to compare across machines), all on the same number of threads (2 by default, as bench_clip), best of 5
 * (BENCH_FACES_REPS to change):
 *  - the indexer's way: one JPEG decode at the smallest DCT scale whose short side is still PSK_FACE_MIN_SHORT_SIDE
 *    (shared), the CLIP preprocessing + full-size synthetic ViT-B/32 image encoder (at the index's precision) on
 *    it, and psk_faces_detect_scaled on it (detector, landmarks and descriptor per face, coordinates in the
 *    photo's pixels); face_pass_ratio = face pass / (shared decode + CLIP);
 *  - indexing without faces (decode at 1/8 + CLIP), and added_cost_ratio = (shared decode + CLIP + face pass) /
 *    (1/8 decode + CLIP) - 1: what the face pass adds to a photo's indexing with --fast-decode (and the 1/8
 *    decode alone);
 *  - the default indexing (no --fast-decode): a full-size decode, CLIP on it, and the face pass on that same decode;
 *    default_added_cost_ratio = face pass / (full decode + CLIP);
 *  - the parts: detector per photo (and its GFLOP/s beside the FMA peak of the same threads, measured here),
 *    landmarks and descriptor per face;
 *  - what the shared decode costs in accuracy: the faces of a full-size decode (untimed) beside the scaled ones
 *    (worst box IoU, worst descriptor distance, worst landmark offset in the photo's pixels).
 * usage: bench_faces FACE_MODEL_DIR PHOTO [CLIP_DIR] [THREADS]   (BENCH_FACES_DETECTOR_ONLY=1: the detector in a
 * loop, nothing printed: for perf record; BENCH_FACE_DETECTOR=ssd|tiny: the detector, default ssd)
 * Last line: RESULT faces=... detector_ms_per_photo=... landmarks_ms_per_face=... descriptor_ms_per_face=...
 *            face_pass_ms=... shared_decode_ms=... small_decode_ms=... clip_encode_ms=... face_pass_ratio=...
 *            added_cost_ratio=... full_decode_ms=... full_clip_ms=... full_face_pass_ms=... default_added_cost_ratio=...
 *            fma_peak_gflops=... detector_gflops=... detector_peak_fraction=... (and the accuracy keys) */
#include "photoseek.h"

#include "../src/faces/faces.h"
#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what, const psk_error *err) {
    fprintf(stderr, "bench_faces: %s: %s\n", what, err->message);
    exit(1);
}

static psk_face_detector detector = PSK_FACE_DETECTOR_SSD;

/* The chosen detector alone. */
static void detect(const psk_face_model *fm, psk_pool *pool, const psk_image *img, fc_detection **det, int *n,
                   psk_error *err) {
    int rc = detector == PSK_FACE_DETECTOR_TINY
                 ? fc_tiny_detect(&fm->tiny, pool, img->rgb, img->width, img->height, 0.5f, 100, det, n, err)
                 : fc_ssd_detect(&fm->ssd, pool, img->rgb, img->width, img->height, 0.5f, 100, det, n, err);
    if (rc) die("detector", err);
}

static double detector_flops(const psk_face_model *fm) {
    return detector == PSK_FACE_DETECTOR_TINY ? fc_tiny_flops(&fm->tiny) : fc_ssd_flops(&fm->ssd);
}

#define BURN_ROUNDS 4000000L
static double burn_flops[64];
static void burn_task(void *arg, int task, int thread) {
    float sink;
    burn_flops[task] = psk_fma_burn(BURN_ROUNDS, *(const float *)arg, &sink);
    if (sink == 12345.0f) printf("-\n"); /* keeps the chains alive */
}

/* The FMA throughput of `threads` threads in GFLOP/s: one probe per thread at once. The benchmark runs it in every
 * repetition and keeps the best (the peak), beside the other best-of times. */
static double fma_probe(psk_pool *pool, int threads) {
    float scale = 1.0f;
    double t = now();
    psk_pool_run(pool, threads, burn_task, &scale);
    double dt = now() - t, f = 0;
    for (int i = 0; i < threads; i++) f += burn_flops[i];
    return f / dt / 1e9;
}

static double box_iou(const float *a, const float *b) {
    double x0 = fmax(a[0], b[0]), y0 = fmax(a[1], b[1]);
    double x1 = fmin(a[0] + a[2], b[0] + b[2]), y1 = fmin(a[1] + a[3], b[1] + b[3]);
    double i = fmax(0, x1 - x0) * fmax(0, y1 - y0);
    return i / ((double)a[2] * a[3] + (double)b[2] * b[3] - i);
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
    if (threads < 1 || threads > 64) threads = 2;
    int reps = getenv("BENCH_FACES_REPS") ? atoi(getenv("BENCH_FACES_REPS")) : 5;
    if (reps < 1) reps = 1;
    psk_error err = {0};
    psk_face_model *fm;
    if (psk_face_model_load(argv[1], &fm, &err)) die("face model", &err);
    psk_model_params mp = psk_model_default_params();
    mp.load_text = 0;
    mp.precision = psk_index_default_params().precision;
    psk_model *clip;
    char weights[1100]; /* made once: writing it again would make every load a miss of the packed-weight cache */
    snprintf(weights, sizeof weights, "%s/model.safetensors", clip_dir);
    if (!psk_file_exists(weights) &&
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
    const char *dname = getenv("BENCH_FACE_DETECTOR");
    if (dname && (!psk_face_detector_parse(dname, &detector) || detector == PSK_FACE_DETECTOR_AUTO)) {
        fprintf(stderr, "bench_faces: BENCH_FACE_DETECTOR must be ssd or tiny (bench_index measures auto)\n");
        return 2;
    }
    fp.detector = detector;
    psk_image_params ip = psk_image_default_params();
    psk_image_params sip = ip, cip = ip;
    sip.min_short_side = PSK_FACE_MIN_SHORT_SIDE;
    if (sip.min_short_side < psk_model_image_size(clip)) sip.min_short_side = psk_model_image_size(clip);
    cip.min_short_side = psk_model_image_size(clip);
    psk_image *img_only;

    if (getenv("BENCH_FACES_DETECTOR_ONLY")) { /* for perf record: the detector on the shared decode, in a loop */
        if (psk_image_load(argv[2], &sip, &img_only, &err)) die(argv[2], &err);
        for (int r = 0; r < 10 * reps; r++) {
            fc_detection *det;
            int n_det;
            detect(fm, pool, img_only, &det, &n_det, &err);
            psk_free(det);
        }
        psk_image_free(img_only);
        return 0;
    }
    double peak = fma_probe(pool, threads);
    /* the faces of a full-size decode: the accuracy reference of the shared decode (and its time, once) */
    double t = now();
    psk_image *img;
    psk_face *full;
    int n_full;
    if (psk_image_load(argv[2], &ip, &img, &err)) die(argv[2], &err);
    if (psk_faces_detect(fm, img, &fp, &full, &n_full, &err)) die("faces", &err);
    double full_ms = (now() - t) * 1e3;
    psk_image_free(img);

    double best_face = 1e9, best_dec = 1e9, best_clip = 1e9, best_plain = 1e9, best_det = 1e9, best_lm = 1e9,
           best_desc = 1e9, best_small_dec = 1e9, best_full_dec = 1e9, best_full_clip = 1e9, best_full_face = 1e9;
    double worst_iou = 1, worst_dist = 0, worst_lm = 0;
    int n_faces = 0, sw = 0, sh = 0;
    float *px = malloc(sizeof(float) * 3 * 224 * 224), emb[1024];
    for (int r = 0; r < reps; r++) {
        peak = fmax(peak, fma_probe(pool, threads));
        /* the indexer's way: one decode, CLIP and the faces on it */
        t = now();
        if (psk_image_load(argv[2], &sip, &img, &err)) die(argv[2], &err);
        double t1 = now();
        if (psk_model_preprocess(clip, img, px, &err) || psk_encode_pixels(ctx, px, 1, emb, &err)) die("CLIP", &err);
        double t2 = now();
        psk_face *faces;
        if (psk_faces_detect_scaled(fm, img, &fp, &faces, &n_faces, &err)) die("faces", &err);
        double t3 = now();
        best_dec = fmin(best_dec, t1 - t);
        best_clip = fmin(best_clip, t2 - t1);
        best_face = fmin(best_face, t3 - t2);
        sw = img->width;
        sh = img->height;
        /* its parts, on the same pixels */
        fc_detection *det;
        int n_det;
        t = now();
        detect(fm, pool, img, &det, &n_det, &err);
        best_det = fmin(best_det, now() - t);
        double lm = 0, de = 0;
        for (int i = 0; i < n_det; i++) {
            double rel[136];
            int x = det[i].x > 0 ? (int)det[i].x : 0, y = det[i].y > 0 ? (int)det[i].y : 0;
            int w = (int)det[i].w < img->width - x ? (int)det[i].w : img->width - x;
            int h = (int)det[i].h < img->height - y ? (int)det[i].h : img->height - y;
            float d[128];
            t = now();
            fc_landmarks_run(&fm->lm, pool, img->rgb, img->width, x, y, w, h, rel, &err);
            lm += now() - t;
            t = now();
            fc_descriptor_run(&fm->desc, pool, img->rgb, img->width, x, y, w, h, d, &err);
            de += now() - t;
        }
        if (n_det) {
            best_lm = fmin(best_lm, lm / n_det);
            best_desc = fmin(best_desc, de / n_det);
        }
        psk_free(det);
        psk_image_free(img);
        /* the default indexing: a full-size decode, CLIP and the faces on it */
        t = now();
        if (psk_image_load(argv[2], &ip, &img, &err)) die(argv[2], &err);
        t1 = now();
        if (psk_model_preprocess(clip, img, px, &err) || psk_encode_pixels(ctx, px, 1, emb, &err)) die("CLIP", &err);
        t2 = now();
        psk_face *ffaces;
        int n_ffaces;
        if (psk_faces_detect_scaled(fm, img, &fp, &ffaces, &n_ffaces, &err)) die("faces", &err);
        t3 = now();
        best_full_dec = fmin(best_full_dec, t1 - t);
        best_full_clip = fmin(best_full_clip, t2 - t1);
        best_full_face = fmin(best_full_face, t3 - t2);
        psk_free_buffer(ffaces);
        psk_image_free(img);
        /* indexing without faces: decode at 1/8, CLIP */
        t = now();
        if (psk_image_load(argv[2], &cip, &img, &err)) die(argv[2], &err);
        best_small_dec = fmin(best_small_dec, now() - t);
        if (psk_model_preprocess(clip, img, px, &err) || psk_encode_pixels(ctx, px, 1, emb, &err)) die("CLIP", &err);
        best_plain = fmin(best_plain, now() - t);
        psk_image_free(img);
        if (r == 0) { /* the shared decode's faces against the full-size ones */
            for (int i = 0; i < n_full; i++) {
                int m = -1;
                double iou = 0;
                for (int j = 0; j < n_faces; j++)
                    if (box_iou(full[i].box, faces[j].box) > iou) iou = box_iou(full[i].box, faces[m = j].box);
                worst_iou = fmin(worst_iou, iou);
                if (m < 0) continue;
                worst_dist = fmax(worst_dist, psk_face_distance(full[i].descriptor, faces[m].descriptor));
                for (int k = 0; k < PSK_FACE_LANDMARKS; k++)
                    worst_lm = fmax(worst_lm, hypot(full[i].landmarks[k][0] - faces[m].landmarks[k][0],
                                                    full[i].landmarks[k][1] - faces[m].landmarks[k][1]));
            }
        }
        psk_free_buffer(faces);
    }
    double det_gflops = detector_flops(fm) / best_det / 1e9;
    double ratio = best_face / (best_dec + best_clip);
    double added = (best_dec + best_clip + best_face) / best_plain - 1;
    printf("photo %s, detector %s, %d faces (%d in a full-size decode), %d threads, FMA peak %.0f GFLOP/s\n",
           argv[2], psk_face_detector_name(detector), n_faces, n_full, threads, peak);
    printf("shared decode (%dx%d, short side >= %d): %.1f ms; CLIP preprocess + encode on it: %.1f ms\n", sw, sh,
           sip.min_short_side, best_dec * 1e3, best_clip * 1e3);
    printf("face pass on it (detect + landmarks + descriptors): %.1f ms = %.2f x (decode + CLIP)\n",
           best_face * 1e3, ratio);
    printf("  detector %.1f ms (%.1f GFLOP, %.0f GFLOP/s, %.2f of the FMA peak), landmarks %.1f ms/face, "
           "descriptor %.1f ms/face\n",
           best_det * 1e3, detector_flops(fm) / 1e9, det_gflops, det_gflops / peak, best_lm * 1e3,
           best_desc * 1e3);
    printf("--fast-decode indexing without faces (decode at 1/8, %.1f ms, + CLIP): %.1f ms; with them the photo costs "
           "%.2f x more\n",
           best_small_dec * 1e3, best_plain * 1e3, added);
    double default_added = best_full_face / (best_full_dec + best_full_clip);
    printf("default indexing (no --fast-decode): full-size decode %.1f ms + CLIP on it %.1f ms; the face pass on that "
           "decode %.1f ms adds %.2f x\n",
           best_full_dec * 1e3, best_full_clip * 1e3, best_full_face * 1e3, default_added);
    printf("full-size decode + face pass (once, for the record): %.1f ms; the shared decode's faces beside its "
           "faces: box IoU >= %.4f, descriptor distance <= %.4f, landmarks within %.2f px\n",
           full_ms, worst_iou, worst_dist, worst_lm);
    printf("RESULT faces=%d detector_ms_per_photo=%.1f landmarks_ms_per_face=%.2f descriptor_ms_per_face=%.2f "
           "face_pass_ms=%.1f shared_decode_ms=%.1f small_decode_ms=%.1f clip_encode_ms=%.1f face_pass_ratio=%.2f "
           "plain_index_ms=%.1f "
           "added_cost_ratio=%.2f fma_peak_gflops=%.0f detector_gflops=%.0f detector_peak_fraction=%.2f "
           "scaled_min_iou=%.4f scaled_max_distance=%.4f scaled_max_landmark_px=%.2f full_decode_ms=%.1f "
           "full_clip_ms=%.1f full_face_pass_ms=%.1f default_added_cost_ratio=%.2f\n",
           n_faces, best_det * 1e3, best_lm * 1e3, best_desc * 1e3, best_face * 1e3, best_dec * 1e3,
           best_small_dec * 1e3, best_clip * 1e3, ratio, best_plain * 1e3, added, peak, det_gflops, det_gflops / peak,
           worst_iou,
           worst_dist, worst_lm, best_full_dec * 1e3, best_full_clip * 1e3, best_full_face * 1e3, default_added);
    free(px);
    psk_free_buffer(full);
    psk_pool_free(pool);
    psk_context_free(ctx);
    psk_model_free(clip);
    psk_face_model_free(fm);
    return 0;
}
