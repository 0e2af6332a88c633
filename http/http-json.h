/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Typed JSON bodies for the JSON API: a handler declares what its body
 * holds (a JsonSchema: each field's name, type, whether it is required, its
 * limits and where it goes in a C struct) and gets the struct filled in, or
 * the request refused in the envelope: malformed JSON 400 malformed_json;
 * an unknown field, a missing one, a wrong type, a value out of range or
 * too long 422 (unknown_field, missing_field, wrong_type, out_of_range,
 * too_long), with details.field naming the JSON path ("profile.phone",
 * "members[2].role"). Strict, as DESIGN.md asks: unknown fields are
 * refused, never ignored; an integer is not a string, nor 1.0 an integer.
 *
 *     typedef struct Body { char *name; int64_t uid; bool has_uid; char **groups; } Body;
 *     static const JsonField body_fields[] = {
 *             JSON_FIELD_STRING(Body, name, "name", .required = true, .max_len = 32),
 *             JSON_FIELD_INTEGER(Body, uid, "uid", .min = 1000, .max = 60000, .present = JSON_PRESENT(Body, has_uid)),
 *             JSON_FIELD_STRINGS(Body, groups, "groups", .max_len = 16, .item_max_len = 32),
 *             {}
 *     };
 *     static const JsonSchema body_schema = { body_fields, sizeof(Body) };
 *
 *     _cleanup_(body_done) Body b = {};
 *     if (http_json_body(req, &body_schema, &b) < 0)
 *             return;   (replied)
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum JsonType {
        JSON_TYPE_STRING,         /* char *, owned */
        JSON_TYPE_INTEGER,        /* int64_t */
        JSON_TYPE_NUMBER,         /* double; an integer is a number too */
        JSON_TYPE_BOOLEAN,        /* bool */
        JSON_TYPE_STRINGS,        /* char **, NULL-terminated, owned */
        JSON_TYPE_OBJECT,         /* a struct of .schema, embedded at offset */
        JSON_TYPE_OBJECTS,        /* an array of structs of .schema: pointer at offset, count (size_t) at .count */
        _JSON_TYPE_MAX,
} JsonType;

typedef struct JsonSchema JsonSchema;

typedef struct JsonField {
        const char *name;
        JsonType type;
        size_t offset;            /* of the member in the struct */
        bool required;
        bool nullable;            /* null is taken, as "given, no value" (NULL, 0, false) */
        bool secret;              /* a string wiped before it is freed */
        /* offsetof a bool set when the field was given, plus one (see
         * JSON_PRESENT); 0: none. */
        size_t present;
        /* STRING: bytes; STRINGS, OBJECTS: items. 0: the defaults below. */
        size_t max_len;
        size_t item_max_len;      /* STRINGS: bytes of each; 0: the default */
        int64_t min, max;         /* INTEGER: inclusive, when min < max */
        double min_number, max_number;   /* NUMBER: inclusive, when min_number < max_number */
        const JsonSchema *schema; /* OBJECT, OBJECTS */
        size_t count;             /* OBJECTS: offsetof the size_t count */
} JsonField;

struct JsonSchema {
        const JsonField *fields;  /* ends with {} */
        size_t size;              /* sizeof the struct */
};

#define JSON_STRING_MAX_DEFAULT 1024
#define JSON_ITEMS_MAX_DEFAULT 64
#define JSON_ITEM_STRING_MAX_DEFAULT 256
#define JSON_PATH_MAX 256

#define JSON_PRESENT(st, member) (offsetof(st, member) + 1)
#define JSON_FIELD_STRING(st, member, json_name, ...) \
        { .name = json_name, .type = JSON_TYPE_STRING, .offset = offsetof(st, member), __VA_ARGS__ }
#define JSON_FIELD_INTEGER(st, member, json_name, ...) \
        { .name = json_name, .type = JSON_TYPE_INTEGER, .offset = offsetof(st, member), __VA_ARGS__ }
#define JSON_FIELD_NUMBER(st, member, json_name, ...) \
        { .name = json_name, .type = JSON_TYPE_NUMBER, .offset = offsetof(st, member), __VA_ARGS__ }
#define JSON_FIELD_BOOLEAN(st, member, json_name, ...) \
        { .name = json_name, .type = JSON_TYPE_BOOLEAN, .offset = offsetof(st, member), __VA_ARGS__ }
#define JSON_FIELD_STRINGS(st, member, json_name, ...) \
        { .name = json_name, .type = JSON_TYPE_STRINGS, .offset = offsetof(st, member), __VA_ARGS__ }
#define JSON_FIELD_OBJECT(st, member, json_name, sub, ...) \
        { .name = json_name, .type = JSON_TYPE_OBJECT, .offset = offsetof(st, member), .schema = (sub), __VA_ARGS__ }
#define JSON_FIELD_OBJECTS(st, member, count_member, json_name, sub, ...)                                       \
        { .name = json_name, .type = JSON_TYPE_OBJECTS, .offset = offsetof(st, member),                       \
          .count = offsetof(st, count_member), .schema = (sub), __VA_ARGS__ }

/* Why a body was refused. */
typedef struct JsonError {
        unsigned status;          /* 400 or 422 */
        const char *code;         /* malformed_json, unknown_field, missing_field, wrong_type, out_of_range, too_long */
        char field[JSON_PATH_MAX];   /* the JSON path; "" for the body as a whole */
        char message[256];
} JsonError;

/* Parses text (size bytes) as a JSON object of schema into obj. obj may
 * hold defaults for scalar fields; its pointer members must be NULL. On
 * success they are filled in (free them with json_schema_done()); on
 * failure obj is left as it was and *ret_error says why, and < 0 is
 * returned (-EBADMSG malformed, -EINVAL refused by the schema). */
int json_schema_parse(const JsonSchema *schema, const char *text, size_t size, void *obj, JsonError *ret_error);
/* Frees what json_schema_parse() put in obj and clears those members. */
void json_schema_done(const JsonSchema *schema, void *obj);

/* An RFC 3339 time in UTC ("2024-05-01T12:00:00Z") for a time in
 * microseconds since the epoch; null for 0 (never, or not set). NULL when
 * out of memory. */
json_t *http_json_time(int64_t usec);
/* The reverse, for times a client gives: RFC 3339 ("2024-05-01T12:00:00Z",
 * fractions of a second and an offset such as "+02:00" taken) into
 * microseconds since the epoch; -EINVAL for anything else or a time
 * before 1970. */
int http_json_time_parse(const char *s, int64_t *ret);
