/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the verbs of tesseractl share: the bus, errors and exit codes,
 * output as tables or JSON, names and password input. */

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "bus-errors.h"
#include "bus-names.h"
#include "macro.h"
#include "names.h"

/* Exit codes, documented in tesseractl(1). */
enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,            /* anything else: daemon unreachable, internal error */
        EXIT_USAGE = 2,           /* tesseractl was called wrongly */
        EXIT_NOT_FOUND = 3,       /* the named object does not exist */
        EXIT_DENIED = 4,          /* the caller may not do this */
        EXIT_REFUSED = 5,         /* the daemon refused the input: invalid, exists, not empty */
};

/* Global options, parsed by every verb. */
extern bool arg_json;
extern const char *arg_tenant;

typedef struct Verb {
        const char *object;       /* "user" */
        const char *name;         /* "add" */
        const char *args;         /* "NAME[@TENANT] [OPTIONS]" */
        const char *summary;
        int (*run)(int argc, char *argv[]);
        const char *options_help; /* extra lines for --help, or NULL */
} Verb;

/* Tables of verbs, one per object file. */
extern const Verb tenant_verbs[];
extern const Verb user_verbs[];
extern const Verb group_verbs[];
extern const Verb audit_verbs[];
extern const Verb app_verbs[];
extern const Verb key_verbs[];
extern const Verb api_key_verbs[];
extern const Verb invitation_verbs[];
extern const Verb totp_verbs[];
extern const Verb session_verbs[];
extern const Verb mail_verbs[];
extern const Verb operator_verbs[];
extern const Verb entitlement_verbs[];
extern const Verb provider_verbs[];
extern const Verb user_link_verbs[];
extern const Verb store_verbs[];

/* Prints the help of one verb. */
void verb_help(const Verb *v);

/* The options every verb takes, to append to a verb's getopt table. */
#define CLI_COMMON_OPTION_IDS ARG_JSON = 0x1000, ARG_TENANT, ARG_HELP
#define CLI_COMMON_OPTIONS                                      \
        { "json", no_argument, NULL, ARG_JSON },                \
        { "tenant", required_argument, NULL, ARG_TENANT },      \
        { "help", no_argument, NULL, ARG_HELP }

/* Handles a common option. Returns 1 when handled, 0 for --help (print
 * help and exit 0), -EINVAL otherwise. */
int cli_common_option(int c);

/* Parses a verb's options: getopt_long with the common options handled.
 * For each verb-specific option handler(c, optarg, userdata) is called.
 * Returns the index of the first positional argument, or a negative
 * number: -1 after --help (exit 0), -2 on a usage error (already reported). */
typedef int (*CliOptionHandler)(int c, const char *arg, void *userdata);
int cli_parse_options(const Verb *v, int argc, char *argv[], const struct option *verb_options,
                      CliOptionHandler handler, void *userdata);
/* Checks the number of positional arguments and reports a usage error. */
int cli_expect_args(const Verb *v, int argc, int first, int min, int max);

/* Connects to the system bus, saying what to do when that fails. */
int cli_bus(sd_bus **ret);

/* Reports a failed call and returns the exit code for it. */
int cli_bus_error(const char *what, int r, const sd_bus_error *error);
int cli_usage_error(const char *format, ...) _printf_(1, 2);

/* Calls a method of org.tessera.Identity1; on failure reports it (with
 * `what` as the action) and returns the exit code (> 0). */
int cli_call(sd_bus *bus, const char *what, const char *path, const char *interface, const char *member,
             sd_bus_message **reply, const char *types, ...);
int cli_call_message(sd_bus *bus, const char *what, sd_bus_message *m, sd_bus_message **reply);
int cli_new_call(sd_bus *bus, const char *path, const char *interface, const char *member, sd_bus_message **ret);

/* Resolves NAME[@TENANT] (with --tenant) to the object path of a user or
 * group through the Manager. */
int cli_find_user(sd_bus *bus, const char *arg, char **ret_path);
int cli_find_group(sd_bus *bus, const char *arg, char **ret_path);
int cli_find_application(sd_bus *bus, const char *arg, char **ret_path);
int cli_find_tenant(sd_bus *bus, const char *slug, char **ret_path);
/* The tenant an argument names: the @TENANT part, --tenant, or "" for the
 * daemon's default. Writes the bare name to name. */
int cli_split_name(const char *arg, char name[static NAME_MAX_LEN + 1],
                   char tenant[static TENANT_SLUG_MAX_LEN + 1]);

/* All properties of an object as a JSON object with snake_case keys; times
 * (D-Bus 't' properties named ...Time or ...Until) get a "_usec" suffix. */
int cli_get_properties(sd_bus *bus, const char *path, const char *interface, json_t **ret);
/* Same for a list of paths, as a JSON array. */
int cli_get_properties_array(sd_bus *bus, char **paths, const char *interface, json_t **ret);
/* Reads an "ao" reply into a string list. */
int cli_read_paths(sd_bus_message *reply, char ***ret);

/* Output helpers. */
int cli_print_json(json_t *j);
const char *cli_json_str(json_t *o, const char *key);
long long cli_json_int(json_t *o, const char *key);
bool cli_json_bool(json_t *o, const char *key);
/* A time in usec as local time, "-" for 0. buf needs 64 bytes. */
const char *cli_format_time(long long usec, char buf[static 64]);

typedef struct CliTable CliTable;
CliTable *cli_table_new(size_t n_columns, ...);
int cli_table_add(CliTable *t, ...);   /* n_columns strings */
void cli_table_print(CliTable *t);
CliTable *cli_table_free(CliTable *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(CliTable *, cli_table_free);

/* Prints "key: value" lines with aligned keys. */
void cli_print_field(const char *key, const char *format, ...) _printf_(2, 3);

/* Reads a password: from the terminal without echo (asking twice when
 * confirm is set), or, with from_stdin, one line of standard input. */
int cli_read_password(const char *prompt, bool confirm, bool from_stdin, char **ret);

/* Entries of an a{sv} attribute dictionary (the container must be open). */
int cli_attr_string(sd_bus_message *m, const char *key, const char *value);
int cli_attr_uint32(sd_bus_message *m, const char *key, uint32_t value);
int cli_attr_bool(sd_bus_message *m, const char *key, bool value);

/* Parses "yes"/"no"/"true"/"false"/"1"/"0". */
int cli_parse_bool(const char *s);
/* Parses a decimal number in [min, max]. */
int cli_parse_uint32(const char *s, uint32_t min, uint32_t max, uint32_t *ret);
