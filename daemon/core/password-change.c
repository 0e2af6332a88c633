/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "password-change.h"

#include <assert.h>
#include <stdlib.h>

#include "log.h"
#include "password-job.h"
#include "password-policy.h"
#include "password.h"

/* One operation in flight: everything it needs until the commit, copied,
 * since the request it came from (a D-Bus message, a PAM connection) may
 * be gone by then. */
typedef struct PasswordChange {
        Manager *manager;

        /* Who asks, and the request for the audit trail of the check. */
        Principal principal;
        char *channel, *remote, *name, *reason, *scopes;
        AuthContext ctx;
        char *ctx_action, *ctx_service, *ctx_tty, *ctx_remote_user;
        char *target;             /* "alice@acme" */

        /* A change: the user, and the hash their current password is
         * checked against (NULL: an administrator sets it). */
        UserRecord *user;
        char *verified_hash;
        AuthAttempt *attempt;

        /* A creation: the tenant, the name, the attributes. */
        TenantRecord *tenant;
        char *new_name;
        UserSpec spec;
        char *real_name, *email, *home, *shell;

        PasswordJob *job;         /* the new password, to hash */
        PasswordChangeOutcome outcome;
        PasswordChangeDone done;
        void *userdata;
} PasswordChange;

static PasswordChange *password_change_free(PasswordChange *c) {
        if (!c)
                return NULL;
        free(c->channel);
        free(c->remote);
        free(c->name);
        free(c->reason);
        free(c->scopes);
        free(c->ctx_action);
        free(c->ctx_service);
        free(c->ctx_tty);
        free(c->ctx_remote_user);
        free(c->target);
        user_record_unref(c->user);
        erase_and_free(c->verified_hash);
        auth_attempt_free(c->attempt);
        tenant_record_unref(c->tenant);
        free(c->new_name);
        free(c->real_name);
        free(c->email);
        free(c->home);
        free(c->shell);
        password_job_free(c->job);
        user_record_unref(c->outcome.user);
        free(c);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(PasswordChange *, password_change_free);

/* *ret = a copy of s (NULL stays NULL); false when out of memory. */
static bool copy(const char *s, char **ret) {
        *ret = s ? strdup(s) : NULL;
        return !s || *ret;
}

static int password_change_new(Manager *m, const Principal *p, const AuthContext *ctx, const char *target,
                               const char *new_password, PasswordChange **ret) {
        _cleanup_(password_change_freep) PasswordChange *c = NULL;

        c = calloc(1, sizeof(PasswordChange));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->principal = *p;
        c->ctx = ctx ? *ctx : (AuthContext) {};
        if (!copy(p->channel, &c->channel) || !copy(p->remote, &c->remote) || !copy(p->name, &c->name) ||
            !copy(p->reason, &c->reason) || !copy(p->scopes, &c->scopes) ||
            !copy(c->ctx.action ?: "auth.chauthtok", &c->ctx_action) || !copy(c->ctx.service, &c->ctx_service) ||
            !copy(c->ctx.tty, &c->ctx_tty) || !copy(c->ctx.remote_user, &c->ctx_remote_user) ||
            !copy(target, &c->target))
                return -ENOMEM;
        c->principal.channel = c->channel;
        c->principal.remote = c->remote;
        c->principal.name = c->name;
        c->principal.reason = c->reason;
        c->principal.scopes = c->scopes;
        c->ctx.action = c->ctx_action;
        c->ctx.service = c->ctx_service;
        c->ctx.tty = c->ctx_tty;
        c->ctx.remote_user = c->ctx_remote_user;

        c->job = password_job_new();
        if (!c->job || !copy(new_password, &c->job->new_password))
                return -ENOMEM;
        c->job->prefix = m->config->hash_prefix;
        c->job->cost = m->config->hash_cost;

        *ret = TAKE_PTR(c);
        return 0;
}

static int fail(PasswordChange *c, int r, const char *message) {
        return c->outcome.result = tessera_error_set(&c->outcome.error, r, "%s", message);
}

static int busy(TesseraError *e, int r) {
        return tessera_error_set(e, r, r == -EBUSY ? "Too many password operations are waiting; try again in a moment."
                                                   : "Failed to queue the password work.");
}

bool password_change_needs_current(const Principal *p, const UserRecord *u) {
        PolicyTarget t = policy_target_user(u);
        return !policy_administers(p, &t);
}

/* --- the steps ------------------------------------------------------------- */

/* The password policy of u's tenant (password-policy.h), as it is now. */
static int check_policy(Manager *m, Store *s, const UserRecord *u, const char *new_password, const char *current,
                        TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        PasswordPolicy policy;
        int r;

        r = store_tenant_get_by_id(s, u->tenant_id, &t);
        if (r < 0)
                return tessera_error_set(e, r, r == -ENOENT ? "The tenant of %s@%s no longer exists."
                                                            : "Failed to look up the tenant of %s@%s.",
                                         u->name, u->tenant);
        password_policy_of_tenant(m->config, t, &policy);
        return password_policy_check(&policy, u->name, u->email, new_password, current, e);
}

/* Step 1 of a change, before anything is queued. */
static int change_check(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *target,
                        const char *current, const char *new_password, TesseraError *e) {
        PolicyTarget t = policy_target_user(u);
        int r;

        /* Administrators set any password; users change their own,
         * proving it with the current one, as passwd(1) does. */
        r = change_authorize(s, p, POLICY_USER_SET_PASSWORD, t, u->tenant, target, e);
        if (r < 0)
                return r;
        if (!current && !policy_administers(p, &t))
                r = tessera_error_set(e, -EACCES, "Give the current password of %s to change it.", target);
        else if (current && isempty(u->password_hash))
                r = tessera_error_set(e, -EACCES, "No password is set for '%s'; ask an administrator to set one.",
                                      target);
        else
                r = check_policy(m, s, u, new_password, current, e);
        if (r < 0)
                change_audit_failure(s, p, "user.set-password", u->tenant, target, e);
        return r;
}

/* On a worker. */
static void verify_work(void *userdata) {
        PasswordChange *c = userdata;
        auth_attempt_verify(c->attempt);
}

static void hash_work(void *userdata) {
        PasswordChange *c = userdata;
        password_job_work(c->job);
}

/* Step 2's decision, with the caller's Store: what the current password
 * is worth. */
static int current_checked(PasswordChange *c, Store *s) {
        int r;

        r = auth_attempt_finish(c->manager, s, &c->principal, &c->ctx, c->attempt, &c->outcome.check);
        if (r < 0)
                return fail(c, r, "Failed to check the current password.");
        c->outcome.checked = true;
        c->attempt = auth_attempt_free(c->attempt);
        return c->outcome.result = auth_result_error(&c->outcome.check, "The current password is not correct.",
                                                     &c->outcome.error);
}

/* Step 4, with the caller's Store. */
static int commit(PasswordChange *c, Store *s) {
        Manager *m = c->manager;
        PasswordJob *j = c->job;
        int r;

        if (j->hash_result < 0 || !j->new_hash) {
                r = fail(c, j->hash_result < 0 ? j->hash_result : -EIO, "Failed to hash the password.");
                change_audit_failure(s, &c->principal, c->tenant ? "user.create" : "user.set-password",
                                     c->tenant ? c->tenant->slug : c->user->tenant, c->target, &c->outcome.error);
                return r;
        }

        if (c->tenant) {
                _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;

                /* The tenant may have gone while the hash was computed. */
                r = store_tenant_get_by_id(s, c->tenant->id, &t);
                if (r < 0)
                        return fail(c, r, r == -ENOENT ? "The tenant was deleted meanwhile." : "Failed to look up the tenant.");
                c->spec.password_hash = j->new_hash;
                r = user_create(m, s, &c->principal, t, c->new_name, &c->spec, &c->outcome.user, &c->outcome.error);
                c->spec.password_hash = NULL;
        } else
                r = user_set_password_hash(m, s, &c->principal, c->user, j->new_hash, c->verified_hash,
                                           &c->outcome.user, &c->outcome.error);
        return c->outcome.result = r;
}

/* --- on the main loop ------------------------------------------------------ */

static void finish(PasswordChange *c) {
        c->done(&c->outcome, c->userdata);
        password_change_free(c);
}

static void hashed(void *userdata) {
        PasswordChange *c = userdata;

        (void) commit(c, c->manager->store);
        finish(c);
}

static void verified(void *userdata) {
        PasswordChange *c = userdata;
        int r;

        r = current_checked(c, c->manager->store);
        if (r >= 0) {
                r = worker_pool_submit(c->manager->workers, hash_work, hashed, c);
                if (r >= 0)
                        return;
                c->outcome.result = busy(&c->outcome.error, r);
        }
        finish(c);
}

int password_change_start(Manager *m, const Principal *p, const UserRecord *u, const char *current,
                          const char *new_password, const AuthContext *ctx, PasswordChangeDone done,
                          void *userdata, TesseraError *e) {
        _cleanup_(password_change_freep) PasswordChange *c = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        int r;

        assert(done);
        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_check(m, m->store, p, u, target, current, new_password, e);
        if (r < 0)
                return r;

        r = password_change_new(m, p, ctx, target, new_password, &c);
        if (r < 0)
                return tessera_error_set(e, r, "Out of memory.");
        c->user = user_record_ref((UserRecord *) u);
        c->done = done;
        c->userdata = userdata;
        if (current) {
                if (!copy(u->password_hash, &c->verified_hash))
                        return tessera_error_set(e, -ENOMEM, "Out of memory.");
                /* Like a login: a wrong one counts towards the lockout. */
                r = auth_attempt_new(m, u, target, current, NULL, AUTH_TOTP_NEVER, false, &c->attempt);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to check the current password.");
                r = worker_pool_submit(m->workers, verify_work, verified, c);
        } else
                r = worker_pool_submit(m->workers, hash_work, hashed, c);
        if (r < 0)
                return busy(e, r);
        TAKE_PTR(c);      /* verified() or hashed() has it now */
        return 0;
}

static int copy_spec(PasswordChange *c, const UserSpec *spec) {
        c->spec = *spec;
        if (!copy(spec->real_name, &c->real_name) || !copy(spec->email, &c->email) || !copy(spec->home, &c->home) ||
            !copy(spec->shell, &c->shell))
                return -ENOMEM;
        c->spec.real_name = c->real_name;
        c->spec.email = c->email;
        c->spec.home = c->home;
        c->spec.shell = c->shell;
        c->spec.password_hash = NULL;
        return 0;
}

int password_change_create_user(Manager *m, const Principal *p, const TenantRecord *t, const char *name,
                                const UserSpec *spec, const char *password, PasswordChangeDone done,
                                void *userdata, TesseraError *e) {
        _cleanup_(password_change_freep) PasswordChange *c = NULL;
        _cleanup_free_ char *target = NULL;
        PasswordPolicy policy;
        int r;

        assert(done && !spec->password_hash);
        r = user_create_check(m, m->store, p, t, name, spec, e);
        if (r < 0)
                return r;
        if (asprintf(&target, "%s@%s", name, t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        password_policy_of_tenant(m->config, t, &policy);
        r = password_policy_check(&policy, name, spec->email, password, NULL, e);
        if (r < 0) {
                change_audit_failure(m->store, p, "user.create", t->slug, target, e);
                return r;
        }

        r = password_change_new(m, p, NULL, target, password, &c);
        if (r >= 0)
                r = copy_spec(c, spec);
        if (r >= 0 && !copy(name, &c->new_name))
                r = -ENOMEM;
        if (r < 0)
                return tessera_error_set(e, r, "Out of memory.");
        c->tenant = tenant_record_ref((TenantRecord *) t);
        c->done = done;
        c->userdata = userdata;

        r = worker_pool_submit(m->workers, hash_work, hashed, c);
        if (r < 0)
                return busy(e, r);
        TAKE_PTR(c);      /* hashed() has it now */
        return 0;
}

/* --- on another thread ----------------------------------------------------- */

int password_change_run(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current,
                        const char *new_password, const AuthContext *ctx, PasswordChangeOutcome *ret) {
        _cleanup_(password_change_freep) PasswordChange *c = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        int r;

        *ret = (PasswordChangeOutcome) {};
        if (!target)
                return ret->result = tessera_error_set(&ret->error, -ENOMEM, "Out of memory.");
        r = change_check(m, s, p, u, target, current, new_password, &ret->error);
        if (r < 0)
                return ret->result = r;
        r = password_change_new(m, p, ctx, target, new_password, &c);
        if (r < 0)
                return ret->result = tessera_error_set(&ret->error, r, "Out of memory.");
        c->user = user_record_ref((UserRecord *) u);

        if (current) {
                if (!copy(u->password_hash, &c->verified_hash))
                        r = fail(c, -ENOMEM, "Out of memory.");
                else {
                        r = auth_attempt_new(m, u, target, current, NULL, AUTH_TOTP_NEVER, false, &c->attempt);
                        if (r < 0)
                                r = fail(c, r, "Failed to check the current password.");
                }
                if (r >= 0) {
                        r = worker_pool_run(m->workers, verify_work, c);
                        if (r < 0)
                                c->outcome.result = busy(&c->outcome.error, r);
                }
                if (r >= 0)
                        r = current_checked(c, s);
        }
        if (r >= 0) {
                r = worker_pool_run(m->workers, hash_work, c);
                if (r < 0)
                        c->outcome.result = busy(&c->outcome.error, r);
        }
        if (r >= 0)
                (void) commit(c, s);

        *ret = c->outcome;
        c->outcome.user = NULL;   /* the caller's now */
        return ret->result;
}

int password_change_first_run(Manager *m, Store *s, const Principal *p, const UserRecord *u,
                              const char *new_password, const AuthContext *ctx, PasswordChangeOutcome *ret) {
        _cleanup_(password_change_freep) PasswordChange *c = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        int r;

        *ret = (PasswordChangeOutcome) {};
        if (!target)
                return ret->result = tessera_error_set(&ret->error, -ENOMEM, "Out of memory.");
        r = change_authorize(s, p, POLICY_USER_SET_PASSWORD, policy_target_user(u), u->tenant, target, &ret->error);
        if (r < 0)
                return ret->result = r;
        if (!isempty(u->password_hash))
                r = tessera_error_set(&ret->error, -EEXIST,
                                      "%s has a password already: give the current one to change it.", target);
        else
                r = check_policy(m, s, u, new_password, NULL, &ret->error);
        if (r < 0) {
                change_audit_failure(s, p, "user.set-password", u->tenant, target, &ret->error);
                return ret->result = r;
        }
        r = password_change_new(m, p, ctx, target, new_password, &c);
        if (r < 0)
                return ret->result = tessera_error_set(&ret->error, r, "Out of memory.");
        c->user = user_record_ref((UserRecord *) u);
        /* "" as the verified hash: none was set, and none may have been
         * set by the time of the commit (user_set_password_hash()). */
        if (!copy("", &c->verified_hash))
                r = fail(c, -ENOMEM, "Out of memory.");
        if (r >= 0) {
                r = worker_pool_run(m->workers, hash_work, c);
                if (r < 0)
                        c->outcome.result = busy(&c->outcome.error, r);
        }
        if (r >= 0)
                (void) commit(c, s);

        *ret = c->outcome;
        c->outcome.user = NULL;   /* the caller's now */
        return ret->result;
}

void password_change_outcome_done(PasswordChangeOutcome *o) {
        o->user = user_record_unref(o->user);
}

int password_change_create_user_run(Manager *m, Store *s, const Principal *p, const TenantRecord *t,
                                    const char *name, const UserSpec *spec, const char *password, UserRecord **ret,
                                    const char **ret_field, TesseraError *e) {
        _cleanup_(password_job_freep) PasswordJob *job = NULL;
        _cleanup_free_ char *target = NULL;
        UserSpec with_hash = *spec;
        PasswordPolicy policy;
        int r;

        assert(!spec->password_hash);
        r = user_create_check(m, s, p, t, name, spec, e);
        if (r < 0)
                return r;
        if (asprintf(&target, "%s@%s", name, t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        password_policy_of_tenant(m->config, t, &policy);
        r = password_policy_check(&policy, name, spec->email, password, NULL, e);
        if (r < 0) {
                change_audit_failure(s, p, "user.create", t->slug, target, e);
                if (ret_field)
                        *ret_field = "password";
                return r;
        }

        job = password_job_new();
        if (!job || !(job->new_password = strdup(password)))
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        job->prefix = m->config->hash_prefix;
        job->cost = m->config->hash_cost;
        r = worker_pool_run(m->workers, password_job_work, job);
        if (r >= 0 && (job->hash_result < 0 || !job->new_hash))
                r = job->hash_result < 0 ? job->hash_result : -EIO;
        if (r < 0)
                return busy(e, r);

        with_hash.password_hash = job->new_hash;
        return user_create(m, s, p, t, name, &with_hash, ret, e);
}
