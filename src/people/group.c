/* One grouping of a store's faces into people, the same in every store: which faces anchor and which are placed,
 * the incremental assignment, and (reclustering) the names kept. The store reads and writes its own tables. */
#include "people.h"

#include <string.h>

/* How faces join groups: measured on face-api's demo photos and their variants (tests/e2e/test_people.sh). */
#define PEOPLE_LINKAGE PEOPLE_NEAREST_FACE

int people_faces_add(people_faces *f, int64_t id, int64_t person, const float *desc, bool keep_label) {
    if (f->n == f->cap) {
        int cap = f->cap ? f->cap * 2 : 1024;
        int64_t *a = psk_realloc(f->id, sizeof *a * (size_t)cap);
        if (a) f->id = a;
        int64_t *b = psk_realloc(f->label, sizeof *b * (size_t)cap);
        if (b) f->label = b;
        int64_t *c = psk_realloc(f->before, sizeof *c * (size_t)cap);
        if (c) f->before = c;
        float *d = psk_realloc(f->desc, sizeof *d * (size_t)cap * PSK_FACE_DIM);
        if (d) f->desc = d;
        if (!a || !b || !c || !d) return PSK_ERR_NOMEM;
        f->cap = cap;
    }
    f->id[f->n] = id;
    f->before[f->n] = person;
    f->label[f->n] = keep_label ? person : 0;
    memcpy(f->desc + (size_t)f->n * PSK_FACE_DIM, desc, sizeof(float) * PSK_FACE_DIM);
    f->n++;
    return PSK_OK;
}

void people_faces_free(people_faces *f) {
    psk_free(f->id), psk_free(f->label), psk_free(f->before), psk_free(f->desc);
    memset(f, 0, sizeof *f);
}

int people_group_faces(const people_store *st, bool recluster, psk_error *err) {
    people_faces f = {0};
    int64_t *named = NULL;
    int n_named = 0;
    /* incremental: the grouped faces anchor the new ones (the user's unassigned faces take no part); recluster:
     * the faces the user placed anchor, every automatic face is placed again */
    int rc = st->load(st->self, &f, recluster ? "assigned = 1 AND person_id IS NOT NULL" : "person_id IS NOT NULL",
                      true, err);
    int first = f.n;
    if (!rc) rc = st->load(st->self, &f, recluster ? "assigned = 0" : "person_id IS NULL AND assigned = 0", false, err);
    if (!rc && recluster) rc = st->person_ids(st->self, &named, &n_named, err);
    int64_t next = -1;
    if (!rc && f.n > first && people_assign(f.desc, f.label, f.n, first, PSK_FACE_SAME_PERSON, PEOPLE_LINKAGE, &next))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory grouping faces");
    if (!rc && recluster && people_keep_names(f.before, f.label, f.n, named, n_named))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory grouping faces");
    if (!rc && f.n > first) rc = st->write(st->self, &f, -next, err);
    people_faces_free(&f);
    psk_free(named);
    return rc;
}
