/* Thumbnails (cached in memory) and originals (with Range requests, so that videos seek). Only files that the
 * library holds are ever served: the path comes from the store, never from the request. */
#include "http.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define THUMB_SIDE 320

static bool lookup_path(server *s, int64_t id, psk_result *r, char *msg, size_t cap) {
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_get_media(lib, id, r, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) snprintf(msg, cap, "%s", err.message);
    return rc == PSK_OK;
}

enum MHD_Result serve_thumb(server *s, struct MHD_Connection *c, int64_t id) {
    pthread_mutex_lock(&s->thumb_mu);
    for (int i = 0; i < THUMB_CACHE; i++) {
        if (s->thumbs[i].jpeg && s->thumbs[i].id == id) {
            s->thumbs[i].used = ++s->thumb_clock;
            struct MHD_Response *r = MHD_create_response_from_buffer(s->thumbs[i].size, s->thumbs[i].jpeg, MHD_RESPMEM_MUST_COPY);
            pthread_mutex_unlock(&s->thumb_mu);
            if (!r) return MHD_NO;
            MHD_add_response_header(r, "Content-Type", "image/jpeg");
            enum MHD_Result ret = queue_response(c, 200, r, "private, max-age=3600");
            MHD_destroy_response(r);
            return ret;
        }
    }
    pthread_mutex_unlock(&s->thumb_mu);
    psk_result m;
    char msg[600];
    if (!lookup_path(s, id, &m, msg, sizeof msg)) return reply_error(c, 404, "%s", msg);
    unsigned char *jpeg;
    size_t size;
    psk_error err = {0};
    /* a video's thumbnail is its frame at ?t= (ms), by default its first */
    const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "t");
    long long ms = t ? atoll(t) : 0;
    if (ms < 0 || ms > 100LL * 3600 * 1000) return reply_error(c, 400, "t must be a time in milliseconds");
    int rc = m.type == PSK_TYPE_VIDEO ? psk_video_thumbnail(m.path, ms, THUMB_SIDE, &jpeg, &size, &err)
                                      : psk_image_thumbnail(m.path, THUMB_SIDE, &jpeg, &size, &err);
    if (rc && access(m.path, F_OK) != 0) /* as for the file itself: a 404 the page shows as a missing photo */
        return reply_error(c, 404, "the file of item %lld is gone from disk (re-index)", (long long)id);
    if (rc) return reply_error(c, 500, "%s", err.message);
    enum MHD_Result ret = MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(size, jpeg, MHD_RESPMEM_MUST_COPY);
    if (r) {
        MHD_add_response_header(r, "Content-Type", "image/jpeg");
        ret = queue_response(c, 200, r, "private, max-age=3600");
        MHD_destroy_response(r);
    }
    if (m.type == PSK_TYPE_VIDEO) {
        psk_free_buffer(jpeg); /* frames are not cached: each moment has its own */
        return ret;
    }
    /* keep it, evicting the least recently used */
    pthread_mutex_lock(&s->thumb_mu);
    int slot = 0;
    for (int i = 0; i < THUMB_CACHE; i++) {
        if (!s->thumbs[i].jpeg) {
            slot = i;
            break;
        }
        if (s->thumbs[i].used < s->thumbs[slot].used) slot = i;
    }
    psk_free_buffer(s->thumbs[slot].jpeg);
    s->thumbs[slot] = (thumb_entry){id, jpeg, size, ++s->thumb_clock};
    pthread_mutex_unlock(&s->thumb_mu);
    return ret;
}

static const char *mime_of(const char *path) {
    const char *dot = strrchr(path, '.');
    static const char *map[][2] = {{".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".png", "image/png"},
                                   {".webp", "image/webp"}, {".gif", "image/gif"},   {".heic", "image/heic"},
                                   {".heif", "image/heif"}, {".tif", "image/tiff"},  {".tiff", "image/tiff"},
                                   {".mp4", "video/mp4"},   {".m4v", "video/mp4"},   {".mov", "video/quicktime"},
                                   {".webm", "video/webm"}, {".mkv", "video/x-matroska"}, {".avi", "video/x-msvideo"}};
    for (size_t i = 0; dot && i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(dot, map[i][0]) == 0) return map[i][1];
    return "application/octet-stream";
}

enum MHD_Result serve_file(server *s, struct MHD_Connection *c, int64_t id) {
    psk_result m;
    char msg[600];
    if (!lookup_path(s, id, &m, msg, sizeof msg)) return reply_error(c, 404, "%s", msg);
    int fd = open(m.path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return reply_error(c, 404, "the file of item %lld is gone from disk (re-index)", (long long)id);
    }
    int64_t size = st.st_size, start = 0, end = size - 1;
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    unsigned status = 200;
    if (range) {
        int pr = parse_range(range, size, &start, &end);
        if (pr == 1) {
            close(fd);
            char cr[64];
            snprintf(cr, sizeof cr, "bytes */%lld", (long long)size);
            struct MHD_Response *r = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
            if (!r) return MHD_NO;
            MHD_add_response_header(r, "Content-Range", cr);
            enum MHD_Result ret = queue_response(c, 416, r, "private, no-store");
            MHD_destroy_response(r);
            return ret;
        }
        if (pr == 0) status = 206;
        else start = 0, end = size - 1; /* a malformed Range is ignored, as RFC 9110 allows */
    }
    struct MHD_Response *r = MHD_create_response_from_fd_at_offset64((uint64_t)(end - start + 1), fd, (uint64_t)start);
    if (!r) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", mime_of(m.path));
    MHD_add_response_header(r, "Accept-Ranges", "bytes");
    if (status == 206) {
        char cr[96];
        snprintf(cr, sizeof cr, "bytes %lld-%lld/%lld", (long long)start, (long long)end, (long long)size);
        MHD_add_response_header(r, "Content-Range", cr);
    }
    enum MHD_Result ret = queue_response(c, status, r, "private, no-cache");
    MHD_destroy_response(r);
    return ret;
}
