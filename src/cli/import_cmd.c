/* photoseek import takeout|google-photos */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

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
    "Exit codes: 0 done, 1 done with problems (malformed sidecars, unreadable files), 2 bad usage, 3 fatal,\n"
    "130 interrupted.\n";

static void on_notice(void *user, const char *path, const char *message) {
    int *count = user;
    (*count)++;
    fprintf(stderr, "photoseek: %s: %s\n", path, message);
}

/* A small JSON file of two strings, readable by its owner only; an existing file that others can read is refused. */
static int psk_save_private_json(const char *path, const char *k1, const char *v1, const char *k2, const char *v2) {
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & 077)) return -1;
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(dir, 0700);
            *p = '/';
        }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    fchmod(fd, 0600);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    fputs("{", f);
    cli_json_string(f, k1);
    fputs(": ", f);
    cli_json_string(f, v1);
    fputs(", ", f);
    cli_json_string(f, k2);
    fputs(": ", f);
    cli_json_string(f, v2);
    fputs("}\n", f);
    return fclose(f) == 0 ? 0 : -1;
}

/* Reads two string values back (a tiny reader for the file written above). */
static int psk_load_private_json(const char *path, const char *k1, char *v1, size_t c1, const char *k2, char *v2,
                                 size_t c2) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[2048];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *keys[2] = {k1, k2};
    char *vals[2] = {v1, v2};
    size_t caps[2] = {c1, c2};
    for (int i = 0; i < 2; i++) {
        char pat[128];
        snprintf(pat, sizeof pat, "\"%s\": \"", keys[i]);
        const char *p = strstr(buf, pat);
        if (!p) return -1;
        p += strlen(pat);
        size_t o = 0;
        while (*p && *p != '"' && o + 1 < caps[i]) {
            if (*p == '\\' && p[1]) p++;
            vals[i][o++] = *p++;
        }
        vals[i][o] = 0;
    }
    return 0;
}

static int takeout(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
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
            if (!(db = v)) CLI_BAD("--db", "a library file (or a postgres:// URL)");
        } else if (cli_opt(argc, argv, &i, "--into", &v)) {
            if (!(into = v)) CLI_BAD("--into", "a folder");
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(image_model = v)) CLI_BAD("--image-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            if (!v) CLI_BAD("--text-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--jobs", &v)) {
            if (!cli_int(v, 1, 256, &jobs)) CLI_BAD("--jobs", "a number from 1 to 256");
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
    for (int k = 0; k < n; k++)
        if (access(inputs[k], R_OK) != 0) {
            cli_error("import takeout: %s: %s", inputs[k], strerror(errno));
            free(inputs);
            return EXIT_USAGE;
        }
    char db_buf[1024], model_buf[1024];
    bool model_given = image_model != NULL, precision_set = false, fp32 = false;
    cli_default_paths(&db, db_buf, sizeof db_buf, &image_model, model_buf, sizeof model_buf);
    if (cli_new_library_without_model("import takeout", db, image_model)) {
        free(inputs);
        return EXIT_FATAL;
    }
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_WRITE, &lib, &err)) {
        cli_error("%s", err.message);
        free(inputs);
        return EXIT_FATAL;
    }
    int mrc = cli_library_model("import takeout", lib, db, model_given, &image_model, model_buf, sizeof model_buf,
                                &precision_set, &fp32);
    if (mrc) {
        psk_library_close(lib);
        free(inputs);
        return mrc;
    }
    volatile int *cancel_flag = cli_catch_interrupts(false);
    int notices = 0;
    psk_takeout_params p = {0};
    p.inputs = inputs;
    p.n_inputs = n;
    p.into = into;
    p.index = psk_index_default_params();
    p.index.image_model_dir = image_model;
    if (precision_set) p.index.precision = fp32 ? PSK_PRECISION_FP32 : PSK_PRECISION_INT8;
    p.index.n_jobs = jobs;
    p.index.cancel = cancel_flag;
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
    if (bad_opt) cli_bad_value("import takeout", bad_opt, bad_takes);
    else fputs(import_usage, stderr);
    free(inputs);
    return EXIT_USAGE;
}

static const char *picker_usage =
    "usage: photoseek import google-photos --into DIR [--client-id ID --client-secret SECRET] [--token-file FILE]\n"
    "                                      [--db FILE] [--image-model DIR] [--jobs N] [--json]\n"
    "\n"
    "Imports photos and videos you pick in Google Photos (the Picker API). You need your own OAuth client of type\n"
    "\"Desktop app\" (Google Cloud console, with the Photos Picker API enabled); its id and secret are kept in\n"
    "~/.config/photoseek/google-client.json (mode 0600) after the first run. photoseek prints a sign-in link (it\n"
    "listens on 127.0.0.1 for the answer), then a link to Google Photos where you pick; it downloads the picked\n"
    "items into DIR/<year>/ and indexes them. Tokens stay in ~/.config/photoseek/google-token.json (0600).\n"
    "Ctrl-C stops; running again continues with the same pick and downloads nothing twice.\n";

static void print_link(void *user, const char *what, const char *url) {
    (void)user;
    fprintf(stderr, "photoseek: %s: open this link in a browser:\n  %s\n", what, url);
}

