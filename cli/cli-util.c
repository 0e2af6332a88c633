/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <termios.h>
#include <time.h>

#include "cli.h"

bool arg_json = false;
const char *arg_tenant = NULL;

void verb_help(const Verb *v) {
        printf("tesseractl %s %s %s\n\n%s\n\n", v->object, v->name, v->args, v->summary);
        if (v->options_help)
                printf("%s\n", v->options_help);
        printf("      --tenant=TENANT   Tenant of bare names (default: the host's default tenant)\n"
               "      --json            Print JSON for programs instead of text for people\n"
               "      --help            Show this help\n");
}

int cli_usage_error(const char *format, ...) {
        va_list ap;

        fputs("tesseractl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputs("\n", stderr);
        return EXIT_USAGE;
}

int cli_parse_options(const Verb *v, int argc, char *argv[], const struct option *verb_options,
                      CliOptionHandler handler, void *userdata) {
        enum { CLI_COMMON_OPTION_IDS };
        static const struct option common[] = { CLI_COMMON_OPTIONS };
        struct option options[32] = {};
        size_t n = 0;
        int c;

        for (const struct option *o = verb_options; o && o->name; o++)
                options[n++] = *o;
        for (size_t i = 0; i < ELEMENTSOF(common); i++)
                options[n++] = common[i];

        optind = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_TENANT:
                        if (!valid_tenant_slug(optarg)) {
                                cli_usage_error("'%s' is not a valid tenant name.", optarg);
                                return -2;
                        }
                        arg_tenant = optarg;
                        break;
                case ARG_HELP:
                        verb_help(v);
                        return -1;
                case '?':
                        fprintf(stderr, "Try 'tesseractl %s %s --help'.\n", v->object, v->name);
                        return -2;
                default:
                        if (!handler || handler(c, optarg, userdata) < 0)
                                return -2;
                }
        }
        return optind;
}

int cli_expect_args(const Verb *v, int argc, int first, int min, int max) {
        int n = argc - first;

        if (n < min || n > max) {
                cli_usage_error("%s %s takes %s.", v->object, v->name, v->args);
                fprintf(stderr, "Try 'tesseractl %s %s --help'.\n", v->object, v->name);
                return -2;
        }
        return 0;
}

int cli_bus(sd_bus **ret) {
        int r = sd_bus_open_system(ret);

        if (r < 0) {
                fprintf(stderr,
                        "tesseractl: cannot connect to the system bus: %s\n"
                        "Is dbus running? For a development instance, export the DBUS_SYSTEM_BUS_ADDRESS "
                        "that tools/dev printed.\n",
                        strerror(-r));
                return EXIT_FAIL;
        }
        return 0;
}

static int exit_code_for(int error) {
        switch (abs(error)) {
        case ENOENT:
        case ENXIO:
                return EXIT_NOT_FOUND;
        case EACCES:
        case EPERM:
        case EKEYREJECTED:
        case ENOLCK:              /* the account is locked, disabled or expired */
        case EKEYREVOKED:
        case EKEYEXPIRED:
                return EXIT_DENIED;
        case EINVAL:
        case EEXIST:
        case ENOTEMPTY:
        case EALREADY:
        case ENOSPC:
        case ERANGE:
        case E2BIG:
        case EUSERS:              /* the tenant's plan allows no more */
        case ENOTUNIQ:
                return EXIT_REFUSED;
        default:
                return EXIT_FAIL;
        }
}

