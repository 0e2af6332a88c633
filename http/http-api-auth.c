/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The JSON API's account flows: POST /api/v1/signup, and under
 * /api/v1/tenants/{tenant}/auth/ signin, mfa, refresh, signout and session.
 * Thin: the body is parsed by its schema, the decisions are the core's
 * (signup.h, the authentication core auth.h with its lockout, and the
 * OpenID provider's sessions and tokens: api-session.h), and this file
 * only turns them into replies.
 *
 * What no answer tells: whether an account exists. A name that is no user
 * is checked against a dummy hash and answered as a wrong password; the
 * lockout counts unknown names too (auth-lockout.h).
 *
 * Limits (the core's limiter): failures of sign-in, MFA and refresh count
 * per client address, sign-in and MFA failures also per account; every
 * sign-up counts per address. Over a limit: 429 rate_limited with
 * Retry-After, before any hash or store work. */

#include <stdlib.h>

#include "api-session.h"
#include "http-api-auth.h"
#include "auth.h"
#include "auth-totp.h"
#include "invitation.h"
#include "http-qr-svg.h"
#include "http-oidc.h"
#include "names.h"
#include "oauth-claims.h"
#include "signup.h"
#include "time-util.h"

/* -- replies ---------------------------------------------------------------------- */

static void reply_limited(OidcContext *ctx, unsigned wait, const char *what) {
        char seconds[16];

        snprintf(seconds, sizeof(seconds), "%u", wait);
        http_reply_error(ctx->req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                         json_pack("{s:I}", "retry_after", (json_int_t) wait), "Too many %s; try again in %u s.",
                         what, wait);
        http_reply_header(ctx->req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
}

/* The limits of an authentication step: the caller's address, then (when
 * account is set) the account. Replies and returns true when over one;
 * the first refusal of a run is audited. */
static bool limited(OidcContext *ctx, const char *account, const char *action) {
        OAuthLimit l = {};

        if (!oauth_limited(ctx->oauth.manager, &ctx->caller, NULL, &l) && account) {
                l = (OAuthLimit) { .kind = LIMIT_ACCOUNT };
                l.wait = limiter_check(ctx->oauth.manager->limiter, LIMIT_ACCOUNT, account,
                                       now_monotonic_usec(), &l.first);
        }
        if (l.wait > 0) {
                reply_limited(ctx, l.wait, "failed attempts");
                oauth_limit_audit(&ctx->oauth, &ctx->caller, &l, action, account);
                oidc_commit_reply(ctx);
                return true;
        }
        return false;
}

static void count_failure(OidcContext *ctx, const char *account) {
        oauth_limit_failed(ctx->oauth.manager, &ctx->caller, NULL);
        if (account)
                limiter_fail(ctx->oauth.manager->limiter, LIMIT_ACCOUNT, account, now_monotonic_usec());
}

/* The account's key for the limiter: the tenant and the login as typed,
 * folded to lower case (names are lower case, e-mail addresses compared
 * without case), so that spelling it otherwise gains no attempts. */
static char *account_key(const TenantRecord *t, const char *login) {
        char *k = NULL;

        if (asprintf(&k, "%" PRIi64 "/%s", t->id, login) < 0)
                return NULL;
        for (char *p = k; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
        return k;
}

static json_t *user_json(OAuthContext *ctx, const UserRecord *u) {
        char sub[64];

        if (oauth_subject_cached(ctx, u, sub) < 0)
                return NULL;
        return json_pack("{s:s, s:s, s:s, s:o, s:b, s:s, s:n}",
                         "id", sub,
                         "name", u->name,
                         "real_name", strempty(u->real_name),
                         "email", u->email ? json_string(u->email) : json_null(),
                         "email_verified", u->email_verified,
                         "role", user_role_to_string(u->role),
                         "avatar_url");
}

static json_t *tenant_json(const TenantRecord *t) {
        return json_pack("{s:s, s:s, s:s}", "id", t->slug, "slug", t->slug, "name",
                         t->display_name ? t->display_name : t->slug);
}

static json_t *session_json(const ApiSession *s) {
        return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o}",
                         "id", s->sid,
                         "token", s->access_token,
                         "token_type", "Bearer",
                         "expires_at", http_json_time(s->access_expires_usec),
                         "refresh_token", s->refresh_token,
                         "refresh_expires_at", http_json_time(s->refresh_expires_usec),
                         "session_expires_at", http_json_time(s->session_expires_usec));
}

/* The answer of a completed sign-in (or sign-up: 201), with more fields
 * when extra is given (its reference is taken). */
static void reply_signed_in_with(OidcContext *ctx, unsigned status, const UserRecord *u, const ApiSession *s,
                                 json_t *extra) {
        json_t *user = user_json(&ctx->oauth, u), *j;

        if (!user) {
                json_decref(extra);
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        j = json_pack("{s:s, s:o, s:o, s:o}", "status", "signed_in", "user", user, "tenant",
                      tenant_json(ctx->oauth.tenant), "session", session_json(s));
        if (j && status == MHD_HTTP_CREATED)
                json_object_set(j, "organization", json_object_get(j, "tenant"));
        if (j && extra && json_object_update(j, extra) < 0) {
                json_decref(j);
                j = NULL;
        }
        json_decref(extra);
        if (!j) {
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        http_reply_json(ctx->req, status, j);
        http_reply_no_store(ctx->req);
}

/* A sign-in that did not succeed, told by the core's apparent outcome: the
 * same for a wrong password, a name that is no user and an account that
 * can't be used; "locked" after as many failures, for real and unknown
 * names alike. After the password step (the MFA step), the truth. */
static void reply_failed(OidcContext *ctx, const AuthResult *res, bool second_step) {
        AuthOutcome o = second_step ? res->outcome : res->apparent;
        char msg[256];

        auth_result_message(res, now_realtime_usec(), msg, sizeof(msg));
        switch (o) {
        case AUTH_LOCKED: {
                int64_t left = (res->locked_until_usec - now_realtime_usec()) / (int64_t) USEC_PER_SEC + 1;
                char seconds[32];

                snprintf(seconds, sizeof(seconds), "%" PRIi64, MAX(left, (int64_t) 1));
                http_reply_error(ctx->req, MHD_HTTP_FORBIDDEN, "account_locked", NULL, "%s",
                                 msg[0] ? msg : "The account is locked after too many failed attempts.");
                http_reply_header(ctx->req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
                return;
        }
        case AUTH_ACCOUNT_LOCKED:
                http_reply_error(ctx->req, MHD_HTTP_FORBIDDEN, "account_locked", NULL, "%s",
                                 msg[0] ? msg : "The account is locked.");
                return;
        case AUTH_ACCOUNT_DISABLED:
                http_reply_error(ctx->req, MHD_HTTP_FORBIDDEN, "account_disabled", NULL, "%s",
                                 msg[0] ? msg : "The account is disabled.");
                return;
        case AUTH_ACCOUNT_EXPIRED:
                http_reply_error(ctx->req, MHD_HTTP_FORBIDDEN, "account_expired", NULL, "%s",
                                 msg[0] ? msg : "The account has expired.");
                return;
        default:
                if (second_step)
                        http_reply_error(ctx->req, MHD_HTTP_UNAUTHORIZED, "invalid_code", NULL,
                                         "The code is not right.");
                else
                        http_reply_error(ctx->req, MHD_HTTP_UNAUTHORIZED, "invalid_credentials", NULL,
                                         "The name or password is not right.");
                return;
        }
}

static void reply_signed_in(OidcContext *ctx, unsigned status, const UserRecord *u, const ApiSession *s) {
        reply_signed_in_with(ctx, status, u, s, NULL);
}

void api_auth_reply_signed_in(OidcContext *ctx, unsigned status, const UserRecord *u, const ApiSession *s) {
        reply_signed_in(ctx, status, u, s);
}

void api_auth_reply_failed(OidcContext *ctx, const AuthResult *res) {
        reply_failed(ctx, res, true);
}

/* An API context for a tenant known already (sign-up's new one). */
static int context_for(HttpRequest *req, TenantRecord *t, OidcContext *ret) {
        *ret = (OidcContext) {
                .req = req,
                .caller = http_principal(req, NULL),
                .oauth = {
                        .manager = req->manager,
                        .store = http_store(req),
                        .cache = &req->thread->oauth,
                        .tenant = tenant_record_ref(t),
                        .issuer = http_issuer(req, t->slug),
                        .log_id = req->id,
                },
        };
        if (!ret->oauth.store)
                return -EIO;
        return ret->oauth.issuer ? 0 : -ENOMEM;
}

/* -- POST /api/v1/signup ------------------------------------------------------------ */

typedef struct SignupBody {
        char *email, *password, *name, *organization_name, *organization_slug, *user_name;
} SignupBody;

static const JsonField signup_fields[] = {
        JSON_FIELD_STRING(SignupBody, email, "email", .required = true, .max_len = EMAIL_MAX_LEN),
        JSON_FIELD_STRING(SignupBody, password, "password", .required = true, .secret = true, .max_len = 1024),
        JSON_FIELD_STRING(SignupBody, name, "name", .required = true, .max_len = REAL_NAME_MAX_LEN),
        JSON_FIELD_STRING(SignupBody, organization_name, "organization_name", .required = true,
                          .max_len = DISPLAY_NAME_MAX_LEN),
        JSON_FIELD_STRING(SignupBody, organization_slug, "organization_slug", .max_len = TENANT_SLUG_MAX_LEN),
        JSON_FIELD_STRING(SignupBody, user_name, "user_name", .max_len = NAME_MAX_LEN),
        {}
};
static const JsonSchema signup_schema = { signup_fields, sizeof(SignupBody) };

static void signup_refused(HttpRequest *req, int r, const SignupRefusal *f, const TesseraError *e) {
        json_t *details = f->field ? json_pack("{s:s}", "field", f->field) : NULL;
        const char *message = tessera_error_message(e);

        if (r == -EACCES)
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "signup_closed", details, "%s", message);
        else if (r == -EINVAL)
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT,
                                 f->field && streq(f->field, "password") ? "weak_password" : "invalid", details, "%s",
                                 message);
        else if (r == -EEXIST)
                http_reply_error(req, MHD_HTTP_CONFLICT,
                                 f->field && streq(f->field, "email") ? "email_taken" : "organization_taken", details,
                                 "%s", message);
        else {
                json_decref(details);
                http_reply_errno(req, r, e);
        }
}

void api_handle_signup(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        SignupBody b = {};
        Principal caller = http_principal(req, NULL);
        SignupRefusal f = {};
        TesseraError e = {};
        uint64_t now = now_monotonic_usec();
        Store *s = http_store(req);
        unsigned wait;
        bool first;
        int r;

        if (!s) {
                http_reply_internal_error(req, -EIO);
                return;
        }
        /* Every sign-up takes from the address's bucket, not only the
         * failed ones: each makes a tenant. */
        wait = limiter_check(req->manager->limiter, LIMIT_SIGNUP, req->remote, now, &first);
        if (wait > 0) {
                char seconds[16];

                /* One event per run of refusals, as for the other limits. */
                if (first) {
                        http_log(req, LOG_NOTICE, "Too many sign-ups from %s; refusing for %u s.", req->remote, wait);
                        r = change_audit(s, &caller, "account.signup", NULL, NULL, AUDIT_DENIED,
                                         "{\"error\":\"rate_limited\",\"limit\":\"signup\"}");
                        if (r < 0) {
                                http_reply_internal_error(req, r);
                                return;
                        }
                }
                snprintf(seconds, sizeof(seconds), "%u", wait);
                http_reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                                 json_pack("{s:I}", "retry_after", (json_int_t) wait),
                                 "Too many sign-ups from this address; try again in %u s.", wait);
                http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
                return;
        }
        if (http_json_body(req, &signup_schema, &b) < 0)
                return;
        limiter_fail(req->manager->limiter, LIMIT_SIGNUP, req->remote, now);

        r = signup_run(req->manager, s,
                       &caller,
                       &(SignupSpec) {
                               .email = b.email,
                               .password = b.password,
                               .real_name = b.name,
                               .organization_name = b.organization_name,
                               .organization_slug = b.organization_slug,
                               .user_name = b.user_name,
                               .verify_base_url = req->server->url,
                       },
                       &t, &u, &f, &e);
        json_schema_done(&signup_schema, &b);
        if (r < 0) {
                signup_refused(req, r, &f, &e);
                return;
        }

        r = context_for(req, t, &ctx);
        if (r >= 0)
                r = api_session_start(&ctx.oauth, &ctx.caller, u, "pwd", NULL, &sess);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        reply_signed_in(&ctx, MHD_HTTP_CREATED, u, &sess);
}

/* -- POST /api/v1/tenants/{tenant}/auth/signup: an end user of an open tenant ----------- */

typedef struct SignupMemberBody {
        char *email, *password, *name, *user_name;
} SignupMemberBody;

static const JsonField signup_member_fields[] = {
        JSON_FIELD_STRING(SignupMemberBody, email, "email", .required = true, .max_len = EMAIL_MAX_LEN),
        JSON_FIELD_STRING(SignupMemberBody, password, "password", .required = true, .secret = true,
                          .max_len = 1024),
        JSON_FIELD_STRING(SignupMemberBody, name, "name", .required = true, .max_len = REAL_NAME_MAX_LEN),
        JSON_FIELD_STRING(SignupMemberBody, user_name, "user_name", .max_len = NAME_MAX_LEN),
        {}
};
static const JsonSchema signup_member_schema = { signup_member_fields, sizeof(SignupMemberBody) };

static void signup_member_body_done(SignupMemberBody *b) {
        json_schema_done(&signup_member_schema, b);
}

static void reply_signup_limited(HttpRequest *req, unsigned wait) {
        char seconds[16];

        snprintf(seconds, sizeof(seconds), "%u", wait);
        http_reply_error(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited",
                         json_pack("{s:I}", "retry_after", (json_int_t) wait),
                         "Too many sign-ups from this address; try again in %u s.", wait);
        http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
}

void api_handle_auth_signup(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(signup_member_body_done) SignupMemberBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        SignupRefusal f = {};
        TesseraError e = {};
        unsigned wait = 0;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &signup_member_schema, &b) < 0)
                return;
        /* Every sign-up that gets this far counts, as for new tenants: each
         * makes an account. */
        r = signup_limit_take(req->manager, ctx.oauth.store, &ctx.caller, "account.signup-member", &wait);
        if (r == -ETOOMANYREFS) {
                reply_signup_limited(req, wait);
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }

        r = signup_member_run(req->manager, ctx.oauth.store, &ctx.caller, ctx.oauth.tenant,
                              &(SignupMemberSpec) {
                                      .email = b.email,
                                      .password = b.password,
                                      .real_name = b.name,
                                      .user_name = b.user_name,
                                      .verify_base_url = req->server->url,
                              },
                              &u, &f, &e);
        if (r == -EEXIST && f.field && streq(f.field, "user_name")) {
                http_reply_error(req, MHD_HTTP_CONFLICT, "user_name_taken", json_pack("{s:s}", "field", "user_name"),
                                 "%s", tessera_error_message(&e));
                return;
        }
        if (r < 0) {
                signup_refused(req, r, &f, &e);
                return;
        }
        r = api_session_start(&ctx.oauth, &ctx.caller, u, "pwd", NULL, &sess);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        reply_signed_in(&ctx, MHD_HTTP_CREATED, u, &sess);
}

