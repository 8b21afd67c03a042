/* Reclustering keeps the user's names: a named person's id (and so its name) goes to the new group that holds
 * most of its old faces. */
#include "people.h"

int people_keep_names(const int64_t *before, int64_t *label, int n, const int64_t *named, int n_named) {
    int64_t *cand = psk_calloc((size_t)n + 1, sizeof *cand);         /* the new groups of one person's old faces */
    int *votes = psk_calloc((size_t)n + 1, sizeof *votes);
    int64_t *map_from = psk_calloc((size_t)n_named + 1, sizeof *map_from); /* new group -> person id */
    int64_t *map_to = psk_calloc((size_t)n_named + 1, sizeof *map_to);
    int rc = cand && votes && map_from && map_to ? PSK_OK : PSK_ERR_NOMEM;
    int n_map = 0;
    for (int p = 0; p < n_named && !rc; p++) {
        int total = 0, n_cand = 0, best = -1;
        for (int i = 0; i < n; i++) { /* a library's faces times its names: fine at the sizes people name */
            if (before[i] != named[p]) continue;
            total++;
            if (label[i] >= 0) continue; /* joined a person the user's faces hold: no new group to name */
            int k = 0;
            while (k < n_cand && cand[k] != label[i]) k++;
            if (k == n_cand) cand[n_cand] = label[i], votes[n_cand++] = 0;
            votes[k]++;
        }
        for (int k = 0; k < n_cand; k++)
            if (best < 0 || votes[k] > votes[best]) best = k;
        if (best < 0 || votes[best] * 2 <= total) continue; /* scattered: the name stays with no faces */
        bool taken = false;
        for (int m = 0; m < n_map && !taken; m++) taken = map_from[m] == cand[best];
        if (taken) continue;
        map_from[n_map] = cand[best];
        map_to[n_map++] = named[p];
    }
    for (int m = 0; m < n_map; m++)
        for (int i = 0; i < n; i++)
            if (label[i] == map_from[m]) label[i] = map_to[m];
    psk_free(cand), psk_free(votes), psk_free(map_from), psk_free(map_to);
    return rc;
}
