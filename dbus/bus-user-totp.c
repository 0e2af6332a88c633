/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The TOTP methods of org.tessera.Identity1.User: the D-Bus face of
 * daemon/auth-totp.c. Users call them on their own object, administrators
 * on anyone's. Every argument and reply carries secrets: the methods are
 * marked sensitive in the vtable (bus-user.c). */

#include "auth-totp.h"
#include "bus-user.h"
#include "bus-util.h"
#include "log.h"

/* Common start of every method: the user of the object and the principal. */
static int begin(sd_bus_message *msg, void *userdata, Manager **ret_m, UserRecord **ret_u, BusCaller *ret_c) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        int r;

        r = bus_caller_get(f, msg, ret_c);
        if (r < 0)
                return r;
        *ret_m = f->manager;
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
        Principal a;
        int r;

        r = begin(msg, userdata, &m, &u, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = auth_totp_begin(m, m->store, &a, u, &secret, &uri, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_sensitive(reply);
        if (r >= 0)
                r = sd_bus_message_append(reply, "ss", secret, uri);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The methods that take a code: confirm (returns backup codes), disable
 * (returns nothing), new backup codes (returns them). */
typedef int (*CodeFunc)(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                        char ***ret_codes, TesseraError *e);

static int with_code(sd_bus_message *msg, void *userdata, sd_bus_error *error, CodeFunc f) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL;
        TesseraError e = {};
        const char *code;
        BusCaller c;
        Manager *m;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &code);
        if (r < 0)
                return r;
        r = begin(msg, userdata, &m, &u, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = f(m, m->store, &a, u, code, &codes, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return codes ? reply_codes(msg, codes) : sd_bus_reply_method_return(msg, NULL);
}

static int disable(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code, char ***ret_codes,
                   TesseraError *e) {
        return auth_totp_disable(m, s, a, u, code, e);
}

int bus_user_method_confirm_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_code(msg, userdata, error, auth_totp_confirm);
}

int bus_user_method_disable_totp(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_code(msg, userdata, error, disable);
}

int bus_user_method_regenerate_backup_codes(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        return with_code(msg, userdata, error, auth_totp_new_backup_codes);
}
