/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auth.h"

#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>

#include "auth-lockout.h"
#include "log.h"
#include "names.h"
#include "password.h"
#include "secret-box.h"
#include "workers.h"
#include "time-util.h"
#include "token.h"
#include "totp.h"
#include "user.h"

static bool streq_ptr(const char *a, const char *b) {
        return a && b ? streq(a, b) : a == b;
}

struct AuthAttempt {
        UserRecord *user;         /* NULL: unknown */
        char *target;
        char *password;
        char *code;
        char *hash;               /* the hash verified: the user's or the dummy */
        bool dummy;
        AuthTotpPolicy policy;
        bool allow_partial;
        int verify_result;        /* password_verify(): 1, 0, < 0; -EINPROGRESS before step 2 */

        /* rehash */
        const char *prefix;
        unsigned long cost;
        char *new_hash;
};

const char *auth_totp_context(int64_t user_id, char buf[static 32]) {
        snprintf(buf, 32, "totp:%" PRIi64, user_id);
        return buf;
}

const char *auth_backup_code_context(int64_t user_id, char buf[static 32]) {
        snprintf(buf, 32, "backup-code:%" PRIi64, user_id);
        return buf;
}

int auth_find_user(Manager *m, Store *s, const char *login, UserRecord **ret) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        const char *slug;
        int r;

        if (isempty(login) || split_qualified_name(login, name, tenant) < 0)
                return -ENOENT;
        slug = tenant[0] ? tenant : m->config->default_tenant;
        if (!slug || !config_tenant_visible(m->config, slug))
                return -ENOENT;
        r = store_tenant_get(s, slug, &t);
        if (r < 0)
                return r;
        return store_user_get(s, t->id, name, ret);
}

int auth_attempt_new(Manager *m, const UserRecord *u, const char *target, const char *password, const char *code,
                     AuthTotpPolicy policy, bool allow_partial, AuthAttempt **ret) {
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        bool real;

        if (policy < 0 || policy >= _AUTH_TOTP_POLICY_MAX || !m->dummy_hash)
                return -EINVAL;

        at = calloc(1, sizeof(AuthAttempt));
        if (!at)
                return -ENOMEM;
        /* Users without a password, and hashes that can't match anything
         * ("!", "*", as imported from a locked shadow entry), cost the same
         * as a real check. */
        real = u && !isempty(u->password_hash) && u->password_hash[0] == '$';
        *at = (AuthAttempt) {
                .user = u ? user_record_ref((UserRecord *) u) : NULL,
                .target = strdup(strempty(target)),
                .password = password ? strdup(password) : NULL,
                .code = strdup(strempty(code)),
                .hash = strdup(real ? u->password_hash : m->dummy_hash),
                .dummy = !real,
                .policy = policy,
                .allow_partial = allow_partial,
                .verify_result = -EINPROGRESS,
                .prefix = m->config->hash_prefix,
                .cost = m->config->hash_cost,
        };
        if (!at->target || (password && !at->password) || !at->code || !at->hash)
                return -ENOMEM;

        *ret = TAKE_PTR(at);
        return 0;
}

void auth_attempt_verify(void *attempt) {
        AuthAttempt *at = attempt;
        int r;

        /* Without a password the hash still runs: the answer takes as long. */
        r = password_verify(strempty(at->password), at->hash);
        at->verify_result = at->password ? r : 0;
}

void auth_attempt_rehash(void *attempt) {
        AuthAttempt *at = attempt;

        erase_and_free(at->new_hash);
        at->new_hash = NULL;
        if (!at->password || password_hash(at->password, at->prefix, at->cost, &at->new_hash) < 0)
                at->new_hash = NULL;
}

AuthAttempt *auth_attempt_free(AuthAttempt *at) {
        if (!at)
                return NULL;
        user_record_unref(at->user);
        free(at->target);
        erase_and_free(at->password);
        erase_and_free(at->code);
        erase_and_free(at->hash);
        erase_and_free(at->new_hash);
        free(at);
        return NULL;
}

/* --- the audit trail --------------------------------------------------- */

