/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/core/upstream-provider.c, upstream-link.c and
 * daemon/store/store-upstream.c: a tenant's upstream identity providers
 * (validation, the sealed secret, policy, audit, change events) and the
 * identities linked to users (unique by provider and subject, never
 * across tenants, the last way in kept). */

#include "secret-box.h"
#include "store-internal.h"
#include "store-upstream.h"
#include "test-util.h"
#include "upstream-link.h"
#include "upstream-provider.h"

#define SECRET "gcp-Secret-0123456789-abcdef"

static Manager *m;
static TestEvents *events;
static TenantRecord *acme, *other;

static void setup(void) {
        static const uint8_t key[SECRET_KEY_SIZE] = { 7, 7, 7, 1, 2, 3 };

        m = test_manager_new();
        ck_assert_int_eq(secret_key_from_bytes(key, &m->secret_key), 0);
        events = test_events_follow(m);
        acme = test_tenant(m->store, "acme", NULL);
        other = test_tenant(m->store, "other", NULL);
}

static void teardown(void) {
        acme = tenant_record_unref(acme);
        other = tenant_record_unref(other);
        m = manager_free(m);
        events = test_events_free(events);
}

#define SPEC_INIT { .signup = -1, .role = -1, .link_by_email = -1, .enabled = -1 }

static UpstreamProvider *create(const TenantRecord *t, const char *name, const char *kind, const char *secret) {
        UpstreamProviderSpec spec = SPEC_INIT;
        UpstreamProvider *p = NULL;
        TesseraError e = {};

        spec.name = name;
        spec.kind = kind;
        spec.client_id = "client-1.apps.example.com";
        spec.client_secret = secret;
        if (streq(kind, "oidc"))
                spec.issuer = "https://id.example.com";
        ck_assert_msg(upstream_provider_create(m, m->store, &test_admin, t, &spec, &p, &e) == 0, "creating %s: %s",
                      name, e.message);
        return p;
}

static Principal member_of(const UserRecord *u, UserRole role) {
        Principal p = principal_user("test", u, NULL);
        p.role = role;
        return p;
}

static void set_password(UserRecord *u) {
        free(u->password_hash);
        u->password_hash = strdup("$6$salt$notarealhashbutset");
        ck_assert_ptr_nonnull(u->password_hash);
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_update(m->store, u), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
}

START_TEST(test_signup_names) {
        ck_assert_str_eq(upstream_signup_mode_to_string(UPSTREAM_SIGNUP_JIT), "jit");
        ck_assert_int_eq(upstream_signup_mode_from_string("invitation"), UPSTREAM_SIGNUP_INVITATION);
        ck_assert_int_eq(upstream_signup_mode_from_string("open"), -EINVAL);
        ck_assert_int_eq(upstream_signup_mode_from_string(NULL), -EINVAL);
        ck_assert_ptr_null(upstream_signup_mode_to_string(_UPSTREAM_SIGNUP_MAX));
}
END_TEST

START_TEST(test_names_and_urls) {
        ck_assert(upstream_provider_valid_name("google"));
        ck_assert(upstream_provider_valid_name("0-corp-sso"));
        ck_assert(!upstream_provider_valid_name("-google"));
        ck_assert(!upstream_provider_valid_name("Google"));
        ck_assert(!upstream_provider_valid_name("goo gle"));
        ck_assert(!upstream_provider_valid_name(""));
        ck_assert(!upstream_provider_valid_name(NULL));
        /* …/auth/oauth/callback is the JSON API's callback, not a provider. */
        ck_assert(!upstream_provider_valid_name("callback"));
        ck_assert(upstream_provider_valid_name("callbacks"));
        ck_assert(upstream_provider_valid_name("a234567890123456789012345678901b"));
        ck_assert(!upstream_provider_valid_name("a234567890123456789012345678901bc"));

        ck_assert(upstream_provider_valid_url("https://accounts.google.com", false));
        ck_assert(upstream_provider_valid_url("https://login.example.com:8443/tenant/v2.0", false));
        ck_assert(upstream_provider_valid_url("http://127.0.0.1:4000", false));
        ck_assert(upstream_provider_valid_url("http://localhost:4000/op", false));
        ck_assert(upstream_provider_valid_url("http://[::1]:4000/", false));
        ck_assert(upstream_provider_valid_url("https://a.example/authorize?prompt=login", true));
        /* Plain http to anybody else: whoever is on the path could sign in. */
        ck_assert(!upstream_provider_valid_url("http://id.example.com", false));
        ck_assert(!upstream_provider_valid_url("http://127.0.0.1.evil.example", false));
        ck_assert(!upstream_provider_valid_url("http://localhost.evil.example", false));
        ck_assert(!upstream_provider_valid_url("https://user@id.example.com", false));
        ck_assert(!upstream_provider_valid_url("https://id.example.com/#frag", false));
        ck_assert(!upstream_provider_valid_url("https://id.example.com/?q=1", false));
        ck_assert(!upstream_provider_valid_url("https://id.example.com:99999", false));
        ck_assert(!upstream_provider_valid_url("https://id.example.com:", false));
        ck_assert(!upstream_provider_valid_url("https://", false));
        ck_assert(!upstream_provider_valid_url("ftp://id.example.com", false));
        ck_assert(!upstream_provider_valid_url("https://id.example.com/a b", false));
        ck_assert(!upstream_provider_valid_url("javascript:alert(1)", true));
}
END_TEST

