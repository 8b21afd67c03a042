/* The PostgreSQL + pgvector store over libpq (schema in pg.h). */
#include "pg.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool pg_is_url(const char *s) {
    return s && (strncmp(s, "postgres://", 11) == 0 || strncmp(s, "postgresql://", 13) == 0);
}

/* The URL without its password, for messages. */
static void hide_password(const char *url, char *out, size_t cap) {
    const char *scheme = strstr(url, "://"), *at = strchr(url, '@');
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (scheme && at && colon && colon < at) snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
    else snprintf(out, cap, "%s", url);
}

static int fail_pg(pg_store *s, psk_error *err, const char *what, const PGresult *r) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn));
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = 0;
    if (!*msg) snprintf(msg, sizeof msg, "%s", PQerrorMessage(s->conn));
    return psk_fail(err, PSK_ERR_DB, "%s: %s: %s", s->shown, what, msg);
}

static bool ok(const PGresult *r) {
    ExecStatusType t = PQresultStatus(r);
    return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

int pg_fail(pg_store *s, psk_error *err, const char *what, const PGresult *r) { return fail_pg(s, err, what, r); }
bool pg_ok(const PGresult *r) { return ok(r); }

static int exec(pg_store *s, const char *sql, const char *what, psk_error *err) {
    PGresult *r = PQexec(s->conn, sql);
    int rc = ok(r) ? PSK_OK : fail_pg(s, err, what, r);
    PQclear(r);
    return rc;
}

static void quiet(void *arg, const char *message) {
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

/* After a failure: when the connection is gone (server restarted, network cut), reconnects with backoff for up to
 * PG_RECONNECT_S seconds and returns true, so that the caller runs its unit of work again. Units are transactions
 * of idempotent upserts, so a repeat after a commit whose answer was lost duplicates nothing. */
#define PG_RECONNECT_S 60.0

/* Settings of a session, made on each new connection: filtered HNSW scans keep going until they have their rows
 * (pgvector 0.8; older servers reject the setting, and are left as they are). */
static void session_setup(pg_store *s) {
    PQclear(PQexec(s->conn, "SET hnsw.iterative_scan = relaxed_order"));
    PQclear(PQexec(s->conn, "SET hnsw.ef_search = 200"));
}

static bool reconnect(pg_store *s) {
    if (PQstatus(s->conn) == CONNECTION_OK) return false;
    double wait = 0.25, waited = 0;
    while (waited < PG_RECONNECT_S) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
        waited += wait;
        wait = wait * 2 > 4 ? 4 : wait * 2;
        PQreset(s->conn);
        if (PQstatus(s->conn) == CONNECTION_OK) {
            s->reconnects++;
            session_setup(s);
            return true;
        }
    }
    return false;
}

static const char *schema_sql =
    "CREATE TABLE IF NOT EXISTS photoseek_models(id serial PRIMARY KEY, name text UNIQUE NOT NULL, dim int NOT NULL,"
    "  dir text);"
    "CREATE TABLE IF NOT EXISTS photoseek_media(id bigserial PRIMARY KEY, path text UNIQUE NOT NULL,"
    "  folder text NOT NULL, hash text, type int NOT NULL DEFAULT 1, width int, height int, taken_at bigint,"
    "  offset_min int, taken_local text, year int, month int, day int, local_date int, make text, model text,"
    "  lat double precision, lon double precision, duration_ms bigint, description text);"
    "CREATE INDEX IF NOT EXISTS photoseek_media_date ON photoseek_media(local_date);"
    /* the stored near-duplicate groups (pg_dups.c): new tables, so an older library gains them as they are made */
    "CREATE TABLE IF NOT EXISTS photoseek_meta(key text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS photoseek_dup_groups(media_id bigint PRIMARY KEY REFERENCES photoseek_media(id)"
    "  ON DELETE CASCADE, group_id bigint NOT NULL, kind int NOT NULL);"
    "CREATE INDEX IF NOT EXISTS photoseek_dup_groups_group ON photoseek_dup_groups(group_id);"
    /* where taken_at came from (the SQLite column: exif, file, video, sidecar): a file's own time makes no burst */
    "ALTER TABLE photoseek_media ADD COLUMN IF NOT EXISTS taken_src text;"
    /* places and perceptual hashes: added in place to the tables of older libraries */
    "ALTER TABLE photoseek_media ADD COLUMN IF NOT EXISTS place_city text,"
    "  ADD COLUMN IF NOT EXISTS place_region text, ADD COLUMN IF NOT EXISTS place_country text,"
    "  ADD COLUMN IF NOT EXISTS place_cc text, ADD COLUMN IF NOT EXISTS phash bigint, ADD COLUMN IF NOT EXISTS size bigint;"
    "CREATE INDEX IF NOT EXISTS photoseek_media_place ON photoseek_media(place_cc, place_region, place_city);"
    /* the names of a Takeout sidecar's people (the SQLite column, as a JSON array), for --person */
    "ALTER TABLE photoseek_media ADD COLUMN IF NOT EXISTS people jsonb;"
    "CREATE TABLE IF NOT EXISTS photoseek_text(media_id bigint PRIMARY KEY REFERENCES photoseek_media(id)"
    "  ON DELETE CASCADE, text text NOT NULL, words text NOT NULL, folded text NOT NULL);"
    /* faces and people (pg_people.c): new tables, so an older library gains them as they are made */
    "CREATE TABLE IF NOT EXISTS photoseek_people(id bigserial PRIMARY KEY, name text, cover_face_id bigint,"
    "  created_at bigint);"
    "CREATE UNIQUE INDEX IF NOT EXISTS photoseek_people_name ON photoseek_people(lower(name));"
    "CREATE TABLE IF NOT EXISTS photoseek_faces(id bigserial PRIMARY KEY, media_id bigint NOT NULL"
    "  REFERENCES photoseek_media(id) ON DELETE CASCADE, frame_ms bigint NOT NULL, x real, y real, w real, h real,"
    "  score real, descriptor vector(" PG_FACE_DIM ") NOT NULL, person_id bigint REFERENCES photoseek_people(id)"
    "  ON DELETE SET NULL, assigned int NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS photoseek_faces_media ON photoseek_faces(media_id);"
    "CREATE INDEX IF NOT EXISTS photoseek_faces_person ON photoseek_faces(person_id);"
    "CREATE TABLE IF NOT EXISTS photoseek_face_scans(media_id bigint PRIMARY KEY REFERENCES photoseek_media(id)"
    "  ON DELETE CASCADE, n_faces int NOT NULL);";

/* pg_trgm's GIN index on the folded text: substrings (LIKE '%...%') through the index, as SQLite's FTS5 trigram. */
static const char *trgm_sql = "CREATE INDEX IF NOT EXISTS photoseek_text_trgm ON photoseek_text USING gin (folded gin_trgm_ops)";

/* pg_trgm, for the text in photos: made when the server has it; without it the library works, and writing or
 * searching text in photos says what to install (pg_text_missing). */
static int text_setup(pg_store *s, psk_error *err) {
    PGresult *r = PQexec(s->conn, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
    s->trgm = ok(r);
    if (!s->trgm) {
        const char *why = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
        snprintf(s->trgm_why, sizeof s->trgm_why, "%s", why ? why : PQerrorMessage(s->conn));
        s->trgm_why[strcspn(s->trgm_why, "\n")] = 0;
    }
    PQclear(r);
    return s->trgm ? exec(s, trgm_sql, "creating the text index", err) : PSK_OK;
}


int pg_store_open(const char *url, pg_store **out, psk_error *err) {
    *out = NULL;
    pg_store *s = psk_calloc(1, sizeof *s);
    if (!s) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    snprintf(s->url, sizeof s->url, "%s", url);
    hide_password(url, s->shown, sizeof s->shown);
    /* connect_timeout comes first so that one in the URL wins */
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *vals[] = {"10", "photoseek", url, NULL};
    s->conn = PQconnectdbParams(keys, vals, 1);
    if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
        int rc = fail_pg(s, err, "cannot connect", NULL);
        pg_store_close(s);
        return rc;
    }
    PQsetNoticeProcessor(s->conn, quiet, NULL);
    PGresult *r = PQexec(s->conn, "CREATE EXTENSION IF NOT EXISTS vector");
    if (!ok(r)) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        int rc;
        /* 0A000 feature_not_supported / 58P01 undefined_file: the extension is not installed on the server */
        if (state && (strcmp(state, "0A000") == 0 || strcmp(state, "58P01") == 0))
            rc = psk_fail(err, PSK_ERR_UNSUPPORTED,
                          "%s: the server has no pgvector extension: install it on the database server (Debian: "
                          "apt-get install postgresql-%d-pgvector; other systems: https://github.com/pgvector/pgvector"
                          "#installation), then run photoseek again",
                          s->shown, PQserverVersion(s->conn) / 10000);
        else rc = fail_pg(s, err, "CREATE EXTENSION vector", r);
        PQclear(r);
        pg_store_close(s);
        return rc;
    }
    PQclear(r);
    int rc = exec(s, schema_sql, "creating the schema", err);
    if (!rc) rc = text_setup(s, err);
    if (rc) {
        pg_store_close(s);
        return rc;
    }
    session_setup(s);
    *out = s;
    return PSK_OK;
}

