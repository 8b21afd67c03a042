/* Reading the text in a photo with Tesseract 5 (its C API): the upright image in grey at a size that suits
 * Tesseract, words with their confidence and box, and sideways text found by reading the image turned when the
 * upright pass finds little. */
#include "ocr.h"

#include "../common/common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>

struct psk_ocr {
    TessBaseAPI *api;
    psk_ocr_params p;
};

psk_ocr_params psk_ocr_default_params(void) {
    psk_ocr_params p = {0};
    p.langs = "eng+chi_sim";
    p.max_side = 2400;
    p.try_rotations = 1;
    p.min_conf = 30;
    return p;
}

static const char *tessdata_dir(const psk_ocr_params *p) {
    if (p->tessdata && *p->tessdata) return p->tessdata;
    const char *env = getenv("TESSDATA_PREFIX");
    if (env && *env) return env;
    return "/usr/share/tesseract-ocr/5/tessdata";
}

/* Every language's data must be there: Tesseract's own message for a missing one is a line on stderr. */
static int check_langs(const char *dir, const char *langs, psk_error *err) {
    char lang[64];
    for (const char *s = langs; *s;) {
        size_t n = strcspn(s, "+");
        if (n == 0 || n >= sizeof lang) return psk_fail(err, PSK_ERR_INVALID_ARG, "bad OCR language list '%s'", langs);
        memcpy(lang, s, n);
        lang[n] = 0;
        for (size_t i = 0; i < n; i++)
            if (!((lang[i] >= 'a' && lang[i] <= 'z') || lang[i] == '_' || (lang[i] >= 'A' && lang[i] <= 'Z')))
                return psk_fail(err, PSK_ERR_INVALID_ARG, "bad OCR language '%s' (e.g. eng, chi_sim)", lang);
        char path[1200], pkg[80];
        snprintf(path, sizeof path, "%s/%s.traineddata", dir, lang);
        if (!psk_file_exists(path)) {
            snprintf(pkg, sizeof pkg, "tesseract-ocr-%s", lang);
            for (char *c = pkg; *c; c++)
                if (*c == '_') *c = '-';
                else if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
            return psk_fail(err, PSK_ERR_NOT_FOUND,
                            "no Tesseract data for the language '%s' (%s): install the Debian package %s", lang, path,
                            pkg);
        }
        s += n;
        if (*s == '+') s++;
    }
    return PSK_OK;
}

psk_status psk_ocr_open(const psk_ocr_params *params, psk_ocr **out, psk_error *err) {
    *out = NULL;
    psk_ocr_params p = params ? *params : psk_ocr_default_params();
    if (!p.langs || !*p.langs) p.langs = "eng+chi_sim";
    if (p.max_side <= 0) p.max_side = 2400;
    const char *dir = tessdata_dir(&p);
    int rc = check_langs(dir, p.langs, err);
    if (rc) return rc;
    psk_ocr *o = psk_calloc(1, sizeof *o);
    if (!o) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    o->p = p;
    o->api = TessBaseAPICreate();
    /* Tesseract writes its notes ("Estimating resolution as ...") to stderr unless told otherwise. */
    if (!o->api || TessBaseAPIInit3(o->api, dir, p.langs) != 0) {
        psk_ocr_close(o);
        return psk_fail(err, PSK_ERR_FORMAT, "Tesseract could not load the languages %s from %s", p.langs, dir);
    }
    TessBaseAPISetVariable(o->api, "debug_file", "/dev/null");
    /* Tesseract's own page layout analysis: measured on the generated test set, it reads signs, screenshots and
     * Chinese better than sparse-text mode, which breaks lines into fragments and reads texture as letters. */
    TessBaseAPISetPageSegMode(o->api, PSM_AUTO);
    *out = o;
    return PSK_OK;
}

void psk_ocr_close(psk_ocr *o) {
    if (!o) return;
    if (o->api) {
        TessBaseAPIEnd(o->api);
        TessBaseAPIDelete(o->api);
    }
    psk_free(o);
}

/* One pass's words before they are mapped back to the image. */
typedef struct raw_word {
    char *text;
    float conf;
    int l, t, r, b, line;
} raw_word;

typedef struct pass {
    raw_word *w;
    int n, cap;
    double weight; /* sum of confident characters: which turn of the image reads best */
} pass;

static void pass_free(pass *ps) {
    for (int i = 0; i < ps->n; i++) psk_free(ps->w[i].text);
    psk_free(ps->w);
    memset(ps, 0, sizeof *ps);
}

