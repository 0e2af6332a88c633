/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-logout.h"

#include <stdlib.h>
#include <string.h>

#include "oauth-token.h"
#include "token.h"

/* An ID token of ours (expired is fine: it only names the session). */
static int hint_claims(OAuthContext *ctx, const char *hint, json_t **ret) {
        json_auto_t *claims = NULL;
        int r;

        r = oauth_verify_jwt(ctx, hint, NULL, &claims);
        if (r < 0)
                return r;
        if (!streq(strempty(json_string_value(json_object_get(claims, "iss"))), ctx->issuer))
                return -EKEYREJECTED;
        *ret = TAKE_PTR(claims);
        return 0;
}

int oauth_logout_check(OAuthContext *ctx, const char *hint, const char *client_id, const char *post_logout,
                       char **ret_sid, OAuthError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        json_auto_t *claims = NULL;
        const char *sid = NULL;
        char *s = NULL;

        if (hint && hint_claims(ctx, hint, &claims) < 0)
                return oauth_error_set(e, -EKEYREJECTED, "invalid_request", "The id_token_hint is not valid here.");
        if (claims) {
                const char *aud = json_string_value(json_object_get(claims, "aud"));

                if (client_id && aud && !streq(client_id, aud))
                        return oauth_error_set(e, -EINVAL, "invalid_request",
                                               "client_id and id_token_hint name different applications.");
                client_id = client_id ?: aud;
                sid = json_string_value(json_object_get(claims, "sid"));
        }
        /* Only to an address the application registered for this. */
        if (post_logout &&
            (!client_id || !token_is_plausible(client_id) ||
             oauth_cache_application(ctx->cache, ctx->manager, ctx->store, ctx->tenant->id, client_id, &app) < 0 ||
             !application_has_post_logout_uri(app, post_logout)))
                return oauth_error_set(e, -EPERM, "invalid_request",
                                       "The address to return to after signing out is not registered, so we will "
                                       "not send you there.");
        if (sid) {
                s = strdup(sid);
                if (!s)
                        return -ENOMEM;
        }
        *ret_sid = s;
        return 0;
}

bool oauth_logout_needs_confirmation(const char *hint_sid, const SsoSession *session) {
        return !hint_sid || !streq(hint_sid, session->sid);
}
