/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "pam-proto.h"

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "wire.h"

static bool type_valid(uint16_t type) {
        return type >= PAM_MSG_LOOKUP && type < _PAM_MSG_REQUEST_MAX;
}

/* Puts a string if set; a string that would not fit its field on the
 * other side is an error here already. */
static int put_str(WireWriter *w, uint16_t tag, const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);

        if (n > max)
                return -E2BIG;
        if (n > 0)
                wire_put_bytes(w, tag, s, n);
        return 0;
}

int pam_request_write(const PamRequest *req, void *buf, size_t cap, size_t *ret_len) {
        WireWriter w;
        int r;

        if (!type_valid(req->type))
                return -EINVAL;
        wire_writer_init(&w, buf, cap, req->type);

        if ((r = put_str(&w, PAM_TAG_USER, req->user, QUALIFIED_NAME_MAX_LEN)) < 0 ||
            (r = put_str(&w, PAM_TAG_CODE, req->code, PAM_PROTO_MAX_CODE)) < 0 ||
            (r = put_str(&w, PAM_TAG_SERVICE, req->service, PAM_PROTO_MAX_ITEM)) < 0 ||
            (r = put_str(&w, PAM_TAG_TTY, req->tty, PAM_PROTO_MAX_ITEM)) < 0 ||
            (r = put_str(&w, PAM_TAG_RHOST, req->rhost, PAM_PROTO_MAX_ITEM)) < 0 ||
            (r = put_str(&w, PAM_TAG_RUSER, req->ruser, PAM_PROTO_MAX_ITEM)) < 0)
                return r;
        /* Passwords are sent when given, even empty: "no password" and
         * "an empty one" are different requests. */
        if (req->has_password) {
                size_t n = strnlen(req->password, PAM_PROTO_MAX_PASSWORD + 1);
                if (n > PAM_PROTO_MAX_PASSWORD)
                        return -E2BIG;
                wire_put_bytes(&w, PAM_TAG_PASSWORD, req->password, n);
        }
        if (req->has_new_password) {
                size_t n = strnlen(req->new_password, PAM_PROTO_MAX_PASSWORD + 1);
                if (n > PAM_PROTO_MAX_PASSWORD)
                        return -E2BIG;
                wire_put_bytes(&w, PAM_TAG_NEW_PASSWORD, req->new_password, n);
        }
        wire_put_u32(&w, PAM_TAG_TOTP_POLICY, req->totp_policy);
        if (req->flags)
                wire_put_u32(&w, PAM_TAG_FLAGS, req->flags);
        if (req->session_id)
                wire_put_u64(&w, PAM_TAG_SESSION_ID, req->session_id);
        return wire_writer_finish(&w, ret_len);
}

/* Marks tag as seen; a second occurrence makes the message invalid. The
 * tags of one direction are small numbers, or 0x100 plus one. */
static int seen_once(uint32_t *seen, uint16_t tag) {
        unsigned bit = tag & 0x1f;

        if (*seen & (UINT32_C(1) << bit))
                return -EBADMSG;
        *seen |= UINT32_C(1) << bit;
        return 0;
}

static int field_str(const WireField *f, char *buf, size_t size) {
        /* Too long for its field is malformed for us, whatever the reason. */
        return wire_field_str(f, buf, size) < 0 ? -EBADMSG : 0;
}

static int read_request_field(PamRequest *req, const WireField *f) {
        switch (f->tag) {
        case PAM_TAG_USER:
                return field_str(f, req->user, sizeof(req->user));
        case PAM_TAG_PASSWORD:
                req->has_password = true;
                return field_str(f, req->password, sizeof(req->password));
        case PAM_TAG_NEW_PASSWORD:
                req->has_new_password = true;
                return field_str(f, req->new_password, sizeof(req->new_password));
        case PAM_TAG_CODE:
                return field_str(f, req->code, sizeof(req->code));
        case PAM_TAG_SERVICE:
                return field_str(f, req->service, sizeof(req->service));
        case PAM_TAG_TTY:
                return field_str(f, req->tty, sizeof(req->tty));
        case PAM_TAG_RHOST:
                return field_str(f, req->rhost, sizeof(req->rhost));
        case PAM_TAG_RUSER:
                return field_str(f, req->ruser, sizeof(req->ruser));
        case PAM_TAG_TOTP_POLICY:
                if (wire_field_u32(f, &req->totp_policy) < 0 || req->totp_policy >= _PAM_TOTP_POLICY_MAX)
                        return -EBADMSG;
                return 0;
        case PAM_TAG_FLAGS:
                return wire_field_u32(f, &req->flags) < 0 ? -EBADMSG : 0;
        case PAM_TAG_SESSION_ID:
                return wire_field_u64(f, &req->session_id) < 0 ? -EBADMSG : 0;
        default:
                return 1;   /* unknown: skipped */
        }
}

