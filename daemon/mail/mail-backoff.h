/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* When a mail that could not be sent is tried again: exponential back-off
 * with jitter. The wait after the n-th failed attempt is initial * 2^(n-1),
 * at most max, of which a random part of up to half is taken off, so that
 * mails queued together while the relay was down don't all come back at
 * the same moment (the "equal jitter" of AWS's architecture blog). After
 * max_attempts attempts a mail has failed for good. */

#include <stdbool.h>
#include <stdint.h>

typedef struct MailRetryPolicy {
        uint64_t initial_usec;
        uint64_t max_usec;
        unsigned max_attempts;
} MailRetryPolicy;

/* The wait after failures failed attempts (at least 1); random is uniform
 * over uint32_t: the result lies in [delay/2, delay]. */
uint64_t mail_backoff_delay(const MailRetryPolicy *p, unsigned failures, uint32_t random);

/* True when a mail that failed failures times gets no further attempt. */
bool mail_backoff_exhausted(const MailRetryPolicy *p, unsigned failures);
