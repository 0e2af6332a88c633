/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-provider.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <strings.h>

#include "log.h"
#include "names.h"
#include "secret-box.h"
#include "store-upstream.h"
#include "time-util.h"
#include "upstream-preset.h"

static const char *const signup_names[_UPSTREAM_SIGNUP_MAX] = {
        [UPSTREAM_SIGNUP_JIT] = "jit",
        [UPSTREAM_SIGNUP_EXISTING] = "existing",
        [UPSTREAM_SIGNUP_INVITATION] = "invitation",
};

const char *upstream_signup_mode_to_string(UpstreamSignupMode m) {
        return m >= 0 && m < _UPSTREAM_SIGNUP_MAX ? signup_names[m] : NULL;
}

UpstreamSignupMode upstream_signup_mode_from_string(const char *s) {
        for (UpstreamSignupMode m = 0; s && m < _UPSTREAM_SIGNUP_MAX; m++)
                if (streq(signup_names[m], s))
                        return m;
        return _UPSTREAM_SIGNUP_INVALID;
}

UpstreamProvider *upstream_provider_free(UpstreamProvider *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->kind);
        free(p->display_name);
        free(p->icon_url);
        free(p->client_id);
        erase_and_free(p->client_secret);
        strv_free(p->scopes);
        strv_free(p->allowed_domains);
        free(p->issuer);
        free(p->authorization_endpoint);
        free(p->token_endpoint);
        free(p->userinfo_endpoint);
        free(p->jwks_uri);
        free(p->api_url);
        free(p->allowed_tid);
        free(p);
        return NULL;
}

void upstream_provider_array_free(UpstreamProvider **a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                upstream_provider_free(a[i]);
        free(a);
}

/* Validation: each message names the field at fault first, so that every
 * face can show it as it is. */

bool upstream_provider_valid_name(const char *s) {
        size_t n;

        if (!s || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        n = strlen(s);
        if (n > UPSTREAM_PROVIDER_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || s[i] == '-'))
                        return false;
        /* The JSON API's callback is …/auth/oauth/callback, beside
         * …/auth/oauth/{provider}: a provider of that name could never be
         * started there. */
        return !streq(s, "callback");
}

static bool loopback_host(const char *host, size_t n) {
        return (n == 9 && strneq(host, "localhost", 9)) || (n == 5 && strneq(host, "[::1]", 5)) ||
               (n >= 9 && strneq(host, "127.", 4) && strspn(host, "0123456789.") == n);
}

bool upstream_provider_valid_url(const char *url, bool allow_query) {
        const char *host, *end, *port = NULL;
        size_t n;

        if (!url || strlen(url) > UPSTREAM_PROVIDER_URL_MAX)
                return false;
        for (const char *p = url; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f || *p == '#' || *p == '"' || *p == '<' ||
                    *p == '>' || *p == '\\' || *p == '`' || *p == '{' || *p == '}' || *p == '|' || *p == '^')
                        return false;
        if (strneq(url, "https://", 8))
                host = url + 8;
        else if (strneq(url, "http://", 7))
                host = url + 7;
        else
                return false;
        if (!allow_query && strchr(host, '?'))
                return false;
        end = host + strcspn(host, "/?");
        n = (size_t) (end - host);
        if (n == 0 || memchr(host, '@', n))
                return false;
        if (host[0] == '[') {
                const char *b = memchr(host, ']', n);
                if (!b || (b + 1 != end && b[1] != ':'))
                        return false;
                if (b + 1 != end)
                        port = b + 2;
                n = (size_t) (b - host + 1);
        } else {
                const char *c = memchr(host, ':', n);
                if (c) {
                        port = c + 1;
                        n = (size_t) (c - host);
                }
                for (size_t i = 0; i < n; i++)
                        if (!isalnum((unsigned char) host[i]) && host[i] != '.' && host[i] != '-')
                                return false;
        }
        if (n == 0)
                return false;
        if (port) {
                size_t digits = strspn(port, "0123456789");
                if (digits == 0 || digits > 5 || port + digits != end || strtoul(port, NULL, 10) > 65535)
                        return false;
        }
        /* Plain http only where nobody else can listen: a provider on
         * the host itself (a test, a proxy). */
        return url[4] == 's' || loopback_host(host, n);
}

