/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "user.h"

#include "auth.h"
#include "entitlement.h"
#include "log.h"
#include "names.h"
#include "tenant.h"
#include "time-util.h"

char *user_qualified_name(const UserRecord *u) {
        char *s;
        return asprintf(&s, "%s@%s", u->name, u->tenant) < 0 ? NULL : s;
}

int user_spec_validate(const UserSpec *spec, TesseraError *e) {
        if (spec->real_name && !valid_real_name(spec->real_name))
                return tessera_error_set(e, -EINVAL,
                                         "The real name must be at most %d bytes of UTF-8 without ':' or "
                                         "control characters.",
                                         REAL_NAME_MAX_LEN);
        if (spec->email && spec->email[0] && !valid_email(spec->email))
                return tessera_error_set(e, -EINVAL, "'%.80s' is not a valid e-mail address.", spec->email);
        if (spec->home && !valid_unix_path(spec->home))
                return tessera_error_set(e, -EINVAL,
                                         "The home directory must be an absolute, normalized path of at most "
                                         "%d bytes without ':'.",
                                         UNIX_PATH_FIELD_MAX_LEN);
        if (spec->shell && !valid_unix_path(spec->shell))
                return tessera_error_set(e, -EINVAL,
                                         "The shell must be an absolute, normalized path of at most %d bytes "
                                         "without ':'.",
                                         UNIX_PATH_FIELD_MAX_LEN);
        if (spec->role >= _USER_ROLE_MAX)
                return tessera_error_set(e, -EINVAL, "Unknown role; use member, admin or owner.");
        if (spec->expires_usec < -1)
                return tessera_error_set(e, -EINVAL, "The expiry time must not be negative.");
        return 0;
}

/* The creation itself, inside the caller's transaction (its own, or a
 * group commit's savepoint), with its audit event: the checks that need
 * the store, the record, the event. */
static int create_in_txn(Store *s, const Principal *a, const UserRecord *u, const char *target, UserRecord **ret,
                         TesseraError *e) {
        _cleanup_(group_record_unrefp) GroupRecord *clash = NULL;
        int r;

        /* Name the conflict precisely: useradd's messages are the model. */
        r = store_user_get(s, u->tenant_id, u->name, NULL);
        if (r >= 0)
                return tessera_error_set(e, -EEXIST, "User '%s' already exists.", target);
        r = store_group_get(s, u->tenant_id, u->name, &clash);
        if (r >= 0)
                return tessera_error_set(e, -EEXIST,
                                         "A group named '%s' already exists in tenant '%s', and the user's "
                                         "private group would take that name.",
                                         u->name, u->tenant);
        if (u->email) {
                r = store_user_get_by_email(s, u->tenant_id, u->email, NULL);
                if (r >= 0)
                        return tessera_error_set(e, -EEXIST, "Another user of tenant '%s' has the e-mail address %s.",
                                                 u->tenant, u->email);
        }

        /* The tenant's plan, checked in the transaction that adds the
         * user: two creations at once can't both take the last place. */
        r = entitlement_check_room(s, u->tenant_id, u->tenant, ENTITLED_USERS, e);
        if (r < 0)
                return r;

        r = store_user_create(s, u, ret);
        if (r == -ERANGE)
                return tessera_error_set(e, r, "UID %u lies outside the ID slice of tenant '%s'.", u->uid,
                                         u->tenant);
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "The ID slice of tenant '%s' is full.", u->tenant);
        if (r == -EEXIST)
                return tessera_error_set(e, r, "UID %u is already in use.", u->uid);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create user '%s'.", target);

        r = change_audit(s, a, "user.create", u->tenant, target, AUDIT_SUCCESS, NULL);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to record the change in the audit trail");
        return 0;
}

