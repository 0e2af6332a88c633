/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's API keys, shared by every face: validation, authorization,
 * the change and its audit event in one transaction, and the check of a
 * presented key.
 *
 * A key's text is "<kind>_<env>_<id>_<secret>": tsk_ for a secret key (a
 * program's, with scopes, seed 001's per-environment keys), tpk_ for a
 * publishable one (an application's, usable in a browser for end-user
 * sign-up and sign-in from the application's allowed origins only). <env>
 * is a label ("prod", "dev"); <id> is the key's public id (16 hex
 * digits, "key_<id>" in the API) that finds its row in one indexed read;
 * <secret> is 256 bits from the kernel's random source. The key is shown
 * once; the store keeps only an HMAC of its whole text under a key derived
 * from the server's master key (like client secrets), compared in constant
 * time. Rotation makes a new key with the same attributes and ends the old
 * one at once or after an overlap. */

#include "change.h"
#include "manager.h"
#include "store-api-key.h"

#define API_KEY_MAX_SCOPES 16
#define API_KEY_NAME_MAX 100
/* How long a rotated key may keep working, at most. */
#define API_KEY_OVERLAP_MAX_SEC (30LL * 24 * 3600)
/* The longest lifetime a key may be given, in seconds (10 years). */
#define API_KEY_LIFETIME_MAX_SEC (3650LL * 24 * 3600)
/* last_used_usec is written at most this often per key: a use is a read,
 * not a write per request. */
#define API_KEY_TOUCH_INTERVAL_USEC (60LL * 1000000)

typedef struct ApiKeySpec {
        ApiKeyKind kind;
        const char *env;              /* NULL: "prod" */
        const char *name;             /* a label; NULL: none */
        char **scopes;                /* secret keys: a subset of the policy's scopes */
        const char *application;      /* name of the tenant's application; publishable keys need one */
        int64_t lifetime_sec;         /* 0: never expires */
} ApiKeySpec;

/* "tsk_prod_0123..._...": the kind, env and public id of a key's text,
 * without looking anything up. -EINVAL when it is not a key's shape. */
int api_key_parse(const char *text, ApiKeyKind *ret_kind, char ret_env[static API_KEY_ENV_MAX + 1],
                  char ret_key_id[static API_KEY_ID_LEN + 1]);
/* True for text that looks like one of our keys (its prefix only). */
bool api_key_text_plausible(const char *text);

/* Makes a key; *ret_key is its text, to be shown once and wiped. */
int api_key_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const ApiKeySpec *spec,
                   ApiKeyRecord **ret, char **ret_key, TesseraError *e);
/* The tenant's key by its API id ("key_0123..."). */
int api_key_lookup(Store *s, const TenantRecord *t, const char *id, ApiKeyRecord **ret, TesseraError *e);
/* Ends the key now. -EALREADY when it has ended already. */
int api_key_revoke(Manager *m, Store *s, const Principal *a, const ApiKeyRecord *k, TesseraError *e);
/* A new key like k (same kind, env, name, scopes, application, lifetime);
 * k keeps working for overlap_sec more seconds (0: ends now). -EALREADY
 * when k was revoked or rotated already. */
int api_key_rotate(Manager *m, Store *s, const Principal *a, const ApiKeyRecord *k, int64_t overlap_sec,
                   ApiKeyRecord **ret, char **ret_key, TesseraError *e);

/* The key of a presented text: -EKEYREJECTED when it is no key of ours
 * (malformed, unknown, wrong secret), -EKEYREVOKED when revoked or
 * rotated (past its overlap), -EKEYEXPIRED when expired. */
int api_key_authenticate(Manager *m, Store *s, const char *text, int64_t now_usec, ApiKeyRecord **ret);

/* "active", "rotating" (rotated, in its overlap), "revoked" or "expired". */
const char *api_key_state(const ApiKeyRecord *k, int64_t now_usec);
/* "key_0123456789abcdef" into buf. */
char *api_key_public_id(const ApiKeyRecord *k, char buf[static API_KEY_ID_LEN + 5]);
/* The principal a key stands for; borrows from k. */
Principal api_key_principal(const ApiKeyRecord *k, const char *channel, const char *remote, const char *name);
