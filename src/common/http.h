/* HTTP requests with retries (libcurl), shared by the clients of web services (Google Photos, Pinecone). */
#ifndef PSK_COMMON_HTTP_H
#define PSK_COMMON_HTTP_H

#include "common.h"

#include <stdio.h>

typedef struct psk_http_response {
    long status;
    psk_buf body;  /* up to 16 MiB; free with psk_buf_free */
    FILE *to_file; /* downloads go straight to a file */
} psk_http_response;

/* One request; 429, 5xx and network failures are retried with exponential backoff (5 tries, starting at 1 s, or
 * at PHOTOSEEK_TEST_RETRY_MS for tests). headers: NULL-terminated "Name: value" lines, or NULL. On success r holds
 * the final status and body; only network failures and exhausted retries are errors. */
int psk_http(const char *method, const char *url, const char *const *headers, const char *body, FILE *to_file,
             psk_http_response *r, psk_error *err);

#endif
