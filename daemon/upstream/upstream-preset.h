/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kinds of upstream provider, as data: where a provider of the kind
 * lives, what to ask for and how its claims map onto an identity. A new
 * preset is an entry in the table (upstream-preset.c), not a code path;
 * every endpoint may be overridden per registered provider. */

#include <stdbool.h>

typedef enum UpstreamProtocol {
        UPSTREAM_PROTOCOL_OIDC,       /* discovery, ID token */
        UPSTREAM_PROTOCOL_GITHUB,     /* OAuth 2.0 and the REST API's /user and /user/emails */
} UpstreamProtocol;

typedef struct UpstreamPreset {
        const char *kind;             /* "oidc", "google", "microsoft", "gitlab", "slack", "github" */
        const char *display_name;     /* default button text */
        UpstreamProtocol protocol;
        bool issuer_required;         /* the registration must give an issuer ("oidc") */
        const char *issuer;           /* NULL: from the registration */
        /* Microsoft's common/organizations endpoints issue tokens whose iss
         * is per Entra tenant: the issuer is a template with "{tenantid}". */
        bool issuer_per_tid;
        const char *authorization_endpoint;   /* NULL: discovery's */
        const char *token_endpoint;
        const char *userinfo_endpoint;
        const char *jwks_uri;
        const char *api_url;          /* GitHub's REST API base */
        const char *scopes;           /* space-separated default scopes */
        /* Claim names: where the identity's fields come from. */
        const char *claim_subject;
        const char *claim_email;
        const char *claim_email_verified;     /* NULL: the preset's providers only give verified addresses */
        bool email_always_verified;
        const char *claim_name;
        const char *claim_username;
        bool use_userinfo;            /* fetch userinfo too (claims missing from the ID token) */
} UpstreamPreset;

/* NULL for an unknown kind. */
const UpstreamPreset *upstream_preset_find(const char *kind);
/* The table, NULL-terminated by kind, for listing. */
const UpstreamPreset *upstream_preset_table(void);
