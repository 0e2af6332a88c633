/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TOTP methods of org.tessera.Identity1.User: the D-Bus face of
 * daemon/auth-totp.c. Users call them on their own object, administrators
 * on anyone's. Every argument and reply carries secrets: the methods are
 * marked sensitive in the vtable (bus-user.c). */

#include "auth-totp.h"
#include "bus-user.h"
#include "bus-util.h"
#include "log.h"

/* Common start of every method: the user of the object and the actor. */
static int begin(sd_bus_message *msg, void *userdata, Manager **ret_m, UserRecord **ret_u, BusCaller *ret_c) {
        Manager *m = bus_manager_from_slot(sd_bus_message_get_bus(msg));
        int r;

        r = bus_caller_get(m, msg, ret_c);
        if (r < 0)
                return r;
        *ret_m = m;
        *ret_u = user_record_ref(userdata);
        return 0;
}

static int reply_codes(sd_bus_message *msg, char **codes) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, codes);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_user_method_begin_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(erase_and_freep) char *secret = NULL, *uri = NULL;
        TesseraError e = {};
        BusCaller c;
        Manager *m;
        Actor a;
        int r;

        r = begin(msg, userdata, &m, &u, &c);
        if (r < 0)
                return r;
        a = bus_caller_actor(&c);
        r = auth_totp_begin(m, m->store, &a, u, &secret, &uri, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        bus_user_send_changed(m, u);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ss", secret, uri);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_user_method_confirm_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL;
        TesseraError e = {};
        const char *code;
        BusCaller c;
        Manager *m;
        Actor a;
        int r;

        r = sd_bus_message_read(msg, "s", &code);
        if (r < 0)
                return r;
        r = begin(msg, userdata, &m, &u, &c);
        if (r < 0)
                return r;
        a = bus_caller_actor(&c);
        r = auth_totp_confirm(m, m->store, &a, u, code, &codes, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        bus_user_send_changed(m, u);
        return reply_codes(msg, codes);
}

int bus_user_method_disable_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        TesseraError e = {};
        const char *code;
        BusCaller c;
        Manager *m;
        Actor a;
        int r;

        r = sd_bus_message_read(msg, "s", &code);
        if (r < 0)
                return r;
        r = begin(msg, userdata, &m, &u, &c);
        if (r < 0)
                return r;
        a = bus_caller_actor(&c);
        r = auth_totp_disable(m, m->store, &a, u, code, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        bus_user_send_changed(m, u);
        return sd_bus_reply_method_return(msg, NULL);
}

int bus_user_method_regenerate_backup_codes(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL;
        TesseraError e = {};
        const char *code;
        BusCaller c;
        Manager *m;
        Actor a;
        int r;

        r = sd_bus_message_read(msg, "s", &code);
        if (r < 0)
                return r;
        r = begin(msg, userdata, &m, &u, &c);
        if (r < 0)
                return r;
        a = bus_caller_actor(&c);
        r = auth_totp_new_backup_codes(m, m->store, &a, u, code, &codes, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        bus_user_send_changed(m, u);
        return reply_codes(msg, codes);
}
