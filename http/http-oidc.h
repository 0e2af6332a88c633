/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the OpenID provider's handlers share: the tenant and issuer of a
 * request, client authentication, token signing and checking, the audit
 * events of a request. */

#include "application.h"
#include "http-handlers.h"
#include "limiter.h"
#include "oidc-records.h"
#include "store-oidc.h"

/* Every OIDC handler starts here. */
typedef struct OidcContext {
        HttpRequest *req;
        Manager *manager;
        Store *store;
        TenantRecord *tenant;
        char *issuer;
} OidcContext;

/* Replies itself (404, 500) and returns < 0 when the tenant is unknown. */
int oidc_context_init(HttpRequest *req, OidcContext *ret);
void oidc_context_done(OidcContext *ctx);

/* -- audit events of one request, written with (and before) its reply */
typedef struct OidcAudit {
        struct {
                char *action, *actor, *target, *details;
                AuditResult result;
        } events[4];
        size_t n;
        char *tenant, *remote;
} OidcAudit;

void oidc_audit_add(OidcAudit *a, OidcContext *ctx, const char *action, const char *actor, const char *target,
                    AuditResult result, const char *details_format, ...) _printf_(7, 8);
int oidc_audit_write(Store *s, OidcAudit *a);
void oidc_audit_done(OidcAudit *a);

/* Commits the audit events, then sends the reply already set on the
 * request (or a 500 when the commit fails). Takes a. */
void oidc_commit_reply(OidcContext *ctx, OidcAudit *a);

/* -- client authentication: client_secret_basic, client_secret_post, or
 * none (public clients). On failure replies 401 invalid_client (400
 * invalid_request for a malformed attempt) after auditing, and returns < 0.
 * Failures count against the address and the client id; over the limit
 * (limiter.h) it replies 429 rate_limited with Retry-After before looking
 * at the client or its secret, and returns -EBUSY. */
int oidc_client_authenticate(OidcContext *ctx, const HttpParams *p, const char *action, ApplicationRecord **ret);

/* -- limits on failed authentications, for the doors of this face: check
 * before any hash or store work, count each failure. */
typedef struct OidcLimit {
        unsigned wait;            /* seconds until another try, for Retry-After */
        LimitKind kind;           /* the limit met */
        bool first;               /* the first refusal of a run: worth an audit event */
} OidcLimit;

/* True when the request's address, or client_id (NULL: none), failed too
 * often lately. */
bool oidc_limited(OidcContext *ctx, const char *client_id, OidcLimit *ret);
/* Sends the refusal the caller has set on the request (a 429 envelope or
 * page) with Retry-After; the first refusal of a run is audited (as action,
 * by actor), and the reply waits for that record. */
void oidc_limit_reply(OidcContext *ctx, const OidcLimit *l, const char *action, const char *actor);
/* Counts a failed authentication of the request's address and, when not
 * NULL, of client_id. */
void oidc_limit_failed(OidcContext *ctx, const char *client_id);

/* -- tokens */
typedef struct OidcGrant {
        const ApplicationRecord *app;
        const UserRecord *user;   /* NULL for client_credentials */
        const char *scope;
        const char *sid;          /* browser session, for user tokens */
        const char *nonce;
        int64_t auth_time_usec;
        const char *amr;          /* "pwd" or "pwd otp" */
        char jti[33];             /* set by oidc_sign_tokens() */
} OidcGrant;

/* The pairwise-stable subject of a user: never reused, even when a user of
 * the same name is created again. */
int oidc_subject(const Manager *m, const UserRecord *u, char out[static 64]);
/* The same, from the thread's cache when it can. */
int oidc_subject_of(HttpRequest *req, const UserRecord *u, char out[static 64]);

/* Signs the access token (RFC 9068) and, when scope has openid, the ID
 * token, with the application's algorithm. */
int oidc_sign_tokens(OidcContext *ctx, OidcGrant *g, char **ret_access, char **ret_id_token);

/* {"access_token", "token_type", "expires_in", "scope", ...}. */
json_t *oidc_token_response(OidcContext *ctx, const char *access, const char *id_token, const char *refresh,
                            const char *scope);

/* The claims of a user for scope: sub, name, preferred_username, email... */
void oidc_user_claims(JsonText *j, const UserRecord *u, const char *sub, const char *scope);

/* Verifies the signature of a JWT of this tenant, nothing more. */
int oidc_verify_jwt(OidcContext *ctx, const char *token, json_t **ret_header, json_t **ret_claims);

/* Verifies an access token of this tenant: signature, typ at+jwt, iss, aud,
 * exp, and that it was not revoked. -EKEYREJECTED for anything wrong,
 * -ETIME when expired. The claims are shared with the thread's cache of
 * verified tokens: read them, never change them. */
int oidc_verify_access_token(OidcContext *ctx, const char *token, json_t **ret_claims);

/* Checks a requested scope string against what the app may have; returns
 * the normalized scope (known scopes, each once, in a fixed order). */
int oidc_normalize_scope(const ApplicationRecord *app, const char *requested, char **ret);
bool oidc_scope_has(const char *scope, const char *item);

/* The user of a browser session, when it is valid now. */
int oidc_session_user(OidcContext *ctx, const SsoSession *sess, UserRecord **ret);

/* -- the authorization request, as /authorize and the sign-in pages see it */
typedef struct AuthzRequest {
        HttpParams params;        /* as sent */
        char *raw;                /* the same, urlencoded, carried through forms */
        const char *client_id, *redirect_uri, *state, *nonce, *code_challenge;
        char *scope;              /* normalized */
        bool prompt_none, prompt_login, prompt_consent;
        int64_t max_age;          /* -1: not given */
} AuthzRequest;

void authz_request_done(AuthzRequest *a);

/* Parses and checks a request (from /authorize, or carried by a form as
 * "request"). On failure it has replied: an error page when the client or
 * redirect URI can't be trusted, else an error redirect to the client. */
int authz_parse(OidcContext *ctx, HttpParams *params, AuthzRequest *ret, ApplicationRecord **ret_app);
int authz_parse_form(OidcContext *ctx, const char *request, AuthzRequest *ret, ApplicationRecord **ret_app);

/* Goes on from a checked request: sign-in, consent, or the code. With
 * fresh_session the user signed in during this very request (prompt=login
 * and max_age are met). */
void authz_continue(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app,
                    const SsoSession *fresh_session, const char *fresh_cookie);

/* The pages of the flow, with their CSRF tokens. */
void authz_show_login(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app, unsigned status,
                      const char *error, const char *login);
void authz_show_totp(OidcContext *ctx, const AuthzRequest *a, unsigned status, const char *error,
                     const char *pending);
void authz_error_page(OidcContext *ctx, unsigned status, const char *title, const char *message);

/* Starts a browser session for user (amr: "pwd" or "pwd otp"); the cookie
 * goes to authz_continue(), which sets it on the reply. */
int authz_start_session(OidcContext *ctx, const UserRecord *u, const char *amr, char **ret_cookie,
                        SsoSession *ret_session);
