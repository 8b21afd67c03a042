/* SHA-256 as hex (OpenSSL): checksums of downloads, Pinecone ids, and the content hashes of libraries indexed before
 * psk_content_hash (content_hash.c). */
#include "common.h"

#include <openssl/evp.h>
#include <stdio.h>

int psk_sha256_file(const char *path, char hex[65], psk_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return psk_fail(err, PSK_ERR_IO, "%s: cannot open", path);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], digest[32];
    unsigned int dl = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0) ok = EVP_DigestUpdate(md, buf, n);
    ok = ok && !ferror(f) && EVP_DigestFinal_ex(md, digest, &dl);
    EVP_MD_CTX_free(md);
    fclose(f);
    if (!ok) return psk_fail(err, PSK_ERR_IO, "%s: read error", path);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return PSK_OK;
}

int psk_sha256(const void *data, size_t n, char hex[65]) {
    unsigned char md[32];
    unsigned int len = 0;
    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL)) return PSK_ERR_NOMEM;
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return PSK_OK;
}
