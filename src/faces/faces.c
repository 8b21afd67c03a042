/* The face pipeline as face-api's detectAllFaces(...).withFaceLandmarks().withFaceDescriptors() runs it:
 * detect; crop each detection box (clipped to the image, floored) for the landmark net; shift the landmarks by the
 * box's corner; take the dlib alignment rectangle from the eye and mouth centres (FaceLandmarks.alignDlib); crop it
 * (clipped, floored) for the descriptor net. */
#include "faces.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

psk_face_params psk_face_default_params(void) {
    psk_face_params p = {0.5f, 100, 0, PSK_FACE_DETECTOR_SSD};
    return p;
}

const char *psk_face_detector_name(psk_face_detector d) {
    return d == PSK_FACE_DETECTOR_TINY ? "tiny" : d == PSK_FACE_DETECTOR_AUTO ? "auto" : "ssd";
}

int psk_face_detector_parse(const char *name, psk_face_detector *out) {
    if (name && strcmp(name, "ssd") == 0) *out = PSK_FACE_DETECTOR_SSD;
    else if (name && strcmp(name, "tiny") == 0) *out = PSK_FACE_DETECTOR_TINY;
    else if (name && strcmp(name, "auto") == 0) *out = PSK_FACE_DETECTOR_AUTO;
    else return 0;
    return 1;
}

void psk_face_model_free(psk_face_model *m) {
    if (!m) return;
    fc_ssd_free(&m->ssd);
    fc_tiny_free(&m->tiny);
    fc_landmarks_free(&m->lm);
    fc_descriptor_free(&m->desc);
    psk_free(m);
}

psk_status psk_face_model_load(const char *dir, psk_face_model **out, psk_error *err) {
    *out = NULL;
    if (!psk_dir_exists(dir))
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no face model folder (get one with `photoseek model fetch faces`)",
                        dir);
    psk_face_model *m = psk_calloc(1, sizeof *m);
    if (!m) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(m->dir, sizeof m->dir, "%s", dir);
    int rc = fc_ssd_load(&m->ssd, dir, err);
    if (!rc) rc = fc_tiny_load(&m->tiny, dir, err);
    if (!rc) rc = fc_landmarks_load(&m->lm, dir, err);
    if (!rc) rc = fc_descriptor_load(&m->desc, dir, err);
    if (rc) {
        psk_face_model_free(m);
        return rc;
    }
    *out = m;
    return PSK_OK;
}

