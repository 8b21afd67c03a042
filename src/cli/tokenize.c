/* photoseek tokenize: token ids of texts, untruncated, with the special tokens. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *tokenize_usage = "usage: photoseek tokenize --model DIR TEXT...\n"
                                    "Prints {\"text\": ..., \"ids\": [...]} per text (untruncated, with bos/eos or\n"
                                    "[CLS]/[SEP]); a text that fails prints {\"text\": ..., \"error\": ...}.\n";

int cmd_tokenize(int argc, char **argv) {
    const char *model_dir = NULL;
    const char **texts = calloc((size_t)argc, sizeof *texts);
    int n = 0;
    if (!texts) return EXIT_FATAL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(tokenize_usage, stdout);
            free(texts);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--model", &v)) {
            if (!v) goto usage;
            model_dir = v;
        } else if (strcmp(argv[i], "--") == 0) {
            while (++i < argc) texts[n++] = argv[i];
        } else {
            texts[n++] = argv[i];
        }
    }
    if (!model_dir || n == 0) goto usage;
    psk_error err = {0};
    psk_model_params mp = psk_model_default_params();
    mp.load_vision = 0;
    psk_model *model;
    if (psk_model_load(model_dir, &mp, &model, &err)) {
        cli_error("%s", err.message);
        free(texts);
        return EXIT_FATAL;
    }
    int failed = 0;
    for (int i = 0; i < n; i++) {
        int count = 0;
        int rc = psk_model_tokenize(model, texts[i], NULL, 0, &count, &err);
        int32_t *ids = rc ? NULL : malloc(sizeof(int32_t) * (size_t)(count + 1));
        if (!rc) rc = psk_model_tokenize(model, texts[i], ids, count, &count, &err);
        fputs("{\"text\": ", stdout);
        cli_json_string(stdout, texts[i]);
        if (rc) {
            fputs(", \"error\": ", stdout);
            cli_json_string(stdout, err.message);
            failed++;
        } else {
            fputs(", \"ids\": [", stdout);
            for (int k = 0; k < count; k++) printf(k ? ", %d" : "%d", ids[k]);
            fputs("]", stdout);
        }
        fputs("}\n", stdout);
        free(ids);
    }
    psk_model_free(model);
    free(texts);
    return failed ? EXIT_PARTIAL : EXIT_OK;
usage:
    fputs(tokenize_usage, stderr);
    free(texts);
    return EXIT_USAGE;
}
