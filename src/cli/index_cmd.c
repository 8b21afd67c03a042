/* photoseek index PATH...: bring the library up to date with the folders. */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *index_usage =
    "usage: photoseek index PATH... [--db FILE|--store URL] [--image-model DIR] [--text-model DIR] [--jobs N] [--threads N]\n"
    "                       [--exclude GLOB]... [--batch N] [--fast-decode] [--precision int8|fp32] [--json]\n"
    "                       [--shard I/N] [--catalog FILE] [--ocr on|off|auto] [--ocr-lang eng+chi_sim]\n"
    "                       [--faces on|off|auto] [--faces-model DIR] [--face-detector auto|tiny|ssd]\n"
    "       photoseek index [PATH...] --reindex-with DIR [--db FILE] [--precision int8|fp32] [--threads N] [--batch N]\n"
    "\n"
    "Indexes the photos under each PATH into the library (default $PHOTOSEEK_DB or\n"
    "~/.local/share/photoseek/library.db). New and changed files are embedded, moved files keep their vectors,\n"
    "deleted files leave the index, files that cannot be read are recorded (see 'photoseek status --errors').\n"
    "A second run over an unchanged tree embeds nothing. Ctrl-C stops after the batch in flight; run again to\n"
    "finish. --image-model defaults to the models folder's clip-vit-b-32 (see 'photoseek model fetch').\n"
    "--jobs: decoding threads; --threads: encoder threads (both default to the number of cores);\n"
    "--batch: images per encoder call and per committed transaction (default 32).\n"
    "--fast-decode: decode JPEGs at the scale the model needs (DCT scaling): several times faster for large\n"
    "photos, embeddings at cosine >= 0.995 with the exact decode.\n"
    "--precision: the image encoder's arithmetic; int8 (the default) is 1.75x faster than fp32 with vectors at\n"
    "cosine > 0.999 with float32's.\n"
    "--store postgres://USER@HOST/DB (or --db): index into a PostgreSQL + pgvector library. The worker keeps a local catalog\n"
    "(--catalog, default beside the default library) of what it has embedded and pushed, so re-runs cost what\n"
    "they cost locally; new and changed files are upserted on the server, files gone are deleted there.\n"
    "--shard I/N: take only the I-th of N disjoint parts of the files (by path), so that N workers, on N\n"
    "machines that see the same paths, index everything once together.\n"
    "--ocr: read the text in photos (Tesseract) for 'search --text' and text:\"...\" terms: on (every photo),\n"
    "auto (the default where the languages are installed: the photos a quick look finds text-like strokes in),\n"
    "off. --ocr-lang: Tesseract's languages joined by + (default eng+chi_sim).\n"
    "--faces: find the faces in photos and video frames and group them into people ('photoseek people',\n"
    "'search --person'): auto (the default: on when the models folder has faces/, from 'photoseek model fetch\n"
    "faces'), on (the model must be there), off. Files looked at once are not looked at again; photos indexed\n"
    "before are looked at by the next run with faces on. --faces-model: the face model folder.\n"
    "--face-detector: auto (the default: face-api's Tiny Face Detector, and its SSD where the tiny one is unsure\n"
    "of a face, as in group photos), tiny (the fastest; misses faces under about a tenth of the photo's width),\n"
    "ssd (every photo through the SSD: finds the small faces of a crowd; the face pass costs about 3x more).\n"
    "It applies to the photos this run looks at for faces; those looked at before keep their faces.\n"
    "A library keeps the image model it was first indexed with (and its --precision): later runs use it, and\n"
    "another model is refused, since its vectors could not be compared with the library's.\n"
    "--reindex-with DIR: change the library's image model on purpose: says how many items and, from the rate of\n"
    "the first batch, about how long; re-embeds every item with DIR's model, then records it (search uses it from\n"
    "then on), then indexes the PATHs given. Until the last item is done the library keeps its old model and every\n"
    "item stays searchable with it; a Ctrl-C keeps the new vectors made so far and the same command resumes.\n"
    "Exit codes: 0 done, 1 done but some files failed, 2 bad usage, 3 fatal error (no model, no library),\n"
    "130 interrupted.\n";

