/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-authorize.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "oauth-code.h"
#include "oauth-consent.h"
#include "oauth-scope.h"
#include "pkce.h"
#include "sso-session.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

#define STATE_MAX_LEN 2048
#define NONCE_MAX_LEN 512

void oauth_authz_request_done(OAuthAuthzRequest *a) {
        free(a->scope);
        *a = (OAuthAuthzRequest) {};
}

/* A refusal shown to the user: the client can't be told. */
static int untrusted(OAuthContext *ctx, const Principal *caller, const char *client_id, int code, const char *message,
                     OAuthError *e) {
        Principal p = *caller;

        p.name = client_id && token_is_plausible(client_id) ? client_id : NULL;
        pending_audit_add(&ctx->audit, &p, "oauth.authorize", ctx->tenant->slug, NULL, AUDIT_INVALID,
                          "{\"error\":\"invalid_request\"}");
        return oauth_error_set(e, code, "invalid_request", "%s", message);
}

/* A refusal sent back to the client's (registered) redirect URI. */
static int to_client(OAuthContext *ctx, const Principal *caller, const char *client_id, bool drop_state,
                     const char *error, const char *description, OAuthError *e) {
        Principal p = *caller;
        int r;

        p.name = client_id;
        pending_audit_add(&ctx->audit, &p, "oauth.authorize", ctx->tenant->slug, client_id, AUDIT_DENIED,
                          "{\"error\":\"%s\"}", error);
        r = oauth_error_set(e, -EINVAL, error, "%s", description);
        if (e) {
                e->redirect = true;
                e->drop_state = drop_state;
        }
        return r;
}

int oauth_authz_invalid(OAuthContext *ctx, const Principal *caller, const char *message, OAuthError *e) {
        return untrusted(ctx, caller, NULL, -EINVAL, message, e);
}

static int parse_prompt(const char *prompt, OAuthAuthzRequest *a) {
        _cleanup_(strv_freep) char **l = NULL;
        int r;

        r = strv_split_spaces(prompt, 4, &l);
        STRV_FOREACH(i, l) {
                if (streq(*i, "none"))
                        a->prompt_none = true;
                else if (streq(*i, "login"))
                        a->prompt_login = true;
                else if (streq(*i, "consent"))
                        a->prompt_consent = true;
                else if (streq(*i, "select_account"))
                        ; /* one account per browser and tenant: nothing to select */
                else
                        r = -EINVAL;
        }
        if (r < 0 || (a->prompt_none && strv_length(l) > 1))
                return -EINVAL;
        return 0;
}

static int parse_max_age(const char *s, int64_t *ret) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT64_MAX / (int64_t) USEC_PER_SEC)
                return -EINVAL;
        *ret = v;
        return 0;
}

