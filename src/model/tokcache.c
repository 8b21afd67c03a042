/* The tokenizer cache: a CLIP BPE tokenizer's two tables (token -> id, pair of ids -> rank and merged id) kept as
 * ready hash tables in a file beside the packed-weight cache, and mapped by the next process. Building them from
 * vocab.json and merges.txt (a 1 MB JSON object and 48,894 lines) takes 20-30 ms, more than a cold query's text
 * encoding; mapping the file takes a fraction of a millisecond, and a query then looks up only the handful of
 * entries its words need.
 *
 * Where: the packed-weight cache's folder (packcache_dir: $PHOTOSEEK_PACK_CACHE, empty for none; else the XDG cache),
 * <fnv64 of the model folder's real path>-bpe.tok. Its key (compared whole) names the format, the folder's real
 * path and its files' sizes, times and inodes (packcache_folder_key): any change of the model's files misses.
 *
 * File (little-endian, as the machine that wrote it):
 *   offset  bytes  field
 *   0       8      magic "PSKBPE01"
 *   8       1024   key (text, NUL-padded)
 *   1032    8      vocab_cap: slots of the token table (a power of two)
 *   1040    8      merges_cap: slots of the pair table (a power of two)
 *   1048    8      strings_bytes
 *   1056    4      bos id, 4 eos id
 *   1064    8      file_bytes: 4096 + 16 * vocab_cap + 16 * merges_cap + strings_bytes; another size is refused
 *   1072    8      FNV-1a 64 of bytes 0..1071
 *   4096           token slots {u32 offset into strings + 1 (0: empty), u32 length, i32 id, u32 0}, probed from
 *                  fnv1a64(token) & (cap - 1); then pair slots {u64 key (0: empty), i64 rank << 32 | merged id},
 *                  probed from mix(key) & (cap - 1); then the token strings.
 * The tables are bounds-checked as they are read (an offset or a length past the strings is a miss), so a damaged
 * body gives wrong tokens at worst, never a crash; written under a temporary name and renamed. */
#include "model.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HEADER_BYTES 4096

typedef struct tok_header {
    char magic[8];
    char key[1024];
    uint64_t vocab_cap, merges_cap, strings_bytes;
    int32_t bos, eos;
    uint64_t file_bytes;
    uint64_t check;
} tok_header;

typedef struct tok_slot {
    uint32_t off1, len;
    int32_t id;
    uint32_t pad;
} tok_slot;

typedef struct pair_slot {
    uint64_t key;
    int64_t val;
} pair_slot;

static atomic_uint tmp_seq;

