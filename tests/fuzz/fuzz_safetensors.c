/* libFuzzer target: the safetensors header parser on arbitrary bytes. */
#include "../../src/model/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    st_file *f = NULL;
    psk_error err;
    if (st_parse(data, size, "fuzz.safetensors", &f, &err) == PSK_OK) {
        /* Touch every tensor's bytes: the parser promised they are inside the buffer. */
        volatile uint8_t sink = 0;
        for (int i = 0; i < f->n; i++)
            if (f->tensors[i].n_bytes) sink ^= f->tensors[i].data[f->tensors[i].n_bytes - 1];
        (void)sink;
        st_free(f);
    }
    return 0;
}
