/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/auth-totp.c: who may enroll, confirm, disable and get backup
 * codes, and what each step leaves in the store and the audit trail. */

#include <liboath/oath.h>
#include <stdlib.h>

#include "test-auth-util.h"
#include "auth-totp.h"
#include "time-util.h"
#include "totp.h"

static Manager *m;

static void setup(void) {
        m = auth_test_manager_new();
}

static void teardown(void) {
        m = manager_free(m);
}

static Principal self_actor(const UserRecord *u) {
        return principal_local("dbus", u->uid, false, ":1.42");
}

static void seed_of(const char *b32, uint8_t seed[static TOTP_SECRET_SIZE]) {
        char *decoded = NULL;
        size_t n = 0;

        ck_assert_int_eq(oath_base32_decode(b32, strlen(b32), &decoded, &n), 0);
        ck_assert_uint_eq(n, TOTP_SECRET_SIZE);
        memcpy(seed, decoded, n);
        free(decoded);
}

static void code_at(const uint8_t *seed, int64_t offset, char code[static TOTP_DIGITS + 1]) {
        ck_assert_int_eq(totp_code_at(seed, TOTP_SECRET_SIZE, totp_step_at(now_realtime_usec()) + offset,
                                      code), 0);
}

START_TEST(test_self_enrollment) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw");
        _cleanup_(erase_and_freep) char *b32 = NULL, *uri = NULL, *b32b = NULL, *urib = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL, **codes2 = NULL;
        Principal self = self_actor(u);
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1], wrong[16];
        TestEvents *events = NULL;
        TotpStatus st;
        TesseraError e = {};

        ck_assert_int_eq(auth_totp_begin(m, m->store, &self, u, &b32, &uri, &e), 0);
        ck_assert_ptr_nonnull(strstr(uri, "otpauth://totp/Acme%20Corp:alice%40acme?secret="));
        ck_assert_uint_eq(strlen(b32), 32);
        seed_of(b32, seed);

        /* Begun, not enabled: logins don't ask for a code yet. */
        ck_assert_int_eq(auth_totp_status(m->store, u->id, &st), 0);
        ck_assert(st.pending);
        ck_assert(!st.enabled);
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_REQUIRED, NULL), AUTH_SUCCESS);

        /* A wrong code does not confirm. */
        code_at(seed, 0, code);
        snprintf(wrong, sizeof(wrong), "%06u", (unsigned) (atoi(code) + 500000) % 1000000u);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &self, u, wrong, &codes, &e), -EKEYREJECTED);
        ck_assert_ptr_nonnull(strstr(e.message, "not correct"));
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &self, u, "12", &codes, &e), -EINVAL);
        ck_assert_ptr_null(codes);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &self, u, code, &codes, &e), 0);
        ck_assert_uint_eq(strv_length(codes), BACKUP_CODE_COUNT);
        ck_assert_int_eq(auth_totp_status(m->store, u->id, &st), 0);
        ck_assert(st.enabled);
        ck_assert_uint_eq(st.backup_codes_left, BACKUP_CODE_COUNT);

        /* The confirming code was spent; confirming twice is refused. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", code, AUTH_TOTP_REQUIRED, NULL), AUTH_FAILED);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &self, u, code, &codes2, &e), -EEXIST);

        /* Enabled: the user may not replace it without disabling (a code) first. */
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_begin(m, m->store, &self, u, &b32b, &urib, &e), -EEXIST);

        /* New backup codes need a current code from the user... */
        e = (TesseraError) {};
        events = test_events_follow(m);
        ck_assert_int_eq(auth_totp_new_backup_codes(m, m->store, &self, u, NULL, &codes2, &e), -EKEYREJECTED);
        ck_assert_uint_eq(test_events_count(events, CHANGE_TOTP, CHANGE_UPDATED, u->name), 0);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_new_backup_codes(m, m->store, &self, u, codes[0], &codes2, &e), 0);
        ck_assert_uint_eq(strv_length(codes2), BACKUP_CODE_COUNT);
        /* (BackupCodesLeft changed twice, each change committed on its
         * own: the code spent to prove it is the user, then the new set.
         * The faces are told of each.) */
        ck_assert_uint_eq(test_events_count(events, CHANGE_TOTP, CHANGE_UPDATED, u->name), 2);
        /* ...and replace the old ones, the one just used included. */
        ck_assert_int_eq(auth_test_login(m, u, "pw", codes[1], AUTH_TOTP_REQUIRED, NULL), AUTH_FAILED);
        ck_assert_int_eq(auth_test_login(m, u, "pw", codes2[0], AUTH_TOTP_REQUIRED, NULL), AUTH_SUCCESS);

        /* Disable: with a code only. */
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &self, u, "", &e), -EKEYREJECTED);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &self, u, "nonsense", &e), -EKEYREJECTED);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &self, u, codes2[1], &e), 0);
        ck_assert_int_eq(auth_totp_status(m->store, u->id, &st), 0);
        ck_assert(!st.enabled && !st.pending);
        ck_assert_uint_eq(st.backup_codes_left, 0);
        ck_assert_int_eq(auth_test_login(m, u, "pw", NULL, AUTH_TOTP_REQUIRED, NULL), AUTH_SUCCESS);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &self, u, codes2[2], &e), -ENOENT);

        ck_assert_uint_eq(auth_test_audit_count(m, "totp.begin", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(auth_test_audit_count(m, "totp.confirm", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(auth_test_audit_count(m, "totp.confirm", AUDIT_FAILURE), 1);
        ck_assert_uint_eq(auth_test_audit_count(m, "totp.backup-codes", AUDIT_SUCCESS), 1);
        ck_assert_uint_eq(auth_test_audit_count(m, "totp.disable", AUDIT_SUCCESS), 1);
        ck_assert(!auth_test_audit_contains(m, b32));
        ck_assert(!auth_test_audit_contains(m, codes2[1]));
        m = manager_free(m);
        test_events_free(events);
}
END_TEST

START_TEST(test_authorization) {
        _cleanup_(user_record_unrefp) UserRecord *alice = auth_test_user(m, "alice", "pw"),
                                                 *bob = auth_test_user(m, "bob", "pw");
        _cleanup_(erase_and_freep) char *b32 = NULL, *uri = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL;
        Principal as_bob = self_actor(bob);
        Principal admin = principal_local("dbus", 1000, true, NULL);
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1];
        TesseraError e = {};
        TotpStatus st;

        /* Bob can't touch Alice's second factor. */
        ck_assert_int_eq(auth_totp_begin(m, m->store, &as_bob, alice, &b32, &uri, &e), -EACCES);
        ck_assert_ptr_null(b32);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &as_bob, alice, NULL, &e), -EACCES);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_new_backup_codes(m, m->store, &as_bob, alice, NULL, &codes, &e), -EACCES);
        ck_assert_uint_eq(auth_test_audit_count(m, "totp.begin", AUDIT_DENIED), 1);

        /* An administrator enrolls for her, and may reset it: a new seed
         * that replaces the old one, pending again. */
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_begin(m, m->store, &admin, alice, &b32, &uri, &e), 0);
        seed_of(b32, seed);
        code_at(seed, 0, code);
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &admin, alice, code, &codes, &e), 0);
        erase_and_free(b32);
        erase_and_free(uri);
        b32 = uri = NULL;
        ck_assert_int_eq(auth_totp_begin(m, m->store, &admin, alice, &b32, &uri, &e), 0);
        ck_assert_int_eq(auth_totp_status(m->store, alice->id, &st), 0);
        ck_assert(st.pending && !st.enabled);
        ck_assert_uint_eq(st.backup_codes_left, 0);
        ck_assert(auth_test_audit_contains(m, "\"replaced\":\"enabled\""));

        /* Administrators disable without a code. */
        ck_assert_int_eq(auth_totp_disable(m, m->store, &admin, alice, NULL, &e), 0);
        /* Confirming what isn't there. */
        strv_free_erase(codes);
        codes = NULL;
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &admin, alice, "123456", &codes, &e), -ENOENT);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_new_backup_codes(m, m->store, &admin, alice, NULL, &codes, &e), -ENOENT);
}
END_TEST

