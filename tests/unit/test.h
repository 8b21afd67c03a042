/* A minimal test harness: TEST(name) registers a function; CHECK fails the test with the file, line and
 * expression; SKIP says why a test cannot run here. Tests find the shared fixtures through fixture_path(). */
#ifndef PSK_TEST_H
#define PSK_TEST_H

#include "photoseek.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool test_failed(void);
/* Marks the running test as skipped (a tool or CPU feature it needs is missing): counted as skipped, never passed. */
void test_skip(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* ../shared/fixtures/<rel>, or $PHOTOSEEK_FIXTURES/<rel>. */
const char *fixture_path(const char *rel);
/* A fresh temporary directory for this test run (removed at exit). */
const char *test_tmpdir(void);
/* Reads a JSON fixture (cJSON*), failing the test if it cannot. */
struct cJSON *load_json_fixture(const char *rel);
/* Max |a-b| / (1 + max|ref|) and cosine similarity. */
double rel_diff(const double *ref, const float *got, int n);
double cosine(const double *ref, const float *got, int n);
/* Reads a JSON array of numbers into a new double array. */
double *json_doubles(const struct cJSON *arr, int *n);

#define TEST(name)                                                                                                     \
    static void name(void);                                                                                            \
    __attribute__((constructor)) static void register_##name(void) {                                                  \
        test_register(#name, name);                                                                                    \
    }                                                                                                                  \
    static void name(void)

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            test_fail(__FILE__, __LINE__, "%s", #cond);                                                                \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#define CHECKF(cond, ...)                                                                                              \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            test_fail(__FILE__, __LINE__, __VA_ARGS__);                                                                \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

/* Skips the running test with a reason and returns from it. */
#define SKIP(...)                                                                                                      \
    do {                                                                                                               \
        test_skip(__FILE__, __LINE__, __VA_ARGS__);                                                                    \
        return;                                                                                                        \
    } while (0)

/* Calls a psk_* function and fails with its message unless it returns PSK_OK. */
#define CHECK_OK(call)                                                                                                 \
    do {                                                                                                               \
        psk_error e_ = {0};                                                                                            \
        psk_error *err_ = &e_;                                                                                         \
        (void)err_;                                                                                                    \
        int rc_ = (call);                                                                                              \
        if (rc_ != PSK_OK) {                                                                                           \
            test_fail(__FILE__, __LINE__, "%s -> %d", #call, rc_);                                                     \
            return;                                                                                                    \
        }                                                                                                              \
    } while (0)

#endif
