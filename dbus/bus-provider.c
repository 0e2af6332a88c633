/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A tenant's upstream identity providers on the bus: the Tenant methods
 * AddProvider, ListProviders, GetProvider, SetProvider and DeleteProvider,
 * and a user's linked identities, ListUserLinks and RemoveUserLink, over
 * the same core operations as the JSON API (upstream-provider.h,
 * upstream-link.h). A provider is an a{sv} dictionary; the client secret
 * goes in (AddProvider and SetProvider are marked sensitive) and never
 * comes out: HasClientSecret says whether one is set. */

#include "bus-provider.h"

#include <stdarg.h>
#include <stdlib.h>

#include "bus-util.h"
#include "names.h"
#include "upstream-link.h"
#include "upstream-provider.h"

/* The attributes a provider is set with, in the order of the table below. */
typedef struct ProviderAttributes {
        const char *display_name, *icon_url, *client_id, *client_secret, *signup, *role, *issuer;
        const char *authorization_endpoint, *token_endpoint, *userinfo_endpoint, *jwks_uri, *api_url, *allowed_tid;
        char **scopes, **allowed_domains;
        int link_by_email, enabled;
} ProviderAttributes;

static void provider_attributes_done(ProviderAttributes *a) {
        strv_free(a->scopes);
        strv_free(a->allowed_domains);
}

enum {
        SEEN_SCOPES = 1 << 13,
        SEEN_ALLOWED_DOMAINS = 1 << 14,
        SEEN_LINK_BY_EMAIL = 1 << 15,
        SEEN_ENABLED = 1 << 16,
};

/* An empty array given: the list is cleared (sd-bus reads it as NULL,
 * which the core takes for "leave as is"). */
static char *empty_list[] = { NULL };

static int read_provider_attributes(sd_bus_message *msg, ProviderAttributes *a, UpstreamProviderSpec *spec,
                                    TesseraError *e) {
        const BusAttribute table[] = {
                { "DisplayName", 's', &a->display_name },
                { "IconUrl", 's', &a->icon_url },
                { "ClientId", 's', &a->client_id },
                { "ClientSecret", 's', &a->client_secret },
                { "Signup", 's', &a->signup },
                { "Role", 's', &a->role },
                { "Issuer", 's', &a->issuer },
                { "AuthorizationEndpoint", 's', &a->authorization_endpoint },
                { "TokenEndpoint", 's', &a->token_endpoint },
                { "UserinfoEndpoint", 's', &a->userinfo_endpoint },
                { "JwksUri", 's', &a->jwks_uri },
                { "ApiUrl", 's', &a->api_url },
                { "AllowedTid", 's', &a->allowed_tid },
                { "Scopes", 'a', &a->scopes },                     /* bit 13 */
                { "AllowedDomains", 'a', &a->allowed_domains },    /* bit 14 */
                { "LinkByEmail", 'b', &a->link_by_email },   /* bit 15 */
                { "Enabled", 'b', &a->enabled },             /* bit 16 */
        };
        uint64_t seen = 0;
        int r, signup, role;

        r = bus_read_attributes_seen(msg, table, ELEMENTSOF(table), &seen, e);
        if (r < 0)
                return r;
        /* An unknown mode or role goes to the core as one, to be refused
         * (and audited) there with the field named. */
        signup = a->signup ? upstream_signup_mode_from_string(a->signup) : -1;
        role = a->role ? user_role_from_string(a->role) : -1;
        *spec = (UpstreamProviderSpec) {
                .display_name = a->display_name,
                .icon_url = a->icon_url,
                .client_id = a->client_id,
                .client_secret = a->client_secret,
                .scopes = a->scopes ?: (seen & SEEN_SCOPES ? empty_list : NULL),
                .allowed_domains = a->allowed_domains ?: (seen & SEEN_ALLOWED_DOMAINS ? empty_list : NULL),
                .signup = a->signup && signup < 0 ? _UPSTREAM_SIGNUP_MAX : signup,
                .role = a->role && role < 0 ? _USER_ROLE_MAX : role,
                .link_by_email = seen & SEEN_LINK_BY_EMAIL ? a->link_by_email : -1,
                .enabled = seen & SEEN_ENABLED ? a->enabled : -1,
                .issuer = a->issuer,
                .authorization_endpoint = a->authorization_endpoint,
                .token_endpoint = a->token_endpoint,
                .userinfo_endpoint = a->userinfo_endpoint,
                .jwks_uri = a->jwks_uri,
                .api_url = a->api_url,
                .allowed_tid = a->allowed_tid,
        };
        return 0;
}

