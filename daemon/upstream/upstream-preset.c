/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <string.h>

#include "upstream-preset.h"

/* Endpoints as each provider documents them; the OpenID kinds fill the
 * rest from discovery at {issuer}/.well-known/openid-configuration. */
static const UpstreamPreset presets[] = {
        {
                .kind = "oidc",
                .display_name = "OpenID Connect",
                .protocol = UPSTREAM_PROTOCOL_OIDC,
                .issuer_required = true,
                .scopes = "openid email profile",
                .claim_subject = "sub",
                .claim_email = "email",
                .claim_email_verified = "email_verified",
                .claim_name = "name",
                .claim_username = "preferred_username",
        },
        {
                .kind = "google",
                .display_name = "Google",
                .protocol = UPSTREAM_PROTOCOL_OIDC,
                .issuer = "https://accounts.google.com",
                .scopes = "openid email profile",
                .claim_subject = "sub",
                .claim_email = "email",
                .claim_email_verified = "email_verified",
                .claim_name = "name",
                .claim_username = NULL,
        },
        {
                /* Entra ID. The default is the tenant-independent authority
                 * ("common"; "organizations" and "consumers" work alike):
                 * its tokens name the user's Entra tenant in tid and in
                 * iss, so iss is checked against the template filled with
                 * tid. An organization's own issuer
                 * (https://login.microsoftonline.com/TENANT/v2.0) pins the
                 * tenant. The endpoints come from the authority's discovery
                 * document, tenant-specific ones for a pinned tenant. */
                .kind = "microsoft",
                .display_name = "Microsoft",
                .protocol = UPSTREAM_PROTOCOL_OIDC,
                .issuer = "https://login.microsoftonline.com/{tenantid}/v2.0",
                .issuer_per_tid = true,
                .scopes = "openid email profile",
                .claim_subject = "sub",
                .claim_email = "email",
                /* Entra's email claim is not verified by Microsoft for every
                 * account type; only xms_edov vouches for the domain. */
                .claim_email_verified = "xms_edov",
                .claim_name = "name",
                .claim_username = "preferred_username",
        },
        {
                .kind = "gitlab",
                .display_name = "GitLab",
                .protocol = UPSTREAM_PROTOCOL_OIDC,
                .issuer = "https://gitlab.com",
                .scopes = "openid email profile",
                .claim_subject = "sub",
                .claim_email = "email",
                .claim_email_verified = "email_verified",
                .claim_name = "name",
                .claim_username = "nickname",
                .use_userinfo = true,
        },
        {
                .kind = "slack",
                .display_name = "Slack",
                .protocol = UPSTREAM_PROTOCOL_OIDC,
                .issuer = "https://slack.com",
                .scopes = "openid email profile",
                .claim_subject = "sub",
                .claim_email = "email",
                .claim_email_verified = "email_verified",
                .claim_name = "name",
                .claim_username = NULL,
        },
        {
                .kind = "github",
                .display_name = "GitHub",
                .protocol = UPSTREAM_PROTOCOL_GITHUB,
                .authorization_endpoint = "https://github.com/login/oauth/authorize",
                .token_endpoint = "https://github.com/login/oauth/access_token",
                .api_url = "https://api.github.com",
                .scopes = "read:user user:email",
                .claim_subject = "id",
                .claim_email = "email",
                .claim_email_verified = "verified",
                .claim_name = "name",
                .claim_username = "login",
        },
        {},
};

const UpstreamPreset *upstream_preset_find(const char *kind) {
        if (!kind)
                return NULL;
        for (const UpstreamPreset *p = presets; p->kind; p++)
                if (strcmp(p->kind, kind) == 0)
                        return p;
        return NULL;
}

const UpstreamPreset *upstream_preset_table(void) {
        return presets;
}
