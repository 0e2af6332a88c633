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

/* Maps an SQLSTATE (five characters) to a negative errno, as db.h lists
 * them; -EIO for NULL and for what it does not know. */
int db_pg_errno(const char *sqlstate);

/* Whether libpq reads url (a URI or key=value pairs): 0, or -EINVAL when
 * it is empty, -EBADMSG when libpq does not read it, -EPERM when it holds
 * a password (tesserad.conf is readable by more than the daemon, and the
 * URL goes into messages). */
int db_pg_check_url(const char *url);