float psk_face_distance(const float *a, const float *b) {
    double s = 0;
    for (int i = 0; i < PSK_FACE_DIM; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return (float)sqrt(s);
}

/* Box.clipAtImageBorders then floor: the integer crop face-api slices. False when nothing is left. */
static bool clip_box(double x, double y, double w, double h, int img_w, int img_h, int r[4]) {
    double cx = fmax(x, 0), cy = fmax(y, 0);
    double cw = fmin(x + w - cx, img_w - cx), ch = fmin(y + h - cy, img_h - cy);
    r[0] = (int)floor(cx);
    r[1] = (int)floor(cy);
    r[2] = (int)floor(cw);
    r[3] = (int)floor(ch);
    return r[2] > 0 && r[3] > 0 && r[0] < img_w && r[1] < img_h;
}

static void centre(const double *pts, int first, int n, double c[2]) {
    c[0] = c[1] = 0;
    for (int i = first; i < first + n; i++) {
        c[0] += pts[2 * i];
        c[1] += pts[2 * i + 1];
    }
    c[0] /= n;
    c[1] /= n;
}

/* FaceLandmarks.alignDlib on the shifted landmarks; crop_w/h are the landmark crop's size (its image dims). */
static void align_dlib(const double *pts, int crop_w, int crop_h, double r[4]) {
    double le[2], re[2], mo[2];
    centre(pts, 36, 6, le);
    centre(pts, 42, 6, re);
    centre(pts, 48, 20, mo);
    double d = (hypot(mo[0] - le[0], mo[1] - le[1]) + hypot(mo[0] - re[0], mo[1] - re[1])) / 2;
    double size = floor(d / 0.45);
    double rx = (le[0] + re[0] + mo[0]) / 3, ry = (le[1] + re[1] + mo[1]) / 3;
    double x = floor(fmax(0, rx - 0.5 * size)), y = floor(fmax(0, ry - 0.43 * size));
    r[0] = x;
    r[1] = y;
    r[2] = fmin(size, crop_w + x);
    r[3] = fmin(size, crop_h + y);
}

/* The detections of p->detector (auto: see psk_face_detector). */
static int detect(const psk_face_model *m, psk_pool *pool, const psk_image *img, const psk_face_params *p,
                  fc_detection **det, int *n, psk_error *err) {
    if (p->detector == PSK_FACE_DETECTOR_SSD)
        return fc_ssd_detect(&m->ssd, pool, img->rgb, img->width, img->height, p->min_score, p->max_faces, det, n, err);
    if (p->detector == PSK_FACE_DETECTOR_TINY)
        return fc_tiny_detect(&m->tiny, pool, img->rgb, img->width, img->height, p->min_score, p->max_faces, det, n,
                              err);
    /* auto: the tiny detector's candidates down to the lower of its bands and min_score, best first (at most 10000:
     * those past max_faces only matter as doubtful ones); the bands are fixed, min_score only filters the faces
     * kept, so that a lower min_score never turns the SSD off */
    float gate = PSK_FACE_AUTO_FAINT < p->min_score ? PSK_FACE_AUTO_FAINT : p->min_score;
    int rc = fc_tiny_detect(&m->tiny, pool, img->rgb, img->width, img->height, gate, 10000, det, n, err);
    if (rc) return rc;
    bool sure = false, unsure = false, faint = false;
    for (int i = 0; i < *n; i++) {
        double s = (*det)[i].score;
        sure |= s > PSK_FACE_AUTO_SURE;
        unsure |= s > PSK_FACE_AUTO_UNSURE && !(s > PSK_FACE_AUTO_SURE);
        faint |= s > PSK_FACE_AUTO_FAINT && !(s > PSK_FACE_AUTO_SURE);
    }
    if (!unsure && !(faint && !sure)) { /* the tiny detector is sure of what it saw: its faces above min_score */
        int keep = 0;
        while (keep < *n && keep < p->max_faces && (*det)[keep].score > p->min_score) keep++;
        *n = keep;
        if (!*n) {
            psk_free(*det);
            *det = NULL;
        }
        return PSK_OK;
    }
    psk_free(*det);
    *det = NULL;
    *n = 0;
    return fc_ssd_detect(&m->ssd, pool, img->rgb, img->width, img->height, p->min_score, p->max_faces, det, n, err);
}

psk_status psk_faces_detect(const psk_face_model *m, const psk_image *img, const psk_face_params *params,
                            psk_face **faces, int *n, psk_error *err) {
    *faces = NULL;
    *n = 0;
    psk_face_params p = params ? *params : psk_face_default_params();
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "no image to look for faces in");
    if (!(p.min_score >= 0 && p.min_score < 1) || p.max_faces < 1 ||
        (p.detector != PSK_FACE_DETECTOR_SSD && p.detector != PSK_FACE_DETECTOR_TINY &&
         p.detector != PSK_FACE_DETECTOR_AUTO))
        return psk_fail(err, PSK_ERR_INVALID_ARG,
                        "face parameters: min_score must be in [0, 1), max_faces >= 1, the detector ssd, tiny or auto");
    int threads = p.n_threads > 0 ? p.n_threads : psk_cpu_count();
    psk_pool *pool = NULL;
    if (threads > 1 && psk_pool_new(threads, &pool)) pool = NULL;
    fc_detection *det = NULL;
    int n_det = 0, n_out = 0;
    int rc = detect(m, pool, img, &p, &det, &n_det, err);
    psk_face *out = NULL;
    if (!rc && n_det && !(out = psk_calloc((size_t)n_det, sizeof *out)))
        rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    /* the faces go through the landmark and descriptor nets in batches of up to FC_BATCH_MAX */
    for (int i = 0; i < n_det && !rc;) {
        int crop[FC_BATCH_MAX][4], chip[FC_BATCH_MAX][4], first = n_out, nb = 0, nc = 0, chip_of[FC_BATCH_MAX];
        const fc_detection *d[FC_BATCH_MAX];
        for (; i < n_det && nb < FC_BATCH_MAX; i++)
            if (clip_box(det[i].x, det[i].y, det[i].w, det[i].h, img->width, img->height, crop[nb]))
                d[nb++] = &det[i];
        if (!nb) break;
        double rel[FC_BATCH_MAX][136];
        rc = fc_landmarks_run_n(&m->lm, pool, img->rgb, img->width, nb, (const int (*)[4])crop, rel, err);
        for (int j = 0; j < nb && !rc; j++) {
            double pts[136], r[4];
            psk_face *f = &out[n_out++];
            for (int k = 0; k < 68; k++) {
                pts[2 * k] = rel[j][2 * k] * crop[j][2] + d[j]->x;
                pts[2 * k + 1] = rel[j][2 * k + 1] * crop[j][3] + d[j]->y;
                f->landmarks[k][0] = (float)pts[2 * k];
                f->landmarks[k][1] = (float)pts[2 * k + 1];
            }
            f->box[0] = (float)d[j]->x;
            f->box[1] = (float)d[j]->y;
            f->box[2] = (float)d[j]->w;
            f->box[3] = (float)d[j]->h;
            f->score = d[j]->score;
            align_dlib(pts, crop[j][2], crop[j][3], r);
            if (clip_box(r[0], r[1], r[2], r[3], img->width, img->height, chip[nc])) chip_of[nc++] = first + j;
        }
        float desc[FC_BATCH_MAX][128];
        if (!rc && nc) rc = fc_descriptor_run_n(&m->desc, pool, img->rgb, img->width, nc, (const int (*)[4])chip, desc, err);
        for (int j = 0; j < nc && !rc; j++) memcpy(out[chip_of[j]].descriptor, desc[j], sizeof desc[j]);
    }
    psk_free(det);
    psk_pool_free(pool);
    if (rc || n_out == 0) {
        psk_free(out);
        return rc;
    }
    *faces = out;
    *n = n_out;
    return PSK_OK;
}

psk_status psk_faces_detect_scaled(const psk_face_model *m, const psk_image *img, const psk_face_params *params,
                                   psk_face **faces, int *n, psk_error *err) {
    psk_status rc = psk_faces_detect(m, img, params, faces, n, err);
    if (rc || img->info.width <= 0 || img->info.height <= 0) return rc;
    double sx = (double)img->info.width / img->width, sy = (double)img->info.height / img->height;
    if (sx == 1.0 && sy == 1.0) return PSK_OK;
    for (int i = 0; i < *n; i++) {
        psk_face *f = &(*faces)[i];
        f->box[0] = (float)(f->box[0] * sx);
        f->box[1] = (float)(f->box[1] * sy);
        f->box[2] = (float)(f->box[2] * sx);
        f->box[3] = (float)(f->box[3] * sy);
        for (int k = 0; k < PSK_FACE_LANDMARKS; k++) {
            f->landmarks[k][0] = (float)(f->landmarks[k][0] * sx);
            f->landmarks[k][1] = (float)(f->landmarks[k][1] * sy);
        }
    }
    return PSK_OK;
}