void pg_store_close(pg_store *s) {
    if (!s) return;
    if (s->conn) PQfinish(s->conn);
    psk_free(s);
}

int pg_model_ensure(pg_store *s, const char *name, int dim, const char *dir, int64_t *id, psk_error *err) {
    char dim_s[16];
    snprintf(dim_s, sizeof dim_s, "%d", dim);
    const char *params[] = {name, dim_s, dir};
    PGresult *r = PQexecParams(s->conn,
                               "INSERT INTO photoseek_models(name, dim, dir) VALUES ($1, $2, $3) ON CONFLICT (name) "
                               "DO UPDATE SET dir = excluded.dir RETURNING id, dim",
                               3, NULL, params, NULL, NULL, 0);
    if (!ok(r) || PQntuples(r) != 1) {
        int rc = fail_pg(s, err, "recording the model", r);
        PQclear(r);
        return rc;
    }
    *id = atoll(PQgetvalue(r, 0, 0));
    int have = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    if (have != dim)
        return psk_fail(err, PSK_ERR_MODEL_MISMATCH, "%s: model %s is recorded with %d dimensions, not %d", s->shown,
                        name, have, dim);
    char sql[768];
    snprintf(sql, sizeof sql,
             "CREATE TABLE IF NOT EXISTS photoseek_vectors_%lld(media_id bigint NOT NULL REFERENCES photoseek_media(id)"
             " ON DELETE CASCADE, frame_ms bigint NOT NULL, embedding vector(%d) NOT NULL,"
             " PRIMARY KEY(media_id, frame_ms));"
             "CREATE INDEX IF NOT EXISTS photoseek_vectors_%lld_hnsw ON photoseek_vectors_%lld"
             " USING hnsw (embedding vector_ip_ops);",
             (long long)*id, dim, (long long)*id, (long long)*id);
    return exec(s, sql, "creating the vector table", err);
}

