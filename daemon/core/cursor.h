/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Cursors for paginated lists (DESIGN.md, "HTTP API": `?limit=&cursor=`,
 * answered with `{"items": [...], "next_cursor": ...}`).
 *
 * A cursor is the position after the last row of a page: the row's sort key
 * (a number such as a creation time, and/or a text such as a name) and its
 * id, which breaks ties, so that the next page is one indexed range read
 * ("WHERE (key, id) > (?, ?) ORDER BY key, id LIMIT ?") however deep it is,
 * never an OFFSET that rescans what came before.
 *
 * The client gets it as opaque text: base64url of the position and a keyed
 * digest over it and its scope. The scope names the list and its filters
 * (say "users:7:q=al:state=active"), so a cursor altered by hand, or taken
 * from one list or query to another, is refused (-EBADMSG) instead of
 * silently starting somewhere else. Cursors carry no expiry: a position
 * stays meaningful however old it is. */

#include <stdint.h>

#include "macro.h"
#include "secret-box.h"

#define CURSOR_LIMIT_DEFAULT 50U
#define CURSOR_LIMIT_MAX 200U
/* A text sort key longer than this is not a position any list has. */
#define CURSOR_TEXT_MAX 512U

typedef struct Cursor {
        int64_t number;             /* a numeric sort key, or 0 */
        char *text;                 /* a text sort key, or NULL */
        int64_t id;                 /* the row's id, for ties */
} Cursor;

void cursor_done(Cursor *c);

/* The opaque text for position c in the list named by scope. */
int cursor_encode(const SecretKey *k, const char *scope, const Cursor *c, char **ret);

/* The position in s. -EBADMSG when s was not made by cursor_encode() with
 * this key and scope (altered, truncated, from another list or query). */
int cursor_decode(const SecretKey *k, const char *scope, const char *s, Cursor *ret);

/* A page size from the `limit` parameter: NULL gives CURSOR_LIMIT_DEFAULT;
 * -ERANGE when it is not a whole number in 1..CURSOR_LIMIT_MAX. */
int cursor_limit_parse(const char *s, unsigned *ret);
