/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Typed JSON bodies (http-json.h): jansson parses, the schema decides what
 * is accepted, and each refusal names the JSON path it is about. */

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "escape.h"
#include "http-internal.h"
#include "names.h"

_printf_(5, 6) static int refuse(JsonError *err, unsigned status, const char *code, const char *path,
                                 const char *format, ...) {
        char raw[2 * sizeof(err->message)];
        va_list ap;

        err->status = status;
        err->code = code;
        snprintf(err->field, sizeof(err->field), "%s", path);
        va_start(ap, format);
        vsnprintf(raw, sizeof(raw), format, ap);
        va_end(ap);
        /* jansson's own message quotes the bytes it choked on, which need
         * not be UTF-8; the envelope must be. Cut on a whole escape. */
        escape_controls(raw, err->message, sizeof(err->message));
        return status == MHD_HTTP_BAD_REQUEST ? -EBADMSG : -EINVAL;
}

/* How much of s fits in max bytes without cutting a character in two
 * (names and keys are UTF-8). */
static size_t utf8_prefix(const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);

        if (n <= max)
                return n;
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80)
                n--;
        return n;
}

/* path + "." + name (a client's key quoted up to 64 bytes), or path +
 * "[i]"; cut on a whole character when it grows past JSON_PATH_MAX. */
static void path_join(char out[static JSON_PATH_MAX], const char *path, const char *name, ssize_t index) {
        int n;

        if (index >= 0)
                n = snprintf(out, JSON_PATH_MAX, "%s[%zd]", path, index);
        else
                n = snprintf(out, JSON_PATH_MAX, "%s%s%.*s", path, path[0] ? "." : "", (int) utf8_prefix(name, 64),
                             name);
        if (n >= JSON_PATH_MAX) {
                /* snprintf() cut it: drop the last character if that cut
                 * it in two. */
                size_t i = JSON_PATH_MAX - 1;

                while (i > 0 && ((unsigned char) out[i - 1] & 0xc0) == 0x80)
                        i--;
                if (i > 0 && utf8_char_valid(out + i - 1) == 0)
                        out[i - 1] = '\0';
        }
}

static const char *type_name(JsonType t) {
        static const char *const names[_JSON_TYPE_MAX] = {
                [JSON_TYPE_STRING] = "a string",
                [JSON_TYPE_INTEGER] = "an integer",
                [JSON_TYPE_NUMBER] = "a number",
                [JSON_TYPE_BOOLEAN] = "true or false",
                [JSON_TYPE_STRINGS] = "an array of strings",
                [JSON_TYPE_OBJECT] = "an object",
                [JSON_TYPE_OBJECTS] = "an array of objects",
        };
        return names[t];
}

static size_t max_or(size_t value, size_t fallback) {
        return value > 0 ? value : fallback;
}

static int parse_object(const JsonSchema *schema, json_t *j, void *obj, const char *path, JsonError *err);

static int parse_strings(const JsonField *f, json_t *v, char ***ret, const char *path, JsonError *err) {
        size_t n = json_array_size(v), max = max_or(f->max_len, JSON_ITEMS_MAX_DEFAULT),
               item_max = max_or(f->item_max_len, JSON_ITEM_STRING_MAX_DEFAULT), i;
        char item_path[JSON_PATH_MAX];
        char **l;
        json_t *e;

        if (n > max)
                return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "too_long", path, "%s takes at most %zu items.",
                              path, max);
        json_array_foreach(v, i, e) {
                path_join(item_path, path, NULL, (ssize_t) i);
                if (!json_is_string(e))
                        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong_type", item_path,
                                      "%s must be a string.", item_path);
                if (json_string_length(e) > item_max)
                        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "too_long", item_path,
                                      "%s is longer than %zu bytes.", item_path, item_max);
        }
        /* Whole, or not at all: *ret owns every string once it is set. */
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        json_array_foreach(v, i, e) {
                l[i] = strdup(json_string_value(e));
                if (!l[i]) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        *ret = l;
        return 0;
}

