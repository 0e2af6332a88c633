/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A federated sign-in through the JSON API, for applications without the
 * hosted pages:
 *
 *   GET|POST /api/v1/tenants/{tenant}/auth/oauth/{provider}
 *       {"url","state","expires_at"}, or a 302 to the provider with
 *       ?redirect=1. The provider sends the browser back to redirect_uri:
 *       the tenant's callback URL by default, or a redirect URI of one of
 *       the tenant's applications (exactly), which the application's page
 *       reads code and state from.
 *   GET|POST /api/v1/tenants/{tenant}/auth/oauth/callback
 *       code and state (the query, or a JSON body): the session of a
 *       sign-in, as .../auth/signin answers it (or mfa_required with an
 *       MFA token for .../auth/mfa).
 *
 * A flow started here is finished only here, and one of the hosted pages
 * only there (the state's binding). Refusals are in the envelope, with the
 * codes of http-upstream-common.c and the core's (upstream-signin.h), and
 * audited. */

#include <stdlib.h>

#include "api-session.h"
#include "http-api-auth.h"
#include "http-upstream.h"
#include "time-util.h"

static void reply_failure(HttpRequest *req, const UpstreamFailure *f) {
        if (f->status >= 500 && f->status != MHD_HTTP_BAD_GATEWAY && f->status != MHD_HTTP_GATEWAY_TIMEOUT) {
                http_reply_internal_error(req, f->error.code);
                return;
        }
        http_reply_error(req, f->status, f->code, NULL, "%s", tessera_error_message(&f->error));
}

/* The request's parameters: the query for GET, a flat JSON object of
 * strings for POST (no body: none). */
typedef struct ApiUpstreamBody {
        char *code, *state, *error, *error_description, *redirect_uri, *redirect;
} ApiUpstreamBody;

static const JsonField start_fields[] = {
        JSON_FIELD_STRING(ApiUpstreamBody, redirect_uri, "redirect_uri", .max_len = 2048),
        {}
};
static const JsonSchema start_schema = { start_fields, sizeof(ApiUpstreamBody) };

static const JsonField callback_fields[] = {
        JSON_FIELD_STRING(ApiUpstreamBody, code, "code", .max_len = 2048),
        JSON_FIELD_STRING(ApiUpstreamBody, state, "state", .required = true, .max_len = 256),
        JSON_FIELD_STRING(ApiUpstreamBody, error, "error", .max_len = 256),
        JSON_FIELD_STRING(ApiUpstreamBody, error_description, "error_description", .max_len = 1024),
        {}
};
static const JsonSchema callback_schema = { callback_fields, sizeof(ApiUpstreamBody) };

static int params_put(HttpParams *p, const char *key, const char *value) {
        if (!value)
                return 0;
        if (p->n >= HTTP_MAX_PARAMS)
                return -E2BIG;
        p->items[p->n] = (HttpParam) { .key = strdup(key), .value = strdup(value) };
        if (!p->items[p->n].key || !p->items[p->n].value) {
                free(p->items[p->n].key);
                free(p->items[p->n].value);
                return -ENOMEM;
        }
        p->n++;
        return 0;
}

/* Replies and returns < 0 on bad input. */
static int read_params(HttpRequest *req, const JsonSchema *schema, HttpParams *ret) {
        ApiUpstreamBody b = {};
        int r;

        if (streq(req->method, "GET") || req->body_size == 0) {
                r = http_query_params(req, ret);
                if (r < 0)
                        http_reply_error(req, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
                                         "The query is malformed (a parameter twice, too long, or not UTF-8).");
                return r;
        }
        if (http_json_body(req, schema, &b) < 0)
                return -EINVAL;
        r = params_put(ret, "code", b.code);
        if (r >= 0)
                r = params_put(ret, "state", b.state);
        if (r >= 0)
                r = params_put(ret, "error", b.error);
        if (r >= 0)
                r = params_put(ret, "error_description", b.error_description);
        if (r >= 0)
                r = params_put(ret, "redirect_uri", b.redirect_uri);
        json_schema_done(schema, &b);
        if (r < 0)
                http_reply_internal_error(req, r);
        return r;
}

/* A redirect_uri an application of the tenant registered: an address the
 * tenant's administrators vouch for, so that no stranger's page receives
 * a code. */
static int tenant_redirect_uri(OidcContext *ctx, const char *uri) {
        ApplicationRecord **apps = NULL;
        size_t n = 0;
        bool found = false;
        int r;

        r = store_application_list(ctx->oauth.store, ctx->oauth.tenant->id, &apps, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                for (char **u = apps[i]->redirect_uris; !found && u && *u; u++)
                        found = streq(*u, uri);
                application_record_unref(apps[i]);
        }
        free(apps);
        return found;
}

void api_handle_upstream_start(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *provider = NULL;
        _cleanup_free_ char *callback = NULL, *url = NULL;
        const char *redirect_uri, *redirect;
        UpstreamFailure f = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (read_params(req, &start_schema, &p) < 0)
                return;
        r = upstream_provider_get(ctx.oauth.manager, ctx.oauth.store, ctx.oauth.tenant, http_capture(req, "provider"),
                                  &provider);
        if (r == -ENOENT) {
                http_reply_error(req, MHD_HTTP_NOT_FOUND, "provider_not_found", NULL,
                                 "The tenant has no enabled provider of that name.");
                return;
        }
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }

        redirect_uri = http_params_get(&p, "redirect_uri");
        if (redirect_uri) {
                r = tenant_redirect_uri(&ctx, redirect_uri);
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                if (r == 0) {
                        http_reply_error(req, MHD_HTTP_UNPROCESSABLE_CONTENT, "invalid",
                                         json_pack("{s:s}", "field", "redirect_uri"),
                                         "redirect_uri must be a redirect URI of one of the tenant's applications.");
                        return;
                }
        } else {
                callback = http_upstream_callback_url(&ctx);
                if (!callback) {
                        http_reply_internal_error(req, -ENOMEM);
                        return;
                }
                redirect_uri = callback;
        }

        r = http_upstream_begin(&ctx, provider, NULL, NULL, redirect_uri, &url, &f);
        if (r < 0) {
                reply_failure(req, &f);
                return;
        }
        redirect = http_params_get(&p, "redirect");
        if (redirect && (streq(redirect, "1") || streq(redirect, "true"))) {
                http_reply_redirect(req, url);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK,
                        json_pack("{s:s, s:s, s:o}", "url", url, "redirect_uri", redirect_uri, "expires_at",
                                  http_json_time(now_realtime_usec() + UPSTREAM_FLOW_LIFETIME_USEC)));
        http_reply_no_store(req);
}

