/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's API keys (api-key.h): part of the narrow store interface of
 * store.h, kept in a header of its own. Same conventions: 0 or a negative
 * errno, -ENOENT when a record does not exist, out-parameters written only
 * on success.
 *
 * Only a keyed digest of a key is stored. A key's public id (part of its
 * text) is UNIQUE: finding the row of a presented key is one indexed read. */

#include <stdint.h>

#include "store.h"
#include "token.h"

typedef enum ApiKeyKind {
        API_KEY_SECRET,           /* tsk_: a program's, with scopes */
        API_KEY_PUBLISHABLE,      /* tpk_: an application's, in browsers: end-user sign-up and sign-in */
        _API_KEY_KIND_MAX,
        _API_KEY_KIND_INVALID = -EINVAL,
} ApiKeyKind;

#define API_KEY_ID_LEN 16         /* hex characters of the public id */
#define API_KEY_ENV_MAX 16

typedef struct ApiKeyRecord {
        int64_t id;
        char key_id[API_KEY_ID_LEN + 1];
        int64_t tenant_id;
        char *tenant;             /* the tenant's slug */
        ApiKeyKind kind;
        char env[API_KEY_ENV_MAX + 1];
        char *name;               /* a label, "" when none */
        char *scopes;             /* space-separated, "" for none */
        int64_t application_id;   /* 0: bound to none */
        char *application;        /* its name, or NULL */
        uint8_t digest[TOKEN_DIGEST_SIZE];
        int64_t created_usec;
        int64_t expires_usec;     /* 0: never */
        int64_t revoked_usec;     /* 0: not; may lie ahead (a rotation's overlap) */
        int64_t last_used_usec;   /* 0: never, to a minute or so */
        char replaced_by[API_KEY_ID_LEN + 1];   /* "" unless rotated */
} ApiKeyRecord;

ApiKeyRecord *api_key_record_free(ApiKeyRecord *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(ApiKeyRecord *, api_key_record_free);
void api_key_record_array_free(ApiKeyRecord **a, size_t n);

const char *api_key_kind_to_string(ApiKeyKind k);
ApiKeyKind api_key_kind_from_string(const char *s);

/* Adds k (its id and the joined names are ignored); *ret_id the new row's. */
int store_api_key_add(Store *s, const ApiKeyRecord *k, int64_t *ret_id);
/* By the public id of its text, of any tenant: the one read a presented
 * key costs. */
int store_api_key_get_by_key_id(Store *s, const char *key_id, ApiKeyRecord **ret);
/* A page of the tenant's keys in the order they were made, after the row
 * after_id (0: from the first), at most limit. */
int store_api_key_page(Store *s, int64_t tenant_id, int64_t after_id, unsigned limit, ApiKeyRecord ***ret,
                       size_t *ret_n);
/* Sets when the key stops working (and, when given, its successor): -ENOENT
 * when no row has that id, or, with a successor, when the key was revoked
 * or replaced already (a key is rotated once). */
int store_api_key_set_revoked(Store *s, int64_t id, int64_t revoked_usec, const char *replaced_by);
/* Records a use at now_usec unless a later one is recorded. */
int store_api_key_touch(Store *s, int64_t id, int64_t now_usec);
