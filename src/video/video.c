/* Videos through FFmpeg's libavformat/libavcodec/libswscale: metadata, and frames sampled every few seconds and
 * at scene changes, decoded one at a time (memory does not grow with the length), scaled down and turned upright
 * by the container's rotation. */
#include "../image/image.h"

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TINY 16 /* side of the grey thumbnail that scene changes are measured on */

struct psk_video_sampler {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int stream;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *to_rgb, *to_tiny;
    int rgb_w, rgb_h, rotation;
    double time_base_ms;
    psk_video_sample_params p;
    int64_t next_ms, last_sample_ms;
    uint8_t last_tiny[TINY * TINY];
    bool have_last, draining, eof;
    int n_samples;
    char path[1024];
};

psk_video_sample_params psk_video_default_sample_params(void) {
    psk_video_sample_params p = {2000, 0.12f, 500, 3000, 256};
    return p;
}

static int av_fail(psk_error *err, const char *path, const char *what, int averr) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(averr, buf, sizeof buf);
    return psk_fail(err, averr == AVERROR(ENOMEM) ? PSK_ERR_NOMEM : PSK_ERR_FORMAT, "%s: %s: %s", path, what, buf);
}

static const char *tag(AVDictionary *d, const char *key) {
    AVDictionaryEntry *e = av_dict_get(d, key, NULL, 0);
    return e ? e->value : NULL;
}

/* The rotation (0, 90, 180, 270 clockwise) that shows the stream upright. */
static int stream_rotation(AVStream *st) {
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    double theta = 0;
    if (m) theta = -av_display_rotation_get((const int32_t *)m);
    else if (tag(st->metadata, "rotate")) theta = atof(tag(st->metadata, "rotate"));
    theta -= 360 * floor(theta / 360 + 0.9 / 360);
    int r = (int)lround(theta / 90) % 4;
    return r < 0 ? (r + 4) * 90 : r * 90;
}

/* ISO 6709 "+48.8577+002.2950/" */
static bool parse_iso6709(const char *s, double *lat, double *lon) {
    char *end;
    if (!s || (*s != '+' && *s != '-')) return false;
    *lat = strtod(s, &end);
    if (end == s || (*end != '+' && *end != '-')) return false;
    const char *q = end;
    *lon = strtod(q, &end);
    return end != q && fabs(*lat) <= 90 && fabs(*lon) <= 180;
}

