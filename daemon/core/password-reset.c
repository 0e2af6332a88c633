/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "password-reset.h"

#include <stdlib.h>

#include "auth.h"
#include "events.h"
#include <jansson.h>

#include "host-session.h"
#include "log.h"
#include "user.h"
#include "mail.h"
#include "names.h"
#include "password-job.h"
#include "password-policy.h"
#include "store-oidc.h"
#include "time-util.h"

/* -- request ---------------------------------------------------------------- */

/* A request handed to the batch writer: everything copied, since the HTTP
 * request is answered before the write runs. */
typedef struct ResetRequest {
        BatchWrite write;
        Manager *manager;
        Principal principal;
        char *channel, *remote, *name;
        int64_t tenant_id;
        char *email, *base_url;
} ResetRequest;

static ResetRequest *reset_request_free(ResetRequest *q) {
        if (!q)
                return NULL;
        free(q->channel);
        free(q->remote);
        free(q->name);
        free(q->email);
        free(q->base_url);
        free(q);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(ResetRequest *, reset_request_free);

static bool copy(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret;
}

/* Whether the account may be mailed a reset: not for one disabled or
 * expired by an administrator, nor one without an address. */
static const char *unusable_reason(const UserRecord *u, int64_t now) {
        if (!u)
                return "unknown";
        if (isempty(u->email))
                return "no-address";
        if (u->disabled)
                return "disabled";
        if (u->expires_usec > 0 && u->expires_usec <= now)
                return "expired";
        return NULL;
}

/* A link of an account that went on since the mail: its address changed
 * (the mail proves nothing now), or it was disabled or expired (it would
 * not get the mail now). */
static bool reset_link_stale(const UserRecord *u, const AccountToken *row) {
        return !u->email || strcasecmp(u->email, row->email) != 0 || unusable_reason(u, now_realtime_usec());
}

int password_reset_request_write(Manager *m, Store *s, const Principal *p, const TenantRecord *t,
                                 const char *email, const char *base_url, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *target = NULL, *details = NULL;
        const char *reason;
        int r;

        r = store_user_get_by_email(s, t->id, email, &u);
        if (r < 0 && r != -ENOENT)
                return tessera_error_set(e, r, "Failed to look up the account.");
        reason = unusable_reason(u, now_realtime_usec());
        if (!reason) {
                r = account_token_issue(m, s, ACCOUNT_TOKEN_RESET_PASSWORD, t, u, base_url, e);
                if (r < 0)
                        return r;
        }
        /* The audit trail has the truth the answer hides. */
        target = u ? user_qualified_name(u) : strdup(email);
        if (!target || asprintf(&details, "{\"mail\":\"%s\"}", reason ? reason : "queued") < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_audit(s, p, "auth.forgot", t->slug, target, reason ? AUDIT_FAILURE : AUDIT_SUCCESS, details);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to record the request.");
        if (!reason)
                log_info("%s: password reset mail queued.", target);
        return 0;
}

static int send_txn(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserRecord *u,
                    const char *target, const char *base_url, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = account_token_issue(m, s, ACCOUNT_TOKEN_RESET_PASSWORD, t, u, base_url, e);
        if (r < 0)
                return r;
        return change_commit(&txn, p, "user.send-reset", t->slug, target, "{\"mail\":\"queued\"}", e);
}

int password_reset_send(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserRecord *u,
                        const char *base_url, TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        const char *reason;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, p, POLICY_USER_SEND_RESET, policy_target_user(u), t->slug, target, e);
        if (r < 0)
                return r;

        reason = unusable_reason(u, now_realtime_usec());
        if (reason && streq(reason, "no-address"))
                r = tessera_error_set(e, -EINVAL, "%s has no e-mail address to send a reset link to.", target);
        else if (reason && streq(reason, "disabled"))
                r = tessera_error_set(e, -EKEYREVOKED, "%s is disabled: enable the account first.", target);
        else if (reason)
                r = tessera_error_set(e, -EKEYEXPIRED, "%s has expired: extend the account first.", target);
        else
                r = send_txn(m, s, p, t, u, target, base_url, e);
        if (r < 0) {
                change_audit_failure(s, p, "user.send-reset", t->slug, target, e);
                return r;
        }
        mail_wake(m);
        log_info("%s: password reset mail queued by an administrator.", target);
        return 0;
}

static int request_write(Store *s, void *userdata) {
        ResetRequest *q = userdata;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        TesseraError e = {};
        int r;

        /* The tenant may have gone since the request was answered. */
        r = store_tenant_get_by_id(s, q->tenant_id, &t);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Password reset request: failed to look up the tenant: %m");
        r = password_reset_request_write(q->manager, s, &q->principal, t, q->email, q->base_url, &e);
        if (r < 0)
                log_error_errno(r, "Password reset request for %s: %s", t->slug, strna(e.message));
        return r;
}

static void request_done(int result, void *userdata) {
        ResetRequest *q = userdata;

        /* Committed: the sender may take the mail now. */
        if (result >= 0)
                mail_wake(q->manager);
        else
                log_error_errno(result, "A password reset request was lost: %m");
        reset_request_free(q);
}

int password_reset_request(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const char *email,
                           const char *base_url, unsigned *ret_wait, BatchWrite **ret_write, TesseraError *e) {
        _cleanup_(reset_request_freep) ResetRequest *q = NULL;
        PolicyTarget target = policy_target_tenant(t->id);
        bool first = false;
        unsigned wait = 0;
        int r;

        r = policy_check(p, POLICY_AUTH_FORGOT, &target);
        if (r < 0)
                return tessera_error_set(e, -EACCES, "Not allowed.");
        if (isempty(email) || !valid_email(email))
                return tessera_error_set(e, -EINVAL, "Give the e-mail address of the account.");
        if (!mail_enabled(m))
                return tessera_error_set(e, -EOPNOTSUPP, "This service sends no mail; ask an administrator to "
                                                         "reset the password.");
        r = account_mail_limit(m, p, t, email, &wait, &first);
        if (r == -ETOOMANYREFS) {
                if (first) {
                        log_notice("Too many password reset requests from %s or for one address at %s; refusing "
                                   "for %u s.", strna(p->remote), t->slug, wait);
                        (void) change_audit(s, p, "auth.forgot", t->slug, email, AUDIT_DENIED,
                                            "{\"error\":\"rate_limited\"}");
                }
                *ret_wait = wait;
                return tessera_error_set(e, r, "Too many requests; try again in %u seconds.", wait);
        }
        if (r < 0)
                return tessera_error_set(e, r, "Out of memory.");

        q = calloc(1, sizeof(ResetRequest));
        if (!q)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        q->manager = m;
        q->principal = *p;
        q->tenant_id = t->id;
        if (!copy(p->channel, &q->channel) || !copy(p->remote, &q->remote) || !copy(p->name, &q->name) ||
            !copy(email, &q->email) || !copy(base_url, &q->base_url))
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        q->principal = (Principal) { .kind = p->kind, .channel = q->channel, .remote = q->remote, .name = q->name,
                                     .uid = p->uid, .tenant_id = p->tenant_id, .user_id = p->user_id,
                                     .role = p->role };
        q->write = (BatchWrite) { .write = request_write, .userdata = q, .done = request_done, .done_userdata = q,
                                  .delay_usec = (uint64_t) m->config->forgot_delay * 1000 };
        *ret_write = &TAKE_PTR(q)->write;      /* request_done() frees it */
        return 0;
}

/* -- confirm ---------------------------------------------------------------- */

static void hash_work(void *userdata) {
        password_job_work(userdata);
}

/* The reset's audit details: {"host_sessions": [ids], "sessions": "ended"}. */
static char *reset_details(const int64_t *ended, size_t n) {
        json_t *ids = json_array(), *j;
        char *d;

        for (size_t i = 0; ids && i < n; i++)
                if (json_array_append_new(ids, json_integer(ended[i])) < 0) {
                        json_decref(ids);
                        return NULL;
                }
        j = json_pack("{s:o?, s:s}", "host_sessions", ids, "sessions", "ended");
        if (!j)
                return NULL;
        d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return d;
}

/* The change, in one transaction: the token claimed only if the password
 * is set with it. */
static int reset_txn(Store *s, const Principal *p, const TenantRecord *t, const uint8_t digest[TOKEN_DIGEST_SIZE],
                     int64_t user_id, const char *target, const char *hash, UserRecord **ret,
                     int64_t **ret_ended, size_t *ret_n_ended, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ int64_t *ended = NULL;
        _cleanup_free_ char *details = NULL;
        int64_t now = now_realtime_usec();
        UserRecord changed;
        size_t n_ended = 0;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_account_token_claim(s, t->id, ACCOUNT_TOKEN_RESET_PASSWORD, digest, now);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to use the token.");
        if (r == 0)
                /* Used by another request while the password was hashed,
                 * or expired meanwhile. */
                return tessera_error_set(e, -EKEYREJECTED, "The link is not valid or was used already; ask for a "
                                                           "new one.");
        r = store_user_get_by_id(s, user_id, &u);
        if (r < 0)
                return tessera_error_set(e, r == -ENOENT ? -EKEYREJECTED : r, "The account is gone.");

        changed = *u;
        changed.password_hash = (char *) hash;
        changed.password_changed_usec = now;
        r = store_user_update(s, &changed);
        if (r >= 0)
                r = store_user_revoke_sessions(s, t->id, user_id, now);
        /* Every session means the host logins too: whoever knew the old
         * password may be logged in on a host with it. */
        if (r >= 0)
                r = host_session_close_all(s, user_id, now, &ended, &n_ended);
        if (r >= 0)
                r = store_account_token_void_user(s, user_id, ACCOUNT_TOKEN_RESET_PASSWORD, now);
        if (r >= 0)
                r = auth_reset_failures(s, user_id);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to set the password of %s.", target);

        details = reset_details(ended, n_ended);
        if (!details)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_commit(&txn, p, "auth.reset-password", t->slug, target, details, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        *ret_ended = TAKE_PTR(ended);
        *ret_n_ended = n_ended;
        return 0;
}

int password_reset_confirm(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const char *token,
                           const char *new_password, unsigned *ret_wait, UserRecord **ret, TesseraError *e) {
        _cleanup_(password_job_freep) PasswordJob *job = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *before = NULL, *stored = NULL;
        _cleanup_free_ int64_t *ended = NULL;
        _cleanup_free_ char *target = NULL;
        size_t n_ended = 0;
        PasswordPolicy policy;
        AccountToken row;
        Principal holder;
        int r;

        r = account_token_redeem(m, s, p, t, POLICY_AUTH_RESET_PASSWORD, ACCOUNT_TOKEN_RESET_PASSWORD, token,
                                 "auth.reset-password", reset_link_stale,
                                 "The link is not valid any more; ask for a new one.", &row, &u, ret_wait, e);
        if (r < 0)
                return r;

        target = user_qualified_name(u);
        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        /* The token proves the mailbox: from here on the user acts. */
        holder = principal_user(p->channel, u, p->remote);
        /* The tenant's password policy, as every door applies it. */
        password_policy_of_tenant(m->config, t, &policy);
        r = password_policy_check(&policy, u->name, u->email, strempty(new_password), NULL, e);
        if (r < 0) {
                change_audit_failure(s, &holder, "auth.reset-password", t->slug, target, e);
                return r;
        }

        job = password_job_new();
        if (!job || !(job->new_password = strdup(new_password)))
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        job->prefix = m->config->hash_prefix;
        job->cost = m->config->hash_cost;
        r = worker_pool_run(m->workers, hash_work, job);
        if (r < 0)
                return tessera_error_set(e, r, "Too many password operations are waiting; try again in a moment.");
        if (job->hash_result < 0 || !job->new_hash)
                return tessera_error_set(e, job->hash_result < 0 ? job->hash_result : -EIO,
                                         "Failed to hash the password.");

        r = reset_txn(s, &holder, t, row.digest, u->id, target, job->new_hash, &before, &ended, &n_ended, e);
        if (r < 0) {
                if (r == -EKEYREJECTED)
                        account_token_failed(m, p);
                change_audit_failure(s, &holder, "auth.reset-password", t->slug, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_USER, before, CHANGE_UPDATED));
        host_sessions_ended(m, before, ended, n_ended);
        log_info("%s: password reset by mail; every session ended (%zu on hosts).", target, n_ended);
        if (ret) {
                r = store_user_get_by_id(s, u->id, &stored);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
                *ret = TAKE_PTR(stored);
        }
        return 0;
}
