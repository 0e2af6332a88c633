/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.SendTestMail: the D-Bus door to the mail core (mail.h). */

#include "bus-mail.h"

#include "bus-util.h"
#include "mail.h"

int bus_manager_method_send_test_mail(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        const char *tenant, *recipient;
        TesseraError e = {};
        int64_t id = 0;
        BusCaller c;
        Principal p;
        int r;

        r = sd_bus_message_read(msg, "ss", &tenant, &recipient);
        if (r < 0)
                return r;
        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        p = bus_caller_principal(&c);

        /* Queued, not sent: the sender's thread does that, never this loop. */
        r = mail_send_test(m, m->store, &p, tenant, recipient, &id, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, "t", (uint64_t) id);
}
