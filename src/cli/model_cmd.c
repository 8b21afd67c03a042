/* photoseek model synth|fetch */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *model_usage =
    "usage: photoseek model synth --arch clip-vit-b-32|mclip-distilbert [--tokenizer-from DIR] [--outliers] --out DIR\n"
    "       photoseek model fetch clip-vit-b-32|mclip [--dir DIR]\n"
    "       photoseek model fetch faces [--dir DIR] [--from FILE.tgz]\n"
    "       photoseek model fetch places [--from FILE.tgz] [--dir DIR]   (GeoNames place names, CC-BY-4.0;\n"
    "                                                                     see 'photoseek model fetch places --help')\n"
    "\n"
    "synth  writes a full-size model folder whose weights follow the synthetic rule of the test fixtures\n"
    "       (for tests and benchmarks; it finds nothing). clip-vit-b-32 copies the CLIP tokenizer from DIR;\n"
    "       mclip-distilbert takes DIR's WordPiece vocabulary (vocab.txt) when given, else a placeholder one.\n"
    "       --outliers: the int8 stress variant. In every block, 4 channels of width D (c = (2i+1)*D/8 + i,\n"
    "       i = 0..3) get both layer norms' weight and bias x100 and the matching input columns of q/k/v and\n"
    "       fc1 /100: the float32 model is unchanged, but the activations entering those layers carry 4\n"
    "       channels at ~100x the median, like the massive activations of real CLIP checkpoints.\n"
    "fetch  downloads a model from Hugging Face at its pinned revision, with resume and checksum checks,\n"
    "       into DIR (default: the models folder, $PHOTOSEEK_MODELS or ~/.local/share/photoseek/models/NAME).\n"
    "       It fills DIR.incomplete (an interrupted fetch resumes there) and renames it to DIR when complete.\n";

static int synth(int argc, char **argv) {
    const char *arch = NULL, *tok = NULL, *out = NULL;
    bool outliers = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--outliers") == 0) outliers = true;
        else if (cli_opt(argc, argv, &i, "--arch", &v)) arch = v;
        else if (cli_opt(argc, argv, &i, "--tokenizer-from", &v)) tok = v;
        else if (cli_opt(argc, argv, &i, "--out", &v)) out = v;
        else {
            cli_error("model synth: unexpected argument '%s'", argv[i]);
            fputs(model_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!arch || !out) {
        fputs(model_usage, stderr);
        return EXIT_USAGE;
    }
    psk_error err = {0};
    if ((outliers ? psk_model_synth_outliers : psk_model_synth)(arch, tok, out, &err)) {
        cli_error("%s", err.message);
        return err.code == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    fprintf(stderr, "photoseek: wrote %s model to %s\n", arch, out);
    return EXIT_OK;
}

static void progress(void *user, const char *file, uint64_t done, uint64_t total) {
    (void)user;
    if (!isatty(2)) return;
    if (total) fprintf(stderr, "\r%-40.40s %6.1f%% %8.1f MB", file, 100.0 * done / total, done / 1e6);
    else fprintf(stderr, "\r%-40.40s %8.1f MB", file, done / 1e6);
    if (done == total) fputc('\n', stderr);
}

static int fetch(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "places") == 0) return cmd_places_fetch(argc - 1, argv + 1);
    const char *name = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_opt(argc, argv, &i, "--dir", &v)) dir = v;
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(model_usage, stdout);
            return EXIT_OK;
        } else if (argv[i][0] != '-' && !name) name = argv[i];
        else {
            cli_error("model fetch: unexpected argument '%s'", argv[i]);
            fputs(model_usage, stderr);
            return EXIT_USAGE;
        }
    }
    if (!name || (dir && !*dir)) {
        fputs(model_usage, stderr);
        return EXIT_USAGE;
    }
    char def[1200];
    if (!dir) {
        char base[1024];
        cli_models_dir(base, sizeof base);
        snprintf(def, sizeof def, "%s/%s", base, name);
        dir = def;
    }
    psk_fetch_params fp = psk_fetch_default_params();
    fp.progress = progress;
    psk_error err = {0};
    if (psk_model_fetch(name, dir, &fp, &err)) {
        cli_error("%s%s", err.message, strstr(err.message, "unknown model '") ? "; 'model fetch faces' and 'model fetch "
                  "places' get the face model and the place names" : "");
        if (err.code == PSK_ERR_NETWORK && strstr(err.message, "offline?"))
            cli_error("an offline machine: copy the model folder by hand to %s (where photoseek looks for it), or "
                      "pass it with --image-model DIR or --text-model DIR (or --model DIR for embed and tokenize)",
                      dir);
        return err.code == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    fprintf(stderr, "photoseek: %s is in %s\n", name, dir);
    return EXIT_OK;
}

int cmd_model(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "synth") == 0) return synth(argc - 1, argv + 1);
    if (argc >= 3 && strcmp(argv[1], "fetch") == 0 && strcmp(argv[2], "faces") == 0) return cmd_fetch_faces(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "fetch") == 0) return fetch(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(model_usage, stdout);
        return EXIT_OK;
    }
    fputs(model_usage, stderr);
    return EXIT_USAGE;
}