/* -- POST /api/v1/tenants/{tenant}/auth/signin ---------------------------------------- */

typedef struct SigninBody {
        char *login, *email, *password;
} SigninBody;

static const JsonField signin_fields[] = {
        JSON_FIELD_STRING(SigninBody, login, "login", .max_len = 256),
        JSON_FIELD_STRING(SigninBody, email, "email", .max_len = EMAIL_MAX_LEN),
        JSON_FIELD_STRING(SigninBody, password, "password", .required = true, .secret = true, .max_len = 1024),
        {}
};
static const JsonSchema signin_schema = { signin_fields, sizeof(SigninBody) };

static void signin_body_done(SigninBody *b) {
        json_schema_done(&signin_schema, b);
}

/* A user of this tenant by name or e-mail; NULL (not an error) when there
 * is none, so that the dummy hash runs and the answer takes as long. */
static int find_user(OAuthContext *ctx, const char *login, UserRecord **ret) {
        int r = -ENOENT;

        *ret = NULL;
        if (strchr(login, '@') && valid_email(login))
                r = store_user_get_by_email(ctx->store, ctx->tenant->id, login, ret);
        else if (valid_user_name(login))
                r = store_user_get(ctx->store, ctx->tenant->id, login, ret);
        return r == -ENOENT ? 0 : r;
}