/* A domain of e-mail addresses: lower-case DNS labels, at least two. */
static bool valid_domain(const char *d) {
        size_t len = strlen(d), label = 0;
        unsigned dots = 0;

        if (len == 0 || len > 253 || d[0] == '.' || d[len - 1] == '.')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = d[i];

                if (c == '.') {
                        if (label == 0 || d[i - 1] == '-')
                                return false;
                        label = 0;
                        dots++;
                        continue;
                }
                if (!(islower((unsigned char) c) || isdigit((unsigned char) c) || c == '-'))
                        return false;
                if (label == 0 && c == '-')
                        return false;
                if (++label > 63)
                        return false;
        }
        return dots > 0 && d[len - 1] != '-';
}

/* RFC 6749 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) */
static bool valid_scope(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 128)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e || s[i] == '"' || s[i] == '\\')
                        return false;
        return true;
}

/* Client ids and secrets are visible ASCII in every provider's console. */
static bool valid_credential(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x21 || (unsigned char) s[i] > 0x7e)
                        return false;
        return true;
}

/* Entra tenant ids: GUIDs, comma-separated. */
static bool valid_tid_list(const char *s) {
        unsigned count = 0;

        for (const char *w = s;; w++) {
                size_t n = strcspn(w, ",");

                if (n != 36 || ++count > UPSTREAM_PROVIDER_LIST_MAX)
                        return false;
                for (size_t i = 0; i < n; i++) {
                        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                        if (dash ? w[i] != '-' : !isxdigit((unsigned char) w[i]))
                                return false;
                }
                w += n;
                if (!*w)
                        return true;
        }
}

static bool valid_icon(const char *s) {
        if (strneq(s, "data:image/", 11))
                return strlen(s) <= UPSTREAM_PROVIDER_ICON_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz"
                                                                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                                               "0123456789+/=:;,.-_%") == strlen(s);
        return upstream_provider_valid_url(s, true);
}

static int check_endpoint(const char *field, const char *url, bool allow_query, TesseraError *e) {
        if (url && !upstream_provider_valid_url(url, allow_query))
                return tessera_error_set(e, -EINVAL,
                                         "%s: '%.80s' is not a valid URL: use https:// (http:// only for "
                                         "localhost, 127.0.0.1 or [::1])%s, at most %d bytes.",
                                         field, url, allow_query ? "" : " without a query or fragment",
                                         UPSTREAM_PROVIDER_URL_MAX);
        return 0;
}

/* Refuses a field the kind has no use for: a setting that would be
 * silently ignored misleads whoever set it. */
static int check_unused(const char *field, const char *value, const char *kind, TesseraError *e) {
        if (value)
                return tessera_error_set(e, -EINVAL, "%s: providers of kind '%s' have no such setting.", field, kind);
        return 0;
}

