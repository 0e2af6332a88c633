/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the unit tests: temporary directories, capturing what
 * the code under test logs, short ways to build store and core fixtures,
 * and a gate for worker pool tests. Every helper asserts on failure, so
 * that tests read as what they check. */

#include <check.h>
#include <pthread.h>

#include "change.h"
#include "log.h"
#include "manager.h"
#include "macro.h"
#include "store-pool.h"
#include "store.h"

/* The SSSD-like defaults of tesserad.conf: slices of 200000 from 200000. */
extern const IdRange test_default_range;
/* A small range (slices 1000-1999, 2000-2999) to reach a slice's end cheaply. */
extern const IdRange test_small_range;

/* Runs every test of s; returns the process exit status. */
int test_run_suite(Suite *s);

/* A fresh private directory under $TMPDIR (or /tmp), and its removal with
 * everything below it. */
char *test_mkdtemp(void);
void test_rm_rf(const char *path);
/* Writes contents to dir/name and returns the path. */
char *test_write_file(const char *dir, const char *name, const char *contents);

/* log.c writes to fd 2 with write(2), so capture at the descriptor level:
 * fd 2 goes to an anonymous file until stop, which returns what was written. */
typedef struct StderrCapture {
        int saved_fd;
        int fd;
} StderrCapture;
void stderr_capture_start(StderrCapture *c);
char *stderr_capture_stop(StderrCapture *c);

/* Store fixtures. Each store test runs twice: on ":memory:" and on a file in
 * a private temporary directory. test_store is the store of the running test. */
extern Store *test_store;
extern char *test_store_dir;   /* NULL for ":memory:" */
void test_add_store_tcases(Suite *s, const char *name, void (*add_tests)(TCase *tc));

Store *test_store_open(const char *dir);
/* The PostgreSQL database of the running store test (for a second
 * connection to it, test_pg_database_url()); NULL on SQLite. */
const char *test_store_pg_database(void);
/* The configuration of an SQLite database at path (":memory:": private). */
#define TEST_STORE_CONFIG(p) (&(StoreConfig) { .backend = STORE_BACKEND_SQLITE, .path = (char *) (p) })
/* A pool on tessera.db in dir, or on ":memory:" without dir (every
 * connection of which is a database of its own). */
StorePool *test_store_pool(const char *dir);
TenantRecord *test_tenant(Store *s, const char *slug, const IdRange *range);
/* Creates a user in its own transaction, rolled back on failure; returns
 * store_user_create()'s result. email may be NULL, uid 0 allocates. */
int test_user_create(Store *s, const TenantRecord *t, const char *name, uint32_t uid, const char *email,
                     UserRecord **ret);
UserRecord *test_user(Store *s, const TenantRecord *t, const char *name);
int test_group_create(Store *s, const TenantRecord *t, const char *name, uint32_t gid, GroupRecord **ret);
GroupRecord *test_group(Store *s, const TenantRecord *t, const char *name);

/* Number of audit events matching action and target (NULL: any) with the
 * given result (-1: any), repeats counted. */
size_t test_audit_count(Store *s, const char *action, const char *target, int result);

/* Compares a NULL-terminated list with the expected names (NULL-terminated). */
void test_assert_strv(char **l, const char *const *expected);
#define ASSERT_STRV(l, ...) test_assert_strv((l), (const char *const[]) { __VA_ARGS__, NULL })

/* A worker job that holds its thread until the test opens the gate, so that
 * tests fill a pool's queue deterministically, without sleeping. */
typedef struct TestGate {
        pthread_mutex_t mutex;
        pthread_cond_t cond;
        bool started;
        bool open;
} TestGate;
void test_gate_init(TestGate *g);
void test_gate_destroy(TestGate *g);
/* A WorkerFunc: marks the gate started, then waits until it is open. */
void test_gate_work(void *gate);
void test_gate_wait_started(TestGate *g);
void test_gate_open(TestGate *g);

/* A Manager as the core operations need it: the default configuration and
 * an in-memory store; no bus, no event loop, no workers. */
Manager *test_manager_new(void);
/* Moves m onto a pool of tessera.db in dir, for tests that open further
 * connections to the same database (threads of their own). */
void test_manager_use_dir(Manager *m, const char *dir);

/* The change events the core announces on m (events.h), recorded by an
 * inline subscriber as they are published. test_events_follow() gives m an
 * event bus; free the TestEvents after the Manager. */
typedef struct TestEvents {
        sd_event *event;
        size_t n;
        struct {
                ChangeKind kind;
                ChangeOp op;
                char name[64];
        } seen[64];
} TestEvents;
TestEvents *test_events_follow(Manager *m);
TestEvents *test_events_free(TestEvents *t);
/* How many events of kind and op about name (NULL: any) were published. */
size_t test_events_count(const TestEvents *t, ChangeKind kind, ChangeOp op, const char *name);

/* An administrator (root over D-Bus) and an ordinary caller. */
extern const Principal test_admin;
extern const Principal test_nobody;

/* The audit events matching action and target, oldest first. */
AuditEvent *test_audit_events(Store *s, const char *action, const char *target, size_t *ret_n);