START_TEST(test_create_defaults) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET);
        _cleanup_(upstream_provider_freep) UpstreamProvider *q = NULL, *r = NULL;
        TesseraError e = {};

        ck_assert_int_gt(p->id, 0);
        ck_assert_int_eq(p->tenant_id, acme->id);
        ck_assert_str_eq(p->kind, "google");
        ck_assert_str_eq(p->display_name, "Google");
        ck_assert_int_eq(p->signup, UPSTREAM_SIGNUP_EXISTING);
        ck_assert_int_eq(p->role, USER_ROLE_MEMBER);
        ck_assert(p->enabled);
        ck_assert(!p->link_by_email);
        ck_assert_ptr_null(p->scopes);
        ck_assert_ptr_null(p->allowed_domains);
        ck_assert_ptr_null(p->issuer);
        ck_assert_uint_eq(test_audit_count(m->store, "provider.create", "google@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_UPSTREAM_PROVIDER, CHANGE_CREATED, "google"), 1);

        /* Read back as the sign-in flow sees it: the secret unsealed. */
        ck_assert_int_eq(upstream_provider_get(m, m->store, acme, "google", &q), 0);
        ck_assert_str_eq(q->client_secret, SECRET);
        ck_assert_str_eq(q->client_id, "client-1.apps.example.com");
        ck_assert_int_eq(upstream_provider_read(m, m->store, &test_admin, acme, "google", &r, &e), 0);
        ck_assert_str_eq(r->client_secret, SECRET);
        /* Another tenant's provider of that name does not exist for it. */
        upstream_provider_free(q);
        q = NULL;
        ck_assert_int_eq(upstream_provider_get(m, m->store, other, "google", &q), -ENOENT);
        ck_assert_int_eq(upstream_provider_read(m, m->store, &test_admin, other, "google", &q, &e), -ENOENT);
}
END_TEST

START_TEST(test_create_everything) {
        char *scopes[] = { (char *) "openid", (char *) "email", (char *) "groups", NULL };
        char *domains[] = { (char *) "Example.COM", (char *) "corp.example.org", NULL };
        UpstreamProviderSpec spec = SPEC_INIT;
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = NULL, *q = NULL;
        TesseraError e = {};

        spec.name = "entra";
        spec.kind = "microsoft";
        spec.display_name = "Contoso staff";
        spec.icon_url = "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=";
        spec.client_id = "6731de76-14a6-49ae-97bc-6eba6914391e";
        spec.scopes = scopes;
        spec.allowed_domains = domains;
        spec.signup = UPSTREAM_SIGNUP_JIT;
        spec.role = USER_ROLE_ADMIN;
        spec.link_by_email = 1;
        spec.enabled = 0;
        spec.authorization_endpoint = "http://127.0.0.1:4411/authorize";
        spec.token_endpoint = "http://127.0.0.1:4411/token";
        spec.jwks_uri = "http://127.0.0.1:4411/keys";
        spec.allowed_tid = "9188040d-6c67-4c5b-b112-36a304b66dad,72f988bf-86f1-41af-91ab-2d7cd011db47";
        ck_assert_msg(upstream_provider_create(m, m->store, &test_admin, acme, &spec, &p, &e) == 0, "%s", e.message);
        ck_assert_ptr_null(p->client_secret);

        ck_assert_int_eq(upstream_provider_read(m, m->store, &test_admin, acme, "entra", &q, &e), 0);
        ck_assert_str_eq(q->display_name, "Contoso staff");
        ASSERT_STRV(q->scopes, "openid", "email", "groups");
        /* Domains are kept in lower case, as addresses are compared. */
        ASSERT_STRV(q->allowed_domains, "example.com", "corp.example.org");
        ck_assert_int_eq(q->signup, UPSTREAM_SIGNUP_JIT);
        ck_assert_int_eq(q->role, USER_ROLE_ADMIN);
        ck_assert(q->link_by_email);
        ck_assert(!q->enabled);
        ck_assert_str_eq(q->token_endpoint, "http://127.0.0.1:4411/token");
        ck_assert_str_eq(q->allowed_tid, spec.allowed_tid);
        ck_assert_ptr_null(q->client_secret);

        /* Disabled: not offered to the sign-in flow. */
        upstream_provider_free(q);
        q = NULL;
        ck_assert_int_eq(upstream_provider_get(m, m->store, acme, "entra", &q), -ENOENT);

        ck_assert(upstream_provider_allows_email(p, "ann@example.com"));
        ck_assert(upstream_provider_allows_email(p, "ann@EXAMPLE.com"));
        ck_assert(upstream_provider_allows_email(p, "bob@corp.example.org"));
        ck_assert(!upstream_provider_allows_email(p, "eve@evil.example.com"));
        ck_assert(!upstream_provider_allows_email(p, "eve@example.com.evil.org"));
        ck_assert(!upstream_provider_allows_email(p, "no-at-sign"));
        ck_assert(!upstream_provider_allows_email(p, NULL));
}
END_TEST

START_TEST(test_list) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *a = create(acme, "google", "google", SECRET),
                                                            *b = create(acme, "corp", "oidc", NULL),
                                                            *c = create(other, "github", "github", "x"), *d = NULL;
        UpstreamProviderSpec off = SPEC_INIT;
        UpstreamProvider **l = NULL;
        TesseraError e = {};
        size_t n = 0;

        ck_assert_int_ne(a->id, b->id);
        ck_assert_int_eq(c->tenant_id, other->id);
        ck_assert_int_eq(upstream_provider_list(m, m->store, &test_admin, acme, &l, &n, &e), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(l[0]->id, b->id);
        ck_assert_str_eq(l[0]->name, "corp");
        ck_assert_ptr_null(l[0]->client_secret);
        ck_assert_str_eq(l[1]->name, "google");
        ck_assert_str_eq(l[1]->client_secret, SECRET);
        upstream_provider_array_free(l, n);

        off.enabled = 0;
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "corp", &off, &d, &e), 0);
        ck_assert_int_eq(upstream_provider_list_enabled(m, m->store, acme, &l, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(l[0]->name, "google");
        upstream_provider_array_free(l, n);
}
END_TEST

/* Every bad field: refused with a message naming it, audited as invalid,
 * nothing stored. */
START_TEST(test_create_invalid) {
        static const struct {
                const char *name, *kind, *issuer, *field;
                const char *client_id, *token_endpoint, *api_url, *allowed_tid, *icon_url, *domain, *scope;
        } cases[] = {
                { .name = "Google", .kind = "google", .field = "name:" },
                { .name = "-x", .kind = "google", .field = "name:" },
                { .name = "x", .kind = "facebook", .field = "kind:" },
                { .name = "x", .kind = NULL, .field = "kind:" },
                { .name = "x", .kind = "oidc", .field = "issuer:" },
                { .name = "x", .kind = "oidc", .issuer = "http://id.example.com", .field = "issuer:" },
                { .name = "x", .kind = "oidc", .issuer = "https://id.example.com/?tenant=1", .field = "issuer:" },
                { .name = "x", .kind = "github", .issuer = "https://github.com", .field = "issuer:" },
                { .name = "x", .kind = "google", .client_id = "", .field = "client_id:" },
                { .name = "x", .kind = "google", .client_id = "two words", .field = "client_id:" },
                { .name = "x", .kind = "google", .token_endpoint = "http://10.0.0.1/token", .field = "token_endpoint:" },
                { .name = "x", .kind = "google", .api_url = "https://api.github.com", .field = "api_url:" },
                { .name = "x", .kind = "google", .allowed_tid = "9188040d-6c67-4c5b-b112-36a304b66dad",
                  .field = "allowed_tid:" },
                { .name = "x", .kind = "microsoft", .allowed_tid = "contoso", .field = "allowed_tid:" },
                { .name = "x", .kind = "google", .icon_url = "javascript:alert(1)", .field = "icon_url:" },
                { .name = "x", .kind = "google", .domain = "example", .field = "allowed_domains:" },
                { .name = "x", .kind = "google", .domain = "*.example.com", .field = "allowed_domains:" },
                { .name = "x", .kind = "google", .domain = "-a.example.com", .field = "allowed_domains:" },
                { .name = "x", .kind = "google", .domain = "a@example.com", .field = "allowed_domains:" },
                { .name = "x", .kind = "google", .scope = "email", .field = "scopes:" },
                { .name = "x", .kind = "google", .scope = "a\"b", .field = "scopes:" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *domains[] = { (char *) cases[i].domain, NULL };
                char *scopes[] = { (char *) cases[i].scope, NULL };
                UpstreamProviderSpec spec = SPEC_INIT;
                UpstreamProvider *p = NULL, **l = NULL;
                TesseraError e = {};
                size_t n = 0;

                spec.name = cases[i].name;
                spec.kind = cases[i].kind;
                spec.issuer = cases[i].issuer;
                spec.client_id = cases[i].client_id ?: "client";
                spec.token_endpoint = cases[i].token_endpoint;
                spec.api_url = cases[i].api_url;
                spec.allowed_tid = cases[i].allowed_tid;
                spec.icon_url = cases[i].icon_url;
                spec.allowed_domains = cases[i].domain ? domains : NULL;
                spec.scopes = cases[i].scope ? scopes : NULL;
                ck_assert_int_eq(upstream_provider_create(m, m->store, &test_admin, acme, &spec, &p, &e), -EINVAL);
                ck_assert_ptr_null(p);
                ck_assert_msg(strneq(e.message, cases[i].field, strlen(cases[i].field)), "case %zu: %s", i,
                              e.message);
                ck_assert_int_eq(upstream_provider_list(m, m->store, &test_admin, acme, &l, &n, &(TesseraError) {}),
                                 0);
                ck_assert_uint_eq(n, 0);
                upstream_provider_array_free(l, n);
        }
        ck_assert_uint_eq(test_audit_count(m->store, "provider.create", NULL, AUDIT_INVALID), ELEMENTSOF(cases));
        ck_assert_uint_eq(test_events_count(events, CHANGE_UPSTREAM_PROVIDER, CHANGE_CREATED, NULL), 0);
}
END_TEST

START_TEST(test_create_duplicate) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET),
                                                            *q = create(other, "google", "google", NULL);
        UpstreamProviderSpec spec = SPEC_INIT;
        UpstreamProvider *r = NULL;
        TesseraError e = {};

        /* The same name in another tenant is another provider. */
        ck_assert_int_ne(p->id, q->id);
        ck_assert_int_eq(q->tenant_id, other->id);
        spec.name = "google";
        spec.kind = "gitlab";
        spec.client_id = "c";
        ck_assert_int_eq(upstream_provider_create(m, m->store, &test_admin, acme, &spec, &r, &e), -EEXIST);
        ck_assert_ptr_nonnull(strstr(e.message, "has a provider 'google' already"));
        ck_assert_uint_eq(test_audit_count(m->store, "provider.create", "google@acme", AUDIT_SUCCESS), 1);
}
END_TEST

