/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-flow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pkce.h"
#include "store-upstream-flow.h"
#include "token.h"

void upstream_flow_done(UpstreamFlow *f) {
        if (!f)
                return;
        free(f->request);
        f->request = NULL;
        free(f->redirect_uri);
        f->redirect_uri = NULL;
        upstream_identity_done(&f->identity);
        explicit_bzero(f->verifier, sizeof(f->verifier));
        explicit_bzero(f->key, sizeof(f->key));
}

static int random_into(char *buf, size_t size) {
        _cleanup_free_ char *t = NULL;
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &t);
        if (r < 0)
                return r;
        if (strlen(t) >= size)
                return -EINVAL;
        strcpy(buf, t);
        explicit_bzero(t, strlen(t));
        return 0;
}

int upstream_flow_put(Store *s, size_t max, UpstreamFlow *f, int64_t now_usec) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int r;

        if (f->kind != UPSTREAM_FLOW_AUTHORIZE && f->kind != UPSTREAM_FLOW_LINK)
                return -EINVAL;
        r = random_into(f->key, sizeof(f->key));
        if (r >= 0 && f->kind == UPSTREAM_FLOW_AUTHORIZE) {
                r = random_into(f->nonce, sizeof(f->nonce));
                if (r >= 0)
                        r = random_into(f->verifier, sizeof(f->verifier));
                if (r >= 0)
                        r = pkce_s256(f->verifier, f->challenge);
        }
        if (r < 0)
                return r;
        f->expires_usec = now_usec + UPSTREAM_FLOW_LIFETIME_USEC;

        token_digest(f->key, digest);
        r = store_upstream_flow_put(s, digest, f, max, now_usec);
        if (r < 0)
                return log_error_errno(r, "Failed to keep an upstream sign-in flow: %m");
        /* Kept: the identity is the store's copy's now, as the caller
         * was told; the key and the values to send stay with f. */
        upstream_identity_done(&f->identity);
        return 0;
}

int upstream_flow_take(Store *s, UpstreamFlowKind kind, const char *key, int64_t tenant_id, const char *binding,
                       int64_t now_usec, UpstreamFlow *ret) {
        _cleanup_(upstream_flow_done) UpstreamFlow f = {};
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int r;

        if (!key || !token_is_plausible(key) || strlen(key) >= sizeof(f.key))
                return -ENOENT;
        token_digest(key, digest);
        /* Gone from the store from here on, whatever the answer below:
         * a state is good for one try, on whichever instance. */
        r = store_upstream_flow_take(s, kind, digest, &f);
        if (r < 0)
                return r;

        if (f.expires_usec <= now_usec)
                return -ETIME;
        if (f.tenant_id != tenant_id)
                return -EXDEV;
        if (isempty(binding) != isempty(f.binding) ||
            (!isempty(binding) &&
             (strlen(binding) != strlen(f.binding) || !memeq_consttime(binding, f.binding, strlen(binding)))))
                return -EACCES;
        strcpy(f.key, key);
        *ret = f;
        f = (UpstreamFlow) {};
        return 0;
}

int upstream_flows_count(Store *s, size_t *ret) {
        return store_upstream_flow_count(s, ret);
}
