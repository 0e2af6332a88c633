/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store's functions for applications, signing keys and the state of the
 * OpenID provider: part of the narrow store interface of store.h, kept in a
 * header of their own. Same conventions: 0 or a negative errno, -ENOENT
 * when a record does not exist, out-parameters written only on success.
 * Functions that change several rows need a transaction (store_begin()). */

#include "oidc-records.h"
#include "store.h"

/* Applications */
int store_application_create(Store *s, const ApplicationRecord *a, ApplicationRecord **ret);
int store_application_get(Store *s, int64_t tenant_id, const char *name, ApplicationRecord **ret);
int store_application_get_by_client_id(Store *s, const char *client_id, ApplicationRecord **ret);
int store_application_get_by_id(Store *s, int64_t id, ApplicationRecord **ret);
int store_application_list(Store *s, int64_t tenant_id, ApplicationRecord ***ret, size_t *ret_n);
/* Writes every mutable field (all but id, tenant, name, client id). */
/* One page of a tenant's applications by name, after after_name ("" or
 * NULL: from the first), at most limit. */
int store_application_page(Store *s, int64_t tenant_id, const char *after_name, unsigned limit,
                           ApplicationRecord ***ret, size_t *ret_n);
int store_application_update(Store *s, const ApplicationRecord *a);
int store_application_delete(Store *s, int64_t id);

/* Signing keys. Listing returns the active keys and the retired ones
 * retired after retired_after_usec, newest first. */
int store_signing_key_add(Store *s, int64_t tenant_id, const StoredSigningKey *k);
int store_signing_key_list(Store *s, int64_t tenant_id, int64_t retired_after_usec, StoredSigningKey **ret,
                           size_t *ret_n);
/* Retires the active keys of a tenant as of now. */
int store_signing_key_retire_all(Store *s, int64_t tenant_id, int64_t now_usec);
/* Forgets keys retired before the given time. */
int store_signing_key_prune(Store *s, int64_t tenant_id, int64_t retired_before_usec);

/* SSO sessions (a browser's sign-in at the provider, not the host login
 * sessions of store.h), authorization codes, refresh tokens, revocations
 * and consents. Every lookup by a digest, an id or a sid takes the tenant it
 * is made for and finds nothing of another tenant (-ENOENT): no artefact
 * of one tenant is ever accepted in another, and a caller can't forget to
 * check. */
int store_sso_session_create(Store *s, const SsoSession *sess, const uint8_t cookie_digest[TOKEN_DIGEST_SIZE],
                             int64_t *ret_id);
int store_sso_session_get_by_cookie(Store *s, int64_t tenant_id, const uint8_t cookie_digest[TOKEN_DIGEST_SIZE],
                                    SsoSession *ret);
int store_sso_session_get_by_id(Store *s, int64_t tenant_id, int64_t id, SsoSession *ret);
int store_sso_session_get_by_sid(Store *s, int64_t tenant_id, const char *sid, SsoSession *ret);
/* Marks the session revoked and revokes every refresh token of it: its
 * access tokens are refused from then on too (store_token_revoked()). */
int store_sso_session_revoke(Store *s, int64_t tenant_id, int64_t id, int64_t now_usec);
/* Ends every SSO session of the user and revokes every refresh token
 * (every family) they hold in the tenant: what a password reset does.
 * Access tokens issued from those sessions are refused from then on. */
int store_user_revoke_sessions(Store *s, int64_t tenant_id, int64_t user_id, int64_t now_usec);

/* The live sessions (not revoked, not expired at now) of a user of the
 * tenant, newest first, at most max. */
int store_sso_session_list_user(Store *s, int64_t tenant_id, int64_t user_id, int64_t now_usec, size_t max,
                                SsoSession **ret, size_t *ret_n);
/* Moves the expiry of a live session of the tenant: -ENOENT when there is
 * none with id. */
int store_sso_session_set_expiry(Store *s, int64_t tenant_id, int64_t id, int64_t expires_usec);

/* Authorization codes */
int store_code_create(Store *s, const AuthorizationCode *c);
int store_code_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], AuthorizationCode *ret);
/* Claims the code for one redemption: 1 when this call got it, 0 when it
 * was used already or has expired. Records what the redemption issued. */
int store_code_claim(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], int64_t now_usec,
                     const char *jti, const char *family);

/* Refresh tokens */
int store_refresh_create(Store *s, const RefreshToken *t, int64_t *ret_id);
int store_refresh_get(Store *s, int64_t tenant_id, const uint8_t digest[TOKEN_DIGEST_SIZE], RefreshToken *ret);
int store_refresh_get_by_id(Store *s, int64_t tenant_id, int64_t id, RefreshToken *ret);
/* Marks the token rotated: 1 when it was current, 0 when not (any more).
 * id comes from one of the lookups above. */
int store_refresh_mark_rotated(Store *s, int64_t id, int64_t now_usec);
int store_refresh_revoke_family(Store *s, const char *family, int64_t now_usec);
/* The live refresh families of a user of the tenant (their current token
 * neither rotated, revoked nor expired at now), newest first, at most max. */
int store_refresh_family_list_user(Store *s, int64_t tenant_id, int64_t user_id, int64_t now_usec, size_t max,
                                   RefreshFamily **ret, size_t *ret_n);
/* Moves the idle expiry of a current token of the tenant: -ENOENT when
 * there is none with id. */
int store_refresh_set_idle_expiry(Store *s, int64_t tenant_id, int64_t id, int64_t idle_expires_usec);
/* True (1) when the family has been revoked as a whole. */
int store_refresh_family_revoked(Store *s, const char *family);

/* Access tokens revoked before their expiry, by jti. */
int store_revoked_token_add(Store *s, const char *jti, int64_t expires_usec);
/* 1 when the jti was revoked, or when sid (may be NULL: a token without a
 * session) names no live session of the tenant: revoked, or gone. */
int store_token_revoked(Store *s, int64_t tenant_id, const char *jti, const char *sid);

/* Consents: the scopes a user granted an application, both of the tenant
 * (-ENOENT otherwise, for set too). */
int store_consent_get(Store *s, int64_t tenant_id, int64_t user_id, int64_t application_id, char **ret_scope);
int store_consent_set(Store *s, int64_t tenant_id, int64_t user_id, int64_t application_id, const char *scope,
                      int64_t now_usec);

/* Removes expired codes, revocations and sessions. */
int store_oidc_purge(Store *s, int64_t now_usec);

/* SAVEPOINTs inside a transaction, so that one of several batched writes
 * can fail without undoing the others. */
int store_savepoint(Store *s);
int store_savepoint_release(Store *s);
int store_savepoint_rollback(Store *s);
