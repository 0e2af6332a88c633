/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl operator add|list|remove: the platform's operators, made by
 * the host's administrators; tesseractl entitlement get|set: a tenant's
 * limits and feature flags. */

#include <inttypes.h>
#include <stdlib.h>

#include "cli.h"

enum { ARG_EMAIL = 0x100, ARG_PASSWORD_STDIN, ARG_MAX_USERS, ARG_MAX_APPLICATIONS, ARG_FEATURE, ARG_NO_FEATURES };

typedef struct OperatorArgs {
        const char *email;
        bool password_stdin;
} OperatorArgs;

static const struct option operator_options[] = {
        { "email", required_argument, NULL, ARG_EMAIL },
        { "password-stdin", no_argument, NULL, ARG_PASSWORD_STDIN },
        {},
};

static int on_operator_option(int c, const char *arg, void *userdata) {
        OperatorArgs *a = userdata;

        switch (c) {
        case ARG_EMAIL:
                a->email = arg;
                return 0;
        case ARG_PASSWORD_STDIN:
                a->password_stdin = true;
                return 0;
        }
        return -EINVAL;
}

static int operator_add(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(erase_and_freep) char *password = NULL;
        const char *secret, *uri;
        OperatorArgs a = {};
        int first, r;

        first = cli_parse_options(&operator_verbs[0], argc, argv, operator_options, on_operator_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&operator_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        if (!a.email)
                return cli_usage_error("an operator needs --email.");
        r = cli_read_password("Password for the operator: ", true, a.password_stdin, &password);
        if (r > 0)
                return r;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot add the operator", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "AddOperator", &reply,
                     "sss", argv[first], a.email, password);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "ss", &secret, &uri);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "name", argv[first], "email",
                                                              a.email, "totp_secret", secret, "totp_uri", uri);
                return cli_print_json(j);
        }
        printf("Added operator %s.\n"
               "TOTP is required to sign in: add this secret to the operator's authenticator now, it is not\n"
               "shown again.\n\n", argv[first]);
        cli_print_field("Secret", "%s", secret);
        cli_print_field("URI", "%s", uri);
        return EXIT_OK;
}

static int operator_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_(cli_table_freep) CliTable *t = cli_table_new(4, "NAME", "EMAIL", "CREATED", "LAST SIGN-IN");
        const char *name, *email;
        uint64_t created, last;
        int first, r;

        first = cli_parse_options(&operator_verbs[1], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&operator_verbs[1], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        if (!list || !t)
                return cli_bus_error("out of memory", -ENOMEM, NULL);
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot list the operators", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "ListOperators",
                     &reply, NULL);
        if (r > 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(sstt)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sstt)", &name, &email, &created, &last)) > 0) {
                char b1[64], b2[64];

                if (json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I}", "name", name, "email", email,
                                                          "created_usec", (json_int_t) created, "last_signin_usec",
                                                          (json_int_t) last)) < 0 ||
                    cli_table_add(t, name, email, cli_format_time((long long) created, b1),
                                  cli_format_time((long long) last, b2)) < 0)
                        r = -ENOMEM;
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

static int operator_remove(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int first, r;

        first = cli_parse_options(&operator_verbs[2], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&operator_verbs[2], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot remove the operator", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "RemoveOperator",
                     NULL, "s", argv[first]);
        if (r > 0)
                return r;
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "removed", argv[first]);
                return cli_print_json(j);
        }
        printf("Removed operator %s; their tokens and grants no longer work.\n", argv[first]);
        return EXIT_OK;
}

const Verb operator_verbs[] = {
        { "operator", "add", "NAME --email ADDRESS [--password-stdin]",
          "Add a platform operator; prints the TOTP secret, once.", operator_add,
          "      --email=ADDRESS        The operator's e-mail address\n"
          "      --password-stdin       Read the password from standard input\n" },
        { "operator", "list", "", "List the platform operators.", operator_list, NULL },
        { "operator", "remove", "NAME", "Remove a platform operator; their tokens stop at once.", operator_remove,
          NULL },
        {},
};

/* -- entitlements */

typedef struct EntitlementArgs {
        int64_t max_users, max_applications;
        bool set_users, set_applications, set_features;
        char **features;
} EntitlementArgs;

static const struct option entitlement_options[] = {
        { "max-users", required_argument, NULL, ARG_MAX_USERS },
        { "max-applications", required_argument, NULL, ARG_MAX_APPLICATIONS },
        { "feature", required_argument, NULL, ARG_FEATURE },
        { "no-features", no_argument, NULL, ARG_NO_FEATURES },
        {},
};

