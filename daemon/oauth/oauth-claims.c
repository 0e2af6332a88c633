/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-claims.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base64url.h"
#include "oauth-scope.h"
#include "secret-box.h"
#include "time-util.h"

int oauth_subject(const Manager *m, const UserRecord *u, char out[static 64]) {
        uint8_t d[SECRET_DIGEST_SIZE];
        char in[96];
        int r;

        /* Keyed on what is unique forever: the row and its birth time. */
        snprintf(in, sizeof(in), "%" PRIi64 ":%" PRIi64 ":%" PRIi64, u->tenant_id, u->id, u->created_usec);
        r = secret_key_digest(m->secret_key, "oidc-subject", in, strlen(in), d);
        if (r < 0)
                return r;
        base64url_encode_to(d, 16, out);
        return 0;
}

int oauth_subject_cached(OAuthContext *ctx, const UserRecord *u, char out[static 64]) {
        int r;

        if (oauth_cache_subject_find(ctx->cache, u, out))
                return 0;
        r = oauth_subject(ctx->manager, u, out);
        if (r < 0)
                return r;
        oauth_cache_subject_add(ctx->cache, u, out);
        return 0;
}

void oauth_user_claims(JsonText *j, const UserRecord *u, const char *sub, const char *scope) {
        json_text_str(j, "sub", sub);
        if (oauth_scope_has(scope, "profile")) {
                json_text_str(j, "preferred_username", u->name);
                json_text_str(j, "name", isempty(u->real_name) ? u->name : u->real_name);
                json_text_int(j, "updated_at", u->changed_usec / (int64_t) USEC_PER_SEC);
        }
        if (oauth_scope_has(scope, "email") && u->email) {
                json_text_str(j, "email", u->email);
                json_text_bool(j, "email_verified", u->email_verified);
        }
}
