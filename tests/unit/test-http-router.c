/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP router (http/http-router.c): matching on the raw path, named
 * captures and their decoding, 404/405/400, the route table as shipped
 * (every route declares a policy action, and only the OpenID provider's
 * and the health checks' are open to anonymous callers), and the one map
 * from core errors to HTTP (http-errors.c). */

#include "http-handlers.h"
#include "test-util.h"

static void handler_a(HttpRequest *r) {
}

static void handler_b(HttpRequest *r) {
}

static const HttpRoute table[] = {
        { "GET", "/healthz", POLICY_HEALTH, handler_a },
        { "GET", "/t/{tenant}/token", POLICY_OIDC_CLIENT, handler_a },
        { "POST", "/t/{tenant}/token", POLICY_OIDC_CLIENT, handler_b },
        { "GET", "/api/v1/tenants/{tenant}/users/me", POLICY_USER_READ, handler_b },
        { "GET", "/api/v1/tenants/{tenant}/users/{user}", POLICY_USER_READ, handler_a },
        { "DELETE", "/api/v1/tenants/{tenant}/users/{user}", POLICY_USER_DELETE, handler_b },
        { "GET", "/api/v1/tenants/{tenant}/groups/{group}/members/{user}", POLICY_GROUP_READ, handler_a },
        {},
};

/* The request of the last find(), as the router sees it (no connection
 * needed). */
static HttpRequest *req;

static int find_in(const HttpRoute *t, const char *method, const char *path, HttpRouteMiss *miss) {
        free(req);
        req = http_request_alloc(path, strlen(path));
        ck_assert_ptr_nonnull(req);
        return http_routes_find(t, req, method, miss);
}

static int find(const char *method, const char *path, HttpRouteMiss *miss) {
        return find_in(table, method, path, miss);
}

static void teardown(void) {
        free(req);
        req = NULL;
}

START_TEST(test_literal_and_tenant) {
        HttpRouteMiss miss;

        ck_assert_int_eq(find("GET", "/healthz", &miss), 0);
        ck_assert_ptr_eq(req->route, &table[0]);
        ck_assert_str_eq(req->tenant_slug, "");
        ck_assert_ptr_null(http_capture(req, "tenant"));

        ck_assert_int_eq(find("POST", "/t/acme/token", &miss), 0);
        ck_assert_ptr_eq(req->route, &table[2]);
        ck_assert_str_eq(req->tenant_slug, "acme");
        ck_assert_str_eq(http_capture(req, "tenant"), "acme");
        ck_assert_ptr_null(http_capture(req, "user"));
        ck_assert_ptr_null(http_capture(req, "tenan"));

        /* Escapes decode, in a literal segment and in {tenant}. */
        ck_assert_int_eq(find("GET", "/t/%61cme/tok%65n", &miss), 0);
        ck_assert_str_eq(req->tenant_slug, "acme");
        ck_assert_int_eq(find("GET", "/%68ealthz", &miss), 0);

        /* {tenant} must be a slug, or it names no tenant: no route. */
        const char *not_slugs[] = { "/t/ACME/token", "/t/-acme/token", "/t//token", "/t/ac%2Fme/token",
                                    "/t/ac%zzme/token", "/t/a_b/token", "/t/acme%00/token" };
        for (size_t i = 0; i < ELEMENTSOF(not_slugs); i++) {
                ck_assert_msg(find("GET", not_slugs[i], &miss) == -ENOENT, "%s", not_slugs[i]);
                ck_assert_ptr_null(req->route);
        }
        char long_slug[80] = "/t/";
        memset(long_slug + 3, 'a', 64);
        strcpy(long_slug + 67, "/token");
        ck_assert_int_eq(find("GET", long_slug, &miss), -ENOENT);
}
END_TEST

START_TEST(test_not_found_and_methods) {
        HttpRouteMiss miss;

        const char *missing[] = { "", "/", "/healthz/", "/healthz/x", "//healthz", "/healthzz", "/t/acme",
                                  "/t/acme/token/", "/api/v1/tenants/acme/users", "/api/v1/tenants/acme/users/",
                                  "/api/v1/tenants/acme/users/alice/", "/api/v1/tenants/acme/users//x",
                                  "http://host/healthz", "*" };
        for (size_t i = 0; i < ELEMENTSOF(missing); i++) {
                ck_assert_msg(find("GET", missing[i], &miss) == -ENOENT, "'%s'", missing[i]);
                ck_assert_ptr_null(req->route);
        }

        ck_assert_int_eq(find("PUT", "/t/acme/token", &miss), -EOPNOTSUPP);
        ck_assert_str_eq(miss.allow, "GET, POST");
        ck_assert_ptr_null(req->route);
        ck_assert_int_eq(find("POST", "/api/v1/tenants/acme/users/alice", &miss), -EOPNOTSUPP);
        ck_assert_str_eq(miss.allow, "GET, DELETE");
        /* A method is compared exactly. */
        ck_assert_int_eq(find("get", "/healthz", &miss), -EOPNOTSUPP);
        ck_assert_str_eq(miss.allow, "GET");
}
END_TEST

START_TEST(test_captures) {
        HttpRouteMiss miss;

        ck_assert_int_eq(find("GET", "/api/v1/tenants/acme/users/alice", &miss), 0);
        ck_assert_ptr_eq(req->route, &table[4]);
        ck_assert_uint_eq(req->n_captures, 2);
        ck_assert_str_eq(http_capture(req, "tenant"), "acme");
        ck_assert_str_eq(http_capture(req, "user"), "alice");

        /* The first route of the table that matches wins: "me" before {user}. */
        ck_assert_int_eq(find("GET", "/api/v1/tenants/acme/users/me", &miss), 0);
        ck_assert_ptr_eq(req->route, &table[3]);
        ck_assert_ptr_null(http_capture(req, "user"));
        ck_assert_int_eq(find("DELETE", "/api/v1/tenants/acme/users/me", &miss), 0);
        ck_assert_ptr_eq(req->route, &table[5]);
        ck_assert_str_eq(http_capture(req, "user"), "me");

        ck_assert_int_eq(find("GET", "/api/v1/tenants/globex/groups/dev%20ops/members/%C3%A9mile", &miss), 0);
        ck_assert_uint_eq(req->n_captures, 3);
        ck_assert_str_eq(http_capture(req, "tenant"), "globex");
        ck_assert_str_eq(http_capture(req, "group"), "dev ops");
        ck_assert_str_eq(http_capture(req, "user"), "\xc3\xa9mile");

        /* "+" is no space in a path; other escapes decode. */
        ck_assert_int_eq(find("GET", "/api/v1/tenants/acme/users/a+b%2b%7E", &miss), 0);
        ck_assert_str_eq(http_capture(req, "user"), "a+b+~");
}
END_TEST

START_TEST(test_bad_captures) {
        HttpRouteMiss miss;
        char path[1024];

        /* Not one valid segment: a bad escape, an escaped "/" or NUL, a
         * control character, what is not UTF-8. */
        const char *bad[] = { "%zz", "a%", "a%2", "%g0", "a%00b", "a%2Fb", "a%2fb", "%0a", "%7F", "%ff", "%C3",
                              "%C3%28", "%ED%A0%80", "a\x01" "b", "\xff" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(path, sizeof(path), "/api/v1/tenants/acme/groups/g/members/%s", bad[i]);
                ck_assert_msg(find("GET", path, &miss) == -EBADMSG, "%s", bad[i]);
                ck_assert_str_eq(miss.capture, "user");
                ck_assert_ptr_null(req->route);
                ck_assert_uint_eq(req->n_captures, 0);
        }
        snprintf(path, sizeof(path), "/api/v1/tenants/acme/groups/%%zz/members/u");
        ck_assert_int_eq(find("GET", path, &miss), -EBADMSG);
        ck_assert_str_eq(miss.capture, "group");

        /* HTTP_CAPTURE_MAX_LEN bytes, decoded, and no more. */
        memcpy(path, "/api/v1/tenants/acme/users/", 27);
        memset(path + 27, 'a', HTTP_CAPTURE_MAX_LEN);
        path[27 + HTTP_CAPTURE_MAX_LEN] = '\0';
        ck_assert_int_eq(find("GET", path, &miss), 0);
        ck_assert_uint_eq(strlen(http_capture(req, "user")), HTTP_CAPTURE_MAX_LEN);
        strcat(path, "a");
        ck_assert_int_eq(find("GET", path, &miss), -E2BIG);
        ck_assert_str_eq(miss.capture, "user");
        /* Escaped, the limit is on the decoded bytes. */
        size_t n = 27;
        for (size_t i = 0; i < HTTP_CAPTURE_MAX_LEN; i++, n += 3)
                memcpy(path + n, "%61", 3);
        path[n] = '\0';
        ck_assert_int_eq(find("GET", path, &miss), 0);
        ck_assert_uint_eq(strlen(http_capture(req, "user")), HTTP_CAPTURE_MAX_LEN);

        /* A bad capture of a method the path does not take: 405 first. */
        ck_assert_int_eq(find("PUT", "/api/v1/tenants/acme/users/%zz", &miss), -EOPNOTSUPP);
}
END_TEST

START_TEST(test_segment_decode) {
        char out[8];
        size_t n;

        ck_assert_int_eq(http_path_segment_decode("a%41b", 5, out, sizeof(out), &n), 0);
        ck_assert_str_eq(out, "aAb");
        ck_assert_uint_eq(n, 3);
        /* Only n bytes are read. */
        ck_assert_int_eq(http_path_segment_decode("ab%zz", 2, out, sizeof(out), &n), 0);
        ck_assert_str_eq(out, "ab");
        ck_assert_int_eq(http_path_segment_decode("ab%4", 4, out, sizeof(out), &n), -EBADMSG);
        ck_assert_int_eq(http_path_segment_decode("", 0, out, sizeof(out), &n), 0);
        ck_assert_str_eq(out, "");
        /* Seven bytes and the NUL fit in 8. */
        ck_assert_int_eq(http_path_segment_decode("abcdefg", 7, out, sizeof(out), &n), 0);
        ck_assert_int_eq(http_path_segment_decode("abcdefgh", 8, out, sizeof(out), &n), -E2BIG);
        ck_assert_int_eq(http_path_segment_decode("%2F", 3, out, sizeof(out), &n), -EBADMSG);
}
END_TEST

static bool pattern_well_formed(const char *pattern, size_t *ret_captures) {
        char names[HTTP_CAPTURES_MAX][32];
        size_t n = 0;

        if (pattern[0] != '/')
                return false;
        for (const char *p = pattern; *p;) {
                size_t len;

                if (*p != '/')
                        return false;
                p++;
                len = strcspn(p, "/");
                if (len == 0)
                        return false;
                if (memchr(p, '{', len) || memchr(p, '}', len)) {
                        /* A capture is a whole segment, "{name}", named once. */
                        if (p[0] != '{' || p[len - 1] != '}' || len < 3 || len - 2 >= sizeof(names[0]) ||
                            n >= HTTP_CAPTURES_MAX)
                                return false;
                        snprintf(names[n], sizeof(names[n]), "%.*s", (int) (len - 2), p + 1);
                        for (size_t i = 0; i < n; i++)
                                if (streq(names[i], names[n]))
                                        return false;
                        n++;
                }
                p += len;
        }
        *ret_captures = n;
        return true;
}

START_TEST(test_route_table) {
        Principal anonymous = principal_anonymous("http", "test");
        PolicyTarget none = POLICY_TARGET_NONE;
        size_t n_routes = 0;

        for (const HttpRoute *r = http_routes; r->method; r++, n_routes++) {
                size_t captures;
                bool open, protocol;

                ck_assert_msg(http_method_valid(r->method), "%s", r->pattern);
                ck_assert_msg(pattern_well_formed(r->pattern, &captures), "%s", r->pattern);
                ck_assert_ptr_nonnull(r->handler);
                /* Every route declares an action the policy knows. */
                ck_assert_msg(policy_action_to_string(r->action), "%s %s", r->method, r->pattern);
                for (const HttpRoute *o = http_routes; o < r; o++)
                        ck_assert_msg(!(streq(o->method, r->method) && streq(o->pattern, r->pattern)), "%s twice",
                                      r->pattern);

                /* Open to anonymous callers: exactly the OpenID provider's
                 * protocol endpoints and pages, the health checks,
                 * /metrics (whose handler lets through allowed addresses
                 * and the metrics token only), and the JSON API's steps
                 * that authenticate inside: sign-up and sign-in (a
                 * password, a code, a refresh token; an operator's with
                 * TOTP; an upstream provider's code) and the account
                 * flows by mail (a mailed token; "forgot" answers the
                 * same for everybody). Nothing else of the JSON API. */
                open = policy_check(&anonymous, r->action, &none) == 0;
                protocol = strneq(r->pattern, "/t/{tenant}/", 12) || streq(r->pattern, "/healthz") ||
                           streq(r->pattern, "/readyz") || streq(r->pattern, "/metrics") ||
                           streq(r->pattern, "/api/v1/openapi.json") ||
                           streq(r->pattern, "/api/v1/signup") || streq(r->pattern, "/signup") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/signup") ||
                           streq(r->pattern, "/api/v1/platform/auth/signin") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/signin") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/mfa") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/oauth/{provider}") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/oauth/callback") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/mfa/enrol") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/mfa/enrol/confirm") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/refresh") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/forgot") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/reset") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/verify-email") ||
                           streq(r->pattern, "/api/v1/tenants/{tenant}/auth/accept-invitation");
                ck_assert_msg(open == protocol, "%s %s", r->method, r->pattern);
                /* A CORS preflight only where a publishable key may POST
                 * from a browser. */
                if (streq(r->method, "OPTIONS")) {
                        Principal pk = { .kind = PRINCIPAL_PUBLISHABLE_KEY, .uid = -1, .tenant_id = 1,
                                         .application_id = 1 };
                        PolicyTarget tenant = policy_target_tenant(1);
                        bool post = false;

                        ck_assert_int_eq(r->action, POLICY_CORS_PREFLIGHT);
                        for (const HttpRoute *o = http_routes; o->method; o++)
                                if (streq(o->method, "POST") && streq(o->pattern, r->pattern)) {
                                        ck_assert_int_eq(policy_check(&pk, o->action, &tenant), 0);
                                        post = true;
                                }
                        ck_assert_msg(post, "OPTIONS %s without its POST", r->pattern);
                }
                /* A route of a tenant's resource names its tenant. */
                if (strneq(r->pattern, "/api/v1/tenants/", 16))
                        ck_assert(strneq(r->pattern, "/api/v1/tenants/{tenant}", 24));
        }
        ck_assert_uint_ge(n_routes, 18);

        /* The shipped table routes what it lists. */
        HttpRouteMiss miss;
        ck_assert_int_eq(find_in(http_routes, "GET", "/api/v1/tenants/acme/users/alice", &miss), 0);
        ck_assert_int_eq(req->route->action, POLICY_USER_READ);
        ck_assert_int_eq(find_in(http_routes, "GET", "/api/v1/tenants/acme", &miss), 0);
        ck_assert_int_eq(req->route->action, POLICY_TENANT_READ);
        ck_assert_int_eq(find_in(http_routes, "POST", "/t/acme/token", &miss), 0);
        ck_assert_int_eq(req->route->action, POLICY_OIDC_CLIENT);
}
END_TEST

