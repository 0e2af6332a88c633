/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl provider: a tenant's upstream identity providers ("Sign in
 * with Google"): add, list, show, set, delete, over the Tenant interface.
 * The client secret is read from a file or standard input, never from
 * the command line (where ps and shell histories would show it), and no
 * answer shows it. And tesseractl user links|unlink: the identities
 * linked to a user. */

#include <ctype.h>
#include <stdlib.h>

#include "cli.h"

#define SECRET_FILE_MAX 4096

enum {
        ARG_KIND = 0x100,
        ARG_CLIENT_ID,
        ARG_CLIENT_SECRET_FILE,
        ARG_DISPLAY_NAME,
        ARG_ICON_URL,
        ARG_SCOPE,
        ARG_ALLOWED_DOMAIN,
        ARG_SIGNUP,
        ARG_ROLE,
        ARG_LINK_BY_EMAIL,
        ARG_ENABLED,
        ARG_ISSUER,
        ARG_AUTHORIZATION_ENDPOINT,
        ARG_TOKEN_ENDPOINT,
        ARG_USERINFO_ENDPOINT,
        ARG_JWKS_URI,
        ARG_API_URL,
        ARG_ALLOWED_TID,
};

/* The options that are one text each, with their attribute names. */
static const struct {
        int id;
        const char *option, *attribute;
} text_options[] = {
        { ARG_DISPLAY_NAME, "display-name", "DisplayName" },
        { ARG_ICON_URL, "icon-url", "IconUrl" },
        { ARG_CLIENT_ID, "client-id", "ClientId" },
        { ARG_SIGNUP, "signup", "Signup" },
        { ARG_ROLE, "role", "Role" },
        { ARG_ISSUER, "issuer", "Issuer" },
        { ARG_AUTHORIZATION_ENDPOINT, "authorization-endpoint", "AuthorizationEndpoint" },
        { ARG_TOKEN_ENDPOINT, "token-endpoint", "TokenEndpoint" },
        { ARG_USERINFO_ENDPOINT, "userinfo-endpoint", "UserinfoEndpoint" },
        { ARG_JWKS_URI, "jwks-uri", "JwksUri" },
        { ARG_API_URL, "api-url", "ApiUrl" },
        { ARG_ALLOWED_TID, "allowed-tid", "AllowedTid" },
};

typedef struct ProviderOptions {
        const char *kind, *secret_file;
        const char *texts[ELEMENTSOF(text_options)];
        /* Repeated options, borrowed from argv; an empty value clears the
         * list (scopes: back to the preset's). */
        char **scopes, **domains;
        size_t n_scopes, n_domains;
        bool scopes_given, domains_given;
        int link_by_email, enabled;
} ProviderOptions;

static void provider_options_done(ProviderOptions *o) {
        free(o->scopes);
        free(o->domains);
}

static int append_word(char ***l, size_t *n, const char *w) {
        char **nl;

        if (!*w)
                return 0;
        nl = realloc(*l, (*n + 2) * sizeof(char *));
        if (!nl)
                return -ENOMEM;
        *l = nl;
        nl[(*n)++] = (char *) w;
        nl[*n] = NULL;
        return 0;
}

static int on_option(int c, const char *arg, void *userdata) {
        ProviderOptions *o = userdata;
        int b;

        for (size_t i = 0; i < ELEMENTSOF(text_options); i++)
                if (c == text_options[i].id) {
                        o->texts[i] = arg;
                        return 0;
                }
        switch (c) {
        case ARG_KIND:
                o->kind = arg;
                return 0;
        case ARG_CLIENT_SECRET_FILE:
                o->secret_file = arg;
                return 0;
        case ARG_SCOPE:
                o->scopes_given = true;
                return append_word(&o->scopes, &o->n_scopes, arg);
        case ARG_ALLOWED_DOMAIN:
                o->domains_given = true;
                return append_word(&o->domains, &o->n_domains, arg);
        case ARG_LINK_BY_EMAIL:
        case ARG_ENABLED:
                b = cli_parse_bool(arg);
                if (b < 0) {
                        cli_usage_error("--%s takes yes or no.", c == ARG_ENABLED ? "enabled" : "link-by-email");
                        return -EINVAL;
                }
                *(c == ARG_ENABLED ? &o->enabled : &o->link_by_email) = b;
                return 0;
        }
        return -EINVAL;
}

