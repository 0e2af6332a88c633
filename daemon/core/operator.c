/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "operator.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "limiter.h"
#include "log.h"
#include "names.h"
#include "password.h"
#include "secret-box.h"
#include "token.h"
#include "totp.h"

static char *totp_context(const char *name, char buf[static 128]) {
        snprintf(buf, 128, "operator-totp:%s", name);
        return buf;
}

int operator_add(Manager *m, Store *s, const Principal *a, const char *name, const char *email,
                 const char *password_hash, char **ret_secret, char **ret_uri, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *secret32 = NULL, *uri = NULL, *target = NULL;
        uint8_t secret[TOTP_SECRET_SIZE];
        OperatorRecord o = {};
        char ctx[128];
        int r;

        if (asprintf(&target, "operator:%.64s", strempty(name)) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_OPERATOR_MANAGE, POLICY_TARGET_NONE, NULL, target, e);
        if (r < 0)
                return r;
        if (!valid_user_name(name))
                r = tessera_error_set(e, -EINVAL,
                                      "'%.64s' is not a valid operator name: begin with a lower-case letter or "
                                      "'_', then use lower-case letters, digits, '_' or '-', at most %d in all.",
                                      strempty(name), NAME_MAX_LEN);
        else if (!valid_email(email))
                r = tessera_error_set(e, -EINVAL, "'%.80s' is not a valid e-mail address.", strempty(email));
        else if (isempty(password_hash))
                r = tessera_error_set(e, -EINVAL, "An operator needs a password.");
        if (r >= 0) {
                r = totp_secret_generate(secret);
                if (r >= 0)
                        r = totp_secret_to_base32(secret, sizeof(secret), &secret32);
                if (r >= 0)
                        r = totp_uri(OPERATOR_TOTP_ISSUER, name, secret32, &uri);
                if (r >= 0)
                        r = secret_box_seal(m->secret_key, totp_context(name, ctx), secret, sizeof(secret),
                                            &o.totp_secret_box, &o.totp_secret_box_len);
                explicit_bzero(secret, sizeof(secret));
                if (r < 0)
                        tessera_error_set(e, r, "Failed to make the operator's TOTP seed.");
        }
        if (r >= 0)
                r = change_begin(s, &txn, e);
        if (r >= 0) {
                o.name = (char *) name;
                o.email = (char *) email;
                o.password_hash = (char *) password_hash;
                r = store_operator_create(s, &o, NULL);
                if (r == -EEXIST)
                        tessera_error_set(e, r, "Operator '%s' already exists.", name);
                else if (r < 0)
                        tessera_error_set(e, r, "Failed to store operator '%s'.", name);
        }
        free(o.totp_secret_box);
        if (r >= 0)
                r = change_commit(&txn, a, "operator.add", NULL, target, NULL, e);
        if (r < 0) {
                if (secret32)
                        explicit_bzero(secret32, strlen(secret32));
                txn = NULL;
                store_rollback(s);
                change_audit_failure(s, a, "operator.add", NULL, target, e);
                return r;
        }
        log_info("Added platform operator %s.", name);
        *ret_secret = TAKE_PTR(secret32);
        *ret_uri = TAKE_PTR(uri);
        return 0;
}

int operator_list(Manager *m, Store *s, const Principal *a, OperatorRecord **ret, size_t *ret_n, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_OPERATOR_MANAGE, POLICY_TARGET_NONE, NULL, "operators", e);
        if (r < 0)
                return r;
        r = store_operator_list(s, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the operators.");
        return 0;
}

