/* Reading single items and the values present (for the web page's filter chips), from the library's store. */
#include "search.h"

psk_status psk_library_get_media(psk_library *lib, int64_t id, psk_result *out, psk_error *err) {
    return backend_get_media(library_backend(lib), id, out, err);
}

void psk_facets_free(psk_facets *f) {
    if (!f) return;
    psk_free(f->years);
    psk_free(f->months);
    psk_free(f->cameras);
    psk_free(f->folders);
    psk_free(f->types);
    psk_free(f->countries);
    psk_free(f->places);
    psk_free(f);
}

psk_status psk_library_facets(psk_library *lib, psk_facets **out, psk_error *err) {
    return backend_facets(library_backend(lib), out, err);
}
