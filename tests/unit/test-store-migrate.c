/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/store/store-schema.c, store-connection.c and db-sqlite.c: opening, migrating and the
 * properties of the database file. These look at the file from the side
 * (a second SQLite connection) and, where a setting is per connection, at
 * the store's own connection through store-internal.h. */

#include <sqlite3.h>
#include <sys/stat.h>

#include "db-sqlite.h"
#include "store-internal.h"
#include "store-oidc.h"
#include "test-util.h"

static char *dir, *db_path;

static void setup(void) {
        dir = test_mkdtemp();
        ck_assert_int_ge(asprintf(&db_path, "%s/tessera.db", dir), 0);
}

static void teardown(void) {
        test_rm_rf(dir);
        dir = (free(dir), NULL);
        db_path = (free(db_path), NULL);
}

/* Runs one query returning one value on a connection of our own. */
static char *query_file(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char *v;

        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        v = strdup((const char *) sqlite3_column_text(st, 0) ?: "");
        ck_assert_ptr_nonnull(v);
        sqlite3_finalize(st);
        ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
        return v;
}

static void exec_file(const char *path, const char *sql) {
        sqlite3 *db = NULL;

        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);
}

/* The same, on the store's own connection. */
static int query_store_int(Store *s, const char *sql) {
        sqlite3_stmt *st = NULL;
        int v;

        ck_assert_int_eq(sqlite3_prepare_v2(db_sqlite_handle(s->db), sql, -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return v;
}

static mode_t file_mode(const char *path) {
        struct stat st;

        ck_assert_msg(stat(path, &st) == 0, "stat(%s): %m", path);
        return st.st_mode & 07777;
}

START_TEST(test_new_memory) {
        _cleanup_(store_closep) Store *s = NULL;

        ck_assert_int_ge(store_latest_schema_version(), 1);
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(":memory:"), &s), 0);
        ck_assert_int_eq(store_schema_version(s), store_latest_schema_version());
        ck_assert_int_eq(store_ping(s), 0);
        ck_assert_int_eq(query_store_int(s, "PRAGMA foreign_keys"), 1);
}
END_TEST

START_TEST(test_new_file) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *version = NULL, *expected = NULL;

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        ck_assert_int_eq(store_schema_version(s), store_latest_schema_version());
        ck_assert_int_eq(store_ping(s), 0);

        ck_assert_int_ge(asprintf(&expected, "%d", store_latest_schema_version()), 0);
        version = query_file(db_path, "PRAGMA user_version");
        ck_assert_str_eq(version, expected);

        /* Every token issue appends an event: the indexes a success keeps
         * up are those of the tenant's audit query, one per filter, and
         * nothing else (the others are partial, over refusals). */
        ck_assert_int_eq(query_store_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                            "AND tbl_name = 'audit_events' "
                                            "AND sql NOT LIKE '%WHERE result <> ''success'''"), 4);
        ck_assert_int_eq(query_store_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                                            "AND tbl_name = 'audit_events' AND sql NOT LIKE '%WHERE result%' "
                                            "AND sql NOT LIKE '%ON audit_events(tenant, %time_usec)'"), 0);
}
END_TEST

START_TEST(test_reopen_keeps_data) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        t = test_tenant(s, "acme", NULL);
        user_record_unref(test_user(s, t, "alice"));
        s = store_close(s);
        t = tenant_record_unref(t);

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        ck_assert_int_eq(store_schema_version(s), store_latest_schema_version());
        ck_assert_int_eq(store_tenant_get(s, "acme", &t), 0);
        ck_assert_int_eq(store_user_get(s, t->id, "alice", &u), 0);
        ck_assert_uint_eq(u->uid, 200000);
}
END_TEST

START_TEST(test_close_rolls_back) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        UserRecord u = { .name = (char *) "alice", .home = (char *) "/home/alice", .shell = (char *) "/bin/sh" };

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        t = test_tenant(s, "acme", NULL);
        u.tenant_id = t->id;
        ck_assert_int_eq(store_begin(s), 0);
        ck_assert_int_eq(store_user_create(s, &u, NULL), 0);
        /* Closed in the middle of a change: nothing of it must be kept. */
        s = store_close(s);

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        ck_assert_int_eq(store_user_get(s, t->id, "alice", NULL), -ENOENT);
        ck_assert_int_eq(store_group_get(s, t->id, "alice", NULL), -ENOENT);
}
END_TEST

START_TEST(test_second_connection) {
        _cleanup_(store_closep) Store *a = NULL, *b = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL, *seen = NULL;

        /* One connection per thread: a second one sees committed data and
         * finds the schema migrated already. */
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &a), 0);
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &b), 0);
        t = test_tenant(a, "acme", NULL);
        ck_assert_int_eq(store_tenant_get(b, "acme", &seen), 0);
        ck_assert_int_eq(seen->id, t->id);
        ck_assert_int_eq(store_schema_version(b), store_latest_schema_version());
}
END_TEST

