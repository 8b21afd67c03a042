/* Reading the text in a photo with Tesseract 5 (its C API): the upright image in grey at a size that suits
 * Tesseract, words with their confidence and box, and sideways text found by reading the image turned when the
 * upright pass finds little. */
#include "ocr.h"

#include "../common/common.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tesseract/capi.h>

#define MAX_LANGS 4

/* api[0] reads with the languages in the order given; api[k] with the k-th language alone (Tesseract leans on the
 * first: eng+chi_sim reads a sign of four Han characters as "FARA", chi_sim+eng as "生日快乐", but another as
 * "ADH" where chi_sim alone reads "小心地滑"). */
struct psk_ocr {
    TessBaseAPI *api[MAX_LANGS];
    int n_api;
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

psk_status psk_ocr_available(const psk_ocr_params *params, psk_error *err) {
    psk_ocr_params p = params ? *params : psk_ocr_default_params();
    if (!p.langs || !*p.langs) p.langs = "eng+chi_sim";
    return check_langs(tessdata_dir(&p), p.langs, err);
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
    char names[MAX_LANGS][64];
    int n_langs = 0;
    for (const char *s = p.langs; *s && n_langs < MAX_LANGS;) {
        size_t n = strcspn(s, "+");
        snprintf(names[n_langs++], sizeof names[0], "%.*s", (int)n, s);
        s += n + (s[n] == '+');
    }
    for (int k = 0; k < n_langs; k++) {
        char order[MAX_LANGS * 65] = "";
        if (k == 0) {
            snprintf(order, sizeof order, "%s", p.langs);
        } else {
            snprintf(order, sizeof order, "%s", names[k]);
        }
        TessBaseAPI *api = TessBaseAPICreate();
        o->api[o->n_api++] = api;
        if (!api || TessBaseAPIInit3(api, dir, order) != 0) {
            psk_ocr_close(o);
            return psk_fail(err, PSK_ERR_FORMAT, "Tesseract could not load the languages %s from %s", order, dir);
        }
        /* Tesseract writes its notes ("Estimating resolution as ...") to stderr unless told otherwise. */
        TessBaseAPISetVariable(api, "debug_file", "/dev/null");
    }
    *out = o;
    return PSK_OK;
}

void psk_ocr_close(psk_ocr *o) {
    if (!o) return;
    for (int k = 0; k < o->n_api; k++)
        if (o->api[k]) {
            TessBaseAPIEnd(o->api[k]);
            TessBaseAPIDelete(o->api[k]);
        }
    psk_free(o);
}

/* The words read so far, in the grey image's pixels. */
typedef struct raw_word {
    char *text;
    float conf;
    int l, t, r, b, line;
} raw_word;

typedef struct pass {
    raw_word *w;
    int n, cap, lines;
    double weight; /* sum of confident characters: which reading of a region or page is best */
} pass;

static void pass_free(pass *ps) {
    for (int i = 0; i < ps->n; i++) psk_free(ps->w[i].text);
    psk_free(ps->w);
    memset(ps, 0, sizeof *ps);
}

/* Moves the words of src to the end of dst (src is left empty). */
static int pass_append(pass *dst, pass *src) {
    if (dst->n + src->n > dst->cap) {
        int cap = dst->n + src->n + 32;
        raw_word *nw = psk_realloc(dst->w, sizeof *nw * (size_t)cap);
        if (!nw) return PSK_ERR_NOMEM;
        dst->w = nw;
        dst->cap = cap;
    }
    for (int i = 0; i < src->n; i++) {
        dst->w[dst->n] = src->w[i];
        dst->w[dst->n++].line += dst->lines;
    }
    dst->lines += src->lines;
    dst->weight += src->weight;
    psk_free(src->w);
    memset(src, 0, sizeof *src);
    return PSK_OK;
}

/* What a word is worth when readings are compared: its characters, a Han character (a word's worth of meaning,
 * three bytes of UTF-8) as two. */
static double weigh(const char *s) {
    double w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) w += *p >= 0xE3 && *p <= 0xE9 ? 2 : 1;
    return w;
}

/* Reads g with Tesseract in page segmentation mode psm; xf (NULL: none) maps g's points back to the grey image the
 * words are kept in. */
