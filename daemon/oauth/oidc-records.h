/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The records of the OAuth 2.0 / OpenID Connect side: applications (OAuth
 * clients), stored signing keys, SSO sessions, authorization codes,
 * refresh tokens. Secrets appear here only as digests. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "signing-key.h"
#include "token.h"

typedef struct ApplicationRecord {
        unsigned n_ref;
        int64_t id;
        int64_t tenant_id;
        char *tenant;             /* the tenant's slug */
        char *name;
        char *client_id;
        bool has_secret;          /* confidential clients */
        uint8_t secret_digest[TOKEN_DIGEST_SIZE];
        bool public_client;       /* PKCE, no secret */
        bool first_party;         /* no consent screen */
        bool pkce_optional;       /* a confidential client opted out of PKCE (OAuth 2.1 asks it of all) */
        char **redirect_uris;
        char **post_logout_redirect_uris;
        char **grants;            /* authorization_code, refresh_token, client_credentials */
        char **scopes;            /* what it may ask for */
        char **allowed_origins;   /* browser origins of its pages: CORS, publishable keys */
        JwtAlg signing_alg;       /* of its ID and access tokens */
        int64_t secret_changed_usec;
        int64_t created_usec;
        int64_t changed_usec;
} ApplicationRecord;

ApplicationRecord *application_record_new(void);
ApplicationRecord *application_record_ref(ApplicationRecord *a);
ApplicationRecord *application_record_unref(ApplicationRecord *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApplicationRecord *, application_record_unref);
void application_record_array_free(ApplicationRecord **a, size_t n);

bool application_has_grant(const ApplicationRecord *a, const char *grant);
bool application_allows_scope(const ApplicationRecord *a, const char *scope);
bool application_has_redirect_uri(const ApplicationRecord *a, const char *uri);
bool application_has_post_logout_uri(const ApplicationRecord *a, const char *uri);
/* True when origin ("https://app.example") is one of the application's
 * allowed origins, compared as the browser sends it (case-insensitively:
 * schemes and hosts are). */
bool application_allows_origin(const ApplicationRecord *a, const char *origin);

/* A signing key as stored: public part in clear, private part sealed. */
typedef struct StoredSigningKey {
        int64_t id;
        char *kid;
        JwtAlg alg;
        char *public_jwk;         /* JSON text */
        uint8_t *sealed;
        size_t sealed_size;
        int64_t created_usec;
        int64_t retired_usec;     /* 0: active */
} StoredSigningKey;

void stored_signing_key_array_free(StoredSigningKey *a, size_t n);

/* A single sign-on (SSO) session: one sign-in of a browser at the provider,
 * shared by every app the user then opens. Not to be confused with the
 * host login sessions (host-session.h): this one lives in a cookie. sid is
 * public (the ID token's "sid"). */
typedef struct SsoSession {
        int64_t id;
        char sid[64];
        int64_t tenant_id;
        int64_t user_id;
        char amr[32];             /* "pwd" or "pwd otp" */
        int64_t auth_time_usec;
        int64_t expires_usec;
        int64_t revoked_usec;
} SsoSession;

typedef struct AuthorizationCode {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t application_id;
        int64_t session_id;
        char *redirect_uri;
        char *scope;
        char *nonce;              /* NULL when the request had none */
        char *code_challenge;     /* NULL when the request had none */
        int64_t created_usec;
        int64_t expires_usec;
        int64_t used_usec;
        char *issued_jti;         /* what redeeming it issued, to revoke on replay */
        char *issued_family;
} AuthorizationCode;

void authorization_code_done(AuthorizationCode *c);

typedef struct RefreshToken {
        int64_t id;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        char family[64];          /* the lineage of rotations */
        int64_t application_id;
        int64_t session_id;       /* 0: none */
        int64_t user_id;
        char *scope;
        int64_t auth_time_usec;
        char amr[32];
        int64_t created_usec;
        int64_t idle_expires_usec;
        int64_t absolute_expires_usec;
        int64_t rotated_usec;     /* 0: current */
        int64_t revoked_usec;     /* 0: not revoked */
} RefreshToken;

void refresh_token_done(RefreshToken *t);

/* A live refresh family of a user as the user's session list shows it:
 * one application's sign-in, through its current (last rotated) token. */
typedef struct RefreshFamily {
        char family[64];
        int64_t current_id;       /* the current token's id */
        int64_t application_id;
        char *application;        /* its name */
        char *client_id;
        int64_t session_id;       /* the SSO session it came from; 0: none */
        char amr[32];
        int64_t started_usec;     /* the family's first token */
        int64_t used_usec;        /* the current token's issue: the last refresh */
        int64_t idle_expires_usec;
        int64_t absolute_expires_usec;
} RefreshFamily;

void refresh_family_array_free(RefreshFamily *a, size_t n);

/* Space-separated lists (scopes, grants) to and from string lists. */
int strv_split_spaces(const char *s, size_t max_items, char ***ret);
char *strv_join_spaces(char * const *l);
bool strv_contains(char * const *l, const char *s);