int cli_bus_error(const char *what, int r, const sd_bus_error *error) {
        const char *hint = NULL;

        if (sd_bus_error_is_set(error)) {
                r = -sd_bus_error_get_errno(error);
                if (sd_bus_error_has_names(error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                        hint = "Is tesserad running? Start it with 'systemctl start tesserad', or tools/dev "
                               "for a development instance.";
                else if (sd_bus_error_has_name(error, SD_BUS_ERROR_ACCESS_DENIED))
                        hint = "The bus policy refused the call; is the tessera D-Bus policy installed?";
                fprintf(stderr, "tesseractl: %s: %s\n", what, error->message ?: error->name);
        } else
                fprintf(stderr, "tesseractl: %s: %s\n", what, strerror(abs(r)));
        if (hint)
                fprintf(stderr, "%s\n", hint);
        return exit_code_for(r);
}

int cli_new_call(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_message **ret) {
        return sd_bus_message_new_method_call(bus, ret, TESSERA_BUS_NAME, path, interface, member);
}

int cli_call_message(sd_bus *bus, const char *what, sd_bus_message *m, sd_bus_message **reply) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* Password hashing may queue behind others: allow it time. */
        r = sd_bus_call(bus, m, 60 * 1000 * 1000, &error, reply);
        if (r < 0)
                return cli_bus_error(what, r, &error);
        return 0;
}

int cli_call(sd_bus *bus, const char *what, const char *path, const char *interface, const char *member,
             sd_bus_message **reply, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = cli_new_call(bus, path, interface, member, &m);
        if (r < 0)
                return cli_bus_error(what, r, NULL);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                if (r < 0)
                        return cli_bus_error(what, r, NULL);
        }
        return cli_call_message(bus, what, m, reply);
}

int cli_split_name(const char *arg, char name[static NAME_MAX_LEN + 1], char tenant[static TENANT_SLUG_MAX_LEN + 1]) {
        if (split_qualified_name(arg, name, tenant) < 0)
                return cli_usage_error("'%s' is not a valid NAME or NAME@TENANT: names are lower-case letters, "
                                       "digits, '_' and '-', starting with a letter or '_'.",
                                       arg);
        if (tenant[0] == '\0' && arg_tenant)
                strcpy(tenant, arg_tenant);
        return 0;
}

static int find_object(sd_bus *bus, const char *arg, const char *method, const char *kind, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1], what[160];
        const char *path;
        int r;

        r = cli_split_name(arg, name, tenant);
        if (r > 0)
                return r;
        snprintf(what, sizeof(what), "cannot find %s '%s'", kind, arg);
        r = cli_call(bus, what, TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, method, &reply, "ss", tenant, name);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return cli_bus_error(what, r, NULL);
        *ret_path = strdup(path);
        return *ret_path ? 0 : EXIT_FAIL;
}

int cli_find_user(sd_bus *bus, const char *arg, char **ret_path) {
        return find_object(bus, arg, "GetUserByName", "user", ret_path);
}

int cli_find_group(sd_bus *bus, const char *arg, char **ret_path) {
        return find_object(bus, arg, "GetGroupByName", "group", ret_path);
}

int cli_find_application(sd_bus *bus, const char *arg, char **ret_path) {
        return find_object(bus, arg, "GetApplication", "application", ret_path);
}

int cli_find_tenant(sd_bus *bus, const char *slug, char **ret_path) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char what[128];
        const char *path;
        int r;

        if (!valid_tenant_slug(slug))
                return cli_usage_error("'%s' is not a valid tenant name.", slug);
        snprintf(what, sizeof(what), "cannot find tenant '%s'", slug);
        r = cli_call(bus, what, TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "GetTenant", &reply, "s", slug);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return cli_bus_error(what, r, NULL);
        *ret_path = strdup(path);
        return *ret_path ? 0 : EXIT_FAIL;
}

/* "RealName" -> "real_name", "CreatedTime" -> "created_time". */
static void snake_case(const char *in, char *out, size_t size) {
        size_t o = 0;

        for (const char *p = in; *p && o + 2 < size; p++) {
                if (isupper((unsigned char) *p)) {
                        if (p != in)
                                out[o++] = '_';
                        out[o++] = (char) tolower((unsigned char) *p);
                } else
                        out[o++] = *p;
        }
        out[o] = '\0';
}

static bool ends_with(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && streq(s + a - b, suffix);
}