static void json_set_str(json_t *o, const char *key, const char *v) {
        if (!isempty(v))
                json_object_set_new(o, key, json_string(v));
}

/* Writes an event of an authentication; never holds a secret. */
static int audit_auth(Store *s, const Principal *a, const AuthContext *ctx, const char *action, const UserRecord *u,
                      const char *target, AuditResult result, const char *factor, const char *reason,
                      const char *policy, int64_t locked_until) {
        _cleanup_free_ char *details = NULL, *qualified = NULL;
        json_t *j = json_object();

        if (!j)
                return -ENOMEM;
        json_set_str(j, "service", ctx ? ctx->service : NULL);
        json_set_str(j, "tty", ctx ? ctx->tty : NULL);
        json_set_str(j, "remote_user", ctx ? ctx->remote_user : NULL);
        if (ctx && ctx->pid > 0)
                json_object_set_new(j, "pid", json_integer(ctx->pid));
        json_set_str(j, "provider", ctx ? ctx->provider : NULL);
        json_set_str(j, "factor", factor);
        json_set_str(j, "reason", reason);
        json_set_str(j, "totp_policy", policy);
        if (locked_until > 0)
                json_object_set_new(j, "locked_until_usec", json_integer(locked_until));
        details = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);

        if (u) {
                qualified = user_qualified_name(u);
                if (!qualified)
                        return -ENOMEM;
        }
        return change_audit(s, a, action, u ? u->tenant : NULL, u ? qualified : target, result, details);
}

/* --- lockout ----------------------------------------------------------- */

/* Counts a failure; locks the account when it was one too many. Returns
 * the end of the new lock in *ret_locked_until, or 0. */
static int record_failure(Manager *m, Store *s, const UserRecord *u, int64_t now, int64_t *ret_locked_until) {
        AuthState st;
        int64_t until;
        int r;

        /* Read with the row locked (store_auth_state_lock()): failures on
         * two connections, or two tesserad on one database, add up. */
        r = store_auth_state_lock(s, u->id, &st);
        if (r < 0)
                return r;
        until = auth_lockout_count_failure(m->config, &st, now);
        /* Never shorten a lock an administrator set. */
        if (until > 0 && u->locked_until_usec < until) {
                r = store_user_set_locked_until(s, u->id, until);
                if (r < 0)
                        return r;
        }

        r = store_auth_state_put(s, u->id, &st);
        if (r < 0)
                return r;
        *ret_locked_until = until;
        return 0;
}

static int record_success(Store *s, const UserRecord *u, int64_t now) {
        /* Nothing read: one upsert, which waits for a failure being
         * counted on another connection and then clears it. */
        return store_auth_state_put(s, u->id, &(AuthState) { .last_success_usec = now });
}

int auth_reset_failures(Store *s, int64_t user_id) {
        AuthState st;
        int r;

        /* As record_failure(): the row locked from the read to the commit. */
        r = store_auth_state_lock(s, user_id, &st);
        if (r < 0)
                return r;
        if (st.failed_count == 0 && st.lock_level == 0)
                return 0;
        st.failed_count = 0;
        st.first_failure_usec = 0;
        st.lock_level = 0;
        return store_auth_state_put(s, user_id, &st);
}

/* The account-state part of every decision. AUTH_SUCCESS when usable. */
static AuthOutcome account_outcome(const UserRecord *u, int64_t now) {
        switch (user_record_state(u, now)) {
        case USER_STATE_DISABLED:
                return AUTH_ACCOUNT_DISABLED;
        case USER_STATE_EXPIRED:
                return AUTH_ACCOUNT_EXPIRED;
        case USER_STATE_LOCKED:
                return u->locked_until_usec == LOCKED_INDEFINITELY ? AUTH_ACCOUNT_LOCKED : AUTH_LOCKED;
        default:
                return AUTH_SUCCESS;
        }
}

static const char *account_reason(AuthOutcome o) {
        switch (o) {
        case AUTH_ACCOUNT_DISABLED:
                return "account disabled";
        case AUTH_ACCOUNT_EXPIRED:
                return "account expired";
        case AUTH_ACCOUNT_LOCKED:
                return "account locked by an administrator";
        case AUTH_LOCKED:
                return "account locked after failures";
        default:
                return NULL;
        }
}

