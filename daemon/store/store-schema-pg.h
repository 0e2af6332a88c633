/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The PostgreSQL dialect of the schema (store-schema-pg.c), for the
 * PostgreSQL backend of the store only: the same versions as SQLite's,
 * applied under an advisory lock. */

#include "db.h"

/* How many migrations this build knows on PostgreSQL; equal to
 * store_latest_schema_version() (SQLite's) in a consistent build. */
int store_pg_latest_schema_version(void);

/* The version of the database db is connected to: 0 for an empty one,
 * else the row of tessera_schema. what names the database in messages. */
int store_pg_schema_version(Db *db, const char *what);

/* Brings the database up to store_pg_latest_schema_version(), in one
 * transaction under an advisory lock, so that instances starting together
 * migrate once. A database newer than this build is refused untouched
 * (-EPROTONOSUPPORT). db must not be inside a transaction. */
int store_pg_migrate(Db *db, const char *what);

/* The same, inside the caller's open transaction (store_copy(): the schema
 * commits with the rows copied into it, or not at all), under the same
 * advisory lock held to the transaction's end. */
int store_pg_migrate_in_transaction(Db *db, const char *what);
