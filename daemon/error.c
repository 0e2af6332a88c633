/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "error.h"

#include <stdarg.h>

int tessera_error_set(TesseraError *e, int code, const char *format, ...) {
        va_list ap;

        code = -abs(code);
        if (!e || e->code != 0)
                return code;

        e->code = code;
        va_start(ap, format);
        vsnprintf(e->message, sizeof(e->message), format, ap);
        va_end(ap);
        return code;
}

const char *tessera_error_message(const TesseraError *e) {
        if (!e || e->message[0] == '\0')
                return e && e->code < 0 ? strerror(-e->code) : "Unknown error.";
        return e->message;
}
