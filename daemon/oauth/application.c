/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "application.h"

#include <ctype.h>

#include "entitlement.h"
#include "log.h"
#include "names.h"
#include "store-oidc.h"
#include "tenant.h"
#include "time-util.h"
#include "token.h"

/* Every scope we know, in the order a normalized scope lists them: those of
 * OpenID Connect, then those of tessera's own API (DESIGN.md,
 * "tessera:<area>:read|write", as policy.c names them), which an
 * application has only when given them explicitly. */
const char *const oidc_known_scopes[] = {
        "openid", "profile", "email", "offline_access",
        "tessera:tenant:read", "tessera:tenant:write",
        "tessera:users:read", "tessera:users:write",
        "tessera:members:read", "tessera:members:write",
        "tessera:groups:read", "tessera:groups:write",
        "tessera:applications:read", "tessera:applications:write",
        "tessera:keys:read", "tessera:keys:write",
        "tessera:audit:read",
        "tessera:entitlements:read", "tessera:entitlements:write",
        "tessera:usage:read", "tessera:usage:write",
        "tessera:providers:read", "tessera:providers:write",
        NULL,
};
const char *const application_default_scopes[] = { "openid", "profile", "email", "offline_access", NULL };
const char *const oauth_known_grants[] = { "authorization_code", "refresh_token", "client_credentials", NULL };

static bool in_list(const char *const *l, const char *s) {
        for (size_t i = 0; l[i]; i++)
                if (streq(l[i], s))
                        return true;
        return false;
}

char *application_qualified_name(const ApplicationRecord *app) {
        char *s;
        return asprintf(&s, "%s@%s", app->name, app->tenant) < 0 ? NULL : s;
}

static bool loopback_host(const char *host, size_t n) {
        return (n == 9 && strneq(host, "localhost", 9)) || (n == 9 && strneq(host, "127.0.0.1", 9)) ||
               (n == 5 && strneq(host, "[::1]", 5));
}

bool application_valid_redirect_uri(const char *uri) {
        const char *colon, *host, *end;
        size_t n;

        if (!uri || strlen(uri) > APPLICATION_URI_MAX_LEN || !utf8_is_valid(uri))
                return false;
        for (const char *p = uri; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == '#' || *p == '"' || *p == '<' || *p == '>' ||
                    *p == '\\')
                        return false;

        colon = strchr(uri, ':');
        if (!colon || colon == uri || !isalpha((unsigned char) uri[0]))
                return false;
        for (const char *p = uri; p < colon; p++)
                if (!isalnum((unsigned char) *p) && *p != '+' && *p != '-' && *p != '.')
                        return false;

        if (strneq(uri, "https://", 8) || strneq(uri, "http://", 7)) {
                host = colon + 3;
                end = host + strcspn(host, "/?");
                /* The host part ends at the port. */
                n = (size_t) (end - host);
                if (host[0] == '[') {
                        const char *b = memchr(host, ']', n);
                        if (!b)
                                return false;
                        n = (size_t) (b - host + 1);
                } else {
                        const char *c = memchr(host, ':', n);
                        if (c)
                                n = (size_t) (c - host);
                }
                if (n == 0 || memchr(host, '@', (size_t) (end - host)))
                        return false;
                /* Plain http only where nobody else can listen. */
                if (uri[4] == ':' && !loopback_host(host, n))
                        return false;
                return true;
        }

        /* Private-use schemes of native apps (RFC 8252 7.1) name a reverse
         * domain: at least one dot. Refuse the dangerous ones outright. */
        n = (size_t) (colon - uri);
        if (!memchr(uri, '.', n))
                return false;
        return colon[1] != '\0';
}

