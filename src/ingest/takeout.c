/* Google Takeout import. An export is a set of archives (or their extracted folders) holding
 *   Takeout/Google Photos/<Photos from 2019 | an album>/IMG_1234.jpg
 *   Takeout/Google Photos/<...>/IMG_1234.jpg.json  (or .supplemental-metadata.json since 2024; names cut to 51)
 *   Takeout/Google Photos/<album>/metadata.json     ({"title": album name})
 * with each photo repeated in every album folder it belongs to. Archives are streamed with libarchive: media are
 * staged to disk while hashed, sidecars parsed in memory; then every media file is matched with its sidecar, each
 * distinct content stored once by year, and the sidecars recorded for the index run that follows. */
#include "ingest.h"

#include <archive.h>
#include <archive_entry.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct tk_media {
    char *folder, *name; /* inside the export */
    char *src;           /* the staged copy, or the file in an extracted folder */
    bool staged;
    char hash[65];
    int sidecar;         /* index in sidecars, or -1 */
} tk_media;

typedef struct tk_sidecar {
    char *folder, *name, *title, *description, *people;
    bool bad, has_taken, has_geo, album_meta;
    char error[200];
    int64_t taken;
    double lat, lon;
} tk_sidecar;

typedef struct tk_state {
    tk_media *media;
    size_t n_media, cap_media;
    tk_sidecar *side;
    size_t n_side, cap_side;
    char staging[4200];
    int staged;
    const psk_takeout_params *p;
    psk_import_stats *st;
} tk_state;

static void notice(tk_state *t, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void notice(tk_state *t, const char *path, const char *fmt, ...) {
    if (!t->p->notice) return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    t->p->notice(t->p->notice_user, path, msg);
}

static bool is_media_name(const char *name) {
    return walk_media_type(name) != 0;
}

/* A relative path inside an export, refused if it could escape (absolute, "..", empty parts). */
static bool safe_relative(const char *p) {
    if (!*p || p[0] == '/') return false;
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 2 && s[0] == '.' && s[1] == '.') return false;
        s += n + (e ? 1 : 0);
    }
    return true;
}

static void split_path(const char *rel, char **folder, char **name) {
    const char *slash = strrchr(rel, '/');
    *folder = slash ? psk_strndup(rel, (size_t)(slash - rel)) : psk_strdup("");
    *name = psk_strdup(slash ? slash + 1 : rel);
}

static int add_media(tk_state *t, const char *rel, const char *src, bool staged, const char *hash) {
    if (t->n_media == t->cap_media) {
        size_t cap = t->cap_media ? t->cap_media * 2 : 64;
        tk_media *m = psk_realloc(t->media, sizeof *m * cap);
        if (!m) return PSK_ERR_NOMEM;
        t->media = m;
        t->cap_media = cap;
    }
    tk_media *m = &t->media[t->n_media++];
    memset(m, 0, sizeof *m);
    split_path(rel, &m->folder, &m->name);
    m->src = psk_strdup(src);
    m->staged = staged;
    snprintf(m->hash, sizeof m->hash, "%s", hash);
    m->sidecar = -1;
    t->st->found++;
    return m->folder && m->name && m->src ? PSK_OK : PSK_ERR_NOMEM;
}

static double json_num(const cJSON *o, const char *path, bool *ok) {
    const cJSON *v = psk_json_get(o, path);
    *ok = true;
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsString(v) && *v->valuestring) {
        char *end;
        double d = strtod(v->valuestring, &end);
        if (!*end) return d;
    }
    *ok = false;
    return 0;
}

/* Parses a sidecar (or an album's metadata.json). A malformed one is kept with its error, so that its photo
 * is still imported and the problem reported. */
