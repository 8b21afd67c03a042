/* photoseek duplicates: groups of near-duplicate photos, each with its suggested keeper. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *dups_usage =
    "usage: photoseek duplicates [--threshold T] [--move-to DIR] [--json] [filters]\n"
    "\n"
    "Lists groups of photos that are copies of each other: byte-identical files (\"identical\"), the same picture\n"
    "resized, recompressed, cropped a little, colour-edited, turned or framed (\"same picture\"), and bursts taken\n"
    "seconds apart (\"same moment\"). Each group names the member to keep (the most pixels, then the unedited\n"
    "original, then the oldest) and the rule that chose it. Nothing is deleted; only --move-to moves files.\n"
    "\n"
    "Options:\n"
    "  --threshold T        embedding cosine for \"same picture\" with a close perceptual hash (default 0.92;\n"
    "                       higher: fewer, surer groups)\n"
    "  --move-to DIR        move every member but the keeper into DIR, keeping their folders below the folder\n"
    "                       all members share; never overwrites; the library records the new paths\n"
    "  --json               one JSON object per group: group, kind, keeper, members (path, similarity, width,\n"
    "                       height, bytes, taken_at)\n"
    "  --year Y,..  --month M,..  --day D,..  --from DATE  --to DATE  --type photo|video  --camera TEXT\n"
    "  --folder PATH  --near LAT,LON,KM   filters, as in search: only the photos they select are grouped\n"
    "  --db FILE            the library (default $PHOTOSEEK_DB or ~/.local/share/photoseek/library.db)\n"
    "  --store URL          a library in PostgreSQL + pgvector (postgres://USER@HOST/DB)\n"
    "Exit codes: 0 groups found, 1 none, 2 bad usage, 3 error.\n";

/* The length of the folder all members of all groups share ("/a/b/" of "/a/b/x.jpg" and "/a/b/c/y.jpg"). */
static size_t common_folder(const psk_dup_group *g, int n) {
    const char *first = g[0].members[0].path;
    size_t len = strlen(first);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < g[i].n_members; k++) {
            size_t j = 0;
            while (j < len && first[j] == g[i].members[k].path[j]) j++;
            len = j;
        }
    while (len > 0 && first[len - 1] != '/') len--;
    return len;
}

/* Moves the non-keepers; returns how many could not be moved. */
static int move_aside(psk_library *lib, const psk_dup_group *g, int n, const char *dir) {
    size_t root = n ? common_folder(g, n) : 0;
    int failed = 0;
    for (int i = 0; i < n; i++)
        for (int k = 1; k < g[i].n_members; k++) {
            const char *from = g[i].members[k].path;
            char to[2048];
            snprintf(to, sizeof to, "%s/%s", dir, from + root);
            psk_error err = {0};
            if (psk_library_move_file(lib, from, to, &err)) {
                cli_error("duplicates: %s", err.message);
                failed++;
            } else {
                printf("moved %s -> %s\n", from, to);
            }
        }
    return failed;
}

static void print_json(const psk_dup_group *g) {
    printf("{\"group\": %d, \"kind\": ", g->group);
    cli_json_string(stdout, g->kind);
    printf(", \"keeper\": ");
    cli_json_string(stdout, g->members[0].path);
    printf(", \"members\": [");
    for (int i = 0; i < g->n_members; i++) {
        const psk_dup_member *m = &g->members[i];
        printf("%s{\"path\": ", i ? ", " : "");
        cli_json_string(stdout, m->path);
        printf(", \"similarity\": %.4f, \"width\": %d, \"height\": %d, \"bytes\": %lld, \"taken_at\": ", m->similarity,
               m->width, m->height, (long long)m->bytes);
        if (m->taken_at) printf("%lld}", (long long)m->taken_at);
        else printf("null}");
    }
    printf("]}\n");
}

static void print_text(const psk_dup_group *g) {
    printf("group %d: %s, %d photos; keep %s (rule: %s)\n  why: %s\n", g->group, g->kind, g->n_members,
           g->members[0].path, g->keeper_rule, g->why);
    for (int i = 0; i < g->n_members; i++) {
        const psk_dup_member *m = &g->members[i];
        printf("  %s %5.3f  %5dx%-5d %10lld bytes  %s\n", i ? " " : "*", m->similarity, m->width, m->height,
               (long long)m->bytes, m->path);
    }
}

int cmd_duplicates(int argc, char **argv) {
    psk_dups_params p = psk_dups_default_params();
    const char *db = NULL, *move_to = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v, *opt = argv[i];
        int taken;
        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(dups_usage, stdout);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--threshold", &v)) {
            char *end;
            double t = v ? strtod(v, &end) : 0;
            if (!v || *end || t <= 0 || t >= 1) return cli_bad_value("duplicates", "--threshold", "a number between 0 and 1");
            p.threshold = (float)t;
        } else if ((taken = cli_filter_opt("duplicates", argc, argv, &i, &p.filter))) {
            if (taken != 1) return taken;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(db = v)) return cli_bad_value("duplicates", opt, "a library file");
        } else if (cli_opt(argc, argv, &i, "--move-to", &v)) {
            if (!(move_to = v) || !*v) return cli_bad_value("duplicates", "--move-to", "a folder");
        } else if (strcmp(opt, "--json") == 0) {
            json = true;
        } else {
            cli_error("duplicates: unknown option '%s' (see 'photoseek duplicates --help')", opt);
            return EXIT_USAGE;
        }
    }
    char db_buf[1024];
    cli_default_paths(&db, db_buf, sizeof db_buf, NULL, NULL, 0);
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, move_to ? PSK_OPEN_WRITE : PSK_OPEN_READ, &lib, &err)) {
        cli_error("%s", err.message);
        return EXIT_FATAL;
    }
    psk_dup_group *g = NULL;
    int n = 0;
    int rc = psk_library_duplicates(lib, &p, &g, &n, &err);
    if (rc) {
        psk_library_close(lib);
        cli_error("%s", err.message);
        return rc == PSK_ERR_UNSUPPORTED ? EXIT_USAGE : EXIT_FATAL;
    }
    for (int i = 0; i < n; i++) json ? print_json(&g[i]) : print_text(&g[i]);
    int failed = move_to ? move_aside(lib, g, n, move_to) : 0;
    psk_library_close(lib);
    if (failed) {
        psk_dup_groups_free(g, n);
        return EXIT_PARTIAL;
    }
    if (!json) fprintf(stderr, "%d group%s of near-duplicates\n", n, n == 1 ? "" : "s");
    psk_dup_groups_free(g, n);
    return n ? EXIT_OK : EXIT_PARTIAL;
}
