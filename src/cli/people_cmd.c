/* photoseek people: the people found in the library's photos (index with --faces), naming them and fixing what
 * the grouping got wrong. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *people_usage =
    "usage: photoseek people [--db LIB|--store URL] [--json] [--min-faces N] [filters]   list the people\n"
    "       photoseek people --photos ID [--json]                    the photos of person ID, newest first\n"
    "       photoseek people name ID NAME                            name a person (\"\" removes the name)\n"
    "       photoseek people merge ID OTHER                          OTHER's faces join ID\n"
    "       photoseek people unassign FACE                           take a wrong face out of its person\n"
    "       photoseek people split FACE...                           these faces become a new person\n"
    "       photoseek people recluster                               group the automatic faces again\n"
    "\n"
    "'photoseek index' finds the faces in photos and video frames (--faces, on by default once 'photoseek model\n"
    "fetch faces' has run) and groups them: a face joins the person of the nearest known face within a distance of\n"
    "0.45, else starts a new group. A group is listed from --min-faces faces (default 2) or once named.\n"
    "The list shows each person's id, name, photo count, face count and a representative face (file and box).\n"
    "Filters (as in search: --near LAT,LON,KM, --year, --month, --day, --from, --to, --type, --camera, --folder)\n"
    "list the people in the photos they select, counted in those photos only.\n"
    "--json: one object per person: id, name (or null), photos, faces, cover ({face, path, box, frame_ms}).\n"
    "--photos ID --json: one object per photo: path, id, taken_at, faces ([{id, box}]: the face ids for unassign\n"
    "and split). Names, merges, unassigned and split faces are the user's: kept by later index runs and by\n"
    "recluster (a named group keeps its name when most of its faces stay together).\n"
    "Then: photoseek search --person NAME (several: all of them in the photo), with or without words.\n"
    "Exit codes: 0 done, 1 nothing to list, 2 bad usage (an unknown id, a store without people), 3 error.\n";

static int fail_rc(int rc) {
    return rc == PSK_ERR_INVALID_ARG || rc == PSK_ERR_UNSUPPORTED || rc == PSK_ERR_NOT_FOUND ? EXIT_USAGE : EXIT_FATAL;
}

static bool parse_id(const char *v, int64_t *out) {
    char *end;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || x < 1) return false;
    *out = x;
    return true;
}

static void print_box(const float *b) { printf("[%.1f, %.1f, %.1f, %.1f]", b[0], b[1], b[2], b[3]); }

static int list_people(psk_library *lib, int min_faces, const psk_filter *filter, bool json) {
    psk_person *p;
    int n;
    psk_error err = {0};
    int rc = psk_library_people_in(lib, min_faces, filter, &p, &n, &err);
    if (rc) {
        cli_error("people: %s", err.message);
        return fail_rc(rc);
    }
    for (int i = 0; i < n; i++) {
        if (json) {
            printf("{\"id\": %lld, \"name\": ", (long long)p[i].id);
            if (p[i].name[0]) cli_json_string(stdout, p[i].name);
            else fputs("null", stdout);
            printf(", \"photos\": %lld, \"faces\": %lld, \"cover\": ", (long long)p[i].photos, (long long)p[i].faces);
            if (p[i].cover_path[0]) {
                printf("{\"face\": %lld, \"path\": ", (long long)p[i].cover_face);
                cli_json_string(stdout, p[i].cover_path);
                fputs(", \"box\": ", stdout);
                print_box(p[i].cover_box);
                printf(", \"frame_ms\": %lld}", (long long)p[i].cover_frame_ms);
            } else fputs("null", stdout);
            puts("}");
        } else {
            printf("%5lld  %-24s %5lld photos %5lld faces  %s [%.0f,%.0f %.0fx%.0f]\n", (long long)p[i].id,
                   p[i].name[0] ? p[i].name : "(unnamed)", (long long)p[i].photos, (long long)p[i].faces,
                   p[i].cover_path, p[i].cover_box[0], p[i].cover_box[1], p[i].cover_box[2], p[i].cover_box[3]);
        }
    }
    if (!n && !json)
        fprintf(stderr, "photoseek: no people yet (index with faces on: 'photoseek model fetch faces', then "
                        "'photoseek index FOLDER'; or try --min-faces 1)\n");
    psk_people_free(p);
    return n ? EXIT_OK : EXIT_PARTIAL;
}

static int list_photos(psk_library *lib, int64_t person, bool json) {
    psk_face_ref *f;
    int n;
    psk_error err = {0};
    int rc = psk_library_person_faces(lib, person, &f, &n, &err);
    if (rc) {
        cli_error("people: %s", err.message);
        return fail_rc(rc);
    }
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && f[j].media_id == f[i].media_id) j++;
        if (json) {
            fputs("{\"path\": ", stdout);
            cli_json_string(stdout, f[i].path);
            printf(", \"id\": %lld, \"taken_at\": %lld, \"faces\": [", (long long)f[i].media_id, (long long)f[i].taken_at);
            for (int k = i; k < j; k++) {
                printf("%s{\"id\": %lld, \"box\": ", k > i ? ", " : "", (long long)f[k].id);
                print_box(f[k].box);
                printf(", \"frame_ms\": %lld, \"by_user\": %s}", (long long)f[k].frame_ms, f[k].by_user ? "true" : "false");
            }
            puts("]}");
        } else {
            printf("%s", f[i].path);
            for (int k = i; k < j; k++) printf("  face %lld [%.0f,%.0f %.0fx%.0f]", (long long)f[k].id, f[k].box[0],
                                               f[k].box[1], f[k].box[2], f[k].box[3]);
            putchar('\n');
        }
        i = j;
    }
    psk_free_buffer(f);
    return n ? EXIT_OK : EXIT_PARTIAL;
}

/* name / merge / unassign / split / recluster */
static int edit(psk_library *lib, const char *what, char **args, int n_args) {
    psk_error err = {0};
    int64_t a = 0, b = 0;
    int rc;
    if (strcmp(what, "name") == 0) {
        if (n_args != 2 || !parse_id(args[0], &a)) return cli_bad_value("people", "name", "a person id and a name");
        rc = psk_library_person_name(lib, a, args[1], &err);
        if (!rc) printf("person %lld is %s%s%s\n", (long long)a, *args[1] ? "'" : "", *args[1] ? args[1] : "unnamed",
                        *args[1] ? "'" : "");
    } else if (strcmp(what, "merge") == 0) {
        if (n_args != 2 || !parse_id(args[0], &a) || !parse_id(args[1], &b))
            return cli_bad_value("people", "merge", "two person ids (the second joins the first)");
        rc = psk_library_people_merge(lib, a, b, &err);
        if (!rc) printf("person %lld joined person %lld\n", (long long)b, (long long)a);
    } else if (strcmp(what, "unassign") == 0) {
        if (n_args != 1 || !parse_id(args[0], &a)) return cli_bad_value("people", "unassign", "a face id");
        rc = psk_library_face_unassign(lib, a, &err);
        if (!rc) printf("face %lld is in no person now\n", (long long)a);
    } else if (strcmp(what, "split") == 0) {
        int64_t *faces = calloc((size_t)n_args + 1, sizeof *faces);
        if (!faces) return EXIT_FATAL;
        for (int i = 0; i < n_args; i++)
            if (!parse_id(args[i], &faces[i])) {
                free(faces);
                return cli_bad_value("people", "split", "face ids");
            }
        if (!n_args) {
            free(faces);
            return cli_bad_value("people", "split", "face ids");
        }
        rc = psk_library_people_split(lib, faces, n_args, &a, &err);
        free(faces);
        if (!rc) printf("person %lld made of %d face%s\n", (long long)a, n_args, n_args == 1 ? "" : "s");
    } else {
        if (n_args) return cli_bad_value("people", "recluster", "no arguments");
        rc = psk_library_people_recluster(lib, &err);
        if (!rc) printf("faces grouped again\n");
    }
    if (rc) {
        cli_error("people %s: %s", what, err.message);
        return fail_rc(rc);
    }
    return EXIT_OK;
}

