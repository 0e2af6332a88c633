/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

enum { ARG_DISPLAY_NAME = 0x100, ARG_SETTING };

static int on_display_name(int c, const char *arg, void *userdata) {
        *(const char **) userdata = arg;
        return 0;
}

static const struct option display_name_option[] = {
        { "display-name", required_argument, NULL, ARG_DISPLAY_NAME },
        {},
};

/* The tenant's settings: the option of set, the property of the Tenant
 * object, the label of show, and the kind of value ('b' yes/no, 'u' a
 * number, 's' a word, 'd' a duration in seconds). */
static const struct {
        const char *option, *property, *label;
        char kind;
} settings[] = {
        { "open-signup", "OpenSignup", "Open sign-up", 'b' },
        { "password-min-length", "PasswordMinLength", "Password min length", 'u' },
        { "password-dictionary-check", "PasswordDictionaryCheck", "Password dictionary check", 'b' },
        { "password-min-classes", "PasswordMinClasses", "Password min classes", 'u' },
        { "password-max-repeat", "PasswordMaxRepeat", "Password max repeat", 'u' },
        { "password-user-check", "PasswordUserCheck", "Password user check", 'b' },
        { "mfa-required", "MfaRequired", "MFA required", 's' },
        { "session-lifetime", "SessionLifetime", "Session lifetime", 'd' },
        { "refresh-idle-lifetime", "RefreshIdleLifetime", "Refresh idle lifetime", 'd' },
        { "refresh-absolute-lifetime", "RefreshAbsoluteLifetime", "Refresh absolute lifetime", 'd' },
};

/* The options of set: --display-name and one per setting, whose ids are
 * ARG_SETTING + its row. */
static const struct option set_options[] = {
        { "display-name", required_argument, NULL, ARG_DISPLAY_NAME },
        { "open-signup", required_argument, NULL, ARG_SETTING + 0 },
        { "password-min-length", required_argument, NULL, ARG_SETTING + 1 },
        { "password-dictionary-check", required_argument, NULL, ARG_SETTING + 2 },
        { "password-min-classes", required_argument, NULL, ARG_SETTING + 3 },
        { "password-max-repeat", required_argument, NULL, ARG_SETTING + 4 },
        { "password-user-check", required_argument, NULL, ARG_SETTING + 5 },
        { "mfa-required", required_argument, NULL, ARG_SETTING + 6 },
        { "session-lifetime", required_argument, NULL, ARG_SETTING + 7 },
        { "refresh-idle-lifetime", required_argument, NULL, ARG_SETTING + 8 },
        { "refresh-absolute-lifetime", required_argument, NULL, ARG_SETTING + 9 },
        {},
};

typedef struct SetArgs {
        const char *display_name;
        const char *value[ELEMENTSOF(settings)];  /* NULL: not given */
} SetArgs;

/* "90" (seconds), "90s", "30min" (or "30m"), "12h", "14d": seconds. */
static int parse_duration(const char *s, uint32_t *ret) {
        static const struct {
                const char *suffix;
                uint32_t seconds;
        } units[] = { { "", 1 }, { "s", 1 }, { "min", 60 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 } };
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(end, units[i].suffix)) {
                        if (v > UINT32_MAX / units[i].seconds)
                                return -EINVAL;
                        *ret = (uint32_t) v * units[i].seconds;
                        return 0;
                }
        return -EINVAL;
}

/* Seconds as the largest unit that divides them: "12h", "90d", "61s". */
static const char *format_duration(long long v, char buf[static 64]) {
        if (v > 0 && v % 86400 == 0)
                snprintf(buf, 64, "%lldd", v / 86400);
        else if (v > 0 && v % 3600 == 0)
                snprintf(buf, 64, "%lldh", v / 3600);
        else if (v > 0 && v % 60 == 0)
                snprintf(buf, 64, "%lldmin", v / 60);
        else
                snprintf(buf, 64, "%llds", v);
        return buf;
}

static int on_set_option(int c, const char *arg, void *userdata) {
        SetArgs *a = userdata;
        size_t i;
        uint32_t u;

        if (c == ARG_DISPLAY_NAME) {
                a->display_name = arg;
                return 0;
        }
        i = (size_t) (c - ARG_SETTING);
        if (i >= ELEMENTSOF(settings))
                return -EINVAL;
        /* Each takes "default": back to the site's (tesserad.conf). */
        if (!streq(arg, "default"))
                switch (settings[i].kind) {
                case 'b':
                        if (cli_parse_bool(arg) < 0)
                                return cli_usage_error("--%s takes yes, no or default, not '%s'.", settings[i].option,
                                                       arg), -EINVAL;
                        break;
                case 'u':
                        if (cli_parse_uint32(arg, 0, UINT32_MAX, &u) < 0)
                                return cli_usage_error("--%s takes a number or default, not '%s'.",
                                                       settings[i].option, arg), -EINVAL;
                        break;
                case 'd':
                        if (parse_duration(arg, &u) < 0)
                                return cli_usage_error("--%s takes a duration (3600, 60min, 12h, 30d) or default, "
                                                       "not '%s'.", settings[i].option, arg), -EINVAL;
                        break;
                }
        a->value[i] = arg;
        return 0;
}

/* The UpdateSettings call for the settings a gives: a value each, and
 * those given as "default" in Reset. */
