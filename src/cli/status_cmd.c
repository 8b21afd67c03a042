/* photoseek status [--errors] */
#include "cli.h"

#include <string.h>
#include <time.h>

static const char *status_usage = "usage: photoseek status [--db FILE|--store URL] [--errors] [--json]\n"
                                  "Counts by type, the model, the database size and the last run; --errors lists\n"
                                  "the files that could not be indexed, with the reason.\n"
                                  "Exit codes: 0 done, 2 bad usage, 3 the library cannot be read.\n";

typedef struct err_ctx {
    bool json;
    int n;
} err_ctx;

static void print_error_row(void *user, const char *path, const char *reason) {
    err_ctx *c = user;
    c->n++;
    if (c->json) {
        fputs("{\"path\": ", stdout);
        cli_json_string(stdout, path);
        fputs(", \"error\": ", stdout);
        cli_json_string(stdout, reason);
        fputs("}\n", stdout);
    } else {
        /* reasons name their file ("a.jpg: broken JPEG"): the path column says it once */
        size_t n = strlen(path);
        if (strncmp(reason, path, n) == 0 && reason[n] == ':' && reason[n + 1] == ' ') reason += n + 2;
        printf("%s\t%s\n", path, reason);
    }
}

int cmd_status(int argc, char **argv) {
    const char *db = NULL;
    bool errors = false, json = false;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(status_usage, stdout);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(db = v)) return cli_bad_value("status", argv[i], "a library file or a postgres:// URL");
        } else if (strcmp(argv[i], "--errors") == 0) {
            errors = true;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else {
            cli_error("status: %s '%s' (see 'photoseek status --help')",
                      argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i]);
            return EXIT_USAGE;
        }
    }
    char db_buf[1024];
    cli_default_paths(&db, db_buf, sizeof db_buf, NULL, NULL, 0);
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_READ, &lib, &err)) {
        cli_error("%s", err.message);
        return EXIT_FATAL;
    }
    int rc;
    bool worker_failures = errors && !(psk_library_capabilities(lib) & PSK_STORE_CAP_ERRORS);
    if (errors) {
        err_ctx c = {json, 0};
        rc = psk_library_errors(lib, print_error_row, &c, &err);
    } else {
        psk_library_status st;
        rc = psk_library_get_status(lib, &st, &err);
        psk_facets *facets = NULL; /* photos per country, where the store names places */
        unsigned places = PSK_STORE_CAP_PLACES | PSK_STORE_CAP_FACETS; /* Pinecone names places but cannot count */
        if (!rc && (psk_library_capabilities(lib) & places) == places) rc = psk_library_facets(lib, &facets, &err);
        int n_countries = facets ? facets->n_countries : 0;
        if (!rc && json) {
            printf("{\"db\": ");
            cli_json_string(stdout, db);
            printf(", \"photos\": %lld, \"videos\": %lld, \"failed\": %lld, \"embeddings\": %lld, \"db_bytes\": %lld, "
                   "\"model\": ",
                   (long long)st.photos, (long long)st.videos, (long long)st.failed, (long long)st.embeddings,
                   (long long)st.db_bytes);
            cli_json_string(stdout, st.model_id);
            printf(", \"model_dir\": ");
            cli_json_string(stdout, st.model_dir);
            printf(", \"last_run_at\": %lld, \"last_run\": ", (long long)st.last_run_at);
            cli_json_string(stdout, st.last_run);
            printf(", \"reindex_model\": ");
            cli_json_string(stdout, st.reindex_model_id);
            printf(", \"reindex_done\": %lld", (long long)st.reindex_done);
            printf(", \"schema_version\": %d, \"faces\": %lld, \"people\": %lld, \"countries\": {", st.schema_version,
                   (long long)st.faces, (long long)st.people);
            for (int i = 0; i < n_countries; i++)
                printf("%s\"%s\": %lld", i ? ", " : "", facets->countries[i].value, (long long)facets->countries[i].count);
            printf("}}\n");
        } else if (!rc) {
            char when[64] = "never";
            if (st.last_run_at) {
                time_t t = (time_t)st.last_run_at;
                struct tm tm;
                localtime_r(&t, &tm);
                strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
            }
            printf("library   %s (%.1f MB, schema %d)\n", db, st.db_bytes / 1e6, st.schema_version);
            printf("photos    %lld\nvideos    %lld\nfailed    %lld%s\n", (long long)st.photos, (long long)st.videos,
                   (long long)st.failed, st.failed ? "  (photoseek status --errors)" : "");
            printf("model     %s\n          %s\n", st.model_id[0] ? st.model_id : "(none yet)", st.model_dir);
            if (st.reindex_model_id[0])
                printf("          changing to %s: %lld of %lld items re-embedded (searches use the model above until "
                       "all are; 'photoseek index --reindex-with DIR' finishes it)\n",
                       st.reindex_model_id, (long long)st.reindex_done, (long long)(st.photos + st.videos));
            printf("last run  %s: %s\n", when, st.last_run[0] ? st.last_run : "-");
            if (st.faces) printf("people    %lld (%lld faces; photoseek people)\n", (long long)st.people, (long long)st.faces);
            for (int i = 0; i < n_countries; i++)
                printf("%s%s %lld%s", i ? ", " : "countries ", facets->countries[i].value,
                       (long long)facets->countries[i].count, i == n_countries - 1 ? "\n" : "");
            printf("kernels   %s\n", psk_kernel_level());
        }
        psk_facets_free(facets);
    }
    psk_library_close(lib);
    if (rc) {
        cli_error("%s", err.message);
        if (worker_failures)
            cli_error("each worker lists its own failures: photoseek status --db CATALOG --errors (see index --catalog)");
        return EXIT_FATAL;
    }
    return EXIT_OK;
}
