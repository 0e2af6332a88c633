/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>
#include <time.h>

#include "cli.h"

typedef struct AuditArgs {
        const char *target, *action;
        uint32_t limit;
        uint32_t after;
} AuditArgs;

enum { ARG_TARGET = 0x100, ARG_ACTION, ARG_LIMIT, ARG_AFTER };

static const struct option audit_options[] = {
        { "target", required_argument, NULL, ARG_TARGET },
        { "action", required_argument, NULL, ARG_ACTION },
        { "limit", required_argument, NULL, ARG_LIMIT },
        { "after", required_argument, NULL, ARG_AFTER },
        {},
};

static int on_option(int c, const char *arg, void *userdata) {
        AuditArgs *a = userdata;

        switch (c) {
        case ARG_TARGET:
                a->target = arg;
                return 0;
        case ARG_ACTION:
                a->action = arg;
                return 0;
        case ARG_LIMIT:
                if (cli_parse_uint32(arg, 1, 10000, &a->limit) < 0)
                        return cli_usage_error("--limit takes a number from 1 to 10000."), -EINVAL;
                return 0;
        case ARG_AFTER:
                if (cli_parse_uint32(arg, 0, UINT32_MAX, &a->after) < 0)
                        return cli_usage_error("--after takes an event id."), -EINVAL;
                return 0;
        }
        return -EINVAL;
}

static int audit_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        AuditArgs a = {};
        int first, r;

        first = cli_parse_options(&audit_verbs[0], argc, argv, audit_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&audit_verbs[0], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;

        r = cli_new_call(bus, TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "ListAuditEvents", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && arg_tenant)
                r = cli_attr_string(m, "Tenant", arg_tenant);
        if (r >= 0 && a.target)
                r = cli_attr_string(m, "Target", a.target);
        if (r >= 0 && a.action)
                r = cli_attr_string(m, "Action", a.action);
        if (r >= 0 && a.limit)
                r = cli_attr_uint32(m, "Limit", a.limit);
        if (r >= 0 && a.after)
                r = sd_bus_message_append(m, "{sv}", "AfterId", "t", (uint64_t) a.after);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, "cannot read the audit trail", m, &reply);
        if (r > 0)
                return r;

        t = cli_table_new(9, "ID", "TIME", "CHANNEL", "ACTOR", "ACTION", "TARGET", "RESULT", "COUNT", "DETAILS");
        r = sd_bus_message_enter_container(reply, 'a', "(ttsxssssssstt)");
        while (r >= 0) {
                uint64_t id, usec, count, last_usec;
                int64_t uid;
                const char *channel, *actor, *action, *tenant, *target, *result, *details, *remote;
                char ids[24], when[64], who[64], counts[48];

                r = sd_bus_message_read(reply, "(ttsxssssssstt)", &id, &usec, &channel, &uid, &actor, &action, &tenant,
                                        &target, &result, &details, &remote, &count, &last_usec);
                if (r <= 0)
                        break;
                if (arg_json) {
                        json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                                              (json_int_t) id, "time_usec", (json_int_t) usec, "last_usec",
                                              (json_int_t) last_usec, "count", (json_int_t) count, "channel",
                                              channel, "actor_uid", (json_int_t) uid, "actor", actor, "action",
                                              action, "tenant", tenant, "target", target, "result", result,
                                              "remote", remote);
                        json_t *d = *details ? json_loads(details, 0, NULL) : NULL;
                        json_object_set_new(o, "details", d ?: json_null());
                        json_array_append_new(list, o);
                        continue;
                }
                snprintf(ids, sizeof(ids), "%" PRIu64, id);
                if (uid >= 0)
                        snprintf(who, sizeof(who), "uid %" PRIi64, uid);
                else
                        snprintf(who, sizeof(who), "%s", *actor ? actor : "-");
                /* A repeated refusal is one event: how often, and until when. */
                if (count > 1) {
                        time_t last = (time_t) (last_usec / 1000000);
                        struct tm tm;
                        char until[16] = "";

                        if (localtime_r(&last, &tm))
                                strftime(until, sizeof(until), " to %H:%M:%S", &tm);
                        snprintf(counts, sizeof(counts), "%" PRIu64 "%s", count, until);
                } else
                        snprintf(counts, sizeof(counts), "1");
                cli_table_add(t, ids, cli_format_time((long long) usec, when), channel, who, action, target, result,
                              counts, details);
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

const Verb audit_verbs[] = {
        { "audit", "list", "[--tenant T] [--target X] [--action A] [--limit N] [--after ID]",
          "Show the audit trail (administrators only), oldest first.", audit_list,
          "      --target=NAME          Only events about this target (alice@acme, acme, ...)\n"
          "      --action=ACTION        Only this action (user.create, user.lock, ...)\n"
          "      --limit=N              At most N events (default 1000)\n"
          "      --after=ID             Only events after this id" },
        {},
};
