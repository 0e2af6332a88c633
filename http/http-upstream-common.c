/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The way out to an upstream provider and the way back, for both doors
 * (http-upstream.h). Every refusal says what happened, is audited as
 * auth.federated with the provider and the reason, and makes nothing. */

#include <stdlib.h>

#include "http-upstream.h"
#include "time-util.h"

char *http_upstream_callback_url(OidcContext *ctx) {
        char *url = NULL;

        if (asprintf(&url, "%s/upstream/callback", ctx->oauth.issuer) < 0)
                return NULL;
        return url;
}

static int fail(UpstreamFailure *f, unsigned status, const char *code, const char *title, int r, const char *message) {
        f->status = status;
        f->code = code;
        f->title = title;
        tessera_error_set(&f->error, r, "%s", message);
        return r;
}

/* The client's errors (upstream-client.h) as replies. */
static int client_failure(UpstreamFailure *f, const UpstreamProvider *p, int r, const TesseraError *e) {
        const char *who = p->display_name ?: p->name;
        const char *what = tessera_error_message(e);
        size_t n = strlen(what);
        char msg[400];
        unsigned status;
        const char *code, *title;

        switch (r) {
        case -ETIMEDOUT:
                status = MHD_HTTP_GATEWAY_TIMEOUT, code = "upstream_timeout", title = "The provider did not answer";
                break;
        case -ECONNREFUSED:
        case -EHOSTUNREACH:
        case -ENETUNREACH:
        case -ECONNRESET:
                status = MHD_HTTP_BAD_GATEWAY, code = "upstream_unavailable", title = "The provider can't be reached";
                break;
        case -EFBIG:
                status = MHD_HTTP_BAD_GATEWAY, code = "upstream_bad_response",
                title = "The provider answered too much";
                break;
        case -EBADMSG:
                status = MHD_HTTP_BAD_GATEWAY, code = "upstream_bad_response",
                title = "The provider answered nonsense";
                break;
        case -EKEYREJECTED:
        case -EPROTO:
                status = MHD_HTTP_UNAUTHORIZED, code = "upstream_token_invalid",
                title = "The provider's answer was not genuine";
                break;
        case -ESTALE:
                status = MHD_HTTP_UNAUTHORIZED, code = "upstream_token_expired",
                title = "The provider's answer had expired";
                break;
        case -EACCES:
                status = MHD_HTTP_UNAUTHORIZED, code = "upstream_refused", title = "The provider refused the sign-in";
                break;
        default:
                status = MHD_HTTP_BAD_GATEWAY, code = "upstream_error", title = "The sign-in with the provider failed";
        }
        snprintf(msg, sizeof(msg), "%s: %s%s Nothing was changed; try again, or sign in with your password.", who,
                 what, n > 0 && what[n - 1] == '.' ? "" : ".");
        return fail(f, status, code, title, r, msg);
}

int http_upstream_begin(OidcContext *ctx, const UpstreamProvider *p, const char *binding, const char *request,
                        const char *redirect_uri, char **ret_url, UpstreamFailure *f) {
        _cleanup_(upstream_flow_done) UpstreamFlow flow = {
                .kind = UPSTREAM_FLOW_AUTHORIZE,
                .tenant_id = ctx->oauth.tenant->id,
                .provider_id = p->id,
                .api = !binding,
        };
        Manager *m = ctx->oauth.manager;
        _cleanup_free_ char *url = NULL;
        TesseraError e = {};
        int r;

        snprintf(flow.provider, sizeof(flow.provider), "%s", p->name);
        if (binding)
                snprintf(flow.binding, sizeof(flow.binding), "%s", binding);
        flow.request = request ? strdup(request) : NULL;
        flow.redirect_uri = strdup(redirect_uri);
        if ((request && !flow.request) || !flow.redirect_uri)
                return fail(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong", -ENOMEM,
                            "Out of memory.");

        r = upstream_flow_put(ctx->oauth.store, UPSTREAM_FLOW_MAX, &flow, now_realtime_usec());
        if (r < 0)
                return fail(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong", r,
                            "The sign-in could not be started.");
        /* May fetch the provider's discovery document: blocking, on this
         * connection's thread. */
        r = upstream_client_authorize_url(m->upstream_client, p, redirect_uri, flow.key, flow.nonce, flow.challenge,
                                          &url, &e);
        if (r < 0) {
                UpstreamFlow gone = {};

                /* The flow goes: nobody can come back to it. */
                if (upstream_flow_take(ctx->oauth.store, UPSTREAM_FLOW_AUTHORIZE, flow.key, flow.tenant_id,
                                       flow.binding, now_realtime_usec(), &gone) >= 0)
                        upstream_flow_done(&gone);
                client_failure(f, p, r, &e);
                upstream_signin_audit_failure(ctx->oauth.store, &ctx->caller, ctx->oauth.tenant, p->name, r, f->code,
                                              tessera_error_message(&e));
                return r;
        }
        *ret_url = TAKE_PTR(url);
        return 0;
}

