/* The rule on people's names that every store keeps: a name belongs to one person at most (names compare in any
 * case). The stores look up who holds a name (sqlite_people.c, pg_people.c); the refusal is worded here, once. */
#include "people.h"

int people_name_check(int64_t person, const char *name, int64_t holder, psk_error *err) {
    if (!holder || holder == person) return PSK_OK;
    return psk_fail(err, PSK_ERR_INVALID_ARG,
                    "'%s' is the name of person %lld already; to make them one, run 'photoseek people merge %lld %lld'",
                    name, (long long)holder, (long long)holder, (long long)person);
}