int user_create_check(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                      const UserSpec *spec, TesseraError *e) {
        _cleanup_free_ char *target = NULL;
        int r;

        /* Cut short for the audit trail and the messages: a name asked
         * for may be anything up to a message's size; a valid one is far
         * shorter. */
        if (qualified_target(name, t->slug, &target) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");

        r = change_authorize(s, a, POLICY_USER_CREATE, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;
        /* An owner is made by an owner (or the host's administrators):
         * an admin, a key or an impersonating operator may make members
         * and admins, not somebody above themselves. */
        if (spec->role == USER_ROLE_OWNER && a->kind != PRINCIPAL_LOCAL &&
            !(a->kind == PRINCIPAL_USER && a->role == USER_ROLE_OWNER)) {
                tessera_error_set(e, -EACCES, "Only an owner of tenant '%s' may create an owner.", t->slug);
                change_audit_failure(s, a, "user.create", t->slug, target, e);
                return -EACCES;
        }

        if (!valid_user_name(name))
                r = tessera_error_set(e, -EINVAL,
                                      "'%.64s' is not a valid user name: begin with a lower-case letter or '_', "
                                      "then use lower-case letters, digits, '_' or '-', at most %d in all.",
                                      strempty(name), NAME_MAX_LEN);
        else
                r = user_spec_validate(spec, e);
        if (r < 0) {
                change_audit_failure(s, a, "user.create", t->slug, target, e);
                return r;
        }
        return 0;
}

void user_creation_done(UserCreation *c) {
        c->created = user_record_unref(c->created);
        free(c->target);
        free(c->home);
        c->target = c->home = NULL;
}

int user_create_prepare(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                        const UserSpec *spec, UserCreation *c, TesseraError *e) {
        int r;

        *c = (UserCreation) {
                .principal = a,
                .record = {
                        .tenant_id = t->id,
                        .tenant = t->slug,
                        .name = (char *) name,
                        .uid = spec->uid,
                        .real_name = (char *) spec->real_name,
                        .email = isempty(spec->email) ? NULL : (char *) spec->email,
                        .email_verified = spec->email_verified > 0,
                        .home = (char *) spec->home,
                        .shell = (char *) (spec->shell ?: m->config->default_shell),
                        .password_hash = (char *) spec->password_hash,
                        .role = spec->role >= 0 ? spec->role : USER_ROLE_MEMBER,
                        .expires_usec = MAX(spec->expires_usec, (int64_t) 0),
                },
        };

        r = user_create_check(m, s, a, t, name, spec, e);
        if (r < 0)
                return r;
        if (asprintf(&c->target, "%s@%s", name, t->slug) < 0) {
                c->target = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        if (!c->record.home) {
                r = config_format_home(m->config, name, t->slug, &c->home);
                if (r < 0) {
                        tessera_error_set(e, r, "The home_template of tesserad.conf gives no valid path for '%s'.",
                                          c->target);
                        change_audit_failure(s, a, "user.create", t->slug, c->target, e);
                        user_creation_done(c);
                        return r;
                }
                c->record.home = c->home;
        }
        return 0;
}

int user_create_write(Store *s, void *userdata) {
        UserCreation *c = userdata;
        return create_in_txn(s, c->principal, &c->record, c->target, &c->created, &c->error);
}

int user_create_finish(Manager *m, Store *s, UserCreation *c, int result, UserRecord **ret, TesseraError *e) {
        if (result < 0) {
                /* The write's own reason, or the commit's that undid it. */
                if (c->error.code == 0)
                        change_storage_failure(&c->error, result, "Failed to commit the change to the database");
                tessera_error_set(e, c->error.code, "%s", c->error.message);
                change_audit_failure(s, c->principal, "user.create", c->record.tenant, c->target, e);
                return result;
        }

        manager_changed(m, change_event_user(CHANGE_USER, c->created, CHANGE_CREATED));
        log_info("Created user %s (uid %u).", c->target, c->created->uid);
        if (ret)
                *ret = TAKE_PTR(c->created);
        return 0;
}

int user_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                const UserSpec *spec, UserRecord **ret, TesseraError *e) {
        _cleanup_(user_creation_done) UserCreation c = {};
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = user_create_prepare(m, s, a, t, name, spec, &c, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, &c.error);
        if (r >= 0)
                r = user_create_write(s, &c);
        if (r >= 0) {
                r = store_commit(TAKE_PTR(txn));
                if (r < 0)
                        change_storage_failure(&c.error, r, "Failed to commit the change to the database");
        }
        store_rollback(TAKE_PTR(txn));
        return user_create_finish(m, s, &c, r, ret, e);
}

/* Runs one change of an existing user: require admin (unless the caller
 * was authorized already), write the changed record, audit, commit. */
static int change_user_full(Manager *m, Store *s, const Principal *a, PolicyAction policy, const UserRecord *changed,
                            bool authorized, const char *details, int (*also)(Store *s, int64_t user_id),
                            TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = user_qualified_name(changed);
        const char *action = policy_action_to_string(policy);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");

        if (!authorized) {
                r = change_authorize(s, a, policy, policy_target_user(changed), changed->tenant, target, e);
                if (r < 0)
                        return r;
        }

        r = change_begin(s, &txn, e);
        if (r >= 0) {
                r = store_user_update(s, changed);
                if (r == -ENOENT)
                        r = tessera_error_set(e, r, "User '%s' no longer exists.", target);
                else if (r == -EEXIST)
                        r = tessera_error_set(e, r, "Another user of tenant '%s' has the e-mail address %s.",
                                              changed->tenant, strna(changed->email));
                else if (r < 0)
                        r = tessera_error_set(e, r, "Failed to update user '%s'.", target);
        }
        if (r >= 0 && also) {
                r = also(s, changed->id);
                if (r == -EOWNERDEAD)
                        r = tessera_error_set(e, r, "%s is the last owner of tenant '%s': make another member "
                                              "owner first.", target, changed->tenant);
                else if (r < 0)
                        r = tessera_error_set(e, r, "Failed to update user '%s'.", target);
        }
        if (r >= 0)
                r = change_commit(&txn, a, action, changed->tenant, target, details, e);
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, a, action, changed->tenant, target, e);
                return r;
        }

        manager_changed(m, change_event_user(CHANGE_USER, changed, CHANGE_UPDATED));
        log_info("%s: %s.", target, action);
        return 0;
}

