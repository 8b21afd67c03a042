/* photoseek search QUERY / photoseek similar FILE */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char *search_usage =
    "usage: photoseek search QUERY... [options]\n"
    "       photoseek search --text WORDS [options]\n"
    "       photoseek search --person NAME [--person NAME]... [QUERY...] [options]\n"
    "       photoseek similar FILE [options]\n"
    "\n"
    "QUERY is a description in any language: the words after 'search' form it (photoseek search beach cake),\n"
    "and after '--' every word is part of it, even one that starts with '-' (photoseek search -- -people).\n"
    "Quoted phrases, -term (less of it), +term, 2:term (weights) and image file paths combine:\n"
    "photoseek search '\"beach\" -people +\"sunset\"'.\n"
    "\n"
    "Options:\n"
    "  --text WORDS         photos whose text (read by 'index --ocr') contains WORDS, whatever the case, with\n"
    "                       Chinese with or without spaces, across line breaks; \"RE16\" finds \"RE16 TGK\".\n"
    "                       --json adds \"text\", the words around the match\n"
    "  --person NAME        photos NAME is in (repeat it: all of them in the photo); NAME is a person named with\n"
    "                       'photoseek people name' (any case), or a name Google Takeout's sidecars gave the\n"
    "                       photo. Without words: that person's photos, newest first. --json adds \"people\",\n"
    "                       the named people in each photo\n"
    "  -k N                 number of results (default 20)\n"
    "  --year Y,..          --month M,..  --day D,..   dates of capture (the camera's local date)\n"
    "  --from DATE --to DATE  inclusive range; DATE is YYYY, YYYY-MM or YYYY-MM-DD\n"
    "  --type photo|video   --camera TEXT (make or model contains it)   --folder PATH\n"
    "  --near LAT,LON,KM    taken within KM of a position (great-circle distance; on Pinecone its bounding box in the\n"
    "                       metadata filter, then the exact distance on the matches, up to 1000 of them)\n"
    "  --place NAME         taken in a city, region or country (any language: --place 日本); a query word that\n"
    "                       names a place the library has photos of filters the same way (--json says which\n"
    "                       words, in \"place_words\"); --no-places keeps every word for the description only\n"
    "  --sort score|date    (date: newest first)\n"
    "  --min-score S        relevance cutoff: drop results whose cosine similarity is below S (e.g. 0.25)\n"
    "  --json               one JSON object per line: path, score, taken_at, type, width, height, camera,\n"
    "                       gps ([lat, lon] or null), place ({city, region, country, country_code} or null)\n"
    "                       (videos add frame_ms, the moment that matched)\n"
    "  --all-moments        for videos, list the other matching moments too (a video is one result either way)\n"
    "  --all                every near-duplicate as a result of its own. By default each group of near-duplicates\n"
    "                       (photoseek duplicates: copies, edits, bursts) is shown once, at its best match, with\n"
    "                       a count ('[+3 near-duplicates]'; --json: group and group_size); scores stay as they\n"
    "                       are, and the others are listed by --all or 'photoseek duplicates'. A library in\n"
    "                       PostgreSQL or Pinecone keeps no groups: every result shows there either way.\n"
    "                       (--all is about near-duplicates; --all-moments about a video's moments)\n"
    "  --db FILE            the library (default $PHOTOSEEK_DB or ~/.local/share/photoseek/library.db)\n"
    "  --store URL          a library in PostgreSQL + pgvector (postgres://USER@HOST/DB), filled by\n"
    "                       'photoseek index --store' or 'photoseek migrate' (--db takes the URL too)\n"
    "  --text-model DIR     query encoder (default: the models folder's mclip, else the library's CLIP model)\n"
    "  --image-model DIR    for image terms and 'similar' (default: the model the library was indexed with)\n"
    "Exit codes: 0 results found, 1 no result, 2 bad usage, 3 error (e.g. the query model does not match),\n"
    "130 interrupted.\n";