/* What a decision found, filled in as it goes. */
typedef struct Decision {
        AuthResult result;
        const char *reason;       /* why it failed, for the audit trail */
        AuditResult audit;
        bool backup_code_spent;   /* the user's count of backup codes changed */
} Decision;

/* --- the second factor ------------------------------------------------- */

/* Checks code against the user's TOTP seed or backup codes, spending it on
 * success. 1 and the factor when accepted, 0 and d->reason when not. */
static int check_code(Manager *m, Store *s, const UserRecord *u, const TotpRecord *t, const char *code, int64_t now,
                      const char **ret_factor, Decision *d) {
        char ctx[32];
        int r;

        if (totp_code_wellformed(code)) {
                uint8_t *secret = NULL;
                size_t n = 0;
                int64_t step;

                r = secret_box_open(m->secret_key, auth_totp_context(u->id, ctx), t->secret_box, t->secret_box_len,
                                    &secret, &n);
                if (r < 0)
                        return log_error_errno(r, "Failed to open the TOTP seed of %s@%s (was the secret key replaced?): %m",
                                               u->name, u->tenant);
                r = totp_verify(secret, n, code, totp_step_at(now), m->config->totp_window, t->last_step, &step);
                secret_free(secret, n);
                if (r == -EKEYREJECTED || r == -EINVAL) {
                        d->reason = "wrong code";
                        return 0;
                }
                if (r == -ESTALE) {
                        d->reason = "code used before";
                        return 0;
                }
                if (r < 0)
                        return r;
                /* Spends the step; loses to a connection that spent it first. */
                r = store_totp_advance(s, u->id, step, 0);
                if (r == -ESTALE) {
                        d->reason = "code used before";
                        return 0;
                }
                if (r < 0)
                        return r;
                *ret_factor = "totp";
                return 1;
        }

        char normalized[BACKUP_CODE_CHARS + 1];
        uint8_t digest[SECRET_DIGEST_SIZE];

        if (backup_code_normalize(code, normalized) < 0) {
                d->reason = "malformed code";
                return 0;
        }
        r = secret_key_digest(m->secret_key, auth_backup_code_context(u->id, ctx), normalized, BACKUP_CODE_CHARS,
                              digest);
        explicit_bzero(normalized, sizeof(normalized));
        if (r < 0)
                return r;
        r = store_backup_code_consume(s, u->id, digest);
        if (r == -ENOENT) {
                d->reason = "wrong or used backup code";
                return 0;
        }
        if (r < 0)
                return r;
        d->backup_code_spent = true;
        r = store_backup_codes_count(s, u->id, &d->result.backup_codes_left);
        if (r < 0)
                return r;
        *ret_factor = "backup-code";
        return 1;
}

/* Loads the confirmed enrollment of a user: 1 with *ret filled, 0 when
 * there is none (or only one begun). */
static int load_confirmed_totp(Store *s, int64_t user_id, TotpRecord *ret) {
        TotpRecord t = {};
        int r;

        r = store_totp_get(s, user_id, &t);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (t.confirmed_usec == 0) {
                totp_record_done(&t);
                return 0;
        }
        *ret = t;
        return 1;
}

int auth_user_has_totp(Store *s, int64_t user_id) {
        TotpRecord t = {};
        int r = load_confirmed_totp(s, user_id, &t);
        totp_record_done(&t);
        return r;
}

int auth_mfa_required_for(Manager *m, Store *s, const UserRecord *u) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        TenantSettings eff;
        int r;

        r = store_tenant_get_by_id(s, u->tenant_id, &t);
        if (r < 0)
                return r;
        tenant_settings_effective(m->config, &t->settings, &eff);
        switch (eff.mfa_required) {
        case MFA_REQUIRED_EVERYONE:
                return 1;
        case MFA_REQUIRED_ADMINS:
                return u->role == USER_ROLE_ADMIN || u->role == USER_ROLE_OWNER;
        default:
                return 0;
        }
}