START_TEST(test_error_map) {
        static const struct {
                int error;
                unsigned status;
                const char *code;
                unsigned retry_after;
        } expect[] = {
                { -ENOENT, 404, "not_found", 0 },
                { -EEXIST, 409, "conflict", 0 },
                { -EINVAL, 422, "invalid", 0 },
                { -EACCES, 403, "forbidden", 0 },
                { -EPERM, 403, "forbidden", 0 },
                { -EKEYREJECTED, 401, "authentication_failed", 0 },
                { -EBUSY, 503, "unavailable", 1 },
                { -ESHUTDOWN, 503, "unavailable", 1 },
                { -EDQUOT, 507, "storage_full", 60 },
                { -EIO, 503, "storage_unavailable", 10 },
                { -EOPNOTSUPP, 409, "not_supported", 0 },
                { -ENOSPC, 409, "id_range_exhausted", 0 },
                { -ERANGE, 422, "out_of_range", 0 },
                { -ENOTEMPTY, 409, "not_empty", 0 },
                { -E2BIG, 413, "too_large", 0 },
                { -ESTALE, 412, "precondition_failed", 0 },
                { -ENOLCK, 403, "account_locked", 0 },
                { -EKEYREVOKED, 403, "account_disabled", 0 },
                { -EKEYEXPIRED, 403, "account_expired", 0 },
                { -ENOMEM, 500, "internal_error", 0 },
                { -EPROTO, 500, "internal_error", 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(expect); i++) {
                const HttpErrorMap *m = http_error_map(expect[i].error);

                ck_assert_msg(m->status == expect[i].status, "%s: %u", strerror(-expect[i].error), m->status);
                ck_assert_str_eq(m->code, expect[i].code);
                ck_assert_uint_eq(m->retry_after, expect[i].retry_after);
                ck_assert(m->message && m->message[0]);
                /* Ours (5xx and 507) or the client's (4xx). */
                ck_assert(m->server_side == (m->status >= 500));
                /* A positive errno maps the same. */
                ck_assert_ptr_eq(http_error_map(-expect[i].error), m);
        }
}
END_TEST

static Suite *router_suite(void) {
        Suite *s = suite_create("http-router");
        TCase *tc = tcase_create("router");

        tcase_add_checked_fixture(tc, NULL, teardown);
        tcase_add_test(tc, test_literal_and_tenant);
        tcase_add_test(tc, test_not_found_and_methods);
        tcase_add_test(tc, test_captures);
        tcase_add_test(tc, test_bad_captures);
        tcase_add_test(tc, test_segment_decode);
        tcase_add_test(tc, test_route_table);
        tcase_add_test(tc, test_error_map);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(router_suite());
}
