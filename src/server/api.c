/* The JSON endpoints. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *arg(void *c, const char *name) {
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static void taken_iso(const psk_result *r, char *buf, size_t cap) {
    if (!r->taken_local[0]) {
        buf[0] = 0;
        return;
    }
    snprintf(buf, cap, "%.10sT%s", r->taken_local, r->taken_local + 11);
    if (r->has_offset) {
        int o = r->offset_minutes, a = o < 0 ? -o : o;
        snprintf(buf + strlen(buf), cap - strlen(buf), "%c%02d:%02d", o < 0 ? '-' : '+', a / 60, a % 60);
    }
}

static void result_json(jbuf *b, const psk_result *r) {
    char when[40];
    taken_iso(r, when, sizeof when);
    jb_printf(b, "{\"id\": %lld, \"path\": ", (long long)r->id);
    jb_str(b, r->path);
    jb_printf(b, ", \"score\": %.6f, \"taken_at\": ", r->score);
    if (when[0]) jb_str(b, when);
    else jb_raw(b, "null");
    jb_printf(b, ", \"type\": \"%s\", \"width\": %d, \"height\": %d, \"camera\": ",
              r->type == PSK_TYPE_VIDEO ? "video" : "photo", r->width, r->height);
    if (r->camera[0]) jb_str(b, r->camera);
    else jb_raw(b, "null");
    if (r->type == PSK_TYPE_VIDEO) {
        jb_printf(b, ", \"frame_ms\": %lld, \"thumb\": \"/api/media/%lld/thumb?t=%lld\"", (long long)r->frame_ms,
                  (long long)r->id, (long long)(r->frame_ms > 0 ? r->frame_ms : 0));
        jb_raw(b, ", \"moments\": [");
        for (int j = 0; j < r->n_moments; j++)
            jb_printf(b, "%s{\"frame_ms\": %lld, \"score\": %.6f}", j ? ", " : "", (long long)r->moment_ms[j],
                      r->moment_score[j]);
        jb_raw(b, "]");
    } else {
        jb_printf(b, ", \"thumb\": \"/api/media/%lld/thumb\"", (long long)r->id);
    }
    if (r->group) jb_printf(b, ", \"group\": %lld, \"group_size\": %d", (long long)r->group, r->group_size);
    if (r->has_gps) jb_printf(b, ", \"gps\": [%.7f, %.7f]", r->lat, r->lon);
    else jb_raw(b, ", \"gps\": null");
    if (r->country_code[0]) { /* the same fields as the command line's --json */
        jb_raw(b, ", \"place\": {\"city\": ");
        jb_str(b, r->city);
        jb_raw(b, ", \"region\": ");
        if (r->region[0]) jb_str(b, r->region);
        else jb_raw(b, "null");
        jb_raw(b, ", \"country\": ");
        jb_str(b, r->country);
        jb_raw(b, ", \"country_code\": ");
        jb_str(b, r->country_code);
        jb_raw(b, "}");
    } else {
        jb_raw(b, ", \"place\": null");
    }
    if (r->text[0]) { /* a hit by the words in the photo: the words around the match */
        jb_raw(b, ", \"text\": ");
        jb_str(b, r->text);
    }
    jb_printf(b, ", \"file\": \"/api/media/%lld/file\"}", (long long)r->id);
}

/* {"results": [...], "count": N, "took_ms": T} */
static enum MHD_Result reply_results(struct MHD_Connection *c, const psk_result *res, int n, double t0) {
    jbuf b = {0};
    jb_raw(&b, "{\"results\": [");
    for (int i = 0; i < n; i++) {
        if (i) jb_raw(&b, ", ");
        result_json(&b, &res[i]);
    }
    jb_printf(&b, "], \"count\": %d, \"took_ms\": %.1f}", n, now_ms() - t0);
    enum MHD_Result r = b.oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b.s);
    jb_free(&b);
    return r;
}

