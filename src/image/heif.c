/* HEIC/HEIF (and AVIF where libheif has the decoder) through libheif. libheif applies the container's rotation
 * and mirroring (irot/imir) itself, so EXIF orientation must not be applied again. */
#include "image.h"

#include <libheif/heif.h>
#include <string.h>

int img_decode_heif(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                    psk_error *err) {
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    struct heif_image_handle *handle = NULL;
    struct heif_image *image = NULL;
    int rc = PSK_OK;
    struct heif_error he = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (he.code == heif_error_Ok) he = heif_context_get_primary_image_handle(ctx, &handle);
    if (he.code != heif_error_Ok) {
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: broken HEIF: %s", name, he.message);
        goto done;
    }
    if ((rc = img_check_dims(name, heif_image_handle_get_width(handle), heif_image_handle_get_height(handle),
                             max_pixels, err)))
        goto done;
    heif_item_id exif_id;
    if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &exif_id, 1) == 1) {
        size_t n = heif_image_handle_get_metadata_size(handle, exif_id);
        uint8_t *buf = n > 4 && n < (64u << 20) ? psk_malloc(n) : NULL;
        if (buf && heif_image_handle_get_metadata(handle, exif_id, buf).code == heif_error_Ok) {
            /* The block starts with a 4-byte offset to the TIFF header. */
            uint32_t off = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
            if (off < n - 4) {
                memmove(buf, buf + 4 + off, n - 4 - off);
                out->exif = buf;
                out->exif_size = n - 4 - off;
                buf = NULL;
            }
        }
        psk_free(buf);
    }
    he = heif_decode_image(handle, &image, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
    if (he.code != heif_error_Ok) {
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: cannot decode HEIF image: %s", name, he.message);
        goto done;
    }
    int w = heif_image_get_width(image, heif_channel_interleaved), h = heif_image_get_height(image, heif_channel_interleaved);
    int stride;
    const uint8_t *p = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride);
    if (!p || (rc = img_check_dims(name, w, h, max_pixels, err))) {
        if (!rc) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: HEIF image without pixels", name);
        goto done;
    }
    out->rgb = img_alloc_rgb(w, h);
    if (!out->rgb) {
        rc = psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    for (int y = 0; y < h; y++) memcpy(out->rgb + (size_t)y * w * 3, p + (size_t)y * stride, (size_t)w * 3);
    out->width = w;
    out->height = h;
    out->oriented = true;
done:
    if (rc) {
        psk_free(out->exif);
        out->exif = NULL;
    }
    heif_image_release(image);
    heif_image_handle_release(handle);
    heif_context_free(ctx);
    return rc;
}
