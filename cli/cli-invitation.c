/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl invitation: invitations to a tenant (create, list, resend,
 * revoke), over the Tenant interface. The link goes out by mail; no
 * answer shows its token. */

#include <stdlib.h>

#include "cli.h"

enum { ARG_ROLE = 1, CLI_COMMON_OPTION_IDS };

typedef struct InvitationArgs {
        const char *role;
} InvitationArgs;

static int invitation_option(int c, const char *arg, void *userdata) {
        InvitationArgs *a = userdata;

        if (c != ARG_ROLE)
                return -EINVAL;
        a->role = arg;
        return 0;
}

/* Options, NARGS positional arguments, and the tenant's object. */
static int prepare(const Verb *v, int argc, char *argv[], const struct option *options, InvitationArgs *a,
                   int nargs, int *ret_first, sd_bus **bus, char **ret_path) {
        int first, r;

        first = cli_parse_options(v, argc, argv, options, invitation_option, a);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, nargs, nargs) < 0)
                return EXIT_USAGE;
        if (!arg_tenant)
                return cli_usage_error("invitation %s needs --tenant TENANT.", v->name);
        r = cli_bus(bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(*bus, arg_tenant, ret_path);
        if (r > 0)
                return r;
        *ret_first = first;
        return 0;
}

static int print_one(const char *id, const char *email, const char *role, uint64_t expires) {
        char when[64];

        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s, s:s?, s:s?, s:I}", "id", id, "email", email,
                                                              "role", role, "expires_usec", (json_int_t) expires);
                return cli_print_json(j);
        }
        cli_print_field("Invitation", "%s", id);
        if (email)
                cli_print_field("E-mail", "%s", email);
        if (role)
                cli_print_field("Role", "%s", role);
        cli_print_field("Expires", "%s", cli_format_time((long long) expires, when));
        return EXIT_OK;
}

static int invitation_create(int argc, char *argv[]) {
        static const struct option options[] = {
                { "role", required_argument, NULL, ARG_ROLE },
                CLI_COMMON_OPTIONS,
                {},
        };
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        InvitationArgs a = { .role = "member" };
        const char *id;
        uint64_t expires;
        int first = 0, r;

        r = prepare(&invitation_verbs[0], argc, argv, options, &a, 1, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot invite", path, TESSERA_IFACE_TENANT, "CreateInvitation", &reply, "ss", argv[first],
                     a.role);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "st", &id, &expires);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        r = print_one(id, argv[first], a.role, expires);
        if (r == EXIT_OK && !arg_json)
                printf("The invitation link was mailed to %s.\n", argv[first]);
        return r;
}

static int invitation_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_free_ char *path = NULL;
        const char *id, *email, *role, *by;
        uint64_t created, sent, expires;
        int first = 0, r;

        r = prepare(&invitation_verbs[1], argc, argv, NULL, &(InvitationArgs) {}, 0, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot list the invitations", path, TESSERA_IFACE_TENANT, "ListInvitations", &reply, NULL);
        if (r > 0)
                return r;
        t = cli_table_new(5, "ID", "E-MAIL", "ROLE", "INVITED BY", "EXPIRES");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssttt)");
        while (r >= 0 &&
               (r = sd_bus_message_read(reply, "(ssssttt)", &id, &email, &role, &by, &created, &sent, &expires)) > 0) {
                char when[64];

                json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id", id, "email", email,
                                                      "role", role, "invited_by", by, "created_usec",
                                                      (json_int_t) created, "sent_usec", (json_int_t) sent,
                                                      "expires_usec", (json_int_t) expires));
                cli_table_add(t, id, email, role, by, cli_format_time((long long) expires, when));
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

static int invitation_resend(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        uint64_t expires;
        int first = 0, r;

        r = prepare(&invitation_verbs[2], argc, argv, NULL, &(InvitationArgs) {}, 1, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot resend the invitation", path, TESSERA_IFACE_TENANT, "ResendInvitation", &reply, "s",
                     argv[first]);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "t", &expires);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        return print_one(argv[first], NULL, NULL, expires);
}

static int invitation_revoke(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int first = 0, r;

        r = prepare(&invitation_verbs[3], argc, argv, NULL, &(InvitationArgs) {}, 1, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot revoke the invitation", path, TESSERA_IFACE_TENANT, "RevokeInvitation", NULL, "s",
                     argv[first]);
        if (r > 0)
                return r;
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s, s:b}", "id", argv[first], "revoked", true);
                return cli_print_json(j);
        }
        printf("Revoked %s.\n", argv[first]);
        return EXIT_OK;
}

const Verb invitation_verbs[] = {
        { "invitation", "create", "EMAIL --tenant TENANT [--role ROLE]",
          "Invite an e-mail address to a tenant; the single-use link goes out by mail.", invitation_create,
          "      --role=ROLE   The role the new account gets: member (default), admin or owner\n"
          "                    (only the tenant's owners and the host's administrators invite owners)\n" },
        { "invitation", "list", "--tenant TENANT", "List the pending invitations of a tenant.", invitation_list, NULL },
        { "invitation", "resend", "ID --tenant TENANT",
          "Mail a pending invitation again with a new link (the old one stops working).", invitation_resend, NULL },
        { "invitation", "revoke", "ID --tenant TENANT", "Revoke a pending invitation.", invitation_revoke, NULL },
        {},
};
