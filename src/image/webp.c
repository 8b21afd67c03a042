/* WebP through libwebp (lossy and lossless; an animation's first frame), EXIF from the RIFF container. */
#include "image.h"

#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

int img_decode_webp(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                    psk_error *err) {
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(data, size, &f) != VP8_STATUS_OK)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: broken WebP header", name);
    int rc = img_check_dims(name, f.width, f.height, max_pixels, err);
    if (rc) return rc;
    WebPData wd = {data, size};
    WebPDemuxer *demux = WebPDemux(&wd);
    if (demux) {
        WebPChunkIterator it;
        if (WebPDemuxGetChunk(demux, "EXIF", 1, &it)) {
            out->exif = psk_malloc(it.chunk.size ? it.chunk.size : 1);
            if (out->exif) {
                memcpy(out->exif, it.chunk.bytes, it.chunk.size);
                out->exif_size = it.chunk.size;
            }
            WebPDemuxReleaseChunkIterator(&it);
        }
        if (f.has_animation) {
            WebPIterator fi;
            if (WebPDemuxGetFrame(demux, 1, &fi)) {
                int w, h;
                uint8_t *p = WebPDecodeRGB(fi.fragment.bytes, fi.fragment.size, &w, &h);
                WebPDemuxReleaseIterator(&fi);
                WebPDemuxDelete(demux);
                if (!p) {
                    psk_free(out->exif);
                    out->exif = NULL;
                    return psk_fail(err, PSK_ERR_FORMAT, "%s: broken WebP animation frame", name);
                }
                out->rgb = img_alloc_rgb(w, h);
                if (out->rgb) memcpy(out->rgb, p, (size_t)w * h * 3);
                WebPFree(p);
                out->width = w;
                out->height = h;
                return out->rgb ? PSK_OK : psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
            }
        }
        WebPDemuxDelete(demux);
    }
    out->rgb = img_alloc_rgb(f.width, f.height);
    if (!out->rgb) {
        psk_free(out->exif);
        out->exif = NULL;
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    }
    size_t stride = (size_t)f.width * 3;
    if (!WebPDecodeRGBInto(data, size, out->rgb, stride * (size_t)f.height, (int)stride)) {
        psk_free(out->rgb);
        psk_free(out->exif);
        out->rgb = out->exif = NULL;
        return psk_fail(err, PSK_ERR_FORMAT, "%s: broken WebP data", name);
    }
    out->width = f.width;
    out->height = f.height;
    return PSK_OK;
}