static const struct option set_options[] = {
        { "client-id", required_argument, NULL, ARG_CLIENT_ID },
        { "client-secret-file", required_argument, NULL, ARG_CLIENT_SECRET_FILE },
        { "display-name", required_argument, NULL, ARG_DISPLAY_NAME },
        { "icon-url", required_argument, NULL, ARG_ICON_URL },
        { "scope", required_argument, NULL, ARG_SCOPE },
        { "allowed-domain", required_argument, NULL, ARG_ALLOWED_DOMAIN },
        { "signup", required_argument, NULL, ARG_SIGNUP },
        { "role", required_argument, NULL, ARG_ROLE },
        { "link-by-email", required_argument, NULL, ARG_LINK_BY_EMAIL },
        { "enabled", required_argument, NULL, ARG_ENABLED },
        { "issuer", required_argument, NULL, ARG_ISSUER },
        { "authorization-endpoint", required_argument, NULL, ARG_AUTHORIZATION_ENDPOINT },
        { "token-endpoint", required_argument, NULL, ARG_TOKEN_ENDPOINT },
        { "userinfo-endpoint", required_argument, NULL, ARG_USERINFO_ENDPOINT },
        { "jwks-uri", required_argument, NULL, ARG_JWKS_URI },
        { "api-url", required_argument, NULL, ARG_API_URL },
        { "allowed-tid", required_argument, NULL, ARG_ALLOWED_TID },
        { "kind", required_argument, NULL, ARG_KIND },
        {},
};

/* The secret: the first line of FILE, or of standard input for "-". An
 * empty one clears it (on set). */
