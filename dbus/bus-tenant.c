/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-tenant.h"

#include "bus-api-key.h"
#include "bus-application.h"
#include "bus-platform.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>

#include "bus-errors.h"
#include "bus-group.h"
#include "bus-invitation.h"
#include "bus-provider.h"
#include "bus-user.h"
#include "bus-util.h"
#include "cursor.h"
#include "group.h"
#include "log.h"
#include "names.h"
#include "password-change.h"
#include "tenant.h"
#include "user-search.h"
#include "user.h"

static int tenant_load(Manager *m, const char *path, void **ret) {
        _cleanup_free_ char *slug = NULL;
        int r;

        r = sd_bus_path_decode(path, TESSERA_BUS_TENANT_PREFIX, &slug);
        if (r <= 0 || !valid_tenant_slug(slug))
                return -ENOENT;
        return store_tenant_get(m->store, slug, (TenantRecord **) ret);
}

static int tenant_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        BusFace *f = userdata;
        return bus_find_cached(f, &f->tenant_cache, path, tenant_load, (void *(*)(void *)) tenant_record_unref,
                               found, error);
}

int bus_tenant_paths(Manager *m, char ***ret) {
        _cleanup_(strv_freep) char **l = NULL;
        TenantRecord **tenants = NULL;
        size_t n = 0;
        int r;

        r = store_tenant_list(m->store, &tenants, &n);
        if (r < 0)
                return r;
        l = calloc(n + 1, sizeof(char *));
        for (size_t i = 0; l && i < n && r >= 0; i++)
                r = bus_tenant_path(tenants[i]->slug, &l[i]);
        tenant_record_array_free(tenants, n);
        if (!l)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int tenant_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        BusFace *f = userdata;
        int r = bus_tenant_paths(f->manager, nodes);
        return r < 0 ? r : 1;
}

static int reply_path(sd_bus_message *msg, const char *path) {
        return sd_bus_reply_method_return(msg, "o", path);
}

/* Replies with the path of a new user. The core announced it (events.h);
 * its signals, and its private group's, follow from there. */
static int reply_user_path(sd_bus_message *msg, const UserRecord *u) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = bus_user_path(u->tenant, u->name, &path);
        if (r < 0)
                return r;
        return reply_path(msg, path);
}

/* A user created with a password: the core checks the request at once,
 * hashes the password on a worker and creates the user (password-change.h);
 * the reply follows: userdata is a reference to the call. */
static void create_user_done(const PasswordChangeOutcome *o, void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (o->result < 0)
                r = bus_reply_tessera_error(&error, &o->error);
        else
                r = reply_user_path(call, o->user);
        if (r < 0) {
                if (!sd_bus_error_is_set(&error))
                        bus_error_set(&error, r, "Failed to create the user.");
                (void) sd_bus_reply_method_error(call, &error);
        }
}

static int method_create_user(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *call = NULL;
        UserSpec spec = USER_SPEC_INIT;
        const char *name, *role = NULL, *password = NULL;
        const BusAttribute attrs[] = {
                { "RealName", 's', &spec.real_name },
                { "Email", 's', &spec.email },
                { "EmailVerified", 'b', &spec.email_verified },
                { "HomeDirectory", 's', &spec.home },
                { "Shell", 's', &spec.shell },
                { "Uid", 'u', &spec.uid },
                { "Role", 's', &role },
                { "ExpireTime", 't', &spec.expires_usec },
                { "Password", 's', &password },
        };
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);

        /* The arguments as D-Bus carries them; the core judges them. */
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r >= 0 && role) {
                spec.role = user_role_from_string(role);
                if (spec.role < 0)
                        r = tessera_error_set(&e, -EINVAL, "Unknown role '%.32s'; use member, admin or owner.", role);
        }
        if (r < 0) {
                _cleanup_free_ char *target = NULL;

                if (qualified_target(name, t->slug, &target) < 0)
                        return -ENOMEM;
                change_audit_failure(m->store, &a, "user.create", t->slug, target, &e);
                return bus_reply_tessera_error(error, &e);
        }

        if (!password) {
                r = user_create(m, m->store, &a, t, name, &spec, &u, &e);
                if (r < 0)
                        return bus_reply_tessera_error(error, &e);
                return reply_user_path(msg, u);
        }
        call = sd_bus_message_ref(msg);
        r = password_change_create_user(m, &a, t, name, &spec, password, create_user_done, call, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        TAKE_PTR(call);           /* create_user_done() has it now */
        return 1;
}

