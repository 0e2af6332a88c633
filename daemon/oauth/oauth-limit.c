/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "oauth-limit.h"

#include "log.h"
#include "time-util.h"

bool oauth_limited(Manager *m, const Principal *caller, const char *client_id, OAuthLimit *ret) {
        uint64_t now = now_monotonic_usec();
        bool first;
        unsigned wait;

        wait = limiter_check(m->limiter, LIMIT_ADDRESS, caller->remote, now, &first);
        if (wait > 0) {
                *ret = (OAuthLimit) { .wait = wait, .kind = LIMIT_ADDRESS, .first = first };
                return true;
        }
        wait = client_id ? limiter_check(m->limiter, LIMIT_CLIENT, client_id, now, &first) : 0;
        if (wait > 0) {
                *ret = (OAuthLimit) { .wait = wait, .kind = LIMIT_CLIENT, .first = first };
                return true;
        }
        return false;
}

void oauth_limit_failed(Manager *m, const Principal *caller, const char *client_id) {
        uint64_t now = now_monotonic_usec();

        limiter_fail(m->limiter, LIMIT_ADDRESS, caller->remote, now);
        if (client_id)
                limiter_fail(m->limiter, LIMIT_CLIENT, client_id, now);
}

void oauth_limit_audit(OAuthContext *ctx, const Principal *caller, const OAuthLimit *l, const char *action,
                       const char *actor) {
        Principal p = *caller;

        if (!l->first)
                return;
        /* One event per run of refusals (counted on one row while the run
         * lasts), never one per refused request. */
        log_notice("[%s] Too many failed authentications by %s %s; refusing for %u s.", strna(ctx->log_id),
                   limit_kind_to_string(l->kind), l->kind == LIMIT_ADDRESS ? strna(caller->remote) : strna(actor),
                   l->wait);
        p.name = actor;
        pending_audit_add(&ctx->audit, &p, action, ctx->tenant->slug, actor, AUDIT_DENIED,
                          "{\"error\":\"rate_limited\",\"limit\":\"%s\"}", limit_kind_to_string(l->kind));
}
