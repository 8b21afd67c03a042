/* Walking the folders to index. */
#include "ingest.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int walk_media_type(const char *name) {
    static const char *photos[] = {"jpg", "jpeg", "jpe", "png", "webp", "gif", "heic", "heif", "hif", "avif", "tif", "tiff"};
    static const char *videos[] = {"mp4", "m4v", "mov", "mkv", "webm", "avi", "3gp", "mts", "m2ts"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof photos / sizeof photos[0]; i++)
        if (strcasecmp(dot + 1, photos[i]) == 0) return 1;
    for (size_t i = 0; i < sizeof videos / sizeof videos[0]; i++)
        if (strcasecmp(dot + 1, videos[i]) == 0) return 2;
    return 0;
}

static bool excluded(const char *path, const char *name, const char *const *ex, int n) {
    for (int i = 0; i < n; i++)
        if (fnmatch(ex[i], path, 0) == 0 || fnmatch(ex[i], name, 0) == 0) return true;
    return false;
}

static int push(walk_list *l, const char *path, const struct stat *st, int type) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        walk_file *f = psk_realloc(l->files, sizeof *f * cap);
        if (!f) return PSK_ERR_NOMEM;
        l->files = f;
        l->cap = cap;
    }
    char *p = psk_strdup(path);
    if (!p) return PSK_ERR_NOMEM;
    l->files[l->n++] = (walk_file){p, st->st_size, (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
                                   type};
    return PSK_OK;
}

typedef struct walk_ctx {
    const char *const *excludes;
    int n_excludes;
    const char *skip_prefix;
    walk_list *out;
    walk_error_fn on_error;
    void *user;
    int depth;
} walk_ctx;

static int walk_dir(walk_ctx *w, const char *dir) {
    if (w->depth > 64) return PSK_OK; /* a loop or an absurd tree */
    DIR *d = opendir(dir);
    if (!d) {
        if (w->on_error) w->on_error(w->user, dir, strerror(errno));
        return PSK_OK;
    }
    /* Sorted order, so that runs are repeatable. */
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = PSK_OK;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* hidden files and folders, ".", ".." */
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = psk_realloc(names, sizeof(char *) * cap);
            if (!nn) {
                rc = PSK_ERR_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = psk_strdup(e->d_name))) {
            rc = PSK_ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(names[i], names[j]) > 0) {
                char *t = names[i];
                names[i] = names[j];
                names[j] = t;
            }
    for (size_t i = 0; i < n && !rc; i++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, names[i]) >= sizeof path)
            continue;
        if (excluded(path, names[i], w->excludes, w->n_excludes)) continue;
        if (w->skip_prefix && strncmp(path, w->skip_prefix, strlen(w->skip_prefix)) == 0) continue;
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            w->depth++;
            rc = walk_dir(w, path);
            w->depth--;
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            if (S_ISLNK(st.st_mode) && (stat(path, &st) != 0 || !S_ISREG(st.st_mode))) continue;
            int type = walk_media_type(names[i]);
            if (type) rc = push(w->out, path, &st, type);
        }
    }
    for (size_t i = 0; i < n; i++) psk_free(names[i]);
    psk_free(names);
    return rc;
}

int walk_roots(const char *const *roots, int n_roots, const char *const *excludes, int n_excludes,
               const char *skip_prefix, walk_list *out, walk_error_fn on_error, void *user, psk_error *err) {
    memset(out, 0, sizeof *out);
    walk_ctx w = {excludes, n_excludes, skip_prefix, out, on_error, user, 0};
    for (int i = 0; i < n_roots; i++) {
        char abs[PATH_MAX];
        if (!realpath(roots[i], abs)) {
            walk_list_free(out);
            return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: %s", roots[i], strerror(errno));
        }
        struct stat st;
        if (stat(abs, &st) != 0) continue;
        int rc;
        if (S_ISDIR(st.st_mode)) {
            rc = walk_dir(&w, abs);
        } else {
            int type = walk_media_type(abs);
            if (!type) {
                walk_list_free(out);
                return psk_fail(err, PSK_ERR_UNSUPPORTED, "%s: not a photo or video file", roots[i]);
            }
            rc = push(out, abs, &st, type);
        }
        if (rc) {
            walk_list_free(out);
            return psk_fail(err, rc, "out of memory walking %s", roots[i]);
        }
    }
    return PSK_OK;
}

void walk_list_free(walk_list *l) {
    for (size_t i = 0; i < l->n; i++) psk_free(l->files[i].path);
    psk_free(l->files);
    memset(l, 0, sizeof *l);
}
