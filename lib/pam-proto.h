/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The messages of tesserad's authentication socket (pam.sock), carried in
 * the lib/wire format. pam_tessera.so sends one request per connection and
 * reads one reply; the daemon checks the caller with SO_PEERCRED. The
 * encoder and decoder of both directions live here, used by both sides.
 * libc only, no allocation, no logging.
 *
 * A request names the user as the host sees it ("alice" for the default
 * tenant, "alice@globex" for another) and carries the context of the PAM
 * call (service, tty, remote host and user) for the audit trail; who is
 * asking (uid, pid) the daemon learns from the socket, not from here. Secrets
 * (passwords, codes) travel only in requests, never in replies, and both
 * sides wipe their buffers with pam_request_wipe(). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth-codes.h"
#include "names.h"

#define PAM_SOCKET_NAME "pam.sock"
/* Requests and replies are small; anything bigger is refused unread. */
#define PAM_PROTO_MAX_MESSAGE 8192

/* Longest password accepted; tesserad's password policy uses the same bound. */
#define PAM_PROTO_MAX_PASSWORD 512
/* A TOTP code or a backup code, with room for separators a person types. */
#define PAM_PROTO_MAX_CODE 32
/* PAM items: service, tty, remote host (a host name or address), remote user. */
#define PAM_PROTO_MAX_ITEM 256
#define PAM_PROTO_MAX_MESSAGE_TEXT 512

typedef enum PamMessageType {
        PAM_MSG_LOOKUP = 1,               /* is the user ours, must they give a code? */
        PAM_MSG_AUTHENTICATE = 2,         /* password (and code) */
        PAM_MSG_ACCOUNT = 3,              /* may the account log in now? */
        PAM_MSG_CHAUTHTOK_CHECK = 4,      /* the current password, before asking a new one */
        PAM_MSG_CHAUTHTOK = 5,            /* set a new password */
        PAM_MSG_SESSION_OPEN = 6,
        PAM_MSG_SESSION_CLOSE = 7,
        _PAM_MSG_REQUEST_MAX,
        PAM_MSG_REPLY = 0x100,
} PamMessageType;

typedef enum PamTag {
        /* requests */
        PAM_TAG_USER = 1,
        PAM_TAG_PASSWORD = 2,             /* the password, or the current one in CHAUTHTOK */
        PAM_TAG_CODE = 3,                 /* TOTP or backup code; absent or empty: none given */
        PAM_TAG_NEW_PASSWORD = 4,
        PAM_TAG_SERVICE = 5,
        PAM_TAG_TTY = 6,
        PAM_TAG_RHOST = 7,
        PAM_TAG_RUSER = 8,
        PAM_TAG_TOTP_POLICY = 9,          /* u32 PamTotpPolicy */
        PAM_TAG_FLAGS = 10,               /* u32 PAM_REQUEST_* */
        PAM_TAG_SESSION_ID = 11,          /* u64, in SESSION_CLOSE and the reply to SESSION_OPEN */

        /* replies */
        PAM_TAG_STATUS = 0x100,           /* u32 PamStatus */
        PAM_TAG_TEXT = 0x101,             /* a message for the person logging in */
        PAM_TAG_NEEDS_CODE = 0x102,       /* u32 0/1, in the reply to LOOKUP */
        PAM_TAG_LOCKED_UNTIL = 0x103,     /* u64 µs since the epoch, when status is LOCKED */
} PamTag;

/* What the module was configured to do with TOTP for enrolled users
 * (AuthTotpPolicy in the daemon). */
typedef enum PamTotpPolicy {
        PAM_TOTP_REQUIRED = 0,            /* enrolled users must give a valid code */
        PAM_TOTP_OPTIONAL = 1,            /* a code is checked if given; none: the password alone */
        PAM_TOTP_NEVER = 2,               /* password only, no code asked */
        _PAM_TOTP_POLICY_MAX,
} PamTotpPolicy;

enum {
        /* CHAUTHTOK by root without the current password (passwd run by
         * root); refused for any other caller. */
        PAM_REQUEST_ADMIN_CHANGE = 1 << 0,
        /* AUTHENTICATE without a code yet: for a user whose policy asks for
         * one, reply NEED_CODE without checking the password (so nothing is
         * learnt about it); for everyone else, decide. */
        PAM_REQUEST_PROBE = 1 << 1,
};

/* Outcomes, independent of libpam's numbers, which differ between PAM
 * implementations; the module maps them per phase. */
typedef enum PamStatus {
        PAM_STATUS_OK = 0,
        PAM_STATUS_AUTH_FAILED = 1,       /* wrong password or code: which one is not said */
        PAM_STATUS_USER_UNKNOWN = 2,      /* not a user of this host's tenants */
        PAM_STATUS_LOCKED = 3,            /* locked for a while after failures */
        PAM_STATUS_ACCOUNT_LOCKED = 4,    /* locked by an administrator */
        PAM_STATUS_ACCOUNT_DISABLED = 5,
        PAM_STATUS_ACCOUNT_EXPIRED = 6,
        PAM_STATUS_DENIED = 7,            /* this caller may not ask about this user */
        PAM_STATUS_REJECTED = 8,          /* the new password breaks the policy (see TEXT) */
        PAM_STATUS_BUSY = 9,              /* too much to do now; try again */
        PAM_STATUS_ERROR = 10,            /* tesserad could not do it */
        PAM_STATUS_BAD_REQUEST = 11,      /* the request made no sense */
        PAM_STATUS_NEED_CODE = 12,        /* ask for the code and send it with the password */
        _PAM_STATUS_MAX,
} PamStatus;

typedef struct PamRequest {
        uint16_t type;                    /* PamMessageType */
        char user[QUALIFIED_NAME_MAX_LEN + 1];
        char password[PAM_PROTO_MAX_PASSWORD + 1];
        char new_password[PAM_PROTO_MAX_PASSWORD + 1];
        char code[PAM_PROTO_MAX_CODE + 1];
        char service[PAM_PROTO_MAX_ITEM + 1];
        char tty[PAM_PROTO_MAX_ITEM + 1];
        char rhost[PAM_PROTO_MAX_ITEM + 1];
        char ruser[PAM_PROTO_MAX_ITEM + 1];
        bool has_password;                /* given, even if empty */
        bool has_new_password;
        uint32_t totp_policy;
        uint32_t flags;
        uint64_t session_id;
} PamRequest;

typedef struct PamReply {
        uint32_t status;                  /* PamStatus */
        char text[PAM_PROTO_MAX_MESSAGE_TEXT + 1];
        bool needs_code;
        uint64_t locked_until_usec;
        uint64_t session_id;
} PamReply;

/* Encodes a request into buf. -ENOBUFS when it doesn't fit, -EINVAL for an
 * unknown type. Strings longer than their field are refused (-E2BIG):
 * cutting a password short would change it. */
int pam_request_write(const PamRequest *req, void *buf, size_t cap, size_t *ret_len);
/* Decodes a whole message. -EBADMSG for anything malformed: a wrong type,
 * a field of the wrong size, a string too long for its field or holding a
 * NUL, a tag twice. Unknown tags are skipped. On failure *ret is wiped. */
int pam_request_read(const void *buf, size_t len, PamRequest *ret);

int pam_reply_write(const PamReply *reply, void *buf, size_t cap, size_t *ret_len);
int pam_reply_read(const void *buf, size_t len, PamReply *ret);

/* Wipes the secrets of a request (and the rest with them). */
void pam_request_wipe(PamRequest *req);

const char *pam_status_to_string(uint32_t status);