static int read_pass(psk_ocr *o, int which, const ocr_gray *g, int psm, const ocr_xform *xf, pass *ps, psk_error *err) {
    TessBaseAPI *api = o->api[which];
    memset(ps, 0, sizeof *ps);
    TessBaseAPISetPageSegMode(api, (TessPageSegMode)psm);
    TessBaseAPISetImage(api, g->px, g->w, g->h, 1, g->w);
    TessBaseAPISetSourceResolution(api, xf ? 300 : 150);
    if (TessBaseAPIRecognize(api, NULL) != 0) return psk_fail(err, PSK_ERR_FORMAT, "Tesseract could not read the image");
    TessResultIterator *ri = TessBaseAPIGetIterator(api);
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
            if (xf) { /* the box's corners back in the grey image, and the box around them */
                double xs[4] = {l, r, l, r}, ys[4] = {t, t, b, b}, lx = 1e9, ly = 1e9, hx = -1e9, hy = -1e9;
                for (int k = 0; k < 4; k++) {
                    double sx, sy;
                    ocr_xform_apply(xf, xs[k], ys[k], &sx, &sy);
                    lx = sx < lx ? sx : lx, ly = sy < ly ? sy : ly, hx = sx > hx ? sx : hx, hy = sy > hy ? sy : hy;
                }
                l = (int)lx, t = (int)ly, r = (int)(hx + 0.5), b = (int)(hy + 0.5);
            }
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
            ps->weight += conf / 100.0 * weigh(text);
        }
        TessDeleteText(text);
        if (line_end) line++;
    } while (TessResultIteratorNext(ri, RIL_WORD));
    ps->lines = line;
    TessResultIteratorDelete(ri);
    return rc;
}

static double mean_conf(const pass *ps) {
    double sum = 0;
    for (int i = 0; i < ps->n; i++) sum += ps->w[i].conf;
    return ps->n ? sum / ps->n : 0;
}

/* The xform of a whole grey image turned by q clockwise quarter turns (ocr_gray_rotate). */
static ocr_xform turn_xform(const ocr_gray *g, int q) {
    int tw = q % 2 ? g->h : g->w, th = q % 2 ? g->w : g->h;
    double c = q == 2 ? -1 : q % 2 ? 0 : 1, s = q == 1 ? -1 : q == 3 ? 1 : 0;
    return (ocr_xform){(g->w - 1) / 2.0, (g->h - 1) / 2.0, c, s, 1, (tw - 1) / 2.0, (th - 1) / 2.0};
}

/* Leaves out of a region's reading the words the page pass already read there (the same word, its centre inside
 * the page pass's), so that a line read both ways is kept once; a word read otherwise is kept (the page pass may
 * have read a sideways "Platform 9" as "6" above "Platform"). */
static void drop_read(const pass *page, pass *ps, int page_n) {
    int kept = 0;
    for (int i = 0; i < ps->n; i++) {
        const raw_word *w = &ps->w[i];
        int cx = (w->l + w->r) / 2, cy = (w->t + w->b) / 2;
        bool dup = false;
        for (int j = 0; j < page_n && !dup; j++)
            dup = cx >= page->w[j].l && cx < page->w[j].r && cy >= page->w[j].t && cy < page->w[j].b &&
                  strcmp(w->text, page->w[j].text) == 0;
        if (dup) psk_free(ps->w[i].text);
        else ps->w[kept++] = ps->w[i];
    }
    ps->n = kept;
}

/* How much of a region the confident words of the page pass already cover (0-1). */
static double covered(const pass *ps, const ocr_window *b) {
    double area = 0;
    for (int i = 0; i < ps->n; i++) {
        const raw_word *w = &ps->w[i];
        if (w->conf < 75) continue;
        int l = w->l > b->x ? w->l : b->x, r = w->r < b->x + b->w ? w->r : b->x + b->w;
        int t = w->t > b->y ? w->t : b->y, bt = w->b < b->y + b->h ? w->b : b->y + b->h;
        if (r > l && bt > t) area += (double)(r - l) * (bt - t);
    }
    return area / ((double)b->w * b->h);
}

