/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-schema-pg.c: the PostgreSQL dialect of the schema
 * and its migration runner, on a real PostgreSQL server (the meson test
 * starts one with tests/lib/pg_server.py). The schema is compared with
 * SQLite's as a fresh tesserad makes it: the same tables and columns, the
 * same named indexes, unique constraints and foreign keys. */

#include <pthread.h>
#include <sqlite3.h>

#include "db.h"
#include "store-schema-pg.h"
#include "test-pg-util.h"
#include "test-util.h"

static char *dbname, *dburl;
static PGconn *conn;     /* to look from the side */
static Db *db;           /* the store's view: the runner's */

static Db *open_db(void) {
        StoreConfig c = { .backend = STORE_BACKEND_POSTGRESQL, .url = dburl };
        Db *d = NULL;

        ck_assert_int_eq(db_open(&c, &d), 0);
        return d;
}

static void setup(void) {
        dbname = test_pg_database_new();
        dburl = test_pg_database_url(dbname);
        conn = test_pg_connect(dbname);
        db = open_db();
}

static void teardown(void) {
        db = db_close(db);
        PQfinish(conn);
        conn = NULL;
        dburl = (free(dburl), NULL);
        test_pg_database_drop(dbname);
        dbname = (free(dbname), NULL);
}

/* One migration number, two dialects: a build whose PostgreSQL schema
 * lags SQLite's is caught here, without a server. */
START_TEST(test_versions_in_step) {
        ck_assert_int_eq(store_pg_latest_schema_version(), store_latest_schema_version());
}
END_TEST

START_TEST(test_migrate_fresh) {
        ck_assert_int_eq(store_pg_schema_version(db, dbname), 0);
        ck_assert_int_eq(store_pg_migrate(db, dbname), 0);
        ck_assert_int_eq(store_pg_schema_version(db, dbname), store_latest_schema_version());
        /* Again: nothing to do, nothing done. */
        ck_assert_int_eq(store_pg_migrate(db, dbname), 0);
        ck_assert_int_eq(store_pg_schema_version(db, dbname), store_latest_schema_version());
        ck_assert(!db_in_transaction(db));
}
END_TEST

/* Runs one query on an SQLite file, rows joined as test_pg_query() does. */
static char *sqlite_query(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int row = 0, rc;

        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (row++ > 0)
                        fputc('\n', f);
                for (int col = 0; col < sqlite3_column_count(st); col++)
                        fprintf(f, "%s%s", col > 0 ? "|" : "", (const char *) sqlite3_column_text(st, col) ?: "");
        }
        ck_assert_int_eq(rc, SQLITE_DONE);
        sqlite3_finalize(st);
        ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
        ck_assert_int_eq(fclose(f), 0);
        return buf;
}

/* The lines of a (sorted, '\n'-separated) that b lacks, joined by ", ". */
static char *only_in(const char *a, const char *b) {
        _cleanup_free_ char *copy = strdup(a);
        char *buf = NULL, *line, *save = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        ck_assert_ptr_nonnull(copy);
        ck_assert_ptr_nonnull(f);
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                size_t n = strlen(line);
                const char *p = b;
                bool found = false;

                while ((p = strstr(p, line))) {
                        if ((p == b || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0')) {
                                found = true;
                                break;
                        }
                        p += n;
                }
                if (!found)
                        fprintf(f, "%s%s", ftell(f) > 0 ? ", " : "", line);
        }
        ck_assert_int_eq(fclose(f), 0);
        return buf;
}

static void assert_same(const char *what, const char *sqlite_sql, const char *pg_sql, const char *path) {
        _cleanup_free_ char *ordered = NULL, *lite = NULL, *pg = NULL;

        /* Sorted byte by byte on both sides, as SQLite's ORDER BY does. */
        ck_assert_int_ge(asprintf(&ordered, "SELECT x FROM (%s) q(x) ORDER BY x COLLATE \"C\"", pg_sql), 0);
        lite = sqlite_query(path, sqlite_sql);
        pg = test_pg_query(conn, ordered);

        ck_assert_msg(!isempty(lite), "%s: SQLite has none", what);
        if (!streq(lite, pg)) {
                _cleanup_free_ char *only_lite = only_in(lite, pg), *only_pg = only_in(pg, lite);
                ck_abort_msg("%s differ. Only on SQLite: %.400s. Only on PostgreSQL: %.400s.", what, only_lite,
                             only_pg);
        }
}

