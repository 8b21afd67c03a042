/* photoseek serve: the web page and JSON API. */
#include "cli.h"

#include "../server/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *serve_usage =
    "usage: photoseek serve [--db FILE|--store URL] [--port 8080] [--bind 127.0.0.1] [--token T] [--text-model DIR]\n"
    "                       [--image-model DIR] [--root PATH]... [--threads N] [--port-file FILE]\n"
    "\n"
    "Serves a search page and a JSON API on http://127.0.0.1:8080/ (models and vectors stay loaded, so a\n"
    "query costs only the text encoding and the scan). Binding to any other address requires --token; the\n"
    "page is then opened as http://HOST:PORT/?token=T. POST /api/index re-indexes the --root folders (default:\n"
    "those of the last index run). --port 0 picks a free port (written to --port-file). Ctrl-C stops it.\n";

static volatile int stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

int cmd_serve(int argc, char **argv) {
    psk_server_params p = {0};
    p.port = 8080;
    const char **roots = calloc((size_t)argc, sizeof *roots);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(serve_usage, stdout);
            free(roots);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(p.db = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--port", &v)) {
            char *end;
            long port = v ? strtol(v, &end, 10) : -1;
            if (!v || *end || port < 0 || port > 65535) goto usage;
            p.port = (int)port;
        } else if (cli_opt(argc, argv, &i, "--bind", &v)) {
            if (!(p.bind = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--token", &v)) {
            if (!v || strlen(v) < 8) {
                cli_error("serve: --token needs at least 8 characters");
                free(roots);
                return EXIT_USAGE;
            }
            p.token = v;
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            if (!(p.text_model = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(p.image_model = v)) goto usage;
        } else if (cli_opt(argc, argv, &i, "--root", &v)) {
            if (!v) goto usage;
            roots[p.n_roots++] = v;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!v || (p.n_threads = atoi(v)) < 1) goto usage;
        } else if (cli_opt(argc, argv, &i, "--port-file", &v)) {
            if (!(p.port_file = v)) goto usage;
        } else {
            cli_error("serve: unexpected argument '%s'", argv[i]);
            goto usage;
        }
    }
    p.roots = roots;
    const char *bind = p.bind ? p.bind : "127.0.0.1";
    if (strncmp(bind, "127.", 4) != 0 && !p.token) {
        cli_error("serve: binding to %s makes the library reachable from the network: give a --token", bind);
        free(roots);
        return EXIT_USAGE;
    }
    char db[1024];
    if (!p.db) {
        psk_default_db_path(db, sizeof db);
        p.db = db;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    psk_error err = {0};
    int rc = psk_server_run(&p, &stop_flag, &err);
    free(roots);
    if (rc) {
        cli_error("%s", err.message);
        return rc == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    return EXIT_OK;
usage:
    fputs(serve_usage, stderr);
    free(roots);
    return EXIT_USAGE;
}