int pg_current_model(pg_store *s, int64_t *id, char *name, size_t name_cap, int *dim, char *dir, size_t dir_cap,
                     psk_error *err) {
    PGresult *r = PQexec(s->conn, "SELECT id, name, dim, coalesce(dir, '') FROM photoseek_models ORDER BY id DESC LIMIT 1");
    if (!ok(r)) {
        int rc = fail_pg(s, err, "reading the model", r);
        PQclear(r);
        return rc;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: the library is empty (photoseek migrate copies one into it)",
                        s->shown);
    }
    *id = atoll(PQgetvalue(r, 0, 0));
    snprintf(name, name_cap, "%s", PQgetvalue(r, 0, 1));
    *dim = atoi(PQgetvalue(r, 0, 2));
    snprintf(dir, dir_cap, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    return PSK_OK;
}

/* pgvector's binary form: int16 dim, int16 unused, then float4s, all big-endian. */
static void vector_binary(const float *v, int dim, unsigned char *out) {
    uint16_t h[2] = {htons((uint16_t)dim), 0};
    memcpy(out, h, 4);
    for (int d = 0; d < dim; d++) {
        uint32_t u;
        memcpy(&u, &v[d], 4);
        u = htonl(u);
        memcpy(out + 4 + 4 * d, &u, 4);
    }
}

#define MEDIA_PARAMS 27

/* A row's Takeout names (store_media.people, a JSON array) as photoseek_media.people takes them: a JSON array of
 * the names (the strings: what SQLite's person condition can match), or NULL for none (psk_free). */