bool application_valid_origin(const char *origin) {
        const char *host, *end;
        size_t n;

        if (!origin || strlen(origin) > 256 || !utf8_is_valid(origin))
                return false;
        if (strneq(origin, "https://", 8))
                host = origin + 8;
        else if (strneq(origin, "http://", 7))
                host = origin + 7;
        else
                return false;
        /* Host and port only: a browser's Origin has no path, no query,
         * no user info, and is never "null" here. */
        for (const char *p = host; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr(".-:[]", *p))
                        return false;
        end = host + strlen(host);
        n = (size_t) (end - host);
        if (host[0] == '[') {
                const char *b = memchr(host, ']', n);
                if (!b || (b[1] != '\0' && b[1] != ':'))
                        return false;
                n = (size_t) (b - host + 1);
        } else {
                const char *c = memchr(host, ':', n);
                if (c)
                        n = (size_t) (c - host);
        }
        if (n == 0 || host[n - 1] == '.')
                return false;
        if (host[n] == ':') {
                const char *port = host + n + 1;
                if (!*port || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port))
                        return false;
        }
        /* Plain http only where nobody else can listen, as for redirects. */
        return origin[4] == 's' || loopback_host(host, n);
}

static int check_list(const char *what, char **l, const char *const *known, size_t max, TesseraError *e) {
        size_t n = strv_length(l);

        if (n > max)
                return tessera_error_set(e, -E2BIG, "At most %zu %s may be given.", max, what);
        for (size_t i = 0; i < n; i++) {
                if (known && !in_list(known, l[i]))
                        return tessera_error_set(e, -EINVAL, "Unknown %s '%.64s'.", what, l[i]);
                for (size_t j = 0; j < i; j++)
                        if (streq(l[i], l[j]))
                                return tessera_error_set(e, -EINVAL, "%.64s is given twice.", l[i]);
        }
        return 0;
}

/* Checks an application as it would be after the change. */
static int validate(const ApplicationRecord *a, TesseraError *e) {
        int r;

        if ((r = check_list("redirect URIs", a->redirect_uris, NULL, APPLICATION_MAX_REDIRECT_URIS, e)) < 0 ||
            (r = check_list("post-logout redirect URIs", a->post_logout_redirect_uris, NULL,
                            APPLICATION_MAX_REDIRECT_URIS, e)) < 0 ||
            (r = check_list("grant", a->grants, oauth_known_grants, 8, e)) < 0 ||
            (r = check_list("scope", a->scopes, oidc_known_scopes, APPLICATION_MAX_SCOPES, e)) < 0 ||
            (r = check_list("allowed origins", a->allowed_origins, NULL, APPLICATION_MAX_ORIGINS, e)) < 0)
                return r;

        STRV_FOREACH(o, a->allowed_origins)
                if (!application_valid_origin(*o))
                        return tessera_error_set(e, -EINVAL,
                                                 "'%.200s' is not a valid origin: give scheme and host (and port), "
                                                 "nothing after, as https://app.example; http only to localhost, "
                                                 "127.0.0.1 or [::1].",
                                                 *o);

        STRV_FOREACH(u, a->redirect_uris)
                if (!application_valid_redirect_uri(*u))
                        return tessera_error_set(e, -EINVAL,
                                                 "'%.200s' is not a valid redirect URI: use https, http only to "
                                                 "localhost, 127.0.0.1 or [::1], or a private-use scheme like "
                                                 "com.example.app:/callback; no fragment.",
                                                 *u);
        STRV_FOREACH(u, a->post_logout_redirect_uris)
                if (!application_valid_redirect_uri(*u))
                        return tessera_error_set(e, -EINVAL, "'%.200s' is not a valid post-logout redirect URI.", *u);

        if (strv_length(a->grants) == 0)
                return tessera_error_set(e, -EINVAL, "An application needs at least one grant.");
        if (application_has_grant(a, "authorization_code") && strv_length(a->redirect_uris) == 0)
                return tessera_error_set(e, -EINVAL,
                                         "The authorization_code grant needs at least one --redirect-uri.");
        if (application_has_grant(a, "refresh_token") && !application_has_grant(a, "authorization_code"))
                return tessera_error_set(e, -EINVAL, "The refresh_token grant goes with authorization_code.");
        if (a->public_client && application_has_grant(a, "client_credentials"))
                return tessera_error_set(e, -EINVAL,
                                         "A public client cannot use client_credentials: it has no secret.");
        if (a->public_client && a->pkce_optional)
                return tessera_error_set(e, -EINVAL, "A public client always uses PKCE: it has no secret.");
        if (a->signing_alg < 0 || a->signing_alg >= _JWT_ALG_MAX)
                return tessera_error_set(e, -EINVAL, "Unknown signing algorithm; use RS256 or ES256.");
        return 0;
}

