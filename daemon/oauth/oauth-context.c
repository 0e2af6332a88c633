/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-context.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int oauth_error_set(OAuthError *e, int code, const char *error, const char *format, ...) {
        va_list ap;

        code = -abs(code);
        if (!e || e->error)
                return code;
        e->error = error;
        va_start(ap, format);
        vsnprintf(e->description, sizeof(e->description), format, ap);
        va_end(ap);
        return code;
}

void oauth_context_settings(const OAuthContext *ctx, TenantSettings *ret) {
        tenant_settings_effective(ctx->manager->config, &ctx->tenant->settings, ret);
}

void oauth_context_done(OAuthContext *ctx) {
        tenant_record_unref(ctx->tenant);
        free(ctx->issuer);
        pending_audit_done(&ctx->audit);
        *ctx = (OAuthContext) {};
}