/* A limit: a number, or "none". */
static int parse_limit(const char *s, int64_t *ret) {
        char *end = NULL;
        long long v;

        if (streq(s, "none")) {
                *ret = -1;
                return 0;
        }
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || s[0] == '+' || s[0] == ' ' || v < 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int on_entitlement_option(int c, const char *arg, void *userdata) {
        EntitlementArgs *a = userdata;
        size_t n = 0;
        char **l;

        switch (c) {
        case ARG_MAX_USERS:
                a->set_users = true;
                if (parse_limit(arg, &a->max_users) < 0)
                        return cli_usage_error("--max-users takes a number or 'none'."), -EINVAL;
                return 0;
        case ARG_MAX_APPLICATIONS:
                a->set_applications = true;
                if (parse_limit(arg, &a->max_applications) < 0)
                        return cli_usage_error("--max-applications takes a number or 'none'."), -EINVAL;
                return 0;
        case ARG_FEATURE:
                a->set_features = true;
                while (a->features && a->features[n])
                        n++;
                l = realloc(a->features, (n + 2) * sizeof(char *));
                if (!l || !(l[n] = strdup(arg)))
                        return cli_usage_error("out of memory."), -ENOMEM;
                l[n + 1] = NULL;
                a->features = l;
                return 0;
        case ARG_NO_FEATURES:
                a->set_features = true;
                return 0;
        }
        return -EINVAL;
}

static int print_entitlements(const char *tenant, sd_bus_message *reply) {
        _cleanup_(strv_freep) char **features = NULL;
        _cleanup_(json_decrefp) json_t *fl = json_array();
        int64_t users, apps;
        uint64_t changed;
        char buf[64];
        int r;

        r = sd_bus_message_read(reply, "xx", &users, &apps);
        if (r >= 0)
                r = sd_bus_message_read_strv(reply, &features);
        if (r >= 0)
                r = sd_bus_message_read(reply, "t", &changed);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        for (char **f = features; fl && f && *f; f++)
                json_array_append_new(fl, json_string(*f));
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack(
                        "{s:s, s:o, s:o, s:O, s:I}", "tenant", tenant, "max_users",
                        users >= 0 ? json_integer(users) : json_null(), "max_applications",
                        apps >= 0 ? json_integer(apps) : json_null(), "features", fl, "changed_usec",
                        (json_int_t) changed);
                return cli_print_json(j);
        }
        cli_print_field("Tenant", "%s", tenant);
        if (users >= 0)
                cli_print_field("Max users", "%" PRIi64, users);
        else
                cli_print_field("Max users", "none");
        if (apps >= 0)
                cli_print_field("Max applications", "%" PRIi64, apps);
        else
                cli_print_field("Max applications", "none");
        {
                _cleanup_free_ char *joined = NULL;
                size_t len = 1;

                for (char **f = features; f && *f; f++)
                        len += strlen(*f) + 1;
                joined = calloc(1, len);
                for (char **f = features; joined && f && *f; f++) {
                        if (joined[0])
                                strcat(joined, " ");
                        strcat(joined, *f);
                }
                cli_print_field("Features", "%s", joined && joined[0] ? joined : "-");
        }
        cli_print_field("Changed", "%s", cli_format_time((long long) changed, buf));
        return EXIT_OK;
}

static int entitlement_call(const Verb *v, int argc, char *argv[], bool set) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *m = NULL;
        _cleanup_free_ char *path = NULL;
        EntitlementArgs a = { .max_users = -1, .max_applications = -1 };
        const char *tenant;
        int first, r;

        first = cli_parse_options(v, argc, argv, set ? entitlement_options : NULL, set ? on_entitlement_option : NULL,
                                  &a);
        if (first < 0) {
                strv_free(a.features);
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        }
        if (cli_expect_args(v, argc, first, 0, 1) < 0) {
                strv_free(a.features);
                return EXIT_USAGE;
        }
        tenant = first < argc ? argv[first] : arg_tenant;
        if (!tenant || !valid_tenant_slug(tenant)) {
                strv_free(a.features);
                return cli_usage_error("name the tenant: TENANT or --tenant.");
        }
        r = cli_bus(&bus);
        if (r == 0)
                r = cli_find_tenant(bus, tenant, &path);
        if (r > 0) {
                strv_free(a.features);
                return r;
        }
        if (set) {
                /* What is not given stays as it is. */
                r = cli_call(bus, "cannot read the entitlements", path, TESSERA_IFACE_TENANT, "GetEntitlements",
                             &reply, NULL);
                if (r == 0) {
                        _cleanup_(strv_freep) char **current = NULL;
                        int64_t users, apps;

                        r = sd_bus_message_read(reply, "xx", &users, &apps);
                        if (r >= 0)
                                r = sd_bus_message_read_strv(reply, &current);
                        if (r < 0) {
                                strv_free(a.features);
                                return cli_bus_error("cannot parse the reply", r, NULL);
                        }
                        r = cli_new_call(bus, path, TESSERA_IFACE_TENANT, "SetEntitlements", &m);
                        if (r >= 0)
                                r = sd_bus_message_append(m, "xx", a.set_users ? a.max_users : users,
                                                          a.set_applications ? a.max_applications : apps);
                        if (r >= 0)
                                r = sd_bus_message_append_strv(m, a.set_features ? (a.features ?: (char *[]) { NULL })
                                                                                 : (current ?: (char *[]) { NULL }));
                        strv_free(a.features);
                        if (r < 0)
                                return cli_bus_error("cannot build the call", r, NULL);
                        reply = sd_bus_message_unref(reply);
                        r = cli_call_message(bus, "cannot set the entitlements", m, &reply);
                } else
                        strv_free(a.features);
        } else
                r = cli_call(bus, "cannot read the entitlements", path, TESSERA_IFACE_TENANT, "GetEntitlements",
                             &reply, NULL);
        if (r > 0)
                return r;
        return print_entitlements(tenant, reply);
}

static int entitlement_get(int argc, char *argv[]) {
        return entitlement_call(&entitlement_verbs[0], argc, argv, false);
}

static int entitlement_set(int argc, char *argv[]) {
        return entitlement_call(&entitlement_verbs[1], argc, argv, true);
}

const Verb entitlement_verbs[] = {
        { "entitlement", "get", "[TENANT]", "Show a tenant's limits and feature flags.", entitlement_get, NULL },
        { "entitlement", "set", "[TENANT] [--max-users N|none] [--max-applications N|none] [--feature F]...",
          "Change a tenant's limits and feature flags (administrators).", entitlement_set,
          "      --max-users=N|none     Users the tenant may have\n"
          "      --max-applications=N|none\n"
          "                             Applications it may register\n"
          "      --feature=NAME         A feature flag; given once or more, the flags are these\n"
          "      --no-features          No feature flags\n" },
        {},
};
