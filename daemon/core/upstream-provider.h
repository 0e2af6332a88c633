/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Upstream identity providers of a tenant ("Sign in with Google"), shared
 * by every face (the JSON API, D-Bus, tesseractl): an administrator
 * registers a provider by kind, and users coming back from it are linked
 * to tessera accounts by (provider, upstream subject), never by e-mail
 * alone (see upstream-link.h).
 *
 * A kind is a preset (upstream-preset.h): "oidc" (any OpenID provider by
 * its issuer), "google", "microsoft", "gitlab", "slack" (OpenID providers
 * with known issuers and claims) and "github" (OAuth 2.0 and REST, no ID
 * token). Presets are data; every endpoint a preset fills in may be
 * overridden per provider (private GitLab, tests on loopback).
 *
 * The client secret is sealed at rest with the daemon's secret key
 * (secret-box.h); records read back carry it unsealed, and it is never
 * returned by a face (has_client_secret says whether one is set).
 *
 * Refusals: -EINVAL a bad field (named in the error), -EEXIST a provider
 * of that name in the tenant, -ENOENT none such, -EACCES not an admin. */

#include <stdbool.h>
#include <stdint.h>

#include "change.h"
#include "error.h"
#include "manager.h"
#include "principal.h"
#include "records.h"

/* Limits on what an administrator may register. */
#define UPSTREAM_PROVIDER_NAME_MAX 32
#define UPSTREAM_PROVIDER_DISPLAY_NAME_MAX 64
#define UPSTREAM_PROVIDER_URL_MAX 512
#define UPSTREAM_PROVIDER_ICON_MAX 8192
#define UPSTREAM_PROVIDER_CLIENT_ID_MAX 256
#define UPSTREAM_PROVIDER_CLIENT_SECRET_MAX 1024
#define UPSTREAM_PROVIDER_LIST_MAX 32       /* scopes, allowed domains, Entra tenant ids */
#define UPSTREAM_PROVIDERS_PER_TENANT_MAX 32

typedef enum UpstreamSignupMode {
        UPSTREAM_SIGNUP_JIT,          /* unknown users get an account on first sign-in */
        UPSTREAM_SIGNUP_EXISTING,     /* only users who have an account already (linking) */
        UPSTREAM_SIGNUP_INVITATION,   /* unknown users need a pending invitation for the address */
        _UPSTREAM_SIGNUP_MAX,
        _UPSTREAM_SIGNUP_INVALID = -EINVAL,
} UpstreamSignupMode;

const char *upstream_signup_mode_to_string(UpstreamSignupMode m);
UpstreamSignupMode upstream_signup_mode_from_string(const char *s);

typedef struct UpstreamProvider {
        int64_t id;
        int64_t tenant_id;
        char *name;                   /* slug in URLs: [a-z0-9][a-z0-9-]{0,31}, unique per tenant */
        char *kind;                   /* a preset name, see upstream-preset.h */
        char *display_name;           /* the button's text: "Google" */
        char *icon_url;               /* may be NULL: https URL or data: URI of the button's icon */
        char *client_id;
        char *client_secret;          /* unsealed; NULL for public clients (PKCE only) */
        char **scopes;                /* NULL: the preset's */
        char **allowed_domains;       /* NULL: any e-mail domain; else the address's domain must be one */
        UpstreamSignupMode signup;
        UserRole role;                /* of accounts made just in time */
        bool link_by_email;           /* a verified upstream address may link to the account holding it */
        bool enabled;
        /* Overrides of the preset (NULL: the preset's, or discovery's). */
        char *issuer;                 /* required for kind "oidc"; Entra: the tenant's issuer */
        char *authorization_endpoint;
        char *token_endpoint;
        char *userinfo_endpoint;
        char *jwks_uri;
        char *api_url;                /* GitHub's REST API base */
        char *allowed_tid;            /* Microsoft: the Entra tenant ids accepted (comma-separated), NULL any */
        uint64_t created_usec;
        uint64_t changed_usec;
} UpstreamProvider;

UpstreamProvider *upstream_provider_free(UpstreamProvider *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(UpstreamProvider *, upstream_provider_free);
void upstream_provider_array_free(UpstreamProvider **a, size_t n);

/* What a create or an update sets: NULL pointers and negative ints are
 * "leave as is" on update and "the default" on create. On update, "" clears
 * an optional text (client_secret, icon_url, the endpoint overrides,
 * allowed_tid; display_name goes back to the preset's) and an empty list
 * of scopes goes back to the preset's. The name and the kind are set once:
 * an update that names others is refused. Defaults: display_name the
 * preset's, signup existing, role member, link_by_email off, enabled. */
typedef struct UpstreamProviderSpec {
        const char *name;
        const char *kind;
        const char *display_name;
        const char *icon_url;
        const char *client_id;
        const char *client_secret;    /* "" clears it */
        char **scopes;
        char **allowed_domains;       /* an empty list clears it */
        int signup;                   /* UpstreamSignupMode or -1 */
        int role;                     /* UserRole or -1 */
        int link_by_email;            /* 0, 1 or -1 */
        int enabled;                  /* 0, 1 or -1 */
        const char *issuer;
        const char *authorization_endpoint;
        const char *token_endpoint;
        const char *userinfo_endpoint;
        const char *jwks_uri;
        const char *api_url;
        const char *allowed_tid;
} UpstreamProviderSpec;

/* Admin operations, audited (provider.create|update|delete), announced as
 * a change so that caches drop the old record. */
int upstream_provider_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                             const UpstreamProviderSpec *spec, UpstreamProvider **ret, TesseraError *e);
int upstream_provider_update(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                             const UpstreamProviderSpec *spec, UpstreamProvider **ret, TesseraError *e);
int upstream_provider_delete(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                             TesseraError *e);
int upstream_provider_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                           UpstreamProvider ***ret, size_t *ret_n, TesseraError *e);

/* One provider for an administrator (any, enabled or not). */
int upstream_provider_read(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                           UpstreamProvider **ret, TesseraError *e);

/* For the sign-in flow (anonymous callers): the enabled provider of t by
 * name, -ENOENT if none (or disabled). */
int upstream_provider_get(Manager *m, Store *s, const TenantRecord *t, const char *name, UpstreamProvider **ret);
/* The enabled providers of t, for the sign-in page's buttons. */
int upstream_provider_list_enabled(Manager *m, Store *s, const TenantRecord *t, UpstreamProvider ***ret,
                                   size_t *ret_n);

/* Whether email's domain is allowed by p (true when p allows any). */
bool upstream_provider_allows_email(const UpstreamProvider *p, const char *email);

/* A provider name: [a-z0-9][a-z0-9-]{0,31}. */
bool upstream_provider_valid_name(const char *s);
/* An https URL (http only to localhost, 127.x.x.x or [::1]), no user
 * info or fragment, a query only where allow_query. */
bool upstream_provider_valid_url(const char *url, bool allow_query);
