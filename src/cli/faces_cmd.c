/* photoseek faces: the faces of images as JSON lines, one per input, in input order (the face engine's contract,
 * checked against face-api by tests/faces). */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *faces_usage =
    "usage: photoseek faces [--model DIR] [--json] [--detector ssd|tiny|auto] [--min-score S] [--max-faces N]\n"
    "                       [--threads N] [--save-input DIR] IMAGE...\n"
    "\n"
    "Prints one JSON line per image:\n"
    "  {\"input\": ..., \"faces\": [{\"box\": [x, y, w, h], \"score\": s, \"landmarks\": [[x, y], ...68],\n"
    "                             \"descriptor\": [...128]}]}\n"
    "in the image's pixels after EXIF orientation, best face first, or {\"input\": ..., \"error\": ...}.\n"
    "  --model DIR       face-api's model folder (default: the models folder's faces/, from\n"
    "                    'photoseek model fetch faces')\n"
    "  --detector D      ssd: face-api's SSD MobileNet v1 (the default: finds the small faces of a crowd);\n"
    "                    tiny: its Tiny Face Detector (15x fewer operations, faces of about a tenth\n"
    "                    of the photo's width and more); auto: tiny, and ssd where tiny is in doubt\n"
    "                    (a candidate scored 0.2 to 0.5, or none above 0.5 but one above 0.1): what\n"
    "                    'index' uses by default\n"
    "  --min-score S     the detector's minimum score, 0 to 1 (default 0.5)\n"
    "  --max-faces N     at most N faces per image (default 100)\n"
    "  --save-input DIR  also write each decoded image as DIR/NAME.ppm (the reference's input)\n"
    "Exit code 1 if any input failed, 2 for bad usage, 3 if the model cannot be loaded.\n";

static void faces_error(const char *input, const char *msg) {
    fputs("{\"input\": ", stdout);
    cli_json_string(stdout, input);
    fputs(", \"error\": ", stdout);
    cli_json_string(stdout, msg);
    fputs("}\n", stdout);
}

static void print_faces(const char *input, const psk_face *f, int n) {
    fputs("{\"input\": ", stdout);
    cli_json_string(stdout, input);
    fputs(", \"faces\": [", stdout);
    for (int i = 0; i < n; i++) {
        printf("%s{\"box\": [%.9g, %.9g, %.9g, %.9g], \"score\": %.9g, \"landmarks\": [", i ? ", " : "", f[i].box[0],
               f[i].box[1], f[i].box[2], f[i].box[3], f[i].score);
        for (int k = 0; k < PSK_FACE_LANDMARKS; k++)
            printf(k ? ", [%.9g, %.9g]" : "[%.9g, %.9g]", f[i].landmarks[k][0], f[i].landmarks[k][1]);
        fputs("], \"descriptor\": [", stdout);
        for (int k = 0; k < PSK_FACE_DIM; k++) printf(k ? ", %.9g" : "%.9g", f[i].descriptor[k]);
        fputs("]}", stdout);
    }
    fputs("]}\n", stdout);
}