int operator_remove(Manager *m, Store *s, const Principal *a, const char *name, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = NULL;
        int r;

        if (asprintf(&target, "operator:%.64s", strempty(name)) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_OPERATOR_MANAGE, POLICY_TARGET_NONE, NULL, target, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, e);
        if (r >= 0) {
                r = store_operator_delete(s, strempty(name));
                if (r == -ENOENT)
                        tessera_error_set(e, r, "No operator is named '%.64s'.", strempty(name));
                else if (r < 0)
                        tessera_error_set(e, r, "Failed to remove operator '%.64s'.", strempty(name));
        }
        if (r >= 0)
                r = change_commit(&txn, a, "operator.remove", NULL, target, NULL, e);
        if (r < 0) {
                txn = NULL;
                store_rollback(s);
                change_audit_failure(s, a, "operator.remove", NULL, target, e);
                return r;
        }
        log_info("Removed platform operator %s; their tokens stop now.", name);
        return 0;
}

/* A new token with prefix, its digest, stored for t. */
static int make_token(Store *s, const char *prefix, const PlatformToken *t, char **ret) {
        _cleanup_free_ char *random = NULL;
        uint8_t digest[TOKEN_DIGEST_SIZE];
        char *token;
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &random);
        if (r < 0)
                return r;
        if (asprintf(&token, "%s%s", prefix, random) < 0)
                return -ENOMEM;
        explicit_bzero(random, strlen(random));
        token_digest(token, digest);
        r = store_platform_token_put(s, digest, t);
        if (r < 0) {
                explicit_bzero(token, strlen(token));
                free(token);
                return r;
        }
        *ret = token;
        return 0;
}

typedef struct VerifyJob {
        const char *password, *hash;
        int result;
} VerifyJob;

static void verify_work(void *userdata) {
        VerifyJob *j = userdata;

        j->result = password_verify(j->password, j->hash);
}

int operator_signin(Manager *m, Store *s, const Principal *caller, const char *name, const char *password,
                    const char *code, char **ret_token, int64_t *ret_expires_usec, unsigned *ret_retry_after,
                    TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = NULL;
        OperatorRecord o = {};
        uint64_t mono = now_monotonic_usec();
        int64_t now = now_realtime_usec(), step = 0;
        Principal who = *caller;
        VerifyJob job;
        unsigned wait;
        int r, found;

        if (asprintf(&target, "operator:%.64s", strempty(name)) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        wait = limiter_check(m->limiter, LIMIT_ADDRESS, caller->remote, mono, NULL);
        if (wait > 0) {
                *ret_retry_after = wait;
                tessera_error_set(e, -ETOOMANYREFS, "Too many failed sign-ins from this address; wait %u s.", wait);
                change_audit_failure(s, caller, "platform.signin", NULL, target, e);
                return -ETOOMANYREFS;
        }
        if (isempty(name) || isempty(password) || isempty(code)) {
                r = tessera_error_set(e, -EINVAL, "Give name, password and code.");
                change_audit_failure(s, caller, "platform.signin", NULL, target, e);
                return r;
        }

        found = store_operator_get(s, name, &o);
        if (found < 0 && found != -ENOENT)
                return tessera_error_set(e, found, "Failed to look up the operator.");
        /* An unknown name costs the time of a known one. */
        job = (VerifyJob) { .password = password, .hash = found >= 0 ? o.password_hash : m->dummy_hash };
        r = m->workers ? worker_pool_run(m->workers, verify_work, &job) : (verify_work(&job), 0);
        if (r < 0) {
                operator_record_done(&o);
                return tessera_error_set(e, r, "tesserad is busy; try again.");
        }
        /* password_verify(): 1 when it matches. */
        r = found >= 0 && job.result > 0 ? 0 : -EKEYREJECTED;

        if (r >= 0) {
                uint8_t *secret = NULL;
                size_t n = 0;
                char ctx[128];

                r = secret_box_open(m->secret_key, totp_context(o.name, ctx), o.totp_secret_box,
                                    o.totp_secret_box_len, &secret, &n);
                if (r >= 0) {
                        r = totp_verify(secret, n, code, totp_step_at(now), m->config->totp_window, o.totp_last_step,
                                        &step);
                        secret_free(secret, n);
                }
                if (r == -EINVAL || r == -ESTALE)
                        r = -EKEYREJECTED;
        }
        if (r >= 0)
                r = change_begin(s, &txn, e);
        if (r >= 0) {
                /* A code is spent once, whichever door saw it first. */
                r = store_operator_signed_in(s, o.id, step, now);
                if (r == -ESTALE)
                        r = -EKEYREJECTED;
        }
        if (r >= 0) {
                PlatformToken t = { .operator_id = o.id, .created_usec = now,
                                    .expires_usec = now + (int64_t) OPERATOR_TOKEN_LIFETIME_USEC };

                r = make_token(s, OPERATOR_TOKEN_PREFIX, &t, ret_token);
                if (r >= 0)
                        *ret_expires_usec = t.expires_usec;
        }
        if (r >= 0) {
                who.kind = PRINCIPAL_OPERATOR;
                who.name = o.name;
                who.operator_id = o.id;
                r = change_commit(&txn, &who, "platform.signin", NULL, target, NULL, e);
                if (r < 0) {
                        free(*ret_token);
                        *ret_token = NULL;
                }
        }
        operator_record_done(&o);
        if (r < 0) {
                txn = NULL;
                store_rollback(s);
                if (r == -EKEYREJECTED) {
                        limiter_fail(m->limiter, LIMIT_ADDRESS, caller->remote, mono);
                        tessera_error_set(e, r, "The name, password or code is not correct.");
                } else
                        tessera_error_set(e, r, "Failed to sign in.");
                change_audit_failure(s, caller, "platform.signin", NULL, target, e);
                return r;
        }
        log_info("Platform operator %s signed in from %s.", name, strna(caller->remote));
        return 0;
}

static bool reason_valid(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > IMPERSONATION_REASON_MAX_LEN || !utf8_is_valid(s))
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        /* Something more than blanks. */
        return strspn(s, " ") < n;
}

