#include "cli.h"

#include <signal.h>
#include <unistd.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("photoseek: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_bad_value(const char *cmd, const char *option, const char *takes) {
    cli_error("%s: %s takes %s (see 'photoseek %s --help')", cmd, option, takes, cmd);
    return EXIT_USAGE;
}

bool cli_int(const char *v, long lo, long hi, int *out) {
    if (!v || !*v) return false;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*end || errno || n < lo || n > hi) return false;
    *out = (int)n;
    return true;
}

void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void cli_models_dir(char *buf, size_t cap) {
    const char *env = getenv("PHOTOSEEK_MODELS");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return;
    }
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg) {
        snprintf(buf, cap, "%s/photoseek/models", xdg);
        return;
    }
    const char *home = getenv("HOME");
    snprintf(buf, cap, "%s/.local/share/photoseek/models", home ? home : ".");
}

void cli_default_paths(const char **db, char *db_buf, size_t db_cap, const char **image_model, char *model_buf,
                       size_t model_cap) {
    if (db && !*db) {
        psk_default_db_path(db_buf, db_cap);
        *db = db_buf;
    }
    if (image_model && !*image_model) {
        char models[900];
        psk_default_models_dir(models, sizeof models);
        snprintf(model_buf, model_cap, "%s/clip-vit-b-32", models);
        *image_model = model_buf;
    }
}

bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        return true;
    }
    if (a[n] != 0) return false;
    if (*i + 1 >= argc) {
        *value = NULL;
        return true;
    }
    *value = argv[++*i];
    return true;
}

static volatile int interrupted;

static void on_interrupt(int sig) {
    (void)sig;
    if (interrupted) { /* a second Ctrl-C: stop now, and say so (write() is what a signal handler may call) */
        static const char msg[] = "\nphotoseek: stopped at once (a second interrupt): what was committed is kept; "
                                  "the work in flight is lost\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(130);
    }
    interrupted = 1;
}

volatile int *cli_catch_interrupts(bool sigterm_too) {
    struct sigaction sa = {0};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, NULL);
    if (sigterm_too) sigaction(SIGTERM, &sa, NULL);
    return &interrupted;
}

/* --year, --month, --day, --from, --to, --type, --camera, --folder (also as --name=value) */
static bool is_filter(const char *opt) {
    static const char *names[] = {"year", "month", "day", "from", "to", "type", "camera", "folder", "near"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(opt, names[i], n) == 0 && (opt[n] == 0 || opt[n] == '=')) return true;
    }
    return false;
}

int cli_filter_opt(const char *cmd, int argc, char **argv, int *i, psk_filter *f) {
    const char *opt = argv[*i], *v;
    if (strncmp(opt, "--", 2) != 0 || !is_filter(opt + 2)) return 0;
    char name[16];
    snprintf(name, sizeof name, "%s", opt + 2);
    char *eq = strchr(name, '=');
    if (eq) {
        *eq = 0;
        v = opt + 2 + strlen(name) + 1;
    } else {
        v = *i + 1 < argc ? argv[++*i] : NULL;
    }
    psk_error ferr = {0};
    if (psk_filter_set(f, name, v, &ferr)) {
        /* the library names the filter ("from must be ..."): the command line says --from */
        bool named = strncmp(ferr.message, name, strlen(name)) == 0;
        cli_error("%s: %s%s", cmd, named ? "--" : "", ferr.message);
        return EXIT_USAGE;
    }
    return 1;
}