static int open_video(const char *path, AVFormatContext **fmt_out, int *stream, psk_error *err) {
    /* FFmpeg's own messages would interleave with ours; errors come back through err. */
    if (!getenv("PHOTOSEEK_DEBUG")) av_log_set_level(AV_LOG_QUIET);
    AVFormatContext *fmt = NULL;
    int r = avformat_open_input(&fmt, path, NULL, NULL);
    if (r < 0) return av_fail(err, path, "cannot read the video container", r);
    if ((r = avformat_find_stream_info(fmt, NULL)) < 0) {
        avformat_close_input(&fmt);
        return av_fail(err, path, "cannot read the streams", r);
    }
    int s = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (s < 0 || (fmt->streams[s]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        avformat_close_input(&fmt);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: no video stream", path);
    }
    *fmt_out = fmt;
    *stream = s;
    return PSK_OK;
}

/* FFmpeg's image demuxers (image2 for a file named *.jpg, *.png ..., and jpeg_pipe, png_pipe, ... by content)
 * open any photo, broken ones included, as a one-frame "video". */
static bool still_image_demuxer(const AVFormatContext *fmt) {
    const char *name = fmt->iformat && fmt->iformat->name ? fmt->iformat->name : "";
    size_t n = strlen(name);
    return strcmp(name, "image2") == 0 || strcmp(name, "image2pipe") == 0 ||
           (n > 5 && strcmp(name + n - 5, "_pipe") == 0);
}

psk_status psk_video_probe(const char *path, psk_video_info *info, psk_error *err) {
    memset(info, 0, sizeof *info);
    AVFormatContext *fmt;
    int s, rc = open_video(path, &fmt, &s, err);
    if (rc) return rc;
    if (still_image_demuxer(fmt)) {
        avformat_close_input(&fmt);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: a still image, not a video", path);
    }
    AVStream *st = fmt->streams[s];
    info->rotation = stream_rotation(st);
    int w = st->codecpar->width, h = st->codecpar->height;
    if (w <= 0 || h <= 0 || w > 16384 || h > 16384) {
        avformat_close_input(&fmt);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: invalid video size %dx%d", path, w, h);
    }
    info->width = info->rotation % 180 ? h : w;
    info->height = info->rotation % 180 ? w : h;
    if (fmt->duration > 0) info->duration_ms = fmt->duration / 1000;
    else if (st->duration > 0) info->duration_ms = (int64_t)(st->duration * av_q2d(st->time_base) * 1000);
    const AVCodecDescriptor *cd = avcodec_descriptor_get(st->codecpar->codec_id);
    snprintf(info->codec, sizeof info->codec, "%s", cd ? cd->name : "unknown");
    /* Apple's local creation date (with its offset) is the best; then the container's UTC creation_time. */
    const char *apple = tag(fmt->metadata, "com.apple.quicktime.creationdate");
    const char *ct = tag(fmt->metadata, "creation_time");
    if (!ct) ct = tag(st->metadata, "creation_time");
    snprintf(info->creation_time, sizeof info->creation_time, "%s", apple ? apple : ct ? ct : "");
    const char *make = tag(fmt->metadata, "com.apple.quicktime.make"), *model = tag(fmt->metadata, "com.apple.quicktime.model");
    if (!make) make = tag(fmt->metadata, "make");
    if (!model) model = tag(fmt->metadata, "model");
    snprintf(info->make, sizeof info->make, "%s", make ? make : "");
    snprintf(info->model, sizeof info->model, "%s", model ? model : "");
    const char *loc = tag(fmt->metadata, "com.apple.quicktime.location.ISO6709");
    if (!loc) loc = tag(fmt->metadata, "location");
    info->has_gps = parse_iso6709(loc, &info->gps_lat, &info->gps_lon);
    avformat_close_input(&fmt);
    return PSK_OK;
}

void psk_video_sampler_close(psk_video_sampler *v) {
    if (!v) return;
    sws_freeContext(v->to_rgb);
    sws_freeContext(v->to_tiny);
    av_frame_free(&v->frame);
    av_packet_free(&v->pkt);
    avcodec_free_context(&v->dec);
    avformat_close_input(&v->fmt);
    psk_free(v);
}

psk_status psk_video_sampler_open(const char *path, const psk_video_sample_params *params, psk_video_sampler **out,
                                  psk_error *err) {
    *out = NULL;
    psk_video_sampler *v = psk_calloc(1, sizeof *v);
    if (!v) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    v->p = params ? *params : psk_video_default_sample_params();
    snprintf(v->path, sizeof v->path, "%s", path);
    int rc = open_video(path, &v->fmt, &v->stream, err);
    if (rc) {
        psk_free(v);
        return rc;
    }
    AVStream *st = v->fmt->streams[v->stream];
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        psk_video_sampler_close(v);
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: no decoder for this video codec", path);
    }
    v->dec = avcodec_alloc_context3(codec);
    v->frame = av_frame_alloc();
    v->pkt = av_packet_alloc();
    if (!v->dec || !v->frame || !v->pkt) {
        psk_video_sampler_close(v);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    int r = avcodec_parameters_to_context(v->dec, st->codecpar);
    if (r >= 0) {
        /* Frames that nothing refers to (B-frames) are not needed for sampling every few seconds: skipping them
         * roughly halves the decoding, which dominates for high-resolution clips. Two threads decode. */
        v->dec->skip_frame = AVDISCARD_NONREF;
        v->dec->thread_count = 2;
        r = avcodec_open2(v->dec, codec, NULL);
    }
    if (r < 0) {
        psk_video_sampler_close(v);
        return av_fail(err, path, "cannot open the decoder", r);
    }
    v->rotation = stream_rotation(st);
    v->time_base_ms = av_q2d(st->time_base) * 1000;
    *out = v;
    return PSK_OK;
}

/* Decodes the next frame into v->frame; false at the end of the stream. */
static bool decode_next(psk_video_sampler *v) {
    for (;;) {
        int r = avcodec_receive_frame(v->dec, v->frame);
        if (r == 0) return true;
        if (r == AVERROR_EOF || (r != AVERROR(EAGAIN))) return false;
        if (v->eof) return false;
        for (;;) {
            r = av_read_frame(v->fmt, v->pkt);
            if (r < 0) {
                v->eof = true;
                avcodec_send_packet(v->dec, NULL); /* drain */
                break;
            }
            if (v->pkt->stream_index == v->stream) {
                int s = avcodec_send_packet(v->dec, v->pkt);
                av_packet_unref(v->pkt);
                if (s < 0 && s != AVERROR(EAGAIN)) continue; /* a broken packet: skip it */
                break;
            }
            av_packet_unref(v->pkt);
        }
    }
}

static int64_t frame_ms(psk_video_sampler *v) {
    int64_t pts = v->frame->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) pts = v->frame->pts;
    if (pts == AV_NOPTS_VALUE) return v->last_sample_ms;
    int64_t start = v->fmt->streams[v->stream]->start_time;
    if (start != AV_NOPTS_VALUE) pts -= start;
    return (int64_t)(pts * v->time_base_ms);
}