START_TEST(test_code_checks_count) {
        _cleanup_(user_record_unrefp) UserRecord *u = auth_test_user(m, "alice", "pw"), *cur = NULL;
        _cleanup_(erase_and_freep) char *b32 = NULL, *uri = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL;
        Principal self = self_actor(u);
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1];
        TesseraError e = {};

        m->config->lockout_failures = 3;
        ck_assert_int_eq(auth_totp_begin(m, m->store, &self, u, &b32, &uri, &e), 0);
        seed_of(b32, seed);
        code_at(seed, -1, code);
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &self, u, code, &codes, &e), 0);

        /* Guessing codes through D-Bus self-service locks like guessing at a login. */
        for (int i = 0; i < 3; i++) {
                e = (TesseraError) {};
                ck_assert_int_eq(auth_totp_disable(m, m->store, &self, u, "zzzzz-zzzzz", &e), -EKEYREJECTED);
        }
        cur = auth_test_reload(m, u);
        ck_assert_int_gt(cur->locked_until_usec, now_realtime_usec());
        e = (TesseraError) {};
        /* Locked: refused as locked (AccountLocked over D-Bus), the right code unchecked. */
        ck_assert_int_eq(auth_totp_disable(m, m->store, &self, u, codes[0], &e), -ENOLCK);
        ck_assert_ptr_nonnull(strstr(e.message, "locked"));
}
END_TEST

