/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "test-auth-util.h"

#include <stdlib.h>

#include "password.h"

const Principal auth_test_root = { .kind = PRINCIPAL_LOCAL, .channel = "pam", .uid = 0, .name = "test",
                                   .remote = "192.0.2.1", .admin_group = true };

Manager *auth_test_manager_new(void) {
        static const uint8_t key[SECRET_KEY_SIZE] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
        Manager *m = test_manager_new();

        m->config->hash_cost = TEST_HASH_COST;
        free(m->config->default_tenant);
        m->config->default_tenant = strdup("acme");
        ck_assert_ptr_nonnull(m->config->default_tenant);
        ck_assert_int_eq(secret_key_from_bytes(key, &m->secret_key), 0);
        ck_assert_int_eq(password_dummy_hash(m->config->hash_prefix, m->config->hash_cost, &m->dummy_hash), 0);
        return m;
}

UserRecord *auth_test_user(Manager *m, const char *name, const char *password) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_free_ char *hash = NULL, *home = NULL;
        UserRecord *ret = NULL;

        if (store_tenant_get(m->store, "acme", &t) < 0) {
                IdRange range;

                manager_id_range(m, &range);
                ck_assert_int_eq(store_begin(m->store), 0);
                ck_assert_int_eq(store_tenant_create(m->store, "acme", "Acme Corp", &range, &t), 0);
                ck_assert_int_eq(store_commit(m->store), 0);
        }
        if (password)
                ck_assert_int_eq(password_hash(password, m->config->hash_prefix, m->config->hash_cost, &hash), 0);
        ck_assert_int_ge(asprintf(&home, "/home/%s", name), 0);

        UserRecord u = {
                .tenant_id = t->id,
                .name = (char *) name,
                .home = home,
                .shell = (char *) "/bin/sh",
                .password_hash = hash,
        };
        ck_assert_int_eq(store_begin(m->store), 0);
        ck_assert_int_eq(store_user_create(m->store, &u, &ret), 0);
        ck_assert_int_eq(store_commit(m->store), 0);
        return ret;
}

UserRecord *auth_test_reload(Manager *m, const UserRecord *u) {
        UserRecord *r = NULL;

        ck_assert_int_eq(store_user_get_by_id(m->store, u->id, &r), 0);
        return r;
}

AuthOutcome auth_test_login(Manager *m, const UserRecord *u, const char *password, const char *code,
                            AuthTotpPolicy policy, AuthResult *ret) {
        _cleanup_(auth_attempt_freep) AuthAttempt *at = NULL;
        AuthContext ctx = { .service = "test", .tty = "pts/1", .remote_user = "root", .pid = 42 };
        AuthResult res;

        ck_assert_int_eq(auth_attempt_new(m, u, u ? NULL : "nobody@acme", password, code, policy, false, &at), 0);
        auth_attempt_verify(at);
        ck_assert_int_eq(auth_attempt_finish(m, m->store, &auth_test_root, &ctx, at, &res), 0);
        if (ret)
                *ret = res;
        return res.outcome;
}

size_t auth_test_audit_count(Manager *m, const char *action, int result) {
        return test_audit_count(m->store, action, NULL, result);
}

bool auth_test_audit_contains(Manager *m, const char *needle) {
        AuditFilter f = { .limit = 10000 };
        AuditEvent *ev = NULL;
        size_t n = 0;
        bool found = false;

        ck_assert_int_eq(store_audit_list(m->store, &f, &ev, &n), 0);
        for (size_t i = 0; i < n && !found; i++)
                found = (ev[i].details && strstr(ev[i].details, needle)) ||
                        (ev[i].target && strstr(ev[i].target, needle)) || (ev[i].actor && strstr(ev[i].actor, needle));
        audit_event_array_free(ev, n);
        return found;
}