static int validate(const UpstreamProvider *p, const UpstreamPreset *preset, TesseraError *e) {
        bool oidc = preset->protocol == UPSTREAM_PROTOCOL_OIDC, has_openid = false;
        size_t n;
        int r;

        if (!valid_display_text(p->display_name, UPSTREAM_PROVIDER_DISPLAY_NAME_MAX))
                return tessera_error_set(e, -EINVAL, "display_name: at most %d bytes of one-line text.",
                                         UPSTREAM_PROVIDER_DISPLAY_NAME_MAX);
        if (p->icon_url && !valid_icon(p->icon_url))
                return tessera_error_set(e, -EINVAL, "icon_url: an https:// URL or a data:image/ URI of at most %d "
                                                     "bytes.", UPSTREAM_PROVIDER_ICON_MAX);
        if (!p->client_id || !valid_credential(p->client_id, UPSTREAM_PROVIDER_CLIENT_ID_MAX))
                return tessera_error_set(e, -EINVAL, "client_id: required, the id the provider's console gave "
                                                     "(visible ASCII, at most %d bytes).",
                                         UPSTREAM_PROVIDER_CLIENT_ID_MAX);
        if (p->client_secret && !valid_credential(p->client_secret, UPSTREAM_PROVIDER_CLIENT_SECRET_MAX))
                return tessera_error_set(e, -EINVAL, "client_secret: visible ASCII, at most %d bytes.",
                                         UPSTREAM_PROVIDER_CLIENT_SECRET_MAX);

        n = strv_length(p->scopes);
        if (n > UPSTREAM_PROVIDER_LIST_MAX)
                return tessera_error_set(e, -EINVAL, "scopes: at most %d.", UPSTREAM_PROVIDER_LIST_MAX);
        STRV_FOREACH(s, p->scopes) {
                if (!valid_scope(*s))
                        return tessera_error_set(e, -EINVAL, "scopes: '%.64s' is not a valid OAuth scope.", *s);
                has_openid = has_openid || streq(*s, "openid");
        }
        /* Without openid an OpenID provider sends no ID token, and the
         * sign-in has nothing to verify. */
        if (oidc && p->scopes && !has_openid)
                return tessera_error_set(e, -EINVAL, "scopes: providers of kind '%s' need the scope 'openid'.",
                                         p->kind);

        n = strv_length(p->allowed_domains);
        if (n > UPSTREAM_PROVIDER_LIST_MAX)
                return tessera_error_set(e, -EINVAL, "allowed_domains: at most %d.", UPSTREAM_PROVIDER_LIST_MAX);
        STRV_FOREACH(d, p->allowed_domains)
                if (!valid_domain(*d))
                        return tessera_error_set(e, -EINVAL,
                                                 "allowed_domains: '%.64s' is not a domain name (like example.com).",
                                                 *d);

        if (p->signup < 0 || p->signup >= _UPSTREAM_SIGNUP_MAX)
                return tessera_error_set(e, -EINVAL, "signup: use jit, existing or invitation.");
        if (p->role < 0 || p->role >= _USER_ROLE_MAX)
                return tessera_error_set(e, -EINVAL, "role: use member, admin or owner.");

        if (preset->issuer_required && !p->issuer)
                return tessera_error_set(e, -EINVAL, "issuer: required for providers of kind '%s' (the URL its "
                                                     "discovery document is under).", p->kind);
        r = check_endpoint("issuer", p->issuer, false, e);
        r = r ?: check_endpoint("authorization_endpoint", p->authorization_endpoint, true, e);
        r = r ?: check_endpoint("token_endpoint", p->token_endpoint, false, e);
        r = r ?: check_endpoint("userinfo_endpoint", p->userinfo_endpoint, false, e);
        r = r ?: check_endpoint("jwks_uri", p->jwks_uri, false, e);
        r = r ?: check_endpoint("api_url", p->api_url, false, e);
        if (r < 0)
                return r;
        if (oidc)
                r = check_unused("api_url", p->api_url, p->kind, e);
        else {
                r = check_unused("issuer", p->issuer, p->kind, e);
                r = r ?: check_unused("userinfo_endpoint", p->userinfo_endpoint, p->kind, e);
                r = r ?: check_unused("jwks_uri", p->jwks_uri, p->kind, e);
        }
        if (r < 0)
                return r;
        if (p->allowed_tid) {
                if (!preset->issuer_per_tid)
                        return check_unused("allowed_tid", p->allowed_tid, p->kind, e);
                if (!valid_tid_list(p->allowed_tid))
                        return tessera_error_set(e, -EINVAL, "allowed_tid: Entra tenant ids (GUIDs), "
                                                             "comma-separated, at most %d.",
                                                 UPSTREAM_PROVIDER_LIST_MAX);
        }
        return 0;
}