static int read_pass(psk_ocr *o, const ocr_gray *g, pass *ps, psk_error *err) {
    memset(ps, 0, sizeof *ps);
    TessBaseAPISetImage(o->api, g->px, g->w, g->h, 1, g->w);
    TessBaseAPISetSourceResolution(o->api, 150);
    if (TessBaseAPIRecognize(o->api, NULL) != 0) return psk_fail(err, PSK_ERR_FORMAT, "Tesseract could not read the image");
    TessResultIterator *ri = TessBaseAPIGetIterator(o->api);
    if (!ri) return PSK_OK; /* no text at all */
    TessPageIterator *pi = (TessPageIterator *)TessResultIteratorGetPageIterator(ri);
    int line = 0, rc = PSK_OK;
    do {
        char *text = TessResultIteratorGetUTF8Text(ri, RIL_WORD);
        if (!text) continue;
        float conf = TessResultIteratorConfidence(ri, RIL_WORD);
        int l, t, r, b;
        bool boxed = TessPageIteratorBoundingBox(pi, RIL_WORD, &l, &t, &r, &b);
        bool line_end = TessPageIteratorIsAtFinalElement(pi, RIL_TEXTLINE, RIL_WORD);
        size_t len = strlen(text);
        bool blank = strspn(text, " \t\n") == len;
        if (boxed && !blank && conf >= o->p.min_conf) {
            if (ps->n == ps->cap) {
                int cap = ps->cap ? ps->cap * 2 : 64;
                raw_word *nw = psk_realloc(ps->w, sizeof *nw * (size_t)cap);
                if (!nw) {
                    TessDeleteText(text);
                    rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                    break;
                }
                ps->w = nw;
                ps->cap = cap;
            }
            char *copy = psk_strdup(text);
            if (!copy) {
                TessDeleteText(text);
                rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
                break;
            }
            ps->w[ps->n++] = (raw_word){copy, conf, l, t, r, b, line};
            ps->weight += conf / 100.0 * (double)len;
        }
        TessDeleteText(text);
        if (line_end) line++;
    } while (TessResultIteratorNext(ri, RIL_WORD));
    TessResultIteratorDelete(ri);
    return rc;
}

/* A point of the turned grey image back in the upright grey image (q clockwise quarter turns were applied). */
static void unturn(int q, int gw, int gh, int x, int y, int *ux, int *uy) {
    if (q == 0) *ux = x, *uy = y;
    else if (q == 1) *ux = y, *uy = gh - 1 - x;
    else if (q == 2) *ux = gw - 1 - x, *uy = gh - 1 - y;
    else *ux = gw - 1 - y, *uy = x;
}

static int finish(const pass *ps, int q, const ocr_gray *g, const psk_image *img, psk_ocr_text *out, psk_error *err) {
    size_t bytes = 1;
    for (int i = 0; i < ps->n; i++) bytes += strlen(ps->w[i].text) + 2;
    out->words = psk_calloc((size_t)(ps->n ? ps->n : 1), sizeof *out->words);
    out->storage_ = psk_malloc(bytes);
    out->text = psk_malloc(bytes);
    if (!out->words || !out->storage_ || !out->text) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    double sx = (double)img->width / g->w, sy = (double)img->height / g->h;
    char *st = out->storage_, *tx = out->text;
    *tx = 0;
    for (int i = 0; i < ps->n; i++) {
        const raw_word *w = &ps->w[i];
        int x0, y0, x1, y1;
        unturn(q, g->w, g->h, w->l, w->t, &x0, &y0);
        unturn(q, g->w, g->h, w->r - 1, w->b - 1, &x1, &y1);
        int lx = x0 < x1 ? x0 : x1, ly = y0 < y1 ? y0 : y1, hx = x0 < x1 ? x1 : x0, hy = y0 < y1 ? y1 : y0;
        size_t n = strlen(w->text);
        memcpy(st, w->text, n + 1);
        out->words[i] = (psk_ocr_word){st, w->conf, (int)(lx * sx), (int)(ly * sy), (int)((hx - lx + 1) * sx + 0.5),
                                       (int)((hy - ly + 1) * sy + 0.5), w->line};
        st += n + 1;
        if (i) *tx++ = ps->w[i - 1].line == w->line ? ' ' : '\n';
        memcpy(tx, w->text, n + 1);
        tx += n;
    }
    out->n_words = ps->n;
    out->rotation = q * 90;
    return PSK_OK;
}

psk_status psk_ocr_read(psk_ocr *o, const psk_image *img, psk_ocr_text *out, psk_error *err) {
    memset(out, 0, sizeof *out);
    if (!img || img->width < 1 || img->height < 1 || !img->rgb)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "no image to read");
    ocr_gray g = {0};
    if (ocr_gray_from_rgb(img, o->p.max_side, &g)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (g.w < 8 || g.h < 8) { /* nothing Tesseract could read, and it complains about tiny images */
        ocr_gray_free(&g);
        return finish(&(pass){0}, 0, &g, img, out, err);
    }
    pass best = {0};
    int best_q = 0, rc = read_pass(o, &g, &best, err);
    /* Sideways text (a sign photographed with the camera turned, a rotated screenshot): read the turned image when
     * the upright pass found little, and keep whichever reads best. */
    for (int q = 1; !rc && o->p.try_rotations && q <= 3 && best.weight < 12; q += 2) {
        ocr_gray t = {0};
        pass ps = {0};
        if (ocr_gray_rotate(&g, q, &t)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        rc = read_pass(o, &t, &ps, err);
        ocr_gray_free(&t);
        if (!rc && ps.weight > best.weight * 1.5 + 2) {
            pass_free(&best);
            best = ps;
            best_q = q;
        } else {
            pass_free(&ps);
        }
    }
    if (!rc) rc = finish(&best, best_q, &g, img, out, err);
    pass_free(&best);
    ocr_gray_free(&g);
    return rc;
}

void psk_ocr_text_free(psk_ocr_text *t) {
    if (!t) return;
    psk_free(t->words);
    psk_free(t->storage_);
    psk_free(t->text);
    memset(t, 0, sizeof *t);
}
