/* Place names to places: a country (any language iso-codes has), a first-level region, or every city of the name. */
#include "places.h"

#include <string.h>

typedef struct matches {
    psk_place_match *m;
    int n, cap;
} matches;

static int add(matches *ms, psk_place_kind kind, const char cc[2], const char *region, const char *city) {
    for (int i = 0; i < ms->n; i++) /* GeoNames lists some places twice (a city and its district of one name) */
        if (ms->m[i].kind == kind && memcmp(ms->m[i].country_code, cc, 2) == 0 && strcmp(ms->m[i].region, region) == 0 &&
            strcmp(ms->m[i].city, city) == 0)
            return PSK_OK;
    if (ms->n == ms->cap) {
        int cap = ms->cap ? ms->cap * 2 : 8;
        psk_place_match *m = psk_realloc(ms->m, (size_t)cap * sizeof *m);
        if (!m) return PSK_ERR_NOMEM;
        ms->m = m, ms->cap = cap;
    }
    psk_place_match *m = &ms->m[ms->n++];
    memset(m, 0, sizeof *m);
    m->kind = kind;
    memcpy(m->country_code, cc, 2);
    snprintf(m->region, sizeof m->region, "%s", region);
    snprintf(m->city, sizeof m->city, "%s", city);
    return PSK_OK;
}

/* The first index in sorted[0, n) whose normalised name is not below key. */
static uint32_t lower_bound(const psk_places *p, const uint32_t *sorted, uint32_t n, bool cities, const char *key) {
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint32_t norm = cities ? p->cities[sorted[mid]].norm : p->regions[sorted[mid]].norm;
        if (strcmp(p->strings + norm, key) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

psk_status psk_places_resolve(psk_places *p, const char *name, psk_place_match **out, int *n, psk_error *err) {
    *out = NULL, *n = 0;
    char key[512];
    if (!name || !places_normalize(name, key, sizeof key))
        return psk_fail(err, PSK_ERR_INVALID_ARG, "place name is not UTF-8 text or too long");
    if (!key[0]) return PSK_OK;
    int rc = PSK_OK;
    pthread_mutex_lock(&p->lock);
    if (!p->names_loaded) {
        rc = places_country_names_load(p, err);
        p->names_loaded = rc == PSK_OK;
    }
    pthread_mutex_unlock(&p->lock);
    if (rc) return rc;
    matches ms = {0};
    int32_t country;
    if (psk_strmap_get(&p->country_names, key, strlen(key), &country))
        rc = add(&ms, PSK_PLACE_COUNTRY, p->countries[country].cc, "", "");
    for (uint32_t i = lower_bound(p, p->by_region, p->h->n_regions, false, key); !rc && i < p->h->n_regions; i++) {
        const place_region *r = &p->regions[p->by_region[i]];
        if (strcmp(p->strings + r->norm, key) != 0) break;
        rc = add(&ms, PSK_PLACE_REGION, r->cc, p->strings + r->name, "");
    }
    for (uint32_t i = lower_bound(p, p->by_name, p->h->n_cities, true, key); !rc && i < p->h->n_cities; i++) {
        const place_city *c = &p->cities[p->by_name[i]];
        if (strcmp(p->strings + c->norm, key) != 0) break;
        rc = add(&ms, PSK_PLACE_CITY, c->cc, c->region != PLACE_NONE ? p->strings + p->regions[c->region].name : "",
                 p->strings + c->name);
    }
    if (rc) {
        psk_free(ms.m);
        return psk_fail(err, rc, "out of memory resolving '%s'", name);
    }
    *out = ms.m, *n = ms.n;
    return PSK_OK;
}

void psk_place_matches_free(psk_place_match *m) { psk_free(m); }
