/* Grouping faces into people by their descriptors (face-api's 128-d vectors, compared by euclidean distance,
 * psk_face_distance). Plain arrays in, labels out: the store (src/store/sqlite_people.c) reads the faces, calls
 * these and writes the groups back.
 *
 * A label is a person's id (> 0), a new group made here (< 0: -1, -2, ...), or 0 (no group). */
#ifndef PSK_PEOPLE_H
#define PSK_PEOPLE_H

#include "../common/common.h"

typedef enum people_linkage {
    PEOPLE_NEAREST_FACE = 0, /* a face joins the group of the nearest labelled face within the threshold */
    PEOPLE_CENTROID = 1      /* ... of the nearest group mean within the threshold */
} people_linkage;

/* Incremental assignment (assign.c): desc holds n descriptors of PSK_FACE_DIM floats. label[0, first) are the
 * faces already grouped (label 0 among them: ignored); each face of [first, n), in order, joins the group of the
 * nearest labelled face (or group mean) if it is within threshold, else starts a new group labelled *next_new,
 * which then counts down. Faces of [first, n) labelled before the call keep their label. Returns PSK_ERR_NOMEM or
 * PSK_OK. */
int people_assign(const float *desc, int64_t *label, int n, int first, float threshold, people_linkage linkage,
                  int64_t *next_new);

/* Reclustering (recluster.c): after people_assign has regrouped the automatic faces, the new groups (label < 0)
 * that keep an old person's id (and so its name): before[i] is face i's person before (0: none); each person of
 * named[0, n_named), in that order (the named ones first), gives its id to the new group holding more than half
 * of its old faces, unless that group already went to a person before it. label is rewritten in place. Returns
 * PSK_ERR_NOMEM or PSK_OK. */
int people_keep_names(const int64_t *before, int64_t *label, int n, const int64_t *named, int n_named);

/* The faces one grouping reads and labels (group.c): a store fills it, people_group_faces labels it, the store
 * writes the labels back. */
typedef struct people_faces {
    int64_t *id, *label, *before; /* before: the face's person as read (0: none) */
    float *desc;                  /* n x PSK_FACE_DIM */
    int n, cap;
} people_faces;
/* Appends a face; keep_label: its person is its label (an anchor), else it starts unlabelled. PSK_ERR_NOMEM. */
int people_faces_add(people_faces *f, int64_t id, int64_t person, const float *desc, bool keep_label);
void people_faces_free(people_faces *f);

/* A store's side of a grouping. */
typedef struct people_store {
    void *self;
    /* Appends to f, by id, the faces that `where` selects: a condition on the face table's person_id and assigned
     * columns (the same in every store). */
    int (*load)(void *self, people_faces *f, const char *where, bool keep_label, psk_error *err);
    /* The people's ids, the named first (they choose their groups before the unnamed keep their ids). */
    int (*person_ids)(void *self, int64_t **ids, int *n, psk_error *err);
    /* Writes f's labels: the new groups (-1 .. -n_new) become people; each face whose person changed is updated. */
    int (*write)(void *self, const people_faces *f, int64_t n_new, psk_error *err);
} people_store;

/* One grouping, inside the store's transaction: incremental (the faces in no person yet join the grouped ones) or
 * a recluster (every automatic face again; the user's placements anchor, the names kept). */
int people_group_faces(const people_store *st, bool recluster, psk_error *err);

/* Naming `person` `name` (names.c): holder is the person that has the name already, in any case (0: none). PSK_OK when
 * that is no one else; else PSK_ERR_INVALID_ARG naming the holder and the merge that would make them one. */
int people_name_check(int64_t person, const char *name, int64_t holder, psk_error *err);

#endif
