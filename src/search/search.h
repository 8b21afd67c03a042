/* Searching: the query algebra, and the query vector handed to the library's store. */
#ifndef PSK_SEARCH_H
#define PSK_SEARCH_H

#include "../library/library.h"

typedef struct query_term {
    char *text;   /* a phrase, or an image path when is_image */
    float weight; /* +1 by default; -1 for "-term"; N for "N:term" */
    bool is_image;
    bool is_text; /* text:"..." or text:word: words the photo holds (OCR), not a meaning */
} query_term;

typedef struct query {
    query_term *terms;
    int n;
} query;

/* Parses the query algebra:
 *   words            consecutive plain words form one phrase ("donut birthday cake" is one term)
 *   "a phrase"       a quoted phrase is a term of its own
 *   -term +term      subtract / add a term (a word or a quoted phrase)
 *   2:term -0.5:term weights
 *   path/to/a.jpg    an existing image file is an image term
 *   text:"RE16"      the photo's text (OCR) contains it (text:word for one word); at most one per query
 * Returns PSK_ERR_INVALID_ARG with a message for an empty query, an unclosed quote or a bad weight. */
int query_parse(const char *s, query *q, psk_error *err);
void query_free(query *q);

/* Whether p asks to collapse near-duplicate groups and the library's store keeps them (search.c). */
bool search_can_collapse(psk_library *lib, const psk_search_params *p);
/* Each near-duplicate group once, at its first (best-ranked) member, with group and group_size set; at most k
 * results are kept (search.c). */
int search_collapse(psk_library *lib, psk_result *r, int *n, int k, psk_error *err);

/* Fills each result's text with the words around `folded` in its photo's text (text_search.c). */
void search_text_snippets(psk_library *lib, const char *folded, psk_result *r, int n);

#endif
