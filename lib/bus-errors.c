/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-errors.h"

#include <errno.h>
#include <stdlib.h>

#include "macro.h"

static const sd_bus_error_map tessera_errors[] = {
        SD_BUS_ERROR_MAP(TESSERA_ERROR_NOT_FOUND, ENOENT),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ALREADY_EXISTS, EEXIST),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_INVALID_ARGUMENT, EINVAL),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_INVALID_ARGUMENT, E2BIG),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ACCESS_DENIED, EACCES),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ACCESS_DENIED, EPERM),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_NOT_EMPTY, ENOTEMPTY),
        /* Revoking what was revoked, rotating what was rotated. */
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ALREADY_DONE, EALREADY),
        /* A tenant keeps one owner at least (member.h). */
        SD_BUS_ERROR_MAP(TESSERA_ERROR_LAST_OWNER, EOWNERDEAD),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_BUSY, EAGAIN),
        /* The database server cannot be reached (db.h: nothing sent, or
         * the connection broke and nothing was confirmed): try again. */
        SD_BUS_ERROR_MAP(TESSERA_ERROR_BUSY, ENOTCONN),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_BUSY, ECONNRESET),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ID_RANGE_EXHAUSTED, ENOSPC),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_OUT_OF_RANGE, ERANGE),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_AUTHENTICATION_FAILED, EKEYREJECTED),
        /* The account can't be used now: its credentials are not checked. */
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ACCOUNT_LOCKED, ENOLCK),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ACCOUNT_DISABLED, EKEYREVOKED),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_ACCOUNT_EXPIRED, EKEYEXPIRED),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_SHUTTING_DOWN, ESHUTDOWN),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_STORAGE_FULL, EDQUOT),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_NOT_CONFIGURED, EOPNOTSUPP),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_LIMIT_REACHED, EUSERS),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_IDEMPOTENCY_KEY_REUSED, ENOTUNIQ),
        SD_BUS_ERROR_MAP(TESSERA_ERROR_INTERNAL, EIO),
        SD_BUS_ERROR_MAP_END,
};

int bus_errors_register(void) {
        return sd_bus_error_add_map(tessera_errors);
}

const char *bus_error_name_from_errno(int error) {
        error = abs(error);
        for (const sd_bus_error_map *m = tessera_errors; m->name; m++)
                if (m->code == error)
                        return m->name;
        return TESSERA_ERROR_INTERNAL;
}

int bus_error_set(sd_bus_error *error, int code, const char *message) {
        code = -abs(code);
        (void) sd_bus_error_set(error, bus_error_name_from_errno(code), message);
        return code;
}
