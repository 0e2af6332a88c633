/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Copying a whole store from one database into another (`tesseractl store
 * migrate-to`): a stopped SQLite deployment moves into an empty
 * PostgreSQL database with its users, keys and audit trail, ids and all,
 * so that a tesserad started on the copy (with the same state directory,
 * for the sealing key) goes on where the old one stopped. */

#include <stdbool.h>
#include <stdint.h>

#include "store-config.h"

/* Every table of the schema, in the order the copy fills them (one that
 * refers to another comes after it). */
#define STORE_COPY_TABLES_MAX 40

typedef struct StoreCopyTable {
        const char *name;         /* static */
        uint64_t source_rows, target_rows;
        /* A sum of one keyed hash per row over every column (order-free),
         * read back from each side: equal when the rows are. */
        uint64_t source_checksum, target_checksum;
} StoreCopyTable;

typedef struct StoreCopyReport {
        int schema_version;
        unsigned n_tables;
        StoreCopyTable tables[STORE_COPY_TABLES_MAX];
} StoreCopyReport;

/* Copies the store at from (SQLite; tesserad must not be running on it:
 * the copy holds SQLite's exclusive lock from start to end, and fails with
 * -EBUSY when another connection has the file open) into the empty
 * PostgreSQL database to names: creates the schema at this build's
 * version (the source is first brought to it, as tesserad would on
 * start), copies every table keeping its ids, moves the identity
 * sequences past them, and reads both sides again to compare row counts
 * and checksums, all in one transaction on the target: on any failure
 * (a mismatch included) nothing stays behind.
 *
 * -ENOENT    no database at from's path (none is created)
 * -EBUSY     the source is in use (tesserad running on it)
 * -ENOTEMPTY the target holds a table (or any relation) already; untouched
 * -ENOTCONN  the target server cannot be reached (or refused us)
 * -EBADE     the copy read back differs from the source (rolled back)
 * -EPROTO    the two databases do not hold the tables this build knows
 * -EOPNOTSUPP the backends are not SQLite to PostgreSQL
 * Every failure is logged with what to do. *ret is written on success. */
int store_copy(const StoreConfig *from, const StoreConfig *to, StoreCopyReport *ret);