static int change_user(Manager *m, Store *s, const Principal *a, PolicyAction policy, const UserRecord *changed,
                       bool authorized, const char *details, TesseraError *e) {
        return change_user_full(m, s, a, policy, changed, authorized, details, NULL, e);
}

/* Inside an update's transaction, after the write: the tenant still has an
 * owner. */
static int owner_remains(Store *s, int64_t user_id) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        unsigned owners;
        int r;

        r = store_user_get_by_id(s, user_id, &u);
        if (r < 0)
                return r;
        r = store_user_count_role(s, u->tenant_id, USER_ROLE_OWNER, &owners);
        if (r < 0)
                return r;
        return owners > 0 ? 0 : -EOWNERDEAD;
}

int user_update(Manager *m, Store *s, const Principal *a, const UserRecord *u, const UserSpec *c, TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        UserRecord changed = *u;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_USER_UPDATE, policy_target_user(u), u->tenant, target, e);
        if (r < 0)
                return r;
        r = user_spec_validate(c, e);
        if (r < 0) {
                change_audit_failure(s, a, "user.update", u->tenant, target, e);
                return r;
        }

        if (c->real_name)
                changed.real_name = (char *) c->real_name;
        if (c->email) {
                changed.email = c->email[0] ? (char *) c->email : NULL;
                /* A new address has not been proven to be the user's. */
                if (!u->email || !changed.email || strcasecmp(u->email, changed.email) != 0)
                        changed.email_verified = false;
        }
        if (c->email_verified >= 0)
                changed.email_verified = c->email_verified;
        if (c->home)
                changed.home = (char *) c->home;
        if (c->shell)
                changed.shell = (char *) c->shell;
        if (c->role >= 0)
                changed.role = c->role;
        if (c->expires_usec >= 0)
                changed.expires_usec = c->expires_usec;

        /* Taking the owner's role (tesseractl user set --role, D-Bus) keeps
         * the tenant's last owner, as member.set-role does. */
        if (u->role == USER_ROLE_OWNER && changed.role != USER_ROLE_OWNER)
                return change_user_full(m, s, a, POLICY_USER_UPDATE, &changed, true, NULL, owner_remains, e);
        return change_user(m, s, a, POLICY_USER_UPDATE, &changed, true, NULL, e);
}

int user_update_profile(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *real_name,
                        const char *email, UserRecord **ret, TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        UserSpec spec = USER_SPEC_INIT;
        UserRecord changed = *u;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_ME_UPDATE, policy_target_user(u), u->tenant, target, e);
        if (r < 0)
                return r;
        spec.real_name = real_name;
        spec.email = email;
        r = user_spec_validate(&spec, e);
        if (r < 0) {
                change_audit_failure(s, a, "me.update", u->tenant, target, e);
                return r;
        }

        if (real_name)
                changed.real_name = (char *) real_name;
        if (email) {
                changed.email = email[0] ? (char *) email : NULL;
                /* A new address has not been proven to be the user's. */
                if (!u->email || !changed.email || strcasecmp(u->email, changed.email) != 0)
                        changed.email_verified = false;
        }
        r = change_user(m, s, a, POLICY_ME_UPDATE, &changed, true, NULL, e);
        if (r < 0)
                return r;
        if (ret) {
                r = store_user_get_by_id(s, u->id, ret);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
        }
        return 0;
}

