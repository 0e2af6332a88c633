/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl app: OAuth clients of a tenant. */

#include <getopt.h>

#include "cli.h"

enum {
        ARG_REDIRECT_URI = 0x100,
        ARG_POST_LOGOUT_URI,
        ARG_PUBLIC,
        ARG_FIRST_PARTY,
        ARG_PKCE_OPTIONAL,
        ARG_GRANT,
        ARG_SCOPE,
        ARG_SIGNING_ALG,
        ARG_ALLOWED_ORIGIN,
};

typedef struct AppOptions {
        char **redirect_uris, **post_logout_uris, **grants, **scopes, **origins;
        bool public_client, first_party, pkce_optional;
        const char *signing_alg;
} AppOptions;

static void app_options_done(AppOptions *o) {
        strv_free(o->redirect_uris);
        strv_free(o->post_logout_uris);
        strv_free(o->grants);
        strv_free(o->scopes);
        strv_free(o->origins);
}

static int strv_push(char ***l, const char *s) {
        size_t n = strv_length(*l);
        char **nl = realloc(*l, (n + 2) * sizeof(char *));

        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[n] = strdup(s);
        nl[n + 1] = NULL;
        return nl[n] ? 0 : -ENOMEM;
}

static int on_app_option(int c, const char *arg, void *userdata) {
        AppOptions *o = userdata;

        switch (c) {
        case ARG_REDIRECT_URI:
                return strv_push(&o->redirect_uris, arg);
        case ARG_POST_LOGOUT_URI:
                return strv_push(&o->post_logout_uris, arg);
        case ARG_GRANT:
                return strv_push(&o->grants, arg);
        case ARG_SCOPE:
                return strv_push(&o->scopes, arg);
        case ARG_ALLOWED_ORIGIN:
                return strv_push(&o->origins, arg);
        case ARG_PUBLIC:
                o->public_client = true;
                return 0;
        case ARG_FIRST_PARTY:
                o->first_party = true;
                return 0;
        case ARG_PKCE_OPTIONAL:
                o->pkce_optional = true;
                return 0;
        case ARG_SIGNING_ALG:
                if (!streq(arg, "RS256") && !streq(arg, "ES256")) {
                        cli_usage_error("--signing-alg takes RS256 or ES256.");
                        return -EINVAL;
                }
                o->signing_alg = arg;
                return 0;
        }
        return -EINVAL;
}

static const struct option create_options[] = {
        { "redirect-uri", required_argument, NULL, ARG_REDIRECT_URI },
        { "post-logout-redirect-uri", required_argument, NULL, ARG_POST_LOGOUT_URI },
        { "public", no_argument, NULL, ARG_PUBLIC },
        { "first-party", no_argument, NULL, ARG_FIRST_PARTY },
        { "pkce-optional", no_argument, NULL, ARG_PKCE_OPTIONAL },
        { "grant", required_argument, NULL, ARG_GRANT },
        { "scope", required_argument, NULL, ARG_SCOPE },
        { "signing-alg", required_argument, NULL, ARG_SIGNING_ALG },
        { "allowed-origin", required_argument, NULL, ARG_ALLOWED_ORIGIN },
        {},
};