/* Spec fields into p: NULL leaves a field, "" clears an optional one. */
static int set_string(char **field, const char *value) {
        char *c = NULL;

        if (!value)
                return 0;
        if (*value && !(c = strdup(value)))
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

static int set_list(char ***field, char **value, bool lower) {
        _cleanup_(strv_freep) char **c = NULL;
        size_t n = strv_length(value);

        if (!value)
                return 0;
        if (n > 0) {
                c = calloc(n + 1, sizeof(char *));
                if (!c)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        if (!(c[i] = strdup(value[i])))
                                return -ENOMEM;
                        for (char *p = c[i]; lower && *p; p++)
                                *p = (char) tolower((unsigned char) *p);
                }
        }
        strv_free(*field);
        *field = TAKE_PTR(c);
        return 0;
}

static int apply_spec(UpstreamProvider *p, const UpstreamProviderSpec *spec) {
        int r = 0;

        r = r ?: set_string(&p->display_name, spec->display_name);
        r = r ?: set_string(&p->icon_url, spec->icon_url);
        r = r ?: set_string(&p->client_id, spec->client_id);
        if (spec->client_secret) {
                erase_and_free(p->client_secret);
                p->client_secret = NULL;
                if (*spec->client_secret && !(p->client_secret = strdup(spec->client_secret)))
                        r = -ENOMEM;
        }
        r = r ?: set_list(&p->scopes, spec->scopes, false);
        r = r ?: set_list(&p->allowed_domains, spec->allowed_domains, true);
        r = r ?: set_string(&p->issuer, spec->issuer);
        r = r ?: set_string(&p->authorization_endpoint, spec->authorization_endpoint);
        r = r ?: set_string(&p->token_endpoint, spec->token_endpoint);
        r = r ?: set_string(&p->userinfo_endpoint, spec->userinfo_endpoint);
        r = r ?: set_string(&p->jwks_uri, spec->jwks_uri);
        r = r ?: set_string(&p->api_url, spec->api_url);
        r = r ?: set_string(&p->allowed_tid, spec->allowed_tid);
        if (spec->signup >= 0)
                p->signup = spec->signup;
        if (spec->role >= 0)
                p->role = spec->role;
        if (spec->link_by_email >= 0)
                p->link_by_email = spec->link_by_email;
        if (spec->enabled >= 0)
                p->enabled = spec->enabled;
        return r;
}

/* The secret is sealed to its provider: a box copied to another row or
 * tenant does not open. */
static void seal_context(int64_t tenant_id, const char *name, char buf[static 128]) {
        snprintf(buf, 128, "upstream-provider:%" PRIi64 ":%s", tenant_id, name);
}

static int seal_secret(Manager *m, const UpstreamProvider *p, uint8_t **ret, size_t *ret_len, TesseraError *e) {
        char context[128];
        int r;

        if (!p->client_secret) {
                *ret = NULL;
                *ret_len = 0;
                return 0;
        }
        if (!m->secret_key)
                return tessera_error_set(e, -ENOKEY, "No secret key is loaded to seal the client secret with.");
        seal_context(p->tenant_id, p->name, context);
        r = secret_box_seal(m->secret_key, context, p->client_secret, strlen(p->client_secret), ret, ret_len);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to seal the client secret.");
        return 0;
}

