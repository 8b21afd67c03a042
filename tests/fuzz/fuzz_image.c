/* libFuzzer target: image detection, decoding, EXIF and orientation on arbitrary bytes. */
#include "photoseek.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    psk_image_params p = psk_image_default_params();
    p.max_pixels = 4 * 1024 * 1024; /* keep each input cheap */
    psk_image *img = NULL;
    psk_error err;
    if (psk_image_load_memory(data, size, "fuzz", &p, &img, &err) == PSK_OK) {
        volatile uint8_t sink = img->rgb[(size_t)img->width * img->height * 3 - 1];
        (void)sink;
        psk_image_free(img);
    }
    return 0;
}
