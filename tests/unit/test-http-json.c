/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed JSON bodies (http/http-json.c): every type, nested objects and
 * arrays of them, limits, and each refusal with its status, code and the
 * JSON path it names. */

#include <math.h>

#include "http-internal.h"
#include "names.h"
#include "test-util.h"

typedef struct Phone {
        char *number;
        bool primary;
} Phone;

typedef struct Profile {
        char *display;
        char *phone;
        Phone *phones;
        size_t n_phones;
} Profile;

typedef struct Body {
        char *name;
        int64_t uid;
        bool has_uid;
        double weight;
        bool admin;
        bool has_admin;
        char **groups;
        Profile profile;
        bool has_profile;
        char *password;
        char *note;
        bool has_note;
} Body;

static const JsonField phone_fields[] = {
        JSON_FIELD_STRING(Phone, number, "number", .required = true, .max_len = 16),
        JSON_FIELD_BOOLEAN(Phone, primary, "primary"),
        {},
};
static const JsonSchema phone_schema = { phone_fields, sizeof(Phone) };

static const JsonField profile_fields[] = {
        JSON_FIELD_STRING(Profile, display, "display", .required = true, .max_len = 8),
        JSON_FIELD_OBJECTS(Profile, phones, n_phones, "phones", &phone_schema, .max_len = 3),
        {},
};
static const JsonSchema profile_schema = { profile_fields, sizeof(Profile) };

static const JsonField body_fields[] = {
        JSON_FIELD_STRING(Body, name, "name", .required = true, .max_len = 32),
        JSON_FIELD_INTEGER(Body, uid, "uid", .min = 1000, .max = 60000, .present = JSON_PRESENT(Body, has_uid)),
        JSON_FIELD_NUMBER(Body, weight, "weight", .min_number = 0, .max_number = 1),
        JSON_FIELD_BOOLEAN(Body, admin, "admin", .present = JSON_PRESENT(Body, has_admin)),
        JSON_FIELD_STRINGS(Body, groups, "groups", .max_len = 3, .item_max_len = 5),
        JSON_FIELD_OBJECT(Body, profile, "profile", &profile_schema, .present = JSON_PRESENT(Body, has_profile)),
        JSON_FIELD_STRING(Body, password, "password", .secret = true),
        JSON_FIELD_STRING(Body, note, "note", .nullable = true, .present = JSON_PRESENT(Body, has_note)),
        {},
};
static const JsonSchema body_schema = { body_fields, sizeof(Body) };

static int parse(const char *text, Body *b, JsonError *err) {
        return json_schema_parse(&body_schema, text, strlen(text), b, err);
}

START_TEST(test_every_type) {
        Body b = { .uid = 42, .weight = 0.5 };   /* defaults for what is not given */
        JsonError err = {};

        ck_assert_int_eq(parse("{\"name\": \"alice\", \"admin\": false, \"groups\": [\"dev\", \"ops\"], "
                               "\"profile\": {\"display\": \"Al\", \"phones\": [{\"number\": \"+1 555\"}, "
                               "{\"number\": \"+2\", \"primary\": true}]}, \"password\": \"s3cret\", "
                               "\"note\": null, \"weight\": 1}",
                               &b, &err),
                         0);
        ck_assert_str_eq(b.name, "alice");
        ck_assert_int_eq(b.uid, 42);
        ck_assert(!b.has_uid);
        ck_assert(b.weight == 1.0);
        ck_assert(!b.admin);
        ck_assert(b.has_admin);
        ASSERT_STRV(b.groups, "dev", "ops");
        ck_assert(b.has_profile);
        ck_assert_str_eq(b.profile.display, "Al");
        ck_assert_ptr_null(b.profile.phone);
        ck_assert_uint_eq(b.profile.n_phones, 2);
        ck_assert_str_eq(b.profile.phones[0].number, "+1 555");
        ck_assert(!b.profile.phones[0].primary);
        ck_assert_str_eq(b.profile.phones[1].number, "+2");
        ck_assert(b.profile.phones[1].primary);
        ck_assert_str_eq(b.password, "s3cret");
        /* null where it is allowed: given, without a value. */
        ck_assert(b.has_note);
        ck_assert_ptr_null(b.note);

        json_schema_done(&body_schema, &b);
        ck_assert_ptr_null(b.name);
        ck_assert_ptr_null(b.groups);
        ck_assert_ptr_null(b.profile.phones);
        ck_assert_uint_eq(b.profile.n_phones, 0);
        /* Done twice is harmless. */
        json_schema_done(&body_schema, &b);

        /* The least: the one required field; an empty array. */
        ck_assert_int_eq(parse("{\"name\": \"b\", \"uid\": 1000, \"groups\": []}", &b, &err), 0);
        ck_assert_int_eq(b.uid, 1000);
        ck_assert(b.has_uid);
        ck_assert_ptr_nonnull(b.groups);
        ck_assert_ptr_null(b.groups[0]);
        json_schema_done(&body_schema, &b);
}
END_TEST

