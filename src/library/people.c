/* People: the public calls over the store's people operations (src/store/sqlite_people.c), and the checks of a
 * search's person condition. */
#include "library_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static store_backend *people_store(psk_library *lib, const char *what, psk_error *err) {
    store_backend *b = library_backend(lib);
    if (!backend_can(b, PSK_STORE_CAP_PEOPLE) || !b->ops->people) {
        backend_unsupported(b, what, err);
        return NULL;
    }
    return b;
}

psk_status psk_library_people(psk_library *lib, int min_faces, psk_person **out, int *n, psk_error *err) {
    *out = NULL, *n = 0;
    store_backend *b = people_store(lib, "people", err);
    return b ? b->ops->people(b->self, min_faces, out, n, err) : PSK_ERR_UNSUPPORTED;
}

void psk_people_free(psk_person *people) { psk_free(people); }

psk_status psk_library_person_faces(psk_library *lib, int64_t person, psk_face_ref **out, int *n, psk_error *err) {
    *out = NULL, *n = 0;
    store_backend *b = people_store(lib, "people", err);
    return b ? b->ops->person_faces(b->self, person, out, n, err) : PSK_ERR_UNSUPPORTED;
}

static int edit(psk_library *lib, const store_people_edit *e, psk_error *err) {
    store_backend *b = people_store(lib, "people", err);
    return b ? b->ops->people_edit(b->self, e, err) : PSK_ERR_UNSUPPORTED;
}

psk_status psk_library_person_name(psk_library *lib, int64_t person, const char *name, psk_error *err) {
    if (name && strlen(name) >= sizeof ((psk_person *)0)->name)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "a name is at most %zu bytes", sizeof ((psk_person *)0)->name - 1);
    store_people_edit e = {.op = PEOPLE_NAME, .person = person, .name = name};
    return edit(lib, &e, err);
}

psk_status psk_library_people_merge(psk_library *lib, int64_t into, int64_t from, psk_error *err) {
    store_people_edit e = {.op = PEOPLE_MERGE, .person = into, .other = from};
    return edit(lib, &e, err);
}

psk_status psk_library_face_unassign(psk_library *lib, int64_t face, psk_error *err) {
    store_people_edit e = {.op = PEOPLE_UNASSIGN, .person = face};
    return edit(lib, &e, err);
}

psk_status psk_library_people_split(psk_library *lib, const int64_t *faces, int n, int64_t *person, psk_error *err) {
    if (n < 1) return psk_fail(err, PSK_ERR_INVALID_ARG, "split: give the faces that make the new person");
    int64_t made = 0;
    store_people_edit e = {.op = PEOPLE_SPLIT, .faces = faces, .n_faces = n, .made = &made};
    int rc = edit(lib, &e, err);
    if (person) *person = rc ? 0 : made;
    return rc;
}

psk_status psk_library_people_recluster(psk_library *lib, psk_error *err) {
    store_backend *b = people_store(lib, "people", err);
    return b ? b->ops->people_group(b->self, true, err) : PSK_ERR_UNSUPPORTED;
}

/* ---- the person condition of a search ---- */

/* Levenshtein distance of two short names, ASCII case folded (capped at 64 bytes: longer names compare by prefix) */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strnlen(a, 64), lb = (int)strnlen(b, 64), row[65];
    for (int j = 0; j <= lb; j++) row[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = diag + cost;
            if (row[j] + 1 < v) v = row[j] + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return row[lb];
}

typedef struct name_check {
    const char *want;
    bool found;
    char close[256];
    int n_close;
} name_check;

static int on_name(void *user, const char *name) {
    name_check *c = user;
    if (strcasecmp(name, c->want) == 0) {
        c->found = true;
        return 1;
    }
    int len = (int)strlen(c->want), d = edit_distance(name, c->want);
    bool close = d <= (len < 6 ? 2 : len / 3) || strcasestr(name, c->want) || strcasestr(c->want, name);
    size_t at = strlen(c->close);
    if (close && c->n_close < 5 && at + strlen(name) + 3 < sizeof c->close) {
        snprintf(c->close + at, sizeof c->close - at, "%s%s", c->n_close ? ", " : "", name);
        c->n_close++;
    }
    return 0;
}

int library_check_people(psk_library *lib, const psk_filter *f, psk_error *err) {
    if (f->n_people <= 0) return PSK_OK;
    store_backend *b = library_backend(lib);
    if (!backend_can(b, PSK_STORE_CAP_PEOPLE) || !b->ops->person_names) return backend_unsupported(b, "--person", err);
    for (int i = 0; i < f->n_people; i++) {
        name_check c = {.want = f->people[i]};
        if (!c.want || !*c.want) return psk_fail(err, PSK_ERR_INVALID_ARG, "--person: an empty name");
        int rc = b->ops->person_names(b->self, on_name, &c, err);
        if (rc) return rc;
        if (c.found) continue;
        if (c.n_close)
            return psk_fail(err, PSK_ERR_INVALID_ARG, "--person: no one is named '%s' in the library (close: %s)",
                            c.want, c.close);
        return psk_fail(err, PSK_ERR_INVALID_ARG,
                        "--person: no one is named '%s' in the library (name people with 'photoseek people name ID "
                        "NAME'; 'photoseek people' lists them)",
                        c.want);
    }
    return PSK_OK;
}

int library_people_of(psk_library *lib, psk_result *r, int n, psk_error *err) {
    store_backend *b = library_backend(lib);
    if (!backend_can(b, PSK_STORE_CAP_PEOPLE) || !b->ops->people_of || n <= 0) return PSK_OK;
    return b->ops->people_of(b->self, r, n, err);
}

int library_browse(psk_library *lib, const psk_search_params *p, psk_result **results, int *n, psk_error *err) {
    store_backend *b = library_backend(lib);
    *results = NULL, *n = 0;
    if (!b->ops->browse) return backend_unsupported(b, "a search without words", err);
    int k = p->k > 0 ? p->k : 20;
    if (k > 10000) return psk_fail(err, PSK_ERR_INVALID_ARG, "k = %d is more than 10000", k);
    return b->ops->browse(b->self, &p->filter, k, results, n, err);
}