typedef struct progress_state {
    double t0;
    bool tty;
    bool estimated; /* --reindex-with: the estimate was printed */
} progress_state;

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void on_progress(void *user, const psk_index_progress *p) {
    progress_state *s = user;
    if (!s->tty || p->total <= 0) return;
    double dt = mono() - s->t0, rate = dt > 0 ? p->done / dt : 0;
    double eta = rate > 0 ? (p->total - p->done) / rate : 0;
    int width = 30, fill = (int)(width * p->done / p->total);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    bar[width] = 0;
    fprintf(stderr, "\r[%s] %lld/%lld  %.1f files/s  ETA %02d:%02d  ", bar, (long long)p->done, (long long)p->total,
            rate, (int)eta / 60, (int)eta % 60);
    if (p->faces) fprintf(stderr, "%lld faces  ", (long long)p->faces);
    fflush(stderr);
}

/* --reindex-with: the work to do first, then (from the rate of the first batch) about how long it will take. */
static void on_reindex_progress(void *user, const psk_index_progress *p) {
    progress_state *s = user;
    if (p->done == 0) {
        s->t0 = mono();
        fprintf(stderr, "photoseek: re-embedding %lld items with the new model; the library searches with its old "
                "model until all are done (Ctrl-C stops, the same command resumes)\n", (long long)p->total);
        return;
    }
    if (!s->estimated && p->done < p->total) {
        double dt = mono() - s->t0, left = dt * (double)(p->total - p->done) / (double)p->done;
        fprintf(stderr, "photoseek: about %d min %02d s to go (%.1f items/s on the first %lld)\n", (int)left / 60,
                (int)left % 60, p->done / (dt > 0 ? dt : 1e-9), (long long)p->done);
        s->estimated = true;
    }
    on_progress(user, p);
}

/* Re-embeds the library with dir's model (psk_library_reindex); an exit code, EXIT_OK when the switch is done. */
static int reindex(psk_library *lib, const char *db, const char *dir, int threads, int batch, bool fp32,
                   volatile int *cancel) {
    if (access(dir, R_OK) != 0) {
        cli_error("index: --reindex-with %s: no such model folder (see 'photoseek model fetch')", dir);
        return EXIT_FATAL;
    }
    progress_state ps = {mono(), isatty(2), false};
    psk_index_params p = psk_index_default_params();
    p.image_model_dir = dir;
    p.n_threads = threads;
    if (batch) p.batch_size = batch;
    p.precision = fp32 ? PSK_PRECISION_FP32 : PSK_PRECISION_INT8;
    p.progress = on_reindex_progress;
    p.progress_user = &ps;
    p.cancel = cancel;
    psk_reindex_stats st;
    psk_error err = {0};
    int rc = psk_library_reindex(lib, &p, &st, &err);
    if (ps.tty) fputs("\r\033[K", stderr);
    if (rc && rc != PSK_ERR_INTERRUPTED) {
        cli_error("index: --reindex-with: %s", err.message);
        return rc == PSK_ERR_INVALID_ARG || rc == PSK_ERR_UNSUPPORTED ? EXIT_USAGE : EXIT_FATAL;
    }
    int64_t done = st.done_before + st.embedded;
    if (st.cancelled) {
        fprintf(stderr, "photoseek: interrupted: %lld of %lld items re-embedded with %s; %s still searches with %s. "
                "Run the same command again to finish.\n", (long long)done, (long long)st.total, st.to_model, db,
                st.from_model);
        return 130;
    }
    if (!st.switched) {
        fprintf(stderr, "photoseek: %s already uses %s: nothing to re-embed\n", db, st.to_model);
        return EXIT_OK;
    }
    fprintf(stderr, "photoseek: %s now uses %s (was %s): %lld items re-embedded in %.1f s%s, %lld failed%s\n", db,
            st.to_model, st.from_model, (long long)st.embedded, st.seconds,
            st.done_before ? " (the rest by an earlier run)" : "", (long long)st.failed,
            st.failed ? " (photoseek status --errors)" : "");
    return EXIT_OK;
}

