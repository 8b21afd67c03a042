/* photoseek model fetch faces: face-api 1.7.15's package, got with the user's npm (`npm pack` in a temporary
 * folder) or given as a tarball, checked against the sha256 recorded here, and its model/ folder unpacked with
 * libarchive into DIR.incomplete, renamed to DIR when every file is in. Only regular files directly under
 * package/model/ with plain names are written. */
#include "faces.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FACE_API_SPEC "@vladmandic/face-api@1.7.15"
#define FACE_API_TGZ "vladmandic-face-api-1.7.15.tgz"
/* sha256 of the registry's tarball (npm pack), the same bytes every time */
#define FACE_API_SHA256 "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"

static const char *const needed[] = {"ssd_mobilenetv1_model-weights_manifest.json", "ssd_mobilenetv1_model.bin",
                                     "face_landmark_68_model-weights_manifest.json", "face_landmark_68_model.bin",
                                     "face_recognition_model-weights_manifest.json", "face_recognition_model.bin"};

/* Removes a folder of plain files (what a staged model holds) and the folder. */
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

/* Runs `npm pack SPEC` in tmp (its output to stderr); returns the tarball's path in out. */
static int npm_pack(const char *tmp, char *out, size_t cap, psk_error *err) {
    pid_t pid = fork();
    if (pid < 0) return psk_fail(err, PSK_ERR_IO, "cannot start npm: %s", strerror(errno));
    if (pid == 0) {
        if (chdir(tmp) != 0) _exit(126);
        dup2(2, 1);
        execlp("npm", "npm", "pack", "--silent", FACE_API_SPEC, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        return psk_fail(err, PSK_ERR_NOT_FOUND,
                        "npm is not installed: install Node.js's npm, or give the package with --from FILE.tgz "
                        "(npm pack %s on a machine that has it)", FACE_API_SPEC);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return psk_fail(err, PSK_ERR_NETWORK, "npm pack %s failed (exit %d): see npm's message above",
                        FACE_API_SPEC, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    if (!psk_path_join(out, cap, tmp, FACE_API_TGZ) || !psk_file_exists(out))
        return psk_fail(err, PSK_ERR_IO, "npm pack did not write %s", FACE_API_TGZ);
    return PSK_OK;
}

static int unpack_models(const char *tgz, const char *stage, psk_error *err) {
    struct archive *a = archive_read_new();
    if (!a) return psk_fail(err, PSK_ERR_NOMEM, "out of memory");
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    if (archive_read_open_filename(a, tgz, 1 << 16) != ARCHIVE_OK) {
        int rc = psk_fail(err, PSK_ERR_FORMAT, "%s: not a readable archive: %s", tgz, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    struct archive_entry *e;
    int r, rc = PSK_OK;
    const char *prefix = "package/model/";
    while (!rc && (r = archive_read_next_header(a, &e)) != ARCHIVE_EOF) {
        if (r < ARCHIVE_WARN) {
            rc = psk_fail(err, PSK_ERR_FORMAT, "%s: damaged archive: %s", tgz, archive_error_string(a));
            break;
        }
        const char *rel = archive_entry_pathname(e);
        if (archive_entry_filetype(e) != AE_IFREG || !rel || strncmp(rel, prefix, strlen(prefix)) != 0) continue;
        const char *base = rel + strlen(prefix);
        if (!*base || strchr(base, '/') || base[0] == '.') continue;
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
    return rc;
}

psk_status psk_face_model_fetch(const char *dir, const char *from_tgz, psk_error *err) {
    char tmp[512] = "", tgz[1400], stage[1100], hex[65];
    const char *tdir = getenv("TMPDIR");
    int rc = PSK_OK;
    if (snprintf(stage, sizeof stage, "%s.incomplete", dir) >= (int)sizeof stage)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: path too long", dir);
    if (from_tgz) {
        snprintf(tgz, sizeof tgz, "%s", from_tgz);
    } else {
        snprintf(tmp, sizeof tmp, "%s/photoseek-npm-XXXXXX", tdir && *tdir ? tdir : "/tmp");
        if (!mkdtemp(tmp)) return psk_fail(err, PSK_ERR_IO, "%s: cannot make a temporary folder: %s", tmp,
                                           strerror(errno));
        rc = npm_pack(tmp, tgz, sizeof tgz, err);
    }
    if (!rc) rc = psk_sha256_file(tgz, hex, err);
    if (!rc && strcmp(hex, FACE_API_SHA256) != 0)
        rc = psk_fail(err, PSK_ERR_CHECKSUM, "%s: sha256 %s is not that of %s (%s)", tgz, hex, FACE_API_SPEC,
                      FACE_API_SHA256);
    if (!rc) {
        remove_flat_dir(stage);
        rc = psk_mkdir_p(stage, err);
    }
    if (!rc) rc = unpack_models(tgz, stage, err);
    for (size_t i = 0; !rc && i < sizeof needed / sizeof needed[0]; i++) {
        char path[1400];
        psk_path_join(path, sizeof path, stage, needed[i]);
        if (!psk_file_exists(path)) rc = psk_fail(err, PSK_ERR_FORMAT, "%s: the package has no model/%s", tgz,
                                                  needed[i]);
    }
    if (!rc) {
        remove_flat_dir(dir); /* an older copy of the same files is replaced */
        if (rename(stage, dir) != 0)
            rc = psk_fail(err, PSK_ERR_IO, "%s: cannot move the model into place from %s: %s", dir, stage,
                          strerror(errno));
    }
    if (tmp[0]) remove_flat_dir(tmp);
    return rc;
}