enum MHD_Result api_search(server *s, struct MHD_Connection *c, bool similar) {
    psk_search_params p = psk_search_default_params();
    int64_t id;
    char msg[600];
    unsigned bad = parse_search_params(arg, c, similar, &p, &id, msg, sizeof msg);
    if (bad) return reply_error(c, bad, "%s", msg);
    p.text_model_dir = s->p->text_model;
    p.image_model_dir = s->p->image_model;
    p.n_threads = 2;
    p.all_moments = 1;
    const char *collapse = arg(c, "collapse"); /* each near-duplicate group once, unless collapse=0 */
    p.collapse_groups = !(collapse && strcmp(collapse, "0") == 0);
    psk_place_match places[MAX_PLACE_FILTERS];
    if ((bad = parse_place_params(arg, c, places, MAX_PLACE_FILTERS, &p.filter.n_places, msg, sizeof msg)))
        return reply_error(c, bad, "%s", msg);
    if (p.filter.n_places) p.filter.places = places;
    int64_t person_ids[MAX_PERSON_FILTERS];
    if ((bad = parse_person_params(arg, c, person_ids, MAX_PERSON_FILTERS, &p.filter.n_person_ids, msg, sizeof msg)))
        return reply_error(c, bad, "%s", msg);
    if (p.filter.n_person_ids) p.filter.person_ids = person_ids;
    psk_result *res = NULL;
    int n = 0;
    psk_error err = {0};
    double t0 = now_ms();
    psk_library *lib = reader_take(s, &err);
    int rc = !lib     ? PSK_ERR_IO
             : similar ? psk_library_similar_id(lib, id, &p, &res, &n, &err)
                       : psk_library_search(lib, &p, &res, &n, &err);
    if (lib) reader_give(s, lib);
    if (rc) {
        unsigned status = rc == PSK_ERR_INVALID_ARG || rc == PSK_ERR_UNSUPPORTED ? 400 : rc == PSK_ERR_NOT_FOUND ? 404 : 500;
        return reply_error(c, status, "%s", err.message);
    }
    enum MHD_Result r = reply_results(c, res, n, t0);
    psk_results_free(res);
    return r;
}

enum MHD_Result api_media(server *s, struct MHD_Connection *c, int64_t id) {
    psk_result r;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_get_media(lib, id, &r, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, rc == PSK_ERR_NOT_FOUND ? 404 : 500, "%s", err.message);
    jbuf b = {0};
    result_json(&b, &r);
    enum MHD_Result ret = b.oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b.s);
    jb_free(&b);
    return ret;
}

static void facet_list(jbuf *b, const char *name, const psk_facet *f, int n) {
    jb_printf(b, "\"%s\": [", name);
    for (int i = 0; i < n; i++) {
        jb_raw(b, i ? ", {\"value\": " : "{\"value\": ");
        jb_str(b, f[i].value);
        jb_printf(b, ", \"count\": %lld}", (long long)f[i].count);
    }
    jb_raw(b, "]");
}

enum MHD_Result api_facets(server *s, struct MHD_Connection *c) {
    psk_facets *f;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_facets(lib, &f, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, 500, "%s", err.message);
    jbuf b = {0};
    jb_raw(&b, "{");
    facet_list(&b, "years", f->years, f->n_years);
    jb_raw(&b, ", ");
    facet_list(&b, "months", f->months, f->n_months);
    jb_raw(&b, ", ");
    facet_list(&b, "types", f->types, f->n_types);
    jb_raw(&b, ", ");
    facet_list(&b, "cameras", f->cameras, f->n_cameras);
    jb_raw(&b, ", ");
    facet_list(&b, "folders", f->folders, f->n_folders);
    jb_raw(&b, ", ");
    facet_list(&b, "countries", f->countries, f->n_countries); /* "JP" */
    jb_raw(&b, ", ");
    facet_list(&b, "places", f->places, f->n_places > 200 ? 200 : f->n_places); /* "JP<TAB>region<TAB>city" */
    jb_raw(&b, "}");
    psk_facets_free(f);
    enum MHD_Result ret = b.oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b.s);
    jb_free(&b);
    return ret;
}

enum MHD_Result api_status(server *s, struct MHD_Connection *c) {
    psk_library_status st;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_get_status(lib, &st, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, 500, "%s", err.message);
    jbuf b = {0};
    jb_printf(&b, "{\"photos\": %lld, \"videos\": %lld, \"failed\": %lld, \"db_bytes\": %lld, \"model\": ",
              (long long)st.photos, (long long)st.videos, (long long)st.failed, (long long)st.db_bytes);
    jb_str(&b, st.model_id);
    jb_printf(&b, ", \"last_run_at\": %lld, \"last_run\": ", (long long)st.last_run_at);
    jb_str(&b, st.last_run);
    pthread_mutex_lock(&s->index_mu);
    jb_printf(&b, ", \"indexing\": {\"running\": %s, \"done\": %lld, \"total\": %lld, \"unchanged\": %lld, \"result\": ",
              s->indexing ? "true" : "false", (long long)s->index_progress.done, (long long)s->index_progress.total,
              (long long)s->index_progress.unchanged);
    jb_str(&b, s->index_result);
    pthread_mutex_unlock(&s->index_mu);
    jb_raw(&b, "}}");
    enum MHD_Result ret = b.oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b.s);
    jb_free(&b);
    return ret;
}

