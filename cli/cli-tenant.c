/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>

#include "cli.h"

enum { ARG_DISPLAY_NAME = 0x100 };

static int on_display_name(int c, const char *arg, void *userdata) {
        *(const char **) userdata = arg;
        return 0;
}

static const struct option display_name_option[] = {
        { "display-name", required_argument, NULL, ARG_DISPLAY_NAME },
        {},
};

static int tenant_create(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *display_name = "", *path;
        int first, r;

        first = cli_parse_options(&tenant_verbs[0], argc, argv, display_name_option, on_display_name, &display_name);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&tenant_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;

        r = cli_call(bus, "cannot create the tenant", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "CreateTenant", &reply,
                     "ss", argv[first], display_name);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);

        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = NULL;
                r = cli_get_properties(bus, path, TESSERA_IFACE_TENANT, &j);
                return r > 0 ? r : cli_print_json(j);
        }
        printf("Created tenant %s.\n", argv[first]);
        return EXIT_OK;
}

static int tenant_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **paths = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        size_t i;
        json_t *o;
        int first, r;

        first = cli_parse_options(&tenant_verbs[1], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&tenant_verbs[1], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot list the tenants", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "ListTenants", &reply,
                     NULL);
        if (r > 0)
                return r;
        r = cli_read_paths(reply, &paths);
        if (r > 0)
                return r;
        r = cli_get_properties_array(bus, paths, TESSERA_IFACE_TENANT, &list);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(list);

        t = cli_table_new(3, "TENANT", "IDS", "DISPLAY NAME");
        json_array_foreach(list, i, o) {
                char ids[64];
                snprintf(ids, sizeof(ids), "%lld-%lld", cli_json_int(o, "id_min"), cli_json_int(o, "id_max"));
                cli_table_add(t, cli_json_str(o, "slug"), ids, cli_json_str(o, "display_name"));
        }
        cli_table_print(t);
        return EXIT_OK;
}

static int tenant_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *path = NULL;
        char buf[64];
        int first, r;

        first = cli_parse_options(&tenant_verbs[2], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&tenant_verbs[2], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(bus, argv[first], &path);
        if (r > 0)
                return r;
        r = cli_get_properties(bus, path, TESSERA_IFACE_TENANT, &j);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(j);

        cli_print_field("Tenant", "%s", cli_json_str(j, "slug"));
        cli_print_field("Display name", "%s", cli_json_str(j, "display_name"));
        cli_print_field("IDs", "%lld-%lld", cli_json_int(j, "id_min"), cli_json_int(j, "id_max"));
        cli_print_field("Created", "%s", cli_format_time(cli_json_int(j, "created_usec"), buf));
        return EXIT_OK;
}

static int tenant_set(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        const char *display_name = NULL;
        int first, r;

        first = cli_parse_options(&tenant_verbs[3], argc, argv, display_name_option, on_display_name, &display_name);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&tenant_verbs[3], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        if (!display_name)
                return cli_usage_error("nothing to change; give --display-name.");
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(bus, argv[first], &path);
        if (r > 0)
                return r;

        r = cli_new_call(bus, path, TESSERA_IFACE_TENANT, "Update", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0)
                r = cli_attr_string(m, "DisplayName", display_name);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        return cli_call_message(bus, "cannot change the tenant", m, NULL);
}

static int tenant_delete(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int first, r;

        first = cli_parse_options(&tenant_verbs[4], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&tenant_verbs[4], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(bus, argv[first], &path);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot delete the tenant", path, TESSERA_IFACE_TENANT, "Delete", NULL, NULL);
        if (r > 0)
                return r;
        if (!arg_json)
                printf("Deleted tenant %s.\n", argv[first]);
        return EXIT_OK;
}

const Verb tenant_verbs[] = {
        { "tenant", "create", "SLUG [--display-name NAME]", "Create a tenant with its own ID slice.", tenant_create,
          "      --display-name=NAME  A name for people (default: none)" },
        { "tenant", "list", "", "List the tenants.", tenant_list, NULL },
        { "tenant", "show", "SLUG", "Show a tenant.", tenant_show, NULL },
        { "tenant", "set", "SLUG --display-name NAME", "Change a tenant's display name.", tenant_set,
          "      --display-name=NAME  The new display name" },
        { "tenant", "delete", "SLUG", "Delete a tenant that has no users or groups left.", tenant_delete, NULL },
        {},
};
