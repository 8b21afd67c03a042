/* The unit test runner: runs every registered test (or those whose name contains argv[1]) and ends with the
 * plain summary line "N passed, N failed, N skipped". */
#include "test.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct test_case {
    const char *name;
    test_fn fn;
} test_case;

static test_case tests[512];
static int n_tests;
static bool current_failed, current_skipped;
static char skip_reason[300];
static char tmpdir[256];

void test_register(const char *name, test_fn fn) {
    if (n_tests < 512) tests[n_tests++] = (test_case){name, fn};
}

void test_fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "    %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    current_failed = true;
}

void test_skip(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
    va_end(ap);
    (void)file;
    (void)line;
    current_skipped = true;
}

bool test_failed(void) {
    return current_failed;
}

const char *fixture_path(const char *rel) {
    static _Thread_local char buf[8][1024];
    static _Thread_local int slot;
    const char *base = getenv("PHOTOSEEK_FIXTURES");
    if (!base) base = "../shared/fixtures";
    char *b = buf[slot++ % 8];
    snprintf(b, 1024, "%s/%s", base, rel);
    return b;
}

const char *test_tmpdir(void) {
    return tmpdir;
}

cJSON *load_json_fixture(const char *rel) {
    const char *path = fixture_path(rel);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    data[got] = 0;
    cJSON *j = cJSON_Parse(data);
    free(data);
    return j;
}

double *json_doubles(const cJSON *arr, int *n) {
    *n = cJSON_GetArraySize(arr);
    double *v = malloc(sizeof(double) * (size_t)(*n > 0 ? *n : 1));
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) v[i++] = it->valuedouble;
    return v;
}

double rel_diff(const double *ref, const float *got, int n) {
    double mx = 0, d = 0;
    for (int i = 0; i < n; i++) {
        if (fabs(ref[i]) > mx) mx = fabs(ref[i]);
        if (fabs(ref[i] - got[i]) > d) d = fabs(ref[i] - got[i]);
    }
    return d / (1 + mx);
}

double cosine(const double *ref, const float *got, int n) {
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += ref[i] * got[i];
        aa += ref[i] * ref[i];
        bb += (double)got[i] * got[i];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0;
}

static void remove_tmpdir(void) {
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/photoseek-test-XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    atexit(remove_tmpdir);
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < n_tests; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        current_failed = current_skipped = false;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        tests[i].fn();
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        if (current_failed) { /* a failure before the skip still fails */
            failed++;
            fprintf(stderr, "FAIL %s\n", tests[i].name);
        } else if (current_skipped) {
            skipped++;
            fprintf(stderr, "skip %s: %s\n", tests[i].name, skip_reason);
        } else {
            passed++;
            fprintf(stderr, "ok   %s (%.0f ms)\n", tests[i].name, ms);
        }
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
