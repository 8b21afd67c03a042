/* The packed-weight cache: the bytes the packing functions produced for a model's towers (their weight arenas,
 * psk_tower_consolidate's block), kept in a file and mapped on the next load, so that a new process loading a query
 * encoder neither converts nor packs its matrices. The cache knows nothing of the layout: it stores and returns
 * the arenas' floats, and its key names what produced them.
 *
 * Where: $PHOTOSEEK_PACK_CACHE (empty: no cache), else $XDG_CACHE_HOME/photoseek/packed, else
 * ~/.cache/photoseek/packed; one file per model folder, towers, precision and kernel table:
 * <fnv64 of the folder's real path>-<kernels>-<fp32|int8>-<v|t|vt>.pack. Models whose packed matrices take less
 * than $PHOTOSEEK_PACK_CACHE_MIN bytes (default 4 MiB: packing those costs milliseconds) are not cached. An int8
 * model's file holds its quantised matrices (quantising them at load costs about a second of CPU for ViT-B/32,
 * which weighs on a short indexing run) and the float32 ones it keeps.
 *
 * The key (a line of text in the header, compared whole): PSK_PACK_LAYOUT_VERSION, the kernel table's name, the
 * precision, the towers, and for every file of the model folder and its subfolders (sorted by name) its size,
 * modification time and inode: any change of the model's files misses and rewrites the cache.
 *
 * File: a 4096-byte header, then the vision tower's float32 arena and the text tower's, then (int8) the vision
 * tower's int8 matrices and the text tower's.
 *   offset  bytes  field
 *   0       8      magic "PSKPACK2"
 *   8       8      vision_floats (uint64): floats of the vision arena (0 without the tower)
 *   16      8      text_floats (uint64)
 *   24      8      vision_q8_bytes (uint64): bytes of the vision tower's int8 matrices (0 for float32)
 *   32      8      text_q8_bytes (uint64)
 *   40      8      file_bytes (uint64): 4096 + 4 * (vision_floats + text_floats) + the q8 bytes; another size is
 *                  refused
 *   48      1024   key (text, NUL-padded)
 *   1072    8      FNV-1a 64 of bytes 0..1071
 *   1080    3016   zero
 * A tower's int8 matrices, in psk_tower_q8's order, each: a 64-byte record (int32 n, k, nr, n_out, then zeros;
 * n = 0 for an absent one, and nothing follows), then its packed bytes (psk_packed_q8_bytes), n float scales, n
 * int32 sums, n_out int32 column numbers and its float32 columns packed (psk_packed_floats(n, n_out) floats), each
 * part padded to 64 bytes.
 * The weights themselves are not checksummed (reading them all would cost what the cache saves); the file is
 * written under a temporary name and renamed, so a crash leaves no half-written file under the real name. */
#include "model.h"

#include "../kernels/kernels.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* a temporary name of this process and call: two threads or processes may write the same file at once */
static atomic_uint tmp_seq;

#define HEADER_BYTES 4096

typedef struct header {
    char magic[8];
    uint64_t vision_floats, text_floats, vision_q8_bytes, text_q8_bytes, file_bytes;
    char key[1024];
    uint64_t check;
} header;

typedef struct q8_record {
    int32_t n, k, nr, n_out, zero[12];
} q8_record;

static size_t pad64(size_t b) { return (b + 63) / 64 * 64; }

/* The parts of a q8 matrix's entry in the file, in order (bytes, each padded to 64): record, data, scale, sum,
 * out_cols, out_w. */
static void q8_parts(int n, int k, int nr, int n_out, size_t part[6]) {
    part[0] = sizeof(q8_record);
    bool some = n > 0;
    part[1] = some ? pad64(psk_packed_q8_bytes(n, k, nr)) : 0;
    part[2] = part[3] = some ? pad64(4 * (size_t)n) : 0;
    part[4] = some ? pad64(4 * (size_t)n_out) : 0;
    part[5] = some && n_out ? pad64(4 * psk_packed_floats(n, n_out)) : 0;
}