/* --- decisions --------------------------------------------------------- */

/* The account-state part of every decision: true (and d filled) when the
 * account can't be used now, whatever the credentials. */
static bool account_unusable(const UserRecord *u, int64_t now, Decision *d) {
        d->result.user_id = u->id;
        d->result.outcome = account_outcome(u, now);
        if (d->result.outcome == AUTH_SUCCESS)
                return false;
        d->result.locked_until_usec = d->result.outcome == AUTH_LOCKED ? u->locked_until_usec : 0;
        d->reason = account_reason(d->result.outcome);
        d->audit = AUDIT_DENIED;
        return true;
}

/* The end of a credential check: a failure (d->reason set) is counted and
 * may lock the account; a success forgets earlier failures. */
static int conclude(Manager *m, Store *s, const UserRecord *u, int64_t now, const char *factor, Decision *d) {
        int r;

        if (d->reason) {
                r = record_failure(m, s, u, now, &d->result.locked_until_usec);
                if (r < 0)
                        return r;
                d->result.outcome = AUTH_FAILED;
                d->audit = AUDIT_FAILURE;
                return 0;
        }
        r = record_success(s, u, now);
        if (r < 0)
                return r;
        d->result.outcome = AUTH_SUCCESS;
        d->result.factor = factor;
        d->audit = AUDIT_SUCCESS;
        return 0;
}

static const char *combine_factor(const char *second) {
        if (!second)
                return "password";
        return streq(second, "totp") ? "password+totp" : "password+backup-code";
}

/* Decides an attempt with a verified (or not) password, inside the
 * transaction. u is the user as read in the transaction. */
static int decide(Manager *m, Store *s, AuthAttempt *at, const UserRecord *u, int64_t now, Decision *d) {
        _cleanup_(totp_record_done) TotpRecord t = {};
        bool password_ok = !at->dummy && at->verify_result == 1, needs_code;
        const char *second = NULL;
        int r, enrolled;

        if (account_unusable(u, now, d))
                return 0;

        if (at->verify_result < 0 && !at->dummy)
                log_warning_errno(at->verify_result, "Cannot verify the password hash of %s@%s: %m", u->name, u->tenant);

        enrolled = load_confirmed_totp(s, u->id, &t);
        if (enrolled < 0)
                return enrolled;
        needs_code = enrolled && (at->policy == AUTH_TOTP_REQUIRED ||
                                  (at->policy == AUTH_TOTP_OPTIONAL && !isempty(at->code)));

        /* The tenant asks a second factor of this user, who has none: the
         * right password signs nobody in, on any door that asks for
         * codes at all (a password change's check of the current one
         * does not). Told only after the right password, like the code
         * prompt, so that it tells nothing to a guesser. */
        if (password_ok && !enrolled && at->policy != AUTH_TOTP_NEVER) {
                r = auth_mfa_required_for(m, s, u);
                if (r < 0)
                        return r;
                if (r > 0) {
                        d->result.outcome = AUTH_MFA_ENROLMENT_REQUIRED;
                        d->result.factor = "password";
                        d->audit = AUDIT_DENIED;
                        d->reason = "the tenant requires a second factor and none is enrolled";
                        return 0;
                }
        }

        if (!password_ok)
                d->reason = !at->password ? "no usable password given" :
                            at->dummy     ? "no password set" :
                                            "wrong password";
        else if (needs_code && isempty(at->code)) {
                if (at->allow_partial) {
                        d->result.outcome = AUTH_NEED_SECOND_FACTOR;
                        d->result.factor = "password";
                        d->audit = AUDIT_SUCCESS;
                        d->reason = "second factor pending";
                        return 0;
                }
                d->reason = "code missing";
        } else if (needs_code) {
                r = check_code(m, s, u, &t, at->code, now, &second, d);
                if (r < 0)
                        return r;
        }

        r = conclude(m, s, u, now, combine_factor(second), d);
        if (r >= 0 && d->result.outcome == AUTH_SUCCESS)
                d->result.rehash = password_hash_needs_upgrade(u->password_hash, m->config->hash_prefix,
                                                               m->config->hash_cost);
        return r;
}