START_TEST(test_secret_sealed) {
        static const uint8_t other_key[SECRET_KEY_SIZE] = { 9 };
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET), *q = NULL;
        _cleanup_free_ uint8_t *box = NULL;
        static const char sql[] = "SELECT client_secret_box, client_id FROM upstream_providers";
        DbStmt *st = NULL;
        size_t box_len = 0;
        int rows = 0, hits = 0, r;

        /* No column of any row holds the secret in clear: searched here
         * rather than in SQL, which has no substring search of a blob
         * that every backend spells alike. */
        ck_assert_int_eq(db_stmt(m->store->db, sql, &st), 0);
        while ((r = db_step(st)) > 0) {
                const char *client_id = db_column_text(st, 1);
                const void *sealed;
                size_t n;

                sealed = db_column_blob(st, 0, &n);
                rows++;
                if ((sealed && memmem(sealed, n, "gcp-Secret", 10)) || (client_id && strstr(client_id, "gcp-Secret")))
                        hits++;
        }
        ck_assert_int_eq(r, 0);
        db_stmt_reset(st);
        ck_assert_int_eq(rows, 1);
        ck_assert_int_eq(hits, 0);
        ck_assert_int_eq(store_upstream_provider_secret_box(m->store, p->id, &box, &box_len), 0);
        ck_assert_ptr_nonnull(box);
        ck_assert_uint_gt(box_len, strlen(SECRET));
        ck_assert_ptr_null(memmem(box, box_len, "gcp-Secret", 10));

        /* Another key opens nothing: the record is refused, not handed
         * out without its secret. */
        m->secret_key = secret_key_free(m->secret_key);
        ck_assert_int_eq(secret_key_from_bytes(other_key, &m->secret_key), 0);
        ck_assert_int_eq(upstream_provider_get(m, m->store, acme, "google", &q), -EBADMSG);
        ck_assert_ptr_null(q);
}
END_TEST

