/* Searching: the query algebra, and the query vector handed to the library's store. */
#ifndef PSK_SEARCH_H
#define PSK_SEARCH_H

#include "../library/library.h"

typedef struct query_term {
    char *text;   /* a phrase, or an image path when is_image */
    float weight; /* +1 by default; -1 for "-term"; N for "N:term" */
    bool is_image;
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
 * Returns PSK_ERR_INVALID_ARG with a message for an empty query, an unclosed quote or a bad weight. */
int query_parse(const char *s, query *q, psk_error *err);
void query_free(query *q);

#endif