START_TEST(test_pkce_opt_out_migrated) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(application_record_unrefp) ApplicationRecord *web = NULL, *spa = NULL;

        /* Applications as schema version 8 had them: the confidential
         * clients registered then keep working without PKCE (opted out by
         * the migration); public clients never had the choice. (And the
         * columns of audit events and users later migrations use.) */
        exec_file(db_path, "CREATE TABLE tenants (id INTEGER PRIMARY KEY, slug TEXT NOT NULL);"
                           "INSERT INTO tenants (id, slug) VALUES (1, 'acme');"
                           "CREATE TABLE users (id INTEGER PRIMARY KEY, tenant_id INTEGER, name TEXT, email TEXT, "
                           "role TEXT, disabled INTEGER, locked_until_usec INTEGER, expires_usec INTEGER, "
                           "created_usec INTEGER);"
                           "CREATE TABLE groups (id INTEGER PRIMARY KEY, tenant_id INTEGER, name TEXT, "
                           "private_user_id INTEGER);"
                           "CREATE TABLE applications (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, "
                           "name TEXT NOT NULL, client_id TEXT NOT NULL UNIQUE, secret_digest BLOB, "
                           "public INTEGER NOT NULL DEFAULT 0, first_party INTEGER NOT NULL DEFAULT 0, "
                           "redirect_uris TEXT NOT NULL DEFAULT '', post_logout_redirect_uris TEXT NOT NULL "
                           "DEFAULT '', grants TEXT NOT NULL, scopes TEXT NOT NULL, signing_alg TEXT NOT NULL "
                           "DEFAULT 'RS256', secret_changed_usec INTEGER NOT NULL DEFAULT 0, created_usec INTEGER "
                           "NOT NULL, changed_usec INTEGER NOT NULL);"
                           "INSERT INTO applications (tenant_id, name, client_id, public, grants, scopes, "
                           "created_usec, changed_usec) VALUES (1, 'web', 'c1', 0, 'authorization_code', 'openid', "
                           "1, 1), (1, 'spa', 'c2', 1, 'authorization_code', 'openid', 1, 1);"
                           "CREATE TABLE audit_events (id INTEGER PRIMARY KEY, time_usec INTEGER NOT NULL, "
                           "actor TEXT, action TEXT NOT NULL, tenant TEXT, target TEXT, result TEXT NOT NULL);"
                           /* As version 8 has it: 17 -> 18 adds a column. */
                           "CREATE TABLE mfa_challenges (digest BLOB PRIMARY KEY, tenant_id INTEGER NOT NULL, "
                           "user_id INTEGER NOT NULL, created_usec INTEGER NOT NULL, expires_usec INTEGER NOT NULL, "
                           "used_usec INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
                           "PRAGMA user_version = 8;");
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        ck_assert_int_eq(store_schema_version(s), store_latest_schema_version());
        ck_assert_int_eq(store_application_get(s, 1, "web", &web), 0);
        ck_assert(web->pkce_optional);
        ck_assert_int_eq(store_application_get(s, 1, "spa", &spa), 0);
        ck_assert(!spa->pkce_optional);
}
END_TEST

START_TEST(test_audit_counts_migrated) {
        _cleanup_(store_closep) Store *s = NULL;
        AuditEvent *list = NULL, repeat = {
                .time_usec = 1700000000000001,
                .channel = "http",
                .actor_uid = -1,
                .action = "oauth.token",
                .target = "app_1",
                .result = AUDIT_DENIED,
                .remote = "192.0.2.1",
        };
        size_t n = 0;

        /* The audit table as schema version 4 had it, with an event: the
         * migration counts it once, and repeats are counted on it. (And
         * the columns of users and applications later migrations use.) */
        exec_file(db_path, "CREATE TABLE applications (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                           "public INTEGER NOT NULL DEFAULT 0);"
                           "CREATE TABLE users (id INTEGER PRIMARY KEY, tenant_id INTEGER, name TEXT, email TEXT, "
                           "role TEXT, disabled INTEGER, locked_until_usec INTEGER, expires_usec INTEGER, "
                           "created_usec INTEGER);"
                           "CREATE TABLE groups (id INTEGER PRIMARY KEY, tenant_id INTEGER, name TEXT, "
                           "private_user_id INTEGER);"
                           "CREATE TABLE audit_events (id INTEGER PRIMARY KEY, time_usec INTEGER NOT NULL, "
                           "channel TEXT NOT NULL, actor_uid INTEGER, actor TEXT, action TEXT NOT NULL, tenant TEXT, "
                           "target TEXT, result TEXT NOT NULL, remote TEXT, details TEXT);"
                           "INSERT INTO audit_events (time_usec, channel, action, target, result, remote) "
                           "VALUES (1700000000000000, 'http', 'oauth.token', 'app_1', 'denied', '192.0.2.1');"
                           "PRAGMA user_version = 4;");
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        ck_assert_int_eq(store_schema_version(s), store_latest_schema_version());
        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(list[0].count, 1);
        ck_assert_int_eq(list[0].last_usec, 1700000000000000);
        audit_event_array_free(list, n);

        ck_assert_int_eq(store_audit_append(s, &repeat), 0);
        ck_assert_int_eq(store_audit_list(s, NULL, &list, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(list[0].count, 2);
        ck_assert_int_eq(list[0].time_usec, 1700000000000000);
        ck_assert_int_eq(list[0].last_usec, 1700000000000001);
        audit_event_array_free(list, n);
}
END_TEST

START_TEST(test_newer_schema_refused) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *sql = NULL, *version = NULL, *expected = NULL, *tenants = NULL;
        int newer = store_latest_schema_version() + 1;

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        tenant_record_unref(test_tenant(s, "acme", NULL));
        s = store_close(s);

        ck_assert_int_ge(asprintf(&sql, "PRAGMA user_version = %d", newer), 0);
        exec_file(db_path, sql);

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), -EPROTONOSUPPORT);
        ck_assert_ptr_null(s);

        /* Refused without being touched. */
        ck_assert_int_ge(asprintf(&expected, "%d", newer), 0);
        version = query_file(db_path, "PRAGMA user_version");
        ck_assert_str_eq(version, expected);
        tenants = query_file(db_path, "SELECT COUNT(*) FROM tenants");
        ck_assert_str_eq(tenants, "1");
}
END_TEST