START_TEST(test_update) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET), *q = NULL;
        char *domains[] = { (char *) "example.com", NULL }, *none[] = { NULL };
        UpstreamProviderSpec spec = SPEC_INIT;
        TesseraError e = {};

        /* What is not named stays, the secret included. */
        spec.display_name = "Google Workspace";
        spec.allowed_domains = domains;
        spec.signup = UPSTREAM_SIGNUP_JIT;
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "google", &spec, &q, &e), 0);
        ck_assert_str_eq(q->display_name, "Google Workspace");
        ck_assert_str_eq(q->client_secret, SECRET);
        ASSERT_STRV(q->allowed_domains, "example.com");
        ck_assert_int_eq(q->signup, UPSTREAM_SIGNUP_JIT);
        ck_assert_uint_ge(q->changed_usec, p->changed_usec);
        ck_assert_uint_eq(test_audit_count(m->store, "provider.update", "google@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_UPSTREAM_PROVIDER, CHANGE_UPDATED, "google"), 1);
        q = upstream_provider_free(q);

        /* "" clears, an empty list clears, and the display name goes back
         * to the preset's. */
        spec = (UpstreamProviderSpec) SPEC_INIT;
        spec.client_secret = "";
        spec.display_name = "";
        spec.allowed_domains = none;
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "google", &spec, &q, &e), 0);
        ck_assert_ptr_null(q->client_secret);
        ck_assert_ptr_null(q->allowed_domains);
        ck_assert_str_eq(q->display_name, "Google");
        q = upstream_provider_free(q);

        spec = (UpstreamProviderSpec) SPEC_INIT;
        spec.client_secret = "new-secret";
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "google", &spec, &q, &e), 0);
        q = upstream_provider_free(q);
        ck_assert_int_eq(upstream_provider_get(m, m->store, acme, "google", &q), 0);
        ck_assert_str_eq(q->client_secret, "new-secret");
        q = upstream_provider_free(q);
}
END_TEST