static int add_sidecar(tk_state *t, const char *rel, const char *data, size_t len) {
    if (t->n_side == t->cap_side) {
        size_t cap = t->cap_side ? t->cap_side * 2 : 64;
        tk_sidecar *s = psk_realloc(t->side, sizeof *s * cap);
        if (!s) return PSK_ERR_NOMEM;
        t->side = s;
        t->cap_side = cap;
    }
    tk_sidecar *s = &t->side[t->n_side++];
    memset(s, 0, sizeof *s);
    split_path(rel, &s->folder, &s->name);
    if (!s->folder || !s->name) return PSK_ERR_NOMEM;
    s->album_meta = strcmp(s->name, "metadata.json") == 0;
    cJSON *j = cJSON_ParseWithLength(data, len);
    if (!j || !cJSON_IsObject(j)) {
        s->bad = true;
        snprintf(s->error, sizeof s->error, "malformed JSON");
        cJSON_Delete(j);
        return PSK_OK;
    }
    const char *title = psk_json_string(j, "title", NULL);
    s->title = title ? psk_strdup(title) : NULL;
    const char *desc = psk_json_string(j, "description", NULL);
    if (desc && *desc) s->description = psk_strdup(desc);
    if ((title && !s->title) || (desc && *desc && !s->description)) {
        cJSON_Delete(j);
        return PSK_ERR_NOMEM;
    }
    bool ok;
    double ts = json_num(j, "photoTakenTime.timestamp", &ok);
    if (ok && ts > 0) {
        s->has_taken = true;
        s->taken = (int64_t)ts;
    }
    double lat = json_num(j, "geoData.latitude", &ok), lon = ok ? json_num(j, "geoData.longitude", &ok) : 0;
    if (!ok || (lat == 0 && lon == 0)) { /* 0.0, 0.0 means unknown */
        lat = json_num(j, "geoDataExif.latitude", &ok);
        lon = ok ? json_num(j, "geoDataExif.longitude", &ok) : 0;
    }
    if (ok && !(lat == 0 && lon == 0) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
        s->has_geo = true;
        s->lat = lat;
        s->lon = lon;
    }
    const cJSON *people = psk_json_get(j, "people"), *it;
    if (cJSON_IsArray(people) && cJSON_GetArraySize(people) > 0) {
        cJSON *names = cJSON_CreateArray();
        cJSON_ArrayForEach(it, people) {
            const char *n = psk_json_string(it, "name", NULL);
            if (n) cJSON_AddItemToArray(names, cJSON_CreateString(n));
        }
        s->people = cJSON_PrintUnformatted(names);
        cJSON_Delete(names);
    }
    cJSON_Delete(j);
    return PSK_OK;
}

/* Streams one archive: media staged (hashed as written), sidecars parsed. */
static int read_archive(tk_state *t, const char *path, psk_error *err) {
    struct archive *a = archive_read_new();
    if (!a) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK) {
        /* reported, and the other parts of the export still imported */
        psk_fail(err, PSK_ERR_FORMAT, "%s: not a readable archive: %s", path, archive_error_string(a));
        notice(t, path, "not a readable archive: %s", archive_error_string(a));
        t->st->failed++;
        archive_read_free(a);
        return PSK_OK;
    }
    struct archive_entry *e;
    int r, rc = PSK_OK;
    while (!rc && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN) {
            /* A damaged archive: what was read so far is kept and the rest reported. */
            notice(t, path, "archive damaged after %zu files: %s", t->n_media, archive_error_string(a));
            t->st->failed++;
            break;
        }
        if (archive_entry_filetype(e) != AE_IFREG) continue;
        const char *rel = archive_entry_pathname(e);
        if (!rel || !safe_relative(rel)) {
            notice(t, path, "skipped an entry with an unsafe name (%.200s)", rel ? rel : "?");
            continue;
        }
        const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        size_t bl = strlen(base);
        int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
        if (bl > 5 && strcasecmp(base + bl - 5, ".json") == 0) {
            if (size > 4 << 20) continue; /* no sidecar is that large */
            psk_buf b = {0};
            char chunk[16384];
            la_ssize_t n;
            while ((n = archive_read_data(a, chunk, sizeof chunk)) > 0 && b.len < (4u << 20)) psk_buf_append(&b, chunk, (size_t)n);
            if (n < 0) {
                notice(t, path, "archive damaged at %s: %s", rel, archive_error_string(a));
                t->st->failed++;
                psk_buf_free(&b);
                break;
            }
            rc = b.failed ? PSK_ERR_NOMEM : add_sidecar(t, rel, b.data ? b.data : "", b.len);
            psk_buf_free(&b);
            if (rc) rc = psk_fail(err, rc, "out of memory");
            continue;
        }
        if (!is_media_name(base)) continue;
        char staged[4400];
        const char *dot = strrchr(base, '.');
        snprintf(staged, sizeof staged, "%s/%06d%s", t->staging, t->staged++, dot ? dot : "");
        FILE *f = fopen(staged, "wb");
        if (!f) {
            rc = psk_fail(err, PSK_ERR_IO, "%s: %s", staged, strerror(errno));
            break;
        }
        psk_content_hasher *md = psk_content_hasher_new();
        if (!md) {
            fclose(f);
            remove(staged);
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        char chunk[1 << 16];
        la_ssize_t n;
        bool ok = true;
        while ((n = archive_read_data(a, chunk, sizeof chunk)) > 0) {
            psk_content_hasher_update(md, chunk, (size_t)n);
            if (fwrite(chunk, 1, (size_t)n, f) != (size_t)n) ok = false;
        }
        char hex[PSK_CONTENT_HASH_LEN + 1];
        psk_content_hasher_final(md, hex);
        if (fclose(f) != 0) ok = false;
        if (n < 0 || !ok) {
            if (n < 0) notice(t, path, "archive damaged at %s: %s", rel, archive_error_string(a));
            else notice(t, path, "%s: cannot extract: write failed", rel);
            t->st->failed++;
            remove(staged);
            if (n < 0) break;
            continue;
        }
        rc = add_media(t, rel, staged, true, hex);
        if (rc) rc = psk_fail(err, rc, "out of memory");
    }
    archive_read_free(a);
    return rc;
}