START_TEST(test_newer_empty_database_refused) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *tables = NULL;

        /* A database some newer tesserad created with no tables we know. */
        exec_file(db_path, "PRAGMA user_version = 1000");
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), -EPROTONOSUPPORT);
        tables = query_file(db_path, "SELECT COUNT(*) FROM sqlite_master");
        ck_assert_str_eq(tables, "0");
}
END_TEST

START_TEST(test_mode_0600) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *wal = NULL, *shm = NULL;
        mode_t old = umask(0);

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);
        umask(old);
        tenant_record_unref(test_tenant(s, "acme", NULL));

        ck_assert_uint_eq(file_mode(db_path), 0600);
        /* SQLite gives the WAL and shared-memory files the database's mode. */
        ck_assert_int_ge(asprintf(&wal, "%s-wal", db_path), 0);
        ck_assert_int_ge(asprintf(&shm, "%s-shm", db_path), 0);
        ck_assert_uint_eq(file_mode(wal), 0600);
        ck_assert_uint_eq(file_mode(shm), 0600);
}
END_TEST

START_TEST(test_existing_file_restricted) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *path = test_write_file(dir, "tessera.db", "");

        ck_assert_int_eq(chmod(path, 0644), 0);
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(path), &s), 0);
        ck_assert_uint_eq(file_mode(path), 0600);
        ck_assert_int_eq(store_schema_version(s), store_latest_schema_version());
}
END_TEST

START_TEST(test_symlink_refused) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *target = NULL;

        /* The state directory is root's; a link in it is not followed. */
        ck_assert_int_ge(asprintf(&target, "%s/elsewhere.db", dir), 0);
        ck_assert_int_eq(symlink(target, db_path), 0);
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), -ELOOP);
        ck_assert_int_eq(access(target, F_OK), -1);
}
END_TEST

START_TEST(test_not_a_database) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *path = test_write_file(dir, "tessera.db",
                                                    "this is certainly not an SQLite database, but it is long enough "
                                                    "to have a header that SQLite reads and rejects as such.\n");

        ck_assert_int_lt(store_open(TEST_STORE_CONFIG(path), &s), 0);
        ck_assert_ptr_null(s);
}
END_TEST

START_TEST(test_pragmas) {
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_free_ char *journal = NULL;

        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(db_path), &s), 0);

        /* journal_mode=wal is a property of the file: any connection sees it. */
        journal = query_file(db_path, "PRAGMA journal_mode");
        ck_assert_str_eq(journal, "wal");

        /* foreign_keys and synchronous are per connection: ask the store's. */
        ck_assert_int_eq(query_store_int(s, "PRAGMA foreign_keys"), 1);
        ck_assert_int_eq(query_store_int(s, "PRAGMA synchronous"), 2 /* FULL */);
        /* And enforced: a membership of nobody in nothing is refused. */
        ck_assert_int_ne(sqlite3_exec(db_sqlite_handle(s->db), "INSERT INTO group_members (group_id, user_id) VALUES (4711, 4712)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
}
END_TEST

static Suite *migrate_suite(void) {
        Suite *s = suite_create("store-migrate");
        TCase *tc = tcase_create("open and migrate");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_new_memory);
        tcase_add_test(tc, test_new_file);
        tcase_add_test(tc, test_reopen_keeps_data);
        tcase_add_test(tc, test_close_rolls_back);
        tcase_add_test(tc, test_second_connection);
        tcase_add_test(tc, test_audit_counts_migrated);
        tcase_add_test(tc, test_pkce_opt_out_migrated);
        tcase_add_test(tc, test_newer_schema_refused);
        tcase_add_test(tc, test_newer_empty_database_refused);
        tcase_add_test(tc, test_mode_0600);
        tcase_add_test(tc, test_existing_file_restricted);
        tcase_add_test(tc, test_symlink_refused);
        tcase_add_test(tc, test_not_a_database);
        tcase_add_test(tc, test_pragmas);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        log_set_max_level(LOG_CRIT);
        return test_run_suite(migrate_suite());
}
