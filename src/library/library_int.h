/* The library handle's fields, for src/library's own files only (library.h is what other modules use). */
#ifndef PSK_LIBRARY_INT_H
#define PSK_LIBRARY_INT_H

#include "library.h"

struct psk_library {
    store_backend store;
    /* the image model, loaded on first use and kept */
    psk_model *image_model;
    psk_context *image_ctx;
    char image_model_dir[1024];
    psk_precision image_precision;
    /* the text model of the last query */
    psk_model *text_model;
    psk_context *text_ctx;
    char text_model_dir[1024];
    /* recent query phrases and their vectors (a server sees the same queries again and again) */
    struct {
        char *key; /* model folder + '\n' + phrase */
        float *vec;
        uint64_t used;
    } qcache[64];
    uint64_t qclock;
};

/* Loads the model of `dir` (one that must see images when mp->load_vision) with a context of n_threads into
 * *model and *ctx, freeing what they held. */
int library_load_model(psk_model **model, psk_context **ctx, const char *dir, const psk_model_params *mp,
                       int n_threads, psk_error *err);

#endif
