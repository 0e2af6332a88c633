/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The sign-in flows in flight towards upstream providers, kept on the
 * server side: what went out with the browser (state, nonce, the PKCE
 * verifier) and what has to be there when it comes back (the tenant, the
 * provider, the browser it belongs to, the authorization request of
 * tessera's own client that waits for the sign-in).
 *
 * A flow is taken exactly once: the callback takes it by its state, and a
 * second callback with the same state finds nothing (a replay). Flows
 * expire after UPSTREAM_FLOW_LIFETIME_USEC; a bounded number is kept, the
 * oldest dropped first, so that a flood of starts costs memory only up to
 * the bound. They live in the store (an upstream_flows row each, keyed by
 * the digest of the state): the provider may send the browser back to
 * another instance than the one that started, or to this one after a
 * restart, and either finds the flow.
 *
 * The same table keeps the other pause of a federated sign-in: an upstream
 * identity whose e-mail address is an existing account's, waiting for the
 * person to prove that account (password, and TOTP when enrolled) before
 * the link is made (UPSTREAM_FLOW_LINK, keyed by a ticket of its own).
 *
 * Thread-safe: each HTTP thread passes its own store connection. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "store.h"
#include "time-util.h"
#include "upstream-client.h"

#define UPSTREAM_FLOW_LIFETIME_USEC (10 * 60 * USEC_PER_SEC)
#define UPSTREAM_FLOW_MAX 20000

typedef enum UpstreamFlowKind {
        UPSTREAM_FLOW_AUTHORIZE,      /* out to the provider; key: state */
        UPSTREAM_FLOW_LINK,           /* back, waiting for the proof of an account; key: a ticket */
} UpstreamFlowKind;

typedef struct UpstreamFlow {
        UpstreamFlowKind kind;
        char key[64];                 /* state or ticket: 43 characters of base64url */
        int64_t tenant_id;
        char provider[40];            /* the provider's name */
        int64_t provider_id;
        /* The browser's binding cookie (http-browser.h): the callback must
         * come from the browser that started. Empty for a flow started
         * through the JSON API, which only the API's callback completes. */
        char binding[72];
        bool api;
        char nonce[64];
        char verifier[64];            /* PKCE */
        char challenge[48];           /* its S256 */
        char *request;                /* the pending authorization request (urlencoded), or NULL */
        char *redirect_uri;           /* where the provider sends the browser back (the code exchange repeats it) */
        /* LINK: the account to prove, and who came back. */
        int64_t user_id;
        UpstreamIdentity identity;
        int64_t expires_usec;
} UpstreamFlow;

void upstream_flow_done(UpstreamFlow *f);

/* Keeps a new flow in the store (store-upstream-flow.h): f's kind, tenant, provider, binding, api, request,
 * redirect_uri (and for LINK user_id and identity, which are taken: f's
 * are cleared) are the caller's; the key, and for AUTHORIZE nonce,
 * verifier and challenge, are made here and written into f. At most max
 * flows are kept, the oldest dropped first. */
int upstream_flow_put(Store *s, size_t max, UpstreamFlow *f, int64_t now_usec);

/* Takes the flow of kind with key out of the store: -ENOENT when there
 * is none (never was, taken already, pushed out), -ETIME when it
 * expired, -EXDEV when it belongs to another tenant, -EACCES to another
 * browser (binding; NULL or "" for the JSON API), another negative errno
 * when the store failed. Whatever the answer, a flow found is gone: a
 * state is good for one try. */
int upstream_flow_take(Store *s, UpstreamFlowKind kind, const char *key, int64_t tenant_id, const char *binding,
                       int64_t now_usec, UpstreamFlow *ret);

/* How many flows are kept now (for tests and metrics). */
int upstream_flows_count(Store *s, size_t *ret);