static int read_variant(sd_bus_message *reply, json_t **ret) {
        const char *contents;
        char type;
        int r;

        r = sd_bus_message_peek_type(reply, &type, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'v', contents);
        if (r < 0)
                return r;

        if (streq(contents, "s") || streq(contents, "o")) {
                const char *s;
                r = sd_bus_message_read_basic(reply, contents[0], &s);
                *ret = json_string(s);
        } else if (streq(contents, "b")) {
                int b;
                r = sd_bus_message_read_basic(reply, 'b', &b);
                *ret = json_boolean(b);
        } else if (streq(contents, "u")) {
                uint32_t u;
                r = sd_bus_message_read_basic(reply, 'u', &u);
                *ret = json_integer(u);
        } else if (streq(contents, "t")) {
                uint64_t t;
                r = sd_bus_message_read_basic(reply, 't', &t);
                *ret = json_integer((json_int_t) MIN(t, (uint64_t) INT64_MAX));
        } else if (streq(contents, "as")) {
                _cleanup_(strv_freep) char **l = NULL;
                r = sd_bus_message_read_strv(reply, &l);
                *ret = json_array();
                STRV_FOREACH(i, l)
                        json_array_append_new(*ret, json_string(*i));
        } else {
                r = sd_bus_message_skip(reply, contents);
                *ret = json_null();
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

int cli_get_properties(sd_bus *bus, const char *path, const char *interface, json_t **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        json_t *o;
        int r;

        r = sd_bus_call_method(bus, TESSERA_BUS_NAME, path, "org.freedesktop.DBus.Properties", "GetAll", &error,
                               &reply, "s", interface);
        if (r < 0)
                return cli_bus_error("cannot read the properties", r, &error);

        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r < 0)
                return cli_bus_error("cannot parse the properties", r, NULL);
        o = json_object();
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key;
                char snake[128];
                json_t *v = NULL;

                r = sd_bus_message_read(reply, "s", &key);
                if (r < 0)
                        break;
                r = read_variant(reply, &v);
                if (r < 0)
                        break;
                snake_case(key, snake, sizeof(snake) - 5);
                if (json_is_integer(v) && (ends_with(key, "Time") || ends_with(key, "Until"))) {
                        if (ends_with(snake, "_time"))
                                snake[strlen(snake) - 5] = '\0';
                        strcat(snake, "_usec");
                }
                json_object_set_new(o, snake, v ?: json_null());
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                json_decref(o);
                return cli_bus_error("cannot parse the properties", r, NULL);
        }
        *ret = o;
        return 0;
}

int cli_get_properties_array(sd_bus *bus, char **paths, const char *interface, json_t **ret) {
        json_t *a = json_array();
        int r;

        STRV_FOREACH(p, paths) {
                json_t *o;
                r = cli_get_properties(bus, *p, interface, &o);
                if (r > 0) {
                        json_decref(a);
                        return r;
                }
                json_array_append_new(a, o);
        }
        *ret = a;
        return 0;
}

int cli_read_paths(sd_bus_message *reply, char ***ret) {
        int r = sd_bus_message_read_strv(reply, ret);
        return r < 0 ? cli_bus_error("cannot parse the reply", r, NULL) : 0;
}

int cli_print_json(json_t *j) {
        int r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        return r < 0 ? EXIT_FAIL : EXIT_OK;
}

const char *cli_json_str(json_t *o, const char *key) {
        const char *s = json_string_value(json_object_get(o, key));
        return s ?: "";
}

long long cli_json_int(json_t *o, const char *key) {
        return json_integer_value(json_object_get(o, key));
}

bool cli_json_bool(json_t *o, const char *key) {
        return json_is_true(json_object_get(o, key));
}

const char *cli_format_time(long long usec, char buf[static 64]) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec <= 0)
                return "-";
        if (usec >= INT64_MAX / 2)
                return "never";
        if (!localtime_r(&t, &tm) || strftime(buf, 64, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, 64, "%lld", usec);
        return buf;
}

struct CliTable {
        size_t n_columns, n_cells;
        char **cells;             /* header first, row by row */
};

CliTable *cli_table_new(size_t n_columns, ...) {
        CliTable *t = calloc(1, sizeof(CliTable));
        va_list ap;

        if (!t)
                return NULL;
        t->n_columns = n_columns;
        va_start(ap, n_columns);
        for (size_t i = 0; i < n_columns; i++) {
                char **n = realloc(t->cells, (t->n_cells + 1) * sizeof(char *));
                if (!n)
                        break;
                t->cells = n;
                t->cells[t->n_cells++] = strdup(va_arg(ap, const char *));
        }
        va_end(ap);
        return t;
}