static char *people_json(const char *people) {
    cJSON *in = people[0] ? cJSON_Parse(people) : NULL, *out = cJSON_IsArray(in) ? cJSON_CreateArray() : NULL, *it;
    cJSON *names = out ? in : NULL;
    cJSON_ArrayForEach(it, names) {
        if (cJSON_IsString(it)) cJSON_AddItemToArray(out, cJSON_CreateString(it->valuestring));
    }
    char *json = out && cJSON_GetArraySize(out) > 0 ? cJSON_PrintUnformatted(out) : NULL;
    char *copy = json ? psk_strdup(json) : NULL;
    cJSON_free(json);
    cJSON_Delete(out);
    cJSON_Delete(in);
    return copy;
}

/* Reads the results of a pipeline up to its sync; the first error wins. */
static int drain(pg_store *s, int n_queries, int64_t *ids, psk_error *err) {
    int rc = PSK_OK;
    for (int q = 0; q < n_queries; q++) {
        PGresult *r;
        while ((r = PQgetResult(s->conn))) {
            if (!ok(r) && !rc) rc = fail_pg(s, err, "writing", r);
            else if (ids && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) ids[q] = atoll(PQgetvalue(r, 0, 0));
            PQclear(r);
        }
    }
    PGresult *r = PQgetResult(s->conn); /* the sync */
    if (!r && !rc) rc = fail_pg(s, err, "writing", NULL);
    PQclear(r);
    return rc;
}

