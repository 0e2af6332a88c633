/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* password: a change with the current password, as pam_unix does it: the
 * current one is checked in PAM_PRELIM_CHECK, the new one asked (twice,
 * by pam_get_authtok()) and set in PAM_UPDATE_AUTHTOK. Root changing a
 * password (not its own expired one) gives no current password. */

#include <unistd.h>

#include "macro.h"
#include "pam-tessera.h"

#define OLD_PROMPT "Current password: "

/* Root sets passwords without the current one, unless it is changing an
 * expired one of its own session (pam_unix's rule). */
static bool root_mode(int flags) {
        return getuid() == 0 && !(flags & PAM_CHANGE_EXPIRED_AUTHTOK);
}

static int unavailable_or(const PamReply *reply, pam_handle_t *pamh, const char *user) {
        pam_syslog(pamh, LOG_ERR, "tesserad could not change the password of '%s': %s", user,
                   pam_status_to_string(reply->status));
        return PAM_AUTHINFO_UNAVAIL;
}

static int prelim_check(pam_handle_t *pamh, int flags, const PamTesseraOptions *o, const char *user) {
        _cleanup_(pam_request_wipep) PamRequest req = {};
        const char *old = NULL;
        PamReply reply;
        int r;

        /* Ours at all? Users that aren't go to the other modules. */
        pam_tessera_request_init(pamh, o, PAM_MSG_LOOKUP, user, &req);
        r = pam_tessera_call(pamh, o, &req, &reply);
        if (r != PAM_SUCCESS)
                return r;
        if (reply.status == PAM_STATUS_USER_UNKNOWN)
                return PAM_USER_UNKNOWN;
        if (reply.status == PAM_STATUS_DENIED)
                return PAM_PERM_DENIED;
        if (reply.status != PAM_STATUS_OK)
                return unavailable_or(&reply, pamh, user);
        if (root_mode(flags))
                return PAM_SUCCESS;

        r = pam_get_authtok(pamh, PAM_OLDAUTHTOK, &old, OLD_PROMPT);
        if (r != PAM_SUCCESS)
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_AUTHTOK_RECOVERY_ERR;

        pam_tessera_request_init(pamh, o, PAM_MSG_CHAUTHTOK_CHECK, user, &req);
        req.has_password = pam_tessera_copy_secret(req.password, sizeof(req.password), old);
        r = pam_tessera_call(pamh, o, &req, &reply);
        if (r != PAM_SUCCESS)
                return r;
        switch (reply.status) {
        case PAM_STATUS_OK:
                return PAM_SUCCESS;
        case PAM_STATUS_AUTH_FAILED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, &reply);
                pam_syslog(pamh, LOG_NOTICE, "wrong current password for '%s'", user);
                /* Don't let the next run of the stack reuse it. */
                (void) pam_set_item(pamh, PAM_OLDAUTHTOK, NULL);
                return PAM_AUTH_ERR;
        case PAM_STATUS_LOCKED:
        case PAM_STATUS_ACCOUNT_LOCKED:
        case PAM_STATUS_ACCOUNT_DISABLED:
        case PAM_STATUS_ACCOUNT_EXPIRED:
        case PAM_STATUS_DENIED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, &reply);
                return PAM_PERM_DENIED;
        case PAM_STATUS_USER_UNKNOWN:
                return PAM_USER_UNKNOWN;
        default:
                return unavailable_or(&reply, pamh, user);
        }
}

static int update(pam_handle_t *pamh, int flags, const PamTesseraOptions *o, const char *user) {
        _cleanup_(pam_request_wipep) PamRequest req = {};
        const void *old = NULL;
        const char *new_password = NULL;
        PamReply reply;
        int r;

        pam_tessera_request_init(pamh, o, PAM_MSG_CHAUTHTOK, user, &req);
        if (root_mode(flags))
                req.flags |= PAM_REQUEST_ADMIN_CHANGE;
        else {
                /* Checked in PRELIM_CHECK and kept by libpam since. */
                if (pam_get_item(pamh, PAM_OLDAUTHTOK, &old) != PAM_SUCCESS || !old)
                        return PAM_AUTHTOK_RECOVERY_ERR;
                req.has_password = pam_tessera_copy_secret(req.password, sizeof(req.password), old);
                if (!req.has_password)
                        return PAM_AUTHTOK_RECOVERY_ERR;
        }

        /* Asks twice and compares, or takes it from an earlier module
         * (use_authtok, after pam_pwquality). */
        r = pam_get_authtok(pamh, PAM_AUTHTOK, &new_password, NULL);
        if (r != PAM_SUCCESS)
                return r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : r;
        req.has_new_password = pam_tessera_copy_secret(req.new_password, sizeof(req.new_password), new_password);
        if (!req.has_new_password) {
                if (!(flags & PAM_SILENT))
                        (void) pam_error(pamh, "The password must have at most %d characters.", PAM_PROTO_MAX_PASSWORD);
                return PAM_AUTHTOK_ERR;
        }

        r = pam_tessera_call(pamh, o, &req, &reply);
        if (r != PAM_SUCCESS)
                return r;
        switch (reply.status) {
        case PAM_STATUS_OK:
                pam_syslog(pamh, LOG_NOTICE, "password changed for '%s'", user);
                return PAM_SUCCESS;
        case PAM_STATUS_REJECTED:
                /* The policy's reason: too short, the user's name, ... */
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, &reply);
                (void) pam_set_item(pamh, PAM_AUTHTOK, NULL);
                return PAM_AUTHTOK_ERR;
        case PAM_STATUS_AUTH_FAILED:
                return PAM_AUTHTOK_RECOVERY_ERR;
        case PAM_STATUS_USER_UNKNOWN:
                return PAM_USER_UNKNOWN;
        case PAM_STATUS_LOCKED:
        case PAM_STATUS_ACCOUNT_LOCKED:
        case PAM_STATUS_ACCOUNT_DISABLED:
        case PAM_STATUS_ACCOUNT_EXPIRED:
        case PAM_STATUS_DENIED:
                pam_tessera_show(pamh, flags, PAM_ERROR_MSG, &reply);
                return PAM_PERM_DENIED;
        default:
                return unavailable_or(&reply, pamh, user);
        }
}

_public_ int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        PamTesseraOptions o;
        const char *user;
        int r;

        r = pam_tessera_parse_options(pamh, argc, argv, &o);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_tessera_get_user(pamh, &o, &user);
        if (r != PAM_SUCCESS)
                return r;

        if (flags & PAM_PRELIM_CHECK)
                return prelim_check(pamh, flags, &o, user);
        if (flags & PAM_UPDATE_AUTHTOK)
                return update(pamh, flags, &o, user);
        return PAM_SERVICE_ERR;
}