static uint64_t q8_tower_bytes(psk_tower *t) {
    psk_packed_q8 *list[PSK_TOWER_MAX_PACKED];
    psk_packed *shape[PSK_TOWER_MAX_PACKED];
    int n = psk_tower_q8(t, list, shape);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t part[6];
        q8_parts(list[i]->n, list[i]->k, list[i]->nr, list[i]->n_out, part);
        for (int j = 0; j < 6; j++) total += part[j];
    }
    return total;
}

static bool write_padded(FILE *f, const void *p, size_t bytes, size_t padded) {
    static const char zeros[64];
    return (!bytes || fwrite(p, 1, bytes, f) == bytes) && (padded == bytes || fwrite(zeros, 1, padded - bytes, f) == padded - bytes);
}

static bool q8_tower_write(FILE *f, psk_tower *t) {
    psk_packed_q8 *list[PSK_TOWER_MAX_PACKED];
    psk_packed *shape[PSK_TOWER_MAX_PACKED];
    int n = psk_tower_q8(t, list, shape);
    for (int i = 0; i < n; i++) {
        const psk_packed_q8 *q = list[i];
        size_t part[6];
        q8_parts(q->n, q->k, q->nr, q->n_out, part);
        q8_record r = {.n = q->n, .k = q->k, .nr = q->nr, .n_out = q->n_out};
        if (fwrite(&r, sizeof r, 1, f) != 1) return false;
        if (q->n == 0) continue;
        if (!write_padded(f, q->data, psk_packed_q8_bytes(q->n, q->k, q->nr), part[1]) ||
            !write_padded(f, q->scale, 4 * (size_t)q->n, part[2]) || !write_padded(f, q->sum, 4 * (size_t)q->n, part[3]) ||
            !write_padded(f, q->out_cols, 4 * (size_t)q->n_out, part[4]) ||
            (q->n_out && !write_padded(f, q->out_w.data, 4 * psk_packed_floats(q->n, q->n_out), part[5])))
            return false;
    }
    return true;
}

/* Points a deferred int8 tower's matrices into `blob`; false when it does not hold what the tower needs. */
static bool q8_tower_attach(psk_tower *t, char *blob, uint64_t bytes) {
    psk_packed_q8 *list[PSK_TOWER_MAX_PACKED];
    psk_packed *shape[PSK_TOWER_MAX_PACKED];
    int n = psk_tower_q8(t, list, shape);
    uint64_t off = 0;
    const psk_kernel_table *kt = psk_kernels();
    for (int i = 0; i < n; i++) {
        q8_record r;
        if (off + sizeof r > bytes) return false;
        memcpy(&r, blob + off, sizeof r);
        /* the record's shape must be the tower's (the patch embedding's two may be absent) */
        bool patch = shape[i] == &t->patch_w;
        if (r.n != 0 || !patch) {
            if (r.n != shape[i]->n || r.k != shape[i]->k || r.nr != kt->q8_nr || r.n_out < 0 || r.n_out > r.k)
                return false;
        }
        size_t part[6];
        q8_parts(r.n, r.k, r.nr, r.n_out, part);
        uint64_t total = 0;
        for (int j = 0; j < 6; j++) total += part[j];
        if (off + total > bytes) return false;
        char *p = blob + off + part[0];
        psk_packed_q8 *q = list[i];
        memset(q, 0, sizeof *q);
        if (r.n) {
            *q = (psk_packed_q8){.n = r.n, .k = r.k, .kq = (r.k + 3) / 4, .nr = r.nr, .n_out = r.n_out, .borrowed = true};
            q->data = (int8_t *)p;
            q->scale = (float *)(p + part[1]);
            q->sum = (int32_t *)(p + part[1] + part[2]);
            q->out_cols = r.n_out ? (int32_t *)(p + part[1] + part[2] + part[3]) : NULL;
            for (int c = 0; c < r.n_out; c++)
                if (q->out_cols[c] < 0 || q->out_cols[c] >= r.k) return false; /* read by index: never trusted */
            if (r.n_out)
                q->out_w = (psk_packed){.n = r.n, .k = r.n_out, .nr = kt->gemm_nr, .borrowed = true,
                                        .data = (float *)(p + part[1] + part[2] + part[3] + part[4])};
        }
        off += total;
    }
    return off == bytes;
}

