/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "api-key.h"

#include <stdlib.h>

#include "application.h"
#include "log.h"
#include "names.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

/* The digest's context: a key's HMAC is no client secret's. */
#define DIGEST_CONTEXT "api-key"
/* 32 random bytes, base64url without padding. */
#define SECRET_LEN 43

static const char *kind_prefix(ApiKeyKind k) {
        return k == API_KEY_SECRET ? "tsk_" : k == API_KEY_PUBLISHABLE ? "tpk_" : NULL;
}

static bool valid_env(const char *env) {
        size_t n = strlen(env);

        if (n == 0 || n > API_KEY_ENV_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((env[i] >= 'a' && env[i] <= 'z') || (env[i] >= '0' && env[i] <= '9')))
                        return false;
        return true;
}

bool api_key_text_plausible(const char *text) {
        return text && (strneq(text, "tsk_", 4) || strneq(text, "tpk_", 4));
}

int api_key_parse(const char *text, ApiKeyKind *ret_kind, char ret_env[static API_KEY_ENV_MAX + 1],
                  char ret_key_id[static API_KEY_ID_LEN + 1]) {
        const char *env, *id, *secret;
        char e[API_KEY_ENV_MAX + 1];
        ApiKeyKind kind;
        size_t n;

        if (!text || strlen(text) > 128)
                return -EINVAL;
        if (strneq(text, "tsk_", 4))
                kind = API_KEY_SECRET;
        else if (strneq(text, "tpk_", 4))
                kind = API_KEY_PUBLISHABLE;
        else
                return -EINVAL;
        env = text + 4;
        n = strcspn(env, "_");
        if (n == 0 || n > API_KEY_ENV_MAX || env[n] != '_')
                return -EINVAL;
        memcpy(e, env, n);
        e[n] = '\0';
        if (!valid_env(e))
                return -EINVAL;
        id = env + n + 1;
        if (strspn(id, "0123456789abcdef") != API_KEY_ID_LEN || id[API_KEY_ID_LEN] != '_')
                return -EINVAL;
        secret = id + API_KEY_ID_LEN + 1;
        /* base64url, as token_random() makes it: not every character a
         * token may hold elsewhere ('.', '~'). */
        if (strlen(secret) != SECRET_LEN ||
            strspn(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != SECRET_LEN)
                return -EINVAL;

        *ret_kind = kind;
        memcpy(ret_env, e, n + 1);
        memcpy(ret_key_id, id, API_KEY_ID_LEN);
        ret_key_id[API_KEY_ID_LEN] = '\0';
        return 0;
}

char *api_key_public_id(const ApiKeyRecord *k, char buf[static API_KEY_ID_LEN + 5]) {
        snprintf(buf, API_KEY_ID_LEN + 5, "key_%s", k->key_id);
        return buf;
}

const char *api_key_state(const ApiKeyRecord *k, int64_t now_usec) {
        if (k->revoked_usec > 0 && k->revoked_usec <= now_usec)
                return "revoked";
        if (k->expires_usec > 0 && k->expires_usec <= now_usec)
                return "expired";
        return k->revoked_usec > 0 ? "rotating" : "active";
}

Principal api_key_principal(const ApiKeyRecord *k, const char *channel, const char *remote, const char *name) {
        return (Principal) {
                .kind = k->kind == API_KEY_PUBLISHABLE ? PRINCIPAL_PUBLISHABLE_KEY : PRINCIPAL_API_KEY,
                .channel = channel,
                .remote = remote,
                .name = name,
                .uid = -1,
                .tenant_id = k->tenant_id,
                .application_id = k->application_id,
                .scopes = k->kind == API_KEY_SECRET ? k->scopes : NULL,
        };
}

static int key_target(const char *key_id, const char *tenant, char **ret) {
        return asprintf(ret, "key_%s@%s", key_id, tenant) < 0 ? -ENOMEM : 0;
}

/* The scopes, checked: each one the policy asks of keys, none twice. */
static int join_scopes(char **scopes, char **ret, TesseraError *e) {
        size_t n = strv_length(scopes);

        if (n > API_KEY_MAX_SCOPES)
                return tessera_error_set(e, -E2BIG, "At most %d scopes may be given.", API_KEY_MAX_SCOPES);
        for (size_t i = 0; i < n; i++) {
                if (!policy_scope_known(scopes[i]))
                        return tessera_error_set(e, -EINVAL,
                                                 "Unknown scope '%.64s': give scopes such as tessera:users:read or "
                                                 "tessera:users:write.",
                                                 scopes[i]);
                for (size_t j = 0; j < i; j++)
                        if (streq(scopes[i], scopes[j]))
                                return tessera_error_set(e, -EINVAL, "%.64s is given twice.", scopes[i]);
        }
        *ret = strv_join_spaces(scopes);
        return *ret ? 0 : tessera_error_set(e, -ENOMEM, "Out of memory.");
}

static bool valid_label(const char *s) {
        if (strlen(s) > API_KEY_NAME_MAX || !utf8_is_valid(s))
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

/* A new key's text and its row (not stored yet). */
static int make_key(Manager *m, ApiKeyRecord *k, char **ret_text) {
        _cleanup_(erase_and_freep) char *secret = NULL, *text = NULL;
        int r;

        r = token_random_hex(API_KEY_ID_LEN / 2, k->key_id, sizeof(k->key_id));
        if (r >= 0)
                r = token_random(TOKEN_RANDOM_BYTES, &secret);
        if (r < 0)
                return r;
        if (asprintf(&text, "%s%s_%s_%s", kind_prefix(k->kind), k->env, k->key_id, secret) < 0) {
                text = NULL;
                return -ENOMEM;
        }
        r = secret_key_digest(m->secret_key, DIGEST_CONTEXT, text, strlen(text), k->digest);
        if (r < 0)
                return r;
        *ret_text = TAKE_PTR(text);
        return 0;
}

/* Stores k (and, for a rotation, ends the old one) with its audit event. */
static int store_new_key(Store *s, const Principal *a, const char *action, const ApiKeyRecord *k,
                         const ApiKeyRecord *rotated, int64_t rotated_until_usec, const char *target,
                         TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_api_key_add(s, k, NULL);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the new key.");
        if (rotated) {
                r = store_api_key_set_revoked(s, rotated->id, rotated_until_usec, k->key_id);
                if (r == -ENOENT)
                        /* Rotated or revoked since it was read: the new key goes. */
                        return tessera_error_set(e, -EALREADY, "The key was rotated or revoked meanwhile.");
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to end the rotated key.");
        }
        return change_commit(&txn, a, action, k->tenant, target, NULL, e);
}

int api_key_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const ApiKeySpec *spec,
                   ApiKeyRecord **ret, char **ret_key, TesseraError *e) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = calloc(1, sizeof(ApiKeyRecord));
        _cleanup_(application_record_unrefp) ApplicationRecord *app = NULL;
        _cleanup_(erase_and_freep) char *text = NULL;
        _cleanup_free_ char *target = NULL;
        const char *env = spec->env ?: "prod";
        int r;

        if (!k)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_API_KEY_CREATE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;

        k->kind = spec->kind;
        k->tenant_id = t->id;
        k->created_usec = now_realtime_usec();
        if (!(k->tenant = strdup(t->slug)) || !(k->name = strdup(strempty(spec->name))))
                return tessera_error_set(e, -ENOMEM, "Out of memory.");

        if (!kind_prefix(spec->kind))
                r = tessera_error_set(e, -EINVAL, "A key is secret or publishable.");
        else if (!valid_env(env))
                r = tessera_error_set(e, -EINVAL,
                                      "'%.32s' is not a valid environment: use 1 to %d lower-case letters and digits, "
                                      "like prod or dev.",
                                      env, API_KEY_ENV_MAX);
        else if (!valid_label(k->name))
                r = tessera_error_set(e, -EINVAL, "A key's name is at most %d characters, without control characters.",
                                      API_KEY_NAME_MAX);
        else if (spec->lifetime_sec < 0 || (spec->lifetime_sec > 0 && spec->lifetime_sec < 60) ||
                 spec->lifetime_sec > API_KEY_LIFETIME_MAX_SEC)
                r = tessera_error_set(e, -ERANGE, "A key's lifetime is from 60 seconds to %lld days.",
                                      API_KEY_LIFETIME_MAX_SEC / 86400);
        else if (spec->kind == API_KEY_SECRET && strv_length(spec->scopes) == 0)
                r = tessera_error_set(e, -EINVAL, "A secret key needs at least one scope, like tessera:users:read.");
        else if (spec->kind == API_KEY_PUBLISHABLE && strv_length(spec->scopes) > 0)
                r = tessera_error_set(e, -EINVAL,
                                      "A publishable key has no scopes: it signs end users up and in, nothing else.");
        else if (spec->kind == API_KEY_PUBLISHABLE && !spec->application)
                r = tessera_error_set(e, -EINVAL, "A publishable key belongs to an application: give one.");
        else
                r = join_scopes(spec->scopes, &k->scopes, e);
        if (r >= 0 && spec->application) {
                r = store_application_get(s, t->id, spec->application, &app);
                if (r == -ENOENT)
                        r = tessera_error_set(e, -EINVAL, "The tenant has no application '%.64s'.", spec->application);
                else if (r < 0)
                        r = tessera_error_set(e, r, "Failed to look up application '%.64s'.", spec->application);
                else
                        k->application_id = app->id;
        }
        if (r >= 0) {
                snprintf(k->env, sizeof(k->env), "%s", env);
                if (spec->lifetime_sec > 0)
                        k->expires_usec = k->created_usec + spec->lifetime_sec * (int64_t) USEC_PER_SEC;
                r = make_key(m, k, &text);
                if (r < 0)
                        tessera_error_set(e, r, "Failed to make a key.");
        }
        if (r >= 0 && key_target(k->key_id, t->slug, &target) < 0)
                r = tessera_error_set(e, -ENOMEM, "Out of memory.");
        if (r >= 0)
                r = store_new_key(s, a, "api-key.create", k, NULL, 0, target, e);
        if (r < 0) {
                change_audit_failure(s, a, "api-key.create", t->slug, target ?: t->slug, e);
                return r;
        }

        log_info("Created %s API key %s (%s).", api_key_kind_to_string(k->kind), target, k->env);
        if (ret) {
                r = store_api_key_get_by_key_id(s, k->key_id, ret);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to read the new key back.");
        }
        if (ret_key)
                *ret_key = TAKE_PTR(text);
        return 0;
}