int operator_impersonate(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *reason,
                         char **ret_token, int64_t *ret_expires_usec, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *details = NULL;
        int64_t now = now_realtime_usec();
        PlatformToken grant = { .operator_id = a->operator_id, .tenant_id = t->id, .reason = (char *) reason,
                                .created_usec = now,
                                .expires_usec = now + (int64_t) IMPERSONATION_LIFETIME_USEC };
        json_t *j;
        int r;

        r = change_authorize(s, a, POLICY_PLATFORM_IMPERSONATE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        if (!reason_valid(reason))
                r = tessera_error_set(e, -EINVAL,
                                      "Say why: the reason (1 to %d characters of one line) is shown to the "
                                      "tenant's owners with everything done under it.",
                                      IMPERSONATION_REASON_MAX_LEN);
        if (r >= 0) {
                j = json_pack("{s:s, s:I}", "reason", reason, "expires_in", (json_int_t) (IMPERSONATION_LIFETIME_USEC /
                                                                                       USEC_PER_SEC));
                details = j ? json_dumps(j, JSON_COMPACT) : NULL;
                json_decref(j);
                r = details ? change_begin(s, &txn, e) : tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        if (r >= 0) {
                r = make_token(s, IMPERSONATION_TOKEN_PREFIX, &grant, ret_token);
                if (r < 0)
                        tessera_error_set(e, r == -EEXIST ? -EIO : r, "Failed to store the grant.");
        }
        if (r >= 0) {
                /* The grant's own event carries the reason too, so that the
                 * owners see it even if nothing is done under it. */
                Principal marked = *a;

                marked.kind = PRINCIPAL_IMPERSONATION;
                marked.tenant_id = t->id;
                marked.reason = reason;
                r = change_commit(&txn, &marked, "platform.impersonate", t->slug, t->slug, details, e);
                if (r < 0) {
                        free(*ret_token);
                        *ret_token = NULL;
                }
        }
        if (r < 0) {
                txn = NULL;
                store_rollback(s);
                change_audit_failure(s, a, "platform.impersonate", t->slug, t->slug, e);
                return r;
        }
        log_notice("Platform operator %s acts as an admin of tenant %s until %" PRIi64 ": %s", strna(a->name),
                   t->slug, grant.expires_usec, reason);
        *ret_expires_usec = grant.expires_usec;
        return 0;
}

bool operator_token_like(const char *token) {
        return token && (strneq(token, OPERATOR_TOKEN_PREFIX, strlen(OPERATOR_TOKEN_PREFIX)) ||
                         strneq(token, IMPERSONATION_TOKEN_PREFIX, strlen(IMPERSONATION_TOKEN_PREFIX)));
}

int operator_token_principal(Store *s, const char *token, const char *channel, const char *remote,
                             PlatformToken *ret_token, Principal *ret) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        PlatformToken t = {};
        bool grant;
        int r;

        if (!operator_token_like(token) || strlen(token) > TOKEN_MAX_LEN || !token_is_plausible(token + 4))
                return -EKEYREJECTED;
        grant = strneq(token, IMPERSONATION_TOKEN_PREFIX, strlen(IMPERSONATION_TOKEN_PREFIX));
        token_digest(token, digest);
        r = store_platform_token_get(s, digest, now_realtime_usec(), &t);
        if (r == -ENOENT)
                return -EKEYREJECTED;
        if (r < 0)
                return r;
        /* The prefix must say what the row is: an operator token is never
         * a grant, nor the reverse. */
        if (grant != (t.tenant_id > 0)) {
                platform_token_done(&t);
                return -EKEYREJECTED;
        }
        *ret = (Principal) {
                .kind = grant ? PRINCIPAL_IMPERSONATION : PRINCIPAL_OPERATOR,
                .channel = channel,
                .remote = remote,
                .name = t.operator_name,
                .uid = -1,
                .tenant_id = t.tenant_id,
                .operator_id = t.operator_id,
                .reason = t.reason,
        };
        *ret_token = t;
        return 0;
}

int platform_tenants_list(Manager *m, Store *s, const Principal *a, const char *after_slug, size_t limit,
                          TenantRecord ***ret, size_t *ret_n, TesseraError *e) {
        TenantRecord **all = NULL;
        size_t n = 0, first = 0, k;
        int r;

        r = change_authorize(s, a, POLICY_TENANT_LIST, POLICY_TARGET_NONE, NULL, "tenants", e);
        if (r < 0)
                return r;
        /* Tenants are few next to users (one per organization): the
         * store's list, sorted by slug, cut into the page asked for. */
        r = store_tenant_list(s, &all, &n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the tenants.");
        while (after_slug && first < n && strcmp(all[first]->slug, after_slug) <= 0)
                first++;
        k = MIN(limit, n - first);
        for (size_t i = 0; i < first; i++)
                tenant_record_unref(all[i]);
        for (size_t i = first + k; i < n; i++)
                tenant_record_unref(all[i]);
        memmove(all, all + first, k * sizeof(TenantRecord *));
        *ret = all;
        *ret_n = k;
        return 0;
}

int platform_users_search(Manager *m, Store *s, const Principal *a, const char *prefix, const char *after_email,
                          int64_t after_id, size_t limit, UserRecord ***ret, size_t *ret_n, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_PLATFORM_USER_SEARCH, POLICY_TARGET_NONE, NULL, "users", e);
        if (r < 0)
                return r;
        if (!prefix || strlen(prefix) < PLATFORM_SEARCH_MIN_LEN || strlen(prefix) > PLATFORM_SEARCH_MAX_LEN ||
            !utf8_is_valid(prefix)) {
                r = tessera_error_set(e, -EINVAL, "Give email: the first %d to %d characters of an address.",
                                      PLATFORM_SEARCH_MIN_LEN, PLATFORM_SEARCH_MAX_LEN);
                change_audit_failure(s, a, "platform.user-search", NULL, "users", e);
                return r;
        }
        r = store_user_search_email(s, prefix, after_email, after_id, limit, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to search the users.");
        return 0;
}