void api_handle_signin(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(signin_body_done) SigninBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *signed_in = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        _cleanup_(erase_and_freep) char *mfa = NULL;
        _cleanup_free_ char *target = NULL, *account = NULL;
        AuthContext actx = { .action = "auth.login", .service = "api", .channel = "http" };
        AuthResult res = {};
        const char *login;
        int64_t mfa_expires;
        Principal actor;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &signin_schema, &b) < 0)
                return;
        if (!!b.login == !!b.email) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, b.login ? "invalid" : "missing_field",
                                 json_pack("{s:s}", "field", "login"),
                                 "Give either login (a name or an e-mail address) or email.");
                return;
        }
        login = b.login ?: b.email;
        if (isempty(login)) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                 json_pack("{s:s}", "field", b.login ? "login" : "email"), "The login is empty.");
                return;
        }
        account = account_key(ctx.oauth.tenant, login);
        if (!account) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (limited(&ctx, account, "auth.login"))
                return;

        r = find_user(&ctx.oauth, login, &u);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        if (asprintf(&target, "%s@%s", u ? u->name : login, ctx.oauth.tenant->slug) < 0) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        actor = http_principal(req, u ? u->name : NULL);
        r = auth_password_step(ctx.oauth.manager, ctx.oauth.store, &actor, &actx, u, target, b.password, &res);
        if (r < 0) {
                /* Fail closed: nothing was decided. */
                http_reply_internal_error(req, r);
                return;
        }

        switch (res.outcome) {
        case AUTH_SUCCESS:
                r = store_user_get_by_id(ctx.oauth.store, res.user_id, &signed_in);
                if (r >= 0)
                        r = api_session_start(&ctx.oauth, &actor, signed_in, "pwd", NULL, &sess);
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                reply_signed_in(&ctx, MHD_HTTP_OK, signed_in, &sess);
                return;
        case AUTH_NEED_SECOND_FACTOR:
                r = api_mfa_token_issue(&ctx.oauth, u, "pwd", &mfa, &mfa_expires);
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                http_reply_json(req, MHD_HTTP_OK,
                                json_pack("{s:s, s:s, s:o, s:[ss]}", "status", "mfa_required", "mfa_token", mfa,
                                          "mfa_expires_at", http_json_time(mfa_expires), "methods", "totp",
                                          "backup_code"));
                http_reply_no_store(req);
                return;
        case AUTH_MFA_ENROLMENT_REQUIRED: {
                _cleanup_free_ char *enrol = NULL;
                char msg[256];

                /* The password was right: the MFA token of this step lets
                 * the user enrol (.../auth/mfa/enrol), and the enrolment's
                 * first code signs them in. */
                r = api_mfa_token_issue(&ctx.oauth, u, "pwd", &mfa, &mfa_expires);
                if (r >= 0 && asprintf(&enrol, "/api/v1/tenants/%s/auth/mfa/enrol", ctx.oauth.tenant->slug) < 0)
                        r = -ENOMEM;
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                auth_result_message(&res, now_realtime_usec(), msg, sizeof(msg));
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "mfa_enrolment_required",
                                 json_pack("{s:s, s:o, s:s}", "mfa_token", mfa, "mfa_expires_at",
                                           http_json_time(mfa_expires), "enrol", enrol),
                                 "%s", msg);
                http_reply_no_store(req);
                return;
        }
        default:
                count_failure(&ctx, account);
                reply_failed(&ctx, &res, false);
                return;
        }
}

