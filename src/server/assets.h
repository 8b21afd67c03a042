/* The web page's files, embedded at build time (scripts/embed_assets.sh). */
#ifndef PSK_ASSETS_H
#define PSK_ASSETS_H

#include <stddef.h>

typedef struct psk_asset {
    const char *path; /* "/index.html" */
    const char *type;
    const unsigned char *data;
    size_t size;
} psk_asset;

extern const psk_asset psk_assets[]; /* ends with a NULL path */

#endif