START_TEST(test_update_invalid) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET), *q = NULL;
        UpstreamProviderSpec spec = SPEC_INIT;
        TesseraError e = {};

        ck_assert_str_eq(p->name, "google");
        spec.name = "gmail";
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "google", &spec, &q, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "name:"));
        spec = (UpstreamProviderSpec) SPEC_INIT;
        spec.kind = "github";
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "google", &spec, &q, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "kind:"));
        spec = (UpstreamProviderSpec) SPEC_INIT;
        spec.token_endpoint = "http://token.example.com";
        spec.client_secret = "would-be-lost";
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "google", &spec, &q, &e), -EINVAL);
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, acme, "nope", &spec, &q, &e), -ENOENT);
        ck_assert_int_eq(upstream_provider_update(m, m->store, &test_admin, other, "google", &spec, &q, &e), -ENOENT);
        ck_assert_ptr_null(q);

        /* Nothing of the refused changes stuck. */
        ck_assert_int_eq(upstream_provider_get(m, m->store, acme, "google", &q), 0);
        ck_assert_str_eq(q->client_secret, SECRET);
        ck_assert_ptr_null(q->token_endpoint);
        ck_assert_uint_eq(test_audit_count(m->store, "provider.update", NULL, AUDIT_SUCCESS), 0);
        ck_assert_uint_eq(test_events_count(events, CHANGE_UPSTREAM_PROVIDER, CHANGE_UPDATED, NULL), 0);
}
END_TEST

