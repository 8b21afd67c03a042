/* Internals of the model layer: checkpoints, tokenizers, encoder weights and their forward passes. */
#ifndef PSK_MODEL_H
#define PSK_MODEL_H

#include "../common/common.h"
#include "../kernels/kernels.h"

/* ---- safetensors (safetensors.c) ---- */
#define ST_MAX_DIMS 8
typedef enum st_dtype { ST_F32 = 1, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL } st_dtype;

typedef struct st_tensor {
    char *name;
    st_dtype dtype;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];
    size_t n_elem, offset, n_bytes;
    const uint8_t *data; /* inside the mapped file */
} st_tensor;

typedef struct st_file {
    psk_mmap map; /* empty when parsed from memory */
    const uint8_t *data;
    st_tensor *tensors;
    int n;
} st_file;

int st_parse(const void *data, size_t size, const char *name, st_file **out, psk_error *err);
int st_open(const char *path, st_file **out, psk_error *err);
void st_free(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
int st_dtype_size(st_dtype d);
/* Converts elements [first, first+count) of a floating-point tensor to float32. */
void st_convert_f32(const st_tensor *t, size_t first, size_t count, float *out);
/* Copies a tensor to a new aligned float32 buffer after checking its shape; errors name the tensor. */
int st_get_f32(const st_file *f, const char *file_name, const char *name, int n_dims, const int64_t *shape,
               float **out, psk_error *err);

/* ---- tokenizers (bpe.c, wordpiece.c) ---- */
typedef struct psk_bpe {
    psk_strmap vocab;  /* token string -> id */
    psk_u64map merges; /* (left id, right id) + 1 -> rank << 32 | merged id */
    /* or the same two tables mapped from the tokenizer cache (tokcache.c; tok_slots non-NULL, the maps empty) */
    psk_mmap map;
    const void *tok_slots, *pair_slots;
    size_t tok_cap, pair_cap, strings_bytes;
    const char *strings;
    int32_t bos, eos;
    char byte_sym[256][4]; /* byte-level symbol (UTF-8) of every byte */
} psk_bpe;

/* Loads from vocab.json + merges.txt, else tokenizer.json, in dir. */
int psk_bpe_load(psk_bpe *t, const char *dir, psk_error *err);
void psk_bpe_free(psk_bpe *t);
/* Untruncated ids with bos/eos. *ids is allocated. */
int psk_bpe_encode(const psk_bpe *t, const char *text, int32_t **ids, int *n, psk_error *err);

typedef struct psk_wordpiece {
    psk_strmap vocab;
    int32_t cls, sep, unk, pad;
    bool lowercase, strip_accents;
    int max_chars_per_word;
    /* Added special tokens ([CLS], [SEP], ...), matched in the raw text before normalisation. */
    char *special[16];
    int32_t special_id[16];
    int n_special;
} psk_wordpiece;

int psk_wordpiece_load(psk_wordpiece *t, const char *dir, psk_error *err);
void psk_wordpiece_free(psk_wordpiece *t);
/* Untruncated ids with [CLS]/[SEP]. *ids is allocated. */
int psk_wordpiece_encode(const psk_wordpiece *t, const char *text, int32_t **ids, int *n, psk_error *err);

/* ---- encoder weights ---- */
typedef struct psk_block {
    float *ln1_w, *ln1_b, *ln2_w, *ln2_b;
    psk_packed qkv, out, fc1, fc2; /* qkv: q, k and v stacked into one 3*width x width matrix */
    psk_packed_q8 qkv8, out8, fc18, fc28; /* the same in int8, for PSK_PRECISION_INT8 (then the float ones are empty) */
    float *qkv_b, *out_b, *fc1_b, *fc2_b;
} psk_block;

typedef struct psk_tower {
    int width, n_layers, n_heads, mlp, n_embd;
    float eps;
    psk_act act;
    bool post_ln; /* DistilBERT: LayerNorm after each residual add; CLIP: before each sub-block */
    psk_block *blocks;
    float *ln_final_w, *ln_final_b; /* CLIP: post_layernorm / final_layer_norm */
    psk_packed proj;                /* projection to the embedding (no bias) */
    /* vision */
    int image_size, patch, n_pos;
    psk_packed patch_w; /* width x 3*P*P, rows ordered (channel, row, column) */
    psk_packed_q8 patch_w8, patch_w8lo; /* the same in int8 when q8, and its remainder (psk_pack_q8_residual) */
    float *class_emb, *pos_emb, *ln_pre_w, *ln_pre_b;
    /* text */
    const st_tensor *tok_emb; /* vocab x width, read row by row from the mapped checkpoint */
    int vocab;
    int32_t eos_id;
    float *emb_ln_w, *emb_ln_b; /* DistilBERT embeddings.LayerNorm */
    float *dense_b;             /* sentence-transformers Dense bias, or NULL */
    psk_act dense_act;
    float *arena; /* every packed matrix of the tower, in the order the forward pass reads them */
    bool q8;      /* the blocks' matrices (and the patch embedding) are int8 */
} psk_tower;

struct psk_model {
    psk_model_kind kind;
    char id[128];
    char dir[1024];
    st_file *ckpt, *ckpt2; /* the checkpoint (and the Dense layer's, for mclip) */
    bool has_vision, has_text;
    psk_tower vision, text;
    float mean[3], std[3];
    int n_ctx;
    psk_bpe bpe;
    psk_wordpiece wordpiece;
    psk_mmap packed_map; /* the packed-weight cache file the towers' matrices point into, or empty */
};

/* Tower loaders (clip_load.c, mclip_load.c). */
int psk_clip_load(psk_model *m, const char *dir, const psk_model_params *p, psk_error *err);
int psk_mclip_load(psk_model *m, const char *dir, psk_error *err);
void psk_tower_free(psk_tower *t);
/* Moves the tower's packed matrices into one block in forward order (huge pages where the system has them), so
 * that a short query streams its weights sequentially. */
int psk_tower_consolidate(psk_tower *t);
/* Replaces the blocks' float32 matrices with int8 ones. */
int psk_tower_quantize(psk_tower *t);

/* The tower's packed float32 matrices in forward order (the arena's order) into list (PSK_TOWER_MAX_PACKED
 * entries), their count in *n; returns the floats of the arena that holds them. */
#define PSK_TOWER_MAX_PACKED (4 * 256 + 2)
size_t psk_tower_packed(psk_tower *t, psk_packed **list, int *n);
/* An int8 tower's quantised matrices in a fixed order (the blocks', then the patch embedding and its remainder,
 * which may be empty) into list, each beside the float32 matrix that has its shape; returns their count. */
int psk_tower_q8(psk_tower *t, psk_packed_q8 **list, psk_packed **shape);

/* ---- the tokenizer cache (tokcache.c): a BPE tokenizer's tables as a mapped file ---- */
/* Maps dir's cached tables into t (true), or false on a miss (no cache, another model, a damaged header). */
bool tokcache_open(psk_bpe *t, const char *dir);
/* Writes t's in-memory tables for the next process; failures are silent (the cache is an optimisation). */
void tokcache_save(const psk_bpe *t, const char *dir);
bool tokcache_vocab_get(const psk_bpe *t, const char *s, size_t len, int32_t *id);
bool tokcache_merge_get(const psk_bpe *t, uint64_t key, int64_t *val);

/* ---- the packed-weight cache (packcache.c) ----
 * While psk_pack_deferred is set (by psk_model_load, on a cache hit), the loaders record each packed matrix's
 * shape without reading or packing it, and packcache_attach points the matrices into the mapped cache file. */
extern _Thread_local bool psk_pack_deferred;
/* The version of the bytes the packing functions produce for a kernel table: bump it when psk_pack_weights'
 * layout changes without the kernel table's name changing (both are in the cache's key). */
#define PSK_PACK_LAYOUT_VERSION 3 /* 2: strips of the level's width (gemm_nr); 3: int8 matrices too */
typedef struct psk_packcache {
    char path[1200];
    char key[1024];
    psk_mmap map; /* the file, on a hit */
} psk_packcache;
/* Finds the cache file of model folder `dir` loaded with p; true on a hit (the file is mapped into pc->map). */
bool packcache_open(psk_packcache *pc, const char *dir, const psk_model_params *p);
/* The cache folder ($PHOTOSEEK_PACK_CACHE, empty: none; else $XDG_CACHE_HOME/photoseek/packed or
 * ~/.cache/photoseek/packed); false when there is none. */
bool packcache_dir(char *buf, size_t cap);
/* A key naming a model folder's files as they are now ("TAG model REALPATH files HASH": sizes, times, inodes), and
 * the hash of its real path for a file name; false when the folder cannot be resolved. */
bool packcache_folder_key(const char *dir, const char *tag, char *key, size_t cap, uint64_t *real_hash);
/* Points the loaded (deferred) towers' matrices into the mapped file; the model keeps the mapping. False when the
 * file does not fit the towers (the caller loads again without the cache). */
bool packcache_attach(psk_packcache *pc, psk_model *m);
/* Writes the consolidated towers' arenas to the cache file (best effort). */
void packcache_save(const psk_packcache *pc, psk_model *m);

/* Helpers shared by the loaders (weights.c): a float copy of a tensor with the expected shape, and a packed
 * Linear weight. `name` is printf-style. */
int psk_w_f32(const st_file *f, const char *file, float **out, psk_error *err, int n_dims, const int64_t *shape,
              const char *fmt, ...) __attribute__((format(printf, 7, 8)));
int psk_w_linear(const st_file *f, const char *file, psk_packed *out, int n, int k, bool transposed, psk_error *err,
                 const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* ---- forward passes (forward.c) ---- */
struct psk_context {
    const psk_model *model;
    psk_pool *pool;
    /* scratch, grown on demand; caps count floats */
    float *x, *h, *qkv, *att, *ff, *tmp, *scores;
    size_t cap_x, cap_h, cap_qkv, cap_att, cap_ff, cap_tmp, cap_scores;
    size_t score_stride; /* floats of scores per thread */
    bool oom;            /* an int8 product could not get its scratch memory */
};

/* Vision: n images of 3 x S x S pixels -> n x n_embd. */
int psk_vision_forward(psk_context *ctx, const float *pixels, int n, float *out, psk_error *err);
/* Text towers: n sequences (ids, lengths) -> n x n_embd. For CLIP the sequences are cut after the first eos. */
int psk_text_forward(psk_context *ctx, const int32_t *const *ids, const int *lens, int n, float *out, psk_error *err);

/* ---- synthetic weights (synth.c) ---- */
float psk_synth_value(const char *name, int n_dims, const int64_t *shape, uint64_t i);

#endif