/* -- POST /api/v1/tenants/{tenant}/auth/mfa ------------------------------------------- */

typedef struct MfaBody {
        char *mfa_token, *code;
} MfaBody;

static const JsonField mfa_fields[] = {
        JSON_FIELD_STRING(MfaBody, mfa_token, "mfa_token", .required = true, .secret = true, .max_len = 256),
        JSON_FIELD_STRING(MfaBody, code, "code", .required = true, .secret = true, .max_len = 64),
        {}
};
static const JsonSchema mfa_schema = { mfa_fields, sizeof(MfaBody) };

static void mfa_body_done(MfaBody *b) {
        json_schema_done(&mfa_schema, b);
}

void api_handle_mfa(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(mfa_body_done) MfaBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        _cleanup_free_ char *account = NULL;
        AuthContext actx = { .action = "auth.login", .service = "api", .channel = "http" };
        AuthResult res = {};
        Principal actor;
        char first[16] = "pwd", amr[32];
        int64_t user_id;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &mfa_schema, &b) < 0)
                return;
        if (limited(&ctx, NULL, "auth.login"))
                return;

        r = api_mfa_token_user(&ctx.oauth, b.mfa_token, &user_id, first);
        if (r >= 0)
                r = store_user_get_by_id(ctx.oauth.store, user_id, &u);
        if (r == -ENOENT || r == -ETIME) {
                count_failure(&ctx, NULL);
                http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_mfa_token", NULL,
                                 r == -ETIME ? "The MFA token has expired: sign in again."
                                             : "The MFA token is not valid: sign in again.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        account = account_key(ctx.oauth.tenant, u->name);
        if (!account) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (limited(&ctx, account, "auth.login"))
                return;

        actor = http_principal(req, u->name);
        r = auth_second_factor(ctx.oauth.manager, ctx.oauth.store, &actor, &actx, user_id, b.code, &res);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        if (res.outcome != AUTH_SUCCESS) {
                count_failure(&ctx, account);
                reply_failed(&ctx, &res, true);
                return;
        }
        /* The token is spent with the session's start: of two calls with
         * it, one signs in, as the first step and the code did ("pwd otp",
         * "fed otp"). */
        snprintf(amr, sizeof(amr), "%s otp", first);
        r = api_session_start(&ctx.oauth, &actor, u, amr, b.mfa_token, &sess);
        if (r == -ESTALE) {
                http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_mfa_token", NULL,
                                 "The MFA token was used already: sign in again.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        reply_signed_in(&ctx, MHD_HTTP_OK, u, &sess);
}

/* -- POST .../auth/mfa/enrol and .../auth/mfa/enrol/confirm ---------------------------- */

/* The user of an MFA token given after the right password to a user whom
 * the tenant asks a second factor of and who has none: only such a user
 * enrols here (a user with TOTP signs in at .../auth/mfa, and changes it
 * at .../me/totp once signed in). Replies and returns < 0 otherwise. */
static int enrolling_user(OidcContext *ctx, const char *mfa_token, UserRecord **ret, char *ret_first) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int64_t user_id;
        int r;

        r = api_mfa_token_user(&ctx->oauth, mfa_token, &user_id, ret_first);
        if (r >= 0)
                r = store_user_get_by_id(ctx->oauth.store, user_id, &u);
        if (r == -ENOENT || r == -ETIME) {
                count_failure(ctx, NULL);
                http_reply_error(ctx->req, MHD_HTTP_UNAUTHORIZED, "invalid_mfa_token", NULL,
                                 r == -ETIME ? "The MFA token has expired: sign in again."
                                             : "The MFA token is not valid: sign in again.");
                return -EACCES;
        }
        if (r >= 0)
                r = auth_user_has_totp(ctx->oauth.store, u->id);
        if (r > 0) {
                http_reply_error(ctx->req, MHD_HTTP_CONFLICT, "mfa_already_enrolled", NULL,
                                 "The account has a second factor already: sign in with a code at .../auth/mfa.");
                return -EEXIST;
        }
        if (r >= 0)
                r = auth_mfa_required_for(ctx->oauth.manager, ctx->oauth.store, u);
        if (r == 0) {
                http_reply_error(ctx->req, MHD_HTTP_CONFLICT, "mfa_not_required", NULL,
                                 "This tenant does not require a second factor of this account: sign in, then "
                                 "enrol at .../me/totp.");
                return -EEXIST;
        }
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return r;
        }
        *ret = TAKE_PTR(u);
        return 0;
}

