/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-pg-util.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"

const char *test_pg_url(void) {
        const char *url = getenv("TESSERA_TEST_STORE_URL");

        return isempty(url) ? NULL : url;
}

PGconn *test_pg_connect(const char *name) {
        /* The URL's own database name is replaced by name: libpq expands
         * the first dbname only and takes later ones as plain names. */
        const char *const keys[] = { "dbname", "dbname", NULL };
        const char *const values[] = { test_pg_url(), name, NULL };
        PGconn *conn;

        ck_assert_ptr_nonnull(test_pg_url());
        conn = PQconnectdbParams(keys, values, 1);
        ck_assert_ptr_nonnull(conn);
        ck_assert_msg(PQstatus(conn) == CONNECTION_OK, "connecting to %s: %s", name, PQerrorMessage(conn));
        return conn;
}

char *test_pg_database_url(const char *name) {
        PQconninfoOption *options;
        char *err = NULL, *buf = NULL;
        size_t size = 0;
        FILE *f;

        ck_assert_ptr_nonnull(test_pg_url());
        options = PQconninfoParse(test_pg_url(), &err);
        ck_assert_msg(options, "%s: %s", test_pg_url(), err ?: "");
        f = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(f);
        /* The test server's values hold no quote, backslash or space. */
        for (PQconninfoOption *o = options; o->keyword; o++)
                if (o->val && !streq(o->keyword, "dbname"))
                        fprintf(f, "%s='%s' ", o->keyword, o->val);
        fprintf(f, "dbname='%s'", name);
        ck_assert_int_eq(fclose(f), 0);
        PQconninfoFree(options);
        return buf;
}

char *test_pg_query(PGconn *conn, const char *sql) {
        PGresult *res = PQexec(conn, sql);
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(conn));
        f = open_memstream(&buf, &size);
        ck_assert_ptr_nonnull(f);
        for (int row = 0; row < PQntuples(res); row++) {
                if (row > 0)
                        fputc('\n', f);
                for (int col = 0; col < PQnfields(res); col++)
                        fprintf(f, "%s%s", col > 0 ? "|" : "", PQgetvalue(res, row, col));
        }
        ck_assert_int_eq(fclose(f), 0);
        PQclear(res);
        return buf;
}

void test_pg_exec(PGconn *conn, const char *sql) {
        PGresult *res = PQexec(conn, sql);

        ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s",
                      sql, PQerrorMessage(conn));
        PQclear(res);
}

char *test_pg_database_new(void) {
        static atomic_uint counter;
        char *name, sql[128];
        PGconn *conn;

        /* check forks a process per test: the pid tells them apart. */
        ck_assert_int_ge(asprintf(&name, "unit_%d_%u", (int) getpid(), atomic_fetch_add(&counter, 1)), 0);
        conn = test_pg_connect("postgres");
        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
        test_pg_exec(conn, sql);
        PQfinish(conn);
        return name;
}

void test_pg_database_drop(const char *name) {
        char sql[128];
        PGconn *conn;

        if (!name)
                return;
        conn = test_pg_connect("postgres");
        snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS \"%s\" WITH (FORCE)", name);
        test_pg_exec(conn, sql);
        PQfinish(conn);
}
