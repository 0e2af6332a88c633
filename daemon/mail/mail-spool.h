/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Development mode ([mail] outbox_directory): instead of going to a relay,
 * each mail is written as a file NAME.eml in a folder, where a developer
 * opens it with any mail program. The file appears whole or not at all
 * (written under a temporary name, synced, then renamed). */

#include <stddef.h>
#include <stdint.h>

/* Writes message (len bytes) to directory as "<UTC time>-<id>.eml",
 * with created_usec its time and id the outbox id. *ret_path (may be NULL)
 * gets the file's path; *ret_error says what failed. */
int mail_spool_write(const char *directory, int64_t id, int64_t created_usec, const char *message, size_t len,
                     char **ret_path, char **ret_error);