typedef struct EnrolBody {
        char *mfa_token, *code;
} EnrolBody;

static const JsonField enrol_fields[] = {
        JSON_FIELD_STRING(EnrolBody, mfa_token, "mfa_token", .required = true, .secret = true, .max_len = 256),
        {}
};
static const JsonSchema enrol_schema = { enrol_fields, sizeof(EnrolBody) };

static void enrol_body_done(EnrolBody *b) {
        json_schema_done(&enrol_schema, b);
}

void api_handle_mfa_enrol(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(enrol_body_done) EnrolBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(erase_and_freep) char *secret = NULL, *uri = NULL;
        _cleanup_free_ char *svg = NULL;
        TesseraError e = {};
        Principal self;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &enrol_schema, &b) < 0)
                return;
        if (limited(&ctx, NULL, "totp.begin"))
                return;
        if (enrolling_user(&ctx, b.mfa_token, &u, NULL) < 0)
                return;

        /* The token proves the password step of this user: they act as
         * themself, as at .../me/totp. */
        self = principal_user("http", u, req->remote);
        r = auth_totp_begin(ctx.oauth.manager, ctx.oauth.store, &self, u, &secret, &uri, &e);
        if (r >= 0)
                r = http_qr_svg(uri, &svg);
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        http_reply_json(req, MHD_HTTP_CREATED, json_pack("{s:s, s:s, s:s}", "secret", secret, "otpauth_uri", uri,
                                                         "qr_svg", svg));
        http_reply_no_store(req);
}

