/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tesseractl session list: the sessions recorded by PAM (and later the web). */

#include <getopt.h>
#include <inttypes.h>
#include <unistd.h>

#include "cli.h"

typedef struct SessionArgs {
        bool open_only;
        uint32_t limit;
} SessionArgs;

enum { ARG_OPEN = 0x100, ARG_LIMIT };

static const struct option session_options[] = {
        { "open", no_argument, NULL, ARG_OPEN },
        { "limit", required_argument, NULL, ARG_LIMIT },
        {},
};

static int on_option(int c, const char *arg, void *userdata) {
        SessionArgs *a = userdata;

        switch (c) {
        case ARG_OPEN:
                a->open_only = true;
                return 0;
        case ARG_LIMIT:
                if (cli_parse_uint32(arg, 1, 10000, &a->limit) < 0)
                        return cli_usage_error("--limit takes a number from 1 to 10000."), -EINVAL;
                return 0;
        }
        return -EINVAL;
}

/* Users who aren't root list their own sessions by default. */
static int own_name(sd_bus *bus, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *name = NULL, *tenant = NULL;
        const char *path;
        int r;

        r = cli_call(bus, "cannot find your user", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "GetUserByUid", &reply,
                     "u", (uint32_t) geteuid());
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, TESSERA_BUS_NAME, path, TESSERA_IFACE_USER, "Name", NULL, &name);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, TESSERA_BUS_NAME, path, TESSERA_IFACE_USER, "Tenant", NULL, &tenant);
        if (r < 0)
                return cli_bus_error("cannot read your user", r, NULL);
        if (asprintf(ret, "%s@%s", name, tenant) < 0)
                return EXIT_FAIL;
        return 0;
}

static int session_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_free_ char *self = NULL;
        const char *user = NULL;
        SessionArgs a = {};
        int first, r;

        first = cli_parse_options(&session_verbs[0], argc, argv, session_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&session_verbs[0], argc, first, 0, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        if (first < argc)
                user = argv[first];
        else if (geteuid() != 0) {
                r = own_name(bus, &self);
                if (r > 0)
                        return r;
                user = self;
        }

        r = cli_new_call(bus, TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "ListSessions", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_tenant)
                r = cli_attr_string(m, "Tenant", arg_tenant);
        if (r >= 0 && user)
                r = cli_attr_string(m, "User", user);
        if (r >= 0 && a.open_only)
                r = cli_attr_bool(m, "OpenOnly", true);
        if (r >= 0 && a.limit)
                r = cli_attr_uint32(m, "Limit", a.limit);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, "cannot list the sessions", m, &reply);
        if (r > 0)
                return r;

        t = cli_table_new(8, "ID", "USER", "KIND", "SERVICE", "TTY", "FROM", "OPENED", "CLOSED");
        r = sd_bus_message_enter_container(reply, 'a', "(tsssssssutt)");
        while (r >= 0) {
                const char *tenant, *name, *kind, *service, *tty, *rhost, *ruser;
                uint64_t id, opened, closed;
                uint32_t pid;
                char ids[24], who[80], t1[64], t2[64];

                r = sd_bus_message_read(reply, "(tsssssssutt)", &id, &tenant, &name, &kind, &service, &tty, &rhost,
                                        &ruser, &pid, &opened, &closed);
                if (r <= 0)
                        break;
                if (arg_json) {
                        json_array_append_new(list,
                                              json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "id",
                                                        (json_int_t) id, "tenant", tenant, "user", name, "kind", kind,
                                                        "service", service, "tty", tty, "remote_host", rhost,
                                                        "remote_user", ruser, "pid", (json_int_t) pid, "opened_usec",
                                                        (json_int_t) opened, "closed_usec", (json_int_t) closed));
                        continue;
                }
                snprintf(ids, sizeof(ids), "%" PRIu64, id);
                snprintf(who, sizeof(who), "%s@%s", name, tenant);
                cli_table_add(t, ids, who, kind, *service ? service : "-", *tty ? tty : "-", *rhost ? rhost : "-",
                              cli_format_time((long long) opened, t1),
                              closed ? cli_format_time((long long) closed, t2) : "open");
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

const Verb session_verbs[] = {
        { "session", "list", "[NAME[@TENANT]] [--open] [--limit N]",
          "Show login sessions, newest first (yours, or anyone's for administrators).", session_list,
          "      --open                 Only sessions that are still open\n"
          "      --limit=N              At most N sessions (default 1000)" },
        {},
};
