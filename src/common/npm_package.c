/* npm_package.h: pinned npm packages, fetched with the user's npm or given as a tarball, installed whole or not at
 * all. */
#include "npm_package.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ENTRY (256u << 20) /* a file of the package larger than this is refused */

/* Removes a folder of plain files (what a staged or installed package holds) and the folder. */
static void remove_flat_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[1400];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && psk_path_join(path, sizeof path, dir, e->d_name))
                unlink(path);
        closedir(d);
    }
    rmdir(dir);
}

static bool in_list(const char *const *list, const char *name) {
    for (; *list; list++)
        if (strcmp(*list, name) == 0) return true;
    return false;
}

/* Runs `npm pack SPEC` in tmp, its output into tmp/npm.log; the tarball's path goes to tgz. A failure ends with the
 * last line npm wrote. */
static int npm_pack(const npm_package *pkg, const char *tmp, char *tgz, size_t cap, psk_error *err) {
    const char *npm = getenv("PHOTOSEEK_NPM");
    if (!npm || !*npm) npm = "npm";
    char log[1200];
    psk_path_join(log, sizeof log, tmp, "npm.log");
    pid_t pid = fork();
    if (pid < 0) return psk_fail(err, PSK_ERR_IO, "cannot start %s: %s", npm, strerror(errno));
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0 || chdir(tmp) != 0) _exit(126);
        dup2(fd, 1), dup2(fd, 2);
        execlp(npm, npm, "pack", "--silent", pkg->spec, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    psk_path_join(tgz, cap, tmp, pkg->tarball);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && psk_file_exists(tgz)) return PSK_OK;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return psk_fail(err, PSK_ERR_NOT_FOUND,
                        "cannot run %s: install Node.js's npm, or fetch %s on another machine (npm pack %s) and "
                        "give it with --from FILE.tgz", npm, pkg->tarball, pkg->spec);
    char *out = NULL;
    size_t n = 0;
    psk_read_file(log, 1 << 20, &out, &n, NULL);
    const char *last = "";
    if (out) { /* the last non-empty line of npm's output */
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
        char *nl = strrchr(out, '\n');
        last = nl ? nl + 1 : out;
    }
    int rc = psk_fail(err, PSK_ERR_NETWORK, "npm pack %s failed (exit %d)%s%.300s%s", pkg->spec,
                      WIFEXITED(st) ? WEXITSTATUS(st) : -1, *last ? ": " : "", last,
                      " (offline? give the tarball with --from FILE.tgz)");
    psk_free(out);
    return rc;
}

/* Writes the package folder's plain files (only those of pkg->only, when given) into stage. */
static int unpack(const npm_package *pkg, const char *tgz, const char *stage, psk_error *err) {
    struct archive *a = archive_read_new();
    if (!a) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, tgz, 1 << 16) != ARCHIVE_OK) {
        int rc = psk_fail(err, PSK_ERR_FORMAT, "%s: not a readable archive: %s", tgz, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    size_t plen = strlen(pkg->folder);
    struct archive_entry *e;
    int r, rc = PSK_OK;
    while (!rc && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: damaged archive: %s", tgz, archive_error_string(a));
            break;
        }
        const char *rel = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !rel || strncmp(rel, pkg->folder, plen) != 0) continue;
        const char *base = rel + plen;
        if (!*base || strchr(base, '/') || base[0] == '.' || (pkg->only && !in_list(pkg->only, base))) continue;
        if (archive_entry_size(e) > (la_int64_t)MAX_ENTRY) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: %s is too large", tgz, rel);
            break;
        }
        char path[1400];
        if (!psk_path_join(path, sizeof path, stage, base)) {
            rc = psk_fail(err, PSK_ERR_INVALID_ARG, "%s: path too long", stage);
            break;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) {
            rc = psk_fail(err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (archive_read_data_into_fd(a, fd) != ARCHIVE_OK)
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: cannot unpack %s: %s", tgz, rel, archive_error_string(a));
        if (close(fd) != 0 && !rc) rc = psk_fail(err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
    }
    archive_read_free(a);
    for (const char *const *q = pkg->required; !rc && *q; q++) {
        char path[1400];
        psk_path_join(path, sizeof path, stage, *q);
        if (!psk_file_exists(path)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: the package has no %s%s", tgz,
                                                  pkg->folder, *q);
    }
    return rc;
}

int npm_package_fetch(const npm_package *pkg, const char *dir, const char *from_tgz, psk_error *err) {
    char stage[1100], tmp[1100] = "", tgz[1200], hex[65];
    if (!dir || snprintf(stage, sizeof stage, "%s.incomplete", dir) >= (int)sizeof stage)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: no folder or its path is too long", pkg->spec);
    int rc = PSK_OK;
    if (from_tgz) {
        if (!psk_file_exists(from_tgz)) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no such file", from_tgz);
        snprintf(tgz, sizeof tgz, "%s", from_tgz);
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/photoseek-npm-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp)) return psk_fail(err, PSK_ERR_IO, "%s: cannot make a temporary folder: %s", tmp,
                                           strerror(errno));
        rc = npm_pack(pkg, tmp, tgz, sizeof tgz, err);
    }
    if (!rc && (rc = psk_sha256_file(tgz, hex, err)) == PSK_OK && strcmp(hex, pkg->sha256) != 0)
        rc = psk_fail(err, PSK_ERR_CHECKSUM, "%s: sha256 %s is not that of %s (%s)", tgz, hex, pkg->spec,
                      pkg->sha256);
    if (!rc) {
        remove_flat_dir(stage);
        rc = psk_mkdir_p(stage, err);
        if (!rc) rc = unpack(pkg, tgz, stage, err);
    }
    if (!rc) {
        char manifest[1300], text[512];
        psk_path_join(manifest, sizeof manifest, stage, "photoseek-fetch.json");
        snprintf(text, sizeof text, "{\"package\": \"%s\", \"sha256\": \"%s\", \"license\": \"%s\"}\n", pkg->spec,
                 pkg->sha256, pkg->license);
        rc = psk_write_file(manifest, text, strlen(text), err);
    }
    bool keep_stage = false;
    if (!rc) {
        /* An older copy (plain files only, ours) is replaced. */
        if (psk_dir_exists(dir)) {
            remove_flat_dir(dir);
            if (psk_dir_exists(dir))
                rc = psk_fail(err, PSK_ERR_IO, "%s: cannot replace it (it holds more than the package's files); "
                              "the new copy is in %s", dir, stage);
        }
        if (!rc && rename(stage, dir) != 0)
            rc = psk_fail(err, PSK_ERR_IO, "%s: cannot move the package into place from %s: %s", dir, stage,
                          strerror(errno));
        keep_stage = rc != PSK_OK; /* then it is the only whole copy */
    }
    if (rc && !keep_stage) remove_flat_dir(stage);
    if (tmp[0]) remove_flat_dir(tmp);
    return rc;
}
