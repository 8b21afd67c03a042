/* GIF through giflib: the first frame, drawn on the logical screen filled with the background colour. */
#include "image.h"

#include <gif_lib.h>
#include <string.h>

typedef struct gif_src {
    const uint8_t *data;
    size_t size, pos;
} gif_src;

static int gif_read(GifFileType *g, GifByteType *buf, int n) {
    gif_src *s = g->UserData;
    size_t k = (size_t)n < s->size - s->pos ? (size_t)n : s->size - s->pos;
    memcpy(buf, s->data + s->pos, k);
    s->pos += k;
    return (int)k;
}

int img_decode_gif(const uint8_t *data, size_t size, const char *name, long max_pixels, img_decoded *out,
                   psk_error *err) {
    gif_src src = {data, size, 0};
    int e = 0;
    GifFileType *g = DGifOpen(&src, gif_read, &e);
    if (!g) return psk_fail(err, PSK_ERR_FORMAT, "%s: broken GIF: %s", name, GifErrorString(e));
    int rc = img_check_dims(name, g->SWidth, g->SHeight, max_pixels, err);
    if (rc) {
        DGifCloseFile(g, &e);
        return rc;
    }
    /* Read records up to the first image only. */
    SavedImage *img = NULL;
    GifRecordType rec;
    int transparent = -1;
    do {
        if (DGifGetRecordType(g, &rec) == GIF_ERROR) break;
        if (rec == EXTENSION_RECORD_TYPE) {
            int code;
            GifByteType *ext;
            if (DGifGetExtension(g, &code, &ext) == GIF_ERROR) break;
            while (ext) {
                if (code == GRAPHICS_EXT_FUNC_CODE && ext[0] >= 4 && (ext[1] & 1)) transparent = ext[4];
                if (DGifGetExtensionNext(g, &ext) == GIF_ERROR) {
                    ext = NULL;
                    rec = TERMINATE_RECORD_TYPE;
                }
            }
        } else if (rec == IMAGE_DESC_RECORD_TYPE) {
            if (DGifGetImageDesc(g) == GIF_ERROR) break;
            img = &g->SavedImages[g->ImageCount - 1];
            break;
        }
    } while (rec != TERMINATE_RECORD_TYPE);
    if (!img) {
        DGifCloseFile(g, &e);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: GIF holds no image", name);
    }
    int fw = img->ImageDesc.Width, fh = img->ImageDesc.Height, fx = img->ImageDesc.Left, fy = img->ImageDesc.Top;
    ColorMapObject *cmap = img->ImageDesc.ColorMap ? img->ImageDesc.ColorMap : g->SColorMap;
    if (!cmap || fw <= 0 || fh <= 0 || (long)fw * fh > max_pixels) {
        DGifCloseFile(g, &e);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: GIF frame without colours or with a bad size", name);
    }
    GifByteType *idx = psk_malloc((size_t)fw * fh);
    uint8_t *rgb = img_alloc_rgb(g->SWidth, g->SHeight);
    if (!idx || !rgb) {
        psk_free(idx);
        psk_free(rgb);
        DGifCloseFile(g, &e);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", name);
    }
    bool ok = true;
    if (img->ImageDesc.Interlace) {
        static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
        for (int pass = 0; pass < 4 && ok; pass++)
            for (int y = start[pass]; y < fh && ok; y += step[pass])
                ok = DGifGetLine(g, idx + (size_t)y * fw, fw) != GIF_ERROR;
    } else {
        for (int y = 0; y < fh && ok; y++) ok = DGifGetLine(g, idx + (size_t)y * fw, fw) != GIF_ERROR;
    }
    if (!ok) {
        psk_free(idx);
        psk_free(rgb);
        int ge = g->Error;
        DGifCloseFile(g, &e);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: broken GIF data: %s", name, GifErrorString(ge));
    }
    GifColorType bg = {0, 0, 0};
    if (g->SColorMap && g->SBackGroundColor < g->SColorMap->ColorCount) bg = g->SColorMap->Colors[g->SBackGroundColor];
    for (long i = 0; i < (long)g->SWidth * g->SHeight; i++) {
        rgb[3 * i] = bg.Red;
        rgb[3 * i + 1] = bg.Green;
        rgb[3 * i + 2] = bg.Blue;
    }
    for (int y = 0; y < fh; y++) {
        if (fy + y < 0 || fy + y >= g->SHeight) continue;
        for (int x = 0; x < fw; x++) {
            if (fx + x < 0 || fx + x >= g->SWidth) continue;
            int c = idx[(size_t)y * fw + x];
            if (c == transparent || c >= cmap->ColorCount) continue;
            uint8_t *d = rgb + ((size_t)(fy + y) * g->SWidth + (size_t)(fx + x)) * 3;
            d[0] = cmap->Colors[c].Red;
            d[1] = cmap->Colors[c].Green;
            d[2] = cmap->Colors[c].Blue;
        }
    }
    out->width = g->SWidth;
    out->height = g->SHeight;
    out->rgb = rgb;
    psk_free(idx);
    DGifCloseFile(g, &e);
    return PSK_OK;
}
