/* Chooses the kernel table once, from the CPU's features (never from -march=native at build time). */
#include "kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const psk_kernel_table *chosen;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void choose(void) {
    const char *force = getenv("PHOTOSEEK_KERNELS");
    chosen = psk_kernels_ref();
    if (force && strcmp(force, "ref") == 0) return;
    const psk_kernel_table *avx2 = psk_kernels_avx2();
    if (avx2) chosen = avx2;
}

const psk_kernel_table *psk_kernels(void) {
    pthread_once(&once, choose);
    return chosen;
}
