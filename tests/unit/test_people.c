/* People: the grouping (src/people) on made-up descriptors, and the store's faces and people through the library
 * API (src/store/sqlite_people.c): a re-found face keeps its person, the user's edits and names survive a
 * recluster, a person condition finds the photo. */
#include "test.h"

#include "../../src/library/library.h"
#include "../../src/people/people.h"

#define D PSK_FACE_DIM

/* A deterministic generator (xorshift) of numbers in [-1, 1). */
static double rnd(uint64_t *s) {
    *s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
    return (double)(*s >> 11) / (double)(1ull << 52) - 1.0;
}

/* n_people identities, each a random point; a face is its identity plus noise of about `noise` in length (the
 * identities are about 1.0 apart: face-api's different people are 0.5-1.0 apart, the same person under 0.45) */
static float *faces(int n_people, int per, double noise, uint64_t seed) {
    float *v = malloc(sizeof(float) * D * (size_t)n_people * (size_t)per);
    float centre[D];
    for (int p = 0; p < n_people; p++) {
        for (int d = 0; d < D; d++) centre[d] = (float)(rnd(&seed) * 0.153); /* |c| ~ 1.0, pairs ~ 1.0 apart */
        for (int k = 0; k < per; k++)
            for (int d = 0; d < D; d++)
                v[((size_t)p * per + k) * D + d] = centre[d] + (float)(rnd(&seed) * noise * 0.153);
    }
    return v;
}

static void check_groups(people_linkage linkage) {
    enum { P = 6, PER = 5, N = P * PER };
    float *v = faces(P, PER, 0.15, 42);
    int64_t label[N] = {0}, next = -1;
    CHECK_OK(people_assign(v, label, N, 0, PSK_FACE_SAME_PERSON, linkage, &next));
    for (int p = 0; p < P; p++)
        for (int k = 0; k < PER; k++) {
            CHECKF(label[p * PER + k] == label[p * PER], "person %d: face %d in group %lld, not %lld", p, k,
                   (long long)label[p * PER + k], (long long)label[p * PER]);
            for (int q = 0; q < p; q++) CHECKF(label[p * PER] != label[q * PER], "people %d and %d together", p, q);
        }
    CHECK(next == -1 - P);
    free(v);
}

TEST(people_assign_groups_each_identity_once) {
    check_groups(PEOPLE_NEAREST_FACE);
    check_groups(PEOPLE_CENTROID);
}

TEST(people_assign_joins_known_people_or_starts_a_group) {
    enum { N = 8 };
    float *v = faces(4, 2, 0.15, 7); /* faces 2k and 2k+1 are the same identity */
    int64_t label[N] = {11, 0, 12, 0, 0, 0, 0, 99}, next = -1;
    /* faces 0 and 2 known (people 11 and 12), face 7 placed beforehand: 1 joins 11, 3 joins 12, 4 and 5 start one
     * new group, 6 another (a face placed later anchors nothing before it) */
    CHECK_OK(people_assign(v, label, N, 0, PSK_FACE_SAME_PERSON, PEOPLE_NEAREST_FACE, &next));
    CHECK(label[1] == 11 && label[3] == 12);
    CHECK(label[4] == -1 && label[5] == -1 && next == -3);
    CHECKF(label[6] == -2 && label[7] == 99, "%lld %lld (a later face anchors nothing before it)", (long long)label[6],
           (long long)label[7]);
    free(v);
}

TEST(people_assign_linkages_differ_on_a_chain) {
    /* three faces on a line 0.3 apart: nearest-face chains them into one group; by the mean, the third is 0.45
     * from the first two's mean: a group of its own */
    float v[3 * D] = {0};
    v[D + 0] = 0.3f;
    v[2 * D + 0] = 0.6f;
    int64_t a[3] = {0}, b[3] = {0}, na = -1, nb = -1;
    CHECK_OK(people_assign(v, a, 3, 0, 0.44f, PEOPLE_NEAREST_FACE, &na));
    CHECK_OK(people_assign(v, b, 3, 0, 0.44f, PEOPLE_CENTROID, &nb));
    CHECK(a[0] == a[1] && a[1] == a[2]);
    CHECK(b[0] == b[1] && b[2] != b[0]);
}

TEST(people_keep_names_goes_to_the_majority) {
    /* person 7 (named) had faces 0-4, now 0-3 in group -1 and 4 in -2; person 9 (named) had 5-6, now split
     * between -2 and -3 (no majority: keeps no group); person 8 (unnamed) had 7-8 */
    int64_t before[9] = {7, 7, 7, 7, 7, 9, 9, 8, 8};
    int64_t label[9] = {-1, -1, -1, -1, -2, -2, -3, -4, -4};
    int64_t named[2] = {7, 9};
    CHECK_OK(people_keep_names(before, label, 9, named, 2));
    CHECK(label[0] == 7 && label[3] == 7 && label[4] == -2 && label[5] == -2 && label[6] == -3 && label[7] == -4);
    /* two names whose faces all went to one group: the first name keeps it */
    int64_t before2[4] = {3, 3, 5, 5}, label2[4] = {-1, -1, -1, -1}, named2[2] = {3, 5};
    CHECK_OK(people_keep_names(before2, label2, 4, named2, 2));
    CHECK(label2[0] == 3 && label2[3] == 3);
}