/* Fills p->client_secret from the store. */
static int unseal_secret(Manager *m, Store *s, UpstreamProvider *p) {
        _cleanup_free_ uint8_t *box = NULL;
        uint8_t *plain = NULL;
        size_t box_len = 0, plain_len = 0;
        char context[128];
        int r;

        r = store_upstream_provider_secret_box(s, p->id, &box, &box_len);
        if (r < 0 || !box)
                return r;
        if (!m->secret_key)
                return log_error_errno(-ENOKEY, "No secret key is loaded to open the client secret of provider %s.",
                                       p->name);
        seal_context(p->tenant_id, p->name, context);
        r = secret_box_open(m->secret_key, context, box, box_len, &plain, &plain_len);
        if (r < 0)
                return log_error_errno(r, "Failed to open the client secret of upstream provider %s (tenant %" PRIi64
                                          "): was the secret key replaced? %m",
                                       p->name, p->tenant_id);
        erase_and_free(p->client_secret);
        p->client_secret = strndup((const char *) plain, plain_len);
        secret_free(plain, plain_len);
        return p->client_secret ? 0 : -ENOMEM;
}

static int load(Manager *m, Store *s, int64_t tenant_id, const char *name, UpstreamProvider **ret) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        int r;

        r = store_upstream_provider_get(s, tenant_id, name, &p);
        if (r < 0)
                return r;
        r = unseal_secret(m, s, p);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

