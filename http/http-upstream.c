/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* "Continue with Google" on the hosted sign-in pages:
 *
 *   POST /t/{tenant}/upstream/{provider}/start   the button: out to the provider
 *   GET  /t/{tenant}/upstream/callback           back (one URL per tenant;
 *                                                the provider is the flow's)
 *   POST /t/{tenant}/upstream/link               the proof of an account whose
 *                                                address came back, then the link
 *
 * The flow is bound to the browser by the binding cookie the sign-in page
 * set (http-browser.h), carries the authorization request of tessera's
 * client that waits, and ends like a password sign-in: the TOTP step when
 * the account has TOTP, an SSO session with amr "fed", then consent or
 * the code (authz_continue). */

#include <stdlib.h>

#include "auth.h"
#include "http-browser.h"
#include "http-upstream.h"
#include "names.h"
#include "time-util.h"
#include "user.h"

#define PASSWORD_MAX_LEN 1024

static void failure_page(OidcContext *ctx, const UpstreamFailure *f) {
        authz_error_page(ctx, f->status, f->title, tessera_error_message(&f->error));
}

void upstream_handle_start(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *provider = NULL;
        _cleanup_free_ char *binding = NULL, *callback = NULL, *url = NULL;
        UpstreamFailure f = {};
        bool fresh = false;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, NULL, &p) < 0)
                return;
        /* The button's form came from our sign-in page in this browser:
         * nobody else starts a sign-in that ends in this browser. */
        if (!browser_csrf_ok(req, "upstream", http_params_get(&p, "csrf"))) {
                authz_error_page(&ctx, MHD_HTTP_FORBIDDEN, "Please try again",
                                 "This form has expired or did not come from this site. Go back to the application "
                                 "and sign in again.");
                return;
        }
        /* The request that waits is checked now, not after the round trip. */
        if (authz_parse_form(&ctx, http_params_get(&p, "request"), &a, &app) < 0)
                return;
        r = upstream_provider_get(ctx.oauth.manager, ctx.oauth.store, ctx.oauth.tenant, http_capture(req, "provider"),
                                  &provider);
        if (r == -ENOENT) {
                authz_error_page(&ctx, MHD_HTTP_NOT_FOUND, "No such provider",
                                 "This organization has no such sign-in provider (any more).");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }

        r = browser_binding(req, &binding, &fresh);
        if (r >= 0) {
                callback = http_upstream_callback_url(&ctx);
                if (!callback)
                        r = -ENOMEM;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        r = http_upstream_begin(&ctx, provider, binding, a.raw, callback, &url, &f);
        if (r < 0) {
                failure_page(&ctx, &f);
                return;
        }
        http_reply_redirect(req, url);
        if (fresh)
                browser_send_binding(req, ctx.oauth.tenant->slug, binding);
}

/* Where the account's decision leads: signed in, the code to come, or the
 * sign-in page with what stands in the way. amr_first: how the account
 * was reached ("fed", "fed pwd"). */
static void after_decision(OidcContext *ctx, const AuthzRequest *a, const ApplicationRecord *app,
                           const AuthResult *res, const char *amr_first) {
        _cleanup_free_ char *pending = NULL;
        char msg[256];
        int r;

        switch (res->outcome) {
        case AUTH_SUCCESS:
                authz_signed_in(ctx, a, app, res->user_id, amr_first);
                return;
        case AUTH_NEED_SECOND_FACTOR:
                r = browser_pending_make(ctx->req, res->user_id, true, &pending);
                if (r < 0) {
                        http_reply_internal_error(ctx->req, r);
                        return;
                }
                authz_show_totp(ctx, a, MHD_HTTP_OK, NULL, pending);
                return;
        default:
                /* Known to be the account's holder: the upstream sign-in
                 * (or the proof) said so, so the account's state is told. */
                auth_result_holder_message(res, now_realtime_usec(), msg, sizeof(msg));
                authz_show_login(ctx, a, app, MHD_HTTP_FORBIDDEN, msg[0] ? msg : "This account can't sign in now.",
                                 NULL);
                return;
        }
}