int cli_table_add(CliTable *t, ...) {
        char **n = realloc(t->cells, (t->n_cells + t->n_columns) * sizeof(char *));
        va_list ap;

        if (!n)
                return -ENOMEM;
        t->cells = n;
        va_start(ap, t);
        for (size_t i = 0; i < t->n_columns; i++)
                t->cells[t->n_cells++] = strdup(strempty(va_arg(ap, const char *)));
        va_end(ap);
        return 0;
}

void cli_table_print(CliTable *t) {
        size_t width[16] = {};

        for (size_t i = 0; i < t->n_cells; i++)
                width[i % t->n_columns] = MAX(width[i % t->n_columns], strlen(strempty(t->cells[i])));
        for (size_t i = 0; i < t->n_cells; i++) {
                size_t col = i % t->n_columns;
                bool last = col == t->n_columns - 1;
                if (last)
                        printf("%s\n", strempty(t->cells[i]));
                else
                        printf("%-*s  ", (int) width[col], strempty(t->cells[i]));
        }
}

CliTable *cli_table_free(CliTable *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

void cli_print_field(const char *key, const char *format, ...) {
        va_list ap;

        printf("%14s: ", key);
        va_start(ap, format);
        vprintf(format, ap);
        va_end(ap);
        putchar('\n');
}

static int read_line(FILE *f, char **ret) {
        char *line = NULL;
        size_t size = 0;
        ssize_t n;

        n = getline(&line, &size, f);
        if (n < 0) {
                erase_and_free(line);
                return -EIO;
        }
        if (n > 0 && line[n - 1] == '\n')
                line[--n] = '\0';
        *ret = line;
        return 0;
}

static int prompt_no_echo(const char *prompt, char **ret) {
        _cleanup_(fclosep) FILE *tty = fopen("/dev/tty", "r+e");
        struct termios old, quiet;
        int r;

        if (!tty)
                return -ENOTTY;
        fputs(prompt, tty);
        fflush(tty);
        if (tcgetattr(fileno(tty), &old) < 0)
                return -errno;
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t) ECHO;
        quiet.c_lflag |= ECHONL;
        if (tcsetattr(fileno(tty), TCSAFLUSH, &quiet) < 0)
                return -errno;
        r = read_line(tty, ret);
        (void) tcsetattr(fileno(tty), TCSAFLUSH, &old);
        return r;
}

int cli_read_password(const char *prompt, bool confirm, bool from_stdin, char **ret) {
        _cleanup_(erase_and_freep) char *a = NULL, *b = NULL;
        char again[128];
        int r;

        if (from_stdin) {
                r = read_line(stdin, &a);
                if (r < 0)
                        return cli_usage_error("no password on standard input.");
                *ret = TAKE_PTR(a);
                return 0;
        }

        r = prompt_no_echo(prompt, &a);
        if (r == -ENOTTY)
                return cli_usage_error("no terminal to ask for the password; use --password-stdin.");
        if (r < 0)
                return cli_usage_error("cannot read the password: %s", strerror(-r));
        if (confirm) {
                snprintf(again, sizeof(again), "Retype %c%s", tolower((unsigned char) prompt[0]), prompt + 1);
                r = prompt_no_echo(again, &b);
                if (r < 0)
                        return cli_usage_error("cannot read the password: %s", strerror(-r));
                if (!streq(a, b))
                        return cli_usage_error("the passwords do not match.");
        }
        *ret = TAKE_PTR(a);
        return 0;
}

int cli_attr_string(sd_bus_message *m, const char *key, const char *value) {
        return sd_bus_message_append(m, "{sv}", key, "s", value);
}

int cli_attr_uint32(sd_bus_message *m, const char *key, uint32_t value) {
        return sd_bus_message_append(m, "{sv}", key, "u", value);
}

int cli_attr_bool(sd_bus_message *m, const char *key, bool value) {
        return sd_bus_message_append(m, "{sv}", key, "b", (int) value);
}

int cli_parse_bool(const char *s) {
        if (streq(s, "yes") || streq(s, "true") || streq(s, "1") || streq(s, "on"))
                return 1;
        if (streq(s, "no") || streq(s, "false") || streq(s, "0") || streq(s, "off"))
                return 0;
        return -EINVAL;
}

int cli_parse_uint32(const char *s, uint32_t min, uint32_t max, uint32_t *ret) {
        unsigned long long v;
        char *end;

        if (!s || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || *end || v < min || v > max)
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}
