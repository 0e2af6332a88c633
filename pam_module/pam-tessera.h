/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the phases of pam_tessera.so share: the module's options, the
 * request to tesserad (one connection per request, with a deadline) and
 * the messages. The module keeps no state of its own: no files, no
 * threads, no fork, nothing global; what one phase hands another goes
 * through pam_set_data(). It logs through pam_syslog() only, and never a
 * secret. */

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdbool.h>
#include <syslog.h>

#include "pam-proto.h"

#define PAM_TESSERA_DEFAULT_SOCKET RUNSTATEDIR "/tessera/" PAM_SOCKET_NAME
/* Requests that hash wait up to timeout= (the queue may be long under
 * load); the others are answered from memory and get a short deadline, so
 * that a daemon that hangs doesn't hold up logins for long. */
#define PAM_TESSERA_DEFAULT_TIMEOUT_SEC 10
#define PAM_TESSERA_QUICK_TIMEOUT_SEC 2
/* How long a failed authentication makes the caller wait (pam_unix's). */
#define PAM_TESSERA_FAIL_DELAY_USEC 2000000
#define PAM_TESSERA_SESSION_DATA "pam_tessera_session_id"

typedef struct PamTesseraOptions {
        bool debug;
        bool one_prompt;          /* the code follows the password in one answer */
        bool nodelay;             /* no fail delay */
        PamTotpPolicy totp;
        const char *socket;
        unsigned timeout_sec;
} PamTesseraOptions;

/* Parses the module arguments. Unknown ones are logged and ignored; a
 * known one with a bad value (totp=sometimes, socket=relative/path) is a
 * misconfiguration of security and returns PAM_SERVICE_ERR: fail closed. */
int pam_tessera_parse_options(pam_handle_t *pamh, int argc, const char **argv, PamTesseraOptions *ret);

/* The user of the transaction, if it can be one of ours: PAM_SUCCESS and
 * the name; PAM_USER_UNKNOWN for names tessera can't have; or
 * pam_get_user()'s error. */
int pam_tessera_get_user(pam_handle_t *pamh, const PamTesseraOptions *o, const char **ret);

/* Fills the common part of a request: type, user, service, tty, remote
 * host and user (sanitized: they are informational), the TOTP policy. */
void pam_tessera_request_init(pam_handle_t *pamh, const PamTesseraOptions *o, uint16_t type, const char *user,
                              PamRequest *req);

/* Sends a request and reads the reply within the deadline for its kind.
 * PAM_SUCCESS with *reply filled (whatever its status), or
 * PAM_AUTHINFO_UNAVAIL when tesserad can't be reached or answered
 * nonsense (logged). */
int pam_tessera_call(pam_handle_t *pamh, const PamTesseraOptions *o, const PamRequest *req, PamReply *reply);

/* Copies a secret into a request field; false when it doesn't fit. */
bool pam_tessera_copy_secret(char *dst, size_t size, const char *src);

/* Shows the reply's text to the person, as an error or as information,
 * unless the application asked for silence. */
void pam_tessera_show(pam_handle_t *pamh, int flags, int style, const PamReply *reply);

static inline void pam_request_wipep(PamRequest *r) {
        pam_request_wipe(r);
}
