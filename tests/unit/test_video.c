/* Video sampling: timestamps, rotation applied to the pixels, broken files. Clips are made with ffmpeg. The rotation
 * follows FFmpeg's reading of the display matrix (what players show): a clip stored turned clockwise with the
 * container's rotate=90 tag shows upright after a counter-clockwise turn. */
#include "test.h"

#include "../../src/image/image.h"

static bool make(const char *cmd_fmt, const char *a, const char *b) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, cmd_fmt, a, b);
    return system(cmd) == 0;
}

/* Mean absolute difference between an image and the reference photo scaled to the same size. */
static double diff_to(const psk_image *frame, const psk_image *ref) {
    uint8_t *r = malloc((size_t)frame->width * frame->height * 3);
    img_resize_bicubic(ref->rgb, ref->width, ref->height, r, frame->width, frame->height);
    double d = 0;
    for (size_t i = 0; i < (size_t)frame->width * frame->height * 3; i++) d += abs((int)frame->rgb[i] - r[i]);
    free(r);
    return d / ((double)frame->width * frame->height * 3);
}

TEST(rotated_video_frames_are_upright) {
    char side[700], rot[700];
    snprintf(side, sizeof side, "%s/sideways.mp4", test_tmpdir());
    snprintf(rot, sizeof rot, "%s/phone.mov", test_tmpdir());
    if (system("command -v ffmpeg >/dev/null") != 0) return; /* scripts/install-deps.sh installs it */
    CHECK(make("ffmpeg -v error -y -loop 1 -t 1 -i '%s' -vf transpose=1,setsar=1 -r 5 -pix_fmt yuv420p -c:v libx264 '%s'",
               fixture_path("images/portrait_480x640.jpg"), side));
    CHECK(make("ffmpeg -v error -y -i '%s' -c copy -metadata:s:v:0 rotate=90 '%s'", side, rot));
    psk_video_info info;
    psk_error err = {0};
    CHECK_OK(psk_video_probe(rot, &info, err_));
    CHECKF(info.rotation == 270 && info.width == 480 && info.height == 640, "rotation %d, %dx%d", info.rotation,
           info.width, info.height);
    psk_image *ref;
    CHECK_OK(psk_image_load(fixture_path("images/portrait_480x640.jpg"), NULL, &ref, err_));
    psk_video_sampler *v;
    CHECK_OK(psk_video_sampler_open(rot, NULL, &v, err_));
    psk_image *frame;
    int64_t t = -1;
    CHECK_OK(psk_video_sampler_next(v, &frame, &t, err_));
    CHECK(t == 0 && frame->width < frame->height);
    double upright = diff_to(frame, ref);
    /* against the photo turned upside down, the frame must look unlike it */
    int w2, h2;
    psk_image *ref_side_img;
    CHECK_OK(psk_image_load(fixture_path("images/portrait_480x640.jpg"), NULL, &ref_side_img, err_));
    uint8_t *rs = img_apply_orientation(ref_side_img->rgb, ref_side_img->width, ref_side_img->height, 3, &w2, &h2);
    psk_image ref_side = {w2, h2, rs, {0}};
    double wrong = diff_to(frame, &ref_side);
    free(rs);
    psk_image_free(ref_side_img);
    psk_image_free(frame);
    psk_image_free(ref);
    CHECKF(upright < 12 && wrong > upright * 3, "upright diff %.1f, against the sideways photo %.1f", upright, wrong);
    int frames = 1;
    while (psk_video_sampler_next(v, &frame, &t, &err) == PSK_OK) {
        frames++;
        psk_image_free(frame);
    }
    psk_video_sampler_close(v);
    CHECK(frames == 1); /* one second of a still picture: the first frame only */
}

TEST(broken_videos_give_clear_errors) {
    char path[700];
    psk_video_info info;
    psk_error err = {0};
    snprintf(path, sizeof path, "%s/text.mp4", test_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("not a video at all", f);
    fclose(f);
    CHECK(psk_video_probe(path, &info, &err) == PSK_ERR_FORMAT && strstr(err.message, path));
    psk_video_sampler *v;
    CHECK(psk_video_sampler_open("/nonexistent.mp4", NULL, &v, &err) != PSK_OK && strstr(err.message, "/nonexistent.mp4"));
    /* FFmpeg opens any photo as a one-frame video; a photo, whole or broken, is not a video */
    CHECK(psk_video_probe(fixture_path("images/photo_coffee.jpg"), &info, &err) == PSK_ERR_FORMAT &&
          strstr(err.message, "still image"));
    CHECK(psk_video_probe(fixture_path("images/bad_truncated.jpg"), &info, &err) == PSK_ERR_FORMAT &&
          strstr(err.message, "still image"));
    CHECK(psk_video_probe(fixture_path("images/bad_crc.png"), &info, &err) == PSK_ERR_FORMAT);
}