static uint64_t mix(uint64_t v) {
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

static bool paths(const char *dir, char *path, size_t path_cap, char *key, size_t key_cap) {
    char cdir[900];
    if (!packcache_dir(cdir, sizeof cdir)) return false;
    uint64_t real_hash;
    if (!packcache_folder_key(dir, "bpe 1", key, key_cap, &real_hash)) return false;
    return (size_t)snprintf(path, path_cap, "%s/%016llx-bpe.tok", cdir, (unsigned long long)real_hash) < path_cap;
}

bool tokcache_open(psk_bpe *t, const char *dir) {
    char path[1100], key[1024];
    if (!paths(dir, path, sizeof path, key, sizeof key)) return false;
    psk_mmap map;
    if (psk_mmap_open(path, &map, NULL)) return false;
    tok_header h;
    bool ok = map.size >= HEADER_BYTES;
    if (ok) memcpy(&h, map.data, sizeof h);
    ok = ok && memcmp(h.magic, "PSKBPE01", 8) == 0 && h.check == psk_fnv1a64(&h, offsetof(tok_header, check)) &&
         strncmp(h.key, key, sizeof h.key) == 0 && h.vocab_cap && !(h.vocab_cap & (h.vocab_cap - 1)) &&
         h.merges_cap && !(h.merges_cap & (h.merges_cap - 1)) && h.vocab_cap < (1u << 28) &&
         h.merges_cap < (1u << 28) && h.strings_bytes < (1u << 30) &&
         h.file_bytes == HEADER_BYTES + 16 * (h.vocab_cap + h.merges_cap) + h.strings_bytes && h.file_bytes == map.size;
    if (!ok) {
        psk_mmap_close(&map);
        return false;
    }
    const uint8_t *base = map.data;
    t->map = map;
    t->tok_slots = base + HEADER_BYTES;
    t->tok_cap = h.vocab_cap;
    t->pair_slots = base + HEADER_BYTES + 16 * h.vocab_cap;
    t->pair_cap = h.merges_cap;
    t->strings = (const char *)base + HEADER_BYTES + 16 * (h.vocab_cap + h.merges_cap);
    t->strings_bytes = h.strings_bytes;
    t->bos = h.bos;
    t->eos = h.eos;
    return true;
}

bool tokcache_vocab_get(const psk_bpe *t, const char *s, size_t len, int32_t *id) {
    const tok_slot *slots = t->tok_slots;
    size_t mask = t->tok_cap - 1, h = psk_fnv1a64(s, len) & mask;
    for (size_t probes = 0; probes <= mask && slots[h].off1; probes++, h = (h + 1) & mask) {
        uint64_t off = slots[h].off1 - 1ull;
        if (slots[h].len == len && off + len <= t->strings_bytes && memcmp(t->strings + off, s, len) == 0) {
            *id = slots[h].id;
            return true;
        }
    }
    return false;
}

bool tokcache_merge_get(const psk_bpe *t, uint64_t key, int64_t *val) {
    const pair_slot *slots = t->pair_slots;
    size_t mask = t->pair_cap - 1, h = mix(key) & mask;
    for (size_t probes = 0; probes <= mask && slots[h].key; probes++, h = (h + 1) & mask)
        if (slots[h].key == key) {
            *val = slots[h].val;
            return true;
        }
    return false;
}

static size_t pow2_at_least(size_t n) {
    size_t c = 64;
    while (c < n) c *= 2;
    return c;
}

void tokcache_save(const psk_bpe *t, const char *dir) {
    char path[1100], key[1024];
    if (t->tok_slots || !paths(dir, path, sizeof path, key, sizeof key)) return;
    tok_header h = {.magic = {'P', 'S', 'K', 'B', 'P', 'E', '0', '1'}, .bos = t->bos, .eos = t->eos};
    snprintf(h.key, sizeof h.key, "%s", key);
    h.vocab_cap = pow2_at_least(t->vocab.count * 2);
    h.merges_cap = pow2_at_least(t->merges.count * 2);
    for (size_t i = 0; i < t->vocab.cap; i++)
        if (t->vocab.keys[i]) h.strings_bytes += strlen(t->vocab.keys[i]);
    h.file_bytes = HEADER_BYTES + 16 * (h.vocab_cap + h.merges_cap) + h.strings_bytes;
    h.check = psk_fnv1a64(&h, offsetof(tok_header, check));
    tok_slot *ts = psk_calloc(h.vocab_cap, sizeof *ts);
    pair_slot *ps = psk_calloc(h.merges_cap, sizeof *ps);
    char *strings = psk_malloc(h.strings_bytes + 1);
    bool ok = ts && ps && strings;
    size_t off = 0;
    for (size_t i = 0; ok && i < t->vocab.cap; i++) {
        const char *k = t->vocab.keys[i];
        if (!k) continue;
        size_t len = strlen(k), s = psk_fnv1a64(k, len) & (h.vocab_cap - 1);
        while (ts[s].off1) s = (s + 1) & (h.vocab_cap - 1);
        memcpy(strings + off, k, len);
        ts[s] = (tok_slot){(uint32_t)off + 1, (uint32_t)len, t->vocab.vals[i], 0};
        off += len;
    }
    for (size_t i = 0; ok && i < t->merges.cap; i++) {
        uint64_t k = t->merges.keys[i];
        if (!k) continue;
        size_t s = mix(k) & (h.merges_cap - 1);
        while (ps[s].key) s = (s + 1) & (h.merges_cap - 1);
        ps[s] = (pair_slot){k, t->merges.vals[i]};
    }
    char folder[1100], tmp[1200];
    snprintf(folder, sizeof folder, "%s", path);
    char *slash = strrchr(folder, '/');
    if (slash) *slash = 0;
    ok = ok && psk_mkdir_p(folder, NULL) == PSK_OK;
    snprintf(tmp, sizeof tmp, "%s.%ld.%u.tmp", path, (long)getpid(), atomic_fetch_add(&tmp_seq, 1));
    FILE *f = ok ? fopen(tmp, "wb") : NULL;
    if (f) {
        static const char zeros[HEADER_BYTES];
        ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(zeros, HEADER_BYTES - sizeof h, 1, f) == 1 &&
             fwrite(ts, sizeof *ts, h.vocab_cap, f) == h.vocab_cap &&
             fwrite(ps, sizeof *ps, h.merges_cap, f) == h.merges_cap &&
             fwrite(strings, 1, h.strings_bytes, f) == h.strings_bytes;
        /* on disk before the rename: after a power cut the name must never hold a valid header over lost data */
        if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0)) ok = false;
        if (fclose(f) != 0) ok = false;
        if (!ok || rename(tmp, path) != 0) unlink(tmp);
    }
    psk_free(ts);
    psk_free(ps);
    psk_free(strings);
}