/* PSK_OCR_DEBUG=DIR: each region's copy as Tesseract gets it, DIR/region_N.pgm (for tuning by eye). */
static void debug_dump(const ocr_gray *crop) {
    static int count;
    const char *dir = getenv("PSK_OCR_DEBUG");
    if (!dir || !*dir) return;
    char path[1024];
    snprintf(path, sizeof path, "%s/region_%03d.pgm", dir, count++);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fprintf(f, "P5\n%d %d\n255\n", crop->w, crop->h);
    fwrite(crop->px, 1, (size_t)crop->w * crop->h, f);
    fclose(f);
}

static bool dark_line(const ocr_gray *g, int i, int columns) {
    int n = columns ? g->h : g->w, dark = 0;
    for (int k = 0; k < n; k++) dark += (columns ? g->px[(size_t)k * g->w + i] : g->px[(size_t)i * g->w + k]) < 128;
    return dark * 10 > n * 6;
}

/* Paper around the copy: its border, and the rim of a sign or the background beside it (rows and columns at the
 * edges that are mostly ink), which Tesseract would read as '|' or 'I'. */
static void clear_frame(ocr_gray *g, int border) {
    for (int side = 0; side < 4; side++) {
        int columns = side < 2, n = columns ? g->w : g->h;
        for (int k = border; k < n / 4; k++) {
            int i = side % 2 ? n - 1 - k : k;
            if (!dark_line(g, i, columns)) break;
            for (int j = 0; j < (columns ? g->h : g->w); j++) g->px[columns ? (size_t)j * g->w + i : (size_t)i * g->w + j] = 255;
        }
    }
    for (int y = 0; y < g->h; y++)
        for (int x = 0; x < g->w; x++)
            if (y < border || y >= g->h - border || x < border || x >= g->w - border) g->px[(size_t)y * g->w + x] = 255;
}

#define BORDER 16
#define LINE_PX 40     /* the height of a line of ink that Tesseract reads best (measured on the test set) */
#define MAX_REGIONS 12 /* the likeliest regions of a photo that are read */

/* Reads one text region: the slant undone, scaled to LINE_PX, ink dark on light paper. Sideways regions are read
 * turned both ways and the better reading kept. */
static int read_region(psk_ocr *o, const ocr_gray *g, const ocr_region *rg, pass *out, int *rotation, psk_error *err) {
    ocr_rect text;
    double line_h;
    memset(out, 0, sizeof *out);
    if (ocr_measure_text(g, rg->box, rg->vertical ? 90 : 0, &text, &line_h) || line_h < 4) return PSK_OK;
    double scale = LINE_PX / line_h;
    scale = scale < 0.5 ? 0.5 : scale > 4 ? 4 : scale;
    text.w += line_h * 0.7; /* a little paper around the letters */
    text.h += line_h * 0.7;
    double best = 0;
    for (int k = 0; k < (rg->vertical ? 2 : 1); k++) {
        ocr_rect r = text;
        r.angle += k * 180.0;
        ocr_gray crop = {0};
        ocr_xform xf;
        pass ps = {0};
        if (ocr_gray_warp(g, r, scale, BORDER, 255, &crop, &xf)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        int rc = PSK_OK;
        if (ocr_gray_normalise(&crop, BORDER) == 0) {
            clear_frame(&crop, BORDER);
            debug_dump(&crop);
            rc = read_pass(o, 0, &crop, PSM_SINGLE_BLOCK, &xf, &ps, err);
            /* not read with confidence: the other languages first */
            for (int a = 1; !rc && a < o->n_api && mean_conf(&ps) < 85; a++) {
                pass alt;
                rc = read_pass(o, a, &crop, PSM_SINGLE_BLOCK, &xf, &alt, err);
                if (!rc && alt.weight > ps.weight) {
                    pass_free(&ps);
                    ps = alt;
                } else {
                    pass_free(&alt);
                }
            }
        }
        ocr_gray_free(&crop);
        if (rc) {
            pass_free(&ps);
            return rc;
        }
        /* the better reading: more confident characters, less broken into lines (a line upside down reads as a
         * few characters on lines of their own: "9" as "6" above "Platform") */
        double score = ps.weight - 2.0 * (ps.lines > 1 ? ps.lines - 1 : 0);
        if (k == 0 || score > best) {
            best = score;
            pass_free(out);
            *out = ps;
            /* the text's lines run at r.angle: the image turned by -angle reads, in quarter turns clockwise */
            *rotation = ((int)floor(-r.angle / 90.0 + 0.5) % 4 + 4) % 4 * 90;
        } else {
            pass_free(&ps);
        }
    }
    return PSK_OK;
}

static int finish(const pass *ps, int rotation, const ocr_gray *g, const psk_image *img, psk_ocr_text *out,
                  psk_error *err) {
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
        int lx = w->l < 0 ? 0 : w->l, ly = w->t < 0 ? 0 : w->t;
        int hx = w->r > g->w ? g->w : w->r, hy = w->b > g->h ? g->h : w->b;
        size_t n = strlen(w->text);
        memcpy(st, w->text, n + 1);
        out->words[i] = (psk_ocr_word){st, w->conf, (int)(lx * sx), (int)(ly * sy), (int)((hx - lx) * sx + 0.5),
                                       (int)((hy - ly) * sy + 0.5), w->line};
        st += n + 1;
        if (i) *tx++ = ps->w[i - 1].line == w->line ? ' ' : '\n';
        memcpy(tx, w->text, n + 1);
        tx += n;
    }
    out->n_words = ps->n;
    out->rotation = rotation;
    return PSK_OK;
}

