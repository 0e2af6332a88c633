/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-user.h"

#include <stddef.h>
#include <stdlib.h>

#include "auth-totp.h"
#include "auth.h"
#include "bus-errors.h"
#include "bus-util.h"
#include "log.h"
#include "names.h"
#include "password-change.h"
#include "time-util.h"
#include "user.h"

static int user_load(Manager *m, const char *path, void **ret) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_free_ char *tenant = NULL, *name = NULL;
        int r;

        r = sd_bus_path_decode_many(path, TESSERA_BUS_USER_PREFIX "/%/%", &tenant, &name);
        if (r <= 0 || !valid_tenant_slug(tenant) || !valid_user_name(name))
                return -ENOENT;
        r = store_tenant_get(m->store, tenant, &t);
        if (r < 0)
                return r;
        return store_user_get(m->store, t->id, name, (UserRecord **) ret);
}

static int user_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                     sd_bus_error *error) {
        BusFace *f = userdata;
        return bus_find_cached(f, &f->user_cache, path, user_load, (void *(*)(void *)) user_record_unref, found, error);
}

int bus_user_paths(Manager *m, int64_t tenant_id, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        UserRecord **users = NULL;
        size_t n = 0;
        int r;

        r = store_user_list(m->store, tenant_id, &users, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; l && i < n && r >= 0; i++)
                r = bus_user_path(users[i]->tenant, users[i]->name, &l[i]);
        user_record_array_free(users, n);
        if (!l)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int user_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        BusFace *f = userdata;
        int r = bus_user_paths(f->manager, 0, nodes);
        return r < 0 ? r : 1;
}

/* E-mail is personal data: shown to administrators and the user only. */
static bool may_see_private(sd_bus *bus, const UserRecord *u) {
        BusFace *f = bus_face_from_slot(bus);
        sd_bus_message *msg = sd_bus_get_current_message(bus);
        BusCaller c;

        /* No message: a signal, which goes to everybody. */
        if (!f || !msg || bus_caller_get(f, msg, &c) < 0)
                return false;
        Principal p = bus_caller_principal(&c);
        PolicyTarget t = policy_target_user(u);
        return policy_check(&p, POLICY_USER_READ_PRIVATE, &t) == 0;
}

static int property_get_email(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        UserRecord *u = userdata;
        return sd_bus_message_append(reply, "s", may_see_private(bus, u) ? strempty(u->email) : "");
}

static int property_get_email_verified(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        UserRecord *u = userdata;
        return sd_bus_message_append(reply, "b", may_see_private(bus, u) && u->email_verified);
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        UserRecord *u = userdata;
        return sd_bus_message_append(
                reply, "s", user_state_to_string(user_record_state(u, now_realtime_usec())));
}

static int property_get_role(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        UserRecord *u = userdata;
        return sd_bus_message_append(reply, "s", user_role_to_string(u->role));
}

static int property_get_has_password(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        UserRecord *u = userdata;
        return sd_bus_message_append(reply, "b", !isempty(u->password_hash));
}

/* Whether and how a user uses a second factor is theirs and the
 * administrators' to know. */
static int property_get_totp(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(bus);
        UserRecord *u = userdata;
        TotpStatus st = {};
        int r;

        if (may_see_private(bus, u)) {
                r = auth_totp_status(f->manager->store, u->id, &st);
                if (r < 0)
                        return r;
        }
        if (streq(property, "TotpEnabled"))
                return sd_bus_message_append(reply, "b", st.enabled);
        return sd_bus_message_append(reply, "u", st.backup_codes_left);
}

static int property_get_groups(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(bus);
        UserRecord *u = userdata;
        _cleanup_(strv_freep) char **groups = NULL;
        int r;

        r = store_user_groups(f->manager->store, u->id, &groups);
        if (r < 0)
                return r;
        return sd_bus_message_append_strv(reply, groups);
}

/* Replies after a change of the user; the core announced it (events.h),
 * and the signal follows from there. */
static int reply_after_change(sd_bus_message *msg, int r, const TesseraError *e, sd_bus_error *error) {
        if (r < 0)
                return bus_reply_tessera_error(error, e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_ref(userdata);
        _cleanup_free_ char *target = user_qualified_name(u);
        const char *role = NULL;
        UserSpec spec = USER_SPEC_INIT;
        const BusAttribute attrs[] = {
                { "RealName", 's', &spec.real_name },
                { "Email", 's', &spec.email },
                { "EmailVerified", 'b', &spec.email_verified },
                { "HomeDirectory", 's', &spec.home },
                { "Shell", 's', &spec.shell },
                { "Role", 's', &role },
                { "ExpireTime", 't', &spec.expires_usec },
        };
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        if (!target)
                return -ENOMEM;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);

        /* Unauthorized callers are turned away before their input is read. */
        r = change_authorize(m->store, &a, POLICY_USER_UPDATE, policy_target_user(u), u->tenant, target, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r >= 0 && role) {
                spec.role = user_role_from_string(role);
                if (spec.role < 0)
                        r = tessera_error_set(&e, -EINVAL, "Unknown role '%.32s'; use member, admin or owner.", role);
        }
        if (r < 0) {
                change_audit_failure(m->store, &a, "user.update", u->tenant, target, &e);
                return bus_reply_tessera_error(error, &e);
        }

        r = user_update(m, m->store, &a, u, &spec, &e);
        return reply_after_change(msg, r, &e, error);
}