START_TEST(test_policy) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET), *q = NULL;
        _cleanup_(user_record_unrefp) UserRecord *ann = test_user(m->store, acme, "ann");
        _cleanup_(user_record_unrefp) UserRecord *olga = test_user(m->store, other, "olga");
        Principal member = member_of(ann, USER_ROLE_MEMBER), admin = member_of(ann, USER_ROLE_ADMIN),
                  owner = member_of(ann, USER_ROLE_OWNER), foreign = member_of(olga, USER_ROLE_OWNER);
        UpstreamProviderSpec spec = SPEC_INIT;
        UpstreamProvider **l = NULL;
        TesseraError e = {};
        size_t n = 0;

        ck_assert(p->enabled);
        spec.name = "gitlab";
        spec.kind = "gitlab";
        spec.client_id = "c";
        ck_assert_int_eq(upstream_provider_create(m, m->store, &test_nobody, acme, &spec, &q, &e), -EACCES);
        ck_assert_int_eq(upstream_provider_create(m, m->store, &member, acme, &spec, &q, &e), -EACCES);
        ck_assert_int_eq(upstream_provider_create(m, m->store, &foreign, acme, &spec, &q, &e), -EACCES);
        ck_assert_int_eq(upstream_provider_list(m, m->store, &member, acme, &l, &n, &e), -EACCES);
        ck_assert_int_eq(upstream_provider_read(m, m->store, &member, acme, "google", &q, &e), -EACCES);
        ck_assert_int_eq(upstream_provider_delete(m, m->store, &member, acme, "google", &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "provider.create", "gitlab@acme", AUDIT_DENIED), 3);
        ck_assert_uint_eq(test_audit_count(m->store, "provider.delete", "google@acme", AUDIT_DENIED), 1);

        /* An admin registers providers making members; making admins or
         * owners of whoever signs in upstream is the owners' call. */
        spec.role = USER_ROLE_ADMIN;
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_provider_create(m, m->store, &admin, acme, &spec, &q, &e), -EACCES);
        ck_assert_ptr_nonnull(strstr(e.message, "role:"));
        ck_assert_int_eq(upstream_provider_create(m, m->store, &owner, acme, &spec, &q, &e), 0);
        q = upstream_provider_free(q);
        spec = (UpstreamProviderSpec) SPEC_INIT;
        spec.role = USER_ROLE_OWNER;
        ck_assert_int_eq(upstream_provider_update(m, m->store, &admin, acme, "google", &spec, &q, &e), -EACCES);
        spec = (UpstreamProviderSpec) SPEC_INIT;
        spec.display_name = "G";
        ck_assert_int_eq(upstream_provider_update(m, m->store, &admin, acme, "gitlab", &spec, &q, &e), 0);
        q = upstream_provider_free(q);
        ck_assert_int_eq(upstream_provider_list(m, m->store, &admin, acme, &l, &n, &e), 0);
        ck_assert_uint_eq(n, 2);
        upstream_provider_array_free(l, n);
}
END_TEST