int api_key_lookup(Store *s, const TenantRecord *t, const char *id, ApiKeyRecord **ret, TesseraError *e) {
        ApiKeyRecord *k = NULL;
        int r;

        /* "key_" and 16 hex digits; anything else is no key's id. */
        if (!id || !strneq(id, "key_", 4) || strlen(id + 4) != API_KEY_ID_LEN ||
            strspn(id + 4, "0123456789abcdef") != API_KEY_ID_LEN)
                return tessera_error_set(e, -ENOENT, "No such key.");
        r = store_api_key_get_by_key_id(s, id + 4, &k);
        if (r == -ENOENT || (r >= 0 && k->tenant_id != t->id)) {
                /* Another tenant's key is no key of this one. */
                api_key_record_free(k);
                return tessera_error_set(e, -ENOENT, "No such key.");
        }
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up the key.");
        *ret = k;
        return 0;
}

int api_key_revoke(Manager *m, Store *s, const Principal *a, const ApiKeyRecord *k, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = NULL;
        int64_t now = now_realtime_usec();
        int r;

        if (key_target(k->key_id, k->tenant, &target) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_API_KEY_REVOKE, policy_target_tenant(k->tenant_id), k->tenant, target, e);
        if (r < 0)
                return r;
        if (k->revoked_usec > 0 && k->revoked_usec <= now)
                r = tessera_error_set(e, -EALREADY, "The key was revoked already.");
        else if ((r = change_begin(s, &txn, e)) >= 0) {
                r = store_api_key_set_revoked(s, k->id, now, NULL);
                if (r < 0)
                        r = tessera_error_set(e, r, "Failed to revoke the key.");
                else
                        r = change_commit(&txn, a, "api-key.revoke", k->tenant, target, NULL, e);
        }
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, a, "api-key.revoke", k->tenant, target, e);
                return r;
        }
        (void) m;
        log_info("Revoked API key %s.", target);
        return 0;
}