static int new_secret(Manager *m, ApplicationRecord *a, char **ret_secret) {
        char *secret;
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &secret);
        if (r < 0)
                return r;
        r = secret_key_digest(m->secret_key, "client-secret", secret, strlen(secret), a->secret_digest);
        if (r < 0) {
                erase_and_free(secret);
                return r;
        }
        a->has_secret = true;
        a->secret_changed_usec = now_realtime_usec();
        *ret_secret = secret;
        return 0;
}

static int strv_copy(char **from, char ***to) {
        size_t n = strv_length(from);
        char **l = calloc(n + 1, sizeof(char *));

        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(l[i] = strdup(from[i]))) {
                        strv_free(l);
                        return -ENOMEM;
                }
        strv_free(*to);
        *to = l;
        return 0;
}

static int strv_from_const(const char *const *from, char ***to) {
        return strv_copy((char **) from, to);
}

static int apply_spec(ApplicationRecord *a, const ApplicationSpec *spec) {
        int r = 0;

        if (spec->redirect_uris)
                r = strv_copy(spec->redirect_uris, &a->redirect_uris);
        if (r >= 0 && spec->post_logout_redirect_uris)
                r = strv_copy(spec->post_logout_redirect_uris, &a->post_logout_redirect_uris);
        if (r >= 0 && spec->grants)
                r = strv_copy(spec->grants, &a->grants);
        if (r >= 0 && spec->scopes)
                r = strv_copy(spec->scopes, &a->scopes);
        if (r >= 0 && spec->allowed_origins)
                r = strv_copy(spec->allowed_origins, &a->allowed_origins);
        if (spec->public_client >= 0)
                a->public_client = spec->public_client;
        if (spec->first_party >= 0)
                a->first_party = spec->first_party;
        if (spec->pkce_optional >= 0)
                a->pkce_optional = spec->pkce_optional;
        if (spec->signing_alg >= 0)
                a->signing_alg = spec->signing_alg;
        return r;
}

static int create_txn(Store *s, const Principal *a, const ApplicationRecord *app, const char *target,
                      ApplicationRecord **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = entitlement_check_room(s, app->tenant_id, app->tenant, ENTITLED_APPLICATIONS, e);
        if (r < 0)
                return r;
        r = store_application_create(s, app, ret);
        if (r == -EEXIST)
                return tessera_error_set(e, r, "Application '%s' already exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create application '%s'.", target);
        return change_commit(&txn, a, "application.create", app->tenant, target, NULL, e);
}

/* What the policy judges: the application of its tenant. */
static PolicyTarget application_policy_target(const ApplicationRecord *app) {
        return (PolicyTarget) { .tenant_id = app->tenant_id, .application_id = app->id, .uid = -1 };
}

/* Announces a change of an application to the faces (events.h). */
static void application_changed(Manager *m, const ApplicationRecord *app, ChangeOp op) {
        manager_changed(m, (ChangeEvent) { .kind = CHANGE_APPLICATION, .op = op, .tenant_id = app->tenant_id,
                                           .tenant = app->tenant, .id = app->id, .name = app->name });
}