int cmd_index(int argc, char **argv) {
    const char *bad_opt = NULL, *bad_takes = NULL;
    const char *db = NULL, *image_model = NULL, *catalog = NULL, *reindex_with = NULL;
    int shard_i = 0, shard_n = 0;
    const char **roots = calloc((size_t)argc, sizeof *roots), **excludes = calloc((size_t)argc, sizeof *excludes);
    int n_roots = 0, n_excludes = 0, jobs = 0, threads = 0, batch = 0;
    bool json = false, fast = false, fp32 = false, precision_given = false;
    int ocr = -1; /* not given: auto where the languages are installed */
    int faces = PSK_FACES_AUTO;
    psk_face_detector face_detector = PSK_FACE_DETECTOR_AUTO;
    const char *faces_dir = NULL;
    const char *ocr_langs = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(index_usage, stdout);
            free(roots);
            free(excludes);
            return EXIT_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v) || cli_opt(argc, argv, &i, "--store", &v)) {
            if (!(db = v)) CLI_BAD("--db", "a library file (or a postgres:// URL)");
        } else if (cli_opt(argc, argv, &i, "--image-model", &v)) {
            if (!(image_model = v)) CLI_BAD("--image-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--reindex-with", &v)) {
            if (!(reindex_with = v)) CLI_BAD("--reindex-with", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--text-model", &v)) {
            /* accepted for symmetry with search; indexing uses only the image model */
            if (!v) CLI_BAD("--text-model", "a model folder");
        } else if (cli_opt(argc, argv, &i, "--jobs", &v)) {
            if (!cli_int(v, 1, 256, &jobs)) CLI_BAD("--jobs", "a number from 1 to 256");
        } else if (cli_opt(argc, argv, &i, "--threads", &v)) {
            if (!cli_int(v, 1, 256, &threads)) CLI_BAD("--threads", "a number from 1 to 256");
        } else if (cli_opt(argc, argv, &i, "--batch", &v)) {
            if (!cli_int(v, 1, 1024, &batch)) CLI_BAD("--batch", "a number from 1 to 1024");
        } else if (cli_opt(argc, argv, &i, "--exclude", &v)) {
            if (!v) CLI_BAD("--exclude", "a glob pattern");
            excludes[n_excludes++] = v;
        } else if (cli_opt(argc, argv, &i, "--shard", &v)) {
            char end;
            if (!v || sscanf(v, "%d/%d%c", &shard_i, &shard_n, &end) != 2 || shard_n < 1 || shard_i < 1 ||
                shard_i > shard_n)
                CLI_BAD("--shard", "I/N with 1 <= I <= N (e.g. 2/4)");
        } else if (cli_opt(argc, argv, &i, "--catalog", &v)) {
            if (!(catalog = v)) CLI_BAD("--catalog", "a file");
        } else if (cli_opt(argc, argv, &i, "--ocr", &v)) {
            if (v && strcmp(v, "on") == 0) ocr = PSK_OCR_ON;
            else if (v && strcmp(v, "off") == 0) ocr = PSK_OCR_OFF;
            else if (v && strcmp(v, "auto") == 0) ocr = PSK_OCR_AUTO;
            else CLI_BAD("--ocr", "on, off or auto");
        } else if (cli_opt(argc, argv, &i, "--ocr-lang", &v)) {
            if (!(ocr_langs = v) || !*v) CLI_BAD("--ocr-lang", "languages joined by + (e.g. eng+chi_sim)");
        } else if (cli_opt(argc, argv, &i, "--faces", &v)) {
            if (v && strcmp(v, "on") == 0) faces = PSK_FACES_ON;
            else if (v && strcmp(v, "off") == 0) faces = PSK_FACES_OFF;
            else if (v && strcmp(v, "auto") == 0) faces = PSK_FACES_AUTO;
            else CLI_BAD("--faces", "on, off or auto");
        } else if (cli_opt(argc, argv, &i, "--face-detector", &v)) {
            if (!psk_face_detector_parse(v, &face_detector)) CLI_BAD("--face-detector", "auto, tiny or ssd");
        } else if (cli_opt(argc, argv, &i, "--faces-model", &v)) {
            if (!(faces_dir = v) || !*v) CLI_BAD("--faces-model", "a folder of face-api's weights");
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--fast-decode") == 0) {
            fast = true;
        } else if (cli_opt(argc, argv, &i, "--precision", &v)) {
            precision_given = true;
            if (v && strcmp(v, "fp32") == 0) fp32 = true;
            else if (!v || strcmp(v, "int8") != 0) CLI_BAD("--precision", "int8 or fp32");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            cli_error("index: unknown option '%s'", argv[i]);
            goto usage;
        } else {
            roots[n_roots++] = argv[i];
        }
    }
    if (n_roots == 0 && !reindex_with) goto usage;
    if (reindex_with && image_model && strcmp(reindex_with, image_model) != 0) {
        cli_error("index: --reindex-with %s and --image-model %s name two models; give one", reindex_with, image_model);
        free(roots);
        free(excludes);
        return EXIT_USAGE;
    }
    if (reindex_with) image_model = reindex_with;
    for (int r = 0; r < n_roots; r++)
        if (access(roots[r], R_OK) != 0) {
            cli_error("index: %s: %s", roots[r], strerror(errno));
            free(roots);
            free(excludes);
            return EXIT_USAGE;
        }
    char db_buf[1024], model_buf[1024];
    bool model_given = image_model != NULL;
    cli_default_paths(&db, db_buf, sizeof db_buf, &image_model, model_buf, sizeof model_buf);
    if (cli_new_library_without_model("index", db, image_model)) {
        free(roots);
        free(excludes);
        return EXIT_FATAL;
    }
    psk_error err = {0};
    psk_library *lib;
    if (psk_library_open(db, PSK_OPEN_WRITE, &lib, &err)) {
        cli_error("%s", err.message);
        free(roots);
        free(excludes);
        return EXIT_FATAL;
    }
    if (shard_n > 1 && !(psk_library_capabilities(lib) & PSK_STORE_CAP_SHARDS)) {
        cli_error("index: --shard is for libraries that several workers share (--store postgres://... or "
                  "pinecone://...); %s is a %s library", db, psk_library_store_kind(lib));
        psk_library_close(lib);
        free(roots);
        free(excludes);
        return EXIT_USAGE;
    }
    volatile int *cancel_flag = cli_catch_interrupts(true);
    if (reindex_with) {
        int rrc = reindex(lib, db, reindex_with, threads, batch, fp32, cancel_flag);
        if (rrc || n_roots == 0) {
            psk_library_close(lib);
            free(roots);
            free(excludes);
            return rrc;
        }
    }
    int mrc = cli_library_model("index", lib, db, model_given, &image_model, model_buf, sizeof model_buf,
                                &precision_given, &fp32);
    if (mrc) {
        psk_library_close(lib);
        free(roots);
        free(excludes);
        return mrc;
    }
    progress_state ps = {mono(), isatty(2), false};
    psk_index_params p = psk_index_default_params();
    p.roots = roots;
    p.n_roots = n_roots;
    p.excludes = excludes;
    p.n_excludes = n_excludes;
    p.image_model_dir = image_model;
    p.n_jobs = jobs;
    p.n_threads = threads;
    if (batch) p.batch_size = batch;
    p.fast_decode = fast;
    if (precision_given) p.precision = fp32 ? PSK_PRECISION_FP32 : PSK_PRECISION_INT8;
    p.progress = on_progress;
    p.progress_user = &ps;
    p.cancel = cancel_flag;
    p.shard_index = shard_i;
    p.shard_count = shard_n;
    p.pg_catalog = catalog;
    p.ocr_langs = ocr_langs;
    if (ocr < 0) { /* the default: auto, where the store keeps text and the languages are installed */
        psk_ocr_params op = psk_ocr_default_params();
        if (ocr_langs) op.langs = ocr_langs;
        psk_error oerr = {0};
        ocr = (psk_library_capabilities(lib) & PSK_STORE_CAP_TEXT) && psk_ocr_available(&op, &oerr) == PSK_OK
                  ? PSK_OCR_AUTO
                  : PSK_OCR_OFF;
    }
    p.ocr = (psk_ocr_mode)ocr;
    p.faces = (psk_faces_mode)faces;
    p.faces_dir = faces_dir;
    p.face_detector = face_detector;
    if (faces == PSK_FACES_ON && !(psk_library_capabilities(lib) & PSK_STORE_CAP_PEOPLE)) {
        cli_error("index: --faces on: a %s library keeps no faces or people (SQLite and PostgreSQL libraries do)",
                  psk_library_store_kind(lib));
        psk_library_close(lib);
        free(roots);
        free(excludes);
        return EXIT_USAGE;
    }
    char places_dir[1200];
    cli_places_dir(places_dir, sizeof places_dir);
    psk_places *places = NULL;
    psk_error places_err = {0}; /* said after the run, when photos were indexed without place names */
    if (psk_places_open(places_dir, &places, &places_err) == PSK_OK) p.places_dir = places_dir;
    psk_places_close(places);
    psk_index_stats st;
    int rc = psk_library_index(lib, &p, &st, &err);
    if (ps.tty) fputs("\r\033[K", stderr);
    psk_library_close(lib);
    if (rc && rc != PSK_ERR_INTERRUPTED) {
        cli_error("%s", err.message);
        free(roots);
        free(excludes);
        return rc == PSK_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_FATAL;
    }
    if (!p.places_dir && st.indexed > 0) cli_error("%s; photos are indexed without place names", places_err.message);
    if (json)
        printf("{\"indexed\": %lld, \"unchanged\": %lld, \"moved\": %lld, \"removed\": %lld, \"failed\": %lld, "
               "\"pushed\": %lld, \"deleted\": %lld, \"seconds\": %.2f, \"interrupted\": %s, \"placed\": %lld, "
               "\"faces\": %lld, \"face_scanned\": %lld}\n",
               (long long)st.indexed, (long long)st.unchanged, (long long)st.moved, (long long)st.removed,
               (long long)st.failed, (long long)st.pushed, (long long)st.deleted, st.seconds,
               st.cancelled ? "true" : "false", (long long)st.placed, (long long)st.faces, (long long)st.face_scanned);
    else
        fprintf(stderr, "photoseek: %lld indexed, %lld unchanged, %lld moved, %lld removed, %lld failed in %.1f s%s\n",
                (long long)st.indexed, (long long)st.unchanged, (long long)st.moved, (long long)st.removed,
                (long long)st.failed, st.seconds, st.cancelled ? " (interrupted: run again to finish)" : "");
    if (!json && (st.pushed || st.deleted))
        fprintf(stderr, "photoseek: %lld files written to the server, %lld deleted there\n", (long long)st.pushed,
                (long long)st.deleted);
    if (st.failed && !json) fprintf(stderr, "photoseek: see 'photoseek status --errors' for the files that failed\n");
    if (st.placed && !json) fprintf(stderr, "photoseek: named the places of %lld photos\n", (long long)st.placed);
    if (st.face_scanned && !json)
        fprintf(stderr, "photoseek: %lld faces in %lld photos and videos looked at (see 'photoseek people')\n",
                (long long)st.faces, (long long)st.face_scanned);
    free(roots);
    free(excludes);
    if (st.cancelled) return 130;
    return st.failed ? EXIT_PARTIAL : EXIT_OK;
usage:
    if (bad_opt) cli_bad_value("index", bad_opt, bad_takes);
    else fputs(index_usage, stderr);
    free(roots);
    free(excludes);
    return EXIT_USAGE;
}