/* The key of a name that is no user in the lockout of unknown names: a
 * keyed digest of the name as the host shows it, qualified and in lower
 * case, so that every door counts "ghost" and "ghost@acme" (acme the
 * default tenant) alike. */
static void unknown_name_key(Manager *m, const char *target, uint8_t key[static AUTH_LOCKOUT_KEY_SIZE]) {
        _cleanup_free_ char *name = NULL;
        const char *t = strempty(target), *tenant = m->config->default_tenant;
        bool qualify = tenant && !strchr(t, '@');

        if (asprintf(&name, "%s%s%s", t, qualify ? "@" : "", qualify ? tenant : "") < 0)
                name = NULL;
        for (char *p = name; p && *p; p++)
                *p = (char) tolower((unsigned char) *p);
        if (!name)
                sha256(t, strlen(t), key);       /* out of memory: still a key, if not the same one */
        else if (!m->secret_key || secret_key_digest(m->secret_key, "unknown-login", name, strlen(name), key) < 0)
                sha256(name, strlen(name), key);
}

/* An attempt on a name that is no user, or on an account that can't be
 * used (whose credentials are not looked at): the person is told what a
 * real account would be told after as many failures (auth-lockout.h),
 * counted under the name in the table of unknown names. */
static void decide_unknown(Manager *m, const char *target, int64_t now, Decision *d) {
        uint8_t key[AUTH_LOCKOUT_KEY_SIZE];
        bool locked;

        unknown_name_key(m, target, key);
        locked = unknown_lockouts_fail(m->unknown_lockouts, m->config, key, now, &d->result.locked_until_usec);
        d->result.apparent = locked ? AUTH_LOCKED : AUTH_FAILED;
}

/* Does the outcome tell the state of an account that exists? */
static bool outcome_tells_account_state(AuthOutcome o) {
        return o == AUTH_ACCOUNT_DISABLED || o == AUTH_ACCOUNT_EXPIRED || o == AUTH_ACCOUNT_LOCKED;
}

/* Runs decide_func in a transaction with the user as stored now, audits
 * the decision and commits. With count_unknown (a first attempt, from
 * somebody not yet known to be the account's holder), an unknown user's
 * attempt, or one on an account that can't be used, gets the apparent
 * answer of decide_unknown(). */
typedef int (*DecideFunc)(Manager *m, Store *s, void *userdata, const UserRecord *u, int64_t now, Decision *d);

static int run_decision(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, int64_t user_id,
                        const char *target, bool count_unknown, const char *default_action, DecideFunc f,
                        void *userdata, const char *policy, AuthResult *ret) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *action = ctx && ctx->action ? ctx->action : default_action;
        int64_t now = now_realtime_usec();
        Decision d = { .audit = AUDIT_FAILURE };
        int64_t audit_until;
        AuthOutcome recorded;
        bool locked_now;
        int r;

        r = store_begin(s);
        if (r < 0)
                return log_error_errno(r, "Failed to begin an authentication transaction: %m");
        txn = s;

        /* The user as stored now: a lock, a deletion or a used code from
         * another channel since step 1 counts. */
        r = user_id > 0 ? store_user_get_by_id(s, user_id, &u) : -ENOENT;
        if (r == -ENOENT) {
                d.result.outcome = AUTH_USER_UNKNOWN;
                d.result.apparent = AUTH_USER_UNKNOWN;
                d.reason = "unknown user";
                d.audit = AUDIT_INVALID;
                if (count_unknown && m->unknown_lockouts)
                        decide_unknown(m, target, now, &d);
        } else if (r < 0)
                return r;
        else {
                r = f(m, s, userdata, u, now, &d);
                if (r < 0)
                        return r;
                d.result.apparent = d.result.outcome;
                if (count_unknown && m->unknown_lockouts && outcome_tells_account_state(d.result.outcome))
                        decide_unknown(m, target, now, &d);
        }

        /* The audit trail has the truth: an account's own lock (this
         * failure's, or one in force), or an unknown name's apparent one. */
        recorded = u ? d.result.outcome : d.result.apparent;
        locked_now = u && recorded == AUTH_FAILED && d.result.locked_until_usec > 0;
        audit_until = recorded == AUTH_LOCKED || (recorded == AUTH_FAILED && d.result.locked_until_usec > 0)
                              ? d.result.locked_until_usec
                              : 0;
        r = audit_auth(s, a, ctx, action, u, target, d.audit, d.result.factor, d.reason, policy, audit_until);
        if (r >= 0 && locked_now)
                r = audit_auth(s, a, ctx, "auth.lock", u, target, AUDIT_SUCCESS, NULL, "too many failures", NULL,
                               d.result.locked_until_usec);
        if (r < 0)
                return r;
        r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return log_error_errno(r, "Failed to commit an authentication: %m");

        if (locked_now) {
                manager_changed(m, change_event_user(CHANGE_LOCKOUT, u, CHANGE_UPDATED));
                log_notice("Locked %s@%s after too many failed attempts.", u->name, u->tenant);
        }
        /* A backup code was spent: one fewer left (BackupCodesLeft). */
        if (d.backup_code_spent)
                manager_changed(m, change_event_user(CHANGE_TOTP, u, CHANGE_UPDATED));
        *ret = d.result;
        return 0;
}