static int put_items_once(pg_store *s, int64_t model_id, int dim, const store_item *items, int n, psk_error *err) {
    char put_vec[256], del_vec[160];
    snprintf(put_vec, sizeof put_vec,
             "INSERT INTO photoseek_vectors_%lld(media_id, frame_ms, embedding) VALUES ($1, $2, $3::vector)",
             (long long)model_id);
    snprintf(del_vec, sizeof del_vec, "DELETE FROM photoseek_vectors_%lld WHERE media_id = $1", (long long)model_id);
    /* A file pushed again with other contents (changed in place) leaves its near-duplicate group, and its id joins
     * the meta list dups_redo (dups_out.h, once) so the next update looks for its partners again; the old row is read in
     * the statement's own snapshot, before the upsert. */
    static const char *put_media =
        "WITH old AS (SELECT id, hash FROM photoseek_media WHERE path = $1), up AS ("
        "INSERT INTO photoseek_media(path, folder, hash, type, width, height, taken_at, offset_min, taken_local, year,"
        " month, day, local_date, make, model, lat, lon, duration_ms, description, place_city, place_region,"
        " place_country, place_cc, phash, size, taken_src, people) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
        " $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27::jsonb) ON CONFLICT (path) DO"
        " UPDATE SET"
        " folder = excluded.folder, hash = excluded.hash, type = excluded.type, width = excluded.width,"
        " height = excluded.height, taken_at = excluded.taken_at, offset_min = excluded.offset_min,"
        " taken_local = excluded.taken_local, year = excluded.year, month = excluded.month, day = excluded.day,"
        " local_date = excluded.local_date, make = excluded.make, model = excluded.model, lat = excluded.lat,"
        " lon = excluded.lon, duration_ms = excluded.duration_ms, description = excluded.description,"
        " place_city = excluded.place_city, place_region = excluded.place_region,"
        " place_country = excluded.place_country, place_cc = excluded.place_cc, phash = excluded.phash,"
        " size = excluded.size, taken_src = excluded.taken_src, people = excluded.people RETURNING id),"
        " gone AS (DELETE FROM photoseek_dup_groups g USING old WHERE g.media_id = old.id AND"
        " old.hash IS DISTINCT FROM $3),"
        " redo AS (INSERT INTO photoseek_meta(key, value) SELECT 'dups_redo', old.id::text || ' ' FROM old WHERE"
        " old.hash IS DISTINCT FROM $3 ON CONFLICT (key) DO UPDATE SET value = photoseek_meta.value || excluded.value"
        " WHERE position(' ' || excluded.value IN ' ' || photoseek_meta.value) = 0)"
        " SELECT id FROM up";
    int64_t *ids = psk_calloc((size_t)n, sizeof(int64_t));
    unsigned char *vbuf = psk_malloc(4 + 4 * (size_t)dim);
    if (!ids || !vbuf) {
        psk_free(ids);
        psk_free(vbuf);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    int rc = PSK_OK;
    for (int i = 0; i < n && !rc; i++)
        if (items[i].extra && items[i].extra->text && items[i].extra->text[0] && !s->trgm)
            rc = pg_text_missing(s, "copying the text in photos", err);
    if (rc) {
        psk_free(ids);
        psk_free(vbuf);
        return rc;
    }
    rc = exec(s, "BEGIN", "BEGIN", err);
    /* The statements are prepared once per transaction (cheap next to the rows), so a reconnected session needs no
     * bookkeeping of what it has prepared. */
    PGresult *r;
    if (!rc) {
        r = PQprepare(s->conn, "psk_put_media", put_media, MEDIA_PARAMS, NULL);
        if (!ok(r)) rc = fail_pg(s, err, "preparing", r);
        PQclear(r);
    }
    if (!rc) {
        r = PQprepare(s->conn, "psk_put_vec", put_vec, 3, NULL);
        if (!ok(r)) rc = fail_pg(s, err, "preparing", r);
        PQclear(r);
    }
    if (!rc) {
        r = PQprepare(s->conn, "psk_del_vec", del_vec, 1, NULL);
        if (!ok(r)) rc = fail_pg(s, err, "preparing", r);
        PQclear(r);
    }
    if (!rc) rc = pg_text_prepare(s, err);
    if (!rc) rc = pg_faces_prepare(s, err);
    /* 1: the media rows, pipelined; their ids come back */
    if (!rc && !PQenterPipelineMode(s->conn)) rc = fail_pg(s, err, "pipeline mode", NULL);
    for (int i = 0; !rc && i < n; i++) {
        const store_media *m = items[i].media;
        char num[14][32], folder[1024];
        snprintf(folder, sizeof folder, "%s", m->path);
        char *slash = strrchr(folder, '/');
        if (slash) *(slash == folder ? slash + 1 : slash) = 0;
        const char *v[MEDIA_PARAMS] = {m->path, folder, m->hash[0] ? m->hash : NULL};
        snprintf(num[0], 32, "%d", m->type);
        snprintf(num[1], 32, "%d", m->width);
        snprintf(num[2], 32, "%d", m->height);
        snprintf(num[3], 32, "%lld", (long long)m->taken_at);
        snprintf(num[4], 32, "%d", m->offset_min);
        snprintf(num[5], 32, "%d", m->year);
        snprintf(num[6], 32, "%d", m->month);
        snprintf(num[7], 32, "%d", m->day);
        snprintf(num[8], 32, "%d", m->year * 10000 + m->month * 100 + m->day);
        snprintf(num[9], 32, "%.17g", m->lat);
        snprintf(num[10], 32, "%.17g", m->lon);
        snprintf(num[11], 32, "%lld", (long long)m->duration_ms);
        v[3] = num[0], v[4] = num[1], v[5] = num[2], v[6] = num[3];
        v[7] = m->has_offset ? num[4] : NULL;
        v[8] = m->taken_local[0] ? m->taken_local : NULL;
        v[9] = m->year ? num[5] : NULL, v[10] = m->year ? num[6] : NULL, v[11] = m->year ? num[7] : NULL;
        v[12] = m->year ? num[8] : NULL;
        v[13] = m->make[0] ? m->make : NULL, v[14] = m->model[0] ? m->model : NULL;
        v[15] = m->has_gps ? num[9] : NULL, v[16] = m->has_gps ? num[10] : NULL;
        v[17] = m->duration_ms > 0 ? num[11] : NULL;
        v[18] = m->description[0] ? m->description : NULL;
        const store_extra *x = items[i].extra;
        if (x && x->has_place) /* "" stays "": looked up, no place near */
            v[19] = x->city, v[20] = x->region, v[21] = x->country, v[22] = x->country_code;
        snprintf(num[12], 32, "%lld", x ? (long long)x->phash : 0LL);
        v[23] = x && x->has_phash ? num[12] : NULL;
        snprintf(num[13], 32, "%lld", (long long)m->size);
        v[24] = m->size > 0 ? num[13] : NULL;
        v[25] = m->taken_src[0] ? m->taken_src : NULL;
        char *people = people_json(m->people);
        v[26] = people;
        if (!PQsendQueryPrepared(s->conn, "psk_put_media", MEDIA_PARAMS, v, NULL, NULL, 0))
            rc = fail_pg(s, err, "sending", NULL);
        psk_free(people);
    }
    if (!rc && !PQpipelineSync(s->conn)) rc = fail_pg(s, err, "sending", NULL);
    if (!rc) rc = drain(s, n, ids, err);
    /* 2: each file's vectors replace the ones it had */
    int n_sent = 0;
    for (int i = 0; !rc && i < n; i++) {
        char id_s[32];
        snprintf(id_s, sizeof id_s, "%lld", (long long)ids[i]);
        const char *dv[1] = {id_s};
        if (!PQsendQueryPrepared(s->conn, "psk_del_vec", 1, dv, NULL, NULL, 0)) rc = fail_pg(s, err, "sending", NULL);
        n_sent++;
        int sent = 0;
        if (!rc) rc = pg_text_send(s, id_s, items[i].extra, &sent, err);
        n_sent += sent;
        if (!rc) rc = pg_faces_send(s, id_s, items[i].extra, &sent, err);
        n_sent += sent;
        for (int j = 0; !rc && j < items[i].n_vecs; j++) {
            char frame_s[32];
            snprintf(frame_s, sizeof frame_s, "%lld", (long long)items[i].frame_ms[j]);
            vector_binary(items[i].vecs + (size_t)j * (size_t)dim, dim, vbuf);
            const char *pv[3] = {id_s, frame_s, (const char *)vbuf};
            int lens[3] = {0, 0, 4 + 4 * dim}, fmts[3] = {0, 0, 1};
            if (!PQsendQueryPrepared(s->conn, "psk_put_vec", 3, pv, lens, fmts, 0)) rc = fail_pg(s, err, "sending", NULL);
            n_sent++;
        }
    }
    if (!rc && !PQpipelineSync(s->conn)) rc = fail_pg(s, err, "sending", NULL);
    if (!rc) rc = drain(s, n_sent, NULL, err);
    /* drain() read every result up to the sync, so the pipeline is idle (unless the connection broke) */
    if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(s->conn) && !rc)
        rc = fail_pg(s, err, "leaving pipeline mode", NULL);
    if (!rc) rc = exec(s, "COMMIT", "COMMIT", err);
    else {
        psk_error ignored = {0};
        exec(s, "ROLLBACK", "ROLLBACK", &ignored);
    }
    if (PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
        PGresult *x = PQexec(s->conn, "DEALLOCATE ALL");
        PQclear(x);
    }
    psk_free(ids);
    psk_free(vbuf);
    return rc;
}