/* A tenant's admin signed in as themself acts as the user, not as an
 * administrator: an access token alone does not move or remove their own
 * second factor, nor get new backup codes. Others' factors they still
 * reset without a code. */
START_TEST(test_admin_for_themself) {
        _cleanup_(user_record_unrefp) UserRecord *carol = auth_test_user(m, "carol", "pw"),
                                                 *alice = auth_test_user(m, "alice", "pw");
        _cleanup_(erase_and_freep) char *b32 = NULL, *uri = NULL, *b32b = NULL, *urib = NULL;
        _cleanup_(strv_free_erasep) char **codes = NULL, **more = NULL;
        Principal as_carol;
        uint8_t seed[TOTP_SECRET_SIZE];
        char code[TOTP_DIGITS + 1];
        TesseraError e = {};
        TotpStatus st;

        carol->role = USER_ROLE_ADMIN;
        as_carol = principal_user("http", carol, "192.0.2.7");
        ck_assert_int_eq(auth_totp_begin(m, m->store, &as_carol, carol, &b32, &uri, &e), 0);
        seed_of(b32, seed);
        code_at(seed, 0, code);
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &as_carol, carol, code, &codes, &e), 0);

        ck_assert_int_eq(auth_totp_begin(m, m->store, &as_carol, carol, &b32b, &urib, &e), -EEXIST);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &as_carol, carol, NULL, &e), -EKEYREJECTED);
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_new_backup_codes(m, m->store, &as_carol, carol, NULL, &more, &e), -EKEYREJECTED);
        ck_assert_int_eq(auth_totp_status(m->store, carol->id, &st), 0);
        ck_assert(st.enabled);
        /* With a code, yes. */
        e = (TesseraError) {};
        ck_assert_int_eq(auth_totp_disable(m, m->store, &as_carol, carol, codes[0], &e), 0);

        /* Alice's, as her administrator: no code of hers needed. */
        erase_and_free(b32);
        erase_and_free(uri);
        b32 = uri = NULL;
        ck_assert_int_eq(auth_totp_begin(m, m->store, &test_admin, alice, &b32, &uri, &e), 0);
        seed_of(b32, seed);
        code_at(seed, 0, code);
        strv_free_erase(codes);
        codes = NULL;
        ck_assert_int_eq(auth_totp_confirm(m, m->store, &test_admin, alice, code, &codes, &e), 0);
        ck_assert_int_eq(auth_totp_disable(m, m->store, &as_carol, alice, NULL, &e), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("auth-totp");
        TCase *tc = tcase_create("enrollment");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_self_enrollment);
        tcase_add_test(tc, test_authorization);
        tcase_add_test(tc, test_code_checks_count);
        tcase_add_test(tc, test_admin_for_themself);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
