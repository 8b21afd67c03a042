/* photoseek model fetch faces: face-api 1.7.15's package (npm_package.h: the user's npm or a tarball, checked
 * against the sha256 recorded here), its model/ folder installed as DIR. */
#include "faces.h"

#include "../common/npm_package.h"

#define FACE_API_SPEC "@vladmandic/face-api@1.7.15"
#define FACE_API_TGZ "vladmandic-face-api-1.7.15.tgz"
/* sha256 of the registry's tarball (npm pack), the same bytes every time */
#define FACE_API_SHA256 "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"

psk_status psk_face_model_fetch(const char *dir, const char *from_tgz, psk_error *err) {
    static const char *const required[] = {
        "ssd_mobilenetv1_model-weights_manifest.json",  "ssd_mobilenetv1_model.bin",
        "tiny_face_detector_model-weights_manifest.json", "tiny_face_detector_model.bin",
        "face_landmark_68_model-weights_manifest.json", "face_landmark_68_model.bin",
        "face_recognition_model-weights_manifest.json", "face_recognition_model.bin", NULL};
    const npm_package pkg = {.spec = FACE_API_SPEC, .tarball = FACE_API_TGZ, .sha256 = FACE_API_SHA256,
                             .license = "MIT", .folder = "package/model/", .required = required};
    return npm_package_fetch(&pkg, dir, from_tgz, err);
}