int application_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                       const ApplicationSpec *spec, ApplicationRecord **ret, char **ret_secret, TesseraError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *app = application_record_new(), *created = NULL;
        _cleanup_(erase_and_freep) char *secret = NULL;
        _cleanup_free_ char *target = NULL;
        int r;

        if (!app || qualified_target(name, t->slug, &target) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_APPLICATION_CREATE, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;

        app->tenant_id = t->id;
        app->tenant = strdup(t->slug);
        app->name = strdup(strempty(name));
        app->signing_alg = JWT_ALG_RS256;
        r = token_random(16, &app->client_id);
        if (r >= 0 && (!app->tenant || !app->name))
                r = -ENOMEM;
        if (r >= 0)
                r = strv_from_const(application_default_scopes, &app->scopes);
        if (r >= 0) {
                static const char *const confidential[] = { "authorization_code", "refresh_token", NULL };
                r = strv_from_const(confidential, &app->grants);
        }
        if (r >= 0)
                r = apply_spec(app, spec);
        if (r < 0)
                return tessera_error_set(e, r, "Out of memory.");

        if (!valid_user_name(name))
                r = tessera_error_set(e, -EINVAL,
                                      "'%.64s' is not a valid application name: begin with a lower-case letter or "
                                      "'_', then use lower-case letters, digits, '_' or '-', at most %d in all.",
                                      strempty(name), NAME_MAX_LEN);
        else
                r = validate(app, e);
        if (r >= 0 && !app->public_client) {
                r = new_secret(m, app, &secret);
                if (r < 0)
                        tessera_error_set(e, r, "Failed to make a client secret.");
        }
        if (r >= 0)
                r = create_txn(s, a, app, target, &created, e);
        if (r < 0) {
                change_audit_failure(s, a, "application.create", t->slug, target, e);
                return r;
        }

        application_changed(m, created, CHANGE_CREATED);
        log_info("Created application %s (client id %s, %s).", target, created->client_id,
                 created->public_client ? "public" : "confidential");
        if (ret)
                *ret = TAKE_PTR(created);
        if (ret_secret)
                *ret_secret = TAKE_PTR(secret);
        return 0;
}

static int change(Store *s, const Principal *a, const char *action, const ApplicationRecord *changed, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = application_qualified_name(changed);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_begin(s, &txn, e);
        if (r >= 0) {
                r = store_application_update(s, changed);
                if (r == -ENOENT)
                        r = tessera_error_set(e, r, "Application '%s' no longer exists.", target);
                else if (r < 0)
                        r = tessera_error_set(e, r, "Failed to update application '%s'.", target);
        }
        if (r >= 0)
                r = change_commit(&txn, a, action, changed->tenant, target, NULL, e);
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, a, action, changed->tenant, target, e);
                return r;
        }
        log_info("%s: %s.", target, action);
        return 0;
}

