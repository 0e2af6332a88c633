/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Text that came from another process (an HTTP request, a PAM item, a
 * looked-up name, a bus name), made safe to put into a log line: it can
 * neither start a line of its own nor drive the terminal that shows it,
 * and it stays bounded. libc only, so that the client modules may use it
 * too.
 *
 * C-style escapes: "\\" for a backslash, "\n", "\r", "\t", "\xNN" for the
 * other control bytes, DEL and every byte that is not part of valid UTF-8;
 * "\uXXXX" for the characters that are controls or move text around when
 * shown (C1 controls, the line and paragraph separators, the bidirectional
 * overrides). Everything else is kept as it was. */

#include <stddef.h>

/* Room for one escaped value in a log line. */
#define ESCAPE_LOG_SIZE 512

/* Writes s, escaped, into buf (size bytes, at least 8) and returns buf.
 * What does not fit is cut at a whole escape and marked with "...".
 * NULL becomes "(null)". */
char *escape_text(const char *s, char *buf, size_t size);

/* The same for a whole line that may already hold escapes: only control
 * bytes and bytes that are not UTF-8 are escaped, backslashes and
 * characters stay. The last guard of the log sink. */
char *escape_controls(const char *s, char *buf, size_t size);

/* escape_text() into a buffer that lives as long as the enclosing block:
 * for arguments of one log call, log_info("... %s", ESC(url)). */
#define ESC(s) escape_text((s), (char[ESCAPE_LOG_SIZE]) {}, ESCAPE_LOG_SIZE)
