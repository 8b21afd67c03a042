/* photoseek serve: the web page and JSON API. */
#include "cli.h"

#include "../server/server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *serve_usage =
    "usage: photoseek serve [--db FILE|--store URL] [--port 8080] [--bind 127.0.0.1] [--token T] [--text-model DIR]\n"
    "                       [--image-model DIR] [--root PATH]... [--threads N] [--port-file FILE]\n"
    "                       [--allow-host NAME]... [--cors ORIGIN] [--open QUERY]\n"
    "\n"
    "Serves a search page and a JSON API on http://127.0.0.1:8080/ (models and vectors stay loaded, so a\n"
    "query costs only the text encoding and the scan). POST /api/index re-indexes the --root folders (default:\n"
    "those of the last index run). --port 0 picks a free port (written to --port-file). Ctrl-C stops it.\n"
    "--open QUERY opens the page at that search in your browser (xdg-open; $PHOTOSEEK_BROWSER overrides it).\n"
    "The page keeps its search in its address (/?q=cake&year=2019&open=ID): bookmark it, share it, reload it.\n"
    "\n"
    "Security: requests are answered only when they name the server as 127.0.0.1, localhost or [::1] (or the\n"
    "--bind address), so another web site cannot read the library by pointing its own name here (DNS\n"
    "rebinding); --allow-host NAME (repeatable) adds a name, for a reverse proxy or a LAN name. Requests that\n"
    "change anything need a JSON body and come only from this page or a non-browser client. Binding to any\n"
    "other address requires --token T (8+ characters): every API and media request then needs it (header\n"
    "Authorization: Bearer T, or open the page once as http://HOST:PORT/?token=T, which keeps it in a cookie).\n"
    "Serve it to a network through a reverse proxy with TLS. --cors ORIGIN lets that origin's pages read the API.\n";

/* --open QUERY: the page at that search, in the user's browser (xdg-open), or the address to open by hand. */
typedef struct open_request {
    const char *query, *token;
} open_request;

static void url_encode(const char *s, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < cap; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p)) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = 0;
}

static void open_browser(void *user, const char *host, int port) {
    const open_request *o = user;
    char q[3100], url[3300];
    url_encode(o->query, q, sizeof q);
    char tok[300] = "";
    if (o->token) url_encode(o->token, tok, sizeof tok); /* the page trades it for a cookie and drops it */
    snprintf(url, sizeof url, "http://%s:%d/%s%s%s%s%s", host, port, *q || *tok ? "?" : "", *tok ? "token=" : "", tok,
             *q && *tok ? "&" : "", *q ? "q=" : "");
    snprintf(url + strlen(url), sizeof url - strlen(url), "%s", q);
    const char *opener = getenv("PHOTOSEEK_BROWSER"); /* tests, and people with another opener */
    if (!opener || !*opener) opener = "xdg-open";
    char *const argv[] = {(char *)opener, url, NULL};
    pid_t pid;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int rc = posix_spawnp(&pid, opener, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) fprintf(stderr, "photoseek: cannot start %s (%s): open %s in a browser\n", opener, strerror(rc), url);
    else fprintf(stderr, "photoseek: opening %s\n", url);
}

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
    open_request open_req = {NULL};
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
        } else if (cli_opt(argc, argv, &i, "--open", &v)) {
            if (!v) CLI_BAD("--open", "a query (\"\" for the empty page)");
            open_req.query = v;
            p.on_listen = open_browser;
            p.on_listen_user = &open_req;
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
    open_req.token = p.token;
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