static const char *similar_usage =
    "usage: photoseek similar FILE [options]\n"
    "\n"
    "The photos (and video moments) that look like FILE, an image file, best first; it need not be in the\n"
    "library. A video is not compared whole: save a frame of the moment you mean and give that.\n"
    "\n"
    "Options:\n"
    "  -k N                 number of results (default 20)\n"
    "  --year Y,..          --month M,..  --day D,..   dates of capture (the camera's local date)\n"
    "  --from DATE --to DATE  inclusive range; DATE is YYYY, YYYY-MM or YYYY-MM-DD\n"
    "  --type photo|video   --camera TEXT (make or model contains it)   --folder PATH\n"
    "  --near LAT,LON,KM    taken within KM of a position   --place NAME  taken in a city, region or country\n"
    "  --sort score|date    (date: newest first)\n"
    "  --min-score S        drop results whose cosine similarity is below S\n"
    "  --json               one JSON object per line, as 'photoseek search --json' prints them\n"
    "  --all                every near-duplicate as a result of its own (by default each group once, with a count)\n"
    "  --all-moments        for videos, list the other matching moments too\n"
    "  --db FILE            the library (default $PHOTOSEEK_DB or ~/.local/share/photoseek/library.db)\n"
    "  --store URL          a library in PostgreSQL + pgvector (postgres://USER@HOST/DB)\n"
    "  --image-model DIR    the image encoder (default: the model the library was indexed with)\n"
    "Exit codes: 0 results found, 1 no result, 2 bad usage, 3 error (the file cannot be read or decoded, the\n"
    "library or its model cannot be loaded), 130 interrupted.\n";

static void print_taken(FILE *f, const psk_result *r, bool iso) {
    if (!r->taken_local[0]) {
        fputs(iso ? "null" : "                ", f);
        return;
    }
    if (!iso) {
        fprintf(f, "%.16s", r->taken_local);
        return;
    }
    char buf[40];
    snprintf(buf, sizeof buf, "%.10sT%s", r->taken_local, r->taken_local + 11);
    if (r->has_offset) {
        int o = r->offset_minutes, a = o < 0 ? -o : o;
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%c%02d:%02d", o < 0 ? '-' : '+', a / 60, a % 60);
    }
    cli_json_string(f, buf);
}

/* The places of a search: --place NAME, or the query words that name places the library has photos of. */
typedef struct search_places {
    psk_place_match *matches; /* the filter's: from psk_places_resolve, or (from_words) our own realloc'd array */
    int n;
    bool from_words;
    char words[8][128]; /* the query words taken as places */
    int n_words;
} search_places;

static void search_places_free(search_places *sp) {
    if (sp->from_words) free(sp->matches);
    else psk_place_matches_free(sp->matches);
}

static bool add_match(search_places *sp, const psk_place_match *m) {
    psk_place_match *grown = realloc(sp->matches, sizeof *grown * (size_t)(sp->n + 1));
    if (!grown) return false;
    sp->matches = grown;
    sp->matches[sp->n++] = *m;
    return true;
}

/* Whether the library has photos at a place (from its place facets). */
static bool library_has(const psk_facets *f, const psk_place_match *m) {
    size_t cc_len = strlen(m->country_code);
    for (int i = 0; i < f->n_places; i++) {
        const char *v = f->places[i].value, *tab1 = strchr(v, '\t'), *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab2 || (size_t)(tab1 - v) != cc_len || strncmp(v, m->country_code, cc_len) != 0) continue;
        if (m->kind == PSK_PLACE_COUNTRY) return true;
        if (m->kind == PSK_PLACE_REGION && strlen(m->region) == (size_t)(tab2 - tab1 - 1) &&
            strncmp(tab1 + 1, m->region, (size_t)(tab2 - tab1 - 1)) == 0)
            return true;
        if (m->kind == PSK_PLACE_CITY && strcmp(tab2 + 1, m->city) == 0) return true;
    }
    return false;
}

/* Fills f->places from --place (an unknown name is a usage error) or from the query's place words. Returns an
 * exit code (0: go on). */