static int read_folder(tk_state *t, const char *root, const char *dir, psk_error *err) {
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, *dir ? "/" : "", dir);
    DIR *d = opendir(path);
    if (!d) return psk_fail(err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
    struct dirent *e;
    int rc = PSK_OK;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char rel[4096], full[8192];
        snprintf(rel, sizeof rel, "%s%s%s", dir, *dir ? "/" : "", e->d_name);
        snprintf(full, sizeof full, "%s/%s", root, rel);
        struct stat st;
        if (lstat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            rc = read_folder(t, root, rel, err);
        } else if (S_ISREG(st.st_mode)) {
            size_t nl = strlen(e->d_name);
            if (nl > 5 && strcasecmp(e->d_name + nl - 5, ".json") == 0 && st.st_size < (4 << 20)) {
                char *data;
                size_t size;
                int r = psk_read_file(full, 4 << 20, &data, &size, NULL);
                if (r == PSK_OK) {
                    rc = add_sidecar(t, rel, data, size);
                    psk_free(data);
                }
                if (r == PSK_ERR_NOMEM || rc) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            } else if (is_media_name(e->d_name)) {
                char hex[PSK_CONTENT_HASH_LEN + 1];
                int r = psk_content_hash_file(full, hex, err);
                if (r == PSK_OK) {
                    if ((rc = add_media(t, rel, full, false, hex))) rc = psk_fail(err, rc, "out of memory");
                } else if (r == PSK_ERR_NOMEM) {
                    rc = r;
                } else {
                    notice(t, full, "cannot read");
                    t->st->failed++;
                }
            }
        }
    }
    closedir(d);
    return rc;
}

/* ---- matching media and sidecars ---- */

/* The first n characters (code points, not bytes) of s. */
static void trunc_chars(const char *s, size_t n, char *out, size_t cap) {
    size_t i = 0, chars = 0;
    while (s[i] && chars < n) {
        size_t k = 1;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0xF0) k = 4;
        else if (c >= 0xE0) k = 3;
        else if (c >= 0xC0) k = 2;
        i += k;
        chars++;
    }
    if (i >= cap) i = cap - 1;
    memcpy(out, s, i);
    out[i] = 0;
}

static const char *const edited_suffixes[] = {"-edited", "-bearbeitet", "-modifié", "-editado", "-modificato",
                                              "-bewerkt", "-edytowane", "-redigerad", "-muokattu", "-編集済み"};