bool packcache_dir(char *buf, size_t cap) {
    const char *env = getenv("PHOTOSEEK_PACK_CACHE");
    if (env) return *env && (size_t)snprintf(buf, cap, "%s", env) < cap;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) return (size_t)snprintf(buf, cap, "%s/photoseek/packed", xdg) < cap;
    return home && *home && (size_t)snprintf(buf, cap, "%s/.cache/photoseek/packed", home) < cap;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Appends "name size mtime ino;" for every regular file of dir (and, one level down, of its subfolders), sorted,
 * to a running hash. */
static uint64_t folder_hash(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX], line[PATH_MAX + 96];
        struct stat st;
        if (names[i] && (size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) < sizeof path && !stat(path, &st)) {
            uint64_t sub = S_ISDIR(st.st_mode) && depth < 1 ? folder_hash(path, depth + 1) : 0;
            int len = snprintf(line, sizeof line, "%s %lld %lld.%09ld %llu %llx;", names[i], (long long)st.st_size,
                               (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)st.st_ino,
                               (unsigned long long)sub);
            h = (h ^ psk_fnv1a64(line, (size_t)len)) * 1099511628211ULL;
        }
        free(names[i]);
    }
    return h;
}

bool packcache_folder_key(const char *dir, const char *tag, char *key, size_t cap, uint64_t *real_hash) {
    char real[PATH_MAX];
    if (!realpath(dir, real) || strlen(real) > 900) return false; /* the key must hold the whole path */
    *real_hash = psk_fnv1a64(real, strlen(real));
    return (size_t)snprintf(key, cap, "%s model %s files %016llx", tag, real,
                            (unsigned long long)folder_hash(real, 0)) < cap;
}

bool packcache_open(psk_packcache *pc, const char *dir, const psk_model_params *p) {
    memset(pc, 0, sizeof *pc);
    char cdir[900], real[PATH_MAX];
    if (!packcache_dir(cdir, sizeof cdir) || !realpath(dir, real)) return false;
    if (strlen(real) > 900) return false; /* the key must hold the whole path: such a model is just not cached */
    const char *towers = p->load_vision && p->load_text ? "vt" : p->load_vision ? "v" : "t";
    const char *kernels = psk_kernels()->name;
    const char *precision = p->precision == PSK_PRECISION_INT8 ? "int8" : "fp32";
    snprintf(pc->path, sizeof pc->path, "%.900s/%016llx-%.16s-%s-%.2s.pack", cdir,
             (unsigned long long)psk_fnv1a64(real, strlen(real)), kernels, precision, towers);
    snprintf(pc->key, sizeof pc->key, "layout %d kernels %.16s precision %s towers %.2s model %.900s files %016llx",
             PSK_PACK_LAYOUT_VERSION, kernels, precision, towers, real, (unsigned long long)folder_hash(real, 0));
    if (psk_mmap_open(pc->path, &pc->map, NULL)) return false;
    header h;
    bool ok = pc->map.size >= HEADER_BYTES;
    if (ok) memcpy(&h, pc->map.data, sizeof h);
    const uint64_t big = (uint64_t)1 << 36;
    ok = ok && memcmp(h.magic, "PSKPACK2", 8) == 0 && h.check == psk_fnv1a64(&h, offsetof(header, check)) &&
         strncmp(h.key, pc->key, sizeof h.key) == 0 && h.vision_floats < big && h.text_floats < big &&
         h.vision_q8_bytes < big && h.text_q8_bytes < big && h.vision_q8_bytes % 64 == 0 &&
         h.file_bytes == HEADER_BYTES + 4 * (h.vision_floats + h.text_floats) + h.vision_q8_bytes + h.text_q8_bytes &&
         h.file_bytes == pc->map.size;
    if (!ok) psk_mmap_close(&pc->map);
    return ok;
}