/* The way back up to the identity, into flow, *ret_provider and *ret_id;
 * a failure in f, not yet audited. */
static int take_and_complete(OidcContext *ctx, const HttpParams *params, const char *binding, UpstreamFlow *flow,
                             UpstreamProvider **ret_provider, UpstreamIdentity *ret_id, UpstreamFailure *f) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        Manager *m = ctx->oauth.manager;
        const char *state = http_params_get(params, "state"), *code = http_params_get(params, "code"),
                   *error = http_params_get(params, "error");
        TesseraError e = {};
        int r;

        if (isempty(state))
                return fail(f, MHD_HTTP_BAD_REQUEST, "invalid_state", "This sign-in can't go on", -ENOENT,
                            "The provider's answer carries no state: start the sign-in again.");
        r = upstream_flow_take(ctx->oauth.store, UPSTREAM_FLOW_AUTHORIZE, state, ctx->oauth.tenant->id, binding,
                               now_realtime_usec(), flow);
        if (r == -ETIME)
                return fail(f, MHD_HTTP_BAD_REQUEST, "state_expired", "This sign-in took too long", r,
                            "The sign-in took more than 10 minutes: start it again.");
        if (r == -EXDEV)
                return fail(f, MHD_HTTP_BAD_REQUEST, "invalid_state", "This sign-in can't go on", r,
                            "The sign-in was started for another organization: start it again here.");
        if (r == -EACCES)
                return fail(f, MHD_HTTP_BAD_REQUEST, "invalid_state", "This sign-in can't go on", r,
                            binding ? "The sign-in was started in another browser, or by an application: start it "
                                      "again here."
                                    : "The sign-in was started on the sign-in page, not through the API: finish it "
                                      "there.");
        if (r < 0)
                return fail(f, MHD_HTTP_BAD_REQUEST, "invalid_state", "This sign-in can't go on", -ENOENT,
                            "The sign-in is unknown or was finished already: start it again.");

        r = upstream_provider_get(m, ctx->oauth.store, ctx->oauth.tenant, flow->provider, &p);
        if (r < 0 || p->id != flow->provider_id)
                return fail(f, MHD_HTTP_NOT_FOUND, "provider_not_found", "This sign-in can't go on", -ENOENT,
                            "The provider was removed or turned off meanwhile.");
        if (!isempty(error)) {
                const char *desc = http_params_get(params, "error_description");
                char msg[300];

                snprintf(msg, sizeof(msg), "%s did not sign you in (%.40s%s%.160s).", p->display_name ?: p->name,
                         error, desc ? ": " : "", strempty(desc));
                return fail(f, MHD_HTTP_UNAUTHORIZED, "upstream_refused", "The provider did not sign you in", -EACCES,
                            msg);
        }
        if (isempty(code) || strlen(code) > 2048)
                return fail(f, MHD_HTTP_BAD_REQUEST, "invalid_request", "This sign-in can't go on", -EINVAL,
                            "The provider's answer carries no usable code.");

        /* Blocking: the token endpoint, the keys, userinfo or GitHub's API. */
        r = upstream_client_complete(m->upstream_client, p, flow->redirect_uri, code, flow->verifier, flow->nonce,
                                     ret_id, &e);
        if (r < 0)
                return client_failure(f, p, r, &e);
        *ret_provider = TAKE_PTR(p);
        return 0;
}

int http_upstream_finish(OidcContext *ctx, const HttpParams *params, const char *binding, UpstreamFlow *ret_flow,
                         UpstreamProvider **ret_provider, UpstreamIdentity *ret_id, UpstreamFailure *f) {
        _cleanup_(upstream_flow_done) UpstreamFlow flow = {};
        int r;

        r = take_and_complete(ctx, params, binding, &flow, ret_provider, ret_id, f);
        if (r < 0) {
                upstream_signin_audit_failure(ctx->oauth.store, &ctx->caller, ctx->oauth.tenant,
                                              flow.provider[0] ? flow.provider : NULL, r, f->code,
                                              tessera_error_message(&f->error));
                return r;
        }
        *ret_flow = flow;
        flow = (UpstreamFlow) {};
        return 0;
}

void http_upstream_refusal(int r, const UpstreamRefusal *refusal, const TesseraError *e, UpstreamFailure *f) {
        if (r == -EACCES)
                fail(f, MHD_HTTP_FORBIDDEN, refusal->code ?: "forbidden", "You can't sign in here this way", r,
                     tessera_error_message(e));
        else if (r == -EEXIST)
                fail(f, MHD_HTTP_CONFLICT, "conflict", "This sign-in can't go on", r, tessera_error_message(e));
        else
                fail(f, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal_error", "Something went wrong", r,
                     tessera_error_message(e));
}
