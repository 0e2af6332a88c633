/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl api-key: a tenant's API keys (secret tsk_ keys with scopes
 * for programs, publishable tpk_ keys of an application for its end
 * users' sign-in in a browser). */

#include <getopt.h>
#include <inttypes.h>

#include "cli.h"

enum {
        ARG_TYPE = 0x100,
        ARG_ENV,
        ARG_NAME,
        ARG_SCOPE,
        ARG_APPLICATION,
        ARG_EXPIRES_IN,
        ARG_OVERLAP,
};

typedef struct KeyOptions {
        const char *type, *env, *name, *application;
        char **scopes;
        size_t n_scopes;
        uint32_t expires_in, overlap;
} KeyOptions;

static void key_options_done(KeyOptions *o) {
        free(o->scopes);
}

static int on_key_option(int c, const char *arg, void *userdata) {
        KeyOptions *o = userdata;

        switch (c) {
        case ARG_TYPE:
                if (!streq(arg, "secret") && !streq(arg, "publishable")) {
                        cli_usage_error("--type takes secret or publishable.");
                        return -EINVAL;
                }
                o->type = arg;
                return 0;
        case ARG_ENV:
                o->env = arg;
                return 0;
        case ARG_NAME:
                o->name = arg;
                return 0;
        case ARG_APPLICATION:
                o->application = arg;
                return 0;
        case ARG_SCOPE: {
                /* Borrowed from argv; the list is NULL-terminated. */
                char **l = realloc(o->scopes, (o->n_scopes + 2) * sizeof(char *));
                if (!l)
                        return -ENOMEM;
                o->scopes = l;
                l[o->n_scopes++] = (char *) arg;
                l[o->n_scopes] = NULL;
                return 0;
        }
        case ARG_EXPIRES_IN:
                if (cli_parse_uint32(arg, 60, UINT32_MAX, &o->expires_in) < 0) {
                        cli_usage_error("--expires-in takes a number of seconds, 60 or more.");
                        return -EINVAL;
                }
                return 0;
        case ARG_OVERLAP:
                if (cli_parse_uint32(arg, 0, 30 * 24 * 3600, &o->overlap) < 0) {
                        cli_usage_error("--overlap takes a number of seconds from 0 to 2592000 (30 days).");
                        return -EINVAL;
                }
                return 0;
        }
        return -EINVAL;
}

static const struct option create_options[] = {
        { "type", required_argument, NULL, ARG_TYPE },
        { "env", required_argument, NULL, ARG_ENV },
        { "name", required_argument, NULL, ARG_NAME },
        { "scope", required_argument, NULL, ARG_SCOPE },
        { "application", required_argument, NULL, ARG_APPLICATION },
        { "expires-in", required_argument, NULL, ARG_EXPIRES_IN },
        {},
};

static const struct option rotate_options[] = {
        { "overlap", required_argument, NULL, ARG_OVERLAP },
        {},
};

/* The verb's options and the tenant's object path; 0, or an exit code
 * (-1: --help was printed). */
static int prepare(const Verb *v, int argc, char *argv[], const struct option *options, KeyOptions *o, int n_args,
                   int *ret_first, sd_bus **bus, char **ret_path) {
        int first, r;

        first = cli_parse_options(v, argc, argv, options, options ? on_key_option : NULL, o);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, n_args, n_args) < 0)
                return EXIT_USAGE;
        if (!arg_tenant)
                return cli_usage_error("api-key %s needs --tenant TENANT.", v->name);
        r = cli_bus(bus);
        if (r > 0)
                return r;
        *ret_first = first;
        return cli_find_tenant(*bus, arg_tenant, ret_path);
}

static int attr_uint64(sd_bus_message *m, const char *key, uint64_t value) {
        int r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "sv", key, "t", value);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int print_new_key(const char *id, const char *key, const char *what) {
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s, s:s}", "id", id, "key", key);
                return cli_print_json(j);
        }
        cli_print_field("Key ID", "%s", id);
        cli_print_field("Key", "%s", key);
        printf("%s The key is shown this once; store it now.\n", what);
        return EXIT_OK;
}

static int api_key_create(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(key_options_done) KeyOptions o = {};
        _cleanup_free_ char *path = NULL;
        const char *id, *key;
        int first, r;

        r = prepare(&api_key_verbs[0], argc, argv, create_options, &o, 0, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_new_call(bus, path, TESSERA_IFACE_TENANT, "CreateApiKey", &m);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && o.type)
                r = cli_attr_string(m, "Type", o.type);
        if (r >= 0 && o.env)
                r = cli_attr_string(m, "Env", o.env);
        if (r >= 0 && o.name)
                r = cli_attr_string(m, "Name", o.name);
        if (r >= 0 && o.application)
                r = cli_attr_string(m, "Application", o.application);
        if (r >= 0 && o.scopes) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", "Scopes");
                if (r >= 0)
                        r = sd_bus_message_open_container(m, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, o.scopes);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0 && o.expires_in)
                r = attr_uint64(m, "Lifetime", o.expires_in);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, "cannot create the API key", m, &reply);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "ss", &id, &key);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        return print_new_key(id, key, "Send it as X-API-Key or Authorization: Bearer.");
}