int pg_put_items(pg_store *s, int64_t model_id, int dim, const store_item *items, int n, psk_error *err) {
    if (n <= 0) return PSK_OK;
    int rc;
    for (int attempt = 0; (rc = put_items_once(s, model_id, dim, items, n, err)) && attempt < 5 && reconnect(s); attempt++) {
    }
    return rc;
}

void pg_fill_result(const PGresult *r, int i, psk_result *x) {
    x->id = atoll(PQgetvalue(r, i, 0));
    snprintf(x->path, sizeof x->path, "%s", PQgetvalue(r, i, 1));
    x->taken_at = atoll(PQgetvalue(r, i, 2));
    x->has_offset = !PQgetisnull(r, i, 3);
    x->offset_minutes = atoi(PQgetvalue(r, i, 3));
    snprintf(x->taken_local, sizeof x->taken_local, "%s", PQgetvalue(r, i, 4));
    x->type = atoi(PQgetvalue(r, i, 5)) == 2 ? PSK_TYPE_VIDEO : PSK_TYPE_PHOTO;
    x->width = atoi(PQgetvalue(r, i, 6));
    x->height = atoi(PQgetvalue(r, i, 7));
    store_camera_name(PQgetvalue(r, i, 8), PQgetvalue(r, i, 9), x->camera, sizeof x->camera);
    double lat = atof(PQgetvalue(r, i, 10)), lon = atof(PQgetvalue(r, i, 11));
    x->has_gps = !PQgetisnull(r, i, 10) && !PQgetisnull(r, i, 11) && psk_gps_valid(lat, lon);
    x->lat = x->has_gps ? lat : 0, x->lon = x->has_gps ? lon : 0;
    char *place[4] = {x->city, x->region, x->country, x->country_code};
    size_t caps[4] = {sizeof x->city, sizeof x->region, sizeof x->country, sizeof x->country_code};
    for (int c = 0; c < 4; c++) snprintf(place[c], caps[c], "%s", x->has_gps ? PQgetvalue(r, i, 12 + c) : "");
}

