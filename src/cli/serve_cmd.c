/* photoseek serve: the web page and JSON API. */
#include "cli.h"

#include "../server/server.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *serve_usage =
    "usage: photoseek serve [--db FILE|--store URL] [--port 8080] [--bind 127.0.0.1] [--token T] [--text-model DIR]\n"
    "                       [--image-model DIR] [--root PATH]... [--threads N] [--port-file FILE]\n"
    "                       [--allow-host NAME]... [--cors ORIGIN]\n"
    "\n"
    "Serves a search page and a JSON API on http://127.0.0.1:8080/ (models and vectors stay loaded, so a\n"
    "query costs only the text encoding and the scan). POST /api/index re-indexes the --root folders (default:\n"
    "those of the last index run). --port 0 picks a free port (written to --port-file). Ctrl-C stops it.\n"
    "\n"
    "Security: requests are answered only when they name the server as 127.0.0.1, localhost or [::1] (or the\n"
    "--bind address), so another web site cannot read the library by pointing its own name here (DNS\n"
    "rebinding); --allow-host NAME (repeatable) adds a name, for a reverse proxy or a LAN name. Requests that\n"
    "change anything need a JSON body and come only from this page or a non-browser client. Binding to any\n"
    "other address requires --token T (8+ characters): every API and media request then needs it (header\n"
    "Authorization: Bearer T, or open the page once as http://HOST:PORT/?token=T, which keeps it in a cookie).\n"
    "Serve it to a network through a reverse proxy with TLS. --cors ORIGIN lets that origin's pages read the API.\n";

static volatile int stop_flag;
static void on_signal(int sig) {
    (void)sig;
    stop_flag = 1;
}

int cmd_serve(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
    psk_server_params p = {0};
    p.port = 8080;
    const char **roots = calloc((size_t)argc, sizeof *roots);
    const char **hosts = calloc((size_t)argc, sizeof *hosts);
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(serve_usage, stdout);
            free(roots);
            free(hosts);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(p.db = v)) CLI_BAD("--db", "a library file (or a postgres:// URL)");
        } else if (cli_opt(argc, argv, &i, "--port", &v)) {
            if (!cli_int(v, 0, 65535, &p.port)) CLI_BAD("--port", "a port number from 0 to 65535");
        } else if (cli_opt(argc, argv, &i, "--bind", &v)) {
            if (!(p.bind = v)) CLI_BAD("--bind", "an IPv4 address");
        } else if (cli_opt(argc, argv, &i, "--token", &v)) {
            if (!v || strlen(v) < 8) {
                cli_error("serve: --token needs at least 8 characters");
                free(roots);
                free(hosts);
                return EXIT_USAGE;
            }
            p.token = v;
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            if (!(p.text_model = v)) CLI_BAD("--text-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(p.image_model = v)) CLI_BAD("--image-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--root", &v)) {
            if (!v) CLI_BAD("--root", "a folder");
            roots[p.n_roots++] = v;
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!cli_int(v, 1, 256, &p.n_threads)) CLI_BAD("--threads", "a number from 1 to 256");
        } else if (cli_opt(argc, argv, &i, "--port-file", &v)) {
            if (!(p.port_file = v)) CLI_BAD("--port-file", "a file");
        } else if (cli_opt(argc, argv, &i, "--allow-host", &v)) {
            if (!v || !*v || strpbrk(v, ":/ []")) {
                cli_error("serve: --allow-host takes a host name without a port or scheme (e.g. photos.lan)");
                free(roots);
                free(hosts);
                return EXIT_USAGE;
            }
            hosts[p.n_allow_hosts++] = v;
        } else if (cli_opt(argc, argv, &i, "--cors", &v)) {
            if (!v || (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || strchr(v + 8, '/')) {
                cli_error("serve: --cors takes an origin: a scheme and host, e.g. https://photos.example.org");
                free(roots);
                free(hosts);
                return EXIT_USAGE;
            }
            p.cors_origin = v;
        } else {
            cli_error("serve: unexpected argument '%s'", argv[i]);
            goto usage;
        }
    }
    p.roots = roots;
    p.allow_hosts = hosts;
    const char *bind = p.bind ? p.bind : "127.0.0.1";
    if (strncmp(bind, "127.", 4) != 0 && !p.token) {
        cli_error("serve: binding to %s makes the library reachable from the network: give a --token", bind);
        free(roots);
        free(hosts);
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
    free(hosts);
    if (rc) {
        cli_error("%s", err.message);
        return rc == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    return EXIT_OK;
usage:
    if (bad_opt) cli_bad_value("serve", bad_opt, bad_takes);
    else fputs(serve_usage, stderr);
    free(roots);
    free(hosts);
    return EXIT_USAGE;
}