static int method_create_group(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        _cleanup_free_ char *target = NULL, *path = NULL;
        const char *name, *description = NULL;
        uint32_t gid = 0;
        const BusAttribute attrs[] = {
                { "Gid", 'u', &gid },
                { "Description", 's', &description },
        };
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        if (qualified_target(name, t->slug, &target) < 0)
                return -ENOMEM;

        r = change_authorize(m->store, &a, POLICY_GROUP_CREATE, policy_target_tenant(t->id), t->slug, target, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "group.create", t->slug, target, &e);
                return bus_reply_tessera_error(error, &e);
        }

        r = group_create(m, m->store, &a, t, name, gid, description, &g, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        r = bus_group_path(g->tenant, g->name, &path);
        if (r < 0)
                return r;
        return reply_path(msg, path);
}

/* ListUsers and ListGroups: the tenant's objects as paths. */
static int method_list_users(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(strv_freep) char **paths = NULL;
        int r = bus_user_paths(m, t->id, &paths);

        return r < 0 ? r : bus_reply_paths(msg, paths);
}

/* SearchUsers: one page of the admin view of users (user-search.h), by
 * the filters of an a{sv}, continued after the opaque cursor the page
 * before returned ("" for the first page; "" back after the last). */
static int method_search_users(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        const char *prefix = NULL, *state = NULL, *role = NULL, *sort = NULL, *cursor = NULL;
        uint64_t created_after = 0, created_before = 0;
        const BusAttribute attrs[] = {
                { "Prefix", 's', &prefix },
                { "State", 's', &state },
                { "Role", 's', &role },
                { "Sort", 's', &sort },
                { "CreatedAfter", 't', &created_after },
                { "CreatedBefore", 't', &created_before },
        };
        _cleanup_free_ char *scope = NULL, *next = NULL;
        _cleanup_(strv_freep) char **paths = NULL;
        _cleanup_(cursor_done) Cursor after = {};
        UserQuery q = { .state = -1, .role = -1 };
        UserRecord **users = NULL;
        size_t n = 0;
        uint32_t limit;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        Cursor last;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r >= 0)
                r = sd_bus_message_read(msg, "us", &limit, &cursor);
        if (r < 0)
                return e.code < 0 ? bus_reply_tessera_error(error, &e) : r;

        if ((state && (q.state = user_state_from_string(state)) < 0) ||
            (role && (q.role = user_role_from_string(role)) < 0) ||
            (sort && (int) (q.sort = user_sort_from_string(sort)) < 0) || created_after > INT64_MAX ||
            created_before > INT64_MAX || limit == 0 || limit > CURSOR_LIMIT_MAX) {
                tessera_error_set(&e, -EINVAL,
                                  "State is active, disabled, locked or expired; Role member, admin or owner; Sort "
                                  "name or created; the limit 1 to %u.",
                                  CURSOR_LIMIT_MAX);
                return bus_reply_tessera_error(error, &e);
        }
        q.prefix = isempty(prefix) ? NULL : prefix;
        q.created_after = (int64_t) created_after;
        q.created_before = (int64_t) created_before;
        q.limit = limit;
        r = user_search_scope(t, &q, &scope);
        if (r < 0)
                return r;
        if (!isempty(cursor)) {
                r = cursor_decode(m->secret_key, scope, cursor, &after);
                if (r == -EBADMSG || (r >= 0 && user_search_continue(&q, &after) < 0)) {
                        tessera_error_set(&e, -EINVAL, "The cursor is not one this search gave out for this query.");
                        return bus_reply_tessera_error(error, &e);
                }
                if (r < 0)
                        return r;
        }

        r = user_search(m, m->store, &a, t, &q, &users, &n, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        paths = calloc(n + 1, sizeof(char *));
        r = paths ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = bus_user_path(users[i]->tenant, users[i]->name, &paths[i]);
        /* A full page may have a successor. */
        if (r >= 0 && n == limit) {
                user_search_position(&q, users[n - 1], &last);
                r = cursor_encode(m->secret_key, scope, &last, &next);
        }
        user_record_array_free(users, n);
        if (r < 0)
                return r;
        return bus_reply_paths_and_string(msg, paths, strempty(next));
}

