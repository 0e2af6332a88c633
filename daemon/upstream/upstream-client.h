/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Talking to an upstream identity provider: the URL the browser is sent
 * to, and the callback's code turned into a verified identity. All network
 * work is blocking libcurl and therefore runs on a worker thread or an
 * HTTP connection thread, never on the main loop.
 *
 * OpenID kinds: the provider's metadata comes from discovery (or the
 * preset's and the provider's overrides), its keys from jwks_uri; both are
 * cached per URL as their Cache-Control/Expires headers allow (bounded: at
 * least 1 minute, at most 1 day), and the key set is fetched again, at
 * most once a minute, on an ID token signed with an unknown kid. The ID
 * token is checked: the signature (RS256, RS384, RS512, PS256, ES256,
 * ES384; never "none" or HMAC), iss (Microsoft's multi-tenant issuers:
 * the template {tenantid} is filled with the token's tid, and tid checked
 * against allowed_tid), aud contains the client id, azp (when there are
 * several audiences or azp is present) is the client id, exp and iat
 * (with 5 minutes of skew), nonce equals the flow's.
 *
 * GitHub: no ID token; the identity is GET {api}/user and the primary
 * verified address from GET {api}/user/emails.
 *
 * Outbound limits, from [upstream] in the config: connect timeout,
 * total timeout, response size (1 MiB by default), and a CA file for
 * private providers (else the system store); TLS verification is never
 * turned off, but plain http is allowed towards loopback addresses only
 * (tests and local stand-ins).
 *
 * Errors: -ETIMEDOUT (no answer in time), -ECONNREFUSED/-EHOSTUNREACH
 * (down), -EFBIG (answer over the size limit), -EBADMSG (garbage, a
 * document that is not what it should be), -EKEYREJECTED (a token whose
 * signature, kid or alg is wrong), -EPROTO (a claim that is wrong: iss,
 * aud, azp, nonce, tid), -ESTALE (expired), -EACCES (the provider refused
 * the code: invalid_grant). e->message says what, for the page and the
 * audit event. */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "macro.h"
#include "upstream-provider.h"

typedef struct UpstreamClient UpstreamClient;

typedef struct UpstreamLimits {
        unsigned connect_timeout_ms;  /* default 5000 */
        unsigned total_timeout_ms;    /* default 10000 */
        size_t max_response;          /* default 1 MiB */
        const char *ca_file;          /* NULL: the system store */
} UpstreamLimits;

struct Config;

/* The limits [upstream] of the daemon's configuration sets; ca_file
 * points into c, which must outlive *ret (upstream_client_new() copies
 * it). */
void upstream_limits_from_config(const struct Config *c, UpstreamLimits *ret);

/* Shared by every thread of the daemon (the caches are locked inside). */
int upstream_client_new(const UpstreamLimits *limits, UpstreamClient **ret);
UpstreamClient *upstream_client_free(UpstreamClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(UpstreamClient *, upstream_client_free);

/* Drops what is cached for p (its registration changed). */
void upstream_client_forget(UpstreamClient *c, const UpstreamProvider *p);

/* The browser's way out: the authorization URL for p with the given
 * redirect_uri, state, nonce (ignored for GitHub) and PKCE challenge
 * (S256). May fetch discovery (blocking). */
int upstream_client_authorize_url(UpstreamClient *c, const UpstreamProvider *p, const char *redirect_uri,
                                  const char *state, const char *nonce, const char *code_challenge, char **ret_url,
                                  TesseraError *e);

/* Who came back: normalised from the ID token (and userinfo when the
 * preset asks for it) or from GitHub's REST API. */
typedef struct UpstreamIdentity {
        char *subject;                /* never NULL */
        char *email;                  /* may be NULL */
        bool email_verified;          /* only true when the provider says so */
        char *name;                   /* display name, may be NULL */
        char *username;               /* preferred_username / login, may be NULL */
        char *issuer;                 /* the iss checked, NULL for GitHub */
        char *tid;                    /* Microsoft's tenant id, else NULL */
} UpstreamIdentity;

void upstream_identity_done(UpstreamIdentity *id);

/* The callback's work: exchanges code (with the PKCE verifier and the
 * redirect_uri used) at the token endpoint, verifies the ID token against
 * nonce, and fills *ret. Blocking. */
int upstream_client_complete(UpstreamClient *c, const UpstreamProvider *p, const char *redirect_uri,
                             const char *code, const char *code_verifier, const char *nonce, UpstreamIdentity *ret,
                             TesseraError *e);