typedef struct Case {
        const char *json;
        unsigned status;
        const char *code;
        const char *field;
} Case;

START_TEST(test_refusals) {
        static const Case cases[] = {
                /* Not JSON, or JSON we do not take: 400. */
                { "", 400, "malformed_json", "" },
                { "{", 400, "malformed_json", "" },
                { "{\"name\": \"a\",}", 400, "malformed_json", "" },
                { "{\"name\": \"a\", \"name\": \"b\"}", 400, "malformed_json", "" },
                { "{\"name\": \"a\\u0000b\"}", 400, "malformed_json", "" },
                { "{\"name\": \"\xff\"}", 400, "malformed_json", "" },
                { "{\"name\": \"a\"} x", 400, "malformed_json", "" },
                { "{\"name\": 'a'}", 400, "malformed_json", "" },
                /* Well-formed, refused by the schema: 422 and the path. */
                { "[]", 422, "wrong_type", "" },
                { "\"name\"", 400, "malformed_json", "" },
                { "{}", 422, "missing_field", "name" },
                { "{\"name\": \"a\", \"extra\": 1}", 422, "unknown_field", "extra" },
                { "{\"Name\": \"a\"}", 422, "unknown_field", "Name" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phone\": \"1\"}}", 422, "unknown_field",
                  "profile.phone" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phones\": [{\"number\": \"1\"}, "
                  "{\"number\": \"2\", \"kind\": \"home\"}]}}",
                  422, "unknown_field", "profile.phones[1].kind" },
                { "{\"name\": \"a\", \"profile\": {}}", 422, "missing_field", "profile.display" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phones\": [{}]}}", 422, "missing_field",
                  "profile.phones[0].number" },
                { "{\"name\": 1}", 422, "wrong_type", "name" },
                { "{\"name\": null}", 422, "wrong_type", "name" },
                { "{\"name\": [\"a\"]}", 422, "wrong_type", "name" },
                { "{\"name\": \"a\", \"uid\": \"1000\"}", 422, "wrong_type", "uid" },
                { "{\"name\": \"a\", \"uid\": 1000.0}", 422, "wrong_type", "uid" },
                { "{\"name\": \"a\", \"uid\": true}", 422, "wrong_type", "uid" },
                { "{\"name\": \"a\", \"weight\": \"0.5\"}", 422, "wrong_type", "weight" },
                { "{\"name\": \"a\", \"admin\": 1}", 422, "wrong_type", "admin" },
                { "{\"name\": \"a\", \"admin\": \"true\"}", 422, "wrong_type", "admin" },
                { "{\"name\": \"a\", \"groups\": \"dev\"}", 422, "wrong_type", "groups" },
                { "{\"name\": \"a\", \"groups\": [\"dev\", 2]}", 422, "wrong_type", "groups[1]" },
                { "{\"name\": \"a\", \"profile\": []}", 422, "wrong_type", "profile" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phones\": {}}}", 422, "wrong_type",
                  "profile.phones" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phones\": [\"1\"]}}", 422, "wrong_type",
                  "profile.phones[0]" },
                /* Limits. */
                { "{\"name\": \"a\", \"uid\": 999}", 422, "out_of_range", "uid" },
                { "{\"name\": \"a\", \"uid\": 60001}", 422, "out_of_range", "uid" },
                { "{\"name\": \"a\", \"uid\": -9223372036854775808}", 422, "out_of_range", "uid" },
                { "{\"name\": \"a\", \"uid\": 99999999999999999999999}", 422, "out_of_range", "" },
                { "{\"name\": \"a\", \"weight\": 1.5}", 422, "out_of_range", "weight" },
                { "{\"name\": \"a\", \"weight\": -0.01}", 422, "out_of_range", "weight" },
                { "{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", 422, "too_long", "name" },
                { "{\"name\": \"a\", \"groups\": [\"a\", \"b\", \"c\", \"d\"]}", 422, "too_long", "groups" },
                { "{\"name\": \"a\", \"groups\": [\"a\", \"bbbbbb\"]}", 422, "too_long", "groups[1]" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"123456789\"}}", 422, "too_long",
                  "profile.display" },
                { "{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phones\": [{\"number\": \"1\"}, "
                  "{\"number\": \"2\"}, {\"number\": \"3\"}, {\"number\": \"4\"}]}}",
                  422, "too_long", "profile.phones" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                Body b = { .uid = 7 };
                JsonError err = {};
                int r;

                r = parse(cases[i].json, &b, &err);
                ck_assert_msg(r == (cases[i].status == 400 ? -EBADMSG : -EINVAL), "%s: %d", cases[i].json, r);
                ck_assert_msg(err.status == cases[i].status, "%s: %u", cases[i].json, err.status);
                ck_assert_msg(streq(err.code, cases[i].code), "%s: %s", cases[i].json, err.code);
                ck_assert_msg(streq(err.field, cases[i].field), "%s: '%s'", cases[i].json, err.field);
                ck_assert_msg(err.message[0] && utf8_is_valid(err.message), "%s", cases[i].json);
                /* The struct is as it was: nothing allocated, nothing set. */
                ck_assert_ptr_null(b.name);
                ck_assert_ptr_null(b.groups);
                ck_assert_ptr_null(b.profile.display);
                ck_assert_ptr_null(b.profile.phones);
                ck_assert_int_eq(b.uid, 7);
                ck_assert(!b.has_uid && !b.has_profile);
        }
}
END_TEST

START_TEST(test_messages_and_paths) {
        Body b = {};
        JsonError err = {};
        char json[2048];

        ck_assert_int_eq(parse("{\"name\": \"a\", \"uid\": 5}", &b, &err), -EINVAL);
        ck_assert_str_eq(err.message, "uid must be from 1000 to 60000.");
        ck_assert_int_eq(parse("{\"name\": \"a\", \"profile\": {\"display\": \"x\", \"phone\": 1}}", &b, &err),
                         -EINVAL);
        ck_assert_str_eq(err.message, "Unknown field profile.phone.");
        ck_assert_int_eq(parse("{\"name\": \"a\", \"groups\": [\"x\", null]}", &b, &err), -EINVAL);
        ck_assert_str_eq(err.message, "groups[1] must be a string.");
        ck_assert_int_eq(parse("[1]", &b, &err), -EINVAL);
        ck_assert_str_eq(err.message, "The body must be an object.");

        /* An unknown key is quoted cut to 64 bytes, on a whole character. */
        snprintf(json, sizeof(json), "{\"%s\": 1}",
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9" "a\xc3\xa9\xc3\xa9");
        ck_assert_int_eq(parse(json, &b, &err), -EINVAL);
        ck_assert_str_eq(err.code, "unknown_field");
        ck_assert(utf8_is_valid(err.field));
        ck_assert(utf8_is_valid(err.message));
        ck_assert_uint_le(strlen(err.field), 64);
}
END_TEST

typedef struct Node {
        struct Node *kids;
        size_t n_kids;
} Node;

static const JsonSchema node_schema;
static const JsonField node_fields[] = {
        JSON_FIELD_OBJECTS(Node, kids, n_kids, "kids", &node_schema, .max_len = 1),
        {},
};
static const JsonSchema node_schema = { node_fields, sizeof(Node) };

START_TEST(test_deep_paths) {
        _cleanup_free_ char *json = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&json, &size);
        Node n = {};
        JsonError err = {};

        /* kids[0].kids[0]... past JSON_PATH_MAX, then an unknown key of
         * two-byte characters: the path is cut, on a whole character. */
        ck_assert_ptr_nonnull(f);
        for (int i = 0; i < 31; i++)
                fputs("{\"kids\": [", f);
        fputs("{\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\": 1}", f);
        for (int i = 0; i < 31; i++)
                fputs("]}", f);
        ck_assert_int_eq(fclose(f), 0);
        /* 31 levels: "kids[0]" and a dot each, 248 bytes, then 16 of the
         * key, of which 7 would fit: 3 characters do. */
        ck_assert_int_eq(json_schema_parse(&node_schema, json, size, &n, &err), -EINVAL);
        ck_assert_str_eq(err.code, "unknown_field");
        ck_assert(strneq(err.field, "kids[0].kids[0].", 16));
        ck_assert(utf8_is_valid(err.field));
        ck_assert_uint_eq(strlen(err.field), 248 + 6);
        ck_assert(utf8_is_valid(err.message));
        ck_assert_ptr_null(n.kids);

        /* A whole tree parses and frees (ASan sees the rest). */
        free(json);
        json = strdup("{\"kids\": [{\"kids\": [{\"kids\": []}]}]}");
        ck_assert_int_eq(json_schema_parse(&node_schema, json, strlen(json), &n, &err), 0);
        ck_assert_uint_eq(n.n_kids, 1);
        ck_assert_uint_eq(n.kids[0].n_kids, 1);
        ck_assert_uint_eq(n.kids[0].kids[0].n_kids, 0);
        json_schema_done(&node_schema, &n);
        ck_assert_ptr_null(n.kids);
}
END_TEST

START_TEST(test_defaults_of_limits) {
        /* Without max_len a string still has a bound. */
        static const JsonField fields[] = {
                JSON_FIELD_STRING(Body, name, "name"),
                JSON_FIELD_STRINGS(Body, groups, "groups"),
                {},
        };
        static const JsonSchema schema = { fields, sizeof(Body) };
        _cleanup_free_ char *json = malloc(JSON_STRING_MAX_DEFAULT + 64);
        Body b = {};
        JsonError err = {};

        ck_assert_ptr_nonnull(json);
        memset(json, 'a', JSON_STRING_MAX_DEFAULT + 64);
        memcpy(json, "{\"name\": \"", 10);
        strcpy(json + 10 + JSON_STRING_MAX_DEFAULT, "\"}");
        ck_assert_int_eq(json_schema_parse(&schema, json, strlen(json), &b, &err), 0);
        ck_assert_uint_eq(strlen(b.name), JSON_STRING_MAX_DEFAULT);
        json_schema_done(&schema, &b);
        strcpy(json + 10 + JSON_STRING_MAX_DEFAULT, "a\"}");
        ck_assert_int_eq(json_schema_parse(&schema, json, strlen(json), &b, &err), -EINVAL);
        ck_assert_str_eq(err.code, "too_long");

        /* Nor is an array without max_len unbounded. */
        FILE *f;
        char *text = NULL;
        size_t size = 0;
        f = open_memstream(&text, &size);
        ck_assert_ptr_nonnull(f);
        fputs("{\"groups\": [", f);
        for (int i = 0; i <= JSON_ITEMS_MAX_DEFAULT; i++)
                fprintf(f, "%s\"g\"", i ? "," : "");
        fputs("]}", f);
        ck_assert_int_eq(fclose(f), 0);
        ck_assert_int_eq(json_schema_parse(&schema, text, size, &b, &err), -EINVAL);
        ck_assert_str_eq(err.code, "too_long");
        ck_assert_str_eq(err.field, "groups");
        free(text);
}
END_TEST

START_TEST(test_time) {
        json_auto_t *t = http_json_time(INT64_C(1714564800) * 1000000 + 999999);
        json_auto_t *none = http_json_time(0);

        ck_assert_str_eq(json_string_value(t), "2024-05-01T12:00:00Z");
        ck_assert(json_is_null(none));
}
END_TEST

static Suite *json_suite(void) {
        Suite *s = suite_create("http-json");
        TCase *tc = tcase_create("schema");

        tcase_add_test(tc, test_every_type);
        tcase_add_test(tc, test_refusals);
        tcase_add_test(tc, test_messages_and_paths);
        tcase_add_test(tc, test_deep_paths);
        tcase_add_test(tc, test_defaults_of_limits);
        tcase_add_test(tc, test_time);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(json_suite());
}