static int method_list_groups(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        TenantRecord *t = userdata;
        _cleanup_(strv_freep) char **paths = NULL;
        int r = bus_group_paths(m, t->id, &paths);

        return r < 0 ? r : bus_reply_paths(msg, paths);
}

static int method_update(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        const char *display_name = NULL;
        const BusAttribute attrs[] = {
                { "DisplayName", 's', &display_name },
        };
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = change_authorize(m->store, &a, POLICY_TENANT_UPDATE, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "tenant.update", t->slug, t->slug, &e);
                return bus_reply_tessera_error(error, &e);
        }
        if (!display_name)
                return sd_bus_reply_method_return(msg, NULL);

        r = tenant_update(m, m->store, &a, t, display_name, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

/* --- settings ------------------------------------------------------------- */

/* The tenant's settings as properties and UpdateSettings keys, by name. */
static const struct {
        const char *name;
        TenantSettingId id;
        char type;
} settings[] = {
        { "OpenSignup", TENANT_SETTING_OPEN_SIGNUP, 'b' },
        { "PasswordMinLength", TENANT_SETTING_PASSWORD_MIN_LENGTH, 'u' },
        { "PasswordDictionaryCheck", TENANT_SETTING_PASSWORD_DICTIONARY_CHECK, 'b' },
        { "PasswordMinClasses", TENANT_SETTING_PASSWORD_MIN_CLASSES, 'u' },
        { "PasswordMaxRepeat", TENANT_SETTING_PASSWORD_MAX_REPEAT, 'u' },
        { "PasswordUserCheck", TENANT_SETTING_PASSWORD_USER_CHECK, 'b' },
        { "MfaRequired", TENANT_SETTING_MFA_REQUIRED, 's' },
        { "SessionLifetime", TENANT_SETTING_SESSION_LIFETIME, 'u' },
        { "RefreshIdleLifetime", TENANT_SETTING_REFRESH_IDLE_LIFETIME, 'u' },
        { "RefreshAbsoluteLifetime", TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME, 'u' },
};

static TenantSettingId setting_from_bus_name(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (streq(name, settings[i].name))
                        return settings[i].id;
        return _TENANT_SETTING_INVALID;
}

/* Every setting property: the value that applies now (the tenant's own
 * or the site's), read from the record the object was found with. */
static int property_get_setting(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(bus);
        const TenantRecord *t = userdata;
        TenantSettings s;

        tenant_settings_effective(f->manager->config, &t->settings, &s);
        switch (setting_from_bus_name(property)) {
        case TENANT_SETTING_OPEN_SIGNUP:
                return sd_bus_message_append(reply, "b", (int) s.open_signup);
        case TENANT_SETTING_PASSWORD_MIN_LENGTH:
                return sd_bus_message_append(reply, "u", s.password_min_length);
        case TENANT_SETTING_PASSWORD_DICTIONARY_CHECK:
                return sd_bus_message_append(reply, "b", (int) s.password_dictionary_check);
        case TENANT_SETTING_PASSWORD_MIN_CLASSES:
                return sd_bus_message_append(reply, "u", s.password_min_classes);
        case TENANT_SETTING_PASSWORD_MAX_REPEAT:
                return sd_bus_message_append(reply, "u", s.password_max_repeat);
        case TENANT_SETTING_PASSWORD_USER_CHECK:
                return sd_bus_message_append(reply, "b", (int) s.password_user_check);
        case TENANT_SETTING_MFA_REQUIRED:
                return sd_bus_message_append(reply, "s", strempty(mfa_required_to_string(s.mfa_required)));
        case TENANT_SETTING_SESSION_LIFETIME:
                return sd_bus_message_append(reply, "u", s.session_lifetime);
        case TENANT_SETTING_REFRESH_IDLE_LIFETIME:
                return sd_bus_message_append(reply, "u", s.refresh_idle_lifetime);
        case TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME:
                return sd_bus_message_append(reply, "u", s.refresh_absolute_lifetime);
        default:
                return -EINVAL;
        }
}

/* The settings that follow the site's defaults (tesserad.conf), by name. */
static int property_get_inherited(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const TenantRecord *t = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(settings); i++)
                if (!tenant_settings_has(&t->settings, settings[i].id))
                        r = sd_bus_message_append(reply, "s", settings[i].name);
        return r < 0 ? r : sd_bus_message_close_container(reply);
}