static const JsonField enrol_confirm_fields[] = {
        JSON_FIELD_STRING(EnrolBody, mfa_token, "mfa_token", .required = true, .secret = true, .max_len = 256),
        JSON_FIELD_STRING(EnrolBody, code, "code", .required = true, .secret = true, .max_len = 64),
        {}
};
static const JsonSchema enrol_confirm_schema = { enrol_confirm_fields, sizeof(EnrolBody) };

static void enrol_confirm_body_done(EnrolBody *b) {
        json_schema_done(&enrol_confirm_schema, b);
}

void api_handle_mfa_enrol_confirm(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(enrol_confirm_body_done) EnrolBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        _cleanup_(strv_free_erasep) char **codes = NULL;
        _cleanup_free_ char *account = NULL;
        TesseraError e = {};
        Principal self;
        char first[16] = "pwd", amr[32];
        json_t *user, *j, *a;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &enrol_confirm_schema, &b) < 0)
                return;
        if (limited(&ctx, NULL, "totp.confirm"))
                return;
        if (enrolling_user(&ctx, b.mfa_token, &u, first) < 0)
                return;
        account = account_key(ctx.oauth.tenant, u->name);
        if (!account) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        if (limited(&ctx, account, "totp.confirm"))
                return;

        self = principal_user("http", u, req->remote);
        r = auth_totp_confirm(ctx.oauth.manager, ctx.oauth.store, &self, u, b.code, &codes, &e);
        if (r == -EKEYREJECTED) {
                count_failure(&ctx, account);
                http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_code", NULL, "%s",
                                 e.message[0] ? e.message : "The code is not right.");
                return;
        }
        if (r < 0) {
                http_reply_errno(req, r, &e);
                return;
        }
        /* The password and now the first code: signed in, the token spent. */
        snprintf(amr, sizeof(amr), "%s otp", first);
        r = api_session_start(&ctx.oauth, &self, u, amr, b.mfa_token, &sess);
        if (r == -ESTALE) {
                http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_mfa_token", NULL,
                                 "The MFA token was used already: sign in again, with a code.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        user = user_json(&ctx.oauth, u);
        a = json_array();
        STRV_FOREACH(c, codes)
                json_array_append_new(a, json_string(*c));
        j = json_pack("{s:s, s:o, s:o, s:o, s:o}", "status", "signed_in", "user", user, "tenant",
                      tenant_json(ctx.oauth.tenant), "session", session_json(&sess), "backup_codes", a);
        if (!user || !a || !j) {
                json_decref(j);
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, j);
        http_reply_no_store(req);
}

/* -- POST /api/v1/tenants/{tenant}/auth/accept-invitation ----------------------------- */

typedef struct AcceptBody {
        char *token, *name, *password, *real_name;
} AcceptBody;

