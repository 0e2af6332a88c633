/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-signals.h"

#include "bus-application.h"
#include "bus-face.h"
#include "bus-util.h"
#include "log.h"

/* The object a change event is about, and its interface; false for
 * events of things that have no object (sessions, key sets). */
static bool event_object(const ChangeEvent *e, char **ret_path, const char **ret_interface) {
        int r;

        if (!e->tenant || (e->kind != CHANGE_TENANT && !e->name))
                return false;

        switch (e->kind) {
        case CHANGE_TENANT:
                *ret_interface = TESSERA_IFACE_TENANT;
                r = bus_tenant_path(e->tenant, ret_path);
                break;
        case CHANGE_USER:
        case CHANGE_LOCKOUT:          /* LockedUntil and State */
        case CHANGE_TOTP:             /* TotpEnabled and BackupCodesLeft */
                *ret_interface = TESSERA_IFACE_USER;
                r = bus_user_path(e->tenant, e->name, ret_path);
                break;
        case CHANGE_GROUP:
                *ret_interface = TESSERA_IFACE_GROUP;
                r = bus_group_path(e->tenant, e->name, ret_path);
                break;
        case CHANGE_APPLICATION:
                *ret_interface = TESSERA_IFACE_APPLICATION;
                r = bus_application_path(e->tenant, e->name, ret_path);
                break;
        default:
                return false;
        }
        if (r < 0) {
                log_oom();
                return false;
        }
        return true;
}

static void log_emit_result(int r, const char *path, ChangeOp op) {
        /* An object created or changed and gone again before the loop got
         * here has nothing left to show: its removal follows. */
        if (r == -ENOENT)
                log_debug("%s is gone; nothing to announce of its %s.", path, change_op_to_string(op));
        else if (r < 0)
                log_warning_errno(r, "Failed to announce that %s was %s: %m", path, change_op_to_string(op));
}

void bus_signals_on_change(const ChangeEvent *e, void *userdata) {
        BusFace *f = userdata;
        _cleanup_free_ char *path = NULL;
        const char *interface = NULL;
        int r;

        if (!event_object(e, &path, &interface))
                return;

        /* The properties sent along are read now, through the object's
         * find callback: the record cache went stale when the change bumped
         * Manager.generation, so they are the record as it is now. */
        switch (e->op) {
        case CHANGE_CREATED:
                r = sd_bus_emit_interfaces_added(f->bus, path, interface, NULL);
                break;
        case CHANGE_UPDATED:
                /* NULL: every property that emits a change; the private
                 * ones are invalidated, so that nobody learns them here. */
                r = sd_bus_emit_properties_changed_strv(f->bus, path, interface, NULL);
                break;
        case CHANGE_DELETED:
                r = sd_bus_emit_interfaces_removed(f->bus, path, interface, NULL);
                break;
        default:
                return;
        }
        log_emit_result(r, path, e->op);

        /* A new user comes with a user-private group of its name, made in
         * the same transaction and announced with the user. (Its removal
         * is an event of its own: user_delete() publishes it.) */
        if (e->kind == CHANGE_USER && e->op == CHANGE_CREATED) {
                _cleanup_free_ char *group = NULL;

                if (bus_group_path(e->tenant, e->name, &group) < 0) {
                        log_oom();
                        return;
                }
                r = sd_bus_emit_interfaces_added(f->bus, group, TESSERA_IFACE_GROUP, NULL);
                log_emit_result(r, group, e->op);
        }
}