static int parse_objects(const JsonField *f, json_t *v, void *obj, const char *path, JsonError *err) {
        size_t n = json_array_size(v), max = max_or(f->max_len, JSON_ITEMS_MAX_DEFAULT), i;
        char item_path[JSON_PATH_MAX];
        uint8_t *items;
        json_t *e;
        int r;

        if (n > max)
                return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "too_long", path, "%s takes at most %zu items.",
                              path, max);
        items = calloc(MAX(n, 1u), f->schema->size);
        if (!items)
                return -ENOMEM;
        /* Set before the items are parsed, so that json_schema_done() frees
         * what a failure leaves behind. */
        *(void **) ((uint8_t *) obj + f->offset) = items;
        *(size_t *) ((uint8_t *) obj + f->count) = n;
        json_array_foreach(v, i, e) {
                path_join(item_path, path, NULL, (ssize_t) i);
                r = parse_object(f->schema, e, items + i * f->schema->size, item_path, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_value(const JsonField *f, json_t *v, void *obj, const char *path, JsonError *err) {
        void *at = (uint8_t *) obj + f->offset;
        size_t max;

        switch (f->type) {
        case JSON_TYPE_STRING:
                if (!json_is_string(v))
                        break;
                max = max_or(f->max_len, JSON_STRING_MAX_DEFAULT);
                if (json_string_length(v) > max)
                        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "too_long", path,
                                      "%s is longer than %zu bytes.", path, max);
                *(char **) at = strdup(json_string_value(v));
                return *(char **) at ? 0 : -ENOMEM;

        case JSON_TYPE_INTEGER:
                if (!json_is_integer(v))
                        break;
                if (f->min < f->max && (json_integer_value(v) < f->min || json_integer_value(v) > f->max))
                        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range", path,
                                      "%s must be from %" PRIi64 " to %" PRIi64 ".", path, f->min, f->max);
                *(int64_t *) at = json_integer_value(v);
                return 0;

        case JSON_TYPE_NUMBER:
                if (!json_is_number(v))
                        break;
                if (f->min_number < f->max_number &&
                    (json_number_value(v) < f->min_number || json_number_value(v) > f->max_number))
                        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range", path,
                                      "%s must be from %g to %g.", path, f->min_number, f->max_number);
                *(double *) at = json_number_value(v);
                return 0;

        case JSON_TYPE_BOOLEAN:
                if (!json_is_boolean(v))
                        break;
                *(bool *) at = json_is_true(v);
                return 0;

        case JSON_TYPE_STRINGS:
                if (!json_is_array(v))
                        break;
                return parse_strings(f, v, (char ***) at, path, err);

        case JSON_TYPE_OBJECT:
                if (!json_is_object(v))
                        break;
                return parse_object(f->schema, v, at, path, err);

        case JSON_TYPE_OBJECTS:
                if (!json_is_array(v))
                        break;
                return parse_objects(f, v, obj, path, err);

        default:
                assert(!"unknown JsonType");
                return -EINVAL;
        }
        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong_type", path, "%s must be %s.", path,
                      type_name(f->type));
}

static const JsonField *field_find(const JsonSchema *schema, const char *name) {
        for (const JsonField *f = schema->fields; f->name; f++)
                if (streq(f->name, name))
                        return f;
        return NULL;
}

static int parse_object(const JsonSchema *schema, json_t *j, void *obj, const char *path, JsonError *err) {
        char field_path[JSON_PATH_MAX];
        const char *key;
        json_t *v;
        int r;

        if (!json_is_object(j))
                return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong_type", path, "%s must be an object.",
                              path[0] ? path : "The body");

        /* Unknown fields first: a client that sent one has a bug (or a
         * typo) worth seeing, whatever else is wrong. */
        json_object_foreach(j, key, v)
                if (!field_find(schema, key)) {
                        path_join(field_path, path, key, -1);
                        return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "unknown_field", field_path,
                                      "Unknown field %s.", field_path);
                }

        for (const JsonField *f = schema->fields; f->name; f++) {
                path_join(field_path, path, f->name, -1);
                v = json_object_get(j, f->name);
                if (!v) {
                        if (f->required)
                                return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "missing_field", field_path,
                                              "%s is required.", field_path);
                        continue;
                }
                if (json_is_null(v)) {
                        if (!f->nullable)
                                return refuse(err, MHD_HTTP_UNPROCESSABLE_CONTENT, "wrong_type", field_path,
                                              "%s must be %s, not null.", field_path, type_name(f->type));
                } else {
                        r = parse_value(f, v, obj, field_path, err);
                        if (r < 0)
                                return r;
                }
                if (f->present > 0)
                        *((bool *) ((uint8_t *) obj + f->present - 1)) = true;
        }
        return 0;
}

void json_schema_done(const JsonSchema *schema, void *obj) {
        for (const JsonField *f = schema->fields; f->name; f++) {
                void *at = (uint8_t *) obj + f->offset;

                switch (f->type) {
                case JSON_TYPE_STRING:
                        if (f->secret)
                                erase_and_free(*(char **) at);
                        else
                                free(*(char **) at);
                        *(char **) at = NULL;
                        break;
                case JSON_TYPE_STRINGS:
                        if (f->secret)
                                strv_free_erase(*(char ***) at);
                        else
                                strv_free(*(char ***) at);
                        *(char ***) at = NULL;
                        break;
                case JSON_TYPE_OBJECT:
                        json_schema_done(f->schema, at);
                        break;
                case JSON_TYPE_OBJECTS: {
                        uint8_t *items = *(void **) at;
                        size_t *n = (size_t *) ((uint8_t *) obj + f->count);

                        for (size_t i = 0; items && i < *n; i++)
                                json_schema_done(f->schema, items + i * f->schema->size);
                        free(items);
                        *(void **) at = NULL;
                        *n = 0;
                        break;
                }
                default:
                        break;
                }
        }
}

