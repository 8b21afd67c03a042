/* Country names from Debian's iso-codes: English from iso_3166-1.json, every translation from the gettext catalogs
 * LOCALE/LC_MESSAGES/iso_3166-1.mo, read directly (a .mo file is a table of string pairs; going through libintl
 * would mean switching the process locale once per language). $PHOTOSEEK_SHARE replaces /usr/share (tests). */
#include "places.h"

#include <cjson/cJSON.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>

static const char *share_dir(void) {
    const char *s = getenv("PHOTOSEEK_SHARE");
    return s && *s ? s : "/usr/share";
}

static int by_cc(const void *a, const void *b) {
    return memcmp(((const place_country *)a)->cc, ((const place_country *)b)->cc, 2);
}

int places_countries_load(psk_places *p, psk_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/iso-codes/json/iso_3166-1.json", share_dir());
    if (!psk_file_exists(path)) return PSK_OK; /* no iso-codes: places are named by country code */
    cJSON *j = NULL;
    int rc = psk_json_load(path, 16u << 20, &j, err);
    if (rc) return rc;
    const cJSON *list = psk_json_get(j, "3166-1"), *it;
    int n = cJSON_GetArraySize(list);
    if (!cJSON_IsArray(list) || n <= 0) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: no \"3166-1\" list", path);
    else if (!(p->countries = psk_calloc((size_t)n, sizeof *p->countries))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) cJSON_ArrayForEach(it, list) {
        const char *cc = psk_json_string(it, "alpha_2", ""), *name = psk_json_string(it, "common_name", NULL);
        if (!name) name = psk_json_string(it, "name", NULL);
        if (strlen(cc) != 2 || !name) continue;
        place_country *c = &p->countries[p->n_countries];
        memcpy(c->cc, cc, 3);
        if (!(c->name = psk_strdup(name))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        p->n_countries++;
    }
    cJSON_Delete(j);
    if (!rc) qsort(p->countries, (size_t)p->n_countries, sizeof *p->countries, by_cc);
    return rc;
}

const char *places_country_name(const psk_places *p, const char cc[2]) {
    if (!p->n_countries) return NULL;
    place_country key = {{cc[0], cc[1], 0}, NULL};
    const place_country *c = bsearch(&key, p->countries, (size_t)p->n_countries, sizeof key, by_cc);
    return c ? c->name : NULL;
}

void places_countries_free(psk_places *p) {
    for (int i = 0; i < p->n_countries; i++) psk_free(p->countries[i].name);
    psk_free(p->countries);
    p->countries = NULL, p->n_countries = 0;
    psk_strmap_free(&p->country_names);
}

/* Adds name (normalised) -> country unless the name is taken: English names go in first and win. */
static int add_name(psk_places *p, const char *name, int32_t country) {
    char norm[512];
    int32_t v;
    if (!places_normalize(name, norm, sizeof norm) || !norm[0]) return PSK_OK;
    if (psk_strmap_get(&p->country_names, norm, strlen(norm), &v)) return PSK_OK;
    return psk_strmap_put(&p->country_names, norm, strlen(norm), country);
}

static uint32_t rd32(const uint8_t *b, bool swap) {
    uint32_t v;
    memcpy(&v, b, 4);
    return swap ? __builtin_bswap32(v) : v;
}

/* A .mo file: magic 0x950412de, revision, N, offset of the msgid table, offset of the msgstr table; each table
 * holds N (length, offset) pairs of NUL-terminated strings. Every msgid that is an English country name (exact, as
 * iso_3166-1.json spells it) adds its msgstr. A damaged catalog is skipped: it only costs that language. */
static int add_catalog(psk_places *p, const psk_strmap *english, const char *path) {
    char *data;
    size_t size;
    if (psk_read_file(path, 16u << 20, &data, &size, NULL)) return PSK_OK;
    const uint8_t *b = (const uint8_t *)data;
    int rc = PSK_OK;
    uint32_t magic = size >= 20 ? rd32(b, false) : 0;
    bool swap = magic == 0xde120495u;
    if (magic == 0x950412deu || swap) {
        uint32_t n = rd32(b + 8, swap), oo = rd32(b + 12, swap), ot = rd32(b + 16, swap);
        if ((uint64_t)oo + (uint64_t)n * 8 <= size && (uint64_t)ot + (uint64_t)n * 8 <= size) {
            for (uint32_t i = 0; i < n && !rc; i++) {
                uint32_t il = rd32(b + oo + i * 8, swap), io = rd32(b + oo + i * 8 + 4, swap);
                uint32_t tl = rd32(b + ot + i * 8, swap), to = rd32(b + ot + i * 8 + 4, swap);
                if ((uint64_t)io + il >= size || (uint64_t)to + tl >= size || b[io + il] || b[to + tl] || !tl) continue;
                int32_t country;
                if (psk_strmap_get(english, data + io, strlen(data + io), &country))
                    rc = add_name(p, data + to, country);
            }
        }
    }
    psk_free(data);
    return rc;
}

int places_country_names_load(psk_places *p, psk_error *err) {
    char path[1200];
    snprintf(path, sizeof path, "%s/iso-codes/json/iso_3166-1.json", share_dir());
    cJSON *j = NULL;
    psk_strmap english = {0};
    int rc = psk_file_exists(path) ? psk_json_load(path, 16u << 20, &j, err) : PSK_OK;
    const cJSON *it;
    if (!rc && j) cJSON_ArrayForEach(it, psk_json_get(j, "3166-1")) {
        const char *cc = psk_json_string(it, "alpha_2", "");
        if (strlen(cc) != 2 || !p->n_countries) continue;
        place_country key = {{cc[0], cc[1], 0}, NULL};
        const place_country *c = bsearch(&key, p->countries, (size_t)p->n_countries, sizeof key, by_cc);
        if (!c) continue;
        int32_t idx = (int32_t)(c - p->countries);
        static const char *const fields[] = {"name", "common_name", "official_name"};
        for (int f = 0; f < 3 && !rc; f++) {
            const char *name = psk_json_string(it, fields[f], NULL);
            if (!name) continue;
            rc = psk_strmap_put(&english, name, strlen(name), idx);
            if (!rc) rc = add_name(p, name, idx);
        }
    }
    cJSON_Delete(j);
    snprintf(path, sizeof path, "%s/locale/*/LC_MESSAGES/iso_3166-1.mo", share_dir());
    glob_t g;
    if (!rc && glob(path, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && !rc; i++) rc = add_catalog(p, &english, g.gl_pathv[i]);
        globfree(&g);
    }
    psk_strmap_free(&english);
    if (rc) return psk_fail(err, rc, "out of memory reading country names");
    return PSK_OK;
}
