/* Opening, migrating and writing the SQLite store. */
#include "store.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

int store_fail(psk_store *s, psk_error *err, const char *what) {
    int code = sqlite3_errcode(s->db);
    if (code == SQLITE_NOMEM) return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory", s->path);
    return psk_fail(err, PSK_ERR_DB, "%s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

int store_exec(psk_store *s, const char *sql, psk_error *err) {
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = psk_fail(err, PSK_ERR_DB, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return rc;
    }
    return PSK_OK;
}

int store_prepare(psk_store *s, const char *sql, sqlite3_stmt **st, psk_error *err) {
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return store_fail(s, err, "prepare");
    return PSK_OK;
}

/* Migrations: entry i upgrades a file at user_version i to i+1. Never edit one that has shipped: add another. */
static const char *const migrations[] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE models(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, dim INTEGER NOT NULL, dir TEXT,"
    "  created_at INTEGER);"
    "CREATE TABLE media(id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, folder TEXT NOT NULL, size INTEGER,"
    "  mtime_ns INTEGER, hash TEXT, type INTEGER NOT NULL DEFAULT 1, width INTEGER, height INTEGER,"
    "  taken_at INTEGER, offset_min INTEGER, taken_src TEXT, taken_local TEXT, year INTEGER, month INTEGER,"
    "  day INTEGER, local_date INTEGER, make TEXT, model TEXT, lat REAL, lon REAL, indexed_at INTEGER, error TEXT);"
    "CREATE INDEX media_hash ON media(hash);"
    "CREATE INDEX media_date ON media(local_date);"
    "CREATE INDEX media_folder ON media(folder);"
    "CREATE TABLE embeddings(media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,"
    "  model_id INTEGER NOT NULL REFERENCES models(id), frame_ms INTEGER NOT NULL DEFAULT -1, vec BLOB NOT NULL,"
    "  PRIMARY KEY(media_id, model_id, frame_ms)) WITHOUT ROWID;"
    "CREATE INDEX embeddings_model ON embeddings(model_id, media_id);",
    /* 1 -> 2: videos */
    "ALTER TABLE media ADD COLUMN duration_ms INTEGER;",
    /* 2 -> 3: Google Photos imports: what the sidecars say, and the media columns it fills */
    "ALTER TABLE media ADD COLUMN description TEXT;"
    "ALTER TABLE media ADD COLUMN people TEXT;"
    "ALTER TABLE media ADD COLUMN albums TEXT;"
    "CREATE TABLE sidecars(path TEXT PRIMARY KEY, taken_at INTEGER, lat REAL, lon REAL, description TEXT,"
    "  people TEXT, albums TEXT, source TEXT, make TEXT, model TEXT);",
    /* 3 -> 4: near-duplicates: each photo's perceptual hash (src/dups/phash.c), and the groups kept up to date by
     * each index run */
    "CREATE TABLE phashes(media_id INTEGER PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,"
    "  phash INTEGER NOT NULL);"
    "CREATE TABLE dup_groups(media_id INTEGER PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,"
    "  group_id INTEGER NOT NULL, kind INTEGER NOT NULL);"
    "CREATE INDEX dup_groups_group ON dup_groups(group_id);",
    /* 4 -> 5: text in photos (text.c): what OCR read, its words' boxes, and the folded text in an FTS5 trigram
     * index (substrings, Chinese without a word segmenter); a media row's deletion takes its text along */
    "CREATE TABLE media_text(media_id INTEGER PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,"
    "  text TEXT NOT NULL, words TEXT NOT NULL);"
    "CREATE VIRTUAL TABLE media_text_fts USING fts5(folded, tokenize = 'trigram');"
    "CREATE TRIGGER media_text_gone AFTER DELETE ON media_text BEGIN"
    "  DELETE FROM media_text_fts WHERE rowid = old.media_id; END;",
    /* 5 -> 6: places (issue 19); the next index run names the places of the rows that have a position */
    "ALTER TABLE media ADD COLUMN place_city TEXT;"
    "ALTER TABLE media ADD COLUMN place_region TEXT;"
    "ALTER TABLE media ADD COLUMN place_country TEXT;"
    "ALTER TABLE media ADD COLUMN place_cc TEXT;"
    "CREATE INDEX media_place ON media(place_cc, place_region, place_city);"
    "CREATE INDEX media_lat ON media(lat);",
    /* 6 -> 7: faces and people (issue 14; sqlite_people.c) */
    "CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT UNIQUE COLLATE NOCASE, cover_face_id INTEGER,"
    "  created_at INTEGER);"
    "CREATE TABLE faces(id INTEGER PRIMARY KEY, media_id INTEGER NOT NULL REFERENCES media(id) ON DELETE CASCADE,"
    "  frame_ms INTEGER NOT NULL DEFAULT -1, x REAL, y REAL, w REAL, h REAL, score REAL, descriptor BLOB NOT NULL,"
    "  person_id INTEGER REFERENCES people(id) ON DELETE SET NULL, assigned INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX faces_media ON faces(media_id);"
    "CREATE INDEX faces_person ON faces(person_id);"
    "CREATE TABLE face_scans(media_id INTEGER PRIMARY KEY REFERENCES media(id) ON DELETE CASCADE,"
    "  n_faces INTEGER NOT NULL);",
};

static int user_version(psk_store *s) {
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static int migrate(psk_store *s, psk_error *err) {
    int v = user_version(s);
    int latest = (int)(sizeof migrations / sizeof migrations[0]);
    if (v < 0) return store_fail(s, err, "reading the schema version");
    if (v > latest)
        return psk_fail(err, PSK_ERR_UNSUPPORTED,
                        "%s: written by a newer photoseek (schema %d, this one knows %d); upgrade photoseek", s->path,
                        v, latest);
    if (v == latest) return PSK_OK;
    if (!s->writable)
        return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: schema %d is older than %d; run 'photoseek index' to upgrade it",
                        s->path, v, latest);
    for (; v < latest; v++) {
        char sql[64];
        int rc = store_exec(s, "BEGIN IMMEDIATE", err);
        if (rc) return rc;
        /* Another process may have migrated meanwhile. */
        if (user_version(s) != v) {
            store_exec(s, "ROLLBACK", NULL);
            v = user_version(s) - 1;
            continue;
        }
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if ((rc = store_exec(s, migrations[v], err)) || (rc = store_exec(s, sql, err)) ||
            (rc = store_exec(s, "COMMIT", err))) {
            store_exec(s, "ROLLBACK", NULL);
            return rc;
        }
    }
    return PSK_OK;
}

/* The change counter of the vectors, which the search index file beside the library is checked against
 * (src/index/vindex_file.c): every insert, update and delete of an embeddings row moves it, whoever writes, and
 * `library` tells this library from any other. Made by the first writable open (not a migration, so that older
 * libraries keep opening read-only; a library without it simply has no index file). */
static const char change_counter_sql[] =
    "CREATE TABLE IF NOT EXISTS vector_changes(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL,"
    "  library INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO vector_changes VALUES(1, 0, random());"
    "CREATE TRIGGER IF NOT EXISTS vector_changes_ins AFTER INSERT ON embeddings"
    "  BEGIN UPDATE vector_changes SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER IF NOT EXISTS vector_changes_del AFTER DELETE ON embeddings"
    "  BEGIN UPDATE vector_changes SET n = n + 1 WHERE id = 1; END;"
    "CREATE TRIGGER IF NOT EXISTS vector_changes_upd AFTER UPDATE ON embeddings"
    "  BEGIN UPDATE vector_changes SET n = n + 1 WHERE id = 1; END;";

int store_open(const char *path, bool writable, psk_store **out, psk_error *err) {
    *out = NULL;
    psk_store *s = psk_calloc(1, sizeof *s);
    if (!s) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    s->writable = writable;
    int rc;
    struct stat dir_st;
    if (stat(path, &dir_st) == 0 && S_ISDIR(dir_st.st_mode)) {
        psk_free(s);
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: a folder, not a library file (--db takes the library's file, "
                        "e.g. %s%slibrary.db)", path, path, path[0] && path[strlen(path) - 1] == '/' ? "" : "/");
    }
    if (!writable && !psk_file_exists(path)) {
        psk_free(s);
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no library here yet (run 'photoseek index FOLDER' first)", path);
    }
    if (writable) {
        /* Create the folder of the database. */
        char dir[1024];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = 0;
            if ((rc = psk_mkdir_p(dir, err))) {
                psk_free(s);
                return rc;
            }
        }
    }
    int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = psk_fail(err, PSK_ERR_DB, "%s: cannot open: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        store_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, 10000); /* an index run and a search may meet */
    /* Check that it is a database before anything else writes to it. */
    if ((rc = store_exec(s, "SELECT count(*) FROM sqlite_master", err))) {
        psk_fail(err, PSK_ERR_FORMAT, "%s: not a photoseek library (not an SQLite database)", path);
        store_close(s);
        return PSK_ERR_FORMAT;
    }
    if (writable && ((rc = store_exec(s, "PRAGMA journal_mode=WAL", err)) ||
                     (rc = store_exec(s, "PRAGMA synchronous=NORMAL", err)))) {
        store_close(s);
        return rc;
    }
    if ((rc = store_exec(s, "PRAGMA foreign_keys=ON", err)) || (rc = migrate(s, err))) {
        store_close(s);
        return rc;
    }
    /* all of it or nothing (a counter without its triggers would never move); failing leaves the library without
     * an index file, which costs speed only */
    if (writable && store_exec(s, "SAVEPOINT counter", NULL) == PSK_OK) {
        if (store_exec(s, change_counter_sql, NULL)) store_exec(s, "ROLLBACK TO counter", NULL);
        store_exec(s, "RELEASE counter", NULL);
    }
    *out = s;
    return PSK_OK;
}

void store_close(psk_store *s) {
    if (!s) return;
    sqlite3_close_v2(s->db);
    psk_free(s);
}

int store_meta_get(psk_store *s, const char *key, char *buf, size_t cap) {
    sqlite3_stmt *st;
    int rc = PSK_ERR_NOT_FOUND;
    buf[0] = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK) return PSK_ERR_DB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(st, 0));
        rc = PSK_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

int store_meta_set(psk_store *s, const char *key, const char *value, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st) == SQLITE_DONE ? PSK_OK : store_fail(s, err, "writing meta");
    sqlite3_finalize(st);
    return rc;
}

