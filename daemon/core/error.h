/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An error as the core operations report it: a negative errno that each
 * face maps to its own form (a D-Bus error name, an HTTP status and code),
 * and a sentence a person can act on. */

#include "macro.h"

typedef struct TesseraError {
        int code;                 /* negative errno, 0 when unset */
        char message[256];
} TesseraError;

/* Sets e (when e is set and not set already) and returns code. */
int tessera_error_set(TesseraError *e, int code, const char *format, ...) _printf_(3, 4);

/* The message, or a generic one for the code. */
const char *tessera_error_message(const TesseraError *e);
