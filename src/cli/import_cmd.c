/* photoseek import takeout|google-photos */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *import_usage =
    "usage: photoseek import takeout ARCHIVE_OR_DIR... --into DIR [--db FILE] [--image-model DIR] [--jobs N] [--json]\n"
    "       photoseek import google-photos --into DIR --client-id ID --client-secret SECRET [--db FILE] [...]\n"
    "\n"
    "takeout        a Google Takeout export (.zip or .tgz archives, every part of a multi-part export, or the\n"
    "               extracted folders): each photo and video is matched with its JSON sidecar (date, place,\n"
    "               description, people), stored once under DIR/<year>/ with all its albums, then indexed.\n"
    "               Sidecar data fills in what EXIF lacks and never overrides an EXIF date.\n"
    "google-photos  pick photos in Google Photos (the Picker API): opens a sign-in link, then a picking link, and\n"
    "               downloads what you picked into DIR, then indexes it. See 'photoseek import google-photos --help'.\n"
    "Exit codes: 0 done, 1 done with problems (malformed sidecars, unreadable files), 2 bad usage, 3 fatal.\n";

static volatile int cancel_flag;
static void on_sigint(int sig) {
    (void)sig;
    if (cancel_flag) _exit(130);
    cancel_flag = 1;
}

static void on_notice(void *user, const char *path, const char *message) {
    int *count = user;
    (*count)++;
    fprintf(stderr, "photoseek: %s: %s\n", path, message);
}

int cmd_import_google_photos(int argc, char **argv);

static int takeout(int argc, char **argv) {
    const char *db = NULL, *into = NULL, *image_model = NULL;
    const char **inputs = calloc((size_t)argc, sizeof *inputs);
    int n = 0, jobs = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(import_usage, stdout);
            free(inputs);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v)) {
            if (!(db = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--into", &v)) {
            if (!(into = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(image_model = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            if (!v) goto usage;
        } else if (cli_opt(argc, argv, &i, "--jobs", &v)) {
            if (!v || (jobs = atoi(v)) < 1) goto usage;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-') {
            cli_error("import takeout: unknown option '%s'", argv[i]);
            goto usage;
        } else {
            inputs[n++] = argv[i];
        }
    }
    if (!n || !into) goto usage;
    char db_buf[1024], model_buf[1024];
    if (!db) {
        psk_default_db_path(db_buf, sizeof db_buf);
        db = db_buf;
    }
    if (!image_model) {
        char models[900];
        psk_default_models_dir(models, sizeof models);
        snprintf(model_buf, sizeof model_buf, "%s/clip-vit-b-32", models);
        image_model = model_buf;
    }
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_WRITE, &lib, &err)) {
        cli_error("%s", err.message);
        free(inputs);
        return EXIT_FATAL;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    int notices = 0;
    psk_takeout_params p = {0};
    p.inputs = inputs;
    p.n_inputs = n;
    p.into = into;
    p.index = psk_index_default_params();
    p.index.image_model_dir = image_model;
    p.index.n_jobs = jobs;
    p.index.cancel = &cancel_flag;
    p.notice = on_notice;
    p.notice_user = &notices;
    psk_import_stats st;
    int rc = psk_import_takeout(lib, &p, &st, &err);
    psk_library_close(lib);
    free(inputs);
    if (rc && rc != PSK_ERR_INTERRUPTED) {
        cli_error("%s", err.message);
        return rc == PSK_ERR_NOT_FOUND || rc == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    if (json)
        printf("{\"found\": %lld, \"imported\": %lld, \"duplicates\": %lld, \"already_present\": %lld, "
               "\"sidecars_matched\": %lld, \"sidecars_missing\": %lld, \"sidecars_bad\": %lld, \"failed\": %lld, "
               "\"indexed\": %lld, \"index_failed\": %lld}\n",
               (long long)st.found, (long long)st.imported, (long long)st.duplicates, (long long)st.already_present,
               (long long)st.sidecars_matched, (long long)st.sidecars_missing, (long long)st.sidecars_bad,
               (long long)st.failed, (long long)st.index.indexed, (long long)st.index.failed);
    fprintf(stderr,
            "photoseek: %lld files found, %lld imported, %lld album copies merged, %lld already there; "
            "%lld sidecars matched, %lld missing, %lld malformed; %lld indexed\n",
            (long long)st.found, (long long)st.imported, (long long)st.duplicates, (long long)st.already_present,
            (long long)st.sidecars_matched, (long long)st.sidecars_missing, (long long)st.sidecars_bad,
            (long long)st.index.indexed);
    if (rc == PSK_ERR_INTERRUPTED) return 130;
    return st.sidecars_bad || st.failed || st.index.failed ? EXIT_PARTIAL : EXIT_OK;
usage:
    fputs(import_usage, stderr);
    free(inputs);
    return EXIT_USAGE;
}

int cmd_import(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "takeout") == 0) return takeout(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(import_usage, stdout);
        return EXIT_OK;
    }
    fputs(import_usage, stderr);
    return EXIT_USAGE;
}
