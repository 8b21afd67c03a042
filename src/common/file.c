#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int psk_read_file(const char *path, size_t max_size, char **data, size_t *size, psk_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return psk_fail(err, errno == ENOENT ? PSK_ERR_NOT_FOUND : PSK_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return psk_fail(err, PSK_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > max_size) {
        close(fd);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: file too large (%lld bytes, limit %zu)", path, (long long)st.st_size,
                        max_size);
    }
    size_t n = (size_t)st.st_size;
    char *buf = psk_malloc(n + 1);
    if (!buf) {
        close(fd);
        return psk_fail(err, PSK_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        psk_free(buf);
        return psk_fail(err, PSK_ERR_IO, "%s: short read", path);
    }
    buf[n] = 0;
    *data = buf;
    *size = n;
    return PSK_OK;
}

int psk_write_file(const char *path, const void *data, size_t size, psk_error *err) {
    /* Write to a temporary name and rename, so a crash never leaves a half-written file under the real name. */
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) return psk_fail(err, PSK_ERR_IO, "%s: %s", tmp, strerror(errno));
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    int closed = fclose(f);
    if (w != size || closed != 0) {
        unlink(tmp);
        return psk_fail(err, PSK_ERR_IO, "%s: write failed", path);
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return psk_fail(err, PSK_ERR_IO, "%s: %s", path, strerror(errno));
    }
    return PSK_OK;
}

bool psk_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

bool psk_dir_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int psk_mkdir_p(const char *path, psk_error *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return psk_fail(err, PSK_ERR_INVALID_ARG, "%s: bad directory path", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return psk_fail(err, PSK_ERR_IO, "%s: cannot create directory: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    if (!psk_dir_exists(path)) return psk_fail(err, PSK_ERR_IO, "%s: not a directory", path);
    return PSK_OK;
}

bool psk_path_join(char *buf, size_t cap, const char *dir, const char *name) {
    int n = snprintf(buf, cap, "%s/%s", dir, name);
    return n >= 0 && (size_t)n < cap;
}

int psk_mmap_open(const char *path, psk_mmap *m, psk_error *err) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return psk_fail(err, errno == ENOENT ? PSK_ERR_NOT_FOUND : PSK_ERR_IO, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return psk_fail(err, PSK_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return psk_fail(err, PSK_ERR_FORMAT, "%s: empty file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return psk_fail(err, PSK_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
    m->data = p;
    m->size = (size_t)st.st_size;
    return PSK_OK;
}

void psk_mmap_close(psk_mmap *m) {
    if (m->data) munmap(m->data, m->size);
    m->data = NULL;
    m->size = 0;
}
