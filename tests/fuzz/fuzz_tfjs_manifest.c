/* libFuzzer target: the TensorFlow.js weights manifest parser on arbitrary bytes, then the decoding of each group
 * from shards of every length up to what the group needs (short ones must be refused, never read past). */
#include "../../src/faces/faces.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tfjs_manifest *m = NULL;
    psk_error err;
    if (tfjs_manifest_parse((const char *)data, size, "fuzz-weights_manifest.json", &m, &err) != PSK_OK) return 0;
    float **out = calloc((size_t)m->n + 1, sizeof *out);
    for (int g = 0; out && g < m->n_groups; g++) {
        size_t need = m->groups[g].n_bytes;
        if (need > (1u << 20)) continue; /* the parser accepts up to 1 GiB; the fuzzer keeps to small ones */
        uint8_t *bytes = malloc(need + 1);
        if (!bytes) break;
        memset(bytes, 0x5a, need + 1);
        size_t sizes[2] = {need / 2, need};
        for (int k = 0; k < 2; k++) {
            tfjs_decode_group(m, g, bytes, sizes[k], "fuzz.bin", out, &err);
            for (int i = 0; i < m->n; i++) {
                psk_free_aligned(out[i]);
                out[i] = NULL;
            }
        }
        free(bytes);
    }
    free(out);
    tfjs_manifest_free(m);
    return 0;
}