static int load_list(Manager *m, Store *s, int64_t tenant_id, bool enabled_only, UpstreamProvider ***ret,
                     size_t *ret_n) {
        UpstreamProvider **a = NULL;
        size_t n = 0;
        int r;

        r = store_upstream_provider_list(s, tenant_id, enabled_only, &a, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = unseal_secret(m, s, a[i]);
                if (r < 0) {
                        upstream_provider_array_free(a, n);
                        return r;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static char *qualified(const char *name, const TenantRecord *t) {
        char *s;
        return asprintf(&s, "%s@%s", strempty(name), t->slug) < 0 ? NULL : s;
}

static void announce(Manager *m, const TenantRecord *t, const UpstreamProvider *p, ChangeOp op) {
        manager_changed(m, (ChangeEvent) { .kind = CHANGE_UPSTREAM_PROVIDER, .op = op, .tenant_id = t->id,
                                           .tenant = t->slug, .id = p->id, .name = p->name });
}

/* A provider that makes admins or owners of whoever signs in upstream is
 * the owners' call, as giving those roles is. */
static int check_role(const Principal *a, const TenantRecord *t, UserRole role, TesseraError *e) {
        PolicyTarget pt = policy_target_tenant(t->id);

        if (role != USER_ROLE_MEMBER && policy_check(a, POLICY_MEMBER_SET_ROLE, &pt) < 0)
                return tessera_error_set(e, -EACCES, "role: only the owners of tenant '%s' may have accounts made "
                                                     "with the role %s.", t->slug, user_role_to_string(role));
        return 0;
}

static int audit_details(const UpstreamProvider *p, char **ret) {
        return asprintf(ret, "{\"kind\":\"%s\",\"signup\":\"%s\",\"role\":\"%s\",\"enabled\":%s}", p->kind,
                        upstream_signup_mode_to_string(p->signup), user_role_to_string(p->role),
                        p->enabled ? "true" : "false") < 0 ? -ENOMEM : 0;
}

static int create_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t, UpstreamProvider *p,
                      const char *target, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ uint8_t *box = NULL;
        _cleanup_free_ char *details = NULL;
        size_t box_len = 0;
        unsigned count;
        int r;

        r = seal_secret(m, p, &box, &box_len, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_upstream_provider_count(s, t->id, &count);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to count the providers");
        if (count >= UPSTREAM_PROVIDERS_PER_TENANT_MAX)
                return tessera_error_set(e, -E2BIG, "Tenant '%s' has %u upstream providers, the most it may have.",
                                         t->slug, count);
        r = store_upstream_provider_add(s, p, box, box_len);
        if (r == -EEXIST)
                return tessera_error_set(e, r, "name: tenant '%s' has a provider '%s' already.", t->slug, p->name);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to store the provider");
        if (audit_details(p, &details) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        return change_commit(&txn, a, "provider.create", t->slug, target, details, e);
}

int upstream_provider_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                             const UpstreamProviderSpec *spec, UpstreamProvider **ret, TesseraError *e) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = calloc(1, sizeof(UpstreamProvider));
        _cleanup_free_ char *target = qualified(spec->name, t);
        const UpstreamPreset *preset = upstream_preset_find(spec->kind);
        uint64_t now = now_realtime_usec();
        int r;

        if (!p || !target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_PROVIDER_CREATE, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;

        *p = (UpstreamProvider) {
                .tenant_id = t->id,
                .signup = UPSTREAM_SIGNUP_EXISTING,
                .role = USER_ROLE_MEMBER,
                .enabled = true,
                .created_usec = now,
                .changed_usec = now,
        };
        if (!upstream_provider_valid_name(spec->name))
                r = tessera_error_set(e, -EINVAL, "name: '%.64s' is not a valid provider name: lower-case letters, "
                                                  "digits and '-', beginning with a letter or digit, at most %d, not 'callback'.",
                                      strempty(spec->name), UPSTREAM_PROVIDER_NAME_MAX);
        else if (!preset)
                r = tessera_error_set(e, -EINVAL, "kind: '%.32s' is not a kind of provider: use oidc, google, "
                                                  "microsoft, gitlab, slack or github.", strempty(spec->kind));
        else if (!(p->name = strdup(spec->name)) || !(p->kind = strdup(preset->kind)) ||
                 !(p->display_name = strdup(preset->display_name)) || apply_spec(p, spec) < 0)
                r = tessera_error_set(e, -ENOMEM, "Out of memory.");
        else if (!p->display_name && !(p->display_name = strdup(preset->display_name)))
                r = tessera_error_set(e, -ENOMEM, "Out of memory.");
        if (r >= 0)
                r = validate(p, preset, e);
        if (r >= 0)
                r = check_role(a, t, p->role, e);
        if (r >= 0)
                r = create_txn(m, s, a, t, p, target, e);
        if (r < 0) {
                change_audit_failure(s, a, "provider.create", t->slug, target, e);
                return r;
        }
        announce(m, t, p, CHANGE_CREATED);
        log_info("Added upstream provider %s (%s, sign-up %s).", target, p->kind,
                 upstream_signup_mode_to_string(p->signup));
        if (ret)
                *ret = TAKE_PTR(p);
        return 0;
}

static int update_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                      const UpstreamProviderSpec *spec, const char *target, UpstreamProvider **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        _cleanup_free_ uint8_t *box = NULL;
        _cleanup_free_ char *details = NULL;
        const UpstreamPreset *preset;
        size_t box_len = 0;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = load(m, s, t->id, name, &p);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' has no provider '%s'.", t->slug, name);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read provider '%s'.", target);
        /* The name is the sealed secret's context and the provider's URL;
         * the kind decides what subjects mean: neither changes in place. */
        if (spec->name && !streq(spec->name, p->name))
                return tessera_error_set(e, -EINVAL, "name: a provider's name can't be changed; add a new one.");
        if (spec->kind && !streq(spec->kind, p->kind))
                return tessera_error_set(e, -EINVAL, "kind: a provider's kind can't be changed; add a new one.");
        preset = upstream_preset_find(p->kind);
        if (!preset)
                return tessera_error_set(e, -EINVAL, "kind: this tesserad knows no providers of kind '%s'.", p->kind);
        if (apply_spec(p, spec) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        if (!p->display_name && !(p->display_name = strdup(preset->display_name)))
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        p->changed_usec = now_realtime_usec();
        r = validate(p, preset, e);
        if (r < 0)
                return r;
        if (spec->role >= 0) {
                r = check_role(a, t, p->role, e);
                if (r < 0)
                        return r;
        }
        if (spec->client_secret) {
                r = seal_secret(m, p, &box, &box_len, e);
                if (r < 0)
                        return r;
        }
        r = store_upstream_provider_update(s, p, spec->client_secret != NULL, box, box_len);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to store the provider");
        if (audit_details(p, &details) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_commit(&txn, a, "provider.update", t->slug, target, details, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int upstream_provider_update(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                             const UpstreamProviderSpec *spec, UpstreamProvider **ret, TesseraError *e) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        _cleanup_free_ char *target = qualified(name, t);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_PROVIDER_UPDATE, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;
        if (!upstream_provider_valid_name(name))
                r = tessera_error_set(e, -ENOENT, "Tenant '%s' has no provider '%.64s'.", t->slug, strempty(name));
        else
                r = update_txn(m, s, a, t, name, spec, target, &p, e);
        if (r < 0) {
                change_audit_failure(s, a, "provider.update", t->slug, target, e);
                return r;
        }
        announce(m, t, p, CHANGE_UPDATED);
        log_info("Changed upstream provider %s.", target);
        if (ret)
                *ret = TAKE_PTR(p);
        return 0;
}

static int delete_txn(Store *s, const Principal *a, const TenantRecord *t, const char *name, const char *target,
                      UpstreamProvider **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_upstream_provider_get(s, t->id, name, &p);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' has no provider '%s'.", t->slug, name);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read provider '%s'.", target);
        /* Its links go with it (ON DELETE CASCADE): whoever signed in only
         * through it signs in by password, or not at all, from now on. */
        r = store_upstream_provider_delete(s, t->id, p->id);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to delete the provider");
        r = change_commit(&txn, a, "provider.delete", t->slug, target, NULL, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int upstream_provider_delete(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                             TesseraError *e) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        _cleanup_free_ char *target = qualified(name, t);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_PROVIDER_DELETE, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;
        if (!upstream_provider_valid_name(name))
                r = tessera_error_set(e, -ENOENT, "Tenant '%s' has no provider '%.64s'.", t->slug, strempty(name));
        else
                r = delete_txn(s, a, t, name, target, &p, e);
        if (r < 0) {
                change_audit_failure(s, a, "provider.delete", t->slug, target, e);
                return r;
        }
        announce(m, t, p, CHANGE_DELETED);
        log_info("Deleted upstream provider %s.", target);
        return 0;
}

int upstream_provider_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                           UpstreamProvider ***ret, size_t *ret_n, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_PROVIDER_READ, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = load_list(m, s, t->id, false, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the providers of tenant '%s'.", t->slug);
        return 0;
}

int upstream_provider_read(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name,
                           UpstreamProvider **ret, TesseraError *e) {
        _cleanup_free_ char *target = qualified(name, t);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_PROVIDER_READ, policy_target_tenant(t->id), t->slug, target, e);
        if (r < 0)
                return r;
        r = upstream_provider_valid_name(name) ? load(m, s, t->id, name, ret) : -ENOENT;
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' has no provider '%.64s'.", t->slug, strempty(name));
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read provider '%s'.", target);
        return 0;
}

int upstream_provider_get(Manager *m, Store *s, const TenantRecord *t, const char *name, UpstreamProvider **ret) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL;
        int r;

        if (!upstream_provider_valid_name(name))
                return -ENOENT;
        r = load(m, s, t->id, name, &p);
        if (r < 0)
                return r;
        if (!p->enabled)
                return -ENOENT;
        *ret = TAKE_PTR(p);
        return 0;
}

int upstream_provider_list_enabled(Manager *m, Store *s, const TenantRecord *t, UpstreamProvider ***ret,
                                   size_t *ret_n) {
        return load_list(m, s, t->id, true, ret, ret_n);
}

bool upstream_provider_allows_email(const UpstreamProvider *p, const char *email) {
        const char *at;

        if (!p->allowed_domains)
                return true;
        if (!email || !(at = strrchr(email, '@')) || !at[1])
                return false;
        /* The address's domain exactly: a subdomain is another
         * organization's as far as we know. */
        STRV_FOREACH(d, p->allowed_domains)
                if (strcasecmp(at + 1, *d) == 0)
                        return true;
        return false;
}