static int find_sidecar(tk_state *t, const char *folder, const char *name) {
    for (size_t i = 0; i < t->n_side; i++)
        if (!t->side[i].album_meta && strcmp(t->side[i].folder, folder) == 0 && strcmp(t->side[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int match_sidecar(tk_state *t, const tk_media *m) {
    char stem[1024], ext[64] = "", dup[16] = "";
    snprintf(stem, sizeof stem, "%s", m->name);
    char *dot = strrchr(stem, '.');
    if (dot) {
        snprintf(ext, sizeof ext, "%s", dot);
        *dot = 0;
    }
    /* "IMG_1234(1).jpg": the index moves after the extension in the sidecar's name */
    size_t sl = strlen(stem);
    if (sl > 3 && stem[sl - 1] == ')') {
        char *open = strrchr(stem, '(');
        if (open && open > stem && strspn(open + 1, "0123456789") == (size_t)(stem + sl - 1 - open - 1)) {
            snprintf(dup, sizeof dup, "%s", open);
            *open = 0;
        }
    }
    /* "IMG_1234-edited.jpg" shares the original's sidecar */
    for (size_t i = 0; i < sizeof edited_suffixes / sizeof edited_suffixes[0]; i++) {
        size_t el = strlen(edited_suffixes[i]), l = strlen(stem);
        if (l > el && strcmp(stem + l - el, edited_suffixes[i]) == 0) {
            stem[l - el] = 0;
            break;
        }
    }
    char orig[1200];
    snprintf(orig, sizeof orig, "%s%s", stem, ext);
    const char *kinds[2] = {".supplemental-metadata", ""};
    for (int k = 0; k < 2; k++) {
        char base[1300], cut[1300], cand[1400];
        snprintf(base, sizeof base, "%s%s", orig, kinds[k]);
        /* Google cuts a sidecar's name to 51 characters: 46 of the base, then ".json" */
        const size_t dl = strlen(dup);
        trunc_chars(base, 46, cut, sizeof cut);
        const char *forms[3][2] = {{base, dup}, {cut, dup}, {NULL, NULL}};
        char cut2[1300];
        if (dl) {
            trunc_chars(base, 46 - dl, cut2, sizeof cut2);
            forms[2][0] = cut2;
            forms[2][1] = dup;
        }
        for (int f = 0; f < 3; f++) {
            if (!forms[f][0]) continue;
            snprintf(cand, sizeof cand, "%s%s.json", forms[f][0], forms[f][1]);
            int s = find_sidecar(t, m->folder, cand);
            if (s >= 0) return s;
        }
    }
    /* Last resort: a sidecar in the same folder whose title is the file's (original) name. */
    for (size_t i = 0; i < t->n_side; i++) {
        tk_sidecar *s = &t->side[i];
        if (!s->album_meta && s->title && strcmp(s->folder, m->folder) == 0 &&
            (strcmp(s->title, orig) == 0 || strcmp(s->title, m->name) == 0))
            return (int)i;
    }
    return -1;
}

/* The album a folder stands for, or NULL for a year folder ("Photos from 2019", localised). */
static const char *album_of(tk_state *t, const char *folder) {
    for (size_t i = 0; i < t->n_side; i++)
        if (t->side[i].album_meta && strcmp(t->side[i].folder, folder) == 0 && t->side[i].title && *t->side[i].title)
            return t->side[i].title;
    const char *leaf = strrchr(folder, '/') ? strrchr(folder, '/') + 1 : folder;
    size_t n = strlen(leaf);
    static const char *years[] = {"Photos from ", "Fotos von ", "Photos de ", "Fotos de ", "Foto del ", "Foto's uit ",
                                  "Zdjęcia z ", "Foton från ", "Fotos do "};
    if (n >= 4 && strspn(leaf + n - 4, "0123456789") == 4) {
        for (size_t i = 0; i < sizeof years / sizeof years[0]; i++)
            if (strncmp(leaf, years[i], strlen(years[i])) == 0) return NULL;
        if (n == 4) return NULL; /* a bare year */
    }
    if (strcmp(leaf, "Google Photos") == 0 || strcmp(leaf, "Google Fotos") == 0 || n == 0) return NULL;
    return leaf;
}

static int copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb");
    if (!in) return PSK_ERR_IO;
    FILE *out = fopen(to, "wb");
    if (!out) {
        fclose(in);
        return PSK_ERR_IO;
    }
    char buf[1 << 16];
    size_t n;
    bool ok = true;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) ok = ok && fwrite(buf, 1, n, out) == n;
    fclose(in);
    if (fclose(out) != 0) ok = false;
    return ok ? PSK_OK : PSK_ERR_IO;
}

static bool hash_in_library(psk_library *lib, const char *hash, const char *into) {
    sqlite3_stmt *st;
    bool found = false;
    if (sqlite3_prepare_v2(library_import_store(lib, NULL)->db, "SELECT path FROM media WHERE hash = ?", -1, &st, NULL) != SQLITE_OK) return false;
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    size_t il = strlen(into);
    while (!found && sqlite3_step(st) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        found = p && strncmp(p, into, il) == 0 && p[il] == '/' && psk_file_exists(p);
    }
    sqlite3_finalize(st);
    return found;
}

psk_status psk_import_takeout(psk_library *lib, const psk_takeout_params *params, psk_import_stats *stats,
                              psk_error *err) {
    memset(stats, 0, sizeof *stats);
    if (!library_import_store(lib, err)) return PSK_ERR_UNSUPPORTED;
    if (!params->into || params->n_inputs <= 0)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "give the Takeout archives or folders and a folder to import into");
    int rc = psk_mkdir_p(params->into, err);
    if (rc) return rc;
    char into[4096];
    if (!realpath(params->into, into)) return psk_fail(err, PSK_ERR_IO, "%s: %s", params->into, strerror(errno));
    tk_state t = {0};
    t.p = params;
    t.st = stats;
    snprintf(t.staging, sizeof t.staging, "%s/.photoseek-import", into);
    if ((rc = psk_mkdir_p(t.staging, err))) return rc;
    for (int i = 0; !rc && i < params->n_inputs; i++) {
        struct stat st;
        if (stat(params->inputs[i], &st) != 0) rc = psk_fail(err, PSK_ERR_NOT_FOUND, "%s: %s", params->inputs[i], strerror(errno));
        else if (S_ISDIR(st.st_mode)) rc = read_folder(&t, params->inputs[i], "", err);
        else rc = read_archive(&t, params->inputs[i], err);
    }
    if (!rc && t.n_media == 0 && stats->failed > 0) rc = PSK_ERR_FORMAT; /* err holds the last reason */
    /* Match, merge album copies, place each distinct content once. */
    psk_strmap placed = {0}; /* hash -> index of the first copy */
    char **dest = psk_calloc(t.n_media + 1, sizeof *dest);
    if (!rc && !dest) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    if (!rc) rc = store_exec(library_import_store(lib, NULL), "BEGIN IMMEDIATE", err);
    for (size_t i = 0; !rc && i < t.n_media; i++) {
        tk_media *m = &t.media[i];
        m->sidecar = match_sidecar(&t, m);
        tk_sidecar *sc = m->sidecar >= 0 ? &t.side[m->sidecar] : NULL;
        if (!sc) {
            stats->sidecars_missing++;
            notice(&t, m->name, "no sidecar found in %s: dates come from EXIF or the file", m->folder);
        } else if (sc->bad) {
            stats->sidecars_bad++;
            notice(&t, sc->name, "%s in %s: its photo %s is imported with EXIF or file dates", sc->error, sc->folder, m->name);
            sc = NULL;
        } else {
            stats->sidecars_matched++;
        }
        int32_t first;
        if (psk_strmap_get(&placed, m->hash, PSK_CONTENT_HASH_LEN, &first)) {
            stats->duplicates++;
            dest[i] = NULL;
            m->sidecar = first; /* merged below through the album list */
            continue;
        }
        if (psk_strmap_put(&placed, m->hash, PSK_CONTENT_HASH_LEN, (int32_t)i)) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        /* by year of capture, as the sidecar says (EXIF decides the date later) */
        char year[16] = "undated";
        if (sc && sc->has_taken) {
            time_t tt = (time_t)sc->taken;
            struct tm tm;
            gmtime_r(&tt, &tm);
            snprintf(year, sizeof year, "%04d", tm.tm_year + 1900);
        }
        char dir[4200], path[4400];
        snprintf(dir, sizeof dir, "%s/%s", into, year);
        if ((rc = psk_mkdir_p(dir, err))) break;
        snprintf(path, sizeof path, "%s/%s", dir, m->name);
        bool present = hash_in_library(lib, m->hash, into);
        for (int k = 2; !present && psk_file_exists(path); k++) {
            char h[PSK_CONTENT_HASH_LEN + 1];
            if (psk_content_hash_file(path, h, NULL) == PSK_OK && strcmp(h, m->hash) == 0) present = true;
            else {
                const char *d = strrchr(m->name, '.');
                snprintf(path, sizeof path, "%s/%.*s (%d)%s", dir, d ? (int)(d - m->name) : (int)strlen(m->name), m->name, k,
                         d ? d : "");
            }
        }
        if (present) {
            stats->already_present++;
            dest[i] = NULL;
            continue;
        }
        if (m->staged ? rename(m->src, path) != 0 && copy_file(m->src, path) != PSK_OK : copy_file(m->src, path) != PSK_OK) {
            rc = psk_fail(err, PSK_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            break;
        }
        if (!(dest[i] = psk_strdup(path))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        stats->imported++;
    }
    /* Sidecar rows: each placed file with the albums of all its copies. */
    for (size_t i = 0; !rc && i < t.n_media; i++) {
        if (!dest[i]) continue;
        tk_media *m = &t.media[i];
        cJSON *albums = cJSON_CreateArray();
        for (size_t j = 0; j < t.n_media; j++) {
            if (strcmp(t.media[j].hash, m->hash) != 0) continue;
            const char *a = album_of(&t, t.media[j].folder);
            bool seen = false;
            const cJSON *it;
            cJSON_ArrayForEach(it, albums) seen = seen || (a && strcmp(it->valuestring, a) == 0);
            if (a && !seen) cJSON_AddItemToArray(albums, cJSON_CreateString(a));
        }
        char *alb = cJSON_GetArraySize(albums) ? cJSON_PrintUnformatted(albums) : NULL;
        cJSON_Delete(albums);
        /* the sidecar of this copy, or of any copy that has a good one */
        tk_sidecar *sc = NULL;
        for (size_t j = 0; j < t.n_media && !sc; j++) {
            if (strcmp(t.media[j].hash, m->hash) != 0) continue;
            int s = match_sidecar(&t, &t.media[j]);
            if (s >= 0 && !t.side[s].bad) sc = &t.side[s];
        }
        sqlite3_stmt *st;
        if ((rc = store_prepare(library_import_store(lib, NULL),
                                "INSERT OR REPLACE INTO sidecars(path, taken_at, lat, lon, description, people, albums, source) "
                                "VALUES(?, ?, ?, ?, ?, ?, ?, 'takeout')",
                                &st, err))) {
            psk_free(alb);
            break;
        }
        sqlite3_bind_text(st, 1, dest[i], -1, SQLITE_STATIC);
        if (sc && sc->has_taken) sqlite3_bind_int64(st, 2, sc->taken);
        if (sc && sc->has_geo) {
            sqlite3_bind_double(st, 3, sc->lat);
            sqlite3_bind_double(st, 4, sc->lon);
        }
        if (sc && sc->description) sqlite3_bind_text(st, 5, sc->description, -1, SQLITE_STATIC);
        if (sc && sc->people) sqlite3_bind_text(st, 6, sc->people, -1, SQLITE_STATIC);
        if (alb) sqlite3_bind_text(st, 7, alb, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(library_import_store(lib, NULL), err, "recording a sidecar");
        sqlite3_finalize(st);
        psk_free(alb);
    }
    if (!rc) rc = store_exec(library_import_store(lib, NULL), "COMMIT", err);
    else store_exec(library_import_store(lib, NULL), "ROLLBACK", NULL);
    /* Staged copies that were not placed (duplicates) go. */
    for (size_t i = 0; i < t.n_media; i++) {
        if (t.media[i].staged) remove(t.media[i].src);
        psk_free(t.media[i].folder);
        psk_free(t.media[i].name);
        psk_free(t.media[i].src);
        psk_free(dest ? dest[i] : NULL);
    }
    rmdir(t.staging);
    psk_free(dest);
    psk_free(t.media);
    for (size_t i = 0; i < t.n_side; i++) {
        psk_free(t.side[i].folder);
        psk_free(t.side[i].name);
        psk_free(t.side[i].title);
        psk_free(t.side[i].description);
        psk_free(t.side[i].people);
    }
    psk_free(t.side);
    psk_strmap_free(&placed);
    if (rc) return rc;
    /* Index the library folder like any other. */
    psk_index_params ip = params->index;
    const char *roots[1] = {into};
    ip.roots = roots;
    ip.n_roots = 1;
    return psk_library_index(lib, &ip, &stats->index, err);
}
