/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-consent.h"

#include "oauth-scope.h"
#include "store-oidc.h"
#include "time-util.h"

bool oauth_consent_covers(OAuthContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope) {
        _cleanup_free_ char *granted = NULL;

        if (store_consent_get(ctx->store, ctx->tenant->id, user_id, app->id, &granted) < 0)
                return false;
        return oauth_scope_covers(granted, scope);
}

bool oauth_consent_needed(OAuthContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope,
                          bool prompt_consent) {
        if (app->first_party)
                return false;
        return prompt_consent || !oauth_consent_covers(ctx, app, user_id, scope);
}

int oauth_consent_grant(OAuthContext *ctx, const ApplicationRecord *app, int64_t user_id, const char *scope) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = store_begin(ctx->store);
        if (r < 0)
                return r;
        txn = ctx->store;
        r = store_consent_set(ctx->store, ctx->tenant->id, user_id, app->id, scope, now_realtime_usec());
        if (r < 0)
                return r;
        return store_commit(TAKE_PTR(txn));
}