static int simple_change(sd_bus_message *msg, void *userdata, sd_bus_error *error,
                         int (*change)(Manager *m, Store *s, const Principal *a, const UserRecord *u, bool on,
                                       TesseraError *e),
                         bool on) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_ref(userdata);
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = change(m, m->store, &a, u, on, &e);
        return reply_after_change(msg, r, &e, error);
}

static int set_locked(Manager *m, Store *s, const Principal *a, const UserRecord *u, bool on, TesseraError *e) {
        return user_set_locked_until(m, s, a, u, on ? LOCKED_INDEFINITELY : 0, e);
}

static int method_lock(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return simple_change(msg, userdata, error, set_locked, true);
}

static int method_unlock(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return simple_change(msg, userdata, error, set_locked, false);
}

static int method_disable(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return simple_change(msg, userdata, error, user_set_disabled, true);
}

static int method_enable(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return simple_change(msg, userdata, error, user_set_disabled, false);
}

static int method_delete(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_ref(userdata);
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        /* The core announces the user and its private group gone. */
        r = user_delete(m, m->store, &a, u, &e);
        return reply_after_change(msg, r, &e, error);
}

/* SetPassword: the core's password change (password-change.h) checks the
 * current password of a user changing their own through the
 * authentication core, with its lockout and audit, so that the method is
 * no faster and no more forgiving an oracle than a login; administrators
 * leave it out. The reply follows once the change is committed: userdata
 * is a reference to the call. */
static void set_password_done(const PasswordChangeOutcome *o, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (o->result < 0) {
                bus_reply_tessera_error(&error, &o->error);
                (void) sd_bus_reply_method_error(call, &error);
        } else
                /* The core announced the change; its signal follows. */
                (void) sd_bus_reply_method_return(call, NULL);
}

static int method_set_password(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_ref(userdata);
        const AuthContext ctx = { .action = "auth.chauthtok", .service = "user.set-password" };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        const char *current, *new_password;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "ss", &current, &new_password);
        if (r < 0)
                return r;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);

        call = sd_bus_message_ref(msg);
        /* Administrators may leave the current password out (it is not looked at). */
        r = password_change_start(m, &a, u, password_change_needs_current(&a, u) ? current : NULL, new_password, &ctx,
                                  set_password_done, call, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        TAKE_PTR(call);           /* set_password_done() has it now */
        return 1;
}

static const sd_bus_vtable user_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", bus_property_get_string, offsetof(UserRecord, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Tenant", "s", bus_property_get_string, offsetof(UserRecord, tenant), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Uid", "u", bus_property_get_uint32, offsetof(UserRecord, uid), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Gid", "u", bus_property_get_uint32, offsetof(UserRecord, gid), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RealName", "s", bus_property_get_string, offsetof(UserRecord, real_name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Email", "s", property_get_email, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("EmailVerified", "b", property_get_email_verified, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("HomeDirectory", "s", bus_property_get_string, offsetof(UserRecord, home), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Shell", "s", bus_property_get_string, offsetof(UserRecord, shell), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Role", "s", property_get_role, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Disabled", "b", bus_property_get_bool, offsetof(UserRecord, disabled), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LockedUntil", "t", bus_property_get_usec, offsetof(UserRecord, locked_until_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExpireTime", "t", bus_property_get_usec, offsetof(UserRecord, expires_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HasPassword", "b", property_get_has_password, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PasswordChangedTime", "t", bus_property_get_usec, offsetof(UserRecord, password_changed_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Groups", "as", property_get_groups, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("TotpEnabled", "b", property_get_totp, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("BackupCodesLeft", "u", property_get_totp, 0, SD_BUS_VTABLE_PROPERTY_EMITS_INVALIDATION),
        SD_BUS_PROPERTY("CreatedTime", "t", bus_property_get_usec, offsetof(UserRecord, created_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ChangedTime", "t", bus_property_get_usec, offsetof(UserRecord, changed_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", attributes), SD_BUS_NO_RESULT, method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetPassword", SD_BUS_ARGS("s", current_password, "s", new_password), SD_BUS_NO_RESULT,
                                method_set_password, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("Lock", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_lock, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Unlock", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_unlock, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Disable", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_disable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Enable", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_enable, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("BeginTotpEnrollment", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", secret, "s", uri),
                                bus_user_method_begin_totp, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ConfirmTotpEnrollment", SD_BUS_ARGS("s", code), SD_BUS_RESULT("as", backup_codes),
                                bus_user_method_confirm_totp, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("DisableTotp", SD_BUS_ARGS("s", code), SD_BUS_NO_RESULT, bus_user_method_disable_totp,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("RegenerateBackupCodes", SD_BUS_ARGS("s", code), SD_BUS_RESULT("as", backup_codes),
                                bus_user_method_regenerate_backup_codes,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_VTABLE_END,
};

const BusObjectType bus_user_type = {
        .interface = TESSERA_IFACE_USER,
        .vtable = user_vtable,
        .path = TESSERA_BUS_USER_PREFIX,
        .find = user_find,
        .enumerate = user_enumerate,
};
