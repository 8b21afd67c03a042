/* The query algebra's edge cases that fuzzing found (tests/fuzz/fuzz_query.c; the inputs are kept in
 * tests/fuzz/corpus/query/crash-*). */
#include "test.h"

#include "../../src/search/search.h"

TEST(query_weight_that_underflows_a_float_is_refused) {
    /* 1e-60 passed "> 0" as a double and became a weight of 0 as a float: a term that counts for nothing */
    const char *tiny[] = {"1e-60:cat", "0x1p-200:cat", ".000000000000000000000000000000000000000000000000005:cat",
                          "dog -1e-50:\"wet grass\""};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        query q;
        psk_error err = {0};
        CHECKF(query_parse(tiny[i], &q, &err) == PSK_ERR_INVALID_ARG && strstr(err.message, "weight"), "%s: %s",
               tiny[i], err.message);
    }
    query q;
    CHECK_OK(query_parse("0.01:cat 100:dog", &q, err_));
    CHECK(q.n == 2 && q.terms[0].weight > 0.0099f && q.terms[1].weight == 100.0f);
    query_free(&q);
}
