/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every rule of the OpenID provider (daemon/oauth/oauth-*.c,
 * sso-session.c) works with: the tenant and its issuer, the calling
 * thread's store connection and cache, and the audit events of the answer
 * being made; and how a rule says no.
 *
 * A rule returns 0 or a negative errno. When it refuses, it fills an
 * OAuthError with the protocol's error code (RFC 6749 5.2, RFC 6750 3.1,
 * OpenID Connect Core 3.1.2.6) and a description a developer can act on,
 * and has added the refusal's audit event to ctx->audit; a face maps the
 * code to its own form (an HTTP status, a redirect, a page). A failure
 * with no error code set is ours (the store, memory): the face answers
 * with its generic internal error, and nothing was decided. */

#include <stdbool.h>

#include "audit-pending.h"
#include "manager.h"
#include "oauth-cache.h"
#include "principal.h"

typedef struct OAuthError {
        const char *error;        /* "invalid_grant", ...; NULL: no refusal was decided */
        char description[256];
        unsigned retry_after;     /* rate_limited: seconds until another try may succeed */
        /* Authorization requests: the client and its redirect URI are
         * trusted, so the refusal may go back there (RFC 6749 4.1.2.1) ... */
        bool redirect;
        /* ... but without the request's state, which can't be trusted. */
        bool drop_state;
} OAuthError;

/* Sets e (when e is set and not set already) and returns code. */
int oauth_error_set(OAuthError *e, int code, const char *error, const char *format, ...) _printf_(4, 5);

typedef struct OAuthContext {
        Manager *manager;
        Store *store;             /* the calling thread's connection */
        OAuthCache *cache;        /* the calling thread's */
        TenantRecord *tenant;     /* owned reference */
        char *issuer;             /* owned: {public_url}/t/{slug} */
        const char *log_id;       /* put in front of log lines (a request id), or NULL */
        /* The audit events of the answer being made: the face commits them
         * before (and with) the answer it sends. */
        PendingAudit audit;
} OAuthContext;

/* The settings of ctx->tenant as they apply (tenant-settings.h): its own,
 * the site's for the rest; the lifetimes of its sign-ins and refresh
 * tokens come from here. */
void oauth_context_settings(const OAuthContext *ctx, TenantSettings *ret);

/* Drops the tenant, the issuer and events not committed. */
void oauth_context_done(OAuthContext *ctx);
