/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Attributes given on the command line for add and set. */
typedef struct UserArgs {
        const char *real_name, *email, *shell, *home, *role;
        int email_verified;       /* -1: not given */
        uint32_t uid;             /* 0: not given */
        bool password_stdin;
        bool ask_password;
} UserArgs;

enum {
        ARG_REAL_NAME = 0x100,
        ARG_EMAIL,
        ARG_EMAIL_VERIFIED,
        ARG_SHELL,
        ARG_HOME,
        ARG_ROLE,
        ARG_UID,
        ARG_PASSWORD,
        ARG_PASSWORD_STDIN,
};

static const struct option attribute_options[] = {
        { "real-name", required_argument, NULL, ARG_REAL_NAME },
        { "email", required_argument, NULL, ARG_EMAIL },
        { "email-verified", required_argument, NULL, ARG_EMAIL_VERIFIED },
        { "shell", required_argument, NULL, ARG_SHELL },
        { "home", required_argument, NULL, ARG_HOME },
        { "role", required_argument, NULL, ARG_ROLE },
        { "uid", required_argument, NULL, ARG_UID },
        { "password", no_argument, NULL, ARG_PASSWORD },
        { "password-stdin", no_argument, NULL, ARG_PASSWORD_STDIN },
        {},
};

static const struct option password_options[] = {
        { "password-stdin", no_argument, NULL, ARG_PASSWORD_STDIN },
        {},
};

