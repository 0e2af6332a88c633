/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* tessera's D-Bus error names and their mapping to and from errno: the one
 * place where the two meet, used by tesserad and tesseractl alike. */

#include <systemd/sd-bus.h>

#define TESSERA_ERROR_PREFIX "org.tessera.Identity1.Error."
#define TESSERA_ERROR_NOT_FOUND TESSERA_ERROR_PREFIX "NotFound"
#define TESSERA_ERROR_ALREADY_EXISTS TESSERA_ERROR_PREFIX "AlreadyExists"
#define TESSERA_ERROR_INVALID_ARGUMENT TESSERA_ERROR_PREFIX "InvalidArgument"
#define TESSERA_ERROR_ACCESS_DENIED TESSERA_ERROR_PREFIX "AccessDenied"
#define TESSERA_ERROR_NOT_EMPTY TESSERA_ERROR_PREFIX "NotEmpty"
#define TESSERA_ERROR_ALREADY_DONE TESSERA_ERROR_PREFIX "AlreadyDone"
#define TESSERA_ERROR_LAST_OWNER TESSERA_ERROR_PREFIX "LastOwner"
#define TESSERA_ERROR_BUSY TESSERA_ERROR_PREFIX "Busy"
#define TESSERA_ERROR_ID_RANGE_EXHAUSTED TESSERA_ERROR_PREFIX "IdRangeExhausted"
#define TESSERA_ERROR_OUT_OF_RANGE TESSERA_ERROR_PREFIX "OutOfRange"
#define TESSERA_ERROR_AUTHENTICATION_FAILED TESSERA_ERROR_PREFIX "AuthenticationFailed"
#define TESSERA_ERROR_ACCOUNT_LOCKED TESSERA_ERROR_PREFIX "AccountLocked"
#define TESSERA_ERROR_ACCOUNT_DISABLED TESSERA_ERROR_PREFIX "AccountDisabled"
#define TESSERA_ERROR_ACCOUNT_EXPIRED TESSERA_ERROR_PREFIX "AccountExpired"
#define TESSERA_ERROR_SHUTTING_DOWN TESSERA_ERROR_PREFIX "ShuttingDown"
#define TESSERA_ERROR_STORAGE_FULL TESSERA_ERROR_PREFIX "StorageFull"
/* A feature this host's tesserad.conf does not set up (mail without a relay). */
#define TESSERA_ERROR_NOT_CONFIGURED TESSERA_ERROR_PREFIX "NotConfigured"
/* The tenant's plan allows no more users or applications (max_users, ...). */
#define TESSERA_ERROR_LIMIT_REACHED TESSERA_ERROR_PREFIX "LimitReached"
#define TESSERA_ERROR_IDEMPOTENCY_KEY_REUSED TESSERA_ERROR_PREFIX "IdempotencyKeyReused"
#define TESSERA_ERROR_INTERNAL TESSERA_ERROR_PREFIX "Internal"

/* Registers the mapping with sd-bus (sd_bus_error_add_map), so that
 * sd_bus_error_get_errno() understands our names. Call once at start. */
int bus_errors_register(void);

/* The error name for a negative errno. */
const char *bus_error_name_from_errno(int error);

/* Sets error to our name for code, with message. Returns code. */
int bus_error_set(sd_bus_error *error, int code, const char *message);
