/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "escape.h"

/* The store's errors for a database server it cannot reach (db.h), said
 * after whatever the caller was doing: the database is away, nothing was
 * changed (a broken connection: nothing confirmed, so nothing
 * acknowledged), and trying again later is the remedy. The faces map the
 * codes to their own "try again" (D-Bus Busy, HTTP 503 store_unavailable,
 * PAM's AUTHINFO_UNAVAIL). */
static const char *store_unavailable_hint(int code) {
        switch (code) {
        case -ENOTCONN:
                return "tesserad cannot reach its database; nothing was changed. Try again in a moment.";
        case -ECONNRESET:
                return "The connection to tesserad's database broke; nothing was confirmed. Try again in a moment.";
        default:
                return NULL;
        }
}

int tessera_error_set(TesseraError *e, int code, const char *format, ...) {
        char raw[2 * sizeof(e->message)];
        const char *hint;
        va_list ap;
        int n;

        code = -abs(code);
        if (!e || e->code != 0)
                return code;

        e->code = code;
        va_start(ap, format);
        n = vsnprintf(raw, sizeof(raw), format, ap);
        va_end(ap);
        hint = store_unavailable_hint(code);
        if (hint && n >= 0 && (size_t) n < sizeof(raw))
                snprintf(raw + n, sizeof(raw) - n, "%s%s", n > 0 ? " " : "", hint);
        /* Messages quote what callers sent (names, fields) and go out as
         * D-Bus strings and JSON, which must be UTF-8: a quoted value cut
         * by a precision, or bytes that never were UTF-8, are escaped
         * rather than passed on, and the cut falls on a whole escape. */
        escape_controls(raw, e->message, sizeof(e->message));
        return code;
}

const char *tessera_error_message(const TesseraError *e) {
        if (!e || e->message[0] == '\0')
                return e && e->code < 0 ? strerror(-e->code) : "Unknown error.";
        return e->message;
}
