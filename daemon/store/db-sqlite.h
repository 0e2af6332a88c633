/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What only the SQLite backend has, for the SQLite-only parts of the store
 * (its migrations) and for tests that look inside (a statement's plan, a
 * row written behind the store's back). Nothing else includes this. */

#include <sqlite3.h>

#include "db.h"

/* The connection's and the statement's SQLite handles; NULL when db (or
 * st) is of another backend. */
sqlite3 *db_sqlite_handle(Db *db);
sqlite3_stmt *db_sqlite_stmt(DbStmt *st);

/* Maps an SQLite result code (extended or not) to a negative errno, as
 * db.h lists them; 0 for SQLITE_OK, _ROW and _DONE. */
int db_sqlite_errno(int code);
