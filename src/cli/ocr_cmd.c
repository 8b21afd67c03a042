/* photoseek ocr: the text Tesseract reads in images, as index reads it (JSON lines, for checking and scripts). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *ocr_usage =
    "usage: photoseek ocr [--lang eng+chi_sim] [--no-rotate] [--gate-only] IMAGE...\n"
    "Prints one JSON line per image: {\"input\", \"gate\" (how likely it holds text, 0-1; indexing reads the\n"
    "images from 0.5 on), \"rotation\", \"text\", \"words\": [{\"text\", \"conf\", \"box\": [x, y, w, h]}]}, in the\n"
    "upright image's pixels; an image that fails prints {\"input\", \"error\"}. --lang takes Tesseract's\n"
    "language names joined by + (installed: eng, chi_sim; others with tesseract-ocr-LANG). --gate-only prints\n"
    "{\"input\", \"gate\", \"gate_ms\"} without reading (no languages needed).\n"
    "Exit codes: 0 all read, 1 some failed, 2 bad usage, 3 the languages cannot be loaded.\n";

int cmd_ocr(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
    psk_ocr_params p = psk_ocr_default_params();
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n = 0, gate_only = 0;
    if (!inputs) return EXIT_FATAL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(ocr_usage, stdout);
            free(inputs);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--lang", &v)) {
            if (!v || !*v) CLI_BAD("--lang", "languages joined by + (e.g. eng+chi_sim)");
            p.langs = v;
        } else if (strcmp(argv[i], "--gate-only") == 0) {
            gate_only = 1;
        } else if (strcmp(argv[i], "--no-rotate") == 0) {
            p.try_rotations = 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("ocr: unknown option '%s'", argv[i]);
            goto usage;
        } else {
            inputs[n++] = argv[i];
        }
    }
    if (!n) goto usage;
    psk_error err = {0};
    psk_ocr *ocr = NULL;
    if (!gate_only && psk_ocr_open(&p, &ocr, &err)) {
        cli_error("ocr: %s", err.message);
        free(inputs);
        return EXIT_FATAL;
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        psk_image *img = NULL;
        psk_ocr_text t = {0};
        psk_error e = {0};
        int rc = psk_image_load(inputs[i], NULL, &img, &e);
        double t0 = now_ms();
        float gate = rc ? 0 : psk_ocr_text_score(img);
        double gate_ms = now_ms() - t0;
        if (!rc && gate_only) {
            fputs("{\"input\": ", stdout);
            cli_json_string(stdout, inputs[i]);
            printf(", \"gate\": %.3f, \"gate_ms\": %.2f}\n", gate, gate_ms);
            psk_image_free(img);
            continue;
        }
        if (!rc) rc = psk_ocr_read(ocr, img, &t, &e);
        fputs("{\"input\": ", stdout);
        cli_json_string(stdout, inputs[i]);
        if (rc) {
            failed++;
            fputs(", \"error\": ", stdout);
            cli_json_string(stdout, e.message);
        } else {
            printf(", \"gate\": %.3f, \"rotation\": %d, \"text\": ", gate, t.rotation);
            cli_json_string(stdout, t.text);
            fputs(", \"words\": [", stdout);
            for (int w = 0; w < t.n_words; w++) {
                const psk_ocr_word *wd = &t.words[w];
                fputs(w ? ", {\"text\": " : "{\"text\": ", stdout);
                cli_json_string(stdout, wd->text);
                printf(", \"conf\": %.1f, \"box\": [%d, %d, %d, %d]}", wd->conf, wd->x, wd->y, wd->w, wd->h);
            }
            fputs("]", stdout);
        }
        fputs("}\n", stdout);
        fflush(stdout);
        psk_ocr_text_free(&t);
        psk_image_free(img);
    }
    psk_ocr_close(ocr);
    free(inputs);
    return failed ? EXIT_PARTIAL : EXIT_OK;
usage:
    if (bad_opt) cli_bad_value("ocr", bad_opt, bad_takes);
    else fputs(ocr_usage, stderr);
    free(inputs);
    return EXIT_USAGE;
}