static int api_key_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_free_ char *path = NULL;
        int first, r;

        r = prepare(&api_key_verbs[1], argc, argv, NULL, NULL, 0, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot list the API keys", path, TESSERA_IFACE_TENANT, "ListApiKeys", &reply, NULL);
        if (r > 0)
                return r;
        t = cli_table_new(7, "ID", "TYPE", "ENV", "NAME", "STATE", "LAST USED", "SCOPES / APPLICATION");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssassstttts)");
        while (r > 0) {
                _cleanup_(strv_freep) char **scopes = NULL;
                const char *id, *type, *env, *name, *app, *state, *replaced_by;
                uint64_t created, expires, revoked, used;
                char when[64], what[512] = "";
                json_t *s;

                r = sd_bus_message_enter_container(reply, 'r', "ssssassstttts");
                if (r <= 0)
                        break;
                s = json_array();
                r = sd_bus_message_read(reply, "ssss", &id, &type, &env, &name);
                if (r >= 0)
                        r = sd_bus_message_read_strv(reply, &scopes);
                if (r >= 0)
                        r = sd_bus_message_read(reply, "sstttts", &app, &state, &created, &expires, &revoked, &used,
                                                &replaced_by);
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
                if (r < 0) {
                        json_decref(s);
                        break;
                }
                STRV_FOREACH(sc, scopes) {
                        json_array_append_new(s, json_string(*sc));
                        strncat(what, what[0] ? " " : "", sizeof(what) - strlen(what) - 1);
                        strncat(what, *sc, sizeof(what) - strlen(what) - 1);
                }
                if (app[0]) {
                        strncat(what, what[0] ? " " : "", sizeof(what) - strlen(what) - 1);
                        strncat(what, "app:", sizeof(what) - strlen(what) - 1);
                        strncat(what, app, sizeof(what) - strlen(what) - 1);
                }
                json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:o, s:s?, s:s, s:I, s:I, s:I, s:I, s:s?}",
                                                      "id", id, "type", type, "env", env, "name", name, "scopes", s,
                                                      "application", app[0] ? app : NULL, "state", state,
                                                      "created_usec", (json_int_t) created,
                                                      "expires_usec", (json_int_t) expires,
                                                      "revoked_usec", (json_int_t) revoked,
                                                      "last_used_usec", (json_int_t) used,
                                                      "replaced_by", replaced_by[0] ? replaced_by : NULL));
                cli_table_add(t, id, type, env, name[0] ? name : "-", state, cli_format_time((long long) used, when),
                              what);
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

static int api_key_rotate(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(key_options_done) KeyOptions o = {};
        _cleanup_free_ char *path = NULL;
        const char *id, *key;
        char what[128];
        int first, r;

        r = prepare(&api_key_verbs[2], argc, argv, rotate_options, &o, 1, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot rotate the API key", path, TESSERA_IFACE_TENANT, "RotateApiKey", &reply, "st",
                     argv[first], (uint64_t) o.overlap);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "ss", &id, &key);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (o.overlap)
                snprintf(what, sizeof(what), "The old key %s works for %" PRIu32 " more seconds.", argv[first],
                         o.overlap);
        else
                snprintf(what, sizeof(what), "The old key %s no longer works.", argv[first]);
        return print_new_key(id, key, what);
}

static int api_key_revoke(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int first, r;

        r = prepare(&api_key_verbs[3], argc, argv, NULL, NULL, 1, &first, &bus, &path);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot revoke the API key", path, TESSERA_IFACE_TENANT, "RevokeApiKey", NULL, "s",
                     argv[first]);
        if (r > 0)
                return r;
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "revoked", argv[first]);
                return cli_print_json(j);
        }
        printf("Revoked %s.\n", argv[first]);
        return EXIT_OK;
}

const Verb api_key_verbs[] = {
        { "api-key", "create", "--tenant TENANT [OPTIONS]",
          "Make an API key of a tenant and print it (this once).", api_key_create,
          "      --type=TYPE          secret (default: a program's key with scopes) or publishable\n"
          "                           (an application's, for its end users' sign-in in a browser)\n"
          "      --scope=SCOPE        tessera:AREA:read|write, as the policy names them (repeat;\n"
          "                           a secret key needs one at least)\n"
          "      --application=APP    The application the key belongs to (publishable keys: required)\n"
          "      --env=ENV            A label in the key's text: prod (default), dev, ...\n"
          "      --name=NAME          What the key is for\n"
          "      --expires-in=SECONDS When it stops working (default: never)" },
        { "api-key", "list", "--tenant TENANT", "List the API keys of a tenant (never their secrets).", api_key_list,
          NULL },
        { "api-key", "rotate", "KEY-ID --tenant TENANT [--overlap SECONDS]",
          "Replace a key with a new one like it and print the new one.", api_key_rotate,
          "      --overlap=SECONDS    How long the old key keeps working (default 0: it ends now)" },
        { "api-key", "revoke", "KEY-ID --tenant TENANT", "Revoke a key at once.", api_key_revoke, NULL },
        {},
};