static int attr_strv(sd_bus_message *m, const char *key, char **l) {
        int r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static void print_app(json_t *j) {
        char buf[64];
        json_t *v;
        size_t i;

        cli_print_field("Application", "%s@%s", cli_json_str(j, "name"), cli_json_str(j, "tenant"));
        cli_print_field("Client ID", "%s", cli_json_str(j, "client_id"));
        cli_print_field("Type", "%s%s", cli_json_bool(j, "public") ? "public (PKCE, no secret)" : "confidential",
                        cli_json_bool(j, "first_party") ? ", first party (no consent screen)" : "");
        if (cli_json_bool(j, "pkce_optional"))
                cli_print_field("PKCE", "optional (an old client's opt-out)");
        json_array_foreach(json_object_get(j, "redirect_uris"), i, v)
                cli_print_field(i == 0 ? "Redirect URIs" : "", "%s", json_string_value(v));
        json_array_foreach(json_object_get(j, "post_logout_redirect_uris"), i, v)
                cli_print_field(i == 0 ? "Post-logout URIs" : "", "%s", json_string_value(v));
        {
                char grants[256] = "", scopes[256] = "";
                json_array_foreach(json_object_get(j, "grants"), i, v) {
                        strncat(grants, i ? " " : "", sizeof(grants) - strlen(grants) - 1);
                        strncat(grants, json_string_value(v), sizeof(grants) - strlen(grants) - 1);
                }
                json_array_foreach(json_object_get(j, "scopes"), i, v) {
                        strncat(scopes, i ? " " : "", sizeof(scopes) - strlen(scopes) - 1);
                        strncat(scopes, json_string_value(v), sizeof(scopes) - strlen(scopes) - 1);
                }
                cli_print_field("Grants", "%s", grants);
                cli_print_field("Scopes", "%s", scopes);
        }
        json_array_foreach(json_object_get(j, "allowed_origins"), i, v)
                cli_print_field(i == 0 ? "Allowed origins" : "", "%s", json_string_value(v));
        cli_print_field("Token signing", "%s", cli_json_str(j, "signing_algorithm"));
        cli_print_field("Created", "%s", cli_format_time(cli_json_int(j, "created_usec"), buf));
        if (!cli_json_bool(j, "public"))
                cli_print_field("Secret changed", "%s", cli_format_time(cli_json_int(j, "secret_changed_usec"), buf));
}

static int app_create(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(app_options_done) AppOptions o = {};
        _cleanup_free_ char *tenant_path = NULL;
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        const char *path, *secret;
        int first, r;

        first = cli_parse_options(&app_verbs[0], argc, argv, create_options, on_app_option, &o);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&app_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_split_name(argv[first], name, tenant);
        if (r > 0)
                return r;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        if (tenant[0]) {
                r = cli_find_tenant(bus, tenant, &tenant_path);
        } else {
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *t = NULL;
                r = cli_call(bus, "cannot find the default tenant", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "GetTenant",
                             &t, "s", "");
                if (r == 0 && sd_bus_message_read(t, "o", &path) >= 0)
                        tenant_path = strdup(path);
                else if (r == 0)
                        r = EXIT_FAIL;
        }
        if (r > 0)
                return r;

        r = cli_new_call(bus, tenant_path, TESSERA_IFACE_TENANT, "CreateApplication", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r >= 0 && o.redirect_uris)
                r = attr_strv(m, "RedirectUris", o.redirect_uris);
        if (r >= 0 && o.post_logout_uris)
                r = attr_strv(m, "PostLogoutRedirectUris", o.post_logout_uris);
        if (r >= 0 && o.grants)
                r = attr_strv(m, "Grants", o.grants);
        if (r >= 0 && o.scopes)
                r = attr_strv(m, "Scopes", o.scopes);
        if (r >= 0 && o.origins)
                r = attr_strv(m, "AllowedOrigins", o.origins);
        if (r >= 0 && o.public_client)
                r = cli_attr_bool(m, "Public", true);
        if (r >= 0 && o.first_party)
                r = cli_attr_bool(m, "FirstParty", true);
        if (r >= 0 && o.pkce_optional)
                r = cli_attr_bool(m, "PkceOptional", true);
        if (r >= 0 && o.signing_alg)
                r = cli_attr_string(m, "SigningAlgorithm", o.signing_alg);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, "cannot create the application", m, &reply);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "os", &path, &secret);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);

        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = NULL;
                r = cli_get_properties(bus, path, TESSERA_IFACE_APPLICATION, &j);
                if (r > 0)
                        return r;
                json_object_set_new(j, "client_secret", secret[0] ? json_string(secret) : json_null());
                return cli_print_json(j);
        }
        {
                _cleanup_(json_decrefp) json_t *j = NULL;
                r = cli_get_properties(bus, path, TESSERA_IFACE_APPLICATION, &j);
                if (r > 0)
                        return r;
                printf("Created application %s@%s.\n", cli_json_str(j, "name"), cli_json_str(j, "tenant"));
                cli_print_field("Client ID", "%s", cli_json_str(j, "client_id"));
                if (secret[0]) {
                        cli_print_field("Client secret", "%s", secret);
                        printf("The secret is shown this once; store it now. "
                               "'tesseractl app rotate-secret' makes a new one.\n");
                }
        }
        return EXIT_OK;
}