static int places_filter(psk_library *lib, psk_filter *f, const char *place, const char *query, search_places *sp) {
    if (!place && !query) return EXIT_OK;
    bool can = psk_library_capabilities(lib) & PSK_STORE_CAP_PLACES;
    if (!place && !can) return EXIT_OK;
    psk_places *pl = place ? cli_places_open("--place needs them") : NULL;
    if (!place) { /* place words are a bonus: without the data they are plain words */
        char dir[1200];
        cli_places_dir(dir, sizeof dir);
        if (psk_places_open(dir, &pl, NULL)) return EXIT_OK;
    }
    if (!pl) return EXIT_FATAL;
    psk_error err = {0};
    int rc = EXIT_OK;
    if (place) {
        int n;
        if (psk_places_resolve(pl, place, &sp->matches, &n, &err)) rc = EXIT_USAGE, cli_error("--place: %s", err.message);
        else if (!n) rc = EXIT_USAGE, cli_error("--place: '%s' is no city, region or country photoseek knows", place);
        sp->n = n;
    } else {
        psk_place_span *spans;
        int ns;
        psk_facets *facets = NULL;
        sp->from_words = true;
        if (psk_places_find_in_query(pl, query, &spans, &ns, &err) == PSK_OK) {
            if (ns && psk_library_facets(lib, &facets, &err) == PSK_OK) {
                for (int s = 0; s < ns; s++) {
                    bool taken = false;
                    for (int k = 0; k < spans[s].n_matches; k++)
                        if (library_has(facets, &spans[s].matches[k])) taken = add_match(sp, &spans[s].matches[k]) || taken;
                    if (taken && sp->n_words < 8)
                        snprintf(sp->words[sp->n_words++], sizeof sp->words[0], "%.*s", spans[s].len,
                                 query + spans[s].start);
                }
            }
            psk_facets_free(facets);
            psk_place_spans_free(spans, ns);
        }
    }
    psk_places_close(pl);
    if (!rc && sp->n) {
        f->places = sp->matches;
        f->n_places = sp->n;
    }
    for (int i = 0; i < sp->n_words; i++)
        fprintf(stderr, "photoseek: '%s' taken as a place (only photos taken there; --no-places keeps it a word)\n",
                sp->words[i]);
    return rc;
}

static void print_place_json(const psk_result *r, const search_places *sp) {
    if (r->has_gps) printf(", \"gps\": [%.7f, %.7f]", r->lat, r->lon);
    else printf(", \"gps\": null");
    if (r->country_code[0]) {
        printf(", \"place\": {\"city\": ");
        cli_json_string(stdout, r->city);
        printf(", \"region\": ");
        if (r->region[0]) cli_json_string(stdout, r->region);
        else printf("null");
        printf(", \"country\": ");
        cli_json_string(stdout, r->country);
        printf(", \"country_code\": ");
        cli_json_string(stdout, r->country_code);
        printf("}");
    } else printf(", \"place\": null");
    if (sp->n_words) {
        printf(", \"place_words\": [");
        for (int i = 0; i < sp->n_words; i++) {
            if (i) printf(", ");
            cli_json_string(stdout, sp->words[i]);
        }
        printf("]");
    }
}

