/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* http/openapi.json against the route table: every route of the JSON API
 * documented with its policy action and path parameters, nothing
 * documented that is not routed, every response of every operation in a
 * documented shape, and every error code the face can answer with listed
 * in the envelope's enum. */

#include <ctype.h>
#include <strings.h>
#include <jansson.h>

#include "http-internal.h"
#include "http-openapi.h"
#include "test-util.h"

static json_t *doc;

static void setup(void) {
        json_error_t e;

        doc = json_loadb(http_openapi_json, http_openapi_json_len, JSON_REJECT_DUPLICATES, &e);
        ck_assert_msg(doc, "openapi.json: %s at %d:%d", e.text, e.line, e.column);
}

static void teardown(void) {
        json_decref(doc);
        doc = NULL;
}

/* A local "$ref" ("#/components/responses/Error") followed to its target. */
static json_t *deref(json_t *j) {
        const char *ref = json_string_value(json_object_get(j, "$ref"));
        _cleanup_free_ char *copy = NULL;
        json_t *at = doc;

        if (!ref)
                return j;
        ck_assert_msg(strneq(ref, "#/", 2), "%s", ref);
        copy = strdup(ref + 2);
        for (char *p = copy, *slash; p; p = slash ? slash + 1 : NULL) {
                slash = strchr(p, '/');
                if (slash)
                        *slash = '\0';
                at = json_object_get(at, p);
                ck_assert_msg(at, "%s does not resolve", ref);
        }
        return at;
}

static json_t *operation(const char *pattern, const char *method) {
        char lower[16];
        size_t i;

        for (i = 0; method[i] && i < sizeof(lower) - 1; i++)
                lower[i] = (char) tolower((unsigned char) method[i]);
        lower[i] = '\0';
        return json_object_get(json_object_get(json_object_get(doc, "paths"), pattern), lower);
}

static bool routed(const char *pattern, const char *method) {
        for (const HttpRoute *r = http_routes; r->method; r++)
                if (streq(r->pattern, pattern) && strcasecmp(r->method, method) == 0)
                        return true;
        return false;
}

static bool has_path_parameter(json_t *op, const char *name, size_t len) {
        size_t i;
        json_t *p;

        json_array_foreach(json_object_get(op, "parameters"), i, p) {
                const char *n = json_string_value(json_object_get(deref(p), "name"));
                const char *in = json_string_value(json_object_get(deref(p), "in"));

                if (n && in && streq(in, "path") && strlen(n) == len && strneq(n, name, len))
                        return true;
        }
        return false;
}

START_TEST(test_document_is_openapi_3_1) {
        ck_assert_str_eq(json_string_value(json_object_get(doc, "openapi")), "3.1.0");
        ck_assert_ptr_nonnull(json_object_get(json_object_get(doc, "info"), "title"));
        ck_assert(json_is_object(json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                                 "Error")));
}
END_TEST

START_TEST(test_every_route_documented) {
        size_t n = 0;

        for (const HttpRoute *r = http_routes; r->method; r++) {
                json_t *op;

                if (!strneq(r->pattern, "/api/", 5))
                        continue;
                n++;
                op = operation(r->pattern, r->method);
                ck_assert_msg(op, "%s %s is routed but not in openapi.json", r->method, r->pattern);
                /* The action the router checks, as the document says. */
                ck_assert_str_eq(json_string_value(json_object_get(op, "x-tessera-action")),
                                 policy_action_to_string(r->action));
                ck_assert_msg(json_string_value(json_object_get(op, "operationId")), "%s", r->pattern);
                /* Every capture is a declared path parameter. */
                for (const char *p = strchr(r->pattern, '{'); p; p = strchr(p + 1, '{')) {
                        const char *close = strchr(p, '}');

                        ck_assert_ptr_nonnull(close);
                        ck_assert_msg(has_path_parameter(op, p + 1, (size_t) (close - p - 1)), "%s: %.*s undeclared",
                                      r->pattern, (int) (close - p - 1), p + 1);
                }
        }
        ck_assert_uint_ge(n, 3);
}
END_TEST