int pam_request_read(const void *buf, size_t len, PamRequest *ret) {
        WireReader rd;
        WireField f;
        uint32_t seen = 0;
        int r;

        *ret = (PamRequest) {};
        r = wire_reader_init(&rd, buf, len, PAM_PROTO_MAX_MESSAGE);
        if (r < 0)
                return r;
        if (!type_valid(rd.type))
                return -EBADMSG;
        ret->type = rd.type;

        while ((r = wire_next(&rd, &f)) > 0) {
                r = read_request_field(ret, &f);
                if (r == 0)
                        r = seen_once(&seen, f.tag);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                pam_request_wipe(ret);
                return -EBADMSG;
        }
        return 0;
}

int pam_reply_write(const PamReply *reply, void *buf, size_t cap, size_t *ret_len) {
        WireWriter w;
        int r;

        wire_writer_init(&w, buf, cap, PAM_MSG_REPLY);
        wire_put_u32(&w, PAM_TAG_STATUS, reply->status);
        r = put_str(&w, PAM_TAG_TEXT, reply->text, PAM_PROTO_MAX_MESSAGE_TEXT);
        if (r < 0)
                return r;
        if (reply->needs_code)
                wire_put_u32(&w, PAM_TAG_NEEDS_CODE, 1);
        if (reply->locked_until_usec)
                wire_put_u64(&w, PAM_TAG_LOCKED_UNTIL, reply->locked_until_usec);
        if (reply->session_id)
                wire_put_u64(&w, PAM_TAG_SESSION_ID, reply->session_id);
        return wire_writer_finish(&w, ret_len);
}

int pam_reply_read(const void *buf, size_t len, PamReply *ret) {
        WireReader rd;
        WireField f;
        uint32_t seen = 0, v;
        bool has_status = false;
        int r;

        /* Until a whole reply was read, it reads as an error. */
        *ret = (PamReply) { .status = PAM_STATUS_ERROR };
        r = wire_reader_init(&rd, buf, len, PAM_PROTO_MAX_MESSAGE);
        if (r < 0)
                return r;
        if (rd.type != PAM_MSG_REPLY)
                return -EBADMSG;

        while ((r = wire_next(&rd, &f)) > 0) {
                switch (f.tag) {
                case PAM_TAG_STATUS:
                        r = wire_field_u32(&f, &ret->status) < 0 || ret->status >= _PAM_STATUS_MAX ? -EBADMSG : 0;
                        has_status = true;
                        break;
                case PAM_TAG_TEXT:
                        r = field_str(&f, ret->text, sizeof(ret->text));
                        break;
                case PAM_TAG_NEEDS_CODE:
                        r = wire_field_u32(&f, &v) < 0 || v > 1 ? -EBADMSG : 0;
                        ret->needs_code = v == 1;
                        break;
                case PAM_TAG_LOCKED_UNTIL:
                        r = wire_field_u64(&f, &ret->locked_until_usec) < 0 ? -EBADMSG : 0;
                        break;
                case PAM_TAG_SESSION_ID:
                        r = wire_field_u64(&f, &ret->session_id) < 0 ? -EBADMSG : 0;
                        break;
                default:
                        continue;
                }
                if (r == 0)
                        r = seen_once(&seen, f.tag);
                if (r < 0)
                        break;
        }
        /* A reply without a status must never be read as success. */
        if (r < 0 || !has_status) {
                *ret = (PamReply) { .status = PAM_STATUS_ERROR };
                return -EBADMSG;
        }
        return 0;
}

void pam_request_wipe(PamRequest *req) {
        explicit_bzero(req, sizeof(*req));
}

const char *pam_status_to_string(uint32_t status) {
        static const char *const names[_PAM_STATUS_MAX] = {
                [PAM_STATUS_OK] = "ok",
                [PAM_STATUS_AUTH_FAILED] = "authentication failed",
                [PAM_STATUS_USER_UNKNOWN] = "user unknown",
                [PAM_STATUS_LOCKED] = "locked after failures",
                [PAM_STATUS_ACCOUNT_LOCKED] = "account locked",
                [PAM_STATUS_ACCOUNT_DISABLED] = "account disabled",
                [PAM_STATUS_ACCOUNT_EXPIRED] = "account expired",
                [PAM_STATUS_DENIED] = "denied",
                [PAM_STATUS_REJECTED] = "rejected",
                [PAM_STATUS_BUSY] = "busy",
                [PAM_STATUS_ERROR] = "error",
                [PAM_STATUS_BAD_REQUEST] = "bad request",
                [PAM_STATUS_NEED_CODE] = "code needed",
        };
        return status < _PAM_STATUS_MAX ? names[status] : "unknown";
}