/* Points a deferred tower's matrices into `arena` (floats); false when the tower needs another count. */
static bool attach_tower(psk_tower *t, float *arena, uint64_t floats) {
    psk_packed *list[PSK_TOWER_MAX_PACKED];
    int n;
    if (psk_tower_packed(t, list, &n) != floats) return false;
    size_t off = 0;
    int nr = psk_kernels()->gemm_nr; /* the cache key names the level, so its strips are this level's width */
    for (int i = 0; i < n; i++) {
        list[i]->data = arena + off;
        list[i]->nr = nr;
        list[i]->borrowed = true;
        off += (psk_packed_floats(list[i]->n, list[i]->k) + 15) / 16 * 16;
    }
    return true;
}

bool packcache_attach(psk_packcache *pc, psk_model *m) {
    header h;
    memcpy(&h, pc->map.data, sizeof h);
    char *base = (char *)pc->map.data + HEADER_BYTES;
    float *arena = (float *)base;
    char *q8 = base + 4 * (h.vision_floats + h.text_floats);
    if ((m->has_vision ? 0 : h.vision_floats + h.vision_q8_bytes) != 0 ||
        (m->has_text ? 0 : h.text_floats + h.text_q8_bytes) != 0)
        return false;
    if ((m->has_vision && !attach_tower(&m->vision, arena, h.vision_floats)) ||
        (m->has_text && !attach_tower(&m->text, arena + h.vision_floats, h.text_floats)))
        return false;
    if ((m->has_vision && m->vision.q8 && !q8_tower_attach(&m->vision, q8, h.vision_q8_bytes)) ||
        (m->has_text && m->text.q8 && !q8_tower_attach(&m->text, q8 + h.vision_q8_bytes, h.text_q8_bytes)))
        return false;
    if ((!m->vision.q8 && h.vision_q8_bytes) || (!m->text.q8 && h.text_q8_bytes)) return false;
    m->packed_map = pc->map;
    pc->map = (psk_mmap){0};
    return true;
}

/* A name this cache gives its files: the model folder's hash in 16 hex digits, then a dash (packcache_open,
 * tokcache.c); whatever else the folder holds is not ours ($PHOTOSEEK_PACK_CACHE may name any folder). */
static bool our_name(const char *name) {
    for (int i = 0; i < 16; i++)
        if (!isxdigit((unsigned char)name[i])) return false;
    return name[16] == '-';
}

/* Removes the cache files (packed weights, tokenizer tables) whose model folder is gone, and those of an older
 * format: every folder a model was ever loaded from has its own file, so a cache that is never pruned grows with
 * each temporary or deleted model folder (hundreds of MB each). Also the temporary files of writers that died (an
 * hour old). Only regular files with our names, never through a link; reads each file's first bytes only. */
