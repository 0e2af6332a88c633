/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Manager.ListSessions: the sessions PAM (and later the web) recorded. */

#include "bus-session.h"

#include "bus-util.h"
#include "log.h"
#include "names.h"
#include "host-session.h"
#include "tenant.h"
#include "user.h"

/* Turns the User and Tenant keys of the filter into ids. */
static int resolve_filter(Manager *m, const char *tenant, const char *user, HostSessionFilter *f, TesseraError *e) {
        int r;

        if (user) {
                _cleanup_(user_record_unrefp) UserRecord *u = NULL;
                char name[NAME_MAX_LEN + 1], slug[TENANT_SLUG_MAX_LEN + 1];

                if (split_qualified_name(user, name, slug) < 0)
                        return tessera_error_set(e, -EINVAL, "'%.64s' is not a valid NAME or NAME@TENANT.", user);
                r = user_lookup(m, m->store, slug[0] ? slug : tenant, name, &u, e);
                if (r < 0)
                        return r;
                f->user_id = u->id;
                f->tenant_id = u->tenant_id;
        } else if (tenant) {
                _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;

                r = tenant_lookup(m, m->store, tenant, &t, e);
                if (r < 0)
                        return r;
                f->tenant_id = t->id;
        }
        return 0;
}

int bus_manager_method_list_sessions(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = userdata;
        Manager *m = f->manager;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *tenant = NULL, *user = NULL;
        int open_only = 0;
        uint32_t limit = 0;
        const BusAttribute attrs[] = {
                { "Tenant", 's', &tenant },
                { "User", 's', &user },
                { "OpenOnly", 'b', &open_only },
                { "Limit", 'u', &limit },
        };
        HostSessionRecord *list = NULL;
        HostSessionFilter filter = {};
        TesseraError e = {};
        size_t n = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_get(f, msg, &c);
        if (r < 0)
                return r;
        a = bus_caller_principal(&c);
        r = bus_read_attributes(msg, attrs, ELEMENTSOF(attrs), &e);
        if (r >= 0)
                r = resolve_filter(m, tenant, user, &filter, &e);
        if (r < 0) {
                change_audit_failure(m->store, &a, "session.list", tenant, user, &e);
                return bus_reply_tessera_error(error, &e);
        }
        filter.open_only = open_only;
        filter.limit = limit == 0 ? 1000 : MIN(limit, 10000u);

        r = host_session_list(m, m->store, &a, &filter, &list, &n, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(tsssssssutt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const HostSessionRecord *s = &list[i];
                /* PAM items are checked when a session opens, but what goes
                 * on the bus must be UTF-8 whatever the store holds. */
                _cleanup_free_ char *b1 = NULL, *b2 = NULL, *b3 = NULL, *b4 = NULL, *b5 = NULL, *b6 = NULL,
                                    *b7 = NULL;
                r = sd_bus_message_append(reply, "(tsssssssutt)", (uint64_t) s->id, bus_text(s->tenant, &b1),
                                          bus_text(s->user_name, &b2), bus_text(s->kind, &b3),
                                          bus_text(s->service, &b4), bus_text(s->tty, &b5),
                                          bus_text(s->remote_host, &b6), bus_text(s->remote_user, &b7), s->pid,
                                          (uint64_t) s->opened_usec, (uint64_t) s->closed_usec);
        }
        host_session_record_array_free(list, n);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}