/* A decided sign-in for /metrics, as the person asking was told (the
 * apparent outcome): a name that is no user counts as a real account
 * would, so the counters tell nobody more than the answers did. */
static void count_signin(Manager *m, const Principal *a, const AuthContext *ctx, const AuthResult *r) {
        MetricSigninResult result;

        switch (r->apparent) {
        case AUTH_NEED_SECOND_FACTOR:
                return;   /* counted once the second step is decided */
        case AUTH_SUCCESS:
                result = METRIC_SIGNIN_SUCCESS;
                break;
        case AUTH_LOCKED:
                result = METRIC_SIGNIN_LOCKED;
                break;
        default:
                result = METRIC_SIGNIN_FAILURE;
        }
        /* A failure that tells of a lock started it. */
        metrics_signin(m, metric_channel_from_string(ctx && ctx->channel ? ctx->channel : a->channel), result,
                       r->apparent == AUTH_FAILED && r->locked_until_usec > 0);
}

static int decide_attempt(Manager *m, Store *s, void *userdata, const UserRecord *u, int64_t now, Decision *d) {
        AuthAttempt *at = userdata;

        /* A password changed between step 1 and now was not the one checked. */
        if (!at->dummy && !streq_ptr(at->hash, u->password_hash))
                at->verify_result = 0;
        return decide(m, s, at, u, now, d);
}

int auth_attempt_finish(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, AuthAttempt *at,
                        AuthResult *ret) {
        int r;

        if (at->verify_result == -EINPROGRESS)
                return -EINVAL;   /* step 2 never ran */
        r = run_decision(m, s, a, ctx, at->user ? at->user->id : 0, at->target, true, "auth.login", decide_attempt,
                         at, auth_totp_policy_to_string(at->policy), ret);
        if (r >= 0)
                count_signin(m, a, ctx, ret);
        return r;
}

typedef struct SecondFactor {
        const char *code;
} SecondFactor;

static int decide_second_factor(Manager *m, Store *s, void *userdata, const UserRecord *u, int64_t now,
                                Decision *d) {
        _cleanup_(totp_record_done) TotpRecord t = {};
        SecondFactor *sf = userdata;
        const char *factor = NULL;
        int r;

        if (account_unusable(u, now, d))
                return 0;

        r = load_confirmed_totp(s, u->id, &t);
        if (r < 0)
                return r;
        if (r == 0)
                d->reason = "no second factor enrolled";
        else if (isempty(sf->code))
                d->reason = "code missing";
        else {
                r = check_code(m, s, u, &t, sf->code, now, &factor, d);
                if (r < 0)
                        return r;
        }

        return conclude(m, s, u, now, factor, d);
}

