/* The people endpoints (issue 14), for the web page's people strip:
 *   GET  /api/people[?min_faces=N]       the people: id, name, photos, faces, a face thumbnail
 *   GET  /api/people/ID/photos           a person's photos, newest first, each with its faces' ids and boxes
 *   POST /api/people/ID/name?name=NAME   names a person ("" removes the name); through the same gate as every
 *                                        state change (JSON content type, our own page's request token)
 *   GET  /api/faces/ID/thumb             a JPEG of one face
 *   GET  /api/media/ID/faces             one photo's faces: boxes in the upright image's pixels (width, height:
 *                                        that image's size), each face's id and its person's id and name
 * Only the library's own files are read: paths come from the store, never from the request. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FACE_THUMB_SIDE 160

/* "123" followed by `rest` (exactly), 1 .. 2^53; the id goes to *id. */
static bool route_id(const char *s, const char *rest, int64_t *id) {
    if (*s < '1' || *s > '9') return false;
    int64_t v = 0;
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
        if (++digits > 16) return false;
        v = v * 10 + (*s++ - '0');
    }
    if (v > (1LL << 53) || strcmp(s, rest) != 0) return false;
    *id = v;
    return true;
}

static unsigned status_of(int rc) {
    return rc == PSK_ERR_NOT_FOUND ? 404 : rc == PSK_ERR_INVALID_ARG ? 400 : rc == PSK_ERR_UNSUPPORTED ? 501 : 500;
}

static enum MHD_Result send_json(struct MHD_Connection *c, jbuf *b) {
    enum MHD_Result r = b->oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b->s);
    jb_free(b);
    return r;
}

static enum MHD_Result people_list(server *s, struct MHD_Connection *c) {
    const char *m = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "min_faces");
    char *end;
    long min_faces = m ? strtol(m, &end, 10) : 0;
    if (m && (!*m || *end || min_faces < 1 || min_faces > 100000))
        return reply_error(c, 400, "min_faces must be a number from 1 to 100000");
    psk_person *p = NULL;
    int n = 0;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_people(lib, (int)min_faces, &p, &n, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, status_of(rc), "%s", err.message);
    jbuf b = {0};
    jb_raw(&b, "{\"people\": [");
    for (int i = 0; i < n; i++) {
        jb_printf(&b, "%s{\"id\": %lld, \"name\": ", i ? ", " : "", (long long)p[i].id);
        if (p[i].name[0]) jb_str(&b, p[i].name);
        else jb_raw(&b, "null");
        jb_printf(&b, ", \"photos\": %lld, \"faces\": %lld, \"thumb\": ", (long long)p[i].photos, (long long)p[i].faces);
        if (p[i].cover_face) jb_printf(&b, "\"/api/faces/%lld/thumb\"", (long long)p[i].cover_face);
        else jb_raw(&b, "null");
        jb_raw(&b, "}");
    }
    jb_printf(&b, "], \"count\": %d}", n);
    psk_people_free(p);
    return send_json(c, &b);
}

static enum MHD_Result person_photos(server *s, struct MHD_Connection *c, int64_t person) {
    psk_face_ref *f = NULL;
    int n = 0;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_person_faces(lib, person, &f, &n, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, status_of(rc), "%s", err.message);
    jbuf b = {0};
    jb_printf(&b, "{\"person\": %lld, \"photos\": [", (long long)person);
    for (int i = 0, first = 1; i < n; first = 0) {
        jb_printf(&b, "%s{\"id\": %lld, \"path\": ", first ? "" : ", ", (long long)f[i].media_id);
        jb_str(&b, f[i].path);
        jb_printf(&b, ", \"thumb\": \"/api/media/%lld/thumb\", \"taken_at\": %lld, \"faces\": [", (long long)f[i].media_id,
                  (long long)f[i].taken_at);
        int j = i;
        for (; j < n && f[j].media_id == f[i].media_id; j++)
            jb_printf(&b, "%s{\"id\": %lld, \"box\": [%.1f, %.1f, %.1f, %.1f], \"frame_ms\": %lld}", j > i ? ", " : "",
                      (long long)f[j].id, f[j].box[0], f[j].box[1], f[j].box[2], f[j].box[3], (long long)f[j].frame_ms);
        jb_raw(&b, "]}");
        i = j;
    }
    jb_raw(&b, "]}");
    psk_free_buffer(f);
    return send_json(c, &b);
}

