/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-client.h"

#include <stdio.h>
#include <string.h>

#include "application.h"
#include "oauth-limit.h"
#include "token.h"

/* known: client_id is a client of this tenant, whose failures count. */
static int refuse(OAuthContext *ctx, const Principal *caller, const char *action, const char *client_id, bool known,
                  const char *why, int code, OAuthError *e) {
        Principal p = *caller;

        oauth_limit_failed(ctx->manager, caller, known ? client_id : NULL);
        p.name = client_id;
        pending_audit_add(&ctx->audit, &p, action, ctx->tenant->slug, client_id, AUDIT_DENIED,
                          "{\"error\":\"invalid_client\",\"why\":\"%s\"}", why);
        return oauth_error_set(e, code, "invalid_client", "Client authentication failed.");
}

static bool verify_secret(OAuthContext *ctx, const ApplicationRecord *app, const char *secret) {
        uint8_t presented[32];

        if (!secret || strlen(secret) > TOKEN_MAX_LEN)
                return false;
        sha256(secret, strlen(secret), presented);
        if (oauth_cache_secret_known(ctx->cache, app, presented))
                return true;
        if (!application_verify_secret(ctx->manager, app, secret))
                return false;
        oauth_cache_secret_add(ctx->cache, app, presented);
        return true;
}

int oauth_client_authenticate(OAuthContext *ctx, const Principal *caller, const OAuthClientCredentials *c,
                              const char *action, ApplicationRecord **ret, OAuthError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        const char *client_id = c->client_id, *secret = c->secret;
        bool plausible = token_is_plausible(client_id);
        char safe_id[65];
        OAuthLimit limit;
        int r;

        /* What goes into the audit trail must be harmless text. */
        snprintf(safe_id, sizeof(safe_id), "%s", plausible ? client_id : "(invalid)");

        /* Before the client is looked up or its secret hashed. */
        if (oauth_limited(ctx->manager, caller, !c->malformed && plausible ? client_id : NULL, &limit)) {
                oauth_limit_audit(ctx, caller, &limit, action, limit.kind == LIMIT_CLIENT ? safe_id : NULL);
                r = oauth_error_set(e, -EBUSY, "rate_limited",
                                    "Too many failed client authentications %s; try again in %u s.",
                                    limit.kind == LIMIT_ADDRESS ? "from this address" : "for this client", limit.wait);
                if (e)
                        e->retry_after = limit.wait;
                return r;
        }
        if (c->malformed)
                return refuse(ctx, caller, action, NULL, false, "malformed basic credentials", -EINVAL, e);
        if (isempty(client_id))
                return refuse(ctx, caller, action, NULL, false, "no client_id", -EACCES, e);

        r = plausible ? oauth_cache_application(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, client_id, &app)
                      : -ENOENT;
        if (r == -ENOENT)
                return refuse(ctx, caller, action, safe_id, false, "unknown client", -EACCES, e);
        if (r < 0)
                return r;
        if (app->public_client) {
                if (secret)
                        return refuse(ctx, caller, action, safe_id, true, "a public client sent a secret", -EACCES, e);
        } else if (!verify_secret(ctx, app, secret))
                return refuse(ctx, caller, action, safe_id, true, secret ? "wrong secret" : "no secret", -EACCES, e);
        *ret = TAKE_PTR(app);
        return 0;
}

Principal oauth_client_principal(const Principal *caller, const ApplicationRecord *app) {
        Principal p = *caller;

        p.kind = PRINCIPAL_CLIENT;
        p.name = app->client_id;
        p.uid = -1;
        p.tenant_id = app->tenant_id;
        p.application_id = app->id;
        return p;
}