static void prune(const char *cdir) {
    DIR *d = opendir(cdir);
    if (!d) return;
    struct dirent *e;
    time_t now = time(NULL);
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        bool pack = len > 5 && strcmp(e->d_name + len - 5, ".pack") == 0;
        bool tok = len > 4 && strcmp(e->d_name + len - 4, ".tok") == 0;
        bool tmp = len > 4 && strcmp(e->d_name + len - 4, ".tmp") == 0;
        if ((!pack && !tok && !tmp) || !our_name(e->d_name)) continue;
        char path[PATH_MAX], head[HEADER_BYTES] = {0};
        if ((size_t)snprintf(path, sizeof path, "%s/%s", cdir, e->d_name) >= sizeof path) continue;
        int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) continue;
        struct stat fst;
        bool regular = fstat(fd, &fst) == 0 && S_ISREG(fst.st_mode);
        if (!regular || tmp) {
            close(fd);
            if (regular && fst.st_mtime < now - 3600) unlink(path);
            continue;
        }
        ssize_t got = read(fd, head, sizeof head);
        close(fd);
        if (got < 0) continue;
        /* the key: at offset 48 of packed weights, at 8 of tokenizer tables (tokcache.c) */
        size_t at_key = pack && memcmp(head, "PSKPACK2", 8) == 0   ? offsetof(header, key)
                        : tok && memcmp(head, "PSKBPE01", 8) == 0 ? 8
                                                                   : 0;
        char key[1025] = {0};
        if (at_key && (size_t)got >= at_key + 1024) memcpy(key, head + at_key, 1024);
        bool stale = !*key; /* another format (or a damaged file): never read again */
        const char *at = strstr(key, " model "), *files = NULL;
        for (const char *q = at ? strstr(at, " files ") : NULL; q; q = strstr(q + 1, " files ")) files = q;
        if (at && files && files > at + 7 && (size_t)(files - at - 7) < PATH_MAX) {
            char folder[PATH_MAX];
            memcpy(folder, at + 7, (size_t)(files - at - 7));
            folder[files - at - 7] = 0;
            struct stat st;
            stale = stat(folder, &st) != 0 && errno == ENOENT;
        }
        if (stale) unlink(path);
    }
    closedir(d);
}

void packcache_save(const psk_packcache *pc, psk_model *m) {
    if (!pc->path[0]) return;
    psk_packed *list[PSK_TOWER_MAX_PACKED];
    int n;
    header h = {.magic = {'P', 'S', 'K', 'P', 'A', 'C', 'K', '2'}};
    h.vision_floats = m->has_vision ? psk_tower_packed(&m->vision, list, &n) : 0;
    h.text_floats = m->has_text ? psk_tower_packed(&m->text, list, &n) : 0;
    h.vision_q8_bytes = m->has_vision && m->vision.q8 ? q8_tower_bytes(&m->vision) : 0;
    h.text_q8_bytes = m->has_text && m->text.q8 ? q8_tower_bytes(&m->text) : 0;
    h.file_bytes = HEADER_BYTES + 4 * (h.vision_floats + h.text_floats) + h.vision_q8_bytes + h.text_q8_bytes;
    const char *min_env = getenv("PHOTOSEEK_PACK_CACHE_MIN");
    if (h.file_bytes - HEADER_BYTES < (uint64_t)(min_env ? atoll(min_env) : 4 << 20)) return;
    if ((h.vision_floats && !m->vision.arena) || (h.text_floats && !m->text.arena)) return;
    snprintf(h.key, sizeof h.key, "%s", pc->key);
    h.check = psk_fnv1a64(&h, offsetof(header, check));
    char dir[1200], tmp[1300];
    snprintf(dir, sizeof dir, "%s", pc->path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    if (psk_mkdir_p(dir, NULL)) return;
    prune(dir);
    snprintf(tmp, sizeof tmp, "%s.%ld.%u.tmp", pc->path, (long)getpid(), atomic_fetch_add(&tmp_seq, 1));
    FILE *f = fopen(tmp, "wb");
    if (!f) return;
    static const char zeros[HEADER_BYTES];
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(zeros, HEADER_BYTES - sizeof h, 1, f) == 1 &&
              (!h.vision_floats || fwrite(m->vision.arena, 4, h.vision_floats, f) == h.vision_floats) &&
              (!h.text_floats || fwrite(m->text.arena, 4, h.text_floats, f) == h.text_floats) &&
              (!h.vision_q8_bytes || q8_tower_write(f, &m->vision)) && (!h.text_q8_bytes || q8_tower_write(f, &m->text));
    /* on disk before the rename: after a power cut the name must never hold a valid header over lost data */
    if (ok && (fflush(f) != 0 || fsync(fileno(f)) != 0)) ok = false;
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, pc->path) != 0) unlink(tmp);
}