static int read_secret(const char *path, char **ret) {
        _cleanup_(erase_and_freep) char *buf = NULL;
        FILE *f;
        size_t n;

        f = streq(path, "-") ? stdin : fopen(path, "re");
        if (!f)
                return cli_usage_error("cannot open the client secret file '%s': %m", path);
        buf = calloc(1, SECRET_FILE_MAX + 1);
        if (!buf) {
                if (f != stdin)
                        fclose(f);
                return EXIT_FAIL;
        }
        n = fread(buf, 1, SECRET_FILE_MAX + 1, f);
        if (f != stdin)
                fclose(f);
        if (n > SECRET_FILE_MAX)
                return cli_usage_error("the client secret in '%s' is longer than %d bytes.", path, SECRET_FILE_MAX);
        buf[strcspn(buf, "\r\n")] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

static int attr_strv(sd_bus_message *m, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(m, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(m, l ?: (char *[]) { NULL });
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int append_attributes(sd_bus_message *m, const ProviderOptions *o, const char *secret) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(text_options); i++)
                if (o->texts[i])
                        r = cli_attr_string(m, text_options[i].attribute, o->texts[i]);
        if (r >= 0 && secret)
                r = cli_attr_string(m, "ClientSecret", secret);
        if (r >= 0 && o->scopes_given)
                r = attr_strv(m, "Scopes", o->scopes);
        if (r >= 0 && o->domains_given)
                r = attr_strv(m, "AllowedDomains", o->domains);
        if (r >= 0 && o->link_by_email >= 0)
                r = cli_attr_bool(m, "LinkByEmail", o->link_by_email);
        if (r >= 0 && o->enabled >= 0)
                r = cli_attr_bool(m, "Enabled", o->enabled);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* NAME or NAME@TENANT (with --tenant otherwise) into the name and the
 * tenant's object. */
static int find_provider_tenant(sd_bus *bus, const char *arg, char name[static 64], char **ret_path) {
        const char *at = strrchr(arg, '@');
        char tenant[TENANT_SLUG_MAX_LEN + 1];

        if (at) {
                if ((size_t) (at - arg) >= 64 || strlen(at + 1) > TENANT_SLUG_MAX_LEN)
                        return cli_usage_error("'%s' is not a valid NAME@TENANT.", arg);
                snprintf(name, 64, "%.*s", (int) (at - arg), arg);
                snprintf(tenant, sizeof(tenant), "%s", at + 1);
        } else {
                if (strlen(arg) >= 64)
                        return cli_usage_error("'%s' is too long for a provider name.", arg);
                if (!arg_tenant)
                        return cli_usage_error("name the tenant: NAME@TENANT or --tenant TENANT.");
                snprintf(name, 64, "%s", arg);
                snprintf(tenant, sizeof(tenant), "%s", arg_tenant);
        }
        return cli_find_tenant(bus, tenant, ret_path);
}

/* "ClientId" -> "client_id"; "CreatedTime" -> "created_usec". */
static void json_key(const char *in, char *out, size_t size) {
        size_t o = 0, n = strlen(in);
        bool time = n > 4 && streq(in + n - 4, "Time");

        if (time)
                n -= 4;
        for (size_t i = 0; i < n && o + 2 < size; i++) {
                if (isupper((unsigned char) in[i])) {
                        if (i > 0)
                                out[o++] = '_';
                        out[o++] = (char) tolower((unsigned char) in[i]);
                } else
                        out[o++] = in[i];
        }
        out[o] = '\0';
        if (time)
                strncat(out, "_usec", size - o - 1);
}

/* One provider's a{sv} into a JSON object. */
static int read_provider(sd_bus_message *reply, json_t **ret) {
        _cleanup_(json_decrefp) json_t *j = json_object();
        int r;

        if (!j)
                return -ENOMEM;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *key, *type, *s;
                char k[64];
                json_t *v = NULL;
                uint64_t t;
                int b;

                r = sd_bus_message_read(reply, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(reply, NULL, &type);
                if (r < 0)
                        return r;
                json_key(key, k, sizeof(k));
                if (streq(type, "s")) {
                        r = sd_bus_message_read(reply, "v", "s", &s);
                        v = json_string(s);
                } else if (streq(type, "b")) {
                        r = sd_bus_message_read(reply, "v", "b", &b);
                        v = json_boolean(b);
                } else if (streq(type, "t")) {
                        r = sd_bus_message_read(reply, "v", "t", &t);
                        v = json_integer((json_int_t) t);
                } else if (streq(type, "as")) {
                        _cleanup_(strv_freep) char **l = NULL;

                        r = sd_bus_message_enter_container(reply, 'v', "as");
                        if (r >= 0)
                                r = sd_bus_message_read_strv(reply, &l);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(reply);
                        v = json_array();
                        STRV_FOREACH(w, l)
                                json_array_append_new(v, json_string(*w));
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0) {
                        json_decref(v);
                        return r;
                }
                if (v)
                        json_object_set_new(j, k, v);
                r = sd_bus_message_exit_container(reply);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(reply);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(j);
        return 0;
}

static void print_list_field(const char *key, json_t *a, const char *none) {
        char buf[1024] = "";
        size_t i;
        json_t *v;

        json_array_foreach(a, i, v) {
                strncat(buf, i ? " " : "", sizeof(buf) - strlen(buf) - 1);
                strncat(buf, json_string_value(v) ?: "", sizeof(buf) - strlen(buf) - 1);
        }
        cli_print_field(key, "%s", buf[0] ? buf : none);
}

static int print_provider(json_t *j) {
        static const struct {
                const char *key, *label;
        } optional[] = {
                { "icon_url", "Icon" },
                { "issuer", "Issuer" },
                { "authorization_endpoint", "Authorization endpoint" },
                { "token_endpoint", "Token endpoint" },
                { "userinfo_endpoint", "Userinfo endpoint" },
                { "jwks_uri", "JWKS URI" },
                { "api_url", "API URL" },
                { "allowed_tid", "Allowed Entra tenants" },
        };
        char when[64];

        if (arg_json)
                return cli_print_json(j);
        cli_print_field("Provider", "%s", cli_json_str(j, "name"));
        cli_print_field("Kind", "%s", cli_json_str(j, "kind"));
        cli_print_field("Display name", "%s", cli_json_str(j, "display_name"));
        cli_print_field("Client ID", "%s", cli_json_str(j, "client_id"));
        cli_print_field("Client secret", "%s", cli_json_bool(j, "has_client_secret") ? "set" : "none");
        print_list_field("Scopes", json_object_get(j, "scopes"), "(the kind's)");
        print_list_field("Allowed domains", json_object_get(j, "allowed_domains"), "(any)");
        cli_print_field("Sign-up", "%s", cli_json_str(j, "signup"));
        cli_print_field("Role", "%s", cli_json_str(j, "role"));
        cli_print_field("Link by e-mail", "%s", cli_json_bool(j, "link_by_email") ? "yes" : "no");
        cli_print_field("Enabled", "%s", cli_json_bool(j, "enabled") ? "yes" : "no");
        for (size_t i = 0; i < ELEMENTSOF(optional); i++)
                if (json_object_get(j, optional[i].key))
                        cli_print_field(optional[i].label, "%s", cli_json_str(j, optional[i].key));
        if (json_object_get(j, "callback_url"))
                cli_print_field("Callback URL", "%s", cli_json_str(j, "callback_url"));
        cli_print_field("Created", "%s", cli_format_time(cli_json_int(j, "created_usec"), when));
        cli_print_field("Changed", "%s", cli_format_time(cli_json_int(j, "changed_usec"), when));
        return EXIT_OK;
}

static int reply_print_provider(sd_bus_message *reply) {
        _cleanup_(json_decrefp) json_t *j = NULL;
        int r;

        r = read_provider(reply, &j);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        return print_provider(j);
}

/* add and set: the same options, the kind on add only. */
static int add_or_set(const Verb *v, bool add, int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(provider_options_done) ProviderOptions o = { .link_by_email = -1, .enabled = -1 };
        _cleanup_(erase_and_freep) char *secret = NULL;
        _cleanup_free_ char *path = NULL;
        char name[64];
        int first, r;

        first = cli_parse_options(v, argc, argv, set_options, on_option, &o);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        if (add && !o.kind)
                return cli_usage_error("provider add needs --kind: oidc, google, microsoft, gitlab, slack or github.");
        if (!add && o.kind)
                return cli_usage_error("a provider's kind can't be changed; delete it and add a new one.");
        if (o.secret_file) {
                r = read_secret(o.secret_file, &secret);
                if (r > 0)
                        return r;
        }
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = find_provider_tenant(bus, argv[first], name, &path);
        if (r > 0)
                return r;
        r = cli_new_call(bus, path, TESSERA_IFACE_TENANT, add ? "AddProvider" : "SetProvider", &m);
        if (r >= 0)
                r = add ? sd_bus_message_append(m, "ss", name, o.kind) : sd_bus_message_append(m, "s", name);
        if (r >= 0)
                r = append_attributes(m, &o, secret);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        r = cli_call_message(bus, add ? "cannot add the provider" : "cannot change the provider", m, &reply);
        if (r > 0)
                return r;
        return reply_print_provider(reply);
}

static int provider_add(int argc, char *argv[]) {
        return add_or_set(&provider_verbs[0], true, argc, argv);
}

static int provider_set(int argc, char *argv[]) {
        return add_or_set(&provider_verbs[3], false, argc, argv);
}

static int provider_list(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_free_ char *path = NULL;
        int first, r;

        first = cli_parse_options(&provider_verbs[1], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&provider_verbs[1], argc, first, 0, 0) < 0)
                return EXIT_USAGE;
        if (!arg_tenant)
                return cli_usage_error("provider list needs --tenant TENANT.");
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_tenant(bus, arg_tenant, &path);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot list the providers", path, TESSERA_IFACE_TENANT, "ListProviders", &reply, NULL);
        if (r > 0)
                return r;
        t = cli_table_new(7, "NAME", "KIND", "DISPLAY NAME", "CLIENT ID", "SECRET", "SIGN-UP", "ENABLED");
        r = sd_bus_message_enter_container(reply, 'a', "a{sv}");
        while (r > 0) {
                json_t *j = NULL;

                r = sd_bus_message_at_end(reply, false);
                if (r != 0) {
                        r = r < 0 ? r : 0;
                        break;
                }
                r = read_provider(reply, &j);
                if (r < 0)
                        break;
                r = 1;
                cli_table_add(t, cli_json_str(j, "name"), cli_json_str(j, "kind"), cli_json_str(j, "display_name"),
                              cli_json_str(j, "client_id"), cli_json_bool(j, "has_client_secret") ? "set" : "-",
                              cli_json_str(j, "signup"), cli_json_bool(j, "enabled") ? "yes" : "no");
                json_array_append_new(list, j);
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

/* show and delete: one provider by name. */
static int one_provider(const Verb *v, const char *method, const char *what, int argc, char *argv[],
                        sd_bus **bus, sd_bus_message **reply, char name[static 64]) {
        _cleanup_free_ char *path = NULL;
        int first, r;

        first = cli_parse_options(v, argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? -1 : EXIT_USAGE;
        if (cli_expect_args(v, argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(bus);
        if (r > 0)
                return r;
        r = find_provider_tenant(*bus, argv[first], name, &path);
        if (r > 0)
                return r;
        return cli_call(*bus, what, path, TESSERA_IFACE_TENANT, method, reply, "s", name);
}

static int provider_show(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char name[64];
        int r;

        r = one_provider(&provider_verbs[2], "GetProvider", "cannot show the provider", argc, argv, &bus, &reply,
                         name);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        return reply_print_provider(reply);
}

static int provider_delete(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char name[64];
        int r;

        r = one_provider(&provider_verbs[4], "DeleteProvider", "cannot delete the provider", argc, argv, &bus, NULL,
                         name);
        if (r != 0)
                return r < 0 ? EXIT_OK : r;
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "deleted", name);
                return cli_print_json(j);
        }
        printf("Deleted provider %s; the identities linked through it went with it.\n", name);
        return EXIT_OK;
}

#define SET_OPTIONS_HELP                                                                                       \
        "      --client-id=ID             The client (application) id the provider's console gave\n"         \
        "      --client-secret-file=FILE  Read the client secret from FILE's first line ('-': standard\n"    \
        "                                 input); never on the command line. An empty one clears it\n"       \
        "      --display-name=TEXT        The sign-in button's text (default: the kind's, \"Google\")\n"      \
        "      --icon-url=URL             The button's icon: https:// URL or data:image/ URI\n"              \
        "      --scope=SCOPE              Ask for SCOPE (repeat; default: the kind's; '' resets)\n"          \
        "      --allowed-domain=DOMAIN    Accept only addresses @DOMAIN (repeat; '' allows any)\n"           \
        "      --signup=MODE              Unknown users: jit (an account on first sign-in), existing\n"      \
        "                                 (default: only linking to accounts), invitation\n"                 \
        "      --role=ROLE                The role of accounts made just in time (default member)\n"         \
        "      --link-by-email=yes|no     Link a verified upstream address to the account holding it\n"      \
        "      --enabled=yes|no           Offer it on the sign-in page (default yes)\n"                      \
        "      --issuer=URL               The OpenID issuer (required for --kind=oidc)\n"                    \
        "      --authorization-endpoint=URL\n"                                                              \
        "      --token-endpoint=URL\n"                                                                      \
        "      --userinfo-endpoint=URL\n"                                                                   \
        "      --jwks-uri=URL\n"                                                                            \
        "      --api-url=URL              (GitHub's REST API) Override the kind's endpoints: https, or\n"   \
        "                                 http to loopback only ('' goes back to the kind's)\n"              \
        "      --allowed-tid=ID,...       Microsoft: accept only these Entra tenant ids"

const Verb provider_verbs[] = {
        { "provider", "add", "NAME[@TENANT] --kind KIND [OPTIONS]",
          "Register an upstream identity provider (Sign in with ...).", provider_add,
          "      --kind=KIND                oidc, google, microsoft, gitlab, slack or github\n" SET_OPTIONS_HELP },
        { "provider", "list", "--tenant TENANT", "List the upstream providers of a tenant.", provider_list, NULL },
        { "provider", "show", "NAME[@TENANT]", "Show an upstream provider (never its secret).", provider_show, NULL },
        { "provider", "set", "NAME[@TENANT] [OPTIONS]", "Change an upstream provider.", provider_set,
          SET_OPTIONS_HELP },
        { "provider", "delete", "NAME[@TENANT]", "Delete an upstream provider and the links made through it.",
          provider_delete, NULL },
        {},
};

/* The tenant's object and the user's name, from USER[@TENANT]. */
static int find_user_in_tenant(sd_bus *bus, const char *arg, char **ret_tenant_path, char **ret_name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *user_path = NULL, *tenant = NULL;
        int r;

        r = cli_find_user(bus, arg, &user_path);
        if (r > 0)
                return r;
        r = sd_bus_get_property_string(bus, TESSERA_BUS_NAME, user_path, TESSERA_IFACE_USER, "Tenant", &error,
                                       &tenant);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, TESSERA_BUS_NAME, user_path, TESSERA_IFACE_USER, "Name", &error,
                                               ret_name);
        if (r < 0)
                return cli_bus_error("cannot read the user", r, &error);
        return cli_find_tenant(bus, tenant, ret_tenant_path);
}

static int user_links(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(cli_table_freep) CliTable *t = NULL;
        _cleanup_(json_decrefp) json_t *list = json_array();
        _cleanup_free_ char *path = NULL, *name = NULL;
        int first, r;

        first = cli_parse_options(&user_link_verbs[0], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&user_link_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = find_user_in_tenant(bus, argv[first], &path, &name);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot list the linked identities", path, TESSERA_IFACE_TENANT, "ListUserLinks", &reply,
                     "s", name);
        if (r > 0)
                return r;
        t = cli_table_new(6, "ID", "PROVIDER", "SUBJECT", "E-MAIL", "USER NAME", "LAST USED");
        r = sd_bus_message_enter_container(reply, 'a', "(ssssstt)");
        while (r > 0) {
                const char *id, *provider, *subject, *email, *username;
                uint64_t created, used;
                char when[64];

                r = sd_bus_message_read(reply, "(ssssstt)", &id, &provider, &subject, &email, &username, &created,
                                        &used);
                if (r <= 0)
                        break;
                json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:I}", "id", id, "provider",
                                                      provider, "subject", subject, "email", email[0] ? email : NULL,
                                                      "username", username[0] ? username : NULL, "created_usec",
                                                      (json_int_t) created, "last_used_usec", (json_int_t) used));
                cli_table_add(t, id, provider, subject, email[0] ? email : "-", username[0] ? username : "-",
                              cli_format_time((long long) used, when));
        }
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json)
                return cli_print_json(list);
        cli_table_print(t);
        return EXIT_OK;
}

static int user_unlink(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL, *name = NULL;
        int first, r;

        first = cli_parse_options(&user_link_verbs[1], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&user_link_verbs[1], argc, first, 2, 2) < 0)
                return EXIT_USAGE;
        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = find_user_in_tenant(bus, argv[first], &path, &name);
        if (r > 0)
                return r;
        r = cli_call(bus, "cannot remove the linked identity", path, TESSERA_IFACE_TENANT, "RemoveUserLink", NULL,
                     "ss", name, argv[first + 1]);
        if (r > 0)
                return r;
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s}", "removed", argv[first + 1]);
                return cli_print_json(j);
        }
        printf("Removed %s from %s.\n", argv[first + 1], argv[first]);
        return EXIT_OK;
}

const Verb user_link_verbs[] = {
        { "user", "links", "NAME[@TENANT]", "List the upstream identities linked to a user.", user_links, NULL },
        { "user", "unlink", "NAME[@TENANT] ID",
          "Remove a linked identity (not the user's last way to sign in).", user_unlink, NULL },
        {},
};