/* UpdateSettings(a{sv}): a key per setting with its new value, and
 * "Reset" with the names of settings to return to the site's default. */
static int read_settings(sd_bus_message *msg, TenantSettings *ret_change, uint32_t *ret_reset, TesseraError *e) {
        _cleanup_(strv_freep) char **reset_names = NULL;
        int open_signup = 0, dictionary = 0, user_check = 0;
        const char *mfa = NULL;
        TenantSettings c = {};
        const BusAttribute attrs[] = {
                { "OpenSignup", 'b', &open_signup },
                { "PasswordMinLength", 'u', &c.password_min_length },
                { "PasswordDictionaryCheck", 'b', &dictionary },
                { "PasswordMinClasses", 'u', &c.password_min_classes },
                { "PasswordMaxRepeat", 'u', &c.password_max_repeat },
                { "PasswordUserCheck", 'b', &user_check },
                { "MfaRequired", 's', &mfa },
                { "SessionLifetime", 'u', &c.session_lifetime },
                { "RefreshIdleLifetime", 'u', &c.refresh_idle_lifetime },
                { "RefreshAbsoluteLifetime", 'u', &c.refresh_absolute_lifetime },
                { "Reset", 'a', &reset_names },
        };
        uint64_t seen = 0;
        uint32_t reset = 0;
        int r;

        r = bus_read_attributes_seen(msg, attrs, ELEMENTSOF(attrs), &seen, e);
        if (r < 0)
                return r;
        /* The table follows settings[] row by row, Reset last. */
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                assert(streq(attrs[i].name, settings[i].name));
                if (seen & (UINT64_C(1) << i))
                        c.set |= TENANT_SETTING_BIT(settings[i].id);
        }
        c.open_signup = open_signup;
        c.password_dictionary_check = dictionary;
        c.password_user_check = user_check;
        if (mfa) {
                r = mfa_required_parse(mfa, &c.mfa_required, e);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(name, reset_names) {
                TenantSettingId id = setting_from_bus_name(*name);

                if (id < 0)
                        return tessera_error_set(e, -EINVAL, "Unknown setting '%.64s' in Reset.", *name);
                reset |= TENANT_SETTING_BIT(id);
        }
        *ret_change = c;
        *ret_reset = reset;
        return 0;
}