START_TEST(test_same_schema_as_sqlite) {
        _cleanup_free_ char *dir = test_mkdtemp(), *path = NULL;
        Store *s;

        /* SQLite's schema as a fresh tesserad leaves it. */
        s = test_store_open(dir);
        store_close(s);
        ck_assert_int_ge(asprintf(&path, "%s/tessera.db", dir), 0);
        ck_assert_int_eq(store_pg_migrate(db, dbname), 0);

        /* Every column, with whether it may be NULL (SQLite lets a
         * PRIMARY KEY column of a rowid table be NULL on paper only). */
        assert_same("Columns",
                    "SELECT m.name || '.' || p.name || ' ' || "
                    "  CASE WHEN p.\"notnull\" OR p.pk > 0 THEN 'not null' ELSE 'null' END "
                    "FROM sqlite_master m, pragma_table_info(m.name) p "
                    "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY 1",
                    "SELECT table_name || '.' || column_name || ' ' || "
                    "  CASE WHEN is_nullable = 'NO' THEN 'not null' ELSE 'null' END "
                    "FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name <> 'tessera_schema'",
                    path);
        /* The indexes made by name (not those behind a constraint),
         * unique or not, partial or not. */
        assert_same("Named indexes",
                    "SELECT il.name || CASE WHEN il.\"unique\" THEN ' unique' ELSE '' END || "
                    "  CASE WHEN il.partial THEN ' partial' ELSE '' END "
                    "FROM sqlite_master m, pragma_index_list(m.name) il "
                    "WHERE m.type = 'table' AND il.origin = 'c' ORDER BY 1",
                    "SELECT c.relname || CASE WHEN i.indisunique THEN ' unique' ELSE '' END || "
                    "  CASE WHEN i.indpred IS NOT NULL THEN ' partial' ELSE '' END "
                    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = current_schema() AND NOT EXISTS ("
                    "  SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u'))",
                    path);
        /* UNIQUE constraints, by table and columns. */
        assert_same("Unique constraints",
                    "SELECT m.name || '(' || (SELECT group_concat(ii.name, ',') FROM "
                    "  (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno) ii) || ')' "
                    "FROM sqlite_master m, pragma_index_list(m.name) il "
                    "WHERE m.type = 'table' AND il.origin = 'u' ORDER BY 1",
                    "SELECT k.conrelid::regclass::text || '(' || "
                    "  (SELECT string_agg(a.attname, ',' ORDER BY u.ord) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, ord) "
                    "   JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum) || ')' "
                    "FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
                    "WHERE n.nspname = current_schema() AND k.contype = 'u'",
                    path);
        /* Foreign keys and what a delete does to them. */
        assert_same("Foreign keys",
                    "SELECT m.name || '.' || f.\"from\" || ' -> ' || f.\"table\" || '.' || f.\"to\" || ' ' || f.on_delete "
                    "FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
                    "WHERE m.type = 'table' ORDER BY 1",
                    "SELECT k.conrelid::regclass::text || '.' || a.attname || ' -> ' || k.confrelid::regclass::text || "
                    "  '.' || b.attname || ' ' || CASE k.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' "
                    "  WHEN 'r' THEN 'RESTRICT' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END "
                    "FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace "
                    "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
                    "JOIN pg_attribute b ON b.attrelid = k.confrelid AND b.attnum = k.confkey[1] "
                    "WHERE n.nspname = current_schema() AND k.contype = 'f'",
                    path);
        test_rm_rf(dir);
}
END_TEST

/* Instances starting together on an empty database: each waits for the
 * advisory lock, and only the first finds anything to do (were two to
 * run the migrations, the second would fail on a table that exists). */
#define RACERS 6

typedef struct Racer {
        pthread_barrier_t *barrier;
        Db *db;
        int result;
} Racer;

static void *race(void *userdata) {
        Racer *r = userdata;

        pthread_barrier_wait(r->barrier);
        r->result = store_pg_migrate(r->db, dbname);
        return NULL;
}

START_TEST(test_migrate_concurrently_once) {
        pthread_barrier_t barrier;
        pthread_t threads[RACERS];
        Racer racers[RACERS];

        ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, RACERS), 0);
        for (size_t i = 0; i < RACERS; i++) {
                racers[i] = (Racer) { .barrier = &barrier, .db = open_db(), .result = 1 };
                ck_assert_int_eq(pthread_create(&threads[i], NULL, race, &racers[i]), 0);
        }
        for (size_t i = 0; i < RACERS; i++) {
                ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
                ck_assert_msg(racers[i].result == 0, "instance %zu: %s", i, strerror(-racers[i].result));
                db_close(racers[i].db);
        }
        pthread_barrier_destroy(&barrier);
        _cleanup_free_ char *rows = test_pg_query(conn, "SELECT count(*) FROM tessera_schema");
        ck_assert_str_eq(rows, "1");
        ck_assert_int_eq(store_pg_schema_version(db, dbname), store_latest_schema_version());
}
END_TEST

