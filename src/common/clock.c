/* The monotonic clock, for the durations progress lines and traces print. */
#include "common.h"

#include <time.h>

double psk_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