int store_model_row(psk_store *s, const char *name, int dim, const char *dir, int64_t *id, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "INSERT INTO models(name, dim, dir, created_at) VALUES(?, ?, ?, ?) "
                              "ON CONFLICT(name) DO UPDATE SET dir = excluded.dir RETURNING id",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, dim);
    sqlite3_bind_text(st, 3, dir, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
    if (sqlite3_step(st) == SQLITE_ROW) *id = sqlite3_column_int64(st, 0);
    else rc = store_fail(s, err, "recording the model");
    sqlite3_finalize(st);
    return rc;
}

int store_model_ensure(psk_store *s, const char *name, int dim, const char *dir, int64_t *id, psk_error *err) {
    int rc = store_model_row(s, name, dim, dir, id, err);
    if (!rc) {
        char v[32];
        snprintf(v, sizeof v, "%lld", (long long)*id);
        rc = store_meta_set(s, "image_model", v, err);
    }
    return rc;
}

int store_current_model(psk_store *s, int64_t *id, char *name, size_t name_cap, int *dim, char *dir, size_t dir_cap) {
    char v[32];
    if (store_meta_get(s, "image_model", v, sizeof v)) return PSK_ERR_NOT_FOUND;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "SELECT id, name, dim, dir FROM models WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return PSK_ERR_DB;
    sqlite3_bind_int64(st, 1, atoll(v));
    int rc = PSK_ERR_NOT_FOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        snprintf(name, name_cap, "%s", (const char *)sqlite3_column_text(st, 1));
        *dim = sqlite3_column_int(st, 2);
        snprintf(dir, dir_cap, "%s", sqlite3_column_text(st, 3) ? (const char *)sqlite3_column_text(st, 3) : "");
        rc = PSK_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static void text_col(sqlite3_stmt *st, int col, char *buf, size_t cap) {
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

int store_media_by_path(psk_store *s, const char *path, store_media *m, bool *found, psk_error *err) {
    sqlite3_stmt *st;
    *found = false;
    int rc = store_prepare(s, "SELECT id, size, mtime_ns, hash, error FROM media WHERE path = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *found = true;
        m->id = sqlite3_column_int64(st, 0);
        m->size = sqlite3_column_int64(st, 1);
        m->mtime_ns = sqlite3_column_int64(st, 2);
        text_col(st, 3, m->hash, sizeof m->hash);
        text_col(st, 4, m->error, sizeof m->error);
        snprintf(m->path, sizeof m->path, "%s", path);
    } else if (step != SQLITE_DONE) {
        rc = store_fail(s, err, "looking up a file");
    }
    sqlite3_finalize(st);
    return rc;
}

int store_media_put(psk_store *s, store_media *m, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(
        s,
        "INSERT INTO media(path, folder, size, mtime_ns, hash, type, width, height, taken_at, offset_min, taken_src,"
        " taken_local, year, month, day, local_date, make, model, lat, lon, indexed_at, error, duration_ms,"
        " description, people, albums)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22,"
        " ?23, ?24, ?25, ?26)"
        " ON CONFLICT(path) DO UPDATE SET folder = ?2, size = ?3, mtime_ns = ?4, hash = ?5, type = ?6, width = ?7,"
        " height = ?8, taken_at = ?9, offset_min = ?10, taken_src = ?11, taken_local = ?12, year = ?13, month = ?14,"
        " day = ?15, local_date = ?16, make = ?17, model = ?18, lat = ?19, lon = ?20, indexed_at = ?21, error = ?22,"
        " duration_ms = ?23, description = ?24, people = ?25, albums = ?26,"
        " place_city = NULL, place_region = NULL, place_country = NULL, place_cc = NULL" /* named again (places.c) */
        " RETURNING id",
        &st, err);
    if (rc) return rc;
    char folder[1024];
    snprintf(folder, sizeof folder, "%s", m->path);
    char *slash = strrchr(folder, '/');
    if (slash) *(slash == folder ? slash + 1 : slash) = 0;
    sqlite3_bind_text(st, 1, m->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, m->size);
    sqlite3_bind_int64(st, 4, m->mtime_ns);
    sqlite3_bind_text(st, 5, m->hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 6, m->type);
    bool ok = !m->error[0];
    if (ok) {
        sqlite3_bind_int(st, 7, m->width);
        sqlite3_bind_int(st, 8, m->height);
        sqlite3_bind_int64(st, 9, m->taken_at);
        if (m->has_offset) sqlite3_bind_int(st, 10, m->offset_min);
        sqlite3_bind_text(st, 11, m->taken_src, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 12, m->taken_local, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 13, m->year);
        sqlite3_bind_int(st, 14, m->month);
        sqlite3_bind_int(st, 15, m->day);
        sqlite3_bind_int(st, 16, m->year * 10000 + m->month * 100 + m->day);
        if (m->make[0]) sqlite3_bind_text(st, 17, m->make, -1, SQLITE_STATIC);
        if (m->model[0]) sqlite3_bind_text(st, 18, m->model, -1, SQLITE_STATIC);
        if (m->has_gps) {
            sqlite3_bind_double(st, 19, m->lat);
            sqlite3_bind_double(st, 20, m->lon);
        }
        if (m->type == 2) sqlite3_bind_int64(st, 23, m->duration_ms);
        if (m->description[0]) sqlite3_bind_text(st, 24, m->description, -1, SQLITE_STATIC);
        if (m->people[0]) sqlite3_bind_text(st, 25, m->people, -1, SQLITE_STATIC);
        if (m->albums[0]) sqlite3_bind_text(st, 26, m->albums, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_text(st, 22, m->error, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int64(st, 21, (int64_t)time(NULL));
    if (sqlite3_step(st) == SQLITE_ROW) m->id = sqlite3_column_int64(st, 0);
    else rc = store_fail(s, err, "writing a file's row");
    sqlite3_finalize(st);
    return rc;
}

int store_media_move(psk_store *s, int64_t id, const char *new_path, int64_t mtime_ns, const char *hash,
                     psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "UPDATE media SET path = ?, folder = ?, mtime_ns = ?, hash = ? WHERE id = ?", &st, err);
    if (rc) return rc;
    char folder[1024];
    snprintf(folder, sizeof folder, "%s", new_path);
    char *slash = strrchr(folder, '/');
    if (slash) *(slash == folder ? slash + 1 : slash) = 0;
    sqlite3_bind_text(st, 1, new_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, folder, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, mtime_ns);
    sqlite3_bind_text(st, 4, hash, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, id);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "recording a move");
    sqlite3_finalize(st);
    return rc;
}

int store_media_delete(psk_store *s, int64_t id, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "DELETE FROM media WHERE id = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "removing a file");
    sqlite3_finalize(st);
    return rc;
}

int store_put_embedding(psk_store *s, int64_t media_id, int64_t model_id, int64_t frame_ms, const float *v, int dim,
                        psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "INSERT OR REPLACE INTO embeddings(media_id, model_id, frame_ms, vec) VALUES(?, ?, ?, ?)",
                           &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, media_id);
    sqlite3_bind_int64(st, 2, model_id);
    sqlite3_bind_int64(st, 3, frame_ms);
    sqlite3_bind_blob(st, 4, v, (int)(sizeof(float) * (size_t)dim), SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "writing an embedding");
    sqlite3_finalize(st);
    return rc;
}

int store_delete_embeddings(psk_store *s, int64_t media_id, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(s, "DELETE FROM embeddings WHERE media_id = ?", &st, err);
    if (rc) return rc;
    sqlite3_bind_int64(st, 1, media_id);
    if (sqlite3_step(st) != SQLITE_DONE) rc = store_fail(s, err, "removing embeddings");
    sqlite3_finalize(st);
    return rc;
}

int store_apply_sidecar(psk_store *s, store_media *m) {
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT taken_at, lat, lon, description, people, albums, make, model FROM sidecars WHERE path = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return PSK_ERR_DB;
    sqlite3_bind_text(st, 1, m->path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        /* The sidecar fills in what EXIF lacks; it never overrides an EXIF date or position. */
        if (sqlite3_column_type(st, 0) != SQLITE_NULL && strcmp(m->taken_src, "exif") != 0) {
            time_t t = (time_t)sqlite3_column_int64(st, 0);
            struct tm tm;
            gmtime_r(&t, &tm);
            m->taken_at = (int64_t)t;
            m->has_offset = true; /* photoTakenTime is a UTC instant */
            m->offset_min = 0;
            snprintf(m->taken_src, sizeof m->taken_src, "sidecar");
            strftime(m->taken_local, sizeof m->taken_local, "%Y-%m-%d %H:%M:%S", &tm);
            m->year = tm.tm_year + 1900;
            m->month = tm.tm_mon + 1;
            m->day = tm.tm_mday;
        }
        if (!m->has_gps && sqlite3_column_type(st, 1) != SQLITE_NULL) {
            m->has_gps = true;
            m->lat = sqlite3_column_double(st, 1);
            m->lon = sqlite3_column_double(st, 2);
        }
        const unsigned char *d = sqlite3_column_text(st, 3), *p = sqlite3_column_text(st, 4), *a = sqlite3_column_text(st, 5);
        snprintf(m->description, sizeof m->description, "%s", d ? (const char *)d : "");
        snprintf(m->people, sizeof m->people, "%s", p ? (const char *)p : "");
        snprintf(m->albums, sizeof m->albums, "%s", a ? (const char *)a : "");
        const unsigned char *mk = sqlite3_column_text(st, 6), *md = sqlite3_column_text(st, 7);
        if (!m->make[0] && !m->model[0] && (mk || md)) {
            snprintf(m->make, sizeof m->make, "%s", mk ? (const char *)mk : "");
            snprintf(m->model, sizeof m->model, "%s", md ? (const char *)md : "");
        }
    }
    sqlite3_finalize(st);
    return PSK_OK;
}

bool store_has_embedding(psk_store *s, int64_t media_id, int64_t model_id) {
    sqlite3_stmt *st;
    bool has = false;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM embeddings WHERE media_id = ? AND model_id = ? LIMIT 1", -1, &st,
                           NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, media_id);
    sqlite3_bind_int64(st, 2, model_id);
    has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return has;
}

void store_camera_name(const char *make, const char *model, char *buf, size_t cap) {
    make = make ? make : "";
    model = model ? model : "";
    /* "Canon Canon EOS 5D" reads better as "Canon EOS 5D" */
    if (*make && strncasecmp(model, make, strlen(make)) == 0) make = "";
    snprintf(buf, cap, "%s%s%s", make, *make && *model ? " " : "", model);
}

int64_t store_count(psk_store *s, const char *sql) {
    sqlite3_stmt *st;
    int64_t n = 0;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    return n;
}
