/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the two doors of a federated sign-in share (the hosted pages,
 * http-upstream.c; the JSON API, http-api-upstream.c): the way out to
 * the provider and the way back, up to a verified identity. Who the
 * identity is to tessera is the core's (upstream-signin.h); the network
 * work is the client's (upstream-client.h), blocking, on this HTTP
 * connection's thread, never on the main loop. */

#include "http-oidc.h"
#include "upstream-client.h"
#include "upstream-flow.h"
#include "upstream-signin.h"

/* The one URL per tenant that providers send browsers back to:
 * {public_url}/t/{tenant}/upstream/callback. */
char *http_upstream_callback_url(OidcContext *ctx);

/* A refusal of the way out or back, for a reply: the HTTP status, a
 * stable code for the JSON envelope, a title for the page. */
typedef struct UpstreamFailure {
        unsigned status;
        const char *code;
        const char *title;
        TesseraError error;
} UpstreamFailure;

/* Starts a flow with provider p (kept server-side, upstream-flow.h) and
 * makes the provider's URL. binding: the browser's cookie, or NULL for the
 * JSON API. request: the authorization request waiting (the pages), or
 * NULL. < 0 with f filled and the failure audited. */
int http_upstream_begin(OidcContext *ctx, const UpstreamProvider *p, const char *binding, const char *request,
                        const char *redirect_uri, char **ret_url, UpstreamFailure *f);

/* The way back: takes the flow of state (single use, this tenant, this
 * browser or the API), reads the provider's answer (code, or error and
 * error_description), and has the client exchange the code and verify the
 * identity. On success *ret_flow, *ret_provider and *ret_id are the
 * caller's; < 0 with f filled and the failure audited otherwise. */
int http_upstream_finish(OidcContext *ctx, const HttpParams *params, const char *binding, UpstreamFlow *ret_flow,
                         UpstreamProvider **ret_provider, UpstreamIdentity *ret_id, UpstreamFailure *f);

/* The refusal of the core (upstream_signin_resolve()) as a failure. */
void http_upstream_refusal(int r, const UpstreamRefusal *refusal, const TesseraError *e, UpstreamFailure *f);
