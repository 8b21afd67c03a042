/* photoseek embed: embeddings as JSON lines, one per input, in input order. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *embed_usage =
    "usage: photoseek embed --model DIR [--normalize] [--threads N] [--precision fp32|int8] INPUTS\n"
    "\n"
    "INPUTS (one kind per run):\n"
    "  --image FILE...       images (JPEG, PNG, WebP, GIF, HEIC/HEIF, TIFF)\n"
    "  --text TEXT...        texts (repeat --text or list several after it)\n"
    "  --pixels FILE.f32...  raw 3xSxS float32 tensors (little-endian, channel-major, normalised)\n"
    "  --ids 101,555,102     one raw token id sequence (repeatable)\n"
    "\n"
    "Prints {\"input\": ..., \"embedding\": [...]} per input (the projected embedding; --normalize scales it to\n"
    "unit length), or {\"input\": ..., \"error\": ...} for an input that failed; the others go on.\n"
    "Exit code 1 if any input failed, 2 for bad usage, 3 if the model cannot be loaded.\n";

enum kind { K_NONE, K_IMAGE, K_TEXT, K_PIXELS, K_IDS };

static void print_embedding(const char *input, const float *e, int n, bool normalize) {
    float *v = malloc(sizeof(float) * (size_t)n);
    if (!v) abort();
    memcpy(v, e, sizeof(float) * (size_t)n);
    if (normalize) psk_normalize(v, n);
    fputs("{\"input\": ", stdout);
    cli_json_string(stdout, input);
    fputs(", \"embedding\": [", stdout);
    for (int i = 0; i < n; i++) printf(i ? ", %.9g" : "%.9g", v[i]);
    fputs("]}\n", stdout);
    free(v);
}

static void print_error(const char *input, const char *msg) {
    fputs("{\"input\": ", stdout);
    cli_json_string(stdout, input);
    fputs(", \"error\": ", stdout);
    cli_json_string(stdout, msg);
    fputs("}\n", stdout);
}

static bool read_pixels(const char *path, float *out, size_t n, psk_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->message, sizeof err->message, "%s: cannot open", path);
        return false;
    }
    size_t got = fread(out, sizeof(float), n, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != n || extra != EOF) {
        snprintf(err->message, sizeof err->message, "%s: expected %zu bytes (3x%dx%d float32)", path, n * 4,
                 (int)0, 0);
        return false;
    }
    return true;
}

#define BATCH 32

int cmd_embed(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
    const char *model_dir = NULL;
    bool normalize = false;
    int threads = 0;
    psk_precision precision = PSK_PRECISION_FP32;
    enum kind kind = K_NONE;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs) return EXIT_FATAL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        enum kind k = K_NONE;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(embed_usage, stdout);
            free(inputs);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--model", &v)) {
            if (!v) CLI_BAD("--model", "a model folder");
            model_dir = v;
            continue;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!cli_int(v, 1, 256, &threads)) CLI_BAD("--threads", "a number from 1 to 256");
            continue;
        } else if (strcmp(argv[i], "--normalize") == 0) {
            normalize = true;
            continue;
        } else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            if (v && strcmp(v, "int8") == 0) precision = PSK_PRECISION_INT8;
            else if (v && strcmp(v, "fp32") == 0) precision = PSK_PRECISION_FP32;
            else CLI_BAD("--precision", "int8 or fp32");
            continue;
        } else if (cli_opt(argc, argv, &i, "--image", &v)) k = K_IMAGE;
        else if (cli_opt(argc, argv, &i, "--text", &v)) k = K_TEXT;
        else if (cli_opt(argc, argv, &i, "--pixels", &v)) k = K_PIXELS;
        else if (cli_opt(argc, argv, &i, "--ids", &v)) k = K_IDS;
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            cli_error("embed: unknown option '%s'", argv[i]);
            goto usage;
        } else if (kind != K_NONE) {
            inputs[n_inputs++] = argv[i]; /* more inputs of the current kind */
            continue;
        } else {
            cli_error("embed: '%s' given before --image, --text, --pixels or --ids", argv[i]);
            goto usage;
        }
        if (!v) goto usage;
        if (kind != K_NONE && kind != k) {
            cli_error("embed: give one kind of input per run");
            goto usage;
        }
        kind = k;
        inputs[n_inputs++] = v;
    }
    if (!model_dir || kind == K_NONE || n_inputs == 0) goto usage;

    psk_error err = {0};
    psk_model_params mp = psk_model_default_params();
    mp.load_vision = kind == K_IMAGE || kind == K_PIXELS;
    mp.load_text = kind == K_TEXT || kind == K_IDS;
    mp.precision = precision;
    psk_model *model = NULL;
    if (psk_model_load(model_dir, &mp, &model, &err)) {
        cli_error("%s", err.message);
        free(inputs);
        return EXIT_FATAL;
    }
    psk_context_params cp = psk_context_default_params();
    cp.n_threads = threads;
    psk_context *ctx = NULL;
    if (psk_context_new(model, &cp, &ctx, &err)) {
        cli_error("%s", err.message);
        psk_model_free(model);
        free(inputs);
        return EXIT_FATAL;
    }
    int dim = psk_model_n_embd(model), failed = 0;
    float *emb = malloc(sizeof(float) * (size_t)dim * BATCH);
    if (!emb) abort();
    if (kind == K_TEXT || kind == K_IDS) {
        for (int i = 0; i < n_inputs; i++) {
            int rc;
            if (kind == K_TEXT) {
                rc = psk_encode_texts(ctx, &inputs[i], 1, emb, &err);
            } else {
                /* "101,555,102" */
                int cap = (int)strlen(inputs[i]) / 2 + 2, n = 0;
                int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
                const char *p = inputs[i];
                rc = PSK_OK;
                while (*p && rc == PSK_OK) {
                    char *end;
                    long id = strtol(p, &end, 10);
                    if (end == p || id < 0 || id > 0x7fffffff || n >= cap) {
                        rc = PSK_ERR_INVALID_ARG;
                        snprintf(err.message, sizeof err.message, "bad id list (expected numbers separated by commas)");
                        break;
                    }
                    ids[n++] = (int32_t)id;
                    p = *end == ',' ? end + 1 : end;
                    if (*end && *end != ',') {
                        rc = PSK_ERR_INVALID_ARG;
                        snprintf(err.message, sizeof err.message, "bad id list (expected numbers separated by commas)");
                    }
                }
                if (rc == PSK_OK) rc = psk_encode_ids(ctx, ids, n, emb, &err);
                free(ids);
            }
            if (rc) {
                print_error(inputs[i], err.message);
                failed++;
            } else {
                print_embedding(inputs[i], emb, dim, normalize);
            }
        }
    } else {
        int S = psk_model_image_size(model);
        size_t px = (size_t)3 * S * S;
        float *pixels = malloc(sizeof(float) * px * BATCH);
        char (*errors)[512] = malloc(sizeof(*errors) * BATCH);
        int *slot = malloc(sizeof(int) * BATCH);
        if (!pixels || !errors || !slot) abort();
        for (int i0 = 0; i0 < n_inputs; i0 += BATCH) {
            int nb = n_inputs - i0 < BATCH ? n_inputs - i0 : BATCH, ok = 0;
            for (int b = 0; b < nb; b++) {
                const char *in = inputs[i0 + b];
                slot[b] = -1;
                errors[b][0] = 0;
                if (kind == K_PIXELS) {
                    if (read_pixels(in, pixels + px * ok, px, &err)) slot[b] = ok++;
                    else snprintf(errors[b], sizeof errors[b], "%s: expected %zu bytes (3x%dx%d float32)", in, px * 4, S, S);
                } else {
                    psk_image *img = NULL;
                    if (psk_image_load(in, NULL, &img, &err) == PSK_OK &&
                        psk_model_preprocess(model, img, pixels + px * ok, &err) == PSK_OK)
                        slot[b] = ok++;
                    else
                        snprintf(errors[b], sizeof errors[b], "%s", err.message);
                    psk_image_free(img);
                }
            }
            if (ok && psk_encode_pixels(ctx, pixels, ok, emb, &err)) {
                for (int b = 0; b < nb; b++)
                    if (slot[b] >= 0) {
                        slot[b] = -1;
                        snprintf(errors[b], sizeof errors[b], "%s", err.message);
                    }
            }
            for (int b = 0; b < nb; b++) {
                if (slot[b] >= 0) {
                    print_embedding(inputs[i0 + b], emb + (size_t)slot[b] * dim, dim, normalize);
                } else {
                    print_error(inputs[i0 + b], errors[b]);
                    failed++;
                }
            }
            fflush(stdout);
        }
        free(pixels);
        free(errors);
        free(slot);
    }
    free(emb);
    psk_context_free(ctx);
    psk_model_free(model);
    free(inputs);
    return failed ? EXIT_PARTIAL : EXIT_OK;
usage:
    if (bad_opt) cli_bad_value("embed", bad_opt, bad_takes);
    else fputs(embed_usage, stderr);
    free(inputs);
    return EXIT_USAGE;
}