START_TEST(test_newer_database_refused_untouched) {
        char sql[128];
        _cleanup_free_ char *before = NULL, *after = NULL, *x = NULL;

        ck_assert_int_eq(store_pg_migrate(db, dbname), 0);
        snprintf(sql, sizeof(sql), "UPDATE tessera_schema SET version = %d", store_latest_schema_version() + 1);
        test_pg_exec(conn, sql);
        /* What a newer tesserad might have made. */
        test_pg_exec(conn, "CREATE TABLE from_the_future (x BIGINT); INSERT INTO from_the_future VALUES (42)");
        before = test_pg_query(conn, "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'i')");

        ck_assert_int_eq(store_pg_migrate(db, dbname), -EPROTONOSUPPORT);

        ck_assert_int_eq(store_pg_schema_version(db, dbname), store_latest_schema_version() + 1);
        x = test_pg_query(conn, "SELECT x FROM from_the_future");
        ck_assert_str_eq(x, "42");
        after = test_pg_query(conn, "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'i')");
        ck_assert_str_eq(before, after);
        ck_assert(!db_in_transaction(db));
}
END_TEST

/* A migration that fails leaves the database as it was: DDL is
 * transactional on PostgreSQL, and the runner uses one transaction. */
START_TEST(test_failed_migration_rolled_back) {
        _cleanup_free_ char *tenants = NULL, *mine = NULL;

        test_pg_exec(conn, "CREATE TABLE operators (mine TEXT); INSERT INTO operators VALUES ('kept')");

        ck_assert_int_lt(store_pg_migrate(db, dbname), 0);

        ck_assert_int_eq(store_pg_schema_version(db, dbname), 0);
        tenants = test_pg_query(conn, "SELECT to_regclass('tenants') IS NULL");
        ck_assert_str_eq(tenants, "t");
        mine = test_pg_query(conn, "SELECT mine FROM operators");
        ck_assert_str_eq(mine, "kept");
        ck_assert(!db_in_transaction(db));
}
END_TEST

static Suite *schema_pg_suite(void) {
        Suite *s = suite_create("store-schema-pg");
        TCase *tc = tcase_create("versions");

        tcase_add_test(tc, test_versions_in_step);
        suite_add_tcase(s, tc);

        if (!test_pg_url()) {
                fprintf(stderr, "TESSERA_TEST_STORE_URL is not set: the cases on a PostgreSQL server do not run "
                                "(meson test runs them under tests/lib/pg_server.py).\n");
                return s;
        }
        tc = tcase_create("postgresql");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_migrate_fresh);
        tcase_add_test(tc, test_same_schema_as_sqlite);
        tcase_add_test(tc, test_migrate_concurrently_once);
        tcase_add_test(tc, test_newer_database_refused_untouched);
        tcase_add_test(tc, test_failed_migration_rolled_back);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run_suite(schema_pg_suite());
}
