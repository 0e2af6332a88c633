/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Applications (OAuth clients) of a tenant, shared by every face: validation,
 * authorization, the change and its audit event in one transaction. A
 * confidential client's secret is random, shown once, and stored as a keyed
 * digest (HMAC-SHA-256 under a key derived from the master key): it needs no
 * password hash, having 256 bits of entropy. */

#include "change.h"
#include "manager.h"
#include "oidc-records.h"

#define APPLICATION_MAX_REDIRECT_URIS 16
#define APPLICATION_URI_MAX_LEN 2048

/* Attributes given on create or update; NULL or -1 mean "not given". */
typedef struct ApplicationSpec {
        char **redirect_uris;
        char **post_logout_redirect_uris;
        char **grants;
        char **scopes;
        int public_client;
        int first_party;
        int pkce_optional;            /* confidential clients only: PKCE not required */
        int signing_alg;              /* JwtAlg */
} ApplicationSpec;

#define APPLICATION_SPEC_INIT { .public_client = -1, .first_party = -1, .pkce_optional = -1, .signing_alg = -1 }

#define APPLICATION_MAX_SCOPES 32

/* Every scope we know (OpenID Connect's, then tessera:<area>:read|write of
 * the JSON API), and those an application gets by default (OpenID
 * Connect's only: the API's are given explicitly). */
extern const char *const oidc_known_scopes[];
extern const char *const application_default_scopes[];
extern const char *const oauth_known_grants[];

/* ret_secret: the new client secret of a confidential client, or NULL for
 * a public one; the caller shows it once and wipes it. */
int application_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                       const ApplicationSpec *spec, ApplicationRecord **ret, char **ret_secret, TesseraError *e);
int application_update(Manager *m, Store *s, const Principal *a, const ApplicationRecord *app, const ApplicationSpec *spec,
                       TesseraError *e);
int application_rotate_secret(Manager *m, Store *s, const Principal *a, const ApplicationRecord *app, char **ret_secret,
                              TesseraError *e);
int application_delete(Manager *m, Store *s, const Principal *a, const ApplicationRecord *app, TesseraError *e);
int application_lookup(Manager *m, Store *s, const char *tenant, const char *name, ApplicationRecord **ret,
                       TesseraError *e);

/* Checks a presented client secret in constant time. */
bool application_verify_secret(const Manager *m, const ApplicationRecord *app, const char *secret);

/* A redirect URI we accept for registration: https, http only to a
 * loopback host (RFC 8252), or a private-use scheme; no fragment. */
bool application_valid_redirect_uri(const char *uri);

/* "app@tenant" for logs and audit targets. */
char *application_qualified_name(const ApplicationRecord *app);
