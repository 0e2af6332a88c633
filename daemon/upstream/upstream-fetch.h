/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One outbound HTTP request to an upstream provider, blocking, with
 * libcurl: the limits of UpstreamLimits (connect and total timeouts, the
 * answer's size), TLS verified against the system store or the configured
 * CA file, no redirects followed, http(s) only, and plain http only
 * towards loopback. The answer's freshness (Cache-Control max-age,
 * no-store, no-cache, Expires) is read for the caches. */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "upstream-client.h"

typedef struct UpstreamResponse {
        long status;
        char *body;                   /* NUL-terminated; may hold NULs before the end */
        size_t size;
        /* How long the answer may be reused, from its headers: -1 none
         * given, 0 it must not be, else seconds. */
        int64_t max_age_sec;
} UpstreamResponse;

void upstream_response_done(UpstreamResponse *r);

/* https:// to anywhere, or http:// to a loopback host (127.0.0.0/8, ::1,
 * localhost); no user information in the URL. */
bool upstream_url_allowed(const char *url);

/* The limits with their defaults filled in. */
void upstream_limits_normalize(const UpstreamLimits *in, UpstreamLimits *out);

/* GET url (post_body NULL) or POST post_body as a form. headers: extra
 * request headers ("Name: value"), NULL-terminated, may be NULL. Any HTTP
 * status is a success here: the caller reads it. Errors: -EINVAL a URL
 * that is not allowed, -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH (no such
 * host, TLS refused), -EFBIG over max_response, -EIO otherwise. what
 * names the request in messages ("the token endpoint"). */
int upstream_fetch(const UpstreamLimits *limits, const char *what, const char *url, const char *post_body,
                   const char *const *headers, UpstreamResponse *ret, TesseraError *e);

/* Percent-encodes s for a query or form value; NULL on OOM. */
char *upstream_url_escape(const char *s);
