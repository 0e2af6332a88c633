/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the OpenID provider's handlers share. The rules are the core's
 * (daemon/oauth/: client authentication, grants, codes, refresh tokens,
 * consent, SSO sessions, token checks); this face reads requests, keeps
 * cookies, shows pages, and turns the core's answers and refusals
 * (OAuthError) into replies: RFC 6749 JSON errors, RFC 6750 bearer
 * challenges, redirects back to a client, pages. */

#include "application.h"
#include "http-handlers.h"
#include "oauth-authorize.h"
#include "oauth-commit.h"
#include "oauth-context.h"
#include "oauth-limit.h"
#include "store-oidc.h"

/* Every OIDC handler starts here. */
typedef struct OidcContext {
        HttpRequest *req;
        Principal caller;         /* who asks: anonymous, by the request's address */
        OAuthContext oauth;       /* the tenant of the path, its issuer, this thread's store and cache */
} OidcContext;

/* Replies itself (404, 500) and returns < 0 when the tenant is unknown. */
int oidc_context_init(HttpRequest *req, OidcContext *ret);
void oidc_context_done(OidcContext *ctx);

/* Commits the audit events of the request (ctx->oauth.audit), then sends
 * the reply already set on the request (or a 500 when the commit fails). */
void oidc_commit_reply(OidcContext *ctx);

/* The status of the core's refusals on this face: 401 for the client's or
 * the token's credentials, 429 over a limit, 400 for the rest. */
unsigned oidc_error_status(const char *error);
/* Replies with the core's refusal e as an OAuth error ({"error",
 * "error_description"} in the envelope), or with a 500 when e is not set
 * (r: the failure), and commits the request's audit events first. */
void oidc_refuse(OidcContext *ctx, int r, const OAuthError *e);

/* Has the batch writer run c's write (taking c); the reply follows its
 * outcome: c's response (200, no-store), its refusal, or a 500. */
void oidc_commit_answer(OidcContext *ctx, OAuthCommit *c);

/* Client authentication with client_secret_basic, client_secret_post or
 * none (public clients), by the core (oauth-client.h). On failure it has
 * replied (401 invalid_client with a Basic challenge when Basic was
 * tried, 400 invalid_request for two methods at once, 429 rate_limited
 * with Retry-After) and returns < 0. */
int oidc_client_authenticate(OidcContext *ctx, const HttpParams *p, const char *action, ApplicationRecord **ret);

/* Sends the refusal the caller has set on the request (a 429 page) with
 * Retry-After; the first refusal of a run is audited (as action, by
 * actor), and the reply waits for that record. */
void oidc_limit_reply(OidcContext *ctx, const OAuthLimit *l, const char *action, const char *actor);

/* -- the authorization request, as /authorize and the sign-in pages see it */
typedef struct AuthzRequest {
        HttpParams params;        /* as sent: the strings of oauth point into them */
        char *raw;                /* the same, urlencoded, carried through forms */
        OAuthAuthzRequest oauth;  /* checked by the core */
} AuthzRequest;

void authz_request_done(AuthzRequest *a);

/* Parses and checks a request (from /authorize, or carried by a form as
 * "request"). On failure it has replied: an error page when the client or
 * redirect URI can't be trusted, else an error redirect to the client. */
int authz_parse(OidcContext *ctx, HttpParams *params, AuthzRequest *ret, ApplicationRecord **ret_app);
int authz_parse_form(OidcContext *ctx, const char *request, AuthzRequest *ret, ApplicationRecord **ret_app);

/* Replies with a refusal of the core about an authorization request: a
 * redirect to redirect_uri (with state unless the core dropped it) or,
 * when the client can't be trusted, a page. */
void authz_refuse(OidcContext *ctx, const char *redirect_uri, const char *state, int r, const OAuthError *e);

/* Goes on from a checked request: sign-in, consent, or the code. With
 * fresh_session the user signed in during this very request (prompt=login
 * and max_age are met); its cookie goes out with the reply. */
void authz_continue(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app,
                    const SsoSession *fresh_session, const char *fresh_cookie);

/* Signed in just now (amr: "pwd", "pwd otp", "fed", ...): starts the SSO
 * session and goes on with the authorization request (authz_continue). */
void authz_signed_in(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, int64_t user_id,
                     const char *amr);

/* The pages of the flow, with their CSRF tokens. */
void authz_show_login(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, unsigned status,
                      const char *error, const char *login);
void authz_show_totp(OidcContext *ctx, const AuthzRequest *a, unsigned status, const char *error,
                     const char *pending);
/* The proof of an account an upstream identity's address matched. */
void authz_show_upstream_link(OidcContext *ctx, const AuthzRequest *a, unsigned status, const char *error,
                              const char *ticket, const char *email, const char *provider);
void authz_error_page(OidcContext *ctx, unsigned status, const char *title, const char *message);