static int on_option(int c, const char *arg, void *userdata) {
        UserArgs *a = userdata;
        int b;

        switch (c) {
        case ARG_REAL_NAME:
                a->real_name = arg;
                break;
        case ARG_EMAIL:
                a->email = arg;
                break;
        case ARG_EMAIL_VERIFIED:
                b = cli_parse_bool(arg);
                if (b < 0)
                        return cli_usage_error("--email-verified takes yes or no, not '%s'.", arg), -EINVAL;
                a->email_verified = b;
                break;
        case ARG_SHELL:
                a->shell = arg;
                break;
        case ARG_HOME:
                a->home = arg;
                break;
        case ARG_ROLE:
                a->role = arg;
                break;
        case ARG_UID:
                if (cli_parse_uint32(arg, 1, UINT32_MAX - 1, &a->uid) < 0)
                        return cli_usage_error("--uid takes a number, not '%s'.", arg), -EINVAL;
                break;
        case ARG_PASSWORD:
                a->ask_password = true;
                break;
        case ARG_PASSWORD_STDIN:
                a->password_stdin = true;
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

/* Appends the attributes that were given to an a{sv}. */
static int append_attributes(sd_bus_message *m, const UserArgs *a, const char *password) {
        int r = sd_bus_message_open_container(m, 'a', "{sv}");

        if (r >= 0 && a->real_name)
                r = cli_attr_string(m, "RealName", a->real_name);
        if (r >= 0 && a->email)
                r = cli_attr_string(m, "Email", a->email);
        if (r >= 0 && a->email_verified >= 0)
                r = cli_attr_bool(m, "EmailVerified", a->email_verified);
        if (r >= 0 && a->shell)
                r = cli_attr_string(m, "Shell", a->shell);
        if (r >= 0 && a->home)
                r = cli_attr_string(m, "HomeDirectory", a->home);
        if (r >= 0 && a->role)
                r = cli_attr_string(m, "Role", a->role);
        if (r >= 0 && a->uid > 0)
                r = cli_attr_uint32(m, "Uid", a->uid);
        if (r >= 0 && password)
                r = cli_attr_string(m, "Password", password);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int print_user(sd_bus *bus, const char *path) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        char t1[64], t2[64];
        json_t *groups, *g;
        size_t i;
        int r;

        r = cli_get_properties(bus, path, TESSERA_IFACE_USER, &j);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(j);

        cli_print_field("User", "%s@%s", cli_json_str(j, "name"), cli_json_str(j, "tenant"));
        cli_print_field("UID", "%lld", cli_json_int(j, "uid"));
        cli_print_field("GID", "%lld", cli_json_int(j, "gid"));
        cli_print_field("Real name", "%s", cli_json_str(j, "real_name"));
        if (*cli_json_str(j, "email"))
                cli_print_field("E-mail", "%s (%s)", cli_json_str(j, "email"),
                                cli_json_bool(j, "email_verified") ? "verified" : "not verified");
        cli_print_field("Home", "%s", cli_json_str(j, "home_directory"));
        cli_print_field("Shell", "%s", cli_json_str(j, "shell"));
        cli_print_field("State", "%s", cli_json_str(j, "state"));
        if (cli_json_int(j, "locked_until_usec") > 0)
                cli_print_field("Locked until", "%s", cli_format_time(cli_json_int(j, "locked_until_usec"), t1));
        if (cli_json_int(j, "expire_usec") > 0)
                cli_print_field("Expires", "%s", cli_format_time(cli_json_int(j, "expire_usec"), t1));
        cli_print_field("Role", "%s", cli_json_str(j, "role"));

        printf("%14s: ", "Groups");
        groups = json_object_get(j, "groups");
        if (json_array_size(groups) == 0)
                printf("-");
        json_array_foreach(groups, i, g)
                printf("%s%s", i > 0 ? ", " : "", json_string_value(g));
        putchar('\n');

        if (cli_json_bool(j, "has_password"))
                cli_print_field("Password", "set %s", cli_format_time(cli_json_int(j, "password_changed_usec"), t1));
        else
                cli_print_field("Password", "none");
        if (cli_json_bool(j, "totp_enabled"))
                cli_print_field("2nd factor", "TOTP, %lld backup codes left", cli_json_int(j, "backup_codes_left"));
        cli_print_field("Created", "%s", cli_format_time(cli_json_int(j, "created_usec"), t1));
        cli_print_field("Changed", "%s", cli_format_time(cli_json_int(j, "changed_usec"), t2));
        return EXIT_OK;
}

static int user_add(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(erase_and_freep) char *password = NULL;
        _cleanup_free_ char *tenant_path = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        UserArgs a = { .email_verified = -1 };
        const char *path;
        int first, r;

        first = cli_parse_options(&user_verbs[0], argc, argv, attribute_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&user_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_split_name(argv[first], name, tenant);
        if (r > 0)
                return r;
        if (a.ask_password || a.password_stdin) {
                r = cli_read_password("New password: ", true, a.password_stdin, &password);
                if (r > 0)
                        return r;
        }

        r = cli_bus(&bus);
        if (r > 0)
                return r;
        if (tenant[0] == '\0') {
                /* The host's default tenant, as the daemon knows it. */
                _cleanup_free_ char *def = NULL;
                r = sd_bus_get_property_string(bus, TESSERA_BUS_NAME, TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER,
                                               "DefaultTenant", NULL, &def);
                if (r < 0 || isempty(def))
                        return cli_usage_error("no tenant given and the host has no default tenant; "
                                               "write NAME@TENANT or use --tenant.");
                snprintf(tenant, sizeof(tenant), "%s", def);
        }
        r = cli_find_tenant(bus, tenant, &tenant_path);
        if (r > 0)
                return r;

        r = cli_new_call(bus, tenant_path, TESSERA_IFACE_TENANT, "CreateUser", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = append_attributes(m, &a, password);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        (void) sd_bus_message_sensitive(m);
        r = cli_call_message(bus, "cannot create the user", m, &reply);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return print_user(bus, path);
        printf("Created user %s@%s.\n", name, tenant);
        return EXIT_OK;
}

/* The search filters of "user list"; none given: every user, as ListUsers
 * gives them. */
typedef struct ListArgs {
        const char *search, *state, *role, *sort;
        uint64_t created_after, created_before;   /* usec; 0: no bound */
        uint32_t limit;                           /* 0: every match */
} ListArgs;

enum {
        ARG_SEARCH = 0x200,
        ARG_STATE,
        ARG_LIST_ROLE,
        ARG_SORT,
        ARG_CREATED_AFTER,
        ARG_CREATED_BEFORE,
        ARG_LIMIT,
};

static const struct option list_options[] = {
        { "search", required_argument, NULL, ARG_SEARCH },
        { "state", required_argument, NULL, ARG_STATE },
        { "role", required_argument, NULL, ARG_LIST_ROLE },
        { "sort", required_argument, NULL, ARG_SORT },
        { "created-after", required_argument, NULL, ARG_CREATED_AFTER },
        { "created-before", required_argument, NULL, ARG_CREATED_BEFORE },
        { "limit", required_argument, NULL, ARG_LIMIT },
        {},
};

/* "2026-05-01" or "2026-05-01T12:00:00Z", in UTC. */
static int parse_day_or_time(const char *s, uint64_t *ret) {
        struct tm tm = {};
        const char *end;
        time_t t;

        end = strptime(s, "%Y-%m-%d", &tm);
        if (end && *end == 'T')
                end = strptime(end, "T%H:%M:%SZ", &tm);
        if (!end || *end)
                return -EINVAL;
        t = timegm(&tm);
        if (t <= 0)
                return -EINVAL;
        *ret = (uint64_t) t * 1000000ULL;
        return 0;
}

static int on_list_option(int c, const char *arg, void *userdata) {
        ListArgs *a = userdata;

        switch (c) {
        case ARG_SEARCH:
                a->search = arg;
                break;
        case ARG_STATE:
                a->state = arg;
                break;
        case ARG_LIST_ROLE:
                a->role = arg;
                break;
        case ARG_SORT:
                a->sort = arg;
                break;
        case ARG_CREATED_AFTER:
        case ARG_CREATED_BEFORE:
                if (parse_day_or_time(arg, c == ARG_CREATED_AFTER ? &a->created_after : &a->created_before) < 0)
                        return cli_usage_error("--created-%s takes a day (2026-05-01) or a time in UTC "
                                               "(2026-05-01T12:00:00Z), not '%s'.",
                                               c == ARG_CREATED_AFTER ? "after" : "before", arg),
                               -EINVAL;
                break;
        case ARG_LIMIT:
                if (cli_parse_uint32(arg, 1, UINT32_MAX, &a->limit) < 0)
                        return cli_usage_error("--limit takes a positive number, not '%s'.", arg), -EINVAL;
                break;
        default:
                return -EINVAL;
        }
        return 0;
}

static bool list_filtered(const ListArgs *a) {
        return a->search || a->state || a->role || a->sort || a->created_after || a->created_before || a->limit;
}

/* The users of the search, a page (of up to 200) at a time through
 * SearchUsers, up to a->limit of them. */
static int search_users(sd_bus *bus, const char *tenant_path, const ListArgs *a, char ***ret) {
        _cleanup_(strv_freep) char **all = NULL;
        _cleanup_free_ char *cursor = strdup("");
        size_t n = 0;
        int r;

        if (!cursor)
                return cli_bus_error("cannot search the users", -ENOMEM, NULL);
        do {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                _cleanup_(strv_freep) char **page = NULL;
                uint32_t want = 200;
                const char *next;
                char **grown;
                size_t k;

                if (a->limit > 0 && a->limit - n < want)
                        want = (uint32_t) (a->limit - n);
                r = cli_new_call(bus, tenant_path, TESSERA_IFACE_TENANT, "SearchUsers", &m);
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r >= 0 && a->search)
                        r = cli_attr_string(m, "Prefix", a->search);
                if (r >= 0 && a->state)
                        r = cli_attr_string(m, "State", a->state);
                if (r >= 0 && a->role)
                        r = cli_attr_string(m, "Role", a->role);
                if (r >= 0 && a->sort)
                        r = cli_attr_string(m, "Sort", a->sort);
                if (r >= 0 && a->created_after)
                        r = sd_bus_message_append(m, "{sv}", "CreatedAfter", "t", a->created_after);
                if (r >= 0 && a->created_before)
                        r = sd_bus_message_append(m, "{sv}", "CreatedBefore", "t", a->created_before);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_append(m, "us", want, cursor);
                if (r < 0)
                        return cli_bus_error("cannot search the users", r, NULL);
                r = cli_call_message(bus, "cannot search the users", m, &reply);
                if (r > 0)
                        return r;
                r = cli_read_paths(reply, &page);
                if (r > 0)
                        return r;
                if (sd_bus_message_read(reply, "s", &next) < 0)
                        return cli_bus_error("cannot parse the reply", -EBADMSG, NULL);
                k = strv_length(page);
                grown = realloc(all, (n + k + 1) * sizeof(char *));
                if (!grown)
                        return cli_bus_error("cannot search the users", -ENOMEM, NULL);
                all = grown;
                for (size_t i = 0; i < k; i++)
                        all[n++] = TAKE_PTR(page[i]);
                all[n] = NULL;
                free(cursor);
                cursor = strdup(next);
                if (!cursor)
                        return cli_bus_error("cannot search the users", -ENOMEM, NULL);
        } while (!isempty(cursor) && (a->limit == 0 || n < a->limit));

        if (!all && !(all = calloc(1, sizeof(char *))))
                return cli_bus_error("cannot search the users", -ENOMEM, NULL);
        *ret = TAKE_PTR(all);
        return 0;
}

static int user_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **paths = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_free_ char *tenant_path = NULL;
        ListArgs a = {};
        size_t i;
        json_t *o;
        int first, r;

        first = cli_parse_options(&user_verbs[1], argc, argv, list_options, on_list_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&user_verbs[1], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        if (arg_tenant)
                r = cli_find_tenant(bus, arg_tenant, &tenant_path);
        else {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *tr = NULL;
                const char *p;
                r = cli_call(bus, "cannot find the default tenant", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER,
                             "GetTenant", &tr, "s", "");
                if (r == 0 && sd_bus_message_read(tr, "o", &p) >= 0)
                        tenant_path = strdup(p);
        }
        if (r > 0)
                return r;
        if (!tenant_path)
                return EXIT_FAIL;

        if (list_filtered(&a))
                r = search_users(bus, tenant_path, &a, &paths);
        else {
                r = cli_call(bus, "cannot list the users", tenant_path, TESSERA_IFACE_TENANT, "ListUsers", &reply,
                             NULL);
                if (r == 0)
                        r = cli_read_paths(reply, &paths);
        }
        if (r > 0)
                return r;
        r = cli_get_properties_array(bus, paths, TESSERA_IFACE_USER, &list);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(list);

        t = cli_table_new(5, "NAME", "UID", "STATE", "ROLE", "REAL NAME");
        json_array_foreach(list, i, o) {
                char uid[16];
                snprintf(uid, sizeof(uid), "%lld", cli_json_int(o, "uid"));
                cli_table_add(t, cli_json_str(o, "name"), uid, cli_json_str(o, "state"), cli_json_str(o, "role"),
                              cli_json_str(o, "real_name"));
        }
        cli_table_print(t);
        return EXIT_OK;
}

/* The verbs that name one user and take no options of their own. */
static int with_user(const Verb *v, int argc, char *argv[], char **ret_path, sd_bus **ret_bus) {
        int first, r;

        first = cli_parse_options(v, argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(ret_bus);
        if (r > 0)
                return r;
        return cli_find_user(*ret_bus, argv[first], ret_path);
}

static int user_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int r = with_user(&user_verbs[2], argc, argv, &path, &bus);

        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        return print_user(bus, path);
}

static int user_set(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *path = NULL;
        UserArgs a = { .email_verified = -1 };
        int first, r;

        first = cli_parse_options(&user_verbs[3], argc, argv, attribute_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&user_verbs[3], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        if (a.uid > 0 || a.ask_password || a.password_stdin)
                return cli_usage_error("the UID can't change, and passwords are set with 'tesseractl user passwd'.");
        if (!a.real_name && !a.email && a.email_verified < 0 && !a.shell && !a.home && !a.role)
                return cli_usage_error("nothing to change; see 'tesseractl user set --help'.");

        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_user(bus, argv[first], &path);
        if (r > 0)
                return r;
        r = cli_new_call(bus, path, TESSERA_IFACE_USER, "Update", &m);
        if (r >= 0)
                r = append_attributes(m, &a, NULL);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, "cannot change the user", m, NULL);
        if (r > 0)
                return r;
        return arg_json ? print_user(bus, path) : EXIT_OK;
}

static int user_passwd(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(erase_and_freep) char *current = NULL, *password = NULL;
        _cleanup_free_ char *path = NULL;
        UserArgs a = {};
        uint32_t uid = 0;
        int first, r;

        first = cli_parse_options(&user_verbs[4], argc, argv, password_options, on_option, &a);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&user_verbs[4], argc, first, 1, 1) < 0)
                return EXIT_USAGE;

        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_user(bus, argv[first], &path);
        if (r > 0)
                return r;

        /* Changing one's own password proves the current one, as passwd does;
         * root and administrators set any password without it. */
        (void) sd_bus_get_property_trivial(bus, TESSERA_BUS_NAME, path, TESSERA_IFACE_USER, "Uid", NULL, 'u', &uid);
        if (geteuid() != 0 && geteuid() == uid) {
                r = cli_read_password("Current password: ", false, a.password_stdin, &current);
                if (r > 0)
                        return r;
        }
        r = cli_read_password("New password: ", true, a.password_stdin, &password);
        if (r > 0)
                return r;

        r = cli_new_call(bus, path, TESSERA_IFACE_USER, "SetPassword", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", strempty(current), password);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        (void) sd_bus_message_sensitive(m);
        r = cli_call_message(bus, "cannot set the password", m, NULL);
        if (r > 0)
                return r;
        if (!arg_json)
                printf("Password changed.\n");
        return EXIT_OK;
}

static int simple_method(const Verb *v, const char *method, const char *done, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        char what[64];
        int r = with_user(v, argc, argv, &path, &bus);

        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        snprintf(what, sizeof(what), "cannot %s the user", v->name);
        r = cli_call(bus, what, path, TESSERA_IFACE_USER, method, NULL, NULL);
        if (r > 0)
                return r;
        if (!arg_json)
                printf("%s %s.\n", done, argv[argc - 1]);
        return EXIT_OK;
}

static int user_lock(int argc, char *argv[]) {
        return simple_method(&user_verbs[5], "Lock", "Locked", argc, argv);
}

static int user_unlock(int argc, char *argv[]) {
        return simple_method(&user_verbs[6], "Unlock", "Unlocked", argc, argv);
}

static int user_disable(int argc, char *argv[]) {
        return simple_method(&user_verbs[7], "Disable", "Disabled", argc, argv);
}

static int user_enable(int argc, char *argv[]) {
        return simple_method(&user_verbs[8], "Enable", "Enabled", argc, argv);
}

static int user_delete(int argc, char *argv[]) {
        return simple_method(&user_verbs[9], "Delete", "Deleted", argc, argv);
}

#define ATTRIBUTE_HELP                                                                   \
        "      --real-name=NAME       Full name (the GECOS field)\n"                       \
        "      --email=ADDRESS        E-mail address (\"\" removes it)\n"                   \
        "      --email-verified=BOOL  Whether the address was proven to be the user's\n"   \
        "      --home=PATH            Home directory (default: from home_template)\n"       \
        "      --shell=PATH           Login shell (default: default_shell)\n"               \
        "      --role=ROLE            Tenant role: member, admin or owner\n"

const Verb user_verbs[] = {
        { "user", "add", "NAME[@TENANT] [OPTIONS]", "Create a user, with a user-private group of the same name.", user_add,
          ATTRIBUTE_HELP
          "      --uid=UID              UID inside the tenant's slice (default: the next free one)\n"
          "      --password             Ask for a password on the terminal\n"
          "      --password-stdin       Read the password from the first line of standard input" },
        { "user", "list", "[--tenant TENANT] [--search PREFIX] [--state STATE] [--role ROLE] [...]",
          "List the users of a tenant, all or those of a search.", user_list,
          "      --search=PREFIX        Users whose name or e-mail address begins so (any case)\n"
          "      --state=STATE          active, disabled, locked or expired\n"
          "      --role=ROLE            member, admin or owner\n"
          "      --created-after=TIME   Created then or later: 2026-05-01 or 2026-05-01T12:00:00Z (UTC)\n"
          "      --created-before=TIME  Created before then\n"
          "      --sort=ORDER           name (the default) or created (oldest first)\n"
          "      --limit=N              At most N users" },
        { "user", "show", "NAME[@TENANT]", "Show a user.", user_show, NULL },
        { "user", "set", "NAME[@TENANT] [OPTIONS]", "Change a user's attributes.", user_set, ATTRIBUTE_HELP },
        { "user", "passwd", "NAME[@TENANT] [--password-stdin]",
          "Set a user's password. Users changing their own give the current one first.", user_passwd,
          "      --password-stdin       Read from standard input instead of the terminal: one line,\n"
          "                             or two (current, then new) when changing your own" },
        { "user", "lock", "NAME[@TENANT]", "Lock an account until it is unlocked.", user_lock, NULL },
        { "user", "unlock", "NAME[@TENANT]", "Unlock an account.", user_unlock, NULL },
        { "user", "disable", "NAME[@TENANT]", "Disable an account.", user_disable, NULL },
        { "user", "enable", "NAME[@TENANT]", "Enable a disabled account.", user_enable, NULL },
        { "user", "delete", "NAME[@TENANT]", "Delete a user and their private group.", user_delete, NULL },
        {},
};
