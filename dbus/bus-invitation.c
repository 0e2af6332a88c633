/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Invitations on the bus: Tenant.CreateInvitation, ListInvitations,
 * ResendInvitation and RevokeInvitation, over the same core as the JSON
 * API (invitation.h). The mailed link points at the HTTP face's public
 * URL; the token itself never crosses the bus. */

#include "bus-invitation.h"

#include <stdlib.h>

#include "bus-face.h"
#include "bus-util.h"
#include "invitation.h"

/* As many pending invitations as one answer lists: a tenant with more
 * pages through them on the JSON API. */
#define LIST_MAX 10000U

static int no_http(TesseraError *e) {
        return tessera_error_set(e, -EOPNOTSUPP, "tesserad serves no HTTP ([http] listen), so an invitation's "
                                                 "link would lead nowhere.");
}

static int reply_invitation(sd_bus_message *msg, const Invitation *i) {
        char id[32];

        invitation_id_format(i->id, id);
        return sd_bus_reply_method_return(msg, "st", id, (uint64_t) i->expires_usec);
}

int bus_tenant_method_create_invitation(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        const char *email, *role_name;
        TesseraError e = {};
        Invitation inv;
        UserRole role;
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "ss", &email, &role_name);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        role = isempty(role_name) ? USER_ROLE_MEMBER : user_role_from_string(role_name);
        if (!m->public_url)
                r = no_http(&e);
        else
                /* An unknown role goes to the core as one, to be refused
                 * (and audited) there. */
                r = invitation_create(m, m->store, &a, t, email, role < 0 ? _USER_ROLE_MAX : role, m->public_url,
                                      &inv, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return reply_invitation(msg, &inv);
}

int bus_tenant_method_list_invitations(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ Invitation *list = NULL;
        TesseraError e = {};
        size_t n = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = invitation_list(m, m->store, &a, t, 0, LIST_MAX, &list, &n, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssttt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char id[32];

                invitation_id_format(list[i].id, id);
                r = sd_bus_message_append(reply, "(ssssttt)", id, list[i].email, user_role_to_string(list[i].role),
                                          list[i].invited_by, (uint64_t) list[i].created_usec,
                                          (uint64_t) list[i].sent_usec, (uint64_t) list[i].expires_usec);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* The invitation an id names: -EINVAL (audited by nobody: nothing was
 * asked of the core) for what is no id. */
static int read_id(sd_bus_message *msg, int64_t *ret, TesseraError *e) {
        const char *s;
        int r;

        r = sd_bus_message_read(msg, "s", &s);
        if (r < 0)
                return r;
        if (invitation_id_parse(s, ret) < 0)
                return tessera_error_set(e, -ENOENT, "No invitation '%.64s'.", s);
        return 0;
}

int bus_tenant_method_resend_invitation(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        TesseraError e = {};
        Invitation inv;
        int64_t id = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = read_id(msg, &id, &e);
        if (r == -ENOENT)
                return bus_reply_tessera_error(error, &e);
        if (r < 0)
                return r;
        r = m->public_url ? invitation_resend(m, m->store, &a, t, id, m->public_url, &inv, &e) : no_http(&e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, "t", (uint64_t) inv.expires_usec);
}

int bus_tenant_method_revoke_invitation(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        TesseraError e = {};
        int64_t id = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = read_id(msg, &id, &e);
        if (r == -ENOENT)
                return bus_reply_tessera_error(error, &e);
        if (r < 0)
                return r;
        r = invitation_revoke(m, m->store, &a, t, id, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}