static int search_once(pg_store *s, int64_t model_id, int dim, const float *q, const char *where,
                       const char *const *params, int n_params, int limit, bool exact, psk_result **results, int *n,
                       psk_error *err) {
    *results = NULL;
    *n = 0;
    psk_buf sql = {0};
    psk_buf_printf(&sql,
                   "SELECT " PG_RESULT_COLUMNS ", v.frame_ms, -(v.embedding <#> $1::vector) FROM photoseek_vectors_%lld v JOIN"
                   " photoseek_media m ON m.id = v.media_id WHERE true%s ORDER BY v.embedding <#> $1::vector LIMIT %d",
                   (long long)model_id, where ? where : "", limit);
    const char **vals = psk_calloc((size_t)n_params + 1, sizeof(char *));
    int *lens = psk_calloc((size_t)n_params + 1, sizeof(int)), *fmts = psk_calloc((size_t)n_params + 1, sizeof(int));
    unsigned char *vbuf = psk_malloc(4 + 4 * (size_t)dim);
    int rc = PSK_OK;
    if (sql.failed || !vals || !lens || !fmts || !vbuf) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    PGresult *r = NULL;
    /* without index scans the planner reads the few rows the filter leaves (through their own indexes, as bitmaps)
     * and sorts them exactly, where HNSW's iterative scan could stop early (hnsw.max_scan_tuples) */
    bool txn = false;
    if (!rc && exact && !(rc = exec(s, "BEGIN", "BEGIN", err))) {
        txn = true;
        rc = exec(s, "SET LOCAL enable_indexscan = off", "SET LOCAL", err);
    }
    if (!rc) {
        vector_binary(q, dim, vbuf);
        vals[0] = (const char *)vbuf;
        lens[0] = 4 + 4 * dim;
        fmts[0] = 1;
        for (int i = 0; i < n_params; i++) vals[i + 1] = params[i];
        r = PQexecParams(s->conn, sql.data, n_params + 1, NULL, vals, lens, fmts, 0);
        if (!ok(r)) rc = fail_pg(s, err, "searching", r);
    }
    if (txn) {
        psk_error ignored = {0};
        exec(s, "COMMIT", "COMMIT", &ignored); /* a failed one rolls back */
    }
    int rows = rc ? 0 : PQntuples(r);
    psk_result *res = rows ? psk_calloc((size_t)rows, sizeof *res) : NULL;
    if (!rc && rows && !res) rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    for (int i = 0; !rc && i < rows; i++) {
        pg_fill_result(r, i, &res[i]);
        res[i].frame_ms = atoll(PQgetvalue(r, i, PG_N_RESULT_COLUMNS));
        res[i].score = strtof(PQgetvalue(r, i, PG_N_RESULT_COLUMNS + 1), NULL);
    }
    PQclear(r);
    psk_buf_free(&sql);
    psk_free(vals);
    psk_free(lens);
    psk_free(fmts);
    psk_free(vbuf);
    if (rc) {
        psk_free(res);
        return rc;
    }
    *results = res;
    *n = rows;
    return PSK_OK;
}

int pg_search(pg_store *s, int64_t model_id, int dim, const float *q, const char *where, const char *const *params,
              int n_params, int limit, bool exact, psk_result **results, int *n, psk_error *err) {
    int rc = search_once(s, model_id, dim, q, where, params, n_params, limit, exact, results, n, err);
    if (rc && reconnect(s)) rc = search_once(s, model_id, dim, q, where, params, n_params, limit, exact, results, n, err);
    return rc;
}

static int delete_once(pg_store *s, const char *const *paths, int n, psk_error *err) {
    int rc = exec(s, "BEGIN", "BEGIN", err);
    if (!rc && !PQenterPipelineMode(s->conn)) rc = fail_pg(s, err, "pipeline mode", NULL);
    for (int i = 0; !rc && i < n; i++)
        if (!PQsendQueryParams(s->conn, "DELETE FROM photoseek_media WHERE path = $1", 1, NULL, &paths[i], NULL, NULL, 0))
            rc = fail_pg(s, err, "sending", NULL);
    if (!rc && !PQpipelineSync(s->conn)) rc = fail_pg(s, err, "sending", NULL);
    if (!rc) rc = drain(s, n, NULL, err);
    if (PQpipelineStatus(s->conn) != PQ_PIPELINE_OFF && !PQexitPipelineMode(s->conn) && !rc)
        rc = fail_pg(s, err, "leaving pipeline mode", NULL);
    if (!rc) return exec(s, "COMMIT", "COMMIT", err);
    psk_error ignored = {0};
    exec(s, "ROLLBACK", "ROLLBACK", &ignored);
    return rc;
}

