/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Typed JSON bodies (http/http-json.c): a client's bytes through
 * json_schema_parse() with a schema of every type (strings, integers and
 * numbers with ranges, booleans, arrays of strings, a nested object, an
 * array of objects, nullable and secret fields). What parses must hold
 * what the schema promises; what is refused must say so in a form the
 * envelope can carry (400 or 422, a code, a UTF-8 path and message) and
 * leave the struct as it was. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http-json.h"
#include "macro.h"
#include "names.h"

typedef struct Member {
        char *user;
        int64_t level;
        char **tags;
} Member;

typedef struct Profile {
        char *display;
        double score;
        Member *members;
        size_t n_members;
} Profile;

typedef struct Body {
        char *name;
        int64_t uid;
        bool has_uid;
        double ratio;
        bool enabled;
        char **groups;
        Profile profile;
        char *secret;
        char *note;
        bool has_note;
} Body;

static const JsonField member_fields[] = {
        JSON_FIELD_STRING(Member, user, "user", .required = true, .max_len = 32),
        JSON_FIELD_INTEGER(Member, level, "level", .min = 0, .max = 9),
        JSON_FIELD_STRINGS(Member, tags, "tags", .max_len = 4, .item_max_len = 8),
        {},
};
static const JsonSchema member_schema = { member_fields, sizeof(Member) };

static const JsonField profile_fields[] = {
        JSON_FIELD_STRING(Profile, display, "display", .max_len = 64),
        JSON_FIELD_NUMBER(Profile, score, "score", .min_number = -1, .max_number = 1),
        JSON_FIELD_OBJECTS(Profile, members, n_members, "members", &member_schema, .max_len = 8),
        {},
};
static const JsonSchema profile_schema = { profile_fields, sizeof(Profile) };

static const JsonField body_fields[] = {
        JSON_FIELD_STRING(Body, name, "name", .required = true, .max_len = 32),
        JSON_FIELD_INTEGER(Body, uid, "uid", .min = 1000, .max = 65535, .present = JSON_PRESENT(Body, has_uid)),
        JSON_FIELD_NUMBER(Body, ratio, "ratio"),
        JSON_FIELD_BOOLEAN(Body, enabled, "enabled"),
        JSON_FIELD_STRINGS(Body, groups, "groups", .max_len = 16, .item_max_len = 32),
        JSON_FIELD_OBJECT(Body, profile, "profile", &profile_schema),
        JSON_FIELD_STRING(Body, secret, "secret", .secret = true),
        JSON_FIELD_STRING(Body, note, "note", .nullable = true, .present = JSON_PRESENT(Body, has_note)),
        {},
};
static const JsonSchema body_schema = { body_fields, sizeof(Body) };

static void check_string(const char *s, size_t max, bool may_be_null) {
        if (!s) {
                if (!may_be_null)
                        __builtin_trap();
                return;
        }
        if (strlen(s) > max || !utf8_is_valid(s))
                __builtin_trap();
}

static void check_strings(char **l, size_t max_items, size_t max_len) {
        size_t n = 0;

        STRV_FOREACH(s, l) {
                check_string(*s, max_len, false);
                n++;
        }
        if (n > max_items)
                __builtin_trap();
}

static void check_parsed(const Body *b) {
        check_string(b->name, 32, false);
        if (b->has_uid ? b->uid < 1000 || b->uid > 65535 : b->uid != -1)
                __builtin_trap();
        if (!isfinite(b->ratio))
                __builtin_trap();
        check_strings(b->groups, 16, 32);
        check_string(b->profile.display, 64, true);
        if (!(b->profile.score >= -1 && b->profile.score <= 1))
                __builtin_trap();
        if (b->profile.n_members > 8 || (b->profile.n_members > 0 && !b->profile.members))
                __builtin_trap();
        for (size_t i = 0; i < b->profile.n_members; i++) {
                const Member *m = &b->profile.members[i];

                check_string(m->user, 32, false);
                if (m->level < 0 || m->level > 9)
                        __builtin_trap();
                check_strings(m->tags, 4, 8);
        }
        check_string(b->secret, JSON_STRING_MAX_DEFAULT, true);
        check_string(b->note, JSON_STRING_MAX_DEFAULT, true);
        if (b->note && !b->has_note)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* Defaults, as a handler sets them: kept for what is not given. */
        Body b = { .uid = -1 };
        JsonError err = {};
        int r;

        if (size > 64 * 1024)
                return 0;
        r = json_schema_parse(&body_schema, (const char *) data, size, &b, &err);
        if (r == 0) {
                check_parsed(&b);
                json_schema_done(&body_schema, &b);
                if (b.name || b.groups || b.profile.members || b.profile.n_members || b.secret || b.note)
                        __builtin_trap();
                return 0;
        }
        if (r == -ENOMEM)
                return 0;
        if (!((r == -EBADMSG && err.status == 400) || (r == -EINVAL && err.status == 422)))
                __builtin_trap();
        if (!err.code || !err.code[0] || !err.message[0] || !utf8_is_valid(err.message) ||
            !utf8_is_valid(err.field) || strlen(err.field) >= JSON_PATH_MAX)
                __builtin_trap();
        /* Refused: nothing was set. */
        if (b.name || b.uid != -1 || b.has_uid || b.groups || b.profile.display || b.profile.members || b.secret ||
            b.note || b.has_note)
                __builtin_trap();
        return 0;
}
