/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Validation of the names and strings that end up in passwd and group
 * entries. Shared by the daemon (which refuses bad input) and the client
 * modules (which refuse to ask about names that cannot exist). libc only. */

#include <stdbool.h>
#include <stddef.h>

/* Longest user or group name: what useradd accepts by default on Debian. */
#define NAME_MAX_LEN 32
/* Longest tenant slug. Qualified names are NAME@SLUG, at most 65 bytes. */
#define TENANT_SLUG_MAX_LEN 32
#define QUALIFIED_NAME_MAX_LEN (NAME_MAX_LEN + 1 + TENANT_SLUG_MAX_LEN)
#define REAL_NAME_MAX_LEN 256
#define EMAIL_MAX_LEN 254
#define UNIX_PATH_FIELD_MAX_LEN 1024
#define DISPLAY_NAME_MAX_LEN 256

/* The portable user name rules of useradd: a lower-case letter or '_' first,
 * then lower-case letters, digits, '_' and '-', 1..32 bytes. */
bool valid_user_name(const char *s);
bool valid_group_name(const char *s);

/* A tenant slug is a DNS label in lower case: [a-z0-9], '-' inside only. */
bool valid_tenant_slug(const char *s);

/* An absolute, normalized path without ':' or control characters, as the
 * home and shell fields of a passwd entry need. */
bool valid_unix_path(const char *s);

/* GECOS field: printable UTF-8 without ':' or control characters. */
bool valid_real_name(const char *s);

/* A plausible address: one '@', a local part and a dotted domain, no spaces
 * or control characters. Ownership is proven by verification, not here. */
bool valid_email(const char *s);

/* Free-form one-line text (display names, descriptions). */
bool valid_display_text(const char *s, size_t max_len);

bool utf8_is_valid(const char *s);
/* The length of the valid UTF-8 character at s (1 for ASCII and for the
 * terminating NUL), or 0 when the bytes there are not one. */
size_t utf8_char_valid(const char *s);

/* Splits "name@tenant" into its parts, writing into the caller's buffers.
 * Without '@', *tenant is set to the empty string. Returns 0, or -EINVAL
 * when the parts do not fit or are not valid. */
int split_qualified_name(const char *s, char name[static NAME_MAX_LEN + 1],
                         char tenant[static TENANT_SLUG_MAX_LEN + 1]);

/* "name@tenant" for log lines and audit targets, of a name as it was given
 * (perhaps not a valid one): the name is cut to 64 bytes at a whole UTF-8
 * character, and stops at the first byte that is not UTF-8. -ENOMEM or 0. */
int qualified_target(const char *name, const char *tenant, char **ret);
