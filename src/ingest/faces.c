/* Faces at indexing: the face model an index run uses (psk_index_params.faces), the faces of a decoded image as
 * the store keeps them, and the rows older runs did not look at (a library indexed before faces were on). The
 * pipeline (pipeline.c) looks at the photos it decodes itself; the grouping into people follows the run. */
#include "ingest.h"

#include <stdio.h>
#include <string.h>

int ingest_faces_open(const psk_index_params *p, psk_face_model **out, psk_error *err) {
    *out = NULL;
    if (p->faces == PSK_FACES_OFF) return PSK_OK;
    char dir[1100];
    if (p->faces_dir) snprintf(dir, sizeof dir, "%s", p->faces_dir);
    else {
        char models[1024];
        psk_default_models_dir(models, sizeof models);
        snprintf(dir, sizeof dir, "%s/faces", models);
    }
    if (p->faces == PSK_FACES_AUTO && !psk_dir_exists(dir)) return PSK_OK;
    int rc = psk_face_model_load(dir, out, err);
    if (rc == PSK_ERR_NOT_FOUND)
        psk_fail(err, rc, "%s: no face model (get it with 'photoseek model fetch faces', or index with --faces off)",
                 dir);
    return rc;
}

int ingest_detect_faces(const psk_face_model *m, const psk_image *img, int64_t frame_ms, int n_threads,
                        psk_face_detector detector, store_face **faces, int *n, psk_error *err) {
    psk_face_params fp = psk_face_default_params();
    fp.n_threads = n_threads;
    fp.detector = detector;
    psk_face *found = NULL;
    int n_found = 0;
    int rc = psk_faces_detect(m, img, &fp, &found, &n_found, err);
    if (rc || !n_found) return rc;
    store_face *grown = psk_realloc(*faces, sizeof *grown * (size_t)(*n + n_found));
    if (!grown) {
        psk_free_buffer(found);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    *faces = grown;
    /* the image may have been decoded scaled down: boxes in the full-size upright image's pixels */
    double sx = img->info.width > 0 ? (double)img->info.width / img->width : 1;
    double sy = img->info.height > 0 ? (double)img->info.height / img->height : 1;
    for (int i = 0; i < n_found; i++) {
        store_face *f = &grown[(*n)++];
        f->frame_ms = frame_ms;
        f->box[0] = (float)(found[i].box[0] * sx);
        f->box[1] = (float)(found[i].box[1] * sy);
        f->box[2] = (float)(found[i].box[2] * sx);
        f->box[3] = (float)(found[i].box[3] * sy);
        f->score = found[i].score;
        memcpy(f->desc, found[i].descriptor, sizeof f->desc);
    }
    psk_free_buffer(found);
    return PSK_OK;
}

/* The faces of one stored row: a photo decoded again, a video's sampled frames. A file that cannot be read now
 * is looked at again by the next run. */
static int scan_row(const psk_face_model *m, const char *path, int type, int n_threads, psk_face_detector detector,
                    store_face **faces, int *n,
                    psk_error *err) {
    if (type != 2) {
        psk_image *img = NULL;
        psk_image_params ip = psk_image_default_params();
        ip.min_short_side = INGEST_FACE_SHORT_SIDE;
        int rc = psk_image_load(path, &ip, &img, err);
        if (!rc) rc = ingest_detect_faces(m, img, -1, n_threads, detector, faces, n, err);
        psk_image_free(img);
        return rc;
    }
    psk_video_sampler *v = NULL;
    int rc = psk_video_sampler_open(path, NULL, &v, err);
    while (!rc) {
        psk_image *frame = NULL;
        int64_t t = 0;
        if ((rc = psk_video_sampler_next(v, &frame, &t, err))) break;
        rc = ingest_detect_faces(m, frame, t, n_threads, detector, faces, n, err);
        psk_image_free(frame);
    }
    psk_video_sampler_close(v);
    return rc == PSK_ERR_NOT_FOUND ? PSK_OK : rc;
}

int ingest_faces_backfill(psk_store *s, const psk_face_model *m, const psk_index_params *p, psk_index_stats *stats,
                          psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s,
                           "SELECT id, path, type FROM media m WHERE error IS NULL AND NOT EXISTS (SELECT 1 FROM"
                           " face_scans WHERE media_id = m.id) ORDER BY id",
                           &st, err);
    if (rc) return rc;
    /* the ids first: the rows are written while they are read */
    int64_t *ids = NULL;
    char **paths = NULL;
    int *types = NULL, n = 0, cap = 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *a = psk_realloc(ids, sizeof *a * (size_t)cap);
            if (a) ids = a;
            char **b = psk_realloc(paths, sizeof *b * (size_t)cap);
            if (b) paths = b;
            int *c = psk_realloc(types, sizeof *c * (size_t)cap);
            if (c) types = c;
            if (!a || !b || !c) {
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
        }
        ids[n] = sqlite3_column_int64(st, 0);
        types[n] = sqlite3_column_int(st, 2);
        if (!(paths[n] = psk_strdup((const char *)sqlite3_column_text(st, 1)))) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        else n++;
    }
    sqlite3_finalize(st);
    for (int i = 0; !rc && i < n && !(p->cancel && *p->cancel); i++) {
        store_face *faces = NULL;
        int n_faces = 0;
        psk_error ferr = {0};
        if (scan_row(m, paths[i], types[i], p->n_threads, p->face_detector, &faces, &n_faces, &ferr) == PSK_OK) {
            if (!(rc = store_exec(s, "BEGIN IMMEDIATE", err))) {
                rc = store_put_faces(s, ids[i], faces, n_faces, err);
                if (!rc) rc = store_exec(s, "COMMIT", err);
                else store_exec(s, "ROLLBACK", NULL);
            }
            if (!rc) stats->faces += n_faces, stats->face_scanned++;
        }
        psk_free(faces);
    }
    for (int i = 0; i < n; i++) psk_free(paths[i]);
    psk_free(ids), psk_free(paths), psk_free(types);
    return rc;
}
