/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* account: may this account log in now? Locked, disabled and expired
 * accounts are refused with a message; users that aren't tessera's get
 * PAM_USER_UNKNOWN, so the stack moves on. */

#include "macro.h"
#include "pam-tessera.h"

_public_ int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(pam_request_wipep) PamRequest req = {};
        PamTesseraOptions o;
        PamReply reply;
        const char *user;
        int r;

        r = pam_tessera_parse_options(pamh, argc, argv, &o);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_tessera_get_user(pamh, &o, &user);
        if (r != PAM_SUCCESS)
                return r;

        pam_tessera_request_init(pamh, &o, PAM_MSG_ACCOUNT, user, &req);
        r = pam_tessera_call(pamh, &o, &req, &reply);
        if (r != PAM_SUCCESS)
                return r;

        switch (reply.status) {
        case PAM_STATUS_OK:
                return PAM_SUCCESS;
        case PAM_STATUS_USER_UNKNOWN:
                return PAM_USER_UNKNOWN;
        case PAM_STATUS_ACCOUNT_EXPIRED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, &reply);
                pam_syslog(pamh, LOG_NOTICE, "account '%s' has expired", user);
                return PAM_ACCT_EXPIRED;
        case PAM_STATUS_LOCKED:
        case PAM_STATUS_ACCOUNT_LOCKED:
        case PAM_STATUS_ACCOUNT_DISABLED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, &reply);
                pam_syslog(pamh, LOG_NOTICE, "account '%s' refused: %s", user, pam_status_to_string(reply.status));
                return PAM_PERM_DENIED;
        case PAM_STATUS_DENIED:
                pam_syslog(pamh, LOG_WARNING, "tesserad refused the account check of '%s' for uid %u", user,
                           (unsigned) getuid());
                return PAM_PERM_DENIED;
        default:
                pam_syslog(pamh, LOG_ERR, "tesserad could not check the account of '%s': %s", user,
                           pam_status_to_string(reply.status));
                return PAM_AUTHINFO_UNAVAIL;
        }
}
