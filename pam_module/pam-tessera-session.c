/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session: open and close record the session in tesserad (service, tty,
 * remote host, start and end), so that it can be listed over D-Bus. The
 * session's id goes from open to close through pam_set_data(). Users that
 * aren't tessera's: no opinion. */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"
#include "pam-tessera.h"

static void free_data(pam_handle_t *pamh, void *data, int error_status) {
        free(data);
}

static int session_result(pam_handle_t *pamh, const char *user, const char *what, const PamReply *reply) {
        switch (reply->status) {
        case PAM_STATUS_OK:
                return PAM_SUCCESS;
        case PAM_STATUS_USER_UNKNOWN:
                return PAM_IGNORE;
        default:
                pam_syslog(pamh, LOG_ERR, "tesserad could not %s the session of '%s': %s%s%s", what, user,
                           pam_status_to_string(reply->status), reply->text[0] ? ": " : "", reply->text);
                return PAM_SESSION_ERR;
        }
}

_public_ int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(pam_request_wipep) PamRequest req = {};
        PamTesseraOptions o;
        PamReply reply;
        const char *user;
        char *id;
        int r;

        r = pam_tessera_parse_options(pamh, argc, argv, &o);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_tessera_get_user(pamh, &o, &user);
        if (r == PAM_USER_UNKNOWN)
                return PAM_IGNORE;
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;

        pam_tessera_request_init(pamh, &o, PAM_MSG_SESSION_OPEN, user, &req);
        r = pam_tessera_call(pamh, &o, &req, &reply);
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;
        r = session_result(pamh, user, "open", &reply);
        if (r != PAM_SUCCESS)
                return r;

        if (asprintf(&id, "%" PRIu64, reply.session_id) < 0)
                return PAM_BUF_ERR;
        r = pam_set_data(pamh, PAM_TESSERA_SESSION_DATA, id, free_data);
        if (r != PAM_SUCCESS) {
                free(id);
                return r;
        }
        if (o.debug)
                pam_syslog(pamh, LOG_DEBUG, "session %s of '%s' opened", id, user);
        return PAM_SUCCESS;
}

_public_ int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv) {
        _cleanup_(pam_request_wipep) PamRequest req = {};
        const void *data = NULL;
        PamTesseraOptions o;
        PamReply reply;
        const char *user;
        int r;

        r = pam_tessera_parse_options(pamh, argc, argv, &o);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_tessera_get_user(pamh, &o, &user);
        if (r == PAM_USER_UNKNOWN)
                return PAM_IGNORE;
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;

        pam_tessera_request_init(pamh, &o, PAM_MSG_SESSION_CLOSE, user, &req);
        /* Without the id (another handle closes), the daemon closes the
         * newest open session of the user from this service, tty and pid. */
        if (pam_get_data(pamh, PAM_TESSERA_SESSION_DATA, &data) == PAM_SUCCESS && data)
                req.session_id = strtoull(data, NULL, 10);

        r = pam_tessera_call(pamh, &o, &req, &reply);
        if (r != PAM_SUCCESS)
                return PAM_SESSION_ERR;
        return session_result(pamh, user, "close", &reply);
}
