/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl store: the store itself, offline. "store migrate-to" copies
 * a stopped tesserad's SQLite database into an empty PostgreSQL one. It
 * needs no bus (tesserad must not run) but the store: tesseractl never
 * links the daemon, so the verb runs tessera-store-copy, the daemon
 * package's program for it, with the same arguments. */

#include <unistd.h>

#include "cli.h"

/* Where tessera-store-copy is installed; $TESSERACTL_STORE_COPY names
 * another (the tests' build directory). */
#define STORE_COPY_PATH LIBEXECDIR "/tessera/tessera-store-copy"

enum { ARG_DATABASE = 1, ARG_CONFIG, ARG_PASSWORD_FILE, CLI_COMMON_OPTION_IDS };

typedef struct MigrateOptions {
        const char *database, *config, *password_file;
} MigrateOptions;

static int migrate_option(int c, const char *arg, void *userdata) {
        MigrateOptions *o = userdata;

        switch (c) {
        case ARG_DATABASE:
                o->database = arg;
                return 0;
        case ARG_CONFIG:
                o->config = arg;
                return 0;
        case ARG_PASSWORD_FILE:
                o->password_file = arg;
                return 0;
        default:
                return -EINVAL;
        }
}

static int store_migrate_to(int argc, char *argv[]) {
        static const struct option options[] = {
                { "database", required_argument, NULL, ARG_DATABASE },
                { "config", required_argument, NULL, ARG_CONFIG },
                { "password-file", required_argument, NULL, ARG_PASSWORD_FILE },
                CLI_COMMON_OPTIONS,
                {},
        };
        MigrateOptions o = {};
        const char *helper, *args[16];
        size_t n = 0;
        int first;

        first = cli_parse_options(&store_verbs[0], argc, argv, options, migrate_option, &o);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&store_verbs[0], argc, first, 2, 2) < 0)
                return EXIT_USAGE;
        if (!streq(argv[first], "postgresql"))
                return cli_usage_error("cannot migrate to '%s': the one backend to move to is 'postgresql'.",
                                       argv[first]);

        helper = getenv("TESSERACTL_STORE_COPY") ?: STORE_COPY_PATH;
        args[n++] = helper;
        if (o.config) {
                args[n++] = "--config";
                args[n++] = o.config;
        }
        if (o.database) {
                args[n++] = "--database";
                args[n++] = o.database;
        }
        if (o.password_file) {
                args[n++] = "--password-file";
                args[n++] = o.password_file;
        }
        if (arg_json)
                args[n++] = "--json";
        args[n++] = "--";
        args[n++] = argv[first + 1];
        args[n++] = NULL;

        (void) fflush(stdout);
        execv(helper, (char **) args);
        fprintf(stderr, "tesseractl: cannot run %s: %m (it comes with tesserad's package).\n", helper);
        return EXIT_FAIL;
}

const Verb store_verbs[] = {
        { "store", "migrate-to", "postgresql URL [--password-file FILE] [--database PATH] [--config FILE]",
          "Copy the stopped tesserad's SQLite database into an empty PostgreSQL database.", store_migrate_to,
          "      --password-file=FILE  The PostgreSQL password (never in the URL)\n"
          "      --database=PATH       The SQLite database (default: [store] path of tesserad.conf)\n"
          "      --config=FILE         tesserad's configuration (default: " SYSCONFDIR "/tessera/tesserad.conf)\n" },
        {},
};