START_TEST(test_limit) {
        for (int i = 0; i < UPSTREAM_PROVIDERS_PER_TENANT_MAX; i++) {
                char name[16];

                snprintf(name, sizeof(name), "p%d", i);
                upstream_provider_free(create(acme, name, "google", NULL));
        }
        UpstreamProviderSpec spec = SPEC_INIT;
        UpstreamProvider *p = NULL;
        TesseraError e = {};

        spec.name = "one-more";
        spec.kind = "google";
        spec.client_id = "c";
        ck_assert_int_eq(upstream_provider_create(m, m->store, &test_admin, acme, &spec, &p, &e), -E2BIG);
        ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_delete_takes_links) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *p = create(acme, "google", "google", SECRET), *q = NULL;
        _cleanup_(user_record_unrefp) UserRecord *ann = test_user(m->store, acme, "ann");
        UpstreamLink l = {};
        TesseraError e = {};
        int64_t id;

        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, p->id, "1001", NULL, NULL, 1, &id), 0);
        ck_assert_int_eq(upstream_provider_delete(m, m->store, &test_admin, acme, "google", &e), 0);
        ck_assert_int_eq(upstream_provider_get(m, m->store, acme, "google", &q), -ENOENT);
        ck_assert_int_eq(upstream_link_find(m->store, p->id, "1001", &l), -ENOENT);
        ck_assert_uint_eq(test_audit_count(m->store, "provider.delete", "google@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_UPSTREAM_PROVIDER, CHANGE_DELETED, "google"), 1);
        ck_assert_int_eq(upstream_provider_delete(m, m->store, &test_admin, acme, "google", &e), -ENOENT);
        ck_assert_int_eq(store_user_get(m->store, acme->id, "ann", NULL), 0);
}
END_TEST

START_TEST(test_link_add_find) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *g = create(acme, "google", "google", NULL),
                                                            *h = create(acme, "github", "github", NULL),
                                                            *x = create(other, "google", "google", NULL);
        _cleanup_(user_record_unrefp) UserRecord *ann = test_user(m->store, acme, "ann"),
                                                 *bob = test_user(m->store, acme, "bob"),
                                                 *olga = test_user(m->store, other, "olga");
        UpstreamLink l = {};
        int64_t id, id2;

        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, g->id, "1170", "ann@example.com", NULL, 100,
                                           &id),
                         0);
        ck_assert_int_eq(upstream_link_find(m->store, g->id, "1170", &l), 0);
        ck_assert_int_eq(l.id, id);
        ck_assert_int_eq(l.user_id, ann->id);
        ck_assert_int_eq(l.tenant_id, acme->id);
        ck_assert_str_eq(l.provider_name, "google");
        ck_assert_str_eq(l.subject, "1170");
        ck_assert_str_eq(l.email, "ann@example.com");
        ck_assert_ptr_null(l.username);
        ck_assert_uint_eq(l.created_usec, 100);
        upstream_link_done(&l);

        /* One account per upstream identity: the same subject again,
         * for anybody, is refused. */
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, bob->id, g->id, "1170", NULL, NULL, 1, NULL), -EEXIST);
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, g->id, "1170", NULL, NULL, 1, NULL), -EEXIST);
        /* Subjects are the provider's: the same one at GitHub is another. */
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, bob->id, h->id, "1170", NULL, "bobby", 1, &id2), 0);
        ck_assert_int_ne(id, id2);
        /* Never across tenants, whatever the caller passes. */
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, olga->id, g->id, "2", NULL, NULL, 1, NULL), -ENOENT);
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, x->id, "3", NULL, NULL, 1, NULL), -ENOENT);
        ck_assert_int_eq(upstream_link_add(m->store, other->id, olga->id, g->id, "4", NULL, NULL, 1, NULL), -ENOENT);
        /* Not a subject. */
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, g->id, "", NULL, NULL, 1, NULL), -EINVAL);
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, g->id, "a\nb", NULL, NULL, 1, NULL), -EINVAL);
        ck_assert_int_eq(upstream_link_find(m->store, g->id, "9999", &l), -ENOENT);
        ck_assert_int_eq(upstream_link_find(m->store, h->id, "1170", &l), 0);
        ck_assert_int_eq(l.user_id, bob->id);
        ck_assert_str_eq(l.username, "bobby");
        upstream_link_done(&l);

        /* A sign-in through the link records what upstream says now; text
         * that is no line of text is dropped. */
        ck_assert_int_eq(upstream_link_touch(m->store, id, "ann@new.example.com", "ann\x01", 500), 0);
        ck_assert_int_eq(upstream_link_find(m->store, g->id, "1170", &l), 0);
        ck_assert_str_eq(l.email, "ann@new.example.com");
        ck_assert_ptr_null(l.username);
        ck_assert_uint_eq(l.last_used_usec, 500);
        upstream_link_done(&l);
        ck_assert_int_eq(upstream_link_touch(m->store, id + 1000, NULL, NULL, 1), -ENOENT);
}
END_TEST

START_TEST(test_link_ids) {
        char buf[32];
        int64_t id;

        upstream_link_id_format(42, buf);
        ck_assert_str_eq(buf, "idn_42");
        ck_assert_int_eq(upstream_link_id_parse("idn_42", &id), 0);
        ck_assert_int_eq(id, 42);
        ck_assert_int_eq(upstream_link_id_parse("idn_0", &id), -EINVAL);
        ck_assert_int_eq(upstream_link_id_parse("idn_-1", &id), -EINVAL);
        ck_assert_int_eq(upstream_link_id_parse("idn_4x", &id), -EINVAL);
        ck_assert_int_eq(upstream_link_id_parse("inv_4", &id), -EINVAL);
        ck_assert_int_eq(upstream_link_id_parse("42", &id), -EINVAL);
        ck_assert_int_eq(upstream_link_id_parse(NULL, &id), -EINVAL);
}
END_TEST

