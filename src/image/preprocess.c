/* CLIPImageProcessor's recipe: shortest side to S (long side truncated), Pillow bicubic, centre crop, /255,
 * normalise per channel. */
#include "image.h"

#include "../model/model.h"

psk_status psk_model_preprocess(const psk_model *model, const psk_image *img, float *out, psk_error *err) {
    int S = model->vision.image_size;
    if (S <= 0) return psk_fail(err, PSK_ERR_INVALID_ARG, "model has no image encoder");
    int w = img->width, h = img->height, rw, rh;
    if (w <= h) {
        rw = S;
        rh = (int)((long long)S * h / w);
    } else {
        rh = S;
        rw = (int)((long long)S * w / h);
    }
    /* only the centre crop is resized: the same pixels as resizing whole and cropping */
    int top = (rh - S) / 2, left = (rw - S) / 2;
    uint8_t *r = psk_malloc((size_t)S * S * 3);
    if (!r) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (img_resize_bicubic_window(img->rgb, w, h, rw, rh, left, top, S, S, r)) {
        psk_free(r);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < 3; c++) {
        float scale = 1.0f / (255.0f * model->std[c]), shift = model->mean[c] / model->std[c];
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) out[((size_t)c * S + y) * S + x] = r[((size_t)y * S + x) * 3 + c] * scale - shift;
    }
    psk_free(r);
    return PSK_OK;
}