static int append_entry(sd_bus_message *reply, const char *key, const char *type, ...) {
        va_list ap;
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', type);
        if (r >= 0) {
                va_start(ap, type);
                r = sd_bus_message_appendv(reply, type, ap);
                va_end(ap);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int append_strv_entry(sd_bus_message *reply, const char *key, char **l) {
        int r;

        r = sd_bus_message_open_container(reply, 'e', "sv");
        if (r >= 0)
                r = sd_bus_message_append(reply, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'v', "as");
        if (r >= 0)
                r = sd_bus_message_append_strv(reply, l ?: (char *[]) { NULL });
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* Optional texts are left out when unset. */
static int append_optional(sd_bus_message *reply, const char *key, const char *value) {
        return value ? append_entry(reply, key, "s", value) : 0;
}

/* The tenant's one callback URL, as the provider's console must have it,
 * when tesserad serves HTTP. */
static int append_callback_url(sd_bus_message *reply, const Manager *m, const TenantRecord *t) {
        _cleanup_free_ char *url = NULL;

        if (!m->public_url)
                return 0;
        if (asprintf(&url, "%s/t/%s/upstream/callback", m->public_url, t->slug) < 0)
                return -ENOMEM;
        return append_entry(reply, "CallbackUrl", "s", url);
}

static int append_provider(sd_bus_message *reply, const Manager *m, const TenantRecord *t,
                           const UpstreamProvider *p) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r >= 0)
                r = append_entry(reply, "Name", "s", p->name);
        if (r >= 0)
                r = append_entry(reply, "Kind", "s", p->kind);
        if (r >= 0)
                r = append_entry(reply, "DisplayName", "s", p->display_name);
        if (r >= 0)
                r = append_optional(reply, "IconUrl", p->icon_url);
        if (r >= 0)
                r = append_entry(reply, "ClientId", "s", p->client_id);
        if (r >= 0)
                r = append_entry(reply, "HasClientSecret", "b", (int) !!p->client_secret);
        if (r >= 0)
                r = append_strv_entry(reply, "Scopes", p->scopes);
        if (r >= 0)
                r = append_strv_entry(reply, "AllowedDomains", p->allowed_domains);
        if (r >= 0)
                r = append_entry(reply, "Signup", "s", upstream_signup_mode_to_string(p->signup));
        if (r >= 0)
                r = append_entry(reply, "Role", "s", user_role_to_string(p->role));
        if (r >= 0)
                r = append_entry(reply, "LinkByEmail", "b", (int) p->link_by_email);
        if (r >= 0)
                r = append_entry(reply, "Enabled", "b", (int) p->enabled);
        if (r >= 0)
                r = append_optional(reply, "Issuer", p->issuer);
        if (r >= 0)
                r = append_optional(reply, "AuthorizationEndpoint", p->authorization_endpoint);
        if (r >= 0)
                r = append_optional(reply, "TokenEndpoint", p->token_endpoint);
        if (r >= 0)
                r = append_optional(reply, "UserinfoEndpoint", p->userinfo_endpoint);
        if (r >= 0)
                r = append_optional(reply, "JwksUri", p->jwks_uri);
        if (r >= 0)
                r = append_optional(reply, "ApiUrl", p->api_url);
        if (r >= 0)
                r = append_optional(reply, "AllowedTid", p->allowed_tid);
        if (r >= 0)
                r = append_callback_url(reply, m, t);
        if (r >= 0)
                r = append_entry(reply, "CreatedTime", "t", p->created_usec);
        if (r >= 0)
                r = append_entry(reply, "ChangedTime", "t", p->changed_usec);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

static int reply_provider(sd_bus_message *msg, const Manager *m, const TenantRecord *t,
                          const UpstreamProvider *p) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = append_provider(reply, m, t, p);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* Attributes that can't be read are refused before the core is asked:
 * after the policy, so that a caller who may not is told that, and
 * audited as the operation would have been. */
static int refuse_attributes(Manager *m, const Principal *a, const TenantRecord *t, PolicyAction action,
                             const char *name, TesseraError *e, sd_bus_error *error) {
        _cleanup_free_ char *target = NULL;
        TesseraError denied = {};

        if (asprintf(&target, "%s@%s", strempty(name), t->slug) < 0)
                return -ENOMEM;
        if (change_authorize(m->store, a, action, policy_target_tenant(t->id), t->slug, target, &denied) < 0)
                return bus_reply_tessera_error(error, &denied);
        change_audit_failure(m->store, a, policy_action_to_string(action), t->slug, target, e);
        return bus_reply_tessera_error(error, e);
}

int bus_tenant_method_add_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(provider_attributes_done) ProviderAttributes attrs = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        UpstreamProviderSpec spec;
        const char *name, *kind;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "ss", &name, &kind);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = read_provider_attributes(msg, &attrs, &spec, &e);
        if (r < 0)
                return refuse_attributes(m, &a, t, POLICY_PROVIDER_CREATE, name, &e, error);
        spec.name = name;
        spec.kind = kind;
        r = upstream_provider_create(m, m->store, &a, t, &spec, &p, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return reply_provider(msg, m, t, p);
}

int bus_tenant_method_set_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(provider_attributes_done) ProviderAttributes attrs = {};
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        UpstreamProviderSpec spec;
        const char *name;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = read_provider_attributes(msg, &attrs, &spec, &e);
        if (r < 0)
                return refuse_attributes(m, &a, t, POLICY_PROVIDER_UPDATE, name, &e, error);
        r = upstream_provider_update(m, m->store, &a, t, name, &spec, &p, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return reply_provider(msg, m, t, p);
}

int bus_tenant_method_list_providers(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        UpstreamProvider **list = NULL;
        TesseraError e = {};
        size_t n = 0;
        BusCaller c;
        Principal a;
        int r;

        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = upstream_provider_list(m, m->store, &a, t, &list, &n, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "a{sv}");
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = append_provider(reply, m, t, list[i]);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        upstream_provider_array_free(list, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_tenant_method_get_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        const char *name;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = upstream_provider_read(m, m->store, &a, t, name, &p, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return reply_provider(msg, m, t, p);
}

int bus_tenant_method_delete_provider(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        const char *name;
        TesseraError e = {};
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = upstream_provider_delete(m, m->store, &a, t, name, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}

/* The user of t named name, for the links' methods. */
static int find_user(Manager *m, const TenantRecord *t, const char *name, UserRecord **ret, TesseraError *e) {
        int r;

        r = valid_user_name(name) ? store_user_get(m->store, t->id, name, ret) : -ENOENT;
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' has no user '%.64s'.", t->slug, name);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%.64s'.", name);
        return 0;
}

int bus_tenant_method_list_user_links(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        UpstreamLink *list = NULL;
        const char *name;
        TesseraError e = {};
        size_t n = 0;
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = find_user(m, t, name, &u, &e);
        if (r >= 0)
                r = upstream_link_list(m, m->store, &a, t, u->id, &list, &n, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssstt)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *b1 = NULL, *b2 = NULL, *b3 = NULL;
                char id[32];

                upstream_link_id_format(list[i].id, id);
                r = sd_bus_message_append(reply, "(ssssstt)", id, list[i].provider_name,
                                          bus_text(list[i].subject, &b1), bus_text(list[i].email, &b2),
                                          bus_text(list[i].username, &b3), (uint64_t) list[i].created_usec,
                                          (uint64_t) list[i].last_used_usec);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        upstream_link_array_free(list, n);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

int bus_tenant_method_remove_user_link(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        BusFace *f = bus_face_from_slot(sd_bus_message_get_bus(msg));
        Manager *m = f->manager;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = tenant_record_ref(userdata);
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *name, *id_text;
        TesseraError e = {};
        int64_t id = 0;
        BusCaller c;
        Principal a;
        int r;

        r = sd_bus_message_read(msg, "ss", &name, &id_text);
        if (r < 0)
                return r;
        r = bus_caller_actor(f, msg, &c, &a);
        if (r < 0)
                return r;
        r = find_user(m, t, name, &u, &e);
        if (r >= 0 && upstream_link_id_parse(id_text, &id) < 0)
                r = tessera_error_set(&e, -ENOENT, "%s@%s has no linked identity '%.64s'.", u->name, t->slug,
                                      id_text);
        if (r >= 0)
                r = upstream_link_remove(m, m->store, &a, t, u->id, id, &e);
        if (r < 0)
                return bus_reply_tessera_error(error, &e);
        return sd_bus_reply_method_return(msg, NULL);
}