START_TEST(test_link_list_and_remove) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *g = create(acme, "google", "google", NULL),
                                                            *h = create(acme, "github", "github", NULL);
        _cleanup_(user_record_unrefp) UserRecord *ann = test_user(m->store, acme, "ann"),
                                                 *bob = test_user(m->store, acme, "bob");
        Principal self = member_of(ann, USER_ROLE_MEMBER), bob_p = member_of(bob, USER_ROLE_MEMBER),
                  admin = member_of(bob, USER_ROLE_ADMIN);
        UpstreamLink *l = NULL;
        TesseraError e = {};
        int64_t gid, hid;
        size_t n = 0;

        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, g->id, "g-1", NULL, NULL, 1, &gid), 0);
        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, h->id, "h-1", NULL, NULL, 2, &hid), 0);

        ck_assert_int_eq(upstream_link_list(m, m->store, &self, acme, ann->id, &l, &n, &e), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_int_eq(l[0].id, gid);
        ck_assert_str_eq(l[0].provider_name, "google");
        ck_assert_str_eq(l[1].provider_name, "github");
        upstream_link_array_free(l, n);
        ck_assert_int_eq(upstream_link_list(m, m->store, &admin, acme, ann->id, &l, &n, &e), 0);
        upstream_link_array_free(l, n);
        ck_assert_int_eq(upstream_link_list(m, m->store, &bob_p, acme, ann->id, &l, &n, &e), -EACCES);
        ck_assert_int_eq(upstream_link_list(m, m->store, &test_admin, other, ann->id, &l, &n, &e), -ENOENT);

        /* Another member may not; a link of another user is not found
         * through this one. */
        ck_assert_int_eq(upstream_link_remove(m, m->store, &bob_p, acme, ann->id, gid, &e), -EACCES);
        ck_assert_uint_eq(test_audit_count(m->store, "user.unlink", "ann@acme", AUDIT_DENIED), 1);
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_link_remove(m, m->store, &test_admin, acme, bob->id, gid, &e), -ENOENT);

        /* No password: one link may go, the last may not. */
        ck_assert_int_eq(upstream_link_remove(m, m->store, &self, acme, ann->id, gid, &e), 0);
        ck_assert_uint_eq(test_audit_count(m->store, "user.unlink", "ann@acme", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(test_events_count(events, CHANGE_USER, CHANGE_UPDATED, "ann"), 1);
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_link_remove(m, m->store, &self, acme, ann->id, hid, &e), -EPERM);
        ck_assert_ptr_nonnull(strstr(e.message, "only way"));
        ck_assert_int_eq(upstream_link_remove(m, m->store, &test_admin, acme, ann->id, hid, &e), -EPERM);
        ck_assert_uint_eq(test_audit_count(m->store, "user.unlink", "ann@acme", AUDIT_SUCCESS), 1);
        ck_assert_int_eq(upstream_link_list(m, m->store, &self, acme, ann->id, &l, &n, &e), 0);
        ck_assert_uint_eq(n, 1);
        upstream_link_array_free(l, n);

        /* With a password, the last link may go too. */
        set_password(ann);
        e = (TesseraError) {};
        ck_assert_int_eq(upstream_link_remove(m, m->store, &self, acme, ann->id, hid, &e), 0);
        ck_assert_int_eq(upstream_link_list(m, m->store, &self, acme, ann->id, &l, &n, &e), 0);
        ck_assert_uint_eq(n, 0);
        free(l);
        ck_assert_int_eq(upstream_link_remove(m, m->store, &self, acme, ann->id, hid, &e), -ENOENT);
}
END_TEST

START_TEST(test_link_goes_with_user) {
        _cleanup_(upstream_provider_freep) UpstreamProvider *g = create(acme, "google", "google", NULL);
        _cleanup_(user_record_unrefp) UserRecord *ann = test_user(m->store, acme, "ann");
        UpstreamLink l = {};

        ck_assert_int_eq(upstream_link_add(m->store, acme->id, ann->id, g->id, "g-1", NULL, NULL, 1, NULL), 0);
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_delete(m->store, ann->id), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        ck_assert_int_eq(upstream_link_find(m->store, g->id, "g-1", &l), -ENOENT);
}
END_TEST

static Suite *upstream_suite(void) {
        Suite *s = suite_create("upstream-registry");
        TCase *tc = tcase_create("providers");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_signup_names);
        tcase_add_test(tc, test_names_and_urls);
        tcase_add_test(tc, test_create_defaults);
        tcase_add_test(tc, test_create_everything);
        tcase_add_test(tc, test_list);
        tcase_add_test(tc, test_create_invalid);
        tcase_add_test(tc, test_create_duplicate);
        tcase_add_test(tc, test_secret_sealed);
        tcase_add_test(tc, test_update);
        tcase_add_test(tc, test_update_invalid);
        tcase_add_test(tc, test_policy);
        tcase_add_test(tc, test_limit);
        tcase_add_test(tc, test_delete_takes_links);
        suite_add_tcase(s, tc);

        tc = tcase_create("links");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_link_add_find);
        tcase_add_test(tc, test_link_ids);
        tcase_add_test(tc, test_link_list_and_remove);
        tcase_add_test(tc, test_link_goes_with_user);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(upstream_suite());
}
