/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The authorization request (RFC 6749 4.1.1, OpenID Connect Core 3.1.2):
 * whether it may be served at all, and what comes next for the browser
 * that brought it: the sign-in page, the consent page, or the code.
 *
 * A refusal about the client or its redirect URI can't be sent back to
 * the client (the URI can't be trusted): the face shows it (e->redirect
 * false). Every other refusal goes back to the redirect URI with state
 * and iss (RFC 9207) (e->redirect true; without state when e->drop_state).
 * Each refusal is audited as oauth.authorize. */

#include <stdbool.h>

#include "oauth-context.h"

/* The request's parameters as the face read them; NULL: not given. */
typedef struct OAuthAuthzParams {
        const char *client_id, *redirect_uri, *state, *response_type, *response_mode, *scope;
        const char *code_challenge, *code_challenge_method, *nonce, *prompt, *max_age;
        bool request;             /* a request object was sent (by value) */
        bool request_uri;         /* ... or by reference */
        bool duplicate;           /* a parameter was given more than once */
} OAuthAuthzParams;

/* A checked request. The strings are the params' (they live as long). */
typedef struct OAuthAuthzRequest {
        const char *client_id, *redirect_uri, *state, *nonce, *code_challenge;
        char *scope;              /* normalized, owned */
        bool prompt_none, prompt_login, prompt_consent;
        int64_t max_age;          /* seconds; -1: not given */
} OAuthAuthzRequest;

void oauth_authz_request_done(OAuthAuthzRequest *a);

/* Checks a request against the tenant's application it names. */
int oauth_authz_check(OAuthContext *ctx, const Principal *caller, const OAuthAuthzParams *p, OAuthAuthzRequest *ret,
                      ApplicationRecord **ret_app, OAuthError *e);

/* Refuses a request the face could not even read (no client can be told). */
int oauth_authz_invalid(OAuthContext *ctx, const Principal *caller, const char *message, OAuthError *e);

typedef enum OAuthAuthzStep {
        OAUTH_AUTHZ_SIGN_IN,      /* the user must sign in (again) first */
        OAUTH_AUTHZ_CONSENT,      /* the user must allow the application first */
        OAUTH_AUTHZ_CODE,         /* a code was issued: the browser goes back with it */
} OAuthAuthzStep;

/* Goes on with a checked request in a browser with session (NULL: none,
 * or none alive). fresh: the user signed in during this very request, so
 * prompt=login and max_age are met. An existing session may not do
 * (prompt=login, max_age); prompt=none turns each step the user would
 * have to take into a refusal (login_required, consent_required). On
 * OAUTH_AUTHZ_CODE, *ret_code is the code (issued and durable). */
int oauth_authz_continue(OAuthContext *ctx, const Principal *caller, const OAuthAuthzRequest *a,
                         const ApplicationRecord *app, const SsoSession *session, bool fresh,
                         OAuthAuthzStep *ret_step, char **ret_code, OAuthError *e);

/* The user's answer on the consent page, as user (principal_user()):
 * allowed, the consent is recorded for the request's scope, and the
 * request goes on with prompt=consent met; refused, the client is told
 * access_denied. */
int oauth_authz_consent(OAuthContext *ctx, const Principal *caller, const Principal *user,
                        OAuthAuthzRequest *a, const ApplicationRecord *app, bool allow, OAuthError *e);
