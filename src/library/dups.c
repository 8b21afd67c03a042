/* Near-duplicates through the library's store (the grouping itself: src/dups and the store's operation). */
#include "library_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

psk_dups_params psk_dups_default_params(void) {
    psk_dups_params p = {0};
    p.threshold = 0.92f;
    return p;
}

psk_status psk_library_duplicates(psk_library *lib, const psk_dups_params *params, psk_dup_group **groups, int *n,
                                  psk_error *err) {
    *groups = NULL, *n = 0;
    if (!backend_can(&lib->store, PSK_STORE_CAP_DUPLICATES))
        return backend_unsupported_cap(&lib->store, "finding near-duplicates", PSK_STORE_CAP_DUPLICATES, err);
    store_model m;
    int rc = backend_current_model(&lib->store, &m, err);
    if (rc) return rc;
    psk_dups_params p = params ? *params : psk_dups_default_params();
    return backend_duplicates(&lib->store, &m, &p, groups, n, err);
}

void psk_dup_groups_free(psk_dup_group *groups, int n) {
    if (!groups) return;
    for (int i = 0; i < n; i++) psk_free(groups[i].members);
    psk_free(groups);
}

psk_status psk_library_move_file(psk_library *lib, const char *from, const char *to, psk_error *err) {
    psk_store *s = library_local_store(lib, "moving a duplicate", err);
    if (!s) return err ? err->code : PSK_ERR_UNSUPPORTED;
    store_media m;
    bool found = false;
    int rc = store_media_by_path(s, from, &m, &found, err);
    if (rc) return rc;
    if (!found) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: not in the library %s", from, s->path);
    if (psk_file_exists(to)) return psk_fail(err, PSK_ERR_IO, "%s: already exists; not overwritten", to);
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", to);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        if ((rc = psk_mkdir_p(dir, err))) return rc;
    }
    /* link then unlink: the link fails rather than replace a file that appeared meanwhile */
    if (link(from, to) != 0)
        return psk_fail(err, PSK_ERR_IO, "moving %s to %s: %s%s", from, to, strerror(errno),
                        errno == EXDEV ? " (another file system: choose a folder on the same one)" : "");
    if (unlink(from) != 0) {
        int e = errno;
        unlink(to);
        return psk_fail(err, PSK_ERR_IO, "moving %s: %s", from, strerror(e));
    }
    struct stat st;
    int64_t mtime = stat(to, &st) == 0 ? (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec : m.mtime_ns;
    return store_media_move(s, m.id, to, mtime, m.hash, err);
}
