/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl: manage tessera over D-Bus. "tesseractl OBJECT VERB ...",
 * each verb in the file of its object. */

#include <inttypes.h>

#include "cli.h"

static const Verb *const verb_tables[] = { tenant_verbs, user_verbs, user_link_verbs, totp_verbs, group_verbs,
                                           session_verbs, audit_verbs, app_verbs, key_verbs, api_key_verbs,
                                           invitation_verbs, provider_verbs, mail_verbs, operator_verbs,
                                           entitlement_verbs, store_verbs };

static void help(void) {
        printf("tesseractl [--json] [--tenant TENANT] OBJECT VERB [ARGS...]\n\n"
               "Manage the tessera identity service.\n\n");
        for (size_t i = 0; i < ELEMENTSOF(verb_tables); i++)
                for (const Verb *v = verb_tables[i]; v->object; v++)
                        printf("  %-11s %-14s %s\n", v->object, v->name, v->summary);
        printf("\nUsers and groups are named NAME@TENANT, or NAME with --tenant or the host's\n"
               "default tenant. 'tesseractl OBJECT VERB --help' tells more; see tesseractl(1).\n");
}

int main(int argc, char *argv[]) {
        const char *object, *verb;
        int i;

        /* Global options before the object: --json, --tenant, --help, --version. */
        for (i = 1; i < argc && argv[i][0] == '-'; i++) {
                if (streq(argv[i], "--help") || streq(argv[i], "-h")) {
                        help();
                        return EXIT_OK;
                } else if (streq(argv[i], "--version")) {
                        printf("tesseractl %s\n", TESSERA_VERSION);
                        return EXIT_OK;
                } else if (streq(argv[i], "--json"))
                        arg_json = true;
                else if (strneq(argv[i], "--tenant=", 9) || (streq(argv[i], "--tenant") && i + 1 < argc)) {
                        const char *t = argv[i][8] == '=' ? argv[i] + 9 : argv[++i];
                        if (!valid_tenant_slug(t))
                                return cli_usage_error("'%s' is not a valid tenant name.", t);
                        arg_tenant = t;
                } else
                        return cli_usage_error("unknown option '%s'; see 'tesseractl --help'.", argv[i]);
        }
        if (i + 2 > argc) {
                if (i + 1 == argc)
                        return cli_usage_error("'%s' needs a verb; see 'tesseractl --help'.", argv[i]);
                help();
                return EXIT_USAGE;
        }
        object = argv[i];
        verb = argv[i + 1];

        (void) bus_errors_register();
        for (size_t t = 0; t < ELEMENTSOF(verb_tables); t++)
                for (const Verb *v = verb_tables[t]; v->object; v++)
                        if (streq(v->object, object) && streq(v->name, verb))
                                /* The verb sees its own name as argv[0]. */
                                return v->run(argc - i - 1, argv + i + 1);

        return cli_usage_error("unknown command '%s %s'; see 'tesseractl --help'.", object, verb);
}