static int app_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **paths = NULL;
        _cleanup_(json_decrefp) json_t *list = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_free_ char *tenant_path = NULL;
        size_t i;
        json_t *o;
        int first, r;

        first = cli_parse_options(&app_verbs[1], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&app_verbs[1], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        if (!arg_tenant)
                return cli_usage_error("app list needs --tenant TENANT.");
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(bus, arg_tenant, &tenant_path);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot list the applications", tenant_path, TESSERA_IFACE_TENANT, "ListApplications", &reply,
                     NULL);
        if (r > 0)
                return r;
        r = cli_read_paths(reply, &paths);
        if (r > 0)
                return r;
        r = cli_get_properties_array(bus, paths, TESSERA_IFACE_APPLICATION, &list);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(list);

        t = cli_table_new(4, "APPLICATION", "CLIENT ID", "TYPE", "GRANTS");
        json_array_foreach(list, i, o) {
                char grants[256] = "";
                json_t *g;
                size_t k;

                json_array_foreach(json_object_get(o, "grants"), k, g) {
                        strncat(grants, k ? "," : "", sizeof(grants) - strlen(grants) - 1);
                        strncat(grants, json_string_value(g), sizeof(grants) - strlen(grants) - 1);
                }
                cli_table_add(t, cli_json_str(o, "name"), cli_json_str(o, "client_id"),
                              cli_json_bool(o, "public") ? "public" : "confidential", grants);
        }
        cli_table_print(t);
        return EXIT_OK;
}

static int find_app_verb(const Verb *v, int argc, char *argv[], sd_bus **ret_bus, char **ret_path, int *ret_first) {
        int first, r;

        first = cli_parse_options(v, argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(ret_bus);
        if (r > 0)
                return r;
        *ret_first = first;
        return cli_find_application(*ret_bus, argv[first], ret_path);
}

static int app_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(json_decrefp) json_t *j = NULL;
        _cleanup_free_ char *path = NULL;
        int first, r;

        r = find_app_verb(&app_verbs[2], argc, argv, &bus, &path, &first);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_get_properties(bus, path, TESSERA_IFACE_APPLICATION, &j);
        if (r > 0)
                return r;
        if (arg_json)
                return cli_print_json(j);
        print_app(j);
        return EXIT_OK;
}

static int app_delete(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        int first, r;

        r = find_app_verb(&app_verbs[3], argc, argv, &bus, &path, &first);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot delete the application", path, TESSERA_IFACE_APPLICATION, "Delete", NULL, NULL);
        if (r > 0)
                return r;
        if (!arg_json)
                printf("Deleted application %s.\n", argv[first]);
        return EXIT_OK;
}

static int app_rotate_secret(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const char *secret;
        int first, r;

        r = find_app_verb(&app_verbs[4], argc, argv, &bus, &path, &first);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        r = cli_call(bus, "cannot rotate the secret", path, TESSERA_IFACE_APPLICATION, "RotateSecret", &reply, NULL);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "s", &secret);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "client_secret", secret);
                return cli_print_json(j);
        }
        cli_print_field("Client secret", "%s", secret);
        printf("The old secret no longer works. The new one is shown this once; store it now.\n");
        return EXIT_OK;
}

const Verb app_verbs[] = {
        { "app", "create", "NAME[@TENANT] --redirect-uri URI... [OPTIONS]",
          "Register an application (an OAuth client) and print its client id and secret.", app_create,
          "      --redirect-uri=URI   Where the authorization code may go (exact match; repeat for more)\n"
          "      --post-logout-redirect-uri=URI  Where sign-out may return to (repeat for more)\n"
          "      --public             A public client (SPA, native app): PKCE, no secret\n"
          "      --first-party        Our own application: no consent screen\n"
          "      --pkce-optional      A confidential client that can't send PKCE (an old one): not required\n"
          "      --grant=GRANT        authorization_code, refresh_token, client_credentials (repeat;\n"
          "                           default: authorization_code and refresh_token)\n"
          "      --scope=SCOPE        openid, profile, email, offline_access (the default: these four),\n"
          "                           or tessera:AREA:read|write for the JSON API (repeat)\n"
          "      --signing-alg=ALG    RS256 (default) or ES256 for its ID and access tokens\n"
          "      --allowed-origin=ORIGIN  A browser origin of its pages (https://app.example): CORS, and\n"
          "                           where its publishable keys are taken (repeat)" },
        { "app", "list", "--tenant TENANT", "List the applications of a tenant.", app_list, NULL },
        { "app", "show", "NAME[@TENANT]", "Show an application.", app_show, NULL },
        { "app", "delete", "NAME[@TENANT]", "Delete an application and every token it holds.", app_delete, NULL },
        { "app", "rotate-secret", "NAME[@TENANT]", "Replace a confidential client's secret and print the new one.",
          app_rotate_secret, NULL },
        {},
};
