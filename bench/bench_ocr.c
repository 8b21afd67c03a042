/* Text in photos: what reading costs, and what the gate costs on photos it turns away, in one run.
 * Reads every image of a generated set (tests/ocr/make_set.sh) with the gate and the reader, and each photo of
 * PHOTOS_DIR (ordinary 12-megapixel photos without text: `make bench-ocr` makes them from the fixtures' real
 * photos) with the gate alone, beside the cost of decoding it (the reference: indexing decodes every photo anyway,
 * and --ocr auto adds the gate to each, the reader only to those it passes: how many it passes is reported).
 * With a CLIP folder, it also indexes PHOTOS_DIR twice, --ocr off then auto, each into a new library: their time
 * ratio is what auto costs a library of ordinary photos.
 * usage: bench_ocr SET_DIR PHOTOS_DIR [CLIP_DIR]
 * Last line: RESULT ocr_ms_text_photo=... ocr_ms_notext_photo=... ocr_gate_ms_12mp=... decode_ms_12mp=...
 *            ocr_gate_over_decode_12mp=... ocr_found_en=... ocr_found_zh=... ocr_found_auto_en=...
 *            ocr_found_auto_zh=... (found with the gate deciding, as index --ocr auto does) ocr_gate_pass_notext=...
 *            ocr_gate_pass_photos=... photos=... [ocr_auto_index_ratio_12mp=...] */
#include "photoseek.h"

#include "bench_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

/* Seconds to index dir into a new library at db with the OCR mode given. */
static double index_seconds(const char *dir, const char *db, const char *model, psk_ocr_mode ocr) {
    psk_index_params p = psk_index_default_params();
    p.image_model_dir = model;
    p.ocr = ocr;
    psk_index_stats st;
    return index_folder(dir, db, p, &st);
}

static psk_image *load(const char *path) {
    psk_image *img;
    psk_error err = {0};
    if (psk_image_load(path, NULL, &img, &err)) {
        fprintf(stderr, "bench_ocr: %s\n", err.message);
        exit(1);
    }
    return img;
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: bench_ocr SET_DIR PHOTOS_DIR [CLIP_DIR]\n");
        return 2;
    }
    psk_ocr *ocr;
    psk_error err = {0};
    if (psk_ocr_open(NULL, &ocr, &err)) {
        fprintf(stderr, "bench_ocr: %s\n", err.message);
        return 3;
    }
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/manifest.tsv", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    double text_ms = 0, notext_ms = 0;
    int n_text = 0, n_notext = 0, found[2] = {0}, found_auto[2] = {0}, total[2] = {0}, notext_pass = 0;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *name = strtok(line, "\t"), *lang = strtok(NULL, "\t"), *phrase = strtok(NULL, "\t");
        if (!name || !lang || !phrase) continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], name);
        psk_image *img = load(path);
        bool text = strcmp(phrase, "-") != 0, photo = strncmp(name, "photo_", 6) == 0;
        double t = now();
        bool pass = psk_ocr_text_score(img) >= PSK_OCR_GATE;
        psk_ocr_text r = {0};
        if (pass || text) { /* text images are read whatever the gate says: the found rate is the reader's */
            if (psk_ocr_read(ocr, img, &r, &err)) {
                fprintf(stderr, "bench_ocr: %s: %s\n", name, err.message);
                return 1;
            }
        }
        double ms = (now() - t) * 1e3;
        if (text && photo) text_ms += ms, n_text++;
        if (!text) notext_ms += ms, n_notext++, notext_pass += pass;
        if (text) {
            int k = strcmp(lang, "zh") == 0;
            char *got = psk_text_fold(r.text ? r.text : ""), *want = psk_text_fold(phrase);
            total[k]++;
            bool hit = got && want && strstr(got, want);
            found[k] += hit;
            found_auto[k] += hit && pass; /* what --ocr auto finds: the text images the gate turns away are not read */
            psk_free_buffer(got);
            psk_free_buffer(want);
        }
        psk_ocr_text_free(&r);
        psk_image_free(img);
    }
    fclose(f);
    /* the ordinary photos: each one's decode, then the gate, best of 3 */
    double dec = 0, gate = 0;
    int n_photos = 0, photos_pass = 0;
    DIR *d = opendir(argv[2]);
    if (!d) {
        perror(argv[2]);
        return 1;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", argv[2], e->d_name);
        double best_dec = 1e9, best_gate = 1e9;
        float score = 0;
        for (int i = 0; i < 3; i++) {
            double t = now();
            psk_image *img = load(path);
            double t1 = now();
            score = psk_ocr_text_score(img);
            double t2 = now();
            if ((t1 - t) * 1e3 < best_dec) best_dec = (t1 - t) * 1e3;
            if ((t2 - t1) * 1e3 < best_gate) best_gate = (t2 - t1) * 1e3;
            psk_image_free(img);
        }
        printf("%s: gate %.3f (%s) in %.1f ms, decode %.1f ms\n", e->d_name, score,
               score >= PSK_OCR_GATE ? "read" : "skipped", best_gate, best_dec);
        dec += best_dec, gate += best_gate, n_photos++, photos_pass += score >= PSK_OCR_GATE;
    }
    closedir(d);
    if (!n_photos) {
        fprintf(stderr, "bench_ocr: %s holds no photos\n", argv[2]);
        return 1;
    }
    dec /= n_photos, gate /= n_photos;
    psk_ocr_close(ocr);
    /* indexing the ordinary photos, --ocr off then auto (twice each, alternating; the best of each kept) */
    double ratio = 0;
    if (argc > 3) {
        char db[1100];
        snprintf(db, sizeof db, "%s/photoseek-bench-ocr.db", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        double off = 1e9, on = 1e9;
        for (int r = 0; r < 2; r++) {
            double a = index_seconds(argv[2], db, argv[3], PSK_OCR_OFF), b = index_seconds(argv[2], db, argv[3], PSK_OCR_AUTO);
            if (a < off) off = a;
            if (b < on) on = b;
        }
        ratio = on / off;
        printf("indexing %d photos of 12 MP: --ocr off %.2f s, --ocr auto %.2f s\n", n_photos, off, on);
    }
    printf("text photos read: %d, photos without text: %d (%d passed the gate)\n", n_text, n_notext, notext_pass);
    printf("RESULT ocr_ms_text_photo=%.1f ocr_ms_notext_photo=%.2f ocr_gate_ms_12mp=%.2f decode_ms_12mp=%.1f "
           "ocr_gate_over_decode_12mp=%.3f ocr_found_en=%.3f ocr_found_zh=%.3f ocr_found_auto_en=%.3f "
           "ocr_found_auto_zh=%.3f ocr_gate_pass_notext=%d ocr_gate_pass_photos=%d photos=%d\n",
           n_text ? text_ms / n_text : 0, n_notext ? notext_ms / n_notext : 0, gate, dec, gate / dec,
           total[0] ? (double)found[0] / total[0] : 0, total[1] ? (double)found[1] / total[1] : 0,
           total[0] ? (double)found_auto[0] / total[0] : 0, total[1] ? (double)found_auto[1] / total[1] : 0, notext_pass,
           photos_pass, n_photos);
    if (ratio > 0) printf("RESULT ocr_auto_index_ratio_12mp=%.3f\n", ratio);
    return 0;
}