static int run(int argc, char **argv, bool similar) {
    psk_search_params p = psk_search_default_params();
    p.collapse_groups = 1; /* each near-duplicate group once, unless --all */
    const char *db = NULL;
    const char *cmd = similar ? "similar" : "search";
    bool json = false, words_only = false, no_places = false;
    const char *text = NULL; /* --text: words read in the photos */
    const char *place = NULL;
    const char *people[16];
    int n_people = 0;
    char query[4096] = ""; /* the words of the query, joined by spaces */
    int n_words = 0;
    for (int i = 1; i < argc; i++) {
        const char *v, *opt = argv[i];
        int taken;
        if (words_only || opt[0] != '-' || !opt[1]) {
            if (similar && n_words) {
                cli_error("similar: give one image file: unexpected '%s'", opt);
                return EXIT_USAGE;
            }
            if (strlen(query) + strlen(opt) + 2 > sizeof query) {
                cli_error("%s: the query is longer than %zu bytes", cmd, sizeof query - 1);
                return EXIT_USAGE;
            }
            if (n_words++) strcat(query, " ");
            strcat(query, opt);
        } else if (strcmp(opt, "--") == 0) {
            words_only = true;
        } else if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            fputs(similar ? similar_usage : search_usage, stdout);
            return EXIT_OK;
        } else if (!similar && cli_opt(argc, argv, &i, "--text", &v)) {
            if (!(text = v) || !*v) return cli_bad_value(cmd, "--text", "the words to find in photos");
        } else if (cli_opt(argc, argv, &i, "-k", &v) || cli_opt(argc, argv, &i, "--k", &v)) {
            char *end;
            long k = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || k < 1 || k > 10000) return cli_bad_value(cmd, "-k", "a number from 1 to 10000");
            p.k = (int)k;
        } else if ((taken = cli_filter_opt(cmd, argc, argv, &i, &p.filter))) {
            if (taken != 1) return taken;
        } else if (cli_opt(argc, argv, &i, "--sort", &v)) {
            if (v && strcmp(v, "score") == 0) p.sort = PSK_SORT_SCORE;
            else if (v && strcmp(v, "date") == 0) p.sort = PSK_SORT_DATE;
            else return cli_bad_value(cmd, "--sort", "score or date");
        } else if (cli_opt(argc, argv, &i, "--min-score", &v)) {
            char *end;
            double s = v ? strtod(v, &end) : 0;
            if (!v || *end || s < -1 || s > 1) return cli_bad_value(cmd, "--min-score", "a number from -1 to 1");
            p.min_score = (float)s;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(db = v)) return cli_bad_value(cmd, opt, "a library file or a postgres:// or pinecone:// URL");
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            if (!(p.text_model_dir = v)) return cli_bad_value(cmd, "--text-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(p.image_model_dir = v)) return cli_bad_value(cmd, "--image-model", "a model folder");
        } else if (strcmp(opt, "--json") == 0) {
            json = true;
        } else if (strcmp(opt, "--collapse") == 0) { /* the default since near-duplicates collapse by themselves */
            p.collapse_groups = 1;
        } else if (strcmp(opt, "--all") == 0) {
            p.collapse_groups = 0;
        } else if (!similar && cli_opt(argc, argv, &i, "--person", &v)) {
            if (!v || !*v) return cli_bad_value(cmd, "--person", "a person's name");
            if (n_people == 16) return cli_bad_value(cmd, "--person", "at most 16 names");
            people[n_people++] = v;
        } else if (cli_opt(argc, argv, &i, "--place", &v)) {
            if (!(place = v) || !*v) return cli_bad_value(cmd, "--place", "a city, region or country name");
        } else if (strcmp(opt, "--no-places") == 0) {
            no_places = true;
        } else if (strcmp(opt, "--all-moments") == 0) {
            p.all_moments = 1;
        } else if (similar) {
            cli_error("similar: unknown option '%s' (see 'photoseek similar --help'; a file whose name starts with "
                      "'-' goes after --: photoseek similar -- %s)", opt, opt);
            return EXIT_USAGE;
        } else {
            cli_error("%s: unknown option '%s' (a query word that starts with '-' goes after --: photoseek %s -- %s)",
                      cmd, opt, cmd, opt);
            return EXIT_USAGE;
        }
    }
    if (text && query[strspn(query, " ")]) {
        cli_error("search: --text finds the words in photos; give either --text or a description, not both");
        return EXIT_USAGE;
    }
    if (n_people) {
        p.filter.people = people;
        p.filter.n_people = n_people;
    }
    if (!text && !query[strspn(query, " ")] && !n_people) {
        cli_error("%s: %s", cmd, similar ? "give an image file to compare with" : "give the words to search for");
        fputs(similar ? similar_usage : search_usage, stderr);
        return EXIT_USAGE;
    }
    const char *subject = query;
    int rc;
    char db_buf[1024];
    cli_default_paths(&db, db_buf, sizeof db_buf, NULL, NULL, 0);
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_READ, &lib, &err)) {
        cli_error("%s", err.message);
        return EXIT_FATAL;
    }
    search_places sp = {0};
    if ((rc = places_filter(lib, &p.filter, place, similar || no_places ? NULL : query, &sp))) {
        search_places_free(&sp);
        psk_library_close(lib);
        return rc;
    }
    psk_result *res = NULL;
    int n = 0;
    p.query = subject;
    if (text) rc = psk_library_search_text(lib, text, &p, &res, &n, &err);
    else if (similar) rc = psk_library_similar(lib, subject, &p, &res, &n, &err);
    else rc = psk_library_search(lib, &p, &res, &n, &err);
    psk_video_info vinfo;
    psk_error verr = {0};
    if (rc && similar && psk_video_probe(subject, &vinfo, &verr) == PSK_OK) {
        cli_error("similar: %s is a video; similar compares photos. Save a frame of the moment you mean (ffmpeg -ss "
                  "00:00:05 -i '%s' -frames:v 1 frame.jpg) and run: photoseek similar frame.jpg",
                  subject, subject);
        search_places_free(&sp);
        psk_library_close(lib);
        return EXIT_USAGE;
    }
    if (rc) {
        cli_error("%s", err.message);
        search_places_free(&sp);
        psk_library_close(lib);
        return rc == PSK_ERR_INVALID_ARG || rc == PSK_ERR_UNSUPPORTED ? EXIT_USAGE : EXIT_FATAL;
    }
    for (int i = 0; i < n; i++) {
        const psk_result *r = &res[i];
        if (json) {
            fputs("{\"path\": ", stdout);
            cli_json_string(stdout, r->path);
            printf(", \"score\": %.6f, \"taken_at\": ", r->score);
            print_taken(stdout, r, true);
            printf(", \"type\": \"%s\", \"width\": %d, \"height\": %d, \"camera\": ",
                   r->type == PSK_TYPE_VIDEO ? "video" : "photo", r->width, r->height);
            if (r->camera[0]) cli_json_string(stdout, r->camera);
            else fputs("null", stdout);
            if (r->type == PSK_TYPE_VIDEO) printf(", \"frame_ms\": %lld", (long long)r->frame_ms);
            print_place_json(r, &sp);
            if (p.all_moments && r->type == PSK_TYPE_VIDEO) {
                printf(", \"moments\": [");
                for (int j = 0; j < r->n_moments; j++)
                    printf("%s{\"frame_ms\": %lld, \"score\": %.6f}", j ? ", " : "", (long long)r->moment_ms[j],
                           r->moment_score[j]);
                printf("]");
            }
            if (r->group) printf(", \"group\": %lld, \"group_size\": %d", (long long)r->group, r->group_size);
            if (r->text[0]) {
                fputs(", \"text\": ", stdout);
                cli_json_string(stdout, r->text);
            }
            { /* every store's results have the key, empty where it keeps no people */
                fputs(", \"people\": [", stdout);
                for (const char *at = r->people; *at;) {
                    const char *nl = strchr(at, '\n');
                    size_t len = nl ? (size_t)(nl - at) : strlen(at);
                    char name[256];
                    snprintf(name, sizeof name, "%.*s", (int)len, at);
                    if (at != r->people) fputs(", ", stdout);
                    cli_json_string(stdout, name);
                    at += len + (nl != NULL);
                }
                fputs("]", stdout);
            }
            printf(", \"id\": %lld}\n", (long long)r->id);
        } else {
            printf("%.3f  ", r->score);
            print_taken(stdout, r, false);
            printf("  %s", r->path);
            if (r->type == PSK_TYPE_VIDEO) printf(" @ %lld:%02lld", (long long)(r->frame_ms / 60000), (long long)(r->frame_ms / 1000 % 60));
            if (r->camera[0]) printf("  (%s)", r->camera);
            if (r->group && r->group_size > 1) printf("  [+%d near-duplicates]", r->group_size - 1);
            if (r->text[0]) printf("  \"%s\"", r->text);
            if (r->city[0]) printf("  [%s, %s]", r->city, r->country_code);
            for (const char *at = r->people; *at;) {
                const char *nl = strchr(at, '\n');
                int len = nl ? (int)(nl - at) : (int)strlen(at);
                printf("%s%.*s", at == r->people ? "  with " : ", ", len, at);
                at += len + (nl != NULL);
            }
            putchar('\n');
            for (int j = 1; p.all_moments && j < r->n_moments; j++)
                printf("       also at %lld:%02lld (%.3f)\n", (long long)(r->moment_ms[j] / 60000),
                       (long long)(r->moment_ms[j] / 1000 % 60), r->moment_score[j]);
        }
    }
    if (n == 0 && !json) fprintf(stderr, "photoseek: no matches%s\n", p.min_score > -1 ? " above --min-score" : "");
    psk_results_free(res);
    search_places_free(&sp);
    psk_library_close(lib);
    return n ? EXIT_OK : EXIT_PARTIAL;
}

int cmd_search(int argc, char **argv) {
    return run(argc, argv, false);
}

int cmd_similar(int argc, char **argv) {
    return run(argc, argv, true);
}
