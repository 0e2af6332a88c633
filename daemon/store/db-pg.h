/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What only the PostgreSQL backend has, for the PostgreSQL-only parts of
 * the store (its migrations, change notifications) and for tests that look
 * inside. Nothing else includes this. */

#include <libpq-fe.h>

#include "db.h"

/* The connection's libpq handle; NULL when db is of another backend. May
 * be a broken session (PQstatus() says so). */
PGconn *db_pg_handle(Db *db);

/* For a session that LISTENs (store-change-feed.c): the socket to poll
 * for notifications, or -ENOTCONN when the session is broken. */
int db_pg_socket(Db *db);
/* The payload of the next notification received on the session
 * (without blocking): 1 and *ret_payload (free() it), 0 when none is
 * waiting, -ECONNRESET when the session broke (db_errmsg() says why). */
int db_pg_notification(Db *db, char **ret_payload);

/* Maps an SQLSTATE (five characters) to a negative errno, as db.h lists
 * them; -EIO for NULL and for what it does not know. */
int db_pg_errno(const char *sqlstate);

/* Whether libpq reads url (a URI or key=value pairs): 0, or -EINVAL when
 * it is empty, -EBADMSG when libpq does not read it, -EPERM when it holds
 * a password (tesserad.conf is readable by more than the daemon, and the
 * URL goes into messages). */
int db_pg_check_url(const char *url);