static enum MHD_Result person_name(server *s, struct MHD_Connection *c, int64_t person) {
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    if (!name) return reply_error(c, 400, "give the name as ?name= (empty: no name)");
    if (!utf8_ok(name) || strlen(name) > 127) return reply_error(c, 400, "a name is UTF-8 text of at most 127 bytes");
    psk_library *w = NULL;
    psk_error err = {0};
    int rc = psk_library_open(s->p->db, PSK_OPEN_WRITE, &w, &err);
    if (!rc) rc = psk_library_person_name(w, person, name, &err);
    psk_library_close(w);
    if (rc) return reply_error(c, rc == PSK_ERR_INVALID_ARG ? 409 : status_of(rc), "%s", err.message);
    jbuf b = {0};
    jb_printf(&b, "{\"id\": %lld, \"name\": ", (long long)person);
    if (*name) jb_str(&b, name);
    else jb_raw(&b, "null");
    jb_raw(&b, "}");
    return send_json(c, &b);
}

static enum MHD_Result face_thumb(server *s, struct MHD_Connection *c, int64_t face) {
    unsigned char *jpeg = NULL;
    size_t size = 0;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_face_thumbnail(lib, face, FACE_THUMB_SIDE, &jpeg, &size, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, status_of(rc), "%s", err.message);
    enum MHD_Result ret = reply(c, 200, "image/jpeg", jpeg, size); /* not cached: a face may be moved or renamed */
    psk_free_buffer(jpeg);
    return ret;
}

static const char *name_of(const psk_person *p, int n, int64_t id) {
    for (int i = 0; i < n; i++)
        if (p[i].id == id) return p[i].name[0] ? p[i].name : NULL;
    return NULL;
}

enum MHD_Result api_media_faces(server *s, struct MHD_Connection *c, int64_t id) {
    psk_result r;
    psk_face_ref *f = NULL;
    psk_person *p = NULL;
    int n = 0, n_people = 0;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_get_media(lib, id, &r, &err) : PSK_ERR_IO;
    if (!rc) rc = psk_library_media_faces(lib, id, &f, &n, &err);
    if (!rc && n) rc = psk_library_people(lib, 1, &p, &n_people, &err); /* the names */
    if (lib) reader_give(s, lib);
    if (rc) {
        psk_free_buffer(f);
        return reply_error(c, status_of(rc), "%s", err.message);
    }
    jbuf b = {0};
    jb_printf(&b, "{\"id\": %lld, \"width\": %d, \"height\": %d, \"faces\": [", (long long)id, r.width, r.height);
    for (int i = 0; i < n; i++) {
        jb_printf(&b, "%s{\"id\": %lld, \"box\": [%.1f, %.1f, %.1f, %.1f], \"score\": %.3f, \"frame_ms\": %lld, \"person\": ",
                  i ? ", " : "", (long long)f[i].id, f[i].box[0], f[i].box[1], f[i].box[2], f[i].box[3], f[i].score,
                  (long long)f[i].frame_ms);
        const char *name = name_of(p, n_people, f[i].person);
        if (f[i].person) jb_printf(&b, "%lld", (long long)f[i].person);
        else jb_raw(&b, "null");
        jb_raw(&b, ", \"name\": ");
        if (name) jb_str(&b, name);
        else jb_raw(&b, "null");
        jb_raw(&b, "}");
    }
    jb_printf(&b, "], \"count\": %d}", n);
    psk_free_buffer(f);
    psk_people_free(p);
    return send_json(c, &b);
}

enum MHD_Result api_people(server *s, struct MHD_Connection *c, const char *url, bool get, bool post) {
    int64_t id;
    if (strcmp(url, "/api/people") == 0) return get ? people_list(s, c) : reply_error(c, 405, "use GET");
    if (strncmp(url, "/api/people/", 12) == 0 && route_id(url + 12, "/photos", &id))
        return get ? person_photos(s, c, id) : reply_error(c, 405, "use GET");
    if (strncmp(url, "/api/people/", 12) == 0 && route_id(url + 12, "/name", &id))
        return post ? person_name(s, c, id) : reply_error(c, 405, "use POST to name a person");
    if (strncmp(url, "/api/faces/", 11) == 0 && route_id(url + 11, "/thumb", &id))
        return get ? face_thumb(s, c, id) : reply_error(c, 405, "use GET");
    return reply_error(c, 404, "no such endpoint");
}
