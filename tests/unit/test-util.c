/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-util.h"
#include "test-pg-util.h"

#include <assert.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "audit.h"
#include "log.h"

const IdRange test_default_range = { .min = 200000, .max = 2000200000, .slice_size = 200000 };
const IdRange test_small_range = { .min = 1000, .max = 2999, .slice_size = 1000 };

Store *test_store = NULL;
char *test_store_dir = NULL;

int test_run_suite(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        /* CK_VERBOSITY=verbose in the environment lists every test. */
        srunner_run_all(sr, CK_ENV);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

char *test_mkdtemp(void) {
        const char *tmp = getenv("TMPDIR");
        char *path;

        ck_assert_int_ge(asprintf(&path, "%s/tessera-unit-XXXXXX", isempty(tmp) ? "/tmp" : tmp), 0);
        ck_assert_ptr_nonnull(mkdtemp(path));
        return path;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

void test_rm_rf(const char *path) {
        if (path)
                ck_assert_int_eq(nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

char *test_write_file(const char *dir, const char *name, const char *contents) {
        _cleanup_(fclosep) FILE *f = NULL;
        char *path;

        ck_assert_int_ge(asprintf(&path, "%s/%s", dir, name), 0);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fputs(contents, f) >= 0, 1);
        ck_assert_int_eq(fflush(f), 0);
        return path;
}

void stderr_capture_start(StderrCapture *c) {
        c->fd = memfd_create("stderr-capture", MFD_CLOEXEC);
        ck_assert_int_ge(c->fd, 0);
        c->saved_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        ck_assert_int_ge(c->saved_fd, 0);
        ck_assert_int_eq(dup2(c->fd, STDERR_FILENO), STDERR_FILENO);
}

char *stderr_capture_stop(StderrCapture *c) {
        struct stat st;
        char *buf;
        ssize_t n;

        ck_assert_int_eq(dup2(c->saved_fd, STDERR_FILENO), STDERR_FILENO);
        c->saved_fd = safe_close(c->saved_fd);

        ck_assert_int_eq(fstat(c->fd, &st), 0);
        buf = calloc(1, (size_t) st.st_size + 1);
        ck_assert_ptr_nonnull(buf);
        n = pread(c->fd, buf, (size_t) st.st_size, 0);
        ck_assert_int_eq(n, st.st_size);
        c->fd = safe_close(c->fd);

        /* Show it anyway: a failing test's log should explain itself. */
        (void) !write(STDERR_FILENO, buf, (size_t) n);
        return buf;
}

static void setup_memory(void) {
        test_store_dir = NULL;
        test_store = test_store_open(NULL);
}

static void setup_file(void) {
        test_store_dir = test_mkdtemp();
        test_store = test_store_open(test_store_dir);
}

/* The database of the running test on the PostgreSQL server, one per test. */
static char *test_pg_database;

static void setup_postgresql(void) {
        _cleanup_free_ char *url = NULL;
        StoreConfig c = { .backend = STORE_BACKEND_POSTGRESQL };

        test_store_dir = NULL;
        test_pg_database = test_pg_database_new();
        url = test_pg_database_url(test_pg_database);
        c.url = url;
        ck_assert_int_eq(store_open(&c, &test_store), 0);
        ck_assert_ptr_nonnull(test_store);
}

const char *test_store_pg_database(void) {
        return test_pg_database;
}

static void teardown_store(void) {
        test_store = store_close(test_store);
        test_rm_rf(test_store_dir);
        test_store_dir = (free(test_store_dir), NULL);
        test_pg_database_drop(test_pg_database);
        test_pg_database = (free(test_pg_database), NULL);
}

void test_add_store_tcases(Suite *s, const char *name, void (*add_tests)(TCase *tc)) {
        static const struct {
                const char *suffix;
                void (*setup)(void);
        } sqlite[] = {
                { "memory", setup_memory },
                { "file", setup_file },
        }, postgresql[] = {
                { "postgresql", setup_postgresql },
        };
        /* Under tests/lib/pg_server.py (the "postgresql" suite), on the
         * server it started; else on SQLite, in memory and in a file. */
        bool pg = test_pg_url();
        const typeof(sqlite[0]) *backends = pg ? postgresql : sqlite;
        size_t n_backends = pg ? ELEMENTSOF(postgresql) : ELEMENTSOF(sqlite);

        /* check keeps the name pointer without copying or freeing it. */
        static char names[32][64];
        static size_t n_names = 0;

        for (size_t i = 0; i < n_backends; i++) {
                char *tc_name = names[n_names++];
                TCase *tc;

                assert(n_names <= ELEMENTSOF(names));
                snprintf(tc_name, sizeof(names[0]), "%s (%s)", name, backends[i].suffix);
                tc = tcase_create(tc_name);
                tcase_add_checked_fixture(tc, backends[i].setup, teardown_store);
                add_tests(tc);
                suite_add_tcase(s, tc);
        }
}

Store *test_store_open(const char *dir) {
        _cleanup_free_ char *path = NULL;
        Store *s = NULL;

        if (dir)
                ck_assert_int_ge(asprintf(&path, "%s/tessera.db", dir), 0);
        ck_assert_int_eq(store_open(TEST_STORE_CONFIG(path ?: ":memory:"), &s), 0);
        ck_assert_ptr_nonnull(s);
        return s;
}

StorePool *test_store_pool(const char *dir) {
        _cleanup_free_ char *path = NULL;
        StorePool *p = NULL;

        if (dir)
                ck_assert_int_ge(asprintf(&path, "%s/tessera.db", dir), 0);
        ck_assert_int_eq(store_pool_new(TEST_STORE_CONFIG(path ?: ":memory:"), &p), 0);
        ck_assert_ptr_nonnull(p);
        return p;
}

TenantRecord *test_tenant(Store *s, const char *slug, const IdRange *range) {
        TenantRecord *t = NULL;

        ck_assert_int_eq(store_tenant_create(s, slug, NULL, range ?: &test_default_range, &t), 0);
        ck_assert_ptr_nonnull(t);
        return t;
}

int test_user_create(Store *s, const TenantRecord *t, const char *name, uint32_t uid, const char *email,
                     UserRecord **ret) {
        _cleanup_free_ char *home = NULL;
        UserRecord u = {
                .tenant_id = t->id,
                .name = (char *) name,
                .uid = uid,
                .email = (char *) email,
                .shell = (char *) "/bin/bash",
        };
        int r;

        ck_assert_int_ge(asprintf(&home, "/home/%s", name), 0);
        u.home = home;

        ck_assert_int_eq(store_begin(s), 0);
        r = store_user_create(s, &u, ret);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        ck_assert_int_eq(store_commit(s), 0);
        return r;
}

UserRecord *test_user(Store *s, const TenantRecord *t, const char *name) {
        UserRecord *u = NULL;

        ck_assert_int_eq(test_user_create(s, t, name, 0, NULL, &u), 0);
        ck_assert_ptr_nonnull(u);
        return u;
}

int test_group_create(Store *s, const TenantRecord *t, const char *name, uint32_t gid, GroupRecord **ret) {
        GroupRecord g = {
                .tenant_id = t->id,
                .name = (char *) name,
                .gid = gid,
        };
        int r;

        ck_assert_int_eq(store_begin(s), 0);
        r = store_group_create(s, &g, ret);
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        ck_assert_int_eq(store_commit(s), 0);
        return r;
}

GroupRecord *test_group(Store *s, const TenantRecord *t, const char *name) {
        GroupRecord *g = NULL;

        ck_assert_int_eq(test_group_create(s, t, name, 0, &g), 0);
        ck_assert_ptr_nonnull(g);
        return g;
}

size_t test_audit_count(Store *s, const char *action, const char *target, int result) {
        AuditFilter f = { .action = action, .target = target };
        AuditEvent *events = NULL;
        size_t n = 0, matching = 0;

        ck_assert_int_eq(store_audit_list(s, &f, &events, &n), 0);
        /* Repeats of a refusal are one event with a count (audit.h). */
        for (size_t i = 0; i < n; i++)
                if (result < 0 || (int) events[i].result == result)
                        matching += events[i].count;
        audit_event_array_free(events, n);
        return matching;
}

void test_assert_strv(char **l, const char *const *expected) {
        size_t i;

        ck_assert_ptr_nonnull(l);
        for (i = 0; expected[i]; i++) {
                ck_assert_msg(l[i], "list ends after %zu entries, expected '%s' next", i, expected[i]);
                ck_assert_str_eq(l[i], expected[i]);
        }
        ck_assert_msg(!l[i], "unexpected extra entry '%s'", strna(l[i]));
}

void test_gate_init(TestGate *g) {
        *g = (TestGate) {};
        ck_assert_int_eq(pthread_mutex_init(&g->mutex, NULL), 0);
        ck_assert_int_eq(pthread_cond_init(&g->cond, NULL), 0);
}

void test_gate_destroy(TestGate *g) {
        pthread_cond_destroy(&g->cond);
        pthread_mutex_destroy(&g->mutex);
}

void test_gate_work(void *gate) {
        TestGate *g = gate;

        pthread_mutex_lock(&g->mutex);
        g->started = true;
        pthread_cond_broadcast(&g->cond);
        while (!g->open)
                pthread_cond_wait(&g->cond, &g->mutex);
        pthread_mutex_unlock(&g->mutex);
}

void test_gate_wait_started(TestGate *g) {
        pthread_mutex_lock(&g->mutex);
        while (!g->started)
                pthread_cond_wait(&g->cond, &g->mutex);
        pthread_mutex_unlock(&g->mutex);
}

void test_gate_open(TestGate *g) {
        pthread_mutex_lock(&g->mutex);
        g->open = true;
        pthread_cond_broadcast(&g->cond);
        pthread_mutex_unlock(&g->mutex);
}

Manager *test_manager_new(void) {
        Config *c = NULL;
        Manager *m = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_int_eq(manager_new(c, &m), 0);
        m->store_pool = test_store_pool(NULL);
        ck_assert_int_eq(store_pool_thread(m->store_pool, &m->store), 0);
        return m;
}

static void record_event(const ChangeEvent *e, void *userdata) {
        TestEvents *t = userdata;

        ck_assert_uint_lt(t->n, ELEMENTSOF(t->seen));
        t->seen[t->n].kind = e->kind;
        t->seen[t->n].op = e->op;
        snprintf(t->seen[t->n].name, sizeof(t->seen[t->n].name), "%s", strempty(e->name));
        t->n++;
}

TestEvents *test_events_follow(Manager *m) {
        TestEvents *t = calloc(1, sizeof(TestEvents));

        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_null(m->events);
        ck_assert_int_ge(sd_event_new(&t->event), 0);
        ck_assert_int_eq(event_bus_new(t->event, &m->events), 0);
        ck_assert_int_eq(event_bus_subscribe(m->events, EVENT_DELIVER_INLINE, record_event, t), 0);
        return t;
}

TestEvents *test_events_free(TestEvents *t) {
        if (t) {
                sd_event_unref(t->event);
                free(t);
        }
        return NULL;
}

size_t test_events_count(const TestEvents *t, ChangeKind kind, ChangeOp op, const char *name) {
        size_t n = 0;

        for (size_t i = 0; i < t->n; i++)
                if (t->seen[i].kind == kind && t->seen[i].op == op && (!name || streq(t->seen[i].name, name)))
                        n++;
        return n;
}

void test_manager_use_dir(Manager *m, const char *dir) {
        store_pool_free(m->store_pool);
        m->store_pool = test_store_pool(dir);
        ck_assert_int_eq(store_pool_thread(m->store_pool, &m->store), 0);
}

const Principal test_admin = { .kind = PRINCIPAL_LOCAL, .channel = "dbus", .uid = 0, .name = "root",
                                .admin_group = true };
const Principal test_nobody = { .kind = PRINCIPAL_LOCAL, .channel = "dbus", .uid = 1000, .name = "mallory",
                                 .remote = "peer-1" };

AuditEvent *test_audit_events(Store *s, const char *action, const char *target, size_t *ret_n) {
        AuditFilter f = { .action = action, .target = target };
        AuditEvent *events = NULL;

        ck_assert_int_eq(store_audit_list(s, &f, &events, ret_n), 0);
        return events;
}