int oauth_authz_check(OAuthContext *ctx, const Principal *caller, const OAuthAuthzParams *p, OAuthAuthzRequest *ret,
                      ApplicationRecord **ret_app, OAuthError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(oauth_authz_request_done) OAuthAuthzRequest a = {
                .client_id = p->client_id,
                .redirect_uri = p->redirect_uri,
                .max_age = -1,
        };
        int r;

        /* First what decides whether we may redirect at all. */
        if (isempty(a.client_id) || !token_is_plausible(a.client_id))
                return untrusted(ctx, caller, NULL, -EINVAL, "The application did not say who it is (client_id).", e);
        r = oauth_cache_application(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, a.client_id, &app);
        if (r == -ENOENT)
                return untrusted(ctx, caller, a.client_id, -ENOENT, "The application is not known here.", e);
        if (r < 0)
                return r;
        if (!application_has_grant(app, "authorization_code"))
                return untrusted(ctx, caller, a.client_id, -EPERM, "This application may not sign users in.", e);
        if (isempty(a.redirect_uri) || !application_has_redirect_uri(app, a.redirect_uri))
                return untrusted(ctx, caller, a.client_id, -EPERM,
                                 "The address to return to is not registered for this application, so we will not "
                                 "send you there.",
                                 e);
        /* Which of two values is meant can't be known, not even for state. */
        if (p->duplicate)
                return to_client(ctx, caller, a.client_id, true, "invalid_request",
                                 "A parameter was given more than once.", e);
        a.state = p->state;
        if (a.state && strlen(a.state) > STATE_MAX_LEN)
                return to_client(ctx, caller, a.client_id, true, "invalid_request", "state is too long.", e);

        /* From here on errors go back to the client, with state. */
        if (p->request)
                return to_client(ctx, caller, a.client_id, false, "request_not_supported",
                                 "Request objects are not supported.", e);
        if (p->request_uri)
                return to_client(ctx, caller, a.client_id, false, "request_uri_not_supported",
                                 "request_uri is not supported.", e);
        if (isempty(p->response_type))
                return to_client(ctx, caller, a.client_id, false, "invalid_request", "response_type is required.", e);
        if (!streq(p->response_type, "code"))
                return to_client(ctx, caller, a.client_id, false, "unsupported_response_type",
                                 "Only response_type=code is offered (no implicit or hybrid flow).", e);
        if (p->response_mode && !streq(p->response_mode, "query"))
                return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                 "Only response_mode=query is offered.", e);

        r = oauth_scope_normalize(app, p->scope ?: "", &a.scope);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || isempty(a.scope))
                return to_client(ctx, caller, a.client_id, false, "invalid_scope",
                                 "A requested scope is unknown or not allowed.", e);

        /* PKCE: S256 only, and always (OAuth 2.1, RFC 9700 2.1.1), but for
         * a confidential client registered with an explicit opt-out (old
         * clients that can't send it). */
        a.code_challenge = p->code_challenge;
        if (a.code_challenge) {
                if (!p->code_challenge_method || !streq(p->code_challenge_method, "S256"))
                        return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                         "code_challenge_method must be S256 (plain is not offered).", e);
                if (!pkce_valid_challenge(a.code_challenge))
                        return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                         "code_challenge is malformed.", e);
        } else if (p->code_challenge_method)
                return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                 "code_challenge_method without code_challenge.", e);
        else if (app->public_client || !app->pkce_optional)
                return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                 "PKCE is required (code_challenge, S256).", e);

        a.nonce = p->nonce;
        if (a.nonce && (strlen(a.nonce) > NONCE_MAX_LEN || a.nonce[0] == '\0'))
                return to_client(ctx, caller, a.client_id, false, "invalid_request", "nonce is empty or too long.", e);
        if (p->prompt && parse_prompt(p->prompt, &a) < 0)
                return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                 "prompt takes none (alone), login, consent or select_account.", e);
        if (p->max_age && parse_max_age(p->max_age, &a.max_age) < 0)
                return to_client(ctx, caller, a.client_id, false, "invalid_request",
                                 "max_age must be a number of seconds.", e);

        *ret = a;
        a = (OAuthAuthzRequest) {};
        *ret_app = TAKE_PTR(app);
        return 0;
}

int oauth_authz_continue(OAuthContext *ctx, const Principal *caller, const OAuthAuthzRequest *a,
                         const ApplicationRecord *app, const SsoSession *session, bool fresh,
                         OAuthAuthzStep *ret_step, char **ret_code, OAuthError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int64_t now = now_realtime_usec();
        bool have;
        int r;

        have = session && sso_session_user(ctx, session, &u) >= 0;
        /* An existing session may not be good enough for this request. */
        if (have && !fresh) {
                if (a->prompt_login)
                        have = false;
                else if (a->max_age >= 0 && now - session->auth_time_usec > a->max_age * (int64_t) USEC_PER_SEC)
                        have = false;
        }
        if (!have) {
                if (a->prompt_none)
                        return to_client(ctx, caller, a->client_id, false, "login_required", "The user is not signed in.",
                                         e);
                *ret_step = OAUTH_AUTHZ_SIGN_IN;
                return 0;
        }

        if (oauth_consent_needed(ctx, app, u->id, a->scope, a->prompt_consent)) {
                if (a->prompt_none)
                        return to_client(ctx, caller, a->client_id, false, "consent_required",
                                         "The user has not allowed this application.", e);
                *ret_step = OAUTH_AUTHZ_CONSENT;
                return 0;
        }

        r = oauth_code_issue(ctx, caller, app, a, session, u, ret_code);
        if (r < 0)
                return r;
        *ret_step = OAUTH_AUTHZ_CODE;
        return 0;
}

int oauth_authz_consent(OAuthContext *ctx, const Principal *caller, const Principal *user, OAuthAuthzRequest *a,
                        const ApplicationRecord *app, bool allow, OAuthError *e) {
        int r;

        if (!allow)
                return to_client(ctx, caller, a->client_id, false, "access_denied", "The user did not allow access.", e);
        r = oauth_consent_grant(ctx, app, user->user_id, a->scope);
        if (r < 0)
                return r;
        /* Consented: the request goes on (prompt=consent is satisfied now). */
        a->prompt_consent = false;
        return 0;
}
