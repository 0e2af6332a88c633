/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "error.h"

#include <stdarg.h>

#include "escape.h"

int tessera_error_set(TesseraError *e, int code, const char *format, ...) {
        char raw[2 * sizeof(e->message)];
        va_list ap;

        code = -abs(code);
        if (!e || e->code != 0)
                return code;

        e->code = code;
        va_start(ap, format);
        vsnprintf(raw, sizeof(raw), format, ap);
        va_end(ap);
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
