/* The search index persisted beside a library (LIBRARY.model<ID>.vindex), so that a search in a new process maps
 * the int8 rows instead of reading and quantising every vector from SQLite. The HNSW graph has its own file
 * (hnsw.c); this one holds the rows the graph and the scan read.
 *
 * The file is a cache, never a source of truth: it is used only when every field below matches what the library
 * says now, and is otherwise rebuilt from the library (sqlite_search.c). All integers are little-endian (the byte
 * order of every machine photoseek builds on), every section starts at a multiple of 64 bytes.
 *
 *   offset  bytes  field
 *   0       8      magic "PSKVINDX"
 *   8       4      format version (VINDEX_FILE_VERSION, uint32): another version is rebuilt
 *   12      4      dim: values per row (uint32)
 *   16      8      n: rows (int64)
 *   24      8      model_id: the models row of the vectors (int64)
 *   32      8      changes: the library's change counter when the rows were read (int64; every insert, update or
 *                  delete of an embeddings row moves it, see store.c)
 *   40      8      library: the random identity of the library the rows were read from (uint64), so that a file
 *                  copied beside another library is not taken for its index
 *   48      8      file_bytes: the whole file's size (uint64): a truncated or extended file is refused
 *   56      8      FNV-1a 64 of bytes 0..55 (uint64)
 *   64      8n     media: the media id of each row, ascending (int64)
 *   A(..)   4n     frame: the frame time in ms of each row, -1 for a photo (int32)
 *   A(..)   4n     scale: each row's scale, value = q * scale (float32, finite, > 0)
 *   A(..)   n*dim  q: the quantised rows (int8), row after row
 * where A(x) rounds x up to a multiple of 64 and each section follows the previous one.
 *
 * Loading checks the header (its checksum, the key) and the size, and nothing row by row: a cold search maps the
 * file without reading it, and pages in only the rows it visits. The rows are what this library wrote for this
 * change counter; a file damaged under an intact header gives wrong scores, never a read outside the mapping
 * (every offset comes from the header's n and dim, checked against the file's size). */
#include "index.h"

#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VINDEX_FILE_VERSION 1
/* a temporary name of this process and call: two threads or processes may write the same file at once */
static atomic_uint tmp_seq;

#define HEADER_BYTES 64

static uint64_t align64(uint64_t x) { return (x + 63) & ~(uint64_t)63; }

typedef struct layout {
    uint64_t media, frame, scale, q, total;
} layout;

static layout layout_of(int64_t n, int dim) {
    layout l;
    l.media = HEADER_BYTES;
    l.frame = align64(l.media + 8 * (uint64_t)n);
    l.scale = align64(l.frame + 4 * (uint64_t)n);
    l.q = align64(l.scale + 4 * (uint64_t)n);
    l.total = l.q + (uint64_t)n * (uint64_t)dim;
    return l;
}

typedef struct header {
    char magic[8];
    uint32_t version, dim;
    int64_t n, model_id, changes;
    uint64_t library, file_bytes, check;
} header;
_Static_assert(sizeof(header) == HEADER_BYTES, "the header is 64 bytes");

static bool write_at(FILE *f, uint64_t *pos, uint64_t at, const void *data, size_t bytes) {
    static const char zeros[64];
    while (*pos < at) { /* padding up to the section */
        size_t pad = at - *pos < sizeof zeros ? (size_t)(at - *pos) : sizeof zeros;
        if (fwrite(zeros, 1, pad, f) != pad) return false;
        *pos += pad;
    }
    if (bytes && fwrite(data, 1, bytes, f) != bytes) return false;
    *pos += bytes;
    return true;
}

int vindex_file_save(const psk_vindex *ix, const char *path, const vindex_file_key *key, psk_error *err) {
    layout l = layout_of(ix->n, ix->dim);
    header h = {.magic = {'P', 'S', 'K', 'V', 'I', 'N', 'D', 'X'},
                .version = VINDEX_FILE_VERSION,
                .dim = (uint32_t)ix->dim,
                .n = ix->n,
                .model_id = key->model_id,
                .changes = key->changes,
                .library = key->library,
                .file_bytes = l.total};
    h.check = psk_fnv1a64(&h, offsetof(header, check));
    /* a name of this process's own: two searches may rebuild the same file at once */
    char tmp[4200];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.%ld.%u.tmp", path, (long)getpid(), atomic_fetch_add(&tmp_seq, 1)) >= sizeof tmp)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return psk_fail(err, PSK_ERR_IO, "%s: %s", tmp, strerror(errno));
    size_t n = (size_t)ix->n;
    uint64_t pos = 0;
    bool ok = write_at(f, &pos, 0, &h, sizeof h) && write_at(f, &pos, l.media, ix->media, 8 * n) &&
              write_at(f, &pos, l.frame, ix->frame, 4 * n) && write_at(f, &pos, l.scale, ix->scale, 4 * n) &&
              write_at(f, &pos, l.q, ix->q, n * (size_t)ix->dim);
    if (fclose(f) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return psk_fail(err, PSK_ERR_IO, "%s: cannot write the search index: %s", path, ok ? strerror(e) : "write failed");
    }
    return PSK_OK;
}

static int refuse(psk_mmap *m, psk_error *err, const char *path, const char *why) {
    psk_mmap_close(m);
    return psk_fail(err, PSK_ERR_FORMAT, "%s: %s; rebuilding it", path, why);
}

int vindex_file_load(psk_vindex *ix, const char *path, const vindex_file_key *key, psk_error *err) {
    psk_mmap m;
    int rc = psk_mmap_open(path, &m, err);
    if (rc) return rc == PSK_ERR_FORMAT ? PSK_ERR_FORMAT : PSK_ERR_NOT_FOUND; /* empty, or no file */
    header h;
    if (m.size < sizeof h) return refuse(&m, err, path, "truncated header");
    memcpy(&h, m.data, sizeof h);
    if (memcmp(h.magic, "PSKVINDX", 8) != 0) return refuse(&m, err, path, "not a photoseek index file");
    if (h.check != psk_fnv1a64(&h, offsetof(header, check))) return refuse(&m, err, path, "damaged header");
    if (h.version != VINDEX_FILE_VERSION) return refuse(&m, err, path, "written by another version");
    if ((int)h.dim != ix->dim || h.n < 0 || h.n > ((int64_t)1 << 40) / (h.dim ? h.dim : 1))
        return refuse(&m, err, path, "rows of another dimension");
    if (h.library != key->library) return refuse(&m, err, path, "the index of another library");
    if (h.model_id != key->model_id) return refuse(&m, err, path, "the index of another model");
    if (h.changes != key->changes) return refuse(&m, err, path, "the library changed since it was written");
    layout l = layout_of(h.n, ix->dim);
    if (h.file_bytes != l.total || m.size != l.total) return refuse(&m, err, path, "truncated or extended");
    const char *base = m.data;
    /* a search reads a few thousand rows scattered over the file: no readahead, and no fault-around mapping the
     * neighbours of each row it touches (which only inflates the process's resident size) */
    madvise(m.data, m.size, MADV_RANDOM);
    /* the rows are read-only through the mapping: the index never writes rows it holds */
    ix->media = (int64_t *)(base + l.media);
    ix->frame = (int32_t *)(base + l.frame);
    ix->scale = (float *)(base + l.scale);
    ix->q = (int8_t *)(base + l.q);
    ix->n = ix->cap = h.n;
    ix->map = m;
    return PSK_OK;
}