/* The record is read again inside the transaction: a lock, an edit or
 * another password set while the new one was hashed stays, and the proof
 * of the current password counts only while that password is the one
 * stored. */
static int set_password_txn(Store *s, const Principal *a, int64_t user_id, const char *target, const char *hash,
                            const char *verified_hash, UserRecord **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        UserRecord changed;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_user_get_by_id(s, user_id, &u);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s' no longer exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
        /* verified_hash "": the account had no password (a first one,
         * password_change_first_run()), and must have none still. */
        if (verified_hash && (isempty(verified_hash) ? !isempty(u->password_hash)
                                                      : !u->password_hash || !streq(u->password_hash, verified_hash)))
                return tessera_error_set(e, -EKEYREJECTED,
                                         "The password of %s was changed meanwhile: the current password given "
                                         "is no longer the current one.",
                                         target);

        changed = *u;
        changed.password_hash = (char *) hash;
        changed.password_changed_usec = now_realtime_usec();
        r = store_user_update(s, &changed);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s' no longer exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to update user '%s'.", target);
        r = change_commit(&txn, a, "user.set-password", u->tenant, target, NULL, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

int user_set_password_hash(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *hash,
                           const char *verified_hash, UserRecord **ret, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *before = NULL, *stored = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        PolicyTarget t = policy_target_user(u);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_USER_SET_PASSWORD, t, u->tenant, target, e);
        if (r < 0)
                return r;
        /* The user themself proves the current password first (through
         * the authentication core: password-change.h). */
        if (!verified_hash && !policy_administers(a, &t)) {
                tessera_error_set(e, -EACCES, "Give the current password of %s to change it.", target);
                change_audit_failure(s, a, "user.set-password", u->tenant, target, e);
                return -EACCES;
        }

        r = set_password_txn(s, a, u->id, target, hash, verified_hash, &before, e);
        if (r < 0) {
                change_audit_failure(s, a, "user.set-password", u->tenant, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_USER, before, CHANGE_UPDATED));
        log_info("%s: user.set-password.", target);
        if (ret) {
                /* As stored, with the time of the change stamped. */
                r = store_user_get_by_id(s, u->id, &stored);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
                *ret = TAKE_PTR(stored);
        }
        return 0;
}

int user_set_locked_until(Manager *m, Store *s, const Principal *a, const UserRecord *u, int64_t until,
                          TesseraError *e) {
        UserRecord changed = *u;

        changed.locked_until_usec = MAX(until, (int64_t) 0);
        /* Unlocking also forgets the failures that led to an automatic lock,
         * so the next lock starts short again. */
        return change_user_full(m, s, a, until > 0 ? POLICY_USER_LOCK : POLICY_USER_UNLOCK, &changed, false, NULL,
                                until > 0 ? NULL : auth_reset_failures, e);
}

int user_set_disabled(Manager *m, Store *s, const Principal *a, const UserRecord *u, bool disabled, TesseraError *e) {
        UserRecord changed = *u;

        changed.disabled = disabled;
        return change_user(m, s, a, disabled ? POLICY_USER_DISABLE : POLICY_USER_ENABLE, &changed, false, NULL, e);
}

/* The groups a user about to go is a member of (not its private group,
 * which goes with it): their lists of members change. */
static int load_groups(Store *s, const UserRecord *u, GroupRecord ***ret, size_t *ret_n) {
        _cleanup_(strv_freep) char **names = NULL;
        GroupRecord **groups;
        size_t n = 0;
        int r;

        r = store_user_groups(s, u->id, &names);
        if (r < 0)
                return r;
        if (strv_length(names) == 0)
                return 0;
        groups = calloc(strv_length(names), sizeof(GroupRecord *));
        if (!groups)
                return -ENOMEM;
        STRV_FOREACH(name, names) {
                r = store_group_get(s, u->tenant_id, *name, &groups[n]);
                if (r < 0) {
                        group_record_array_free(groups, n);
                        return r;
                }
                n++;
        }
        *ret = groups;
        *ret_n = n;
        return 0;
}

static int delete_txn(Store *s, const Principal *a, const UserRecord *u, const char *target, const char *action,
                      UserDeleteRule rule, GroupRecord ***ret_groups, size_t *ret_n_groups, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        GroupRecord **groups = NULL;
        size_t n_groups = 0;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        /* The caller's rule, on the records as they are in this transaction. */
        if (rule) {
                r = rule(s, a, u, e);
                if (r < 0)
                        return r;
        }
        /* Read in the deletion's transaction: exactly the memberships it removes. */
        r = load_groups(s, u, &groups, &n_groups);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the groups of user '%s'.", target);
        r = store_user_delete(s, u->id);
        if (r == -ENOENT)
                r = tessera_error_set(e, r, "User '%s' no longer exists.", target);
        else if (r < 0)
                r = tessera_error_set(e, r, "Failed to delete user '%s'.", target);
        else
                r = change_commit(&txn, a, action, u->tenant, target, NULL, e);
        if (r < 0) {
                group_record_array_free(groups, n_groups);
                return r;
        }
        *ret_groups = groups;
        *ret_n_groups = n_groups;
        return 0;
}

/* The tenant keeps an owner: refuses taking the owner's role from u (as
 * stored now, in the caller's transaction) when u is the last one. */
int user_keep_an_owner(Store *s, const UserRecord *u, const char *target, TesseraError *e) {
        unsigned owners;
        int r;

        if (u->role != USER_ROLE_OWNER)
                return 0;
        r = store_user_count_role(s, u->tenant_id, USER_ROLE_OWNER, &owners);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to count the owners of tenant '%s'.", u->tenant);
        if (owners <= 1)
                return tessera_error_set(e, -EOWNERDEAD,
                                         "%s is the last owner of tenant '%s': make another member owner first.",
                                         target, u->tenant);
        return 0;
}

int user_owner_removal_rule(Store *s, const Principal *a, const UserRecord *u, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *now = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        PolicyTarget t = policy_target_user(u);
        uint64_t n;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = store_user_get_by_id(s, u->id, &now);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s' no longer exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
        if (now->role != USER_ROLE_OWNER)
                return 0;
        if (policy_check(a, POLICY_MEMBER_SET_ROLE, &t) < 0)
                return tessera_error_set(e, -EACCES, "Only an owner of tenant '%s' may remove an owner.", u->tenant);
        /* What must hold is that a tenant with users has an owner: the last
         * user of all may go (a tenant being emptied, then deleted). */
        r = store_tenant_count(s, u->tenant_id, ENTITLED_USERS, 2, &n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to count the users of tenant '%s'.", u->tenant);
        return n <= 1 ? 0 : user_keep_an_owner(s, now, target, e);
}

int user_delete(Manager *m, Store *s, const Principal *a, const UserRecord *u, TesseraError *e) {
        /* The ownership rules hold whichever door deletes: member.remove,
         * user.delete over REST or D-Bus. */
        return user_delete_full(m, s, a, u, POLICY_USER_DELETE, user_owner_removal_rule, e);
}

int user_delete_full(Manager *m, Store *s, const Principal *a, const UserRecord *u, PolicyAction action,
                     UserDeleteRule rule, TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        const char *name = policy_action_to_string(action);
        GroupRecord **groups = NULL;
        size_t n_groups = 0;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, action, policy_target_user(u), u->tenant, target, e);
        if (r < 0)
                return r;
        r = delete_txn(s, a, u, target, name, rule, &groups, &n_groups, e);
        if (r < 0) {
                change_audit_failure(s, a, name, u->tenant, target, e);
                return r;
        }
        /* The user-private group went with the user. */
        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_DELETED));
        manager_changed(m, (ChangeEvent) { .kind = CHANGE_GROUP, .op = CHANGE_DELETED, .tenant_id = u->tenant_id,
                                           .tenant = u->tenant, .name = u->name, .unix_id = u->gid });
        /* The groups it was a member of lost a member. */
        for (size_t i = 0; i < n_groups; i++)
                manager_changed(m, change_event_group(groups[i], CHANGE_UPDATED));
        group_record_array_free(groups, n_groups);
        log_info("Deleted user %s (uid %u).", target, u->uid);
        return 0;
}

int user_lookup(Manager *m, Store *s, const char *tenant, const char *name, UserRecord **ret, TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        int r;

        r = tenant_lookup(m, s, tenant, &t, e);
        if (r < 0)
                return r;
        if (!valid_user_name(name))
                return tessera_error_set(e, -EINVAL, "'%s' is not a valid user name.", strempty(name));
        r = store_user_get(s, t->id, name, ret);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s@%s' does not exist.", name, t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%s@%s'.", name, t->slug);
        return 0;
}
