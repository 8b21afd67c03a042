/* The indexing pipeline: worker threads read, hash, decode and preprocess the files to do (a file whose content
 * matches a vanished row is a move and is not decoded); the calling thread embeds them a batch at a time and
 * commits each batch in one transaction (a video on its own, its frames a batch at a time). Workers run at most a
 * window ahead of the encoder, so memory stays bounded however large the tree is. */
#include "ingest.h"
#include "../dups/dups.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum item_kind { ITEM_EMBED = 1, ITEM_FAILED, ITEM_MOVE, ITEM_VIDEO };

typedef struct item {
    const walk_file *f;
    int kind;
    bool ready;
    store_media meta;
    float *pixels;
    int64_t move_from; /* the row whose file moved here */
    uint64_t phash;    /* the perceptual hash of the decoded photo (src/dups), for near-duplicates */
    char *text, *words; /* what OCR read (NULL: nothing), and its words as JSON */
    store_face *faces;  /* with faces on: the faces found (face_scanned: looked at) */
    int n_faces;
    bool face_scanned;
} item;

typedef struct pipeline {
    index_job *job;
    item *items;
    size_t n_items;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next;     /* next item a worker takes */
    size_t consumed; /* items the encoder thread has taken */
    size_t window;
    bool stop;
    int pixels_floats;
    float *batch, *emb; /* the encoder's input pixels and output vectors, batch_size of each */
    psk_ocr **readers;  /* with OCR: one Tesseract reader per worker */
    psk_ocr_params ocr_params;
} pipeline;

typedef struct worker_arg {
    pipeline *pl;
    int t;
} worker_arg;

static bool claim_hash(pipeline *pl, item *it, const char *hash) {
    int32_t r;
    pthread_mutex_lock(&pl->mu);
    bool move = psk_strmap_get(&pl->job->missing, hash, strlen(hash), &r) && !pl->job->rows[r].claimed;
    if (move) pl->job->rows[r].claimed = true;
    pthread_mutex_unlock(&pl->mu);
    if (move) {
        it->kind = ITEM_MOVE;
        it->move_from = pl->job->rows[r].id;
    }
    return move;
}

/* Same content as a file that vanished: a move, which keeps the vectors. While some of the vanished rows hold a
 * SHA-256 (libraries indexed before psk_content_hash), new files are hashed that way too, so that their moves
 * are still found (the row then takes the new hash). data NULL: the file is read again. */
static bool claim_move(pipeline *pl, item *it, const void *data, size_t size) {
    if (claim_hash(pl, it, it->meta.hash)) return true;
    if (!pl->job->legacy_missing) return false;
    char sha[65];
    if (data ? psk_sha256(data, size, sha) : psk_sha256_file(it->meta.path, sha, NULL)) return false;
    return claim_hash(pl, it, sha);
}

/* Reads, hashes and decodes one file; fills it->kind and the metadata. */
/* The words as stored beside the text: [{"text", "conf", "box": [x, y, w, h]}] in the full image's pixels (the
 * image may have been decoded scaled down). */