static const JsonField accept_fields[] = {
        JSON_FIELD_STRING(AcceptBody, token, "token", .required = true, .secret = true, .max_len = 256),
        JSON_FIELD_STRING(AcceptBody, name, "name", .max_len = 256),
        JSON_FIELD_STRING(AcceptBody, password, "password", .secret = true, .max_len = 1024),
        JSON_FIELD_STRING(AcceptBody, real_name, "real_name", .max_len = REAL_NAME_MAX_LEN),
        {}
};
static const JsonSchema accept_schema = { accept_fields, sizeof(AcceptBody) };

static void accept_body_done(AcceptBody *b) {
        json_schema_done(&accept_schema, b);
}

/* The core's refusals of an accept (invitation.h), each with its code. */
static void accept_refused(HttpRequest *req, int r, const char *field, const TesseraError *e) {
        const char *message = tessera_error_message(e);
        json_t *details = field ? json_pack("{s:s}", "field", field) : NULL;

        switch (r) {
        case -EKEYREJECTED:
                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_invitation", details, "%s", message);
                return;
        case -EALREADY:
                http_reply_error(req, MHD_HTTP_CONFLICT, "invitation_used", details, "%s", message);
                return;
        case -ETIME:
                http_reply_error(req, MHD_HTTP_GONE, "invitation_expired", details, "%s", message);
                return;
        case -EXDEV:
                http_reply_error(req, MHD_HTTP_CONFLICT, "other_tenant_account", details, "%s", message);
                return;
        case -EINVAL:
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT,
                                 field && streq(field, "password") ? "weak_password" : "invalid", details, "%s",
                                 message);
                return;
        case -EEXIST:
                http_reply_error(req, MHD_HTTP_CONFLICT,
                                 !field ? "already_member" : streq(field, "email") ? "email_taken" : "name_taken",
                                 details, "%s", message);
                return;
        default:
                json_decref(details);
                http_reply_errno(req, r, e);
        }
}

void api_handle_accept_invitation(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(accept_body_done) AcceptBody b = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        _cleanup_(erase_and_freep) char *mfa = NULL;
        _cleanup_free_ char *link = NULL;
        const char *field = NULL;
        const Principal *p;
        TesseraError e = {};
        int64_t mfa_expires;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &accept_schema, &b) < 0)
                return;
        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        /* Somebody signed in: nothing is linked (a user is of one tenant),
         * and the answer says why. */
        if (p->kind != PRINCIPAL_ANONYMOUS) {
                r = invitation_accept_signed_in(req->manager, ctx.oauth.store, p, ctx.oauth.tenant, b.token, &e);
                accept_refused(req, r, NULL, &e);
                return;
        }
        if (!b.name || !b.password) {
                http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "missing_field",
                                 json_pack("{s:s}", "field", b.name ? "password" : "name"),
                                 "Give the name and the password of the new account.");
                return;
        }
        r = invitation_accept(req->manager, ctx.oauth.store, &ctx.caller, ctx.oauth.tenant,
                              &(InvitationAcceptSpec) { .token = b.token, .name = b.name, .password = b.password,
                                                        .real_name = b.real_name },
                              &u, &field, &e);
        if (r < 0) {
                accept_refused(req, r, field, &e);
                return;
        }

        /* The password proved nothing the tenant asks a second factor
         * for: the account exists, and enrolling signs in. */
        r = auth_mfa_required_for(req->manager, ctx.oauth.store, u);
        if (r > 0) {
                json_t *user = user_json(&ctx.oauth, u);

                r = api_mfa_token_issue(&ctx.oauth, u, "pwd", &mfa, &mfa_expires);
                if (r >= 0 && asprintf(&link, "/api/v1/tenants/%s/auth/mfa/enrol", ctx.oauth.tenant->slug) < 0)
                        r = -ENOMEM;
                if (r < 0 || !user) {
                        json_decref(user);
                        http_reply_internal_error(req, r < 0 ? r : -ENOMEM);
                        return;
                }
                http_reply_json(req, MHD_HTTP_CREATED,
                                json_pack("{s:s, s:o, s:o, s:s, s:o, s:s}", "status", "mfa_enrolment_required", "user",
                                          user, "tenant", tenant_json(ctx.oauth.tenant), "mfa_token", mfa,
                                          "mfa_expires_at", http_json_time(mfa_expires), "enrol", link));
                http_reply_no_store(req);
                return;
        }
        if (r >= 0)
                r = api_session_start(&ctx.oauth, &ctx.caller, u, "pwd", NULL, &sess);
        if (r >= 0 && asprintf(&link, "/api/v1/tenants/%s/me/totp", ctx.oauth.tenant->slug) < 0)
                r = -ENOMEM;
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        /* Signed in as after a sign-up, and offered a second factor. */
        reply_signed_in_with(&ctx, MHD_HTTP_CREATED, u, &sess, json_pack("{s:s}", "totp_enrolment", link));
}