START_TEST(test_nothing_documented_unrouted) {
        const char *pattern, *method;
        json_t *item, *op;

        json_object_foreach(json_object_get(doc, "paths"), pattern, item) {
                ck_assert_msg(strneq(pattern, "/api/v1/", 8), "%s", pattern);
                json_object_foreach(item, method, op) {
                        if (streq(method, "parameters") || streq(method, "summary") || streq(method, "description"))
                                continue;
                        ck_assert_msg(routed(pattern, method), "%s %s is documented but not routed", method, pattern);
                }
        }
}
END_TEST

START_TEST(test_every_response_has_a_shape) {
        const char *pattern, *method, *status;
        json_t *item, *op, *resp;

        json_object_foreach(json_object_get(doc, "paths"), pattern, item)
                json_object_foreach(item, method, op) {
                        json_t *responses = json_object_get(op, "responses");
                        bool success = false;

                        ck_assert_msg(json_object_get(responses, "default"), "%s %s: no default response", method,
                                      pattern);
                        json_object_foreach(responses, status, resp) {
                                json_t *r = deref(resp), *content = json_object_get(r, "content");

                                ck_assert_msg(json_string_value(json_object_get(r, "description")), "%s %s %s",
                                              method, pattern, status);
                                success = success || status[0] == '2';
                                /* Errors are the envelope; a 204 has no body, nor
                                 * has a redirect, which names where in Location;
                                 * an export may answer JSON lines. */
                                if (status[0] == '3')
                                        ck_assert_msg(json_object_get(json_object_get(r, "headers"), "Location"),
                                                      "%s %s %s: a redirect without Location", method, pattern,
                                                      status);
                                else if (!streq(status, "204"))
                                        ck_assert_msg(json_object_get(json_object_get(content, "application/json"),
                                                                      "schema") ||
                                                              (status[0] == '2' &&
                                                               json_object_get(json_object_get(content,
                                                                                               "application/x-ndjson"),
                                                                               "schema")),
                                                      "%s %s %s: no JSON schema", method, pattern, status);
                                if (status[0] == '4' || status[0] == '5' || streq(status, "default"))
                                        ck_assert_str_eq(json_string_value(json_object_get(
                                                                 json_object_get(json_object_get(content,
                                                                                                 "application/json"),
                                                                                 "schema"),
                                                                 "$ref")),
                                                         "#/components/schemas/Error");
                        }
                        ck_assert_msg(success, "%s %s: no success response", method, pattern);
                }
}
END_TEST

static bool code_listed(const char *code) {
        json_t *codes = json_object_get(json_object_get(json_object_get(json_object_get(json_object_get(doc,
                                                                                                        "components"),
                                                                                        "schemas"),
                                                                        "Error"),
                                                        "properties"),
                                        "code");
        size_t i;
        json_t *c;

        json_array_foreach(json_object_get(codes, "enum"), i, c)
                if (streq(json_string_value(c), code))
                        return true;
        return false;
}

START_TEST(test_error_codes_listed) {
        /* Every code of the one error map... */
        for (int e = 0; e < 256; e++)
                ck_assert_msg(code_listed(http_error_map(-e)->code), "%s", http_error_map(-e)->code);
        /* ...and those of the router, the door and typed JSON bodies. */
        static const char *const others[] = {
                "unauthenticated", "invalid_token", "forbidden", "invalid_path", "unknown_tenant", "bad_request",
                "method_not_allowed", "body_too_large", "headers_too_large", "unsupported_media_type",
                "malformed_json", "unknown_field", "wrong_type", "missing_field", "too_long", "out_of_range",
                "rate_limited",
        };
        for (size_t i = 0; i < ELEMENTSOF(others); i++)
                ck_assert_msg(code_listed(others[i]), "%s", others[i]);
}
END_TEST

int main(void) {
        Suite *s = suite_create("http-openapi");
        TCase *tc = tcase_create("openapi");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_document_is_openapi_3_1);
        tcase_add_test(tc, test_every_route_documented);
        tcase_add_test(tc, test_nothing_documented_unrouted);
        tcase_add_test(tc, test_every_response_has_a_shape);
        tcase_add_test(tc, test_error_codes_listed);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