static void on_index_progress(void *user, const psk_index_progress *p) {
    server *s = user;
    pthread_mutex_lock(&s->index_mu);
    s->index_progress = *p;
    s->index_progress.current = NULL;
    pthread_mutex_unlock(&s->index_mu);
}

static void *index_main(void *arg) {
    server *s = arg;
    psk_library *w = NULL;
    psk_error err = {0};
    char result[512] = "";
    psk_library_status st;
    int rc = psk_library_open(s->p->db, PSK_OPEN_WRITE, &w, &err);
    if (!rc) rc = psk_library_get_status(w, &st, &err);
    const char *roots_buf[64];
    const char *const *roots = s->p->roots;
    int n_roots = s->p->n_roots;
    char last_roots[sizeof st.last_roots];
    if (!rc && n_roots == 0) {
        /* the folders of the last index run, one per line */
        snprintf(last_roots, sizeof last_roots, "%s", st.last_roots);
        for (char *tok = strtok(last_roots, "\n"); tok && n_roots < 64; tok = strtok(NULL, "\n")) roots_buf[n_roots++] = tok;
        roots = roots_buf;
        if (n_roots == 0) rc = server_fail(&err, PSK_ERR_INVALID_ARG, "no folders to index: start serve with --root");
    }
    if (!rc) {
        psk_index_params p = psk_index_default_params();
        p.roots = roots;
        p.n_roots = n_roots;
        p.image_model_dir = s->p->image_model ? s->p->image_model : st.model_dir;
        p.progress = on_index_progress;
        p.progress_user = s;
        p.cancel = &s->index_cancel;
        p.faces = PSK_FACES_AUTO; /* as the command line: faces and people once the face model is fetched */
        psk_index_stats stats;
        rc = psk_library_index(w, &p, &stats, &err);
        if (!rc)
            snprintf(result, sizeof result, "%lld indexed, %lld unchanged, %lld moved, %lld removed, %lld failed",
                     (long long)stats.indexed, (long long)stats.unchanged, (long long)stats.moved,
                     (long long)stats.removed, (long long)stats.failed);
    }
    if (rc) snprintf(result, sizeof result, "error: %.500s", err.message);
    psk_library_close(w);
    pthread_mutex_lock(&s->index_mu);
    snprintf(s->index_result, sizeof s->index_result, "%s", result);
    s->indexing = false;
    pthread_mutex_unlock(&s->index_mu);
    return NULL;
}

enum MHD_Result api_index(server *s, struct MHD_Connection *c) {
    pthread_mutex_lock(&s->index_mu);
    if (s->indexing) {
        pthread_mutex_unlock(&s->index_mu);
        return reply_error(c, 409, "an index run is already going (see /api/status)");
    }
    if (s->index_thread_started) pthread_join(s->index_thread, NULL);
    s->indexing = true;
    s->index_result[0] = 0;
    memset(&s->index_progress, 0, sizeof s->index_progress);
    s->index_thread_started = pthread_create(&s->index_thread, NULL, index_main, s) == 0;
    if (!s->index_thread_started) s->indexing = false;
    pthread_mutex_unlock(&s->index_mu);
    if (!s->index_thread_started) return reply_error(c, 500, "cannot start the index run");
    return reply_json(c, 202, "{\"started\": true}");
}

/* GET /api/duplicates?group=N: the members of the group a collapsed result stands for (its "group"), the
 * suggested keeper first, as results. */
static enum MHD_Result api_group(server *s, struct MHD_Connection *c, const char *group) {
    char *end;
    long long g = strtoll(group, &end, 10);
    if (!*group || *end || g <= 0) return reply_error(c, 400, "group must be a positive number (a result's group)");
    psk_result *res = NULL;
    int n = 0;
    psk_error err = {0};
    double t0 = now_ms();
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_group(lib, (int64_t)g, &res, &n, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, rc == PSK_ERR_NOT_FOUND ? 404 : rc == PSK_ERR_UNSUPPORTED ? 501 : 500, "%s", err.message);
    enum MHD_Result r = reply_results(c, res, n, t0);
    psk_results_free(res);
    return r;
}

