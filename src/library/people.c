/* People: the public calls over the store's people operations (src/store/sqlite_people.c, pg_people.c), and the checks of a
 * search's person condition. */
#include "library_int.h"
#include "../image/image.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static store_backend *people_store(psk_library *lib, const char *what, psk_error *err) {
    store_backend *b = library_backend(lib);
    if (!backend_can(b, PSK_STORE_CAP_PEOPLE) || !b->ops->people) {
        backend_unsupported_cap(b, what, PSK_STORE_CAP_PEOPLE, err);
        return NULL;
    }
    return b;
}

psk_status psk_library_people(psk_library *lib, int min_faces, psk_person **out, int *n, psk_error *err) {
    return psk_library_people_in(lib, min_faces, NULL, out, n, err);
}

psk_status psk_library_people_in(psk_library *lib, int min_faces, const psk_filter *filter, psk_person **out, int *n,
                                 psk_error *err) {
    *out = NULL, *n = 0;
    store_backend *b = people_store(lib, "people", err);
    return b ? b->ops->people(b->self, min_faces, filter, out, n, err) : PSK_ERR_UNSUPPORTED;
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
    if (!backend_can(b, PSK_STORE_CAP_PEOPLE) || !b->ops->person_names)
        return backend_unsupported_cap(b, "--person", PSK_STORE_CAP_PEOPLE, err);
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

int library_check_person_ids(psk_library *lib, const psk_filter *f, psk_error *err) {
    if (f->n_person_ids <= 0) return PSK_OK;
    store_backend *b = people_store(lib, "a person filter", err);
    if (!b) return PSK_ERR_UNSUPPORTED;
    for (int i = 0; i < f->n_person_ids; i++) { /* an id that is no person: PSK_ERR_NOT_FOUND naming it */
        psk_face_ref *refs = NULL;
        int n = 0, rc = b->ops->person_faces(b->self, f->person_ids[i], &refs, &n, err);
        psk_free(refs);
        if (rc) return rc;
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

psk_status psk_library_face_get(psk_library *lib, int64_t face, psk_face_ref *out, psk_error *err) {
    store_backend *b = people_store(lib, "people", err);
    if (!b) return PSK_ERR_UNSUPPORTED;
    if (!b->ops->face_get) return backend_unsupported(b, "faces", err);
    return b->ops->face_get(b->self, face, out, err);
}

psk_status psk_library_media_faces(psk_library *lib, int64_t media_id, psk_face_ref **out, int *n, psk_error *err) {
    *out = NULL, *n = 0;
    store_backend *b = people_store(lib, "people", err);
    if (!b) return PSK_ERR_UNSUPPORTED;
    if (!b->ops->media_faces) return backend_unsupported(b, "a photo's faces", err);
    return b->ops->media_faces(b->self, media_id, out, n, err);
}

psk_status psk_library_face_thumbnail(psk_library *lib, int64_t face, int max_side, unsigned char **jpeg,
                                      size_t *size, psk_error *err) {
    *jpeg = NULL, *size = 0;
    if (max_side < 16 || max_side > 1024) return psk_fail(err, PSK_ERR_INVALID_ARG, "thumbnail size %d", max_side);
    psk_face_ref f;
    int rc = psk_library_face_get(lib, face, &f, err);
    if (rc) return rc;
    if (f.frame_ms >= 0) return psk_video_thumbnail(f.path, f.frame_ms, max_side, jpeg, size, err);
    psk_image *img;
    if ((rc = psk_image_load(f.path, NULL, &img, err))) return rc;
    /* the box and a third of its size around it, inside the image */
    double m = (f.box[2] > f.box[3] ? f.box[2] : f.box[3]) / 3.0;
    int x0 = (int)(f.box[0] - m), y0 = (int)(f.box[1] - m);
    int x1 = (int)(f.box[0] + f.box[2] + m), y1 = (int)(f.box[1] + f.box[3] + m);
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > img->width ? img->width : x1, y1 = y1 > img->height ? img->height : y1;
    if (x1 - x0 < 1 || y1 - y0 < 1) { /* the file changed under its row: its whole picture */
        x0 = y0 = 0;
        x1 = img->width, y1 = img->height;
    }
    psk_image crop = {.width = x1 - x0, .height = y1 - y0, .info = img->info};
    crop.rgb = psk_malloc((size_t)crop.width * crop.height * 3);
    if (!crop.rgb) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int y = 0; !rc && y < crop.height; y++)
        memcpy(crop.rgb + (size_t)y * crop.width * 3, img->rgb + ((size_t)(y0 + y) * img->width + x0) * 3,
               (size_t)crop.width * 3);
    if (!rc) rc = img_encode_thumbnail(&crop, max_side, jpeg, size, f.path, err);
    psk_free(crop.rgb);
    psk_image_free(img);
    return rc;
}