int json_schema_parse(const JsonSchema *schema, const char *text, size_t size, void *obj, JsonError *ret_error) {
        _cleanup_free_ void *work = NULL;
        json_auto_t *j = NULL;
        json_error_t jerr;
        JsonError err = {};
        int r;

        /* Duplicate keys are refused: which one counts would be a guess. A
         * "\u0000" in a string is refused by jansson by default. */
        j = json_loadb(text ?: "", size, JSON_REJECT_DUPLICATES, &jerr);
        if (!j) {
                if (json_error_code(&jerr) == json_error_out_of_memory)
                        return -ENOMEM;
                if (json_error_code(&jerr) == json_error_numeric_overflow)
                        r = refuse(&err, MHD_HTTP_UNPROCESSABLE_CONTENT, "out_of_range", "",
                                   "An integer at line %d, column %d is out of range.", jerr.line, jerr.column);
                else
                        r = refuse(&err, MHD_HTTP_BAD_REQUEST, "malformed_json", "",
                                   "Malformed JSON at line %d, column %d: %s.", jerr.line, jerr.column, jerr.text);
                *ret_error = err;
                return r;
        }

        /* Into a copy, so that obj is changed only on success. */
        work = malloc(schema->size);
        if (!work)
                return -ENOMEM;
        memcpy(work, obj, schema->size);
        r = parse_object(schema, j, work, "", &err);
        if (r < 0) {
                json_schema_done(schema, work);
                if (r != -ENOMEM)
                        *ret_error = err;
                return r;
        }
        memcpy(obj, work, schema->size);
        return 0;
}

static bool content_type_is_json(const char *ct) {
        static const char json[] = "application/json";

        return ct && strncasecmp(ct, json, strlen(json)) == 0 &&
               (ct[strlen(json)] == '\0' || ct[strlen(json)] == ';' || ct[strlen(json)] == ' ');
}

int http_json_body(HttpRequest *req, const JsonSchema *schema, void *obj) {
        JsonError err = {};
        int r;

        if (!content_type_is_json(http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE))) {
                http_reply_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", NULL,
                                 "Send the body as application/json.");
                return -EINVAL;
        }
        r = json_schema_parse(schema, req->body, req->body_size, obj, &err);
        if (r == -ENOMEM) {
                http_reply_internal_error(req, r);
                return r;
        }
        if (r < 0)
                http_reply_error(req, err.status, err.code,
                                 err.field[0] ? json_pack("{s:s}", "field", err.field) : NULL, "%s", err.message);
        return r;
}

json_t *http_json_time(int64_t usec) {
        time_t sec = (time_t) (usec / 1000000);
        char buf[32];
        struct tm tm;

        if (usec <= 0)
                return json_null();
        if (!gmtime_r(&sec, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return json_null();
        return json_string(buf);
}

/* n decimal digits at s, as a number; -1 when they are not all digits. */
static int digits(const char *s, size_t n) {
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

int http_json_time_parse(const char *s, int64_t *ret) {
        int year, mon, day, hour, min, sec, off = 0;
        int64_t frac = 0, usec;
        struct tm tm = {};
        const char *p;
        time_t t;

        /* YYYY-MM-DDTHH:MM:SS */
        if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
            s[16] != ':')
                return -EINVAL;
        year = digits(s, 4);
        mon = digits(s + 5, 2);
        day = digits(s + 8, 2);
        hour = digits(s + 11, 2);
        min = digits(s + 14, 2);
        sec = digits(s + 17, 2);
        if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 ||
            min > 59 || sec < 0 || sec > 60)
                return -EINVAL;
        p = s + 19;
        if (*p == '.') {
                int64_t scale = 100000;
                size_t n = 0;

                for (p++; *p >= '0' && *p <= '9'; p++, n++) {
                        if (n < 6) {
                                frac += (*p - '0') * scale;
                                scale /= 10;
                        }
                }
                if (n == 0 || n > 9)
                        return -EINVAL;
        }
        if (*p == 'Z' || *p == 'z')
                p++;
        else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                int oh = digits(p + 1, 2), om = digits(p + 4, 2);

                if (oh < 0 || oh > 23 || om < 0 || om > 59)
                        return -EINVAL;
                off = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
                p += 6;
        } else
                return -EINVAL;
        if (*p)
                return -EINVAL;

        tm = (struct tm) { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
                           .tm_hour = hour, .tm_min = min, .tm_sec = sec == 60 ? 59 : sec };
        t = timegm(&tm);
        /* timegm() normalizes: 31 February comes back as March. */
        if (t == (time_t) -1 || tm.tm_mday != day || tm.tm_mon != mon - 1)
                return -EINVAL;
        usec = ((int64_t) t - off) * 1000000 + frac;
        if (usec <= 0)
                return -EINVAL;
        *ret = usec;
        return 0;
}
