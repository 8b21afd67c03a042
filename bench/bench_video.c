/* Benchmark of video indexing: sampling (every 2 s and at scene changes) + decoding + embedding a 1080p clip with
 * the full-size synthetic ViT-B/32 on 2 threads, with the share of the time spent decoding.
 * usage: bench_video CLIP.mp4 [CLIP_DIR]   (make bench-video generates a 20 s 1080p30 H.264 clip with ffmpeg)
 * Last line: RESULT video_frames_per_s=... decode_share=... video_seconds_per_s=... */
#include "photoseek.h"

#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_video CLIP.mp4 [CLIP_DIR]\n");
        return 2;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/photoseek-bench/clip-vit-b-32", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    const char *model_dir = argc > 2 ? argv[2] : dir;
    psk_error err = {0};
    psk_model_params mp = psk_model_default_params();
    mp.load_text = 0;
    psk_model *m;
    if (psk_model_load(model_dir, &mp, &m, &err)) {
        fprintf(stderr, "%s (run make bench first to synthesise the model)\n", err.message);
        return 1;
    }
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = 2;
    psk_context *ctx;
    psk_context_new(m, &cp, &ctx, &err);
    psk_video_info info;
    if (psk_video_probe(argv[1], &info, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    int S = psk_model_image_size(m), batch = 32, n = 0, in_batch = 0;
    float *px = malloc(sizeof(float) * 3 * S * S * batch), *emb = malloc(sizeof(float) * 512 * batch);
    double t_decode = 0, t_pre = 0, t_embed = 0, t0 = now();
    psk_video_sampler *v;
    if (psk_video_sampler_open(argv[1], NULL, &v, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    for (;;) {
        psk_image *frame;
        int64_t t;
        double a = now();
        int rc = psk_video_sampler_next(v, &frame, &t, &err);
        t_decode += now() - a;
        if (rc == PSK_OK) {
            a = now();
            psk_model_preprocess(m, frame, px + (size_t)in_batch * 3 * S * S, &err);
            psk_image_free(frame);
            t_pre += now() - a;
            in_batch++;
            n++;
        }
        if (in_batch == batch || (rc != PSK_OK && in_batch)) {
            a = now();
            psk_encode_pixels(ctx, px, in_batch, emb, &err);
            t_embed += now() - a;
            in_batch = 0;
        }
        if (rc != PSK_OK) break;
    }
    double total = now() - t0;
    psk_video_sampler_close(v);
    printf("clip: %dx%d, %.1f s, %s\n", info.width, info.height, info.duration_ms / 1000.0, info.codec);
    printf("%d frames sampled in %.2f s: decode+sample %.2f s (%.0f%%), preprocess %.2f s, embed %.2f s\n", n, total,
           t_decode, 100 * t_decode / total, t_pre, t_embed);
    printf("RESULT video_frames_per_s=%.2f decode_share=%.3f video_seconds_per_s=%.2f\n", n / total, t_decode / total,
           info.duration_ms / 1000.0 / total);
    free(px);
    free(emb);
    psk_context_free(ctx);
    psk_model_free(m);
    return 0;
}