psk_status psk_video_sampler_next(psk_video_sampler *v, psk_image **out, int64_t *out_ms, psk_error *err) {
    *out = NULL;
    AVFrame *f = v->frame;
    while (v->n_samples < v->p.max_frames && decode_next(v)) {
        int64_t t = frame_ms(v);
        int w = f->width, h = f->height;
        if (w <= 0 || h <= 0) continue;
        /* a tiny grey copy of every frame, to see scene changes */
        uint8_t tiny[TINY * TINY];
        v->to_tiny = sws_getCachedContext(v->to_tiny, w, h, f->format, TINY, TINY, AV_PIX_FMT_GRAY8, SWS_AREA, NULL, NULL, NULL);
        if (!v->to_tiny) return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: cannot convert this pixel format", v->path);
        uint8_t *dst[4] = {tiny, NULL, NULL, NULL};
        int dst_stride[4] = {TINY, 0, 0, 0};
        sws_scale(v->to_tiny, (const uint8_t *const *)f->data, f->linesize, 0, h, dst, dst_stride);
        bool due = !v->have_last || t >= v->next_ms;
        if (!due && t - v->last_sample_ms >= v->p.min_gap_ms) {
            int diff = 0;
            for (int i = 0; i < TINY * TINY; i++) diff += abs((int)tiny[i] - (int)v->last_tiny[i]);
            due = diff > (int)(v->p.scene_threshold * 255 * TINY * TINY);
        }
        if (!due) continue;
        /* the sampled frame, scaled so that its short side is about short_side pixels */
        int s = v->p.short_side > 0 ? v->p.short_side : 256;
        int sw = w, sh = h;
        if (w > s && h > s) {
            if (w < h) sw = s, sh = (int)((int64_t)h * s / w);
            else sh = s, sw = (int)((int64_t)w * s / h);
        }
        v->to_rgb = sws_getCachedContext(v->to_rgb, w, h, f->format, sw, sh, AV_PIX_FMT_RGB24,
                                         SWS_AREA | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
        uint8_t *rgb = psk_malloc((size_t)sw * sh * 3);
        if (!v->to_rgb || !rgb) {
            psk_free(rgb);
            return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", v->path);
        }
        uint8_t *rd[4] = {rgb, NULL, NULL, NULL};
        int rs[4] = {sw * 3, 0, 0, 0};
        sws_scale(v->to_rgb, (const uint8_t *const *)f->data, f->linesize, 0, h, rd, rs);
        psk_image *img = psk_calloc(1, sizeof *img);
        if (!img) {
            psk_free(rgb);
            return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", v->path);
        }
        img->rgb = rgb;
        img->width = sw;
        img->height = sh;
        if (v->rotation) {
            int o = v->rotation == 90 ? 6 : v->rotation == 180 ? 3 : 8, w2, h2;
            uint8_t *r2 = img_apply_orientation(rgb, sw, sh, o, &w2, &h2);
            if (!r2) {
                psk_image_free(img);
                return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", v->path);
            }
            psk_free(rgb);
            img->rgb = r2;
            img->width = w2;
            img->height = h2;
        }
        img->info.width = img->width;
        img->info.height = img->height;
        img->info.orientation = 1;
        snprintf(img->info.format, sizeof img->info.format, "video");
        memcpy(v->last_tiny, tiny, sizeof tiny);
        v->have_last = true;
        v->last_sample_ms = t;
        /* the regular grid continues from this frame */
        while (v->next_ms <= t) v->next_ms += v->p.interval_ms;
        v->n_samples++;
        *out = img;
        *out_ms = t;
        return PSK_OK;
    }
    if (v->n_samples == 0) return psk_fail(err, PSK_ERR_FORMAT, "%s: no frame could be decoded", v->path);
    return PSK_ERR_NOT_FOUND; /* the end */
}

psk_status psk_video_thumbnail(const char *path, int64_t ms, int max_side, unsigned char **jpeg, size_t *size,
                               psk_error *err) {
    psk_video_sample_params p = psk_video_default_sample_params();
    p.interval_ms = 1 << 30; /* only the first frame at or after `ms` */
    p.short_side = max_side;
    p.scene_threshold = 2; /* never */
    psk_video_sampler *v;
    int rc = psk_video_sampler_open(path, &p, &v, err);
    if (rc) return rc;
    if (ms > 0) {
        AVStream *st = v->fmt->streams[v->stream];
        int64_t ts = (int64_t)(ms / v->time_base_ms) + (st->start_time != AV_NOPTS_VALUE ? st->start_time : 0);
        if (av_seek_frame(v->fmt, v->stream, ts, AVSEEK_FLAG_BACKWARD) >= 0) avcodec_flush_buffers(v->dec);
        v->next_ms = ms;
        v->have_last = true;
    }
    psk_image *img = NULL;
    int64_t t;
    rc = psk_video_sampler_next(v, &img, &t, err);
    psk_video_sampler_close(v);
    if (rc == PSK_ERR_NOT_FOUND) rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no frame at %lld ms", path, (long long)ms);
    if (rc) return rc;
    rc = img_encode_thumbnail(img, max_side, jpeg, size, path, err);
    psk_image_free(img);
    return rc;
}
