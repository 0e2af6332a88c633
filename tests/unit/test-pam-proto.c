/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/pam-proto.c: the messages of the authentication socket, both
 * directions. */

#include "pam-proto.h"
#include "test-util.h"
#include "wire.h"

START_TEST(test_request_round_trip) {
        uint8_t buf[PAM_PROTO_MAX_MESSAGE];
        PamRequest in = {
                .type = PAM_MSG_AUTHENTICATE,
                .user = "alice@globex",
                .password = "",
                .has_password = true,
                .code = "123456",
                .service = "sshd",
                .tty = "ssh",
                .rhost = "2001:db8::1",
                .ruser = "bob",
                .totp_policy = PAM_TOTP_OPTIONAL,
                .flags = PAM_REQUEST_ADMIN_CHANGE,
                .session_id = UINT64_C(1) << 40,
        }, out;
        size_t len;

        ck_assert_int_eq(pam_request_write(&in, buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(pam_request_read(buf, len, &out), 0);
        ck_assert_int_eq(out.type, PAM_MSG_AUTHENTICATE);
        ck_assert_str_eq(out.user, "alice@globex");
        /* An empty password is still a given password. */
        ck_assert(out.has_password);
        ck_assert_str_eq(out.password, "");
        ck_assert(!out.has_new_password);
        ck_assert_str_eq(out.code, "123456");
        ck_assert_str_eq(out.service, "sshd");
        ck_assert_str_eq(out.tty, "ssh");
        ck_assert_str_eq(out.rhost, "2001:db8::1");
        ck_assert_str_eq(out.ruser, "bob");
        ck_assert_uint_eq(out.totp_policy, PAM_TOTP_OPTIONAL);
        ck_assert_uint_eq(out.flags, PAM_REQUEST_ADMIN_CHANGE);
        ck_assert_uint_eq(out.session_id, UINT64_C(1) << 40);

        pam_request_wipe(&out);
        ck_assert_str_eq(out.password, "");
        ck_assert_str_eq(out.user, "");
}
END_TEST

START_TEST(test_request_limits) {
        uint8_t buf[PAM_PROTO_MAX_MESSAGE], small[64];
        PamRequest in = { .type = PAM_MSG_AUTHENTICATE, .user = "alice", .has_password = true }, out;
        size_t len;

        /* The longest password goes through; one more byte can't be sent. */
        memset(in.password, 'x', PAM_PROTO_MAX_PASSWORD);
        ck_assert_int_eq(pam_request_write(&in, buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(pam_request_read(buf, len, &out), 0);
        ck_assert_uint_eq(strlen(out.password), PAM_PROTO_MAX_PASSWORD);

        ck_assert_int_eq(pam_request_write(&in, small, sizeof(small), &len), -ENOBUFS);

        in.type = 0;
        ck_assert_int_eq(pam_request_write(&in, buf, sizeof(buf), &len), -EINVAL);
        in.type = PAM_MSG_REPLY;
        ck_assert_int_eq(pam_request_write(&in, buf, sizeof(buf), &len), -EINVAL);
}
END_TEST

/* Builds a raw message for the negative cases. */
static size_t raw(uint8_t *buf, size_t cap, uint16_t type, void (*fill)(WireWriter *w)) {
        WireWriter w;
        size_t len;

        wire_writer_init(&w, buf, cap, type);
        fill(&w);
        ck_assert_int_eq(wire_writer_finish(&w, &len), 0);
        return len;
}

static void fill_twice(WireWriter *w) {
        wire_put_str(w, PAM_TAG_USER, "alice");
        wire_put_str(w, PAM_TAG_USER, "root");
}

static void fill_long_user(WireWriter *w) {
        char name[QUALIFIED_NAME_MAX_LEN + 2];
        memset(name, 'a', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        wire_put_str(w, PAM_TAG_USER, name);
}

static void fill_nul(WireWriter *w) {
        wire_put_bytes(w, PAM_TAG_USER, "ali\0ce", 6);
}

static void fill_bad_policy(WireWriter *w) {
        wire_put_str(w, PAM_TAG_USER, "alice");
        wire_put_u32(w, PAM_TAG_TOTP_POLICY, 7);
}

static void fill_short_u32(WireWriter *w) {
        wire_put_bytes(w, PAM_TAG_FLAGS, "ab", 2);
}

static void fill_unknown(WireWriter *w) {
        wire_put_str(w, PAM_TAG_USER, "alice");
        wire_put_str(w, 0x7777, "from the future");
}

static void fill_status_only(WireWriter *w) {
        wire_put_u32(w, PAM_TAG_STATUS, PAM_STATUS_OK);
}

static void fill_no_status(WireWriter *w) {
        wire_put_str(w, PAM_TAG_TEXT, "hello");
}

static void fill_bad_status(WireWriter *w) {
        wire_put_u32(w, PAM_TAG_STATUS, _PAM_STATUS_MAX);
}

START_TEST(test_request_malformed) {
        uint8_t buf[PAM_PROTO_MAX_MESSAGE];
        PamRequest out;
        size_t len;

        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_twice);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        /* Nothing of a refused request is left behind. */
        ck_assert_str_eq(out.user, "");

        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_long_user);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_nul);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_bad_policy);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        len = raw(buf, sizeof(buf), PAM_MSG_SESSION_OPEN, fill_short_u32);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        /* Types: replies aren't requests, unknown numbers neither. */
        len = raw(buf, sizeof(buf), PAM_MSG_REPLY, fill_unknown);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        len = raw(buf, sizeof(buf), 99, fill_unknown);
        ck_assert_int_eq(pam_request_read(buf, len, &out), -EBADMSG);
        /* A truncated message. */
        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_unknown);
        ck_assert_int_lt(pam_request_read(buf, len - 1, &out), 0);

        /* Unknown tags are skipped. */
        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_unknown);
        ck_assert_int_eq(pam_request_read(buf, len, &out), 0);
        ck_assert_str_eq(out.user, "alice");
}
END_TEST