static int method_update_settings(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        TenantSettings change = {};
        TesseraError e = {};
        uint32_t reset = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        /* Refused callers learn nothing of what their input was worth. */
        r = change_authorize(m->store, &a, POLICY_TENANT_UPDATE, policy_target_tenant(t->id), t->slug, t->slug, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = read_settings(msg, &change, &reset, &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "tenant.update", t->slug, t->slug, &e);
                return bus_reply_tessera_error(error, &e);
        }
        r = tenant_settings_update(m, m->store, &a, t, &change, reset, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_delete(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = tenant_delete(m, m->store, &a, t, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable tenant_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Slug", "s", bus_property_get_string, offsetof(TenantRecord, slug), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DisplayName", "s", bus_property_get_string, offsetof(TenantRecord, display_name), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("IdMin", "u", bus_property_get_uint32, offsetof(TenantRecord, id_min), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("IdMax", "u", bus_property_get_uint32, offsetof(TenantRecord, id_max), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("CreatedTime", "t", bus_property_get_usec, offsetof(TenantRecord, created_usec), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ChangedTime", "t", bus_property_get_usec, offsetof(TenantRecord, changed_usec), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("OpenSignup", "b", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PasswordMinLength", "u", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PasswordDictionaryCheck", "b", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PasswordMinClasses", "u", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PasswordMaxRepeat", "u", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("PasswordUserCheck", "b", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MfaRequired", "s", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SessionLifetime", "u", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RefreshIdleLifetime", "u", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("RefreshAbsoluteLifetime", "u", property_get_setting, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("InheritedSettings", "as", property_get_inherited, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),

        SD_BUS_METHOD_WITH_ARGS("CreateUser", SD_BUS_ARGS("s", name, "a{sv}", attributes), SD_BUS_RESULT("o", user),
                                method_create_user, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListUsers", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", users), method_list_users, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SearchUsers", SD_BUS_ARGS("a{sv}", filter, "u", limit, "s", cursor),
                                SD_BUS_RESULT("ao", users, "s", next_cursor), method_search_users,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateGroup", SD_BUS_ARGS("s", name, "a{sv}", attributes), SD_BUS_RESULT("o", group),
                                method_create_group, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListGroups", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", groups), method_list_groups, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateApplication", SD_BUS_ARGS("s", name, "a{sv}", attributes),
                                SD_BUS_RESULT("o", application, "s", client_secret), bus_tenant_method_create_application,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListApplications", SD_BUS_NO_ARGS, SD_BUS_RESULT("ao", applications),
                                bus_tenant_method_list_applications, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RotateSigningKeys", SD_BUS_NO_ARGS, SD_BUS_RESULT("as", key_ids),
                                bus_tenant_method_rotate_signing_keys, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListSigningKeys", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sstt)", keys),
                                bus_tenant_method_list_signing_keys, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CreateApiKey", SD_BUS_ARGS("a{sv}", attributes), SD_BUS_RESULT("s", id, "s", key),
                                bus_tenant_method_create_api_key, SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListApiKeys", SD_BUS_NO_ARGS, SD_BUS_RESULT("a" BUS_API_KEY_SIGNATURE, keys),
                                bus_tenant_method_list_api_keys, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RevokeApiKey", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, bus_tenant_method_revoke_api_key,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RotateApiKey", SD_BUS_ARGS("s", id, "t", overlap_seconds),
                                SD_BUS_RESULT("s", new_id, "s", key), bus_tenant_method_rotate_api_key,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("CreateInvitation", SD_BUS_ARGS("s", email, "s", role),
                                SD_BUS_RESULT("s", id, "t", expires), bus_tenant_method_create_invitation,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListInvitations", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssttt)", invitations),
                                bus_tenant_method_list_invitations, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResendInvitation", SD_BUS_ARGS("s", id), SD_BUS_RESULT("t", expires),
                                bus_tenant_method_resend_invitation, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RevokeInvitation", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT,
                                bus_tenant_method_revoke_invitation, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddProvider", SD_BUS_ARGS("s", name, "s", kind, "a{sv}", attributes),
                                SD_BUS_RESULT("a{sv}", provider), bus_tenant_method_add_provider,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("ListProviders", SD_BUS_NO_ARGS, SD_BUS_RESULT("aa{sv}", providers),
                                bus_tenant_method_list_providers, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetProvider", SD_BUS_ARGS("s", name), SD_BUS_RESULT("a{sv}", provider),
                                bus_tenant_method_get_provider, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetProvider", SD_BUS_ARGS("s", name, "a{sv}", attributes),
                                SD_BUS_RESULT("a{sv}", provider), bus_tenant_method_set_provider,
                                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("DeleteProvider", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                bus_tenant_method_delete_provider, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListUserLinks", SD_BUS_ARGS("s", user), SD_BUS_RESULT("a(ssssstt)", links),
                                bus_tenant_method_list_user_links, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RemoveUserLink", SD_BUS_ARGS("s", user, "s", id), SD_BUS_NO_RESULT,
                                bus_tenant_method_remove_user_link, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Update", SD_BUS_ARGS("a{sv}", attributes), SD_BUS_NO_RESULT, method_update, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("UpdateSettings", SD_BUS_ARGS("a{sv}", settings), SD_BUS_NO_RESULT, method_update_settings,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        /* Limits are -1 for none. */
        SD_BUS_METHOD_WITH_ARGS("GetEntitlements", SD_BUS_NO_ARGS,
                                SD_BUS_RESULT("x", max_users, "x", max_applications, "as", features, "t", changed_time),
                                bus_tenant_method_get_entitlements, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetEntitlements", SD_BUS_ARGS("x", max_users, "x", max_applications, "as", features),
                                SD_BUS_RESULT("x", max_users, "x", max_applications, "as", features, "t", changed_time),
                                bus_tenant_method_set_entitlements, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Delete", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_delete, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

const BusObjectType bus_tenant_type = {
        .interface = TESSERA_IFACE_TENANT,
        .vtable = tenant_vtable,
        .path = TESSERA_BUS_TENANT_PREFIX,
        .find = tenant_find,
        .enumerate = tenant_enumerate,
};
