/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdlib.h>
#include <strings.h>

#include "base64url.h"
#include "http-oidc.h"
#include "oauth-client.h"

int oidc_context_init(HttpRequest *req, OidcContext *ret) {
        TenantRecord *tenant;

        *ret = (OidcContext) { .req = req, .caller = http_principal(req, NULL) };
        if (http_tenant(req, &tenant) < 0)
                return -ENOENT;
        ret->oauth = (OAuthContext) {
                .manager = req->manager,
                .store = http_store(req),
                .cache = &req->thread->oauth,
                .tenant = tenant,
                .issuer = http_issuer(req, tenant->slug),
                .log_id = req->id,
        };
        if (!ret->oauth.issuer) {
                oidc_context_done(ret);
                http_reply_internal_error(req, -ENOMEM);
                return -ENOMEM;
        }
        return 0;
}

void oidc_context_done(OidcContext *ctx) {
        oauth_context_done(&ctx->oauth);
        *ctx = (OidcContext) {};
}

/* -- committing the answer ----------------------------------------------------------- */

static int audit_write_cb(Store *s, void *userdata) {
        return pending_audit_write(s, userdata);
}

static void audit_done_cb(HttpRequest *req, int result, void *userdata) {
        PendingAudit *a = userdata;

        /* The prepared reply goes out only now that its record is durable. */
        if (result < 0)
                http_reply_internal_error(req, result);
        pending_audit_done(a);
        free(a);
}

void oidc_commit_reply(OidcContext *ctx) {
        PendingAudit *heap;
        int r;

        if (ctx->oauth.audit.n == 0 && !ctx->oauth.audit.failed)
                return;
        heap = malloc(sizeof(PendingAudit));
        if (!heap) {
                pending_audit_done(&ctx->oauth.audit);
                http_reply_internal_error(ctx->req, -ENOMEM);
                return;
        }
        *heap = ctx->oauth.audit;
        ctx->oauth.audit = (PendingAudit) {};
        r = http_write_async(ctx->req, audit_write_cb, audit_done_cb, heap);
        if (r < 0) {
                pending_audit_done(heap);
                free(heap);
                http_reply_internal_error(ctx->req, r);
        }
}

unsigned oidc_error_status(const char *error) {
        if (streq(error, "invalid_client") || streq(error, "invalid_token") || streq(error, "insufficient_scope"))
                return MHD_HTTP_UNAUTHORIZED;
        if (streq(error, "rate_limited"))
                return MHD_HTTP_TOO_MANY_REQUESTS;
        return MHD_HTTP_BAD_REQUEST;
}

static void reply_refusal(HttpRequest *req, int r, const OAuthError *e) {
        if (!e->error) {
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_oauth_error(req, oidc_error_status(e->error), e->error, "%s", e->description);
        if (e->retry_after > 0) {
                char seconds[16];

                snprintf(seconds, sizeof(seconds), "%u", e->retry_after);
                http_reply_header(req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        }
}

void oidc_refuse(OidcContext *ctx, int r, const OAuthError *e) {
        reply_refusal(ctx->req, r, e);
        oidc_commit_reply(ctx);
}

static void commit_done(HttpRequest *req, int result, void *userdata) {
        _cleanup_(oauth_commit_freep) OAuthCommit *c = userdata;
        OAuthError e = {};
        char *response = NULL;
        int r;

        r = oauth_commit_finish(c, result, &response, &e);
        if (r < 0) {
                reply_refusal(req, r, &e);
                return;
        }
        http_reply_json_text(req, MHD_HTTP_OK, response);
        http_reply_no_store(req);
}

void oidc_commit_answer(OidcContext *ctx, OAuthCommit *c) {
        int r;

        r = http_write_async(ctx->req, oauth_commit_write, commit_done, c);
        if (r < 0) {
                oauth_commit_free(c);
                http_reply_internal_error(ctx->req, r);
        }
}

/* -- limits on failed authentications --------------------------------------------- */

void oidc_limit_reply(OidcContext *ctx, const OAuthLimit *l, const char *action, const char *actor) {
        char seconds[16];

        snprintf(seconds, sizeof(seconds), "%u", l->wait);
        http_reply_header(ctx->req, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        oauth_limit_audit(&ctx->oauth, &ctx->caller, l, action, actor);
        oidc_commit_reply(ctx);
}

/* -- client authentication ------------------------------------------------------- */

/* "id:secret", each form-encoded. */
static int split_basic(const uint8_t *raw, size_t len, char **ret_id, char **ret_secret) {
        const char *colon;
        char *id = NULL;
        int r;

        if (memchr(raw, 0, len))
                return -EINVAL;
        colon = strchr((const char *) raw, ':');
        if (!colon)
                return -EINVAL;
        r = http_url_decode((const char *) raw, (size_t) (colon - (const char *) raw), &id);
        if (r < 0)
                return r;
        r = http_url_decode(colon + 1, strlen(colon + 1), ret_secret);
        if (r < 0) {
                free(id);
                return r;
        }
        *ret_id = id;
        return 0;
}

/* Authorization: Basic base64(urlencode(id) ":" urlencode(secret)), RFC 6749 2.3.1. */
static int parse_basic(const char *header, char **ret_id, char **ret_secret) {
        _cleanup_(erase_and_freep) char *u = NULL;
        _cleanup_free_ uint8_t *raw = NULL;
        const char *b64;
        size_t n, len;
        int r;

        if (strncasecmp(header, "Basic ", 6) != 0)
                return -EINVAL;
        b64 = header + 6;
        while (*b64 == ' ')
                b64++;
        n = strlen(b64);
        /* Standard base64 with padding: map to base64url, drop the padding. */
        u = strdup(b64);
        if (!u)
                return -ENOMEM;
        for (char *p = u; *p; p++)
                *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        while (n > 0 && u[n - 1] == '=')
                u[--n] = '\0';
        r = base64url_decode(u, n, &raw, &len);
        if (r < 0)
                return -EINVAL;
        r = split_basic(raw, len, ret_id, ret_secret);
        explicit_bzero(raw, len);
        return r;
}

int oidc_client_authenticate(OidcContext *ctx, const HttpParams *p, const char *action, ApplicationRecord **ret) {
        _cleanup_(erase_and_freep) char *basic_id = NULL, *basic_secret = NULL;
        const char *auth = http_header(ctx->req, MHD_HTTP_HEADER_AUTHORIZATION);
        OAuthClientCredentials c = {
                .client_id = http_params_get(p, "client_id"),
                .secret = http_params_get(p, "client_secret"),
        };
        bool basic = false;
        OAuthError e = {};
        int r;

        if (auth && strncasecmp(auth, "Basic ", 6) == 0) {
                r = parse_basic(auth, &basic_id, &basic_secret);
                if (r < 0)
                        c.malformed = true;
                else if (c.secret || (c.client_id && !streq(c.client_id, basic_id))) {
                        http_reply_oauth_error(ctx->req, MHD_HTTP_BAD_REQUEST, "invalid_request",
                                               "Use one client authentication method, not two.");
                        return -EINVAL;
                } else {
                        c.client_id = basic_id;
                        c.secret = basic_secret;
                }
                basic = true;
        }

        r = oauth_client_authenticate(&ctx->oauth, &ctx->caller, &c, action, ret, &e);
        if (r < 0) {
                reply_refusal(ctx->req, r, &e);
                /* RFC 6749 5.2: a client that tried Basic gets the challenge. */
                if (basic && e.error && streq(e.error, "invalid_client"))
                        http_reply_header(ctx->req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"tessera\"");
                oidc_commit_reply(ctx);
        }
        return r;
}
