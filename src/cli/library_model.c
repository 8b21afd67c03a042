/* Which image model a command that adds photos (index, import) embeds them with: the library's own. */
#include "cli.h"

#include <string.h>
#include <unistd.h>

static void say_no_model(const char *cmd, const char *image_model) {
    cli_error("%s: no image model in %s: fetch one with 'photoseek model fetch clip-vit-b-32', or give "
              "--image-model DIR (a Hugging Face CLIP or OpenCLIP folder)", cmd, image_model);
}

bool cli_new_library_without_model(const char *cmd, const char *db, const char *image_model) {
    if (strstr(db, "://") || access(db, F_OK) == 0 || access(image_model, R_OK) == 0) return false;
    say_no_model(cmd, image_model);
    return true;
}

int cli_library_model(const char *cmd, psk_library *lib, const char *db, bool given, const char **image_model,
                      char *buf, size_t cap, bool *precision_set, bool *fp32) {
    psk_library_status st;
    psk_error err = {0};
    if (psk_library_get_status(lib, &st, &err)) {
        cli_error("%s", err.message);
        return EXIT_FATAL;
    }
    if (!st.model_id[0] || st.embeddings == 0) { /* a new library takes the model it is given */
        if (access(*image_model, R_OK) == 0) return EXIT_OK;
        say_no_model(cmd, *image_model);
        return EXIT_FATAL;
    }
    /* The recorded id is the checkpoint's, with "+int8" when the vectors came from the int8 encoder. */
    char *plus = strchr(st.model_id, '+');
    bool lib_fp32 = !plus;
    if (plus) *plus = 0;
    if (*precision_set && *fp32 != lib_fp32) {
        cli_error("%s: %s was indexed with --precision %s; indexing part of it with %s would leave its items in "
                  "two sets of vectors. Leave out --precision, or start a new library with --db.",
                  cmd, db, lib_fp32 ? "fp32" : "int8", *fp32 ? "fp32" : "int8");
        return EXIT_USAGE;
    }
    *fp32 = lib_fp32;
    *precision_set = true;
    if (!given) {
        snprintf(buf, cap, "%s", st.model_dir);
        *image_model = buf;
        if (access(buf, R_OK) != 0) {
            cli_error("%s: %s was indexed with the image model in %s, which is gone; give --image-model with a "
                      "copy of that model (%s)", cmd, db, st.model_dir, st.model_id);
            return EXIT_FATAL;
        }
        return EXIT_OK;
    }
    /* Only the checkpoint's identity is read here: no weights are loaded. */
    psk_model_params mp = psk_model_default_params();
    mp.load_vision = 0;
    mp.load_text = 0;
    psk_model *m;
    if (psk_model_load(*image_model, &mp, &m, &err)) {
        cli_error("%s: %s (give --image-model a model folder; see 'photoseek model fetch')", cmd, err.message);
        return EXIT_FATAL;
    }
    bool same = strcmp(psk_model_id(m), st.model_id) == 0;
    if (!same)
        cli_error("%s: %s holds %lld items embedded with the image model %s (%s); %s is another model (%s), and "
                  "its vectors could not be compared with them. Index with the library's model (leave out "
                  "--image-model), or start a new library with --db.",
                  cmd, db, (long long)(st.photos + st.videos), st.model_id, st.model_dir, *image_model,
                  psk_model_id(m));
    psk_model_free(m);
    return same ? EXIT_OK : EXIT_USAGE;
}
