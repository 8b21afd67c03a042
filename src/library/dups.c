/* Near-duplicates through the library's store (the grouping itself: src/dups and the store's operation). */
#include "library_int.h"

psk_dups_params psk_dups_default_params(void) {
    psk_dups_params p = {0};
    p.threshold = 0.92f;
    return p;
}

psk_status psk_library_duplicates(psk_library *lib, const psk_dups_params *params, psk_dup_group **groups, int *n,
                                  psk_error *err) {
    *groups = NULL, *n = 0;
    if (!backend_can(&lib->store, PSK_STORE_CAP_DUPLICATES))
        return backend_unsupported(&lib->store, "finding near-duplicates", err);
    store_model m;
    int rc = backend_current_model(&lib->store, &m, err);
    if (rc) return rc;
    psk_dups_params p = params ? *params : psk_dups_default_params();
    return backend_duplicates(&lib->store, &m, &p, groups, n, err);
}

void psk_dup_groups_free(psk_dup_group *groups, int n) {
    if (!groups) return;
    for (int i = 0; i < n; i++) psk_free(groups[i].members);
    psk_free(groups);
}