void upstream_handle_callback(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(upstream_flow_done) UpstreamFlow flow = {}, link = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *provider = NULL;
        _cleanup_(upstream_identity_done) UpstreamIdentity id = {};
        _cleanup_(user_record_unrefp) UserRecord *holder = NULL;
        const char *binding;
        UpstreamFailure f = {};
        UpstreamRefusal refusal = {};
        UpstreamSignin res = {};
        TesseraError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        r = http_query_params(req, &p);
        if (r < 0) {
                authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "This sign-in can't go on",
                                 "The provider's answer is malformed.");
                return;
        }
        /* No cookie: not the browser that started (or one that lost it);
         * the flow's check refuses it like any other browser. */
        binding = http_cookie(req, BINDING_COOKIE) ?: "-";
        r = http_upstream_finish(&ctx, &p, binding, &flow, &provider, &id, &f);
        if (r < 0) {
                failure_page(&ctx, &f);
                return;
        }
        if (authz_parse_form(&ctx, flow.request, &a, &app) < 0)
                return;

        r = upstream_signin_resolve(ctx.oauth.manager, ctx.oauth.store, &ctx.caller, ctx.oauth.tenant, provider, &id,
                                    &res, &refusal, &e);
        if (r < 0) {
                http_upstream_refusal(r, &refusal, &e, &f);
                if (f.status == MHD_HTTP_INTERNAL_SERVER_ERROR)
                        http_reply_internal_error(req, r);
                else
                        authz_show_login(&ctx, &a, app, f.status, tessera_error_message(&f.error), NULL);
                return;
        }
        if (res.step == UPSTREAM_SIGNIN_DECIDED) {
                after_decision(&ctx, &a, app, &res.result, "fed");
                return;
        }

        /* An account holds the address: its holder proves it first. The
         * identity waits on the server, under a ticket of this browser. */
        link = (UpstreamFlow) {
                .kind = UPSTREAM_FLOW_LINK,
                .tenant_id = ctx.oauth.tenant->id,
                .provider_id = provider->id,
                .user_id = res.user_id,
                .identity = id,
                .request = TAKE_PTR(flow.request),
        };
        id = (UpstreamIdentity) {};
        snprintf(link.provider, sizeof(link.provider), "%s", provider->name);
        snprintf(link.binding, sizeof(link.binding), "%s", binding);
        r = upstream_flow_put(ctx.oauth.store, UPSTREAM_FLOW_MAX, &link, now_realtime_usec());
        if (r >= 0)
                r = store_user_get_by_id(ctx.oauth.store, res.user_id, &holder);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        authz_show_upstream_link(&ctx, &a, MHD_HTTP_OK, NULL, link.key, holder->email,
                                 provider->display_name ?: provider->name);
}