int cmd_people(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL, *db = NULL, *what = NULL;
    bool json = false;
    int min_faces = 0;
    int64_t photos_of = 0;
    psk_filter filter = {0};
    bool filtered = false;
    char **args = calloc((size_t)argc + 1, sizeof *args);
    int n_args = 0;
    if (!args) return EXIT_FATAL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int taken;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(people_usage, stdout);
            free(args);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(db = v)) CLI_BAD("--db", "a library file");
        } else if (cli_opt(argc, argv, &i, "--min-faces", &v)) {
            if (!cli_int(v, 1, 100000, &min_faces)) CLI_BAD("--min-faces", "a number from 1 to 100000");
        } else if (cli_opt(argc, argv, &i, "--photos", &v)) {
            if (!parse_id(v, &photos_of)) CLI_BAD("--photos", "a person id, as 'photoseek people' lists them");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (!what && (taken = cli_filter_opt("people", argc, argv, &i, &filter))) {
            if (taken == EXIT_USAGE) {
                free(args);
                return EXIT_USAGE;
            }
            filtered = true;
        } else if (argv[i][0] == '-' && argv[i][1] && !(what && strcmp(what, "name") == 0)) {
            cli_error("people: unknown option '%s'", argv[i]);
            goto usage;
        } else if (!what) {
            what = argv[i];
            if (strcmp(what, "name") && strcmp(what, "merge") && strcmp(what, "unassign") && strcmp(what, "split") &&
                strcmp(what, "recluster")) {
                cli_error("people: unknown subcommand '%s' (name, merge, unassign, split or recluster)", what);
                goto usage;
            }
        } else {
            args[n_args++] = argv[i];
        }
    }
    if (filtered && (what || photos_of)) {
        cli_error("people: filters choose the photos whose people are listed; give them without %s",
                  what ? what : "--photos");
        goto usage;
    }
    if (what && photos_of) {
        cli_error("people: --photos lists; give it without '%s'", what);
        goto usage;
    }
    char db_buf[1024];
    cli_default_paths(&db, db_buf, sizeof db_buf, NULL, NULL, 0);
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, what ? PSK_OPEN_WRITE : PSK_OPEN_READ, &lib, &err)) {
        cli_error("%s", err.message);
        free(args);
        return EXIT_FATAL;
    }
    int rc = what ? edit(lib, what, args, n_args) : photos_of ? list_photos(lib, photos_of, json)
                                                              : list_people(lib, min_faces, filtered ? &filter : NULL, json);
    psk_library_close(lib);
    free(args);
    return rc;
usage:
    if (bad_opt) cli_bad_value("people", bad_opt, bad_takes);
    else fputs(people_usage, stderr);
    free(args);
    return EXIT_USAGE;
}