/* A binary PPM of the decoded pixels, named after the input's file name. */
static bool save_input(const char *dir, const char *input, const psk_image *img) {
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.ppm", dir, base);
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    fprintf(f, "P6\n%d %d\n255\n", img->width, img->height);
    size_t n = (size_t)img->width * img->height * 3;
    bool ok = fwrite(img->rgb, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

int cmd_faces(int argc, char **argv) {
    const char *model_dir = NULL, *save_dir = NULL, *bad_opt = NULL, *bad_takes = NULL, *v;
    psk_face_params params = psk_face_default_params();
    char **inputs = calloc((size_t)argc + 1, sizeof *inputs);
    int n_inputs = 0;
    if (!inputs) abort();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(faces_usage, stdout);
            free(inputs);
            return EXIT_OK;
        } else if (strcmp(argv[i], "--json") == 0) {
            continue; /* JSON lines are the only output */
        } else if (cli_opt(argc, argv, &i, "--model", &v)) {
            if (!v) CLI_BAD("--model", "a folder");
            model_dir = v;
        } else if (cli_opt(argc, argv, &i, "--save-input", &v)) {
            if (!v) CLI_BAD("--save-input", "a folder");
            save_dir = v;
        } else if (cli_opt(argc, argv, &i, "--detector", &v)) {
            if (!psk_face_detector_parse(v, &params.detector)) CLI_BAD("--detector", "ssd, tiny or auto");
        } else if (cli_opt(argc, argv, &i, "--min-score", &v)) {
            char *end = NULL;
            double s = v ? strtod(v, &end) : -1;
            if (!v || end == v || *end || !(s >= 0 && s < 1)) CLI_BAD("--min-score", "a number from 0 to below 1");
            params.min_score = (float)s;
        } else if (cli_opt(argc, argv, &i, "--max-faces", &v)) {
            if (!cli_int(v, 1, 10000, &params.max_faces)) CLI_BAD("--max-faces", "a number from 1 to 10000");
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!cli_int(v, 1, 256, &params.n_threads)) CLI_BAD("--threads", "a number from 1 to 256");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("faces: unknown option '%s' (see 'photoseek faces --help')", argv[i]);
            free(inputs);
            return EXIT_USAGE;
        } else {
            inputs[n_inputs++] = argv[i];
        }
    }
    if (n_inputs == 0) {
        cli_error("faces: no images given");
    usage:
        free(inputs);
        if (bad_opt) return cli_bad_value("faces", bad_opt, bad_takes);
        fputs(faces_usage, stderr);
        return EXIT_USAGE;
    }
    char dir_buf[1024];
    if (!model_dir) {
        char models[900];
        cli_models_dir(models, sizeof models);
        snprintf(dir_buf, sizeof dir_buf, "%s/faces", models);
        model_dir = dir_buf;
    }
    psk_error err = {0};
    psk_face_model *model = NULL;
    if (psk_face_model_load(model_dir, &model, &err)) {
        cli_error("faces: %s", err.message);
        free(inputs);
        return EXIT_FATAL;
    }
    int failed = 0;
    psk_image_params ip = psk_image_default_params();
    for (int i = 0; i < n_inputs; i++) {
        psk_image *img = NULL;
        psk_face *faces = NULL;
        int n = 0;
        if (psk_image_load(inputs[i], &ip, &img, &err) || psk_faces_detect(model, img, &params, &faces, &n, &err)) {
            faces_error(inputs[i], err.message);
            failed++;
        } else {
            if (save_dir && !save_input(save_dir, inputs[i], img)) cli_error("faces: cannot write into %s", save_dir);
            print_faces(inputs[i], faces, n);
        }
        fflush(stdout);
        psk_free_buffer(faces);
        psk_image_free(img);
    }
    psk_face_model_free(model);
    free(inputs);
    return failed ? EXIT_PARTIAL : EXIT_OK;
}

int cmd_fetch_faces(int argc, char **argv) {
    const char *dir = NULL, *from = NULL, *v;
    for (int i = 1; i < argc; i++) {
        if (cli_opt(argc, argv, &i, "--dir", &v) && v && *v) dir = v;
        else if (cli_opt(argc, argv, &i, "--from", &v) && v && *v) from = v;
        else {
            cli_error("model fetch faces: unexpected argument '%s' (it takes --dir DIR and --from FILE.tgz)", argv[i]);
            return EXIT_USAGE;
        }
    }
    char def[1200];
    if (!dir) {
        char base[1024];
        cli_models_dir(base, sizeof base);
        snprintf(def, sizeof def, "%s/faces", base);
        dir = def;
    }
    psk_error err = {0};
    if (psk_face_model_fetch(dir, from, &err)) {
        cli_error("model fetch faces: %s", err.message);
        return EXIT_FATAL;
    }
    fprintf(stderr, "photoseek: face-api 1.7.15's models (MIT) are in %s\n", dir);
    return EXIT_OK;
}