/* -- POST /api/v1/tenants/{tenant}/auth/refresh --------------------------------------- */

typedef struct RefreshBody {
        char *refresh_token;
} RefreshBody;

static const JsonField refresh_fields[] = {
        /* Long enough for anything a client may confuse with a refresh
         * token (an access token): that is refused as no refresh token. */
        JSON_FIELD_STRING(RefreshBody, refresh_token, "refresh_token", .required = true, .secret = true,
                          .max_len = 8192),
        {}
};
static const JsonSchema refresh_schema = { refresh_fields, sizeof(RefreshBody) };

static void refresh_body_done(RefreshBody *b) {
        json_schema_done(&refresh_schema, b);
}

static void reply_refresh_refused(HttpRequest *req, const OAuthError *e) {
        const char *code = streq(e->error, "invalid_request") ? "invalid_request" : "invalid_grant";

        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, code, NULL, "%s", e->description);
}

static void refresh_done(HttpRequest *req, int result, void *userdata) {
        _cleanup_(oauth_commit_freep) OAuthCommit *c = userdata;
        Principal caller = http_principal(req, NULL);
        OAuthError e = {};
        char *response = NULL;
        int r;

        r = oauth_commit_finish(c, result, &response, &e);
        if (r < 0) {
                if (!e.error) {
                        http_reply_internal_error(req, r);
                        return;
                }
                /* A reuse: the family and its session are revoked now. */
                oauth_limit_failed(req->manager, &caller, NULL);
                reply_refresh_refused(req, &e);
                return;
        }
        http_reply_json_text(req, MHD_HTTP_OK, response);
        http_reply_no_store(req);
}

void api_handle_refresh(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(refresh_body_done) RefreshBody b = {};
        OAuthCommit *commit = NULL;
        OAuthError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_json_body(req, &refresh_schema, &b) < 0)
                return;
        if (limited(&ctx, NULL, "oauth.refresh"))
                return;

        r = api_session_refresh(&ctx.oauth, &ctx.caller, b.refresh_token, &commit, &e);
        if (r < 0) {
                if (!e.error) {
                        http_reply_internal_error(req, r);
                        return;
                }
                count_failure(&ctx, NULL);
                reply_refresh_refused(req, &e);
                oidc_commit_reply(&ctx);
                return;
        }
        r = http_write_async(req, oauth_commit_write, refresh_done, commit);
        if (r < 0) {
                oauth_commit_free(commit);
                http_reply_internal_error(req, r);
        }
}

/* -- the current session: POST .../auth/signout, GET .../auth/session ----------------- */

/* The route's policy let through a user of this tenant only, by an access
 * token with a session (auth.session). */
static int current(HttpRequest *req, OidcContext *ctx, const HttpAuth **ret) {
        const Principal *p;
        int r;

        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return r;
        }
        if (!req->auth->user || !json_is_string(json_object_get(req->auth->claims, "sid"))) {
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", NULL, "This token has no session.");
                return -EACCES;
        }
        r = oidc_context_init(req, ctx);
        if (r < 0)
                return r;
        *ret = req->auth;
        return 0;
}

void api_handle_signout(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        const HttpAuth *a;
        int r;

        if (current(req, &ctx, &a) < 0)
                return;
        r = api_session_end(&ctx.oauth, &a->principal, a->claims);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_text(req, MHD_HTTP_NO_CONTENT, "text/plain", strdup(""), 0);
        http_reply_no_store(req);
}

void api_handle_session(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        const HttpAuth *a;
        SsoSession sess;
        json_t *user, *claims;
        int r;

        if (current(req, &ctx, &a) < 0)
                return;
        claims = a->claims;
        r = store_sso_session_get_by_sid(ctx.oauth.store, ctx.oauth.tenant->id,
                                         json_string_value(json_object_get(claims, "sid")), &sess);
        if (r == -ENOENT) {
                /* Gone since the token was checked (its user deleted). */
                http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_token", NULL, "The session has ended.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        user = user_json(&ctx.oauth, a->user);
        if (!user) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK,
                        json_pack("{s:o, s:o, s:s, s:s, s:{s:s, s:s, s:o, s:o, s:o}}",
                                  "user", user,
                                  "tenant", tenant_json(ctx.oauth.tenant),
                                  "organization_id", ctx.oauth.tenant->slug,
                                  "role", user_role_to_string(a->user->role),
                                  "session",
                                  "id", sess.sid,
                                  "amr", sess.amr,
                                  "auth_time", http_json_time(sess.auth_time_usec),
                                  "expires_at", http_json_time(sess.expires_usec),
                                  "token_expires_at",
                                  http_json_time((int64_t) json_integer_value(json_object_get(claims, "exp")) *
                                                 (int64_t) USEC_PER_SEC)));
        http_reply_no_store(req);
}
