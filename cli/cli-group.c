/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>

#include "cli.h"

typedef struct GroupArgs {
        const char *description;
        uint32_t gid;
} GroupArgs;

enum { ARG_GID = 0x100, ARG_DESCRIPTION };

static const struct option group_options[] = {
        { "gid", required_argument, NULL, ARG_GID },
        { "description", required_argument, NULL, ARG_DESCRIPTION },
        {},
};

static int on_option(int c, const char *arg, void *userdata) {
        GroupArgs *a = userdata;

        if (c == ARG_DESCRIPTION)
                a->description = arg;
        else if (c == ARG_GID) {
                if (cli_parse_uint32(arg, 1, UINT32_MAX - 1, &a->gid) < 0)
                        return cli_usage_error("--gid takes a number, not '%s'.", arg), -EINVAL;
        } else
                return -EINVAL;
        return 0;
}

static int print_group(sd_bus *bus, const char *path) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        json_t *members, *m;
        char t[64];
        size_t i;
        int r;

        r = cli_get_properties(bus, path, TESSERA_IFACE_GROUP, &j);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(j);

        cli_print_field("Group", "%s@%s%s", cli_json_str(j, "name"), cli_json_str(j, "tenant"),
                        cli_json_bool(j, "user_private") ? " (user-private)" : "");
        cli_print_field("GID", "%lld", cli_json_int(j, "gid"));
        cli_print_field("Description", "%s", cli_json_str(j, "description"));
        printf("%14s: ", "Members");
        members = json_object_get(j, "members");
        if (json_array_size(members) == 0)
                printf("-");
        json_array_foreach(members, i, m)
                printf("%s%s", i > 0 ? ", " : "", json_string_value(m));
        putchar('\n');
        cli_print_field("Created", "%s", cli_format_time(cli_json_int(j, "created_usec"), t));
        return EXIT_OK;
}

static int tenant_path_for(sd_bus *bus, const char *tenant, char **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *p;
        int r;

        if (!isempty(tenant))
                return cli_find_tenant(bus, tenant, ret);
        r = cli_call(bus, "cannot find the default tenant", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "GetTenant",
                     &reply, "s", "");
        if (r > 0)
                return r;
        if (sd_bus_message_read(reply, "o", &p) < 0 || !(*ret = strdup(p)))
                return EXIT_FAIL;
        return 0;
}

static int group_add(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_free_ char *tenant_path = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        GroupArgs a = {};
        const char *path;
        int first, r;

        first = cli_parse_options(&group_verbs[0], argc, argv, group_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&group_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_split_name(argv[first], name, tenant);
        if (r > 0)
                return r;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = tenant_path_for(bus, tenant, &tenant_path);
        if (r > 0)
                return r;

        r = cli_new_call(bus, tenant_path, TESSERA_IFACE_TENANT, "CreateGroup", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && a.gid > 0)
                r = cli_attr_uint32(m, "Gid", a.gid);
        if (r >= 0 && a.description)
                r = cli_attr_string(m, "Description", a.description);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, "cannot create the group", m, &reply);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return print_group(bus, path);
        printf("Created group %s.\n", argv[first]);
        return EXIT_OK;
}

static int group_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **paths = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_free_ char *tenant_path = NULL;
        size_t i;
        json_t *o;
        int first, r;

        first = cli_parse_options(&group_verbs[1], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&group_verbs[1], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = tenant_path_for(bus, arg_tenant, &tenant_path);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot list the groups", tenant_path, TESSERA_IFACE_TENANT, "ListGroups", &reply, NULL);
        if (r > 0)
                return r;
        r = cli_read_paths(reply, &paths);
        if (r > 0)
                return r;
        r = cli_get_properties_array(bus, paths, TESSERA_IFACE_GROUP, &list);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(list);

        t = cli_table_new(4, "NAME", "GID", "MEMBERS", "DESCRIPTION");
        json_array_foreach(list, i, o) {
                char gid[16], members[16];
                snprintf(gid, sizeof(gid), "%lld", cli_json_int(o, "gid"));
                snprintf(members, sizeof(members), "%zu", json_array_size(json_object_get(o, "members")));
                cli_table_add(t, cli_json_str(o, "name"), gid, members,
                              cli_json_bool(o, "user_private") ? "(user-private)" : cli_json_str(o, "description"));
        }
        cli_table_print(t);
        return EXIT_OK;
}