int auth_second_factor(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, int64_t user_id,
                       const char *code, AuthResult *ret) {
        SecondFactor sf = { .code = code };
        int r;

        r = run_decision(m, s, a, ctx, user_id, NULL, false, "auth.second-factor", decide_second_factor, &sf, NULL,
                         ret);
        if (r >= 0)
                count_signin(m, a, ctx, ret);
        return r;
}

static int decide_federated(Manager *m, Store *s, void *userdata, const UserRecord *u, int64_t now,
                            Decision *d) {
        int r, enrolled;

        if (account_unusable(u, now, d))
                return 0;

        enrolled = auth_user_has_totp(s, u->id);
        if (enrolled < 0)
                return enrolled;
        if (enrolled) {
                /* The upstream sign-in stands for the password: the code
                 * is still ours to ask for. */
                d->result.outcome = AUTH_NEED_SECOND_FACTOR;
                d->result.factor = "fed";
                d->audit = AUDIT_SUCCESS;
                d->reason = "second factor pending";
                return 0;
        }
        r = auth_mfa_required_for(m, s, u);
        if (r < 0)
                return r;
        if (r > 0) {
                d->result.outcome = AUTH_MFA_ENROLMENT_REQUIRED;
                d->result.factor = "fed";
                d->audit = AUDIT_DENIED;
                d->reason = "the tenant requires a second factor and none is enrolled";
                return 0;
        }
        return conclude(m, s, u, now, "fed", d);
}

int auth_federated_step(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, int64_t user_id,
                        AuthResult *ret) {
        int r;

        r = run_decision(m, s, a, ctx, user_id, NULL, false, "auth.federated", decide_federated, NULL, NULL, ret);
        if (r >= 0)
                count_signin(m, a, ctx, ret);
        return r;
}

static int decide_account(Manager *m, Store *s, void *userdata, const UserRecord *u, int64_t now, Decision *d) {
        if (!account_unusable(u, now, d))
                d->audit = AUDIT_SUCCESS;
        return 0;
}

int auth_account_check(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, const UserRecord *u,
                       AuthResult *ret) {
        return run_decision(m, s, a, ctx, u->id, NULL, false, "auth.account", decide_account, NULL, NULL, ret);
}

int auth_attempt_store_rehash(Manager *m, Store *s, const Principal *a, AuthAttempt *at) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        if (!at->user || at->dummy || !at->new_hash)
                return -EINVAL;

        r = store_begin(s);
        if (r < 0)
                return r;
        txn = s;
        /* Only the hash that was verified is replaced: a password set
         * meanwhile wins, whatever connection or instance set it (a
         * conditional UPDATE). The same password, so password_changed_usec
         * stays, and so does every other field. */
        r = store_user_replace_password_hash(s, at->user->id, at->hash, at->new_hash);
        if (r <= 0)
                return r;
        r = store_user_get_by_id(s, at->user->id, &u);
        if (r >= 0)
                r = audit_auth(s, a, NULL, "auth.rehash", u, NULL, AUDIT_SUCCESS, NULL, NULL, NULL, 0);
        if (r < 0)
                return r;
        r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return r;
        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_UPDATED));
        log_info("Rehashed the password of %s@%s under the current policy.", u->name, u->tenant);
        return 1;
}

int auth_password_step(Manager *m, Store *s, const Principal *a, const AuthContext *ctx, const UserRecord *u,
                       const char *target, const char *password, AuthResult *ret) {
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        int r;

        r = auth_attempt_new(m, u, target, password, NULL, AUTH_TOTP_REQUIRED, true, &at);
        if (r >= 0)
                r = worker_pool_run(m->workers, auth_attempt_verify, at);
        if (r >= 0)
                r = auth_attempt_finish(m, s, a, ctx, at, ret);
        if (r < 0)
                return r;
        /* A failed rehash leaves the old hash, which still works. */
        if (ret->outcome == AUTH_SUCCESS && ret->rehash && worker_pool_run(m->workers, auth_attempt_rehash, at) >= 0)
                (void) auth_attempt_store_rehash(m, s, a, at);
        return 0;
}

/* --- messages ---------------------------------------------------------- */