TEST(people_name_check_refuses_another_persons_name) {
    psk_error err = {0};
    CHECK_OK(people_name_check(4, "Anna", 0, &err)); /* no one has it */
    CHECK_OK(people_name_check(4, "Anna", 4, &err)); /* the person's own name again */
    CHECK(people_name_check(4, "anna", 9, &err) == PSK_ERR_INVALID_ARG);
    CHECKF(strcmp(err.message, "'anna' is the name of person 9 already; to make them one, run 'photoseek people merge 9 4'") ==
               0,
           "%s", err.message);
}

/* ---- through the store ---- */

static int64_t add_photo(psk_store *s, const char *path, int64_t taken) {
    store_media m = {0};
    snprintf(m.path, sizeof m.path, "%s", path);
    m.type = 1;
    m.taken_at = taken;
    psk_error err = {0};
    if (store_media_put(s, &m, &err)) return 0;
    return m.id;
}

static store_face face_of(const float *v, float x) {
    store_face f = {.frame_ms = -1, .box = {x, 10, 50, 60}, .score = 0.9f};
    memcpy(f.desc, v, sizeof f.desc);
    return f;
}

TEST(people_in_the_store) {
    char path[600];
    snprintf(path, sizeof path, "%s/people.db", test_tmpdir());
    psk_library *lib = NULL;
    psk_error err = {0};
    CHECK_OK(psk_library_open(path, PSK_OPEN_WRITE, &lib, err_));
    if (!lib) return;
    CHECK(psk_library_capabilities(lib) & PSK_STORE_CAP_PEOPLE);
    store_backend *b = library_backend(lib);
    psk_store *s = library_local_store(lib, "indexing", &err);
    float *v = faces(3, 4, 0.15, 99); /* people A (0-3), B (4-7), C (8-11) */
    /* photo k holds A's face k and B's face k; photo 4 holds C's faces 8 and 9 (two faces of one person) */
    int64_t photo[5];
    for (int k = 0; k < 4; k++) {
        char p[64];
        snprintf(p, sizeof p, "/photos/%d.jpg", k);
        CHECK((photo[k] = add_photo(s, p, 1000 + k)) > 0);
        store_face f[2] = {face_of(v + (size_t)k * D, 1), face_of(v + (size_t)(4 + k) * D, 2)};
        CHECK_OK(store_put_faces(s, photo[k], f, 2, err_));
    }
    CHECK((photo[4] = add_photo(s, "/photos/c.jpg", 2000)) > 0);
    store_face fc[2] = {face_of(v + 8 * D, 1), face_of(v + 9 * D, 2)};
    CHECK_OK(store_put_faces(s, photo[4], fc, 2, err_));
    CHECK_OK(b->ops->people_group(b->self, false, err_));
    psk_person *pp = NULL;
    int n = 0;
    CHECK_OK(psk_library_people(lib, 3, &pp, &n, err_));
    CHECKF(n == 2 && pp[0].faces == 4 && pp[1].faces == 4 && pp[0].photos == 4, "%d people", n);
    int64_t a = pp[0].id, bb = pp[1].id;
    psk_people_free(pp);
    CHECK_OK(psk_library_people(lib, 1, &pp, &n, err_));
    CHECK(n == 3 && pp[2].faces == 2 && pp[2].photos == 1);
    int64_t c = pp[2].id;
    psk_people_free(pp);
    /* naming, and a person condition */
    CHECK_OK(psk_library_person_name(lib, a, "Anna", err_));
    CHECK(psk_library_person_name(lib, bb, "ANNA", &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "merge"));
    psk_search_params sp = psk_search_default_params();
    const char *who[1] = {"anna"};
    sp.filter.people = who;
    sp.filter.n_people = 1;
    psk_result *r = NULL;
    CHECK_OK(psk_library_search(lib, &sp, &r, &n, err_));
    CHECKF(n == 4 && r[0].id == photo[3] && strcmp(r[0].people, "Anna") == 0, "%d results", n); /* newest first */
    psk_results_free(r);
    const char *nobody[1] = {"Ana"};
    sp.filter.people = nobody;
    CHECK(psk_library_search(lib, &sp, &r, &n, &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "Anna"));
    /* a name from a Takeout sidecar (media.people) matches too, in any case, before any face is named */
    store_media tk = {0};
    snprintf(tk.path, sizeof tk.path, "/photos/takeout.jpg");
    tk.type = 1;
    snprintf(tk.people, sizeof tk.people, "[\"Carol Smith\", \"Dan\"]");
    CHECK_OK(store_media_put(s, &tk, err_));
    const char *carol[2] = {"carol smith", "Dan"};
    sp.filter.people = carol;
    sp.filter.n_people = 2;
    CHECK_OK(psk_library_search(lib, &sp, &r, &n, err_));
    CHECK(n == 1 && r[0].id == tk.id && r[0].people[0] == 0); /* no named face in it */
    psk_results_free(r);
    /* people by id, named or not (the web page's filter): every one of them in the photo */
    int64_t ids[2] = {bb, c}, no_one = 999999;
    psk_search_params si = psk_search_default_params();
    si.filter.person_ids = ids;
    si.filter.n_person_ids = 1;
    CHECK_OK(psk_library_search(lib, &si, &r, &n, err_));
    CHECKF(n == 4 && r[0].id == photo[3], "%d results for person B", n); /* newest first */
    psk_results_free(r);
    si.filter.n_person_ids = 2; /* B and C are never in one photo */
    CHECK_OK(psk_library_search(lib, &si, &r, &n, err_));
    CHECKF(n == 0, "%d results for B and C together", n);
    psk_results_free(r);
    si.filter.person_ids = &no_one;
    si.filter.n_person_ids = 1;
    CHECK(psk_library_search(lib, &si, &r, &n, &err) == PSK_ERR_NOT_FOUND && strstr(err.message, "999999"));
    /* one photo's faces, in the order found */
    psk_face_ref *mf = NULL;
    CHECK_OK(psk_library_media_faces(lib, photo[4], &mf, &n, err_));
    CHECK(n == 2 && mf[0].person == c && mf[1].person == c && mf[0].box[0] == 1 && mf[1].box[0] == 2 &&
          mf[0].media_id == photo[4]);
    psk_free_buffer(mf);
    CHECK_OK(psk_library_media_faces(lib, tk.id, &mf, &n, err_));
    CHECK(n == 0 && !mf); /* a photo without faces */
    CHECK(psk_library_media_faces(lib, 999999, &mf, &n, &err) == PSK_ERR_NOT_FOUND);
    /* a changed photo's faces found again keep their person */
    store_face again[2] = {face_of(v + 4 * D, 2), face_of(v + 0 * D, 1)};
    CHECK_OK(store_put_faces(s, photo[0], again, 2, err_));
    CHECK_OK(b->ops->people_group(b->self, false, err_));
    psk_face_ref *fr = NULL;
    CHECK_OK(psk_library_person_faces(lib, a, &fr, &n, err_));
    CHECK(n == 4 && fr[3].media_id == photo[0]); /* oldest photo last */
    int64_t wrong = fr[0].id;
    psk_free_buffer(fr);
    /* unassign: the face stays out, also after a recluster */
    CHECK_OK(psk_library_face_unassign(lib, wrong, err_));
    CHECK_OK(psk_library_people_recluster(lib, err_));
    CHECK_OK(psk_library_person_faces(lib, a, &fr, &n, err_));
    CHECKF(n == 3, "%d faces (a recluster regrouped an unassigned face)", n);
    psk_free_buffer(fr);
    CHECK_OK(psk_library_people(lib, 1, &pp, &n, err_));
    CHECK(n == 3 && strcmp(pp[0].name, "Anna") == 0 && pp[0].id == a); /* the name survived the recluster */
    psk_people_free(pp);
    /* merge C into B, then split one face out */
    CHECK_OK(psk_library_people_merge(lib, bb, c, err_));
    CHECK_OK(psk_library_person_faces(lib, bb, &fr, &n, err_));
    CHECK(n == 6);
    int64_t one = fr[0].id, made = 0;
    psk_free_buffer(fr);
    CHECK(psk_library_person_faces(lib, c, &fr, &n, &err) == PSK_ERR_NOT_FOUND);
    CHECK_OK(psk_library_people_split(lib, &one, 1, &made, err_));
    CHECK_OK(psk_library_person_faces(lib, made, &fr, &n, err_));
    CHECK(n == 1 && fr[0].id == one && fr[0].by_user);
    psk_free_buffer(fr);
    CHECK_OK(psk_library_people_recluster(lib, err_));
    CHECK_OK(psk_library_person_faces(lib, made, &fr, &n, err_));
    CHECK(n == 1); /* the user's split stays */
    psk_free_buffer(fr);
    /* a deleted photo takes its faces along */
    CHECK_OK(store_media_delete(s, photo[4], err_));
    CHECK(store_count(s, "SELECT count(*) FROM faces") == 8);
    free(v);
    psk_library_close(lib);
}
