/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers for the unit tests that run on a real PostgreSQL server: the one
 * tests/lib/pg_server.py starts and names in TESSERA_TEST_STORE_URL (the
 * meson test runs the executable under "pg_server.py run"). Each test
 * gets a database of its own, made from the server's template and
 * dropped at its end. Every helper asserts on failure. */

#include <libpq-fe.h>
#include <stdbool.h>

/* The server's URL, or NULL when the test runs without one (then the
 * PostgreSQL cases are not added, and the executable says so). */
const char *test_pg_url(void);

/* Creates an empty database of a name no other test uses; returns the name. */
char *test_pg_database_new(void);
void test_pg_database_drop(const char *name);

/* A libpq connection string (key=value) for database name on the test
 * server, for a StoreConfig's url. */
char *test_pg_database_url(const char *name);

/* A connection to database name on the test server. */
PGconn *test_pg_connect(const char *name);

/* Runs sql; returns every row, columns joined by '|' and rows by '\n'. */
char *test_pg_query(PGconn *conn, const char *sql);
/* Runs sql, which returns no rows. */
void test_pg_exec(PGconn *conn, const char *sql);