static char *words_json(const psk_ocr_text *t, double sx, double sy) {
    psk_buf b = {0};
    psk_buf_append(&b, "[", 1);
    for (int i = 0; i < t->n_words; i++) {
        const psk_ocr_word *w = &t->words[i];
        psk_buf_append(&b, i ? ", {\"text\": " : "{\"text\": ", i ? 11 : 9);
        psk_buf_json_string(&b, w->text);
        psk_buf_printf(&b, ", \"conf\": %.1f, \"box\": [%d, %d, %d, %d]}", w->conf, (int)(w->x * sx),
                       (int)(w->y * sy), (int)(w->w * sx + 0.5), (int)(w->h * sy + 0.5));
    }
    psk_buf_append(&b, "]", 1);
    if (b.failed) {
        psk_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Text in photos: read when OCR is on, or when auto and the gate passes. A reading that fails leaves the photo
 * without text, never failed. */
static void read_text(pipeline *pl, item *it, int t, const psk_image *img) {
    const psk_index_params *p = pl->job->p;
    if (!p->ocr || !pl->readers) return;
    if (p->ocr == PSK_OCR_AUTO && psk_ocr_text_score(img) < PSK_OCR_GATE) return;
    psk_ocr_text txt;
    psk_error err = {0};
    if (!pl->readers[t] && psk_ocr_open(&pl->ocr_params, &pl->readers[t], &err)) return;
    if (psk_ocr_read(pl->readers[t], img, &txt, &err) == PSK_OK && txt.text[0]) {
        double sx = img->info.width > 0 ? (double)img->info.width / img->width : 1;
        double sy = img->info.height > 0 ? (double)img->info.height / img->height : 1;
        it->words = words_json(&txt, sx, sy);
        it->text = it->words ? psk_strdup(txt.text) : NULL;
    }
    psk_ocr_text_free(&txt);
}

static void prepare_item(pipeline *pl, item *it, int t) {
    const walk_file *f = it->f;
    store_media *m = &it->meta;
    snprintf(m->path, sizeof m->path, "%s", f->path);
    m->size = f->size;
    m->mtime_ns = f->mtime_ns;
    m->type = f->type;
    char *data = NULL;
    size_t size = 0;
    psk_error err = {0};
    if (f->type == 2) {
        /* A video: hashed in chunks and probed here; its frames are decoded by the encoder thread, a batch at a
         * time, so that a long video never sits in memory. */
        psk_video_info vi;
        if (psk_content_hash_file(f->path, m->hash, &err) || psk_video_probe(f->path, &vi, &err)) {
            it->kind = ITEM_FAILED;
            snprintf(m->error, sizeof m->error, "%s", err.message);
            return;
        }
        if (claim_move(pl, it, NULL, 0)) return;
        meta_from_video(m, &vi, f->mtime_ns);
        it->kind = ITEM_VIDEO;
        return;
    }
    if (psk_read_file(f->path, 4ull << 30, &data, &size, &err)) {
        it->kind = ITEM_FAILED;
        snprintf(m->error, sizeof m->error, "%s", err.message);
        return;
    }
    psk_content_hash(data, size, m->hash);
    if (claim_move(pl, it, data, size)) {
        psk_free(data);
        return;
    }
    psk_image *img = NULL;
    psk_image_params ip = psk_image_default_params();
    if (pl->job->p->fast_decode) ip.min_short_side = psk_model_image_size(pl->job->model);
    /* text is read at up to 2400 pixels: a JPEG decoded at half size or more still has it */
    if (pl->job->p->fast_decode && pl->job->p->ocr && ip.min_short_side < 1500) ip.min_short_side = 1500;
    if (pl->job->p->fast_decode && pl->job->faces && ip.min_short_side < INGEST_FACE_SHORT_SIDE)
        ip.min_short_side = INGEST_FACE_SHORT_SIDE;
    int rc = psk_image_load_memory(data, size, f->path, &ip, &img, &err);
    psk_free(data);
    if (rc == PSK_OK) {
        meta_from_image(m, &img->info, f->mtime_ns);
        it->phash = dups_phash(img->rgb, img->width, img->height);
        it->pixels = psk_malloc(sizeof(float) * (size_t)pl->pixels_floats);
        if (!it->pixels) rc = psk_fail(&err, PSK_ERR_NOMEM, "%s: out of memory", f->path);
        else rc = psk_model_preprocess(pl->job->model, img, it->pixels, &err);
        if (rc == PSK_OK) read_text(pl, it, t, img);
        /* faces on the upright image as decoded, one thread per worker; a failure leaves it for the next run */
        psk_error ferr = {0};
        if (rc == PSK_OK && pl->job->faces)
            it->face_scanned = ingest_detect_faces(pl->job->faces, img, -1, 1, pl->job->p->face_detector, &it->faces, &it->n_faces, &ferr) == PSK_OK;
    }
    psk_image_free(img);
    if (rc) {
        psk_free(it->pixels);
        it->pixels = NULL;
        it->kind = ITEM_FAILED;
        snprintf(m->error, sizeof m->error, "%s", err.message);
        return;
    }
    it->kind = ITEM_EMBED;
}

static void *worker(void *arg) {
    pipeline *pl = ((worker_arg *)arg)->pl;
    int t = ((worker_arg *)arg)->t;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        while (!pl->stop && pl->next < pl->n_items && pl->next >= pl->consumed + pl->window)
            pthread_cond_wait(&pl->cv, &pl->mu);
        if (pl->stop || pl->next >= pl->n_items) {
            pthread_mutex_unlock(&pl->mu);
            return NULL;
        }
        size_t i = pl->next++;
        pthread_mutex_unlock(&pl->mu);
        prepare_item(pl, &pl->items[i], t);
        pthread_mutex_lock(&pl->mu);
        pl->items[i].ready = true;
        pthread_cond_broadcast(&pl->cv);
        pthread_mutex_unlock(&pl->mu);
    }
}

/* Embeds the ITEM_EMBED items among items[from, to) and writes all of them in one transaction. */
static int flush(pipeline *pl, size_t from, size_t to, int64_t model_id, float *batch, float *emb,
                 psk_index_stats *stats, psk_error *err) {
    psk_store *store = pl->job->store;
    int n = 0, dim = psk_model_n_embd(pl->job->model);
    for (size_t i = from; i < to; i++)
        if (pl->items[i].kind == ITEM_EMBED)
            memcpy(batch + (size_t)n++ * pl->pixels_floats, pl->items[i].pixels, sizeof(float) * (size_t)pl->pixels_floats);
    int rc = n ? psk_encode_pixels(pl->job->ctx, batch, n, emb, err) : PSK_OK;
    if (rc) return rc;
    if ((rc = store_exec(store, "BEGIN IMMEDIATE", err))) return rc;
    int e = 0;
    for (size_t i = from; i < to && !rc; i++) {
        item *it = &pl->items[i];
        switch (it->kind) {
        case ITEM_EMBED:
            psk_normalize(emb + (size_t)e * dim, dim);
            store_apply_sidecar(store, &it->meta);
            if (!(rc = store_media_put(store, &it->meta, err)) &&
                !(rc = store_delete_embeddings(store, it->meta.id, err)) &&
                !(rc = store_put_text(store, it->meta.id, it->text, it->words, err))) /* NULL: stale text goes */
                rc = store_put_embedding(store, it->meta.id, model_id, -1, emb + (size_t)e * dim, dim, err);
            if (!rc) rc = store_put_phash(store, it->meta.id, it->phash, err);
            if (!rc) rc = it->face_scanned ? store_put_faces(store, it->meta.id, it->faces, it->n_faces, err)
                                           : store_forget_faces(store, it->meta.id, err);
            if (!rc) pl->job->stats->faces += it->n_faces, pl->job->stats->face_scanned += it->face_scanned;
            e++;
            stats->indexed++;
            break;
        case ITEM_FAILED:
            if (!(rc = store_media_put(store, &it->meta, err)) && !(rc = store_delete_embeddings(store, it->meta.id, err)))
                rc = store_put_text(store, it->meta.id, NULL, NULL, err);
            if (!rc) rc = store_forget_faces(store, it->meta.id, err);
            stats->failed++;
            break;
        case ITEM_MOVE: {
            /* A stale row at the new path (a file that was replaced by the moved one) gives way first. */
            store_media old;
            bool found;
            if (!(rc = store_media_by_path(store, it->f->path, &old, &found, err)) && found && old.id != it->move_from)
                rc = store_media_delete(store, old.id, err);
            if (!rc) rc = store_media_move(store, it->move_from, it->f->path, it->f->mtime_ns, it->meta.hash, err);
            stats->moved++;
            break;
        }
        }
    }
    if (rc) {
        store_exec(store, "ROLLBACK", NULL);
        return rc;
    }
    return store_exec(store, "COMMIT", err);
}

/* Samples, embeds and stores one video: frames are decoded and encoded a batch at a time, and the row with all
 * its frame vectors is committed in one transaction, so an interruption never leaves half a video. */
static int index_video(pipeline *pl, item *it, int64_t model_id, float *batch, float *emb, psk_index_stats *stats,
                       psk_error *err) {
    psk_store *store = pl->job->store;
    int dim = psk_model_n_embd(pl->job->model), cap = pl->job->p->batch_size;
    psk_video_sampler *v = NULL;
    psk_error verr = {0};
    float *vecs = NULL;
    int64_t *times = NULL;
    int n = 0, vcap = 0, in_batch = 0, rc;
    int64_t batch_t[1024];
    store_face *faces = NULL;
    int n_faces = 0;
    bool faces_ok = pl->job->faces != NULL;
    rc = psk_video_sampler_open(it->f->path, NULL, &v, &verr);
    while (!rc) {
        psk_image *frame = NULL;
        int64_t t = 0;
        rc = psk_video_sampler_next(v, &frame, &t, &verr);
        if (rc == PSK_OK) {
            psk_error ferr = {0};
            if (faces_ok && ingest_detect_faces(pl->job->faces, frame, t, pl->job->p->n_threads, pl->job->p->face_detector, &faces, &n_faces, &ferr))
                faces_ok = false;
            rc = psk_model_preprocess(pl->job->model, frame, batch + (size_t)in_batch * pl->pixels_floats, &verr);
            psk_image_free(frame);
            if (!rc) batch_t[in_batch++] = t;
        }
        bool end = rc == PSK_ERR_NOT_FOUND;
        if ((in_batch == cap || (end && in_batch)) && (rc == PSK_OK || end)) {
            int erc = psk_encode_pixels(pl->job->ctx, batch, in_batch, emb, err);
            if (erc) {
                psk_video_sampler_close(v);
                psk_free(vecs);
                psk_free(times);
                psk_free(faces);
                return erc; /* the encoder failing is fatal, not the file's fault */
            }
            if (n + in_batch > vcap) {
                vcap = (n + in_batch) * 2;
                float *nv = psk_realloc(vecs, sizeof(float) * (size_t)vcap * dim);
                int64_t *nt = psk_realloc(times, sizeof(int64_t) * (size_t)vcap);
                if (nv) vecs = nv;
                if (nt) times = nt;
                if (!nv || !nt) {
                    rc = psk_fail(&verr, PSK_ERR_NOMEM, "%s: out of memory", it->f->path);
                    break;
                }
            }
            for (int i = 0; i < in_batch; i++) {
                memcpy(vecs + (size_t)(n + i) * dim, emb + (size_t)i * dim, sizeof(float) * (size_t)dim);
                psk_normalize(vecs + (size_t)(n + i) * dim, dim);
                times[n + i] = batch_t[i];
            }
            n += in_batch;
            in_batch = 0;
        }
        if (end) {
            rc = PSK_OK;
            break;
        }
        if (pl->job->p->cancel && *pl->job->p->cancel) {
            rc = PSK_ERR_INTERRUPTED;
            break;
        }
    }
    psk_video_sampler_close(v);
    if (rc == PSK_ERR_INTERRUPTED) {
        psk_free(vecs);
        psk_free(times);
        psk_free(faces);
        return PSK_OK; /* nothing of this video was written: the next run redoes it */
    }
    store_media *m = &it->meta;
    if (rc) {
        snprintf(m->error, sizeof m->error, "%s", verr.message);
        n = 0;
    }
    if ((rc = store_exec(store, "BEGIN IMMEDIATE", err))) goto done;
    store_apply_sidecar(store, m);
    if (!(rc = store_media_put(store, m, err)) && !(rc = store_delete_embeddings(store, m->id, err)))
        for (int i = 0; i < n && !rc; i++)
            rc = store_put_embedding(store, m->id, model_id, times[i], vecs + (size_t)i * dim, dim, err);
    faces_ok = faces_ok && !m->error[0];
    if (!rc) rc = faces_ok ? store_put_faces(store, m->id, faces, n_faces, err) : store_forget_faces(store, m->id, err);
    if (!rc && faces_ok) stats->faces += n_faces, stats->face_scanned++;
    if (rc) store_exec(store, "ROLLBACK", NULL);
    else rc = store_exec(store, "COMMIT", err);
    if (!rc) {
        if (m->error[0]) stats->failed++;
        else stats->indexed++;
    }
done:
    psk_free(vecs);
    psk_free(times);
    psk_free(faces);
    return rc;
}

/* Waits until item i is prepared, and lets the workers run one item further. */
static void take_item(pipeline *pl, size_t i) {
    pthread_mutex_lock(&pl->mu);
    while (!pl->items[i].ready) pthread_cond_wait(&pl->cv, &pl->mu);
    pl->consumed = i + 1;
    pthread_cond_broadcast(&pl->cv);
    pthread_mutex_unlock(&pl->mu);
}

/* The encoder loop: take items in order, embed and commit a batch at a time. */
static int encode_all(pipeline *pl, psk_error *err) {
    index_job *job = pl->job;
    const psk_index_params *p = job->p;
    psk_index_stats *stats = job->stats;
    size_t flushed = 0;
    int pending_embed = 0, rc = PSK_OK;
    psk_index_progress prog = {0};
    for (size_t i = 0; !rc && i < pl->n_items; i++) {
        take_item(pl, i);
        bool video = pl->items[i].kind == ITEM_VIDEO, cancel = p->cancel && *p->cancel;
        if (pl->items[i].kind == ITEM_EMBED) pending_embed++;
        if (!video && pending_embed < p->batch_size && i + 1 < pl->n_items && !cancel) continue;
        /* a batch is written; before a video, what came before it is written first, then the video on its own */
        size_t end = video ? i : i + 1;
        if (flushed < end) rc = flush(pl, flushed, end, job->model_id, pl->batch, pl->emb, stats, err);
        for (size_t j = flushed; j < end; j++) {
            psk_free(pl->items[j].pixels);
            psk_free(pl->items[j].text);
            psk_free(pl->items[j].words);
            psk_free(pl->items[j].faces);
            pl->items[j].faces = NULL;
            pl->items[j].pixels = NULL;
            pl->items[j].text = pl->items[j].words = NULL;
        }
        flushed = i + 1;
        pending_embed = 0;
        if (!rc && video) {
            rc = index_video(pl, &pl->items[i], job->model_id, pl->batch, pl->emb, stats, err);
            cancel = p->cancel && *p->cancel;
        }
        if (!rc && p->progress) {
            prog.total = (int64_t)pl->n_items;
            prog.done = (int64_t)flushed;
            prog.unchanged = stats->unchanged;
            prog.faces = stats->faces;
            prog.current = pl->items[i].f->path;
            p->progress(p->progress_user, &prog);
        }
        if (cancel) {
            stats->cancelled = 1;
            break;
        }
    }
    return rc;
}

int pipeline_run(index_job *job, psk_error *err) {
    const psk_index_params *p = job->p;
    int S = psk_model_image_size(job->model), dim = psk_model_n_embd(job->model), n_threads = 0, rc = PSK_OK;
    pipeline pl = {.job = job, .n_items = job->n_todo, .pixels_floats = 3 * S * S};
    pl.window = (size_t)p->batch_size * 2 + (size_t)p->n_jobs;
    pl.items = psk_calloc(job->n_todo + 1, sizeof(item));
    pl.batch = psk_malloc_aligned(sizeof(float) * (size_t)pl.pixels_floats * (size_t)p->batch_size);
    pl.emb = psk_malloc(sizeof(float) * (size_t)dim * (size_t)p->batch_size);
    pthread_t *threads = psk_calloc((size_t)p->n_jobs, sizeof(pthread_t));
    worker_arg *args = psk_calloc((size_t)p->n_jobs, sizeof *args);
    if (!pl.items || !pl.batch || !pl.emb || !threads || !args) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc && p->ocr) { /* one reader per worker (Tesseract's are not shared between threads), opened when a
                          * photo first needs it: loading the languages takes a second */
        pl.readers = psk_calloc((size_t)p->n_jobs, sizeof *pl.readers);
        pl.ocr_params = psk_ocr_default_params();
        if (p->ocr_langs) pl.ocr_params.langs = p->ocr_langs;
        if (!pl.readers) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
        else rc = psk_ocr_available(&pl.ocr_params, err);
    }
    for (size_t i = 0; !rc && i < job->n_todo; i++) pl.items[i].f = job->todo[i];
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    for (int t = 0; !rc && t < p->n_jobs; t++) {
        args[t] = (worker_arg){&pl, t};
        if (pthread_create(&threads[t], NULL, worker, &args[t]) == 0) n_threads++;
    }
    if (!rc) rc = encode_all(&pl, err);
    pthread_mutex_lock(&pl.mu);
    pl.stop = true;
    pthread_cond_broadcast(&pl.cv);
    pthread_mutex_unlock(&pl.mu);
    for (int t = 0; t < n_threads; t++) pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&pl.mu);
    pthread_cond_destroy(&pl.cv);
    for (size_t i = 0; pl.items && i < pl.n_items; i++) {
        psk_free(pl.items[i].pixels);
        psk_free(pl.items[i].text);
        psk_free(pl.items[i].words);
        psk_free(pl.items[i].faces);
    }
    for (int t = 0; pl.readers && t < p->n_jobs; t++) psk_ocr_close(pl.readers[t]);
    psk_free(pl.readers);
    psk_free(args);
    psk_free(pl.items);
    psk_free_aligned(pl.batch);
    psk_free(pl.emb);
    psk_free(threads);
    return rc;
}