static void format_wait(int64_t usec, char *buf, size_t size) {
        int64_t minutes = (usec + 59 * (int64_t) USEC_PER_SEC) / (60 * (int64_t) USEC_PER_SEC);

        if (minutes <= 1)
                snprintf(buf, size, "a minute");
        else if (minutes < 120)
                snprintf(buf, size, "%" PRIi64 " minutes", minutes);
        else
                snprintf(buf, size, "%" PRIi64 " hours", (minutes + 59) / 60);
}

static void message_of(AuthOutcome o, const AuthResult *r, int64_t now, char *buf, size_t size) {
        char wait[32];

        buf[0] = '\0';
        switch (o) {
        case AUTH_LOCKED:
                format_wait(r->locked_until_usec - now, wait, sizeof(wait));
                snprintf(buf, size, "The account is locked after too many failed attempts; try again in %s.", wait);
                break;
        case AUTH_FAILED:
                if (r->locked_until_usec > 0) {
                        format_wait(r->locked_until_usec - now, wait, sizeof(wait));
                        snprintf(buf, size, "Too many failed attempts: the account is locked for %s.", wait);
                }
                break;
        case AUTH_ACCOUNT_LOCKED:
                snprintf(buf, size, "The account is locked; ask an administrator to unlock it.");
                break;
        case AUTH_ACCOUNT_DISABLED:
                snprintf(buf, size, "The account is disabled; ask an administrator.");
                break;
        case AUTH_ACCOUNT_EXPIRED:
                snprintf(buf, size, "The account has expired; ask an administrator.");
                break;
        case AUTH_MFA_ENROLMENT_REQUIRED:
                snprintf(buf, size, "This organization requires two-step verification, and the account has none "
                                    "yet: set up an authenticator app (TOTP) first.");
                break;
        case AUTH_SUCCESS:
                if (r->factor && strstr(r->factor, "backup-code"))
                        snprintf(buf, size, "A backup code was used; %u left.", r->backup_codes_left);
                break;
        default:
                break;
        }
}

void auth_result_message(const AuthResult *r, int64_t now, char *buf, size_t size) {
        message_of(r->apparent, r, now, buf, size);
}

void auth_result_holder_message(const AuthResult *r, int64_t now, char *buf, size_t size) {
        message_of(r->outcome, r, now, buf, size);
}

int auth_result_error(const AuthResult *r, const char *failed_message, TesseraError *e) {
        char msg[256];

        auth_result_holder_message(r, now_realtime_usec(), msg, sizeof(msg));
        switch (r->outcome) {
        case AUTH_SUCCESS:
                return 0;
        case AUTH_FAILED:
        case AUTH_NEED_SECOND_FACTOR:
                return tessera_error_set(e, -EKEYREJECTED, "%s%s%s", failed_message, msg[0] ? " " : "", msg);
        case AUTH_LOCKED:
        case AUTH_ACCOUNT_LOCKED:
                return tessera_error_set(e, -ENOLCK, "%s", msg);
        case AUTH_ACCOUNT_DISABLED:
                return tessera_error_set(e, -EKEYREVOKED, "%s", msg);
        case AUTH_ACCOUNT_EXPIRED:
                return tessera_error_set(e, -EKEYEXPIRED, "%s", msg);
        case AUTH_MFA_ENROLMENT_REQUIRED:
                return tessera_error_set(e, -EACCES, "%s", msg);
        case AUTH_USER_UNKNOWN:
                return tessera_error_set(e, -ENOENT, "The user no longer exists.");
        default:
                return tessera_error_set(e, -EIO, "The check did not come to a decision.");
        }
}

const char *auth_totp_policy_to_string(AuthTotpPolicy p) {
        static const char *const names[_AUTH_TOTP_POLICY_MAX] = {
                [AUTH_TOTP_REQUIRED] = "required",
                [AUTH_TOTP_OPTIONAL] = "optional",
                [AUTH_TOTP_NEVER] = "never",
        };
        return p >= 0 && p < _AUTH_TOTP_POLICY_MAX ? names[p] : NULL;
}