/* Tesseract runs its LSTM in OpenMP parallel sections; with a reader per indexing worker (or beside the encoders)
 * those threads fight over the cores and spin in libgomp's barriers, several times slower than one thread each
 * (Tesseract's own advice: OMP_THREAD_LIMIT=1 when running several). The calling thread's setting is what its
 * parallel sections use. */
static void one_thread_per_reader(void) { omp_set_num_threads(1); }

psk_status psk_ocr_read(psk_ocr *o, const psk_image *img, psk_ocr_text *out, psk_error *err) {
    memset(out, 0, sizeof *out);
    one_thread_per_reader();
    if (!img || img->width < 1 || img->height < 1 || !img->rgb)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "no image to read");
    ocr_gray g = {0};
    if (ocr_gray_from_rgb(img, o->p.max_side, &g)) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (g.w < 8 || g.h < 8) { /* nothing Tesseract could read, and it complains about tiny images */
        int rc = finish(&(pass){0}, 0, &g, img, out, err);
        ocr_gray_free(&g);
        return rc;
    }
    /* 1. the page as Tesseract lays it out: documents and screenshots read well this way */
    pass all = {0};
    int rotation = 0, rc = read_pass(o, 0, &g, PSM_AUTO, NULL, &all, err);
    /* 2. the regions that look like text and that the page pass did not read: signs, labels, sideways text */
    ocr_region regs[MAX_REGIONS];
    int n_regs = rc ? 0 : ocr_find_regions(&g, regs, MAX_REGIONS);
    if (n_regs < 0) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    double page_weight = all.weight, best_region = 0;
    int page_n = all.n;
    for (int i = 0; !rc && i < n_regs; i++) {
        if (covered(&all, &regs[i].box) > 0.4) continue;
        pass ps;
        int rot = 0;
        rc = read_region(o, &g, &regs[i], &ps, &rot, err);
        if (!rc) drop_read(&all, &ps, page_n);
        if (!rc && ps.weight > best_region && ps.weight > page_weight) best_region = ps.weight, rotation = rot;
        if (!rc && pass_append(&all, &ps)) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        pass_free(&ps);
    }
    /* 3. a sideways page (a turned screenshot or document): when little was read, the whole image turned */
    for (int q = 1; !rc && o->p.try_rotations && q <= 3 && all.weight < 12; q += 2) {
        ocr_gray t = {0};
        pass ps = {0};
        if (ocr_gray_rotate(&g, q, &t)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        ocr_xform xf = turn_xform(&g, q);
        rc = read_pass(o, 0, &t, PSM_AUTO, &xf, &ps, err);
        ocr_gray_free(&t);
        if (!rc && ps.weight > all.weight * 1.5 + 2) {
            pass_free(&all);
            all = ps;
            rotation = q * 90;
        } else {
            pass_free(&ps);
        }
    }
    if (!rc) rc = finish(&all, rotation, &g, img, out, err);
    pass_free(&all);
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