static int with_group(const Verb *v, int argc, char *argv[], int n_args, char **ret_path, sd_bus **ret_bus,
                      int *ret_first) {
        int first, r;

        first = cli_parse_options(v, argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, n_args, n_args) < 0)
                return EXIT_USAGE;
        r = cli_bus(ret_bus);
        if (r > 0)
                return r;
        *ret_first = first;
        return cli_find_group(*ret_bus, argv[first], ret_path);
}

static int group_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int first, r = with_group(&group_verbs[2], argc, argv, 1, &path, &bus, &first);

        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        return print_group(bus, path);
}

static int group_set(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        GroupArgs a = {};
        int first, r;

        first = cli_parse_options(&group_verbs[3], argc, argv, group_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&group_verbs[3], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        if (a.gid > 0)
                return cli_usage_error("the GID of a group can't change.");
        if (!a.description)
                return cli_usage_error("nothing to change; give --description.");
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_group(bus, argv[first], &path);
        if (r > 0)
                return r;
        r = cli_new_call(bus, path, TESSERA_IFACE_GROUP, "Update", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = cli_attr_string(m, "Description", a.description);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        return cli_call_message(bus, "cannot change the group", m, NULL);
}

static int group_delete(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int first, r = with_group(&group_verbs[4], argc, argv, 1, &path, &bus, &first);

        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot delete the group", path, TESSERA_IFACE_GROUP, "Delete", NULL, NULL);
        if (r > 0)
                return r;
        if (!arg_json)
                printf("Deleted group %s.\n", argv[first]);
        return EXIT_OK;
}

static int change_member(const Verb *v, const char *method, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1], what[64];
        int first, r = with_group(v, argc, argv, 2, &path, &bus, &first);

        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        /* A member belongs to the group's tenant; "alice@acme" is accepted
         * when it names that tenant. */
        r = cli_split_name(argv[first + 1], name, tenant);
        if (r > 0)
                return r;
        snprintf(what, sizeof(what), "cannot %s", v->name);
        r = cli_call(bus, what, path, TESSERA_IFACE_GROUP, method, NULL, "s", name);
        if (r > 0)
                return r;
        if (!arg_json)
                printf("%s %s %s %s.\n", streq(method, "AddMember") ? "Added" : "Removed", name,
                       streq(method, "AddMember") ? "to" : "from", argv[first]);
        return EXIT_OK;
}

static int group_add_member(int argc, char *argv[]) {
        return change_member(&group_verbs[5], "AddMember", argc, argv);
}

static int group_remove_member(int argc, char *argv[]) {
        return change_member(&group_verbs[6], "RemoveMember", argc, argv);
}

const Verb group_verbs[] = {
        { "group", "add", "NAME[@TENANT] [--gid GID] [--description TEXT]", "Create a group.", group_add,
          "      --gid=GID              GID inside the tenant's slice (default: the next free one)\n"
          "      --description=TEXT     What the group is for" },
        { "group", "list", "[--tenant TENANT]", "List the groups of a tenant.", group_list, NULL },
        { "group", "show", "NAME[@TENANT]", "Show a group and its members.", group_show, NULL },
        { "group", "set", "NAME[@TENANT] --description TEXT", "Change a group's description.", group_set,
          "      --description=TEXT     The new description" },
        { "group", "delete", "NAME[@TENANT]", "Delete a group.", group_delete, NULL },
        { "group", "add-member", "GROUP[@TENANT] USER", "Add a user of the group's tenant to it.", group_add_member, NULL },
        { "group", "remove-member", "GROUP[@TENANT] USER", "Remove a user from a group.", group_remove_member, NULL },
        {},
};
