/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auth: the password through pam_get_authtok(), then, while the policy asks
 * for codes, a code through the conversation (or, with one_prompt, off the
 * end of the password). */

#include <string.h>

#include "escape.h"
#include "macro.h"
#include "pam-tessera.h"

#define CODE_PROMPT "Verification code: "

/* What a reply means for pam_authenticate(). */
static int auth_result(pam_handle_t *pamh, int flags, const PamTesseraOptions *o, const PamRequest *req,
                       const PamReply *reply) {
        switch (reply->status) {
        case PAM_STATUS_OK:
                pam_tessera_show(pamh, flags, PAM_TEXT_INFO, reply);   /* "a backup code was used; n left" */
                return PAM_SUCCESS;
        case PAM_STATUS_USER_UNKNOWN:
                /* Not ours: the stack moves on. The person is told what a
                 * real account would tell after as many failures
                 * ("locked"), so the prompt doesn't give away who exists. */
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, reply);
                return PAM_USER_UNKNOWN;
        case PAM_STATUS_AUTH_FAILED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, reply);   /* only when this locked the account */
                /* The remote host may come from a DNS answer. */
                pam_syslog(pamh, LOG_NOTICE, "authentication failure for '%s' (service %s, rhost %s)", req->user,
                           ESC(req->service), req->rhost[0] ? ESC(req->rhost) : "-");
                return PAM_AUTH_ERR;
        case PAM_STATUS_LOCKED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, reply);
                pam_syslog(pamh, LOG_NOTICE, "'%s' is locked after too many failures", req->user);
                return PAM_MAXTRIES;
        case PAM_STATUS_ACCOUNT_LOCKED:
        case PAM_STATUS_ACCOUNT_DISABLED:
        case PAM_STATUS_ACCOUNT_EXPIRED:
                /* An unusable account just doesn't authenticate, and the
                 * person is told what a name that is no user is told (the
                 * text, if any, says "locked" after as many failures). */
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, reply);
                pam_syslog(pamh, LOG_NOTICE, "'%s' can't log in: %s", req->user, pam_status_to_string(reply->status));
                return PAM_AUTH_ERR;
        case PAM_STATUS_DENIED:
                pam_syslog(pamh, LOG_WARNING, "tesserad refused to check '%s' for uid %u", req->user, (unsigned) getuid());
                return PAM_AUTH_ERR;
        default:
                pam_syslog(pamh, LOG_ERR, "tesserad could not check '%s': %s", req->user,
                           pam_status_to_string(reply->status));
                return PAM_AUTHINFO_UNAVAIL;
        }
}

/* Asks for the code. PAM_SUCCESS with the code (maybe empty) in req, or
 * the conversation's error. */
static int ask_code(pam_handle_t *pamh, PamRequest *req) {
        char *resp = NULL;
        int r;

        r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, CODE_PROMPT);
        if (r != PAM_SUCCESS) {
                if (resp)
                        erase_and_free(resp);
                return r;
        }
        /* Too long for any code: sent as one that can't match, so that it
         * is counted and recorded like any wrong code. */
        if (!pam_tessera_copy_secret(req->code, sizeof(req->code), resp))
                strcpy(req->code, "-");
        erase_and_free(resp);
        return PAM_SUCCESS;
}

/* In one_prompt mode: the code is the end of the answer. Sets PAM_AUTHTOK
 * to the password alone, for the modules after us. */
static int split_answer(pam_handle_t *pamh, PamRequest *req) {
        int r = auth_code_split(req->password, req->code, sizeof(req->code));

        if (r <= 0)
                return PAM_SUCCESS;   /* no code in it: a required one will be missing */
        return pam_set_item(pamh, PAM_AUTHTOK, req->password);
}

_public_ int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(pam_request_wipep) PamRequest req = {};
        PamTesseraOptions o;
        PamReply reply;
        const char *user, *password = NULL;
        bool needs_code = false;
        int r, conv;

        r = pam_tessera_begin(pamh, argc, argv, &o, &user);
        if (r != PAM_SUCCESS)
                return r;
        if (!o.nodelay)
                (void) pam_fail_delay(pamh, PAM_TESSERA_FAIL_DELAY_USEC);

        /* In one_prompt mode we must know before splitting whether this
         * user gives a code at all: a password may end in digits. The
         * daemon says, under the policy that applies (for a caller that
         * is not root, never weaker than its own; totp= alone for root). */
        if (o.one_prompt) {
                pam_tessera_request_init(pamh, &o, PAM_MSG_LOOKUP, user, &req);
                r = pam_tessera_call(pamh, &o, &req, &reply);
                if (r != PAM_SUCCESS)
                        return r;
                if (reply.status == PAM_STATUS_OK)
                        needs_code = reply.needs_code;
                else if (reply.status != PAM_STATUS_USER_UNKNOWN)
                        return auth_result(pamh, flags, &o, &req, &reply);
        }

        pam_tessera_request_init(pamh, &o, PAM_MSG_AUTHENTICATE, user, &req);

        conv = pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL);
        if (conv == PAM_CONV_AGAIN)
                return PAM_INCOMPLETE;   /* the application comes back later */
        if (conv == PAM_SUCCESS && password) {
                req.has_password = pam_tessera_copy_secret(req.password, sizeof(req.password), password);
                if (!req.has_password)
                        pam_syslog(pamh, LOG_NOTICE, "password of '%s' longer than %d bytes: refused", user,
                                   PAM_PROTO_MAX_PASSWORD);
        }
        /* Without a usable password (a failed conversation, an over-long
         * answer) the request still goes out: the daemon records the
         * attempt and counts it; it can't succeed. */

        if (o.one_prompt && needs_code && req.has_password) {
                r = split_answer(pamh, &req);
                if (r != PAM_SUCCESS)
                        return r;
        } else if (!o.one_prompt && req.has_password)
                /* The daemon answers NEED_CODE when the policy that applies
                 * asks for codes: then the code is asked. */
                req.flags |= PAM_REQUEST_PROBE;

        r = pam_tessera_call(pamh, &o, &req, &reply);
        if (r != PAM_SUCCESS)
                return r;

        if (reply.status == PAM_STATUS_NEED_CODE) {
                /* Everybody is asked while the policy asks for codes, users
                 * without TOTP too: a conversation that fails here is no
                 * code, and the daemon decides as for an empty one (never
                 * a success where a code is required). */
                if (ask_code(pamh, &req) == PAM_CONV_AGAIN)
                        return PAM_INCOMPLETE;
                req.flags &= ~PAM_REQUEST_PROBE;
                r = pam_tessera_call(pamh, &o, &req, &reply);
                if (r != PAM_SUCCESS)
                        return r;
                if (reply.status == PAM_STATUS_NEED_CODE)
                        return PAM_AUTHINFO_UNAVAIL;   /* asked twice: a daemon bug; never a success */
        }

        r = auth_result(pamh, flags, &o, &req, &reply);
        /* A conversation that failed can't have succeeded. */
        if (conv != PAM_SUCCESS && r == PAM_AUTH_ERR)
                return conv;
        return r;
}

_public_ int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        /* tessera hands out no credentials (tickets, keys) to set. */
        return PAM_SUCCESS;
}