int api_key_rotate(Manager *m, Store *s, const Principal *a, const ApiKeyRecord *k, int64_t overlap_sec,
                   ApiKeyRecord **ret, char **ret_key, TesseraError *e) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *n = calloc(1, sizeof(ApiKeyRecord));
        _cleanup_(erase_and_freep) char *text = NULL;
        _cleanup_free_ char *target = NULL;
        int64_t now = now_realtime_usec();
        int r;

        if (!n || key_target(k->key_id, k->tenant, &target) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_API_KEY_ROTATE, policy_target_tenant(k->tenant_id), k->tenant, target, e);
        if (r < 0)
                return r;

        if (k->revoked_usec > 0)
                r = tessera_error_set(e, -EALREADY, "The key was %s already; rotate its successor%s%s.",
                                      k->replaced_by[0] ? "rotated" : "revoked", k->replaced_by[0] ? " key_" : "",
                                      k->replaced_by);
        else if (k->expires_usec > 0 && k->expires_usec <= now)
                r = tessera_error_set(e, -EALREADY, "The key has expired; make a new one.");
        else if (overlap_sec < 0 || overlap_sec > API_KEY_OVERLAP_MAX_SEC)
                r = tessera_error_set(e, -ERANGE, "The overlap is from 0 to %lld seconds.", API_KEY_OVERLAP_MAX_SEC);
        if (r >= 0) {
                n->kind = k->kind;
                n->tenant_id = k->tenant_id;
                n->application_id = k->application_id;
                n->created_usec = now;
                /* The same lifetime as the key it replaces, from now. */
                if (k->expires_usec > 0)
                        n->expires_usec = now + (k->expires_usec - k->created_usec);
                memcpy(n->env, k->env, sizeof(n->env));
                if (!(n->tenant = strdup(k->tenant)) || !(n->name = strdup(k->name)) ||
                    !(n->scopes = strdup(k->scopes)))
                        r = tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        if (r >= 0 && (r = make_key(m, n, &text)) < 0)
                tessera_error_set(e, r, "Failed to make a key.");
        if (r >= 0)
                r = store_new_key(s, a, "api-key.rotate", n, k, now + overlap_sec * (int64_t) USEC_PER_SEC, target, e);
        if (r < 0) {
                change_audit_failure(s, a, "api-key.rotate", k->tenant, target, e);
                return r;
        }
        log_info("Rotated API key %s to key_%s; the old one works for %" PRIi64 " more seconds.", target, n->key_id,
                 overlap_sec);
        if (ret) {
                r = store_api_key_get_by_key_id(s, n->key_id, ret);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to read the new key back.");
        }
        if (ret_key)
                *ret_key = TAKE_PTR(text);
        return 0;
}