static int settings_call(sd_bus *bus, const char *path, const SetArgs *a, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        bool reset = false;
        int r;

        r = cli_new_call(bus, path, TESSERA_IFACE_TENANT, "UpdateSettings", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(settings); i++) {
                const char *v = a->value[i];
                uint32_t u = 0;

                if (!v)
                        continue;
                if (streq(v, "default")) {
                        reset = true;
                        continue;
                }
                switch (settings[i].kind) {
                case 'b':
                        r = cli_attr_bool(m, settings[i].property, cli_parse_bool(v) > 0);
                        break;
                case 'u':
                        (void) cli_parse_uint32(v, 0, UINT32_MAX, &u);
                        r = cli_attr_uint32(m, settings[i].property, u);
                        break;
                case 'd':
                        (void) parse_duration(v, &u);
                        r = cli_attr_uint32(m, settings[i].property, u);
                        break;
                default:
                        r = cli_attr_string(m, settings[i].property, v);
                }
        }
        if (r >= 0 && reset) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Reset");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "s");
                for (size_t i = 0; r >= 0 && i < ELEMENTSOF(settings); i++)
                        if (a->value[i] && streq(a->value[i], "default"))
                                r = sd_bus_message_append(m, "s", settings[i].property);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Whether a setting follows the site's default (InheritedSettings). */
static bool inherited(json_t *j, const char *property) {
        json_t *l = json_object_get(j, "inherited_settings"), *v;
        size_t i;

        json_array_foreach(l, i, v)
                if (json_is_string(v) && streq(json_string_value(v), property))
                        return true;
        return false;
}

/* cli_print_field() with room for the settings' longer names. */
_printf_(2, 3) static void print_field(const char *key, const char *format, ...) {
        va_list ap;

        printf("%25s: ", key);
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
}

static void print_settings(json_t *j) {
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                char key[64], value[64];
                const char *text;

                /* The JSON key of a property: "PasswordMinLength" -> "password_min_length". */
                snprintf(key, sizeof(key), "%s", settings[i].option);
                for (char *p = key; *p; p++)
                        if (*p == '-')
                                *p = '_';
                switch (settings[i].kind) {
                case 'b':
                        text = cli_json_bool(j, key) ? "yes" : "no";
                        break;
                case 'u':
                        snprintf(value, sizeof(value), "%lld", cli_json_int(j, key));
                        text = value;
                        break;
                case 'd':
                        text = format_duration(cli_json_int(j, key), value);
                        break;
                default:
                        text = cli_json_str(j, key);
                }
                print_field(settings[i].label, "%s%s", text,
                                inherited(j, settings[i].property) ? " (site default)" : "");
        }
}

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

        print_field("Tenant", "%s", cli_json_str(j, "slug"));
        print_field("Display name", "%s", cli_json_str(j, "display_name"));
        print_field("IDs", "%lld-%lld", cli_json_int(j, "id_min"), cli_json_int(j, "id_max"));
        print_field("Created", "%s", cli_format_time(cli_json_int(j, "created_usec"), buf));
        print_settings(j);
        return EXIT_OK;
}

static int tenant_set(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *update = NULL;
        _cleanup_free_ char *path = NULL;
        SetArgs a = {};
        bool any = false;
        int first, r;

        first = cli_parse_options(&tenant_verbs[3], argc, argv, set_options, on_set_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&tenant_verbs[3], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                any = any || a.value[i];
        if (!a.display_name && !any)
                return cli_usage_error("nothing to change; give --display-name or a setting (see --help).");
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(bus, argv[first], &path);
        if (r > 0)
                return r;

        if (a.display_name) {
                r = cli_new_call(bus, path, TESSERA_IFACE_TENANT, "Update", &m);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0)
                        r = cli_attr_string(m, "DisplayName", a.display_name);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r < 0)
                        return cli_bus_error("cannot build the call", r, NULL);
                r = cli_call_message(bus, "cannot change the tenant", m, NULL);
                if (r > 0)
                        return r;
        }
        if (any) {
                r = settings_call(bus, path, &a, &update);
                if (r < 0)
                        return cli_bus_error("cannot build the call", r, NULL);
                r = cli_call_message(bus, "cannot change the tenant's settings", update, NULL);
                if (r > 0)
                        return r;
        }
        return EXIT_OK;
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
        { "tenant", "show", "SLUG", "Show a tenant and its settings.", tenant_show, NULL },
        { "tenant", "set", "SLUG [--display-name NAME] [SETTINGS]", "Change a tenant's display name and settings.",
          tenant_set,
          "      --display-name=NAME        The new display name\n"
          "      --open-signup=BOOL         Anyone may create an account (no sign-up page yet)\n"
          "      --password-min-length=N    Least number of characters of a new password (8-128)\n"
          "      --password-dictionary-check=BOOL\n"
          "                                 Refuse passwords based on dictionary words (cracklib)\n"
          "      --password-min-classes=N   Least number of character classes: digits, upper case,\n"
          "                                 lower case, others (0-4)\n"
          "      --password-max-repeat=N    Most times the same character in a row (0: any)\n"
          "      --password-user-check=BOOL Refuse passwords with the user's name or e-mail in them\n"
          "      --mfa-required=WHO         Who must sign in with a second factor: none, admins,\n"
          "                                 everyone (without one enrolled: no sign-in)\n"
          "      --session-lifetime=TIME    A browser sign-in (90, 30min, 12h, 7d), at most [oidc]'s\n"
          "      --refresh-idle-lifetime=TIME\n"
          "                                 A refresh token unused, at most [oidc]'s\n"
          "      --refresh-absolute-lifetime=TIME\n"
          "                                 A refresh token's lineage from the sign-in, at most\n"
          "                                 [oidc]'s\n"
          "Each setting takes 'default' to follow the site's default (tesserad.conf) again." },
        { "tenant", "delete", "SLUG", "Delete a tenant that has no users or groups left.", tenant_delete, NULL },
        {},
};