void upstream_handle_link(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(authz_request_done) AuthzRequest a = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(upstream_flow_done) UpstreamFlow link = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *provider = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *target = NULL;
        AuthContext actx = { .action = "auth.link-proof", .service = "web", .channel = "oidc" };
        const char *password, *code, *binding = http_cookie(req, BINDING_COOKIE);
        AuthResult res = {};
        TesseraError e = {};
        OAuthLimit limit;
        Principal actor;
        char msg[256];
        bool with_code = false;
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (http_body_params(req, NULL, &p) < 0)
                return;
        if (!browser_csrf_ok(req, "upstream-link", http_params_get(&p, "csrf"))) {
                authz_error_page(&ctx, MHD_HTTP_FORBIDDEN, "Please try again",
                                 "This form has expired or did not come from this site.");
                return;
        }
        r = upstream_flow_take(ctx.oauth.store, UPSTREAM_FLOW_LINK, http_params_get(&p, "ticket"),
                               ctx.oauth.tenant->id, binding, now_realtime_usec(), &link);
        if (r < 0) {
                upstream_signin_audit_failure(ctx.oauth.store, &ctx.caller, ctx.oauth.tenant, NULL, r,
                                              "invalid_state", "link proof without a waiting link");
                authz_error_page(&ctx, MHD_HTTP_BAD_REQUEST, "This sign-in can't go on",
                                 r == -ETIME ? "That took too long: start the sign-in again."
                                             : "This link was made, refused or dropped already: start the sign-in "
                                               "again.");
                return;
        }
        if (authz_parse_form(&ctx, link.request, &a, &app) < 0)
                return;
        r = upstream_provider_get(ctx.oauth.manager, ctx.oauth.store, ctx.oauth.tenant, link.provider, &provider);
        if (r < 0 || provider->id != link.provider_id) {
                authz_error_page(&ctx, MHD_HTTP_NOT_FOUND, "This sign-in can't go on",
                                 "The provider was removed or turned off meanwhile.");
                return;
        }
        r = store_user_get_by_id(ctx.oauth.store, link.user_id, &u);
        if (r < 0 || u->tenant_id != ctx.oauth.tenant->id) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_UNAUTHORIZED, "The account is gone; sign in again.", NULL);
                return;
        }

        password = http_params_get(&p, "password");
        code = http_params_get(&p, "code");
        /* Per address, before a hash is computed, as the password form. */
        if (oauth_limited(ctx.oauth.manager, &ctx.caller, NULL, &limit)) {
                authz_show_login(&ctx, &a, app, MHD_HTTP_TOO_MANY_REQUESTS,
                                 "Too many failed sign-ins from this address. Please wait a while.", NULL);
                oidc_limit_reply(&ctx, &limit, "auth.link-proof", NULL);
                return;
        }
        if (isempty(password) || strlen(password) > PASSWORD_MAX_LEN || (code && strlen(code) > 64)) {
                r = -EINVAL;
                snprintf(msg, sizeof(msg), "Enter the account's password.");
        } else {
                target = user_qualified_name(u);
                actor = http_principal(req, u->name);
                r = target ? auth_password_step(ctx.oauth.manager, ctx.oauth.store, &actor, &actx, u, target,
                                                 password, &res)
                           : -ENOMEM;
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                if (res.outcome == AUTH_NEED_SECOND_FACTOR && !isempty(code)) {
                        with_code = true;
                        r = auth_second_factor(ctx.oauth.manager, ctx.oauth.store, &actor, &actx, u->id, code, &res);
                        if (r < 0) {
                                http_reply_internal_error(req, r);
                                return;
                        }
                }
                r = 0;
                if (res.outcome == AUTH_NEED_SECOND_FACTOR) {
                        r = -EAGAIN;
                        snprintf(msg, sizeof(msg), "The account has two-step verification: enter the code too.");
                } else if (res.outcome == AUTH_FAILED || res.outcome == AUTH_USER_UNKNOWN) {
                        r = -EKEYREJECTED;
                        oauth_limit_failed(ctx.oauth.manager, &ctx.caller, NULL);
                        auth_result_message(&res, now_realtime_usec(), msg, sizeof(msg));
                        if (!msg[0])
                                snprintf(msg, sizeof(msg), with_code ? "The password or the code is not right."
                                                                     : "The password is not right.");
                }
        }
        if (r < 0) {
                /* Another try, under a new ticket: the old one is spent. */
                link.kind = UPSTREAM_FLOW_LINK;
                r = upstream_flow_put(ctx.oauth.store, UPSTREAM_FLOW_MAX, &link, now_realtime_usec());
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                authz_show_upstream_link(&ctx, &a, MHD_HTTP_UNAUTHORIZED, msg, link.key, u->email,
                                         provider->display_name ?: provider->name);
                return;
        }
        if (res.outcome != AUTH_SUCCESS) {
                after_decision(&ctx, &a, app, &res, NULL);
                return;
        }

        r = upstream_signin_link_proven(ctx.oauth.manager, ctx.oauth.store, &ctx.caller, ctx.oauth.tenant, provider,
                                        &link.identity, u->id, &e);
        if (r < 0) {
                authz_show_login(&ctx, &a, app, r == -EEXIST ? MHD_HTTP_CONFLICT : MHD_HTTP_INTERNAL_SERVER_ERROR,
                                 tessera_error_message(&e), NULL);
                return;
        }
        after_decision(&ctx, &a, app, &res, with_code ? "fed pwd otp" : "fed pwd");
}