int api_key_authenticate(Manager *m, Store *s, const char *text, int64_t now_usec, ApiKeyRecord **ret) {
        _cleanup_(api_key_record_freep) ApiKeyRecord *k = NULL;
        char env[API_KEY_ENV_MAX + 1], key_id[API_KEY_ID_LEN + 1];
        uint8_t d[TOKEN_DIGEST_SIZE];
        ApiKeyKind kind;
        bool ok;
        int r;

        if (api_key_parse(text, &kind, env, key_id) < 0)
                return -EKEYREJECTED;
        r = store_api_key_get_by_key_id(s, key_id, &k);
        if (r == -ENOENT || r == -EBADMSG)
                return -EKEYREJECTED;
        if (r < 0)
                return r;
        /* The digest covers the whole text: kind, env and id too. */
        r = secret_key_digest(m->secret_key, DIGEST_CONTEXT, text, strlen(text), d);
        if (r < 0)
                return r;
        ok = memeq_consttime(d, k->digest, TOKEN_DIGEST_SIZE) && k->kind == kind;
        explicit_bzero(d, sizeof(d));
        if (!ok)
                return -EKEYREJECTED;
        if (k->revoked_usec > 0 && k->revoked_usec <= now_usec)
                return -EKEYREVOKED;
        if (k->expires_usec > 0 && k->expires_usec <= now_usec)
                return -EKEYEXPIRED;
        *ret = TAKE_PTR(k);
        return 0;
}