static void reply_mfa(OidcContext *ctx, const UserRecord *u, bool enrol) {
        _cleanup_(erase_and_freep) char *mfa = NULL;
        _cleanup_free_ char *enrol_url = NULL;
        int64_t expires;
        int r;

        r = api_mfa_token_issue(&ctx->oauth, u, "fed", &mfa, &expires);
        if (r >= 0 && enrol &&
            asprintf(&enrol_url, "/api/v1/tenants/%s/auth/mfa/enrol", ctx->oauth.tenant->slug) < 0)
                r = -ENOMEM;
        if (r < 0) {
                http_reply_internal_error(ctx->req, r);
                return;
        }
        if (enrol)
                http_reply_error(ctx->req, MHD_HTTP_FORBIDDEN, "mfa_enrolment_required",
                                 json_pack("{s:s, s:o, s:s}", "mfa_token", mfa, "mfa_expires_at",
                                           http_json_time(expires), "enrol", enrol_url),
                                 "This organization requires two-step verification, and the account has none yet: "
                                 "set up an authenticator app (TOTP) first.");
        else
                http_reply_json(ctx->req, MHD_HTTP_OK,
                                json_pack("{s:s, s:s, s:o, s:[ss]}", "status", "mfa_required", "mfa_token", mfa,
                                          "mfa_expires_at", http_json_time(expires), "methods", "totp",
                                          "backup_code"));
        http_reply_no_store(ctx->req);
}

void api_handle_upstream_callback(HttpRequest *req) {
        _cleanup_(oidc_context_done) OidcContext ctx = {};
        _cleanup_(http_params_done) HttpParams p = {};
        _cleanup_(upstream_flow_done) UpstreamFlow flow = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *provider = NULL;
        _cleanup_(upstream_identity_done) UpstreamIdentity id = {};
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(api_session_done) ApiSession sess = {};
        UpstreamFailure f = {};
        UpstreamRefusal refusal = {};
        UpstreamSignin res = {};
        TesseraError e = {};
        int r;

        if (oidc_context_init(req, &ctx) < 0)
                return;
        if (read_params(req, &callback_schema, &p) < 0)
                return;
        r = http_upstream_finish(&ctx, &p, NULL, &flow, &provider, &id, &f);
        if (r < 0) {
                reply_failure(req, &f);
                return;
        }
        r = upstream_signin_resolve(ctx.oauth.manager, ctx.oauth.store, &ctx.caller, ctx.oauth.tenant, provider, &id,
                                    &res, &refusal, &e);
        if (r < 0) {
                http_upstream_refusal(r, &refusal, &e, &f);
                reply_failure(req, &f);
                return;
        }
        if (res.step == UPSTREAM_SIGNIN_PROVE) {
                /* No link without the account's proof, which this door
                 * can't take: the holder signs in with the password and
                 * links from there, or uses the hosted pages. */
                http_reply_error(req, MHD_HTTP_CONFLICT, "link_proof_required", NULL,
                                 "An account here has this address: sign in with its password instead, or sign in "
                                 "with %s on the hosted sign-in page, where proving the account links it.",
                                 provider->display_name ?: provider->name);
                return;
        }

        r = store_user_get_by_id(ctx.oauth.store, res.user_id, &u);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return;
        }
        switch (res.result.outcome) {
        case AUTH_SUCCESS: {
                /* The session's event names who signed in, as .../signin's does. */
                Principal actor = http_principal(req, u->name);

                r = api_session_start(&ctx.oauth, &actor, u, "fed", NULL, &sess);
                if (r < 0) {
                        http_reply_internal_error(req, r);
                        return;
                }
                api_auth_reply_signed_in(&ctx, res.created ? MHD_HTTP_CREATED : MHD_HTTP_OK, u, &sess);
                return;
        }
        case AUTH_NEED_SECOND_FACTOR:
                reply_mfa(&ctx, u, false);
                return;
        case AUTH_MFA_ENROLMENT_REQUIRED:
                reply_mfa(&ctx, u, true);
                return;
        default:
                api_auth_reply_failed(&ctx, &res.result);
                return;
        }
}
