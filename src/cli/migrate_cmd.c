/* photoseek migrate --from library.db --to postgres://... */
#include "cli.h"

#include <string.h>
#include <unistd.h>

static const char *migrate_usage =
    "usage: photoseek migrate --from FILE --to postgres://USER@HOST/DB|pinecone://INDEX_HOST[/NAMESPACE] [--json]\n"
    "Copies a library into PostgreSQL with pgvector, or into a Pinecone index (API key in PINECONE_API_KEY),\n"
    "without embedding anything again: the files indexed with the library's model, their metadata and vectors,\n"
    "and the people (PostgreSQL): each face in its person, the names, merges, splits and unassigned faces.\n"
    "Running it again updates what is there. Use it afterwards with 'photoseek search QUERY --store URL'.\n"
    "  --from FILE   the SQLite library (default: $PHOTOSEEK_DB or ~/.local/share/photoseek/library.db)\n"
    "  --to URL      a libpq URL (connect_timeout and sslmode may be set in it), or pinecone://INDEX_HOST/NS\n"
    "  --json        print the counts as one JSON object\n"
    "Exit codes: 0 copied, 2 bad usage, 3 error (nothing is half-copied: each batch is one transaction),\n"
    "130 interrupted.\n";

static void on_progress(void *user, const char *file, uint64_t done, uint64_t total) {
    (void)file;
    if (*(bool *)user) fprintf(stderr, "\rmigrate: %llu / %llu files", (unsigned long long)done, (unsigned long long)total);
}

int cmd_migrate(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
    const char *from = NULL, *to = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(migrate_usage, stdout);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--from", &v)) {
            if (!(from = v)) CLI_BAD("--from", "a library file");
        } else if (cli_opt(argc, argv, &i, "--to", &v)) {
            if (!(to = v)) CLI_BAD("--to", "a postgres:// or pinecone:// URL");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            goto usage;
        }
    }
    if (!to) goto usage;
    char db_buf[1024];
    cli_default_paths(&from, db_buf, sizeof db_buf, NULL, NULL, 0);
    bool tty = isatty(2);
    psk_migrate_stats st;
    psk_error err = {0};
    psk_status rc = psk_library_migrate(from, to, on_progress, &tty, &st, &err);
    if (tty) fputc('\n', stderr);
    if (rc) {
        cli_error("migrate: %s", err.message);
        return EXIT_FATAL;
    }
    /* what of the people could not be carried, said on stderr in either form */
    if (st.names_not_carried)
        cli_error("migrate: warning: %d name%s not carried (the server takes them for another person's name, in its "
                  "case rules): %s; those people are there without a name",
                  st.names_not_carried, st.names_not_carried == 1 ? " was" : "s were", st.names_dropped);
    if (st.faces_not_carried)
        cli_error("migrate: warning: %lld faces were not carried to their people (their files were not copied: not "
                  "indexed with the library's model)",
                  (long long)st.faces_not_carried);
    if (json) {
        printf("{\"media\": %lld, \"vectors\": %lld, \"seconds\": %.3f, \"vectors_per_s\": %.1f, \"reconnects\": %d,"
               " \"people\": %lld, \"faces_not_carried\": %lld, \"names_not_carried\": %d}\n",
               (long long)st.media, (long long)st.vectors, st.seconds, st.seconds > 0 ? st.vectors / st.seconds : 0.0,
               st.reconnects, (long long)st.people, (long long)st.faces_not_carried, st.names_not_carried);
    } else
        printf("migrate: copied %lld files, %lld vectors in %.2f s (%.0f vectors/s)%s\n", (long long)st.media,
               (long long)st.vectors, st.seconds, st.seconds > 0 ? st.vectors / st.seconds : 0.0,
               st.reconnects ? "; the connection was lost and made again" : "");
    return EXIT_OK;
usage:
    if (bad_opt) cli_bad_value("migrate", bad_opt, bad_takes);
    else fputs(migrate_usage, stderr);
    return EXIT_USAGE;
}