static void client_file(char *buf, size_t cap) {
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) snprintf(buf, cap, "%s/photoseek/google-client.json", xdg);
    else snprintf(buf, cap, "%s/.config/photoseek/google-client.json", home ? home : ".");
}

static int google_photos(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
    const char *db = NULL, *into = NULL, *image_model = NULL, *client_id = NULL, *client_secret = NULL, *token_file = NULL;
    int jobs = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0) {
            fputs(picker_usage, stdout);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v)) {
            if (!(db = v)) CLI_BAD("--db", "a library file (or a postgres:// URL)");
        } else if (cli_opt(argc, argv, &i, "--into", &v)) {
            if (!(into = v)) CLI_BAD("--into", "a folder");
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(image_model = v)) CLI_BAD("--image-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            if (!v) CLI_BAD("--text-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--client-id", &v)) {
            if (!(client_id = v)) CLI_BAD("--client-id", "an OAuth client id");
        } else if (cli_opt(argc, argv, &i, "--client-secret", &v)) {
            if (!(client_secret = v)) CLI_BAD("--client-secret", "an OAuth client secret");
        } else if (cli_opt(argc, argv, &i, "--token-file", &v)) {
            if (!(token_file = v)) CLI_BAD("--token-file", "a file");
        } else if (cli_opt(argc, argv, &i, "--jobs", &v)) {
            if (!cli_int(v, 1, 256, &jobs)) CLI_BAD("--jobs", "a number from 1 to 256");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            cli_error("import google-photos: unexpected argument '%s'", argv[i]);
            goto usage;
        }
    }
    if (!into) goto usage;
    /* The OAuth client: given once, then remembered (readable by the owner only). */
    char cf[1024], id_buf[512] = "", secret_buf[512] = "";
    client_file(cf, sizeof cf);
    if (client_id) {
        if (psk_save_private_json(cf, "client_id", client_id, "client_secret", client_secret ? client_secret : "") != 0) {
            cli_error("%s: cannot keep the client id there (is it readable by others? chmod 600 it)", cf);
            return EXIT_FATAL;
        }
    } else if (psk_load_private_json(cf, "client_id", id_buf, sizeof id_buf, "client_secret", secret_buf,
                                     sizeof secret_buf) == 0) {
        client_id = id_buf;
        client_secret = secret_buf;
    } else {
        cli_error("import google-photos: give --client-id and --client-secret the first time (see --help)");
        return EXIT_USAGE;
    }
    char db_buf[1024], model_buf[1024];
    bool model_given = image_model != NULL, precision_set = false, fp32 = false;
    cli_default_paths(&db, db_buf, sizeof db_buf, &image_model, model_buf, sizeof model_buf);
    if (cli_new_library_without_model("import google-photos", db, image_model)) return EXIT_FATAL;
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_WRITE, &lib, &err)) {
        cli_error("%s", err.message);
        return EXIT_FATAL;
    }
    int mrc = cli_library_model("import google-photos", lib, db, model_given, &image_model, model_buf,
                                sizeof model_buf, &precision_set, &fp32);
    if (mrc) {
        psk_library_close(lib);
        return mrc;
    }
    volatile int *cancel_flag = cli_catch_interrupts(false);
    int notices = 0;
    psk_picker_params p = {0};
    p.into = into;
    p.client_id = client_id;
    p.client_secret = client_secret;
    p.token_file = token_file;
    p.show_link = print_link;
    p.index = psk_index_default_params();
    p.index.image_model_dir = image_model;
    if (precision_set) p.index.precision = fp32 ? PSK_PRECISION_FP32 : PSK_PRECISION_INT8;
    p.index.n_jobs = jobs;
    p.index.cancel = cancel_flag;
    p.notice = on_notice;
    p.notice_user = &notices;
    psk_import_stats st;
    int rc = psk_import_google_photos(lib, &p, &st, &err);
    psk_library_close(lib);
    if (json)
        printf("{\"found\": %lld, \"imported\": %lld, \"already_present\": %lld, \"failed\": %lld, \"indexed\": %lld%s}\n",
               (long long)st.found, (long long)st.imported, (long long)st.already_present, (long long)st.failed,
               (long long)st.index.indexed, rc ? ", \"complete\": false" : ", \"complete\": true");
    if (rc) {
        cli_error("%s", err.message);
        return rc == PSK_ERR_INTERRUPTED ? 130 : rc == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    fprintf(stderr, "photoseek: %lld picked items downloaded, %lld were already here, %lld indexed\n",
            (long long)st.imported, (long long)st.already_present, (long long)st.index.indexed);
    return st.failed || st.index.failed ? EXIT_PARTIAL : EXIT_OK;
usage:
    if (bad_opt) cli_bad_value("import google-photos", bad_opt, bad_takes);
    else fputs(picker_usage, stderr);
    return EXIT_USAGE;
}

int cmd_import(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "takeout") == 0) return takeout(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "google-photos") == 0) return google_photos(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(import_usage, stdout);
        return EXIT_OK;
    }
    fputs(import_usage, stderr);
    return EXIT_USAGE;
}