START_TEST(test_reply) {
        uint8_t buf[PAM_PROTO_MAX_MESSAGE];
        PamReply in = {
                .status = PAM_STATUS_LOCKED,
                .text = "The account is locked.",
                .needs_code = true,
                .locked_until_usec = 1700000000000000,
                .session_id = 7,
        }, out;
        size_t len;

        ck_assert_int_eq(pam_reply_write(&in, buf, sizeof(buf), &len), 0);
        ck_assert_int_eq(pam_reply_read(buf, len, &out), 0);
        ck_assert_uint_eq(out.status, PAM_STATUS_LOCKED);
        ck_assert_str_eq(out.text, "The account is locked.");
        ck_assert(out.needs_code);
        ck_assert_uint_eq(out.locked_until_usec, 1700000000000000);
        ck_assert_uint_eq(out.session_id, 7);

        len = raw(buf, sizeof(buf), PAM_MSG_REPLY, fill_status_only);
        ck_assert_int_eq(pam_reply_read(buf, len, &out), 0);
        ck_assert_uint_eq(out.status, PAM_STATUS_OK);
        ck_assert(!out.needs_code);

        /* A reply without a status, or with one we don't know, is an error,
         * and reads as one even if the caller ignores the return value. */
        len = raw(buf, sizeof(buf), PAM_MSG_REPLY, fill_no_status);
        ck_assert_int_eq(pam_reply_read(buf, len, &out), -EBADMSG);
        ck_assert_uint_eq(out.status, PAM_STATUS_ERROR);
        len = raw(buf, sizeof(buf), PAM_MSG_REPLY, fill_bad_status);
        ck_assert_int_eq(pam_reply_read(buf, len, &out), -EBADMSG);
        ck_assert_uint_eq(out.status, PAM_STATUS_ERROR);
        /* A request is not a reply. */
        len = raw(buf, sizeof(buf), PAM_MSG_LOOKUP, fill_status_only);
        ck_assert_int_eq(pam_reply_read(buf, len, &out), -EBADMSG);
        ck_assert_uint_eq(out.status, PAM_STATUS_ERROR);
}
END_TEST

int main(void) {
        Suite *s = suite_create("pam-proto");
        TCase *tc = tcase_create("messages");

        tcase_add_test(tc, test_request_round_trip);
        tcase_add_test(tc, test_request_limits);
        tcase_add_test(tc, test_request_malformed);
        tcase_add_test(tc, test_reply);
        suite_add_tcase(s, tc);
        return test_run_suite(s);
}
