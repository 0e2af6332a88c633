/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tessera-store-copy: what `tesseractl store migrate-to postgresql URL`
 * runs. tesseractl reaches tesserad over the bus and never links the
 * daemon (tests/layering); this copy is done with tesserad stopped, so it
 * is a program of the daemon's package, beside tesserad, with the store
 * linked in: it reads tesserad.conf for where the SQLite database is, and
 * calls store_copy() (daemon/store/store-copy.c). It sees lib/ and the
 * core only. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "macro.h"
#include "store-config.h"
#include "store-copy.h"

static const char *arg_config = TESSERA_DEFAULT_CONFIG_PATH;
static bool arg_config_given = false;
static const char *arg_database = NULL;
static const char *arg_password_file = NULL;
static bool arg_json = false;
static const char *arg_url = NULL;

static void help(void) {
        printf("%s [OPTIONS...] URL\n\n"
               "Copies tesserad's SQLite database into an empty PostgreSQL database\n"
               "(run by 'tesseractl store migrate-to postgresql URL'; see tesseractl(1)).\n\n"
               "  -h --help                Show this help\n"
               "  -c --config=PATH         tesserad's configuration, for the database's path\n"
               "                           (default: %s)\n"
               "     --database=PATH       The SQLite database (default: from the configuration)\n"
               "     --password-file=PATH  The PostgreSQL password (default: none, or the\n"
               "                           systemd credential " STORE_PASSWORD_CREDENTIAL ")\n"
               "     --json                Print the counts as JSON\n",
               program_invocation_short_name, TESSERA_DEFAULT_CONFIG_PATH);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_DATABASE = 0x100, ARG_PASSWORD_FILE, ARG_JSON };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "config", required_argument, NULL, 'c' },
                { "database", required_argument, NULL, ARG_DATABASE },
                { "password-file", required_argument, NULL, ARG_PASSWORD_FILE },
                { "json", no_argument, NULL, ARG_JSON },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'c':
                        arg_config = optarg;
                        arg_config_given = true;
                        break;
                case ARG_DATABASE:
                        arg_database = optarg;
                        break;
                case ARG_PASSWORD_FILE:
                        arg_password_file = optarg;
                        break;
                case ARG_JSON:
                        arg_json = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind != argc - 1)
                return log_error_errno(-EINVAL, "Name the PostgreSQL database once: %s [OPTIONS...] URL",
                                       program_invocation_short_name);
        arg_url = argv[optind];
        return 1;
}

static int print_report(const StoreCopyReport *report, const char *source, const char *target) {
        uint64_t total = 0;

        if (arg_json) {
                json_t *j = json_object(), *tables = json_array();
                int r;

                if (!j || !tables) {
                        json_decref(j);
                        json_decref(tables);
                        return -ENOMEM;
                }
                for (unsigned i = 0; i < report->n_tables; i++) {
                        const StoreCopyTable *t = &report->tables[i];

                        json_array_append_new(tables,
                                              json_pack("{s:s, s:I, s:I, s:b}", "table", t->name, "source_rows",
                                                        (json_int_t) t->source_rows, "target_rows",
                                                        (json_int_t) t->target_rows, "checksum_equal",
                                                        t->source_checksum == t->target_checksum));
                }
                json_object_set_new(j, "source", json_string(source));
                json_object_set_new(j, "target", json_string(target));
                json_object_set_new(j, "schema_version", json_integer(report->schema_version));
                json_object_set_new(j, "tables", tables);
                r = json_dumpf(j, stdout, JSON_INDENT(2)) < 0 ? -EIO : 0;
                putchar('\n');
                json_decref(j);
                return r;
        }

        printf("%-22s %12s %12s  %s\n", "TABLE", "SQLITE", "POSTGRESQL", "CHECKSUM");
        for (unsigned i = 0; i < report->n_tables; i++) {
                const StoreCopyTable *t = &report->tables[i];

                printf("%-22s %12" PRIu64 " %12" PRIu64 "  %s\n", t->name, t->source_rows, t->target_rows,
                       t->source_checksum == t->target_checksum ? "equal" : "DIFFERENT");
                total += t->target_rows;
        }
        printf("Copied %" PRIu64 " rows of %u tables (schema version %d) from %s into %s; "
               "read back and compared.\n",
               total, report->n_tables, report->schema_version, source, target);
        return 0;
}

int main(int argc, char *argv[]) {
        Config *config = NULL;
        StoreConfig from = {}, to = {};
        StoreCopyReport report;
        _cleanup_free_ char *source = NULL, *target = NULL;
        int r;

        log_setup("tessera-store-copy", LOG_TARGET_CONSOLE);
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : EXIT_SUCCESS;

        /* The default file may be missing (defaults apply); a named one not. */
        r = config_load(arg_config, !arg_config_given, &config);
        if (r < 0)
                return EXIT_FAILURE;
        if (config->store.backend != STORE_BACKEND_SQLITE && !arg_database) {
                log_error("%s says [store] backend = %s: there is no SQLite database to copy (or name one with "
                          "--database).", arg_config, store_backend_to_string(config->store.backend));
                r = -EINVAL;
                goto finish;
        }
        from.backend = STORE_BACKEND_SQLITE;
        from.path = strdup(arg_database ?: config->store.path);
        if (!from.path) {
                r = log_oom();
                goto finish;
        }

        to.backend = STORE_BACKEND_POSTGRESQL;
        to.url = strdup(arg_url);
        to.password_file = arg_password_file ? strdup(arg_password_file) : NULL;
        if (!to.url || (arg_password_file && !to.password_file)) {
                r = log_oom();
                goto finish;
        }
        r = store_config_finish(&to, NULL);
        if (r == -EPERM)
                log_error("The URL holds a password: put it in a file (--password-file) instead, so that it is "
                          "never on a command line.");
        else if (r < 0)
                log_error_errno(r, "'%s' is not a PostgreSQL connection URL or key=value string libpq reads.", arg_url);
        if (r < 0)
                goto finish;
        r = store_config_describe(&from, &source);
        if (r >= 0)
                r = store_config_describe(&to, &target);
        if (r < 0)
                goto finish;

        /* store_copy() logs every failure with what to do. */
        r = store_copy(&from, &to, &report);
        if (r >= 0)
                r = print_report(&report, source, target);

finish:
        store_config_done(&from);
        store_config_done(&to);
        config_free(config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
