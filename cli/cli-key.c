/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl key: the JWT signing keys of a tenant. */

#include "cli.h"

static int tenant_path(const Verb *v, int argc, char *argv[], sd_bus **bus, char **ret) {
        int first, r;

        first = cli_parse_options(v, argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        if (!arg_tenant)
                return cli_usage_error("key %s needs --tenant TENANT.", v->name);
        r = cli_bus(bus);
        if (r > 0)
                return r;
        return cli_find_tenant(*bus, arg_tenant, ret);
}

static int key_rotate(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **kids = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = tenant_path(&key_verbs[0], argc, argv, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot rotate the signing keys", path, TESSERA_IFACE_TENANT, "RotateSigningKeys", &reply, NULL);
        if (r > 0)
                return r;
        r = sd_bus_message_read_strv(reply, &kids);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s?, s:s?}", "rs256", kids[0], "es256",
                                                              kids[0] ? kids[1] : NULL);
                return cli_print_json(j);
        }
        printf("New signing keys for tenant %s:\n", arg_tenant);
        cli_print_field("RS256", "%s", strempty(kids[0]));
        cli_print_field("ES256", "%s", kids[0] ? strempty(kids[1]) : "");
        printf("The old keys stay in the JWKS until the tokens they signed have expired.\n");
        return EXIT_OK;
}

static int key_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_free_ char *path = NULL;
        const char *kid, *alg;
        uint64_t created, retired;
        int r;

        r = tenant_path(&key_verbs[1], argc, argv, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot list the signing keys", path, TESSERA_IFACE_TENANT, "ListSigningKeys", &reply, NULL);
        if (r > 0)
                return r;
        t = cli_table_new(4, "KID", "ALG", "CREATED", "STATE");
        r = sd_bus_message_enter_container(reply, 'a', "(sstt)");
        while (r >= 0 && (r = sd_bus_message_read(reply, "(sstt)", &kid, &alg, &created, &retired)) > 0) {
                char a[64], b[64];
                json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I}", "kid", kid, "alg", alg, "created_usec",
                                                      (json_int_t) created, "retired_usec", (json_int_t) retired));
                snprintf(b, sizeof(b), "%s", retired ? "retired " : "active");
                if (retired)
                        strncat(b, cli_format_time((long long) retired, a), sizeof(b) - strlen(b) - 1);
                cli_table_add(t, kid, alg, cli_format_time((long long) created, a), b);
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

const Verb key_verbs[] = {
        { "key", "rotate", "--tenant TENANT", "Make new signing keys; old ones stay published until their tokens expire.",
          key_rotate, NULL },
        { "key", "list", "--tenant TENANT", "List the published signing keys of a tenant.", key_list, NULL },
        {},
};
