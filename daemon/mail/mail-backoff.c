/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail-backoff.h"

#include "macro.h"

uint64_t mail_backoff_delay(const MailRetryPolicy *p, unsigned failures, uint32_t random) {
        uint64_t delay = MAX(p->initial_usec, (uint64_t) 1), half;

        /* Doubling stops at max, long before it could overflow. */
        for (unsigned i = 1; i < failures && delay < p->max_usec; i++)
                delay *= 2;
        delay = MIN(delay, MAX(p->max_usec, (uint64_t) 1));

        half = delay / 2;
        return delay - (uint64_t) ((unsigned __int128) half * random / UINT32_MAX);
}

bool mail_backoff_exhausted(const MailRetryPolicy *p, unsigned failures) {
        return failures >= p->max_attempts;
}