/* A copy of the record whose lists the change may replace. */
static int copy_record(const ApplicationRecord *app, ApplicationRecord **ret) {
        _cleanup_(application_record_unrefp) ApplicationRecord *c = application_record_new();

        if (!c)
                return -ENOMEM;
        *c = *app;
        c->n_ref = 1;
        c->tenant = c->name = c->client_id = NULL;
        c->redirect_uris = c->post_logout_redirect_uris = c->grants = c->scopes = c->allowed_origins = NULL;
        if (!(c->tenant = strdup(app->tenant)) || !(c->name = strdup(app->name)) ||
            !(c->client_id = strdup(app->client_id)) || strv_copy(app->redirect_uris, &c->redirect_uris) < 0 ||
            strv_copy(app->post_logout_redirect_uris, &c->post_logout_redirect_uris) < 0 ||
            strv_copy(app->grants, &c->grants) < 0 || strv_copy(app->scopes, &c->scopes) < 0 ||
            strv_copy(app->allowed_origins, &c->allowed_origins) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int application_update(Manager *m, Store *s, const Principal *a, const ApplicationRecord *app, const ApplicationSpec *spec,
                       TesseraError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *changed = NULL;
        _cleanup_free_ char *target = application_qualified_name(app);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_APPLICATION_UPDATE, application_policy_target(app), app->tenant, target, e);
        if (r < 0)
                return r;
        r = copy_record(app, &changed);
        if (r >= 0)
                r = apply_spec(changed, spec);
        if (r < 0)
                r = tessera_error_set(e, r, "Out of memory.");
        else if (changed->public_client != app->public_client)
                r = tessera_error_set(e, -EINVAL, "A client cannot change between public and confidential; "
                                                  "create a new application instead.");
        else
                r = validate(changed, e);
        if (r < 0) {
                change_audit_failure(s, a, "application.update", app->tenant, target, e);
                return r;
        }
        r = change(s, a, "application.update", changed, e);
        if (r >= 0)
                application_changed(m, changed, CHANGE_UPDATED);
        return r;
}

int application_rotate_secret(Manager *m, Store *s, const Principal *a, const ApplicationRecord *app, char **ret_secret,
                              TesseraError *e) {
        _cleanup_(application_record_unrefp) ApplicationRecord *changed = NULL;
        _cleanup_free_ char *target = application_qualified_name(app);
        _cleanup_(erase_and_freep) char *secret = NULL;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_APPLICATION_ROTATE_SECRET, application_policy_target(app), app->tenant, target, e);
        if (r < 0)
                return r;
        if (app->public_client)
                r = tessera_error_set(e, -EINVAL, "'%s' is a public client and has no secret.", target);
        else if ((r = copy_record(app, &changed)) < 0 || (r = new_secret(m, changed, &secret)) < 0)
                r = tessera_error_set(e, r, "Failed to make a client secret.");
        if (r < 0) {
                change_audit_failure(s, a, "application.rotate-secret", app->tenant, target, e);
                return r;
        }
        r = change(s, a, "application.rotate-secret", changed, e);
        if (r < 0)
                return r;
        application_changed(m, changed, CHANGE_UPDATED);
        *ret_secret = TAKE_PTR(secret);
        return 0;
}

int application_delete(Manager *m, Store *s, const Principal *a, const ApplicationRecord *app, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = application_qualified_name(app);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_APPLICATION_DELETE, application_policy_target(app), app->tenant, target, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, e);
        if (r >= 0) {
                r = store_application_delete(s, app->id);
                if (r == -ENOENT)
                        r = tessera_error_set(e, r, "Application '%s' no longer exists.", target);
                else if (r < 0)
                        r = tessera_error_set(e, r, "Failed to delete application '%s'.", target);
        }
        if (r >= 0)
                r = change_commit(&txn, a, "application.delete", app->tenant, target, NULL, e);
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, a, "application.delete", app->tenant, target, e);
                return r;
        }
        application_changed(m, app, CHANGE_DELETED);
        log_info("Deleted application %s.", target);
        return 0;
}

int application_lookup(Manager *m, Store *s, const char *tenant, const char *name, ApplicationRecord **ret,
                       TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        int r;

        r = tenant_lookup(m, s, tenant, &t, e);
        if (r < 0)
                return r;
        if (!valid_user_name(name))
                return tessera_error_set(e, -EINVAL, "'%.64s' is not a valid application name.", strempty(name));
        r = store_application_get(s, t->id, name, ret);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Application '%s@%s' does not exist.", name, t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up application '%s@%s'.", name, t->slug);
        return 0;
}

bool application_verify_secret(const Manager *m, const ApplicationRecord *app, const char *secret) {
        uint8_t d[TOKEN_DIGEST_SIZE];
        bool ok;

        if (!app->has_secret || !secret || strlen(secret) > TOKEN_MAX_LEN)
                return false;
        ok = secret_key_digest(m->secret_key, "client-secret", secret, strlen(secret), d) >= 0 &&
             memeq_consttime(d, app->secret_digest, TOKEN_DIGEST_SIZE);
        explicit_bzero(d, sizeof(d));
        return ok;
}
