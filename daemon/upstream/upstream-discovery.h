/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where a registered provider's endpoints are: the registration's
 * overrides first, then its preset's, then (OpenID kinds, for whatever is
 * still missing) the provider's discovery document at
 * {issuer}/.well-known/openid-configuration, cached (upstream-cache.h).
 * A discovery document must name the issuer it was fetched for (OpenID
 * Connect Discovery 4.3) and https endpoints (http on loopback only). */

#include <stdbool.h>

#include "error.h"
#include "upstream-cache.h"
#include "upstream-preset.h"
#include "upstream-provider.h"

typedef struct UpstreamEndpoints {
        char *issuer;                 /* OpenID kinds: what iss must be (maybe a {tenantid} template) */
        bool issuer_per_tid;
        char *authorization;
        char *token;
        char *userinfo;               /* NULL: none known */
        char *jwks;                   /* OpenID kinds */
        char *api;                    /* GitHub */
        /* The client secret in the token request's body
         * (client_secret_post) rather than HTTP Basic. */
        bool secret_in_body;
} UpstreamEndpoints;

void upstream_endpoints_done(UpstreamEndpoints *ep);

/* The discovery URL of an issuer; Entra's template asks "common". */
int upstream_discovery_url(const char *issuer, char **ret);

/* Fills *ret for p of preset. May fetch discovery (blocking). Errors as
 * upstream_cache_get(), -EINVAL a registration that lacks what it needs,
 * -EBADMSG a discovery document that is not one for this issuer. */
int upstream_discovery_resolve(UpstreamCache *cache, const UpstreamLimits *limits, const UpstreamProvider *p,
                               const UpstreamPreset *preset, UpstreamEndpoints *ret, TesseraError *e);
