/* Indexing into a server store (PostgreSQL, Pinecone: no PSK_STORE_CAP_LOCAL_INDEX): each worker runs the
 * pipeline against its own local catalog (a SQLite library holding sizes, times, hashes and failures of its
 * files, so that re-runs, moves and failures cost what they cost locally), then pushes what changed to the server
 * and deletes what is gone. The catalog's pg_pushed table says what the server has: a row is pushed again when
 * its file was embedded again or its faces were looked for since. A server store with people (PostgreSQL) gets
 * the faces the catalog found and groups them into its own people after the push. */
#include "ingest.h"

#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* The default catalog: beside the default library, named after the URL and the shard. */
static void default_catalog(const char *url, const psk_index_params *p, char *buf, size_t cap) {
    char lib[1024];
    psk_default_db_path(lib, sizeof lib);
    uint64_t h = psk_fnv1a64(url, strlen(url));
    int n = p->shard_count > 1 ? p->shard_count : 1, i = p->shard_count > 1 ? p->shard_index : 1;
    snprintf(buf, cap, "%s/pg-catalogs/%016llx-%dof%d.db", dirname(lib), (unsigned long long)h, i, n);
}

/* Paths the server has from this catalog that the catalog no longer has (deleted or moved files). */
static int push_deletions(psk_store *cat, store_backend *dst, int64_t *deleted, psk_error *err) {
    sqlite3_stmt *st;
    int rc = store_prepare(cat, "SELECT path FROM pg_pushed p WHERE NOT EXISTS (SELECT 1 FROM media m "
                                "WHERE m.path = p.path AND m.error IS NULL)", &st, err);
    if (rc) return rc;
    enum { CHUNK = 256 };
    char *paths[CHUNK];
    int n = 0, step;
    for (;;) {
        step = sqlite3_step(st);
        if (step == SQLITE_ROW && !(paths[n] = psk_strdup((const char *)sqlite3_column_text(st, 0)))) {
            rc = psk_fail(err, PSK_ERR_NOMEM, "out of memory");
            break;
        }
        if (step == SQLITE_ROW) n++;
        if (n == CHUNK || (step != SQLITE_ROW && n)) {
            /* the server first, then the catalog: a crash in between deletes again next time */
            if (!(rc = dst->ops->delete_paths(dst->self, (const char *const *)paths, n, err))) {
                sqlite3_stmt *del;
                if (!(rc = store_prepare(cat, "DELETE FROM pg_pushed WHERE path = ?", &del, err))) {
                    for (int i = 0; i < n; i++) {
                        sqlite3_reset(del);
                        sqlite3_bind_text(del, 1, paths[i], -1, SQLITE_STATIC);
                        sqlite3_step(del);
                    }
                    sqlite3_finalize(del);
                }
                *deleted += n;
            }
            for (int i = 0; i < n; i++) psk_free(paths[i]);
            n = 0;
            if (rc) break;
        }
        if (step != SQLITE_ROW) break;
    }
    for (int i = 0; i < n; i++) psk_free(paths[i]);
    if (!rc && step != SQLITE_DONE) rc = store_fail(cat, err, "reading the catalog");
    sqlite3_finalize(st);
    return rc;
}

/* Pushes what the catalog indexed and deletes what it lost; *pushed and *deleted count files. */
static int push_catalog(psk_store *cat, store_backend *dst, int64_t *pushed, int64_t *deleted, psk_error *err) {
    int64_t vectors = 0;
    int rc = store_exec(cat, "CREATE TABLE IF NOT EXISTS pg_pushed(path TEXT PRIMARY KEY, indexed_at INTEGER, hash TEXT,"
                             " faces INTEGER)", err);
    /* a catalog from before faces: its rows pushed without faces say so (NULL, as a row never looked at) */
    if (!rc && store_count(cat, "SELECT count(*) FROM pragma_table_info('pg_pushed') WHERE name = 'faces'") == 0)
        rc = store_exec(cat, "ALTER TABLE pg_pushed ADD COLUMN faces INTEGER", err);
    /* the new paths first: a moved file's faces find their people on the server under its old path */
    if (!rc) rc = library_push(cat, dst, true, NULL, NULL, NULL, pushed, &vectors, err);
    if (!rc) rc = push_deletions(cat, dst, deleted, err);
    return rc;
}

int ingest_remote(psk_library *lib, const psk_index_params *p, psk_index_stats *stats, psk_error *err) {
    store_backend *dst = library_backend(lib);
    char catalog[1200];
    if (p->pg_catalog) snprintf(catalog, sizeof catalog, "%s", p->pg_catalog);
    else default_catalog(dst->ops->identity(dst->self), p, catalog, sizeof catalog);
    psk_library *cat;
    int rc = psk_library_open(catalog, PSK_OPEN_WRITE, &cat, err);
    if (rc) return rc;
    psk_store *cs = library_local_store(cat, "a worker's catalog", err);
    if (!cs) {
        psk_library_close(cat);
        return PSK_ERR_UNSUPPORTED;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    psk_index_params local = *p;
    if (!backend_can(dst, PSK_STORE_CAP_PEOPLE)) local.faces = PSK_FACES_OFF; /* none looked for in its catalog */
    rc = ingest_local(cat, &local, stats, err);
    bool cancelled = rc == PSK_ERR_INTERRUPTED || stats->cancelled;
    /* What was committed locally is pushed even after Ctrl-C: it is quick next to embedding. */
    int64_t model_id;
    char name[128], dir[1024];
    int dim;
    bool has_model = store_current_model(cs, &model_id, name, sizeof name, &dim, dir, sizeof dir) == PSK_OK;
    if ((!rc || cancelled) && has_model) {
        int prc = push_catalog(cs, dst, &stats->pushed, &stats->deleted, err);
        /* the new faces join the server's people (a no-op without any) */
        if (!prc && !cancelled && backend_can(dst, PSK_STORE_CAP_PEOPLE)) prc = dst->ops->people_group(dst->self, false, err);
        if (prc) rc = prc;
    }
    psk_library_close(cat);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    return rc;
}
