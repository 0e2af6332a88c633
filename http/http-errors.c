/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The one map from the core's errors (a negative errno and the sentence of
 * its TesseraError) to an HTTP status and the envelope's code: the twin of
 * lib/bus-errors.c, which maps the same errors to D-Bus error names. Every
 * JSON API handler replies its failures through http_reply_errno(). */

#include <stdlib.h>

#include "http-internal.h"

static const HttpErrorMap errors[] = {
        { ENOENT, MHD_HTTP_NOT_FOUND, "not_found", "No such resource." },
        { EEXIST, MHD_HTTP_CONFLICT, "conflict", "It exists already." },
        { EINVAL, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid", "The request is not valid." },
        { ERANGE, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range", "A value is out of its range." },
        { E2BIG, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", "The request asks for too much at once." },
        { EACCES, MHD_HTTP_FORBIDDEN, "forbidden", "Not allowed." },
        { EPERM, MHD_HTTP_FORBIDDEN, "forbidden", "Not allowed." },
        { EKEYREJECTED, MHD_HTTP_UNAUTHORIZED, "authentication_failed", "The credentials were not accepted." },
        /* The account can't be used now: its credentials are not checked. */
        { ENOLCK, MHD_HTTP_FORBIDDEN, "account_locked", "The account is locked." },
        { EKEYREVOKED, MHD_HTTP_FORBIDDEN, "account_disabled", "The account is disabled." },
        { EKEYEXPIRED, MHD_HTTP_FORBIDDEN, "account_expired", "The account has expired." },
        { ENOTEMPTY, MHD_HTTP_CONFLICT, "not_empty", "It still holds something; empty it first." },
        /* A tenant keeps one owner at least (member.h). */
        { EOWNERDEAD, MHD_HTTP_CONFLICT, "last_owner", "The tenant's last owner can be neither demoted nor removed." },
        { ENOSPC, MHD_HTTP_CONFLICT, "id_range_exhausted", "The tenant's range of Unix IDs is used up." },
        { EOPNOTSUPP, MHD_HTTP_CONFLICT, "not_supported", "This cannot be done to it." },
        { ESTALE, MHD_HTTP_PRECONDITION_FAILED, "precondition_failed",
          "The record changed since it was read (If-Match); read it again." },
        { EALREADY, MHD_HTTP_CONFLICT, "already_done", "It is done already." },
        /* The tenant's plan allows no more (entitlement.h). */
        { EUSERS, MHD_HTTP_FORBIDDEN, "limit_reached", "The tenant has reached a limit of its plan." },
        /* An idempotency key used again for another request. */
        { ENOTUNIQ, MHD_HTTP_CONFLICT, "idempotency_key_reused",
          "The idempotency key was used for another request; use a new one." },
        /* The handler adds Retry-After with the core's wait. */
        { ETOOMANYREFS, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", "Too many requests; try again later." },

        /* Ours, not the client's: the same request may work later. */
        { EBUSY, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "tesserad is busy or shutting down; try again.", 1, true },
        { EAGAIN, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "tesserad is busy or shutting down; try again.", 1,
          true },
        { ESHUTDOWN, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", "tesserad is busy or shutting down; try again.", 1,
          true },
        /* The store could not write (the full disk or the I/O error is
         * logged where it happened): nothing was changed, and the same
         * request may work once an operator has seen to the disk. */
        { EDQUOT, MHD_HTTP_INSUFFICIENT_STORAGE, "storage_full",
          "tesserad's disk is full; nothing was changed. Try again later.", 60, true },
        /* The database server cannot be reached (PostgreSQL down, a
         * failover under way): -ENOTCONN, nothing was sent; -ECONNRESET,
         * the connection broke under the request and its change was not
         * confirmed, so it is not acknowledged (db.h). The store connects
         * again by itself. */
        { ENOTCONN, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
          "tesserad cannot reach its database; nothing was changed. Try again in a moment.", 2, true },
        { ECONNRESET, MHD_HTTP_SERVICE_UNAVAILABLE, "store_unavailable",
          "The connection to tesserad's database broke; the request was not completed. Try again in a moment.", 2,
          true },
        { EIO, MHD_HTTP_SERVICE_UNAVAILABLE, "storage_unavailable",
          "tesserad could not read or write its data; nothing was changed. Try again later.", 10, true },
};

static const HttpErrorMap internal = {
        0, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error",
        "Something went wrong on our side; the request id tells the logs where.", 0, true,
};

const HttpErrorMap *http_error_map(int error) {
        error = abs(error);
        for (size_t i = 0; i < ELEMENTSOF(errors); i++)
                if (errors[i].error == error)
                        return &errors[i];
        return &internal;
}

static void reply_mapped(HttpRequest *req, const HttpErrorMap *m, int error, const char *message) {
        if (m == &internal || m->error == EIO)
                http_log_errno(req, LOG_ERR, error, "%s: %m",
                               m == &internal ? "Internal error" : "Storage or internal error");
        http_reply_error(req, m->status, m->code, NULL, "%s", message);
        if (m->retry_after > 0) {
                char seconds[16];

                snprintf(seconds, sizeof(seconds), "%u", m->retry_after);
                http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        }
        if (m->status == MHD_HTTP_UNAUTHORIZED) {
                /* RFC 9110 11.6.1: a 401 says how to authenticate. */
                char challenge[128];

                snprintf(challenge, sizeof(challenge), "Bearer realm=\"%s\"",
                         req->tenant_slug[0] ? req->tenant_slug : "tessera");
                http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
        }
}

void http_reply_errno(HttpRequest *req, int error, const TesseraError *e) {
        const HttpErrorMap *m = http_error_map(error);

        /* The core's sentence says what went wrong with what the client
         * sent; for our own failures the fixed one says what to do. */
        reply_mapped(req, m, error,
                     !m->server_side && e && e->code < 0 && e->message[0] ? e->message : m->message);
}

void http_reply_internal_error(HttpRequest *req, int error) {
        const HttpErrorMap *m = http_error_map(error);

        /* Where the caller met an error it did not expect, only our own
         * failures keep their meaning: anything else is a 500. */
        reply_mapped(req, m->server_side ? m : &internal, error, m->server_side ? m->message : internal.message);
}