int pg_delete_paths(pg_store *s, const char *const *paths, int n, psk_error *err) {
    if (n <= 0) return PSK_OK;
    int rc;
    for (int attempt = 0; (rc = delete_once(s, paths, n, err)) && attempt < 5 && reconnect(s); attempt++) {
    }
    return rc;
}

/* A read statement with text parameters; on a lost connection it is made again and the statement repeated once.
 * Returns the result (PQclear it) or NULL with err filled. */
PGresult *pg_read(pg_store *s, const char *sql, int n, const char *const *values, int binary, const char *what,
                  psk_error *err) {
    PGresult *r = PQexecParams(s->conn, sql, n, NULL, values, NULL, NULL, binary);
    if (!ok(r) && reconnect(s)) {
        PQclear(r);
        r = PQexecParams(s->conn, sql, n, NULL, values, NULL, NULL, binary);
    }
    if (ok(r)) return r;
    fail_pg(s, err, what, r);
    PQclear(r);
    return NULL;
}

int pg_get_media(pg_store *s, int64_t id, psk_result *out, psk_error *err) {
    char id_s[32];
    snprintf(id_s, sizeof id_s, "%lld", (long long)id);
    const char *v[1] = {id_s};
    PGresult *r = pg_read(s, "SELECT " PG_RESULT_COLUMNS " FROM photoseek_media m WHERE m.id = $1", 1, v, 0,
                             "reading an item", err);
    if (!r) return PSK_ERR_DB;
    int rc = PQntuples(r) != 1 ? psk_fail(err, PSK_ERR_NOT_FOUND, "no item %lld in the library", (long long)id) : PSK_OK;
    if (!rc) {
        memset(out, 0, sizeof *out);
        pg_fill_result(r, 0, out);
    }
    PQclear(r);
    return rc;
}

int pg_pairs(pg_store *s, const char *sql, psk_facet **out, int *n, psk_error *err) {
    *out = NULL;
    *n = 0;
    PGresult *r = pg_read(s, sql, 0, NULL, 0, "reading", err);
    if (!r) return PSK_ERR_DB;
    int rows = PQntuples(r);
    if (rows && !(*out = psk_calloc((size_t)rows, sizeof **out))) {
        PQclear(r);
        return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        snprintf((*out)[i].value, sizeof (*out)[i].value, "%s", PQgetvalue(r, i, 0));
        (*out)[i].count = atoll(PQgetvalue(r, i, 1));
    }
    *n = rows;
    PQclear(r);
    return PSK_OK;
}

int pg_get_vector(pg_store *s, int64_t model_id, int64_t media_id, int dim, float *out, psk_error *err) {
    char sql[160], id_s[32];
    snprintf(sql, sizeof sql, "SELECT embedding FROM photoseek_vectors_%lld WHERE media_id = $1 ORDER BY frame_ms LIMIT 1",
             (long long)model_id);
    snprintf(id_s, sizeof id_s, "%lld", (long long)media_id);
    const char *v[1] = {id_s};
    PGresult *r = pg_read(s, sql, 1, v, 1, "reading a vector", err);
    if (!r) return PSK_ERR_DB;
    int rc = PSK_OK;
    if (PQntuples(r) != 1) rc = psk_fail(err, PSK_ERR_NOT_FOUND, "no item %lld in the library", (long long)media_id);
    else if (PQgetlength(r, 0, 0) != 4 + 4 * dim)
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: the vector of item %lld has %d bytes, not %d", s->shown,
                      (long long)media_id, PQgetlength(r, 0, 0), 4 + 4 * dim);
    else {
        const unsigned char *b = (const unsigned char *)PQgetvalue(r, 0, 0) + 4;
        for (int d = 0; d < dim; d++) {
            uint32_t u;
            memcpy(&u, b + 4 * d, 4);
            u = ntohl(u);
            memcpy(&out[d], &u, 4);
        }
    }
    PQclear(r);
    return rc;
}