/* GET /api/media/ID/text: the words read in a photo, with their boxes in the upright full-size image's pixels
 * (width, height: that image's size), for the viewer to draw over the photo. */
enum MHD_Result api_media_text(server *s, struct MHD_Connection *c, int64_t id) {
    psk_result r;
    char *text = NULL, *words = NULL;
    psk_error err = {0};
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_get_media(lib, id, &r, &err) : PSK_ERR_IO;
    if (!rc) rc = psk_library_media_text(lib, id, &text, &words, &err);
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, rc == PSK_ERR_NOT_FOUND ? 404 : rc == PSK_ERR_UNSUPPORTED ? 501 : 500, "%s", err.message);
    jbuf b = {0};
    jb_printf(&b, "{\"id\": %lld, \"width\": %d, \"height\": %d, \"text\": ", (long long)id, r.width, r.height);
    jb_str(&b, text);
    jb_raw(&b, ", \"words\": ");
    jb_raw(&b, words); /* written by the indexer as JSON (src/ingest/pipeline.c) */
    jb_raw(&b, "}");
    psk_free_buffer(text);
    psk_free_buffer(words);
    enum MHD_Result ret = b.oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b.s);
    jb_free(&b);
    return ret;
}

/* GET /api/duplicates[?threshold=T]: the near-duplicate groups, each with its suggested keeper first. */
enum MHD_Result api_duplicates(server *s, struct MHD_Connection *c) {
    const char *group = arg(c, "group");
    if (group) return api_group(s, c, group);
    psk_dups_params p = psk_dups_default_params();
    const char *t = arg(c, "threshold");
    if (t) {
        char *end;
        double v = strtod(t, &end);
        if (!*t || *end || !(v > 0 && v < 1)) return reply_error(c, 400, "threshold must be a number between 0 and 1");
        p.threshold = (float)v;
    }
    p.n_threads = 2;
    psk_dup_group *g = NULL;
    int n = 0;
    psk_error err = {0};
    double t0 = now_ms();
    psk_library *lib = reader_take(s, &err);
    int rc = lib ? psk_library_duplicates(lib, &p, &g, &n, &err) : PSK_ERR_IO;
    if (lib) reader_give(s, lib);
    if (rc) return reply_error(c, rc == PSK_ERR_UNSUPPORTED ? 501 : 500, "%s", err.message);
    jbuf b = {0};
    jb_raw(&b, "{\"groups\": [");
    for (int i = 0; i < n; i++) {
        jb_printf(&b, "%s{\"group\": %d, \"kind\": ", i ? ", " : "", g[i].group);
        jb_str(&b, g[i].kind);
        jb_raw(&b, ", \"keeper\": ");
        jb_str(&b, g[i].members[0].path);
        jb_raw(&b, ", \"rule\": ");
        jb_str(&b, g[i].keeper_rule);
        jb_raw(&b, ", \"why\": ");
        jb_str(&b, g[i].why);
        jb_raw(&b, ", \"members\": [");
        for (int k = 0; k < g[i].n_members; k++) {
            const psk_dup_member *m = &g[i].members[k];
            jb_printf(&b, "%s{\"id\": %lld, \"path\": ", k ? ", " : "", (long long)m->id);
            jb_str(&b, m->path);
            jb_printf(&b,
                      ", \"similarity\": %.4f, \"width\": %d, \"height\": %d, \"bytes\": %lld, \"taken_at\": %lld,"
                      " \"thumb\": \"/api/media/%lld/thumb\", \"file\": \"/api/media/%lld/file\"}",
                      m->similarity, m->width, m->height, (long long)m->bytes, (long long)m->taken_at,
                      (long long)m->id, (long long)m->id);
        }
        jb_raw(&b, "]}");
    }
    jb_printf(&b, "], \"count\": %d, \"took_ms\": %.1f}", n, now_ms() - t0);
    psk_dup_groups_free(g, n);
    enum MHD_Result r = b.oom ? reply_error(c, 500, "out of memory") : reply_json(c, 200, b.s);
    jb_free(&b);
    return r;
}
