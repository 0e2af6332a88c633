/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "macro.h"
#include "names.h"
#include "pam-tessera.h"
#include "wire.h"

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int pam_tessera_parse_options(pam_handle_t *pamh, int argc, const char **argv, PamTesseraOptions *ret) {
        PamTesseraOptions o = {
                .totp = PAM_TOTP_REQUIRED,
                .socket = PAM_TESSERA_DEFAULT_SOCKET,
                .timeout_sec = PAM_TESSERA_DEFAULT_TIMEOUT_SEC,
        };

        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];

                if (streq(a, "debug"))
                        o.debug = true;
                else if (streq(a, "one_prompt"))
                        o.one_prompt = true;
                else if (streq(a, "nodelay"))
                        o.nodelay = true;
                /* pam_get_authtok() reads these itself from our arguments. */
                else if (streq(a, "use_first_pass") || streq(a, "try_first_pass") || streq(a, "use_authtok"))
                        ;
                else if (strneq(a, "totp=", 5)) {
                        if (streq(a + 5, "required"))
                                o.totp = PAM_TOTP_REQUIRED;
                        else if (streq(a + 5, "optional"))
                                o.totp = PAM_TOTP_OPTIONAL;
                        else if (streq(a + 5, "never"))
                                o.totp = PAM_TOTP_NEVER;
                        else {
                                /* Guessing here could drop a second factor. */
                                pam_syslog(pamh, LOG_ERR, "invalid option '%s' (required, optional or never): refusing",
                                           a);
                                return PAM_SERVICE_ERR;
                        }
                } else if (strneq(a, "socket=", 7)) {
                        if (a[7] != '/' || strlen(a + 7) >= 108) {
                                pam_syslog(pamh, LOG_ERR, "invalid option '%s' (an absolute path): refusing", a);
                                return PAM_SERVICE_ERR;
                        }
                        o.socket = a + 7;
                } else if (strneq(a, "timeout=", 8)) {
                        if (parse_uint(a + 8, 1, 600, &o.timeout_sec) < 0) {
                                pam_syslog(pamh, LOG_ERR, "invalid option '%s' (seconds, 1 to 600): refusing", a);
                                return PAM_SERVICE_ERR;
                        }
                } else
                        pam_syslog(pamh, LOG_WARNING, "unknown option '%s', ignored", a);
        }
        *ret = o;
        return PAM_SUCCESS;
}

int pam_tessera_begin(pam_handle_t *pamh, int argc, const char **argv, PamTesseraOptions *o, const char **ret) {
        char name[NAME_MAX_LEN + 1], tenant[TENANT_SLUG_MAX_LEN + 1];
        const char *user = NULL;
        int r;

        r = pam_tessera_parse_options(pamh, argc, argv, o);
        if (r != PAM_SUCCESS)
                return r;
        r = pam_get_user(pamh, &user, NULL);
        if (r != PAM_SUCCESS)
                return r;
        if (!user || split_qualified_name(user, name, tenant) < 0) {
                if (o->debug)
                        pam_syslog(pamh, LOG_DEBUG, "'%s' can't be a tessera user", ESC(strempty(user)));
                return PAM_USER_UNKNOWN;
        }
        *ret = user;
        return PAM_SUCCESS;
}

/* PAM items are the application's word, and only informational: keep
 * them short and printable rather than fail the login over them. */
static void copy_item(pam_handle_t *pamh, int item, char *dst, size_t size) {
        const void *v = NULL;

        dst[0] = '\0';
        if (pam_get_item(pamh, item, &v) != PAM_SUCCESS || !v)
                return;
        snprintf(dst, size, "%s", (const char *) v);
        /* A cut may have split the last character... */
        for (int i = 0; i < 3 && !utf8_is_valid(dst); i++)
                dst[strlen(dst) - 1] = '\0';
        /* ...else it was never UTF-8. */
        if (!utf8_is_valid(dst))
                for (char *p = dst; *p; p++)
                        if ((unsigned char) *p >= 0x80)
                                *p = '?';
        for (char *p = dst; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        *p = '?';
}

void pam_tessera_request_init(pam_handle_t *pamh, const PamTesseraOptions *o, uint16_t type, const char *user,
                              PamRequest *req) {
        *req = (PamRequest) { .type = type, .totp_policy = o->totp };
        snprintf(req->user, sizeof(req->user), "%s", user);
        copy_item(pamh, PAM_SERVICE, req->service, sizeof(req->service));
        copy_item(pamh, PAM_TTY, req->tty, sizeof(req->tty));
        copy_item(pamh, PAM_RHOST, req->rhost, sizeof(req->rhost));
        copy_item(pamh, PAM_RUSER, req->ruser, sizeof(req->ruser));
}

bool pam_tessera_copy_secret(char *dst, size_t size, const char *src) {
        size_t n = src ? strnlen(src, size) : 0;

        if (n >= size) {
                dst[0] = '\0';
                return false;
        }
        memcpy(dst, strempty(src), n);
        dst[n] = '\0';
        return true;
}

static void wipep(uint8_t (*buf)[PAM_PROTO_MAX_MESSAGE]) {
        explicit_bzero(*buf, sizeof(*buf));
}

static bool hashes(uint16_t type) {
        return type == PAM_MSG_AUTHENTICATE || type == PAM_MSG_CHAUTHTOK_CHECK || type == PAM_MSG_CHAUTHTOK;
}

int pam_tessera_call(pam_handle_t *pamh, const PamTesseraOptions *o, const PamRequest *req, PamReply *reply) {
        _cleanup_(wipep) uint8_t buf[PAM_PROTO_MAX_MESSAGE];
        _cleanup_(closep) int fd = -EBADF;
        unsigned timeout = hashes(req->type) ? o->timeout_sec : MIN(o->timeout_sec, PAM_TESSERA_QUICK_TIMEOUT_SEC);
        uint64_t deadline = wire_deadline((uint64_t) timeout * 1000000u);
        size_t len;
        int r;

        r = pam_request_write(req, buf, sizeof(buf), &len);
        if (r < 0) {
                pam_syslog(pamh, LOG_ERR, "cannot encode a request: %s", strerror(-r));
                return PAM_AUTHINFO_UNAVAIL;
        }
        r = wire_connect(o->socket, deadline, &fd);
        if (r >= 0)
                r = wire_send_all(fd, buf, len, deadline);
        explicit_bzero(buf, len);
        if (r >= 0)
                r = wire_recv_message(fd, buf, sizeof(buf), deadline, &len);
        if (r >= 0)
                r = pam_reply_read(buf, len, reply);
        if (r < 0) {
                /* Unreachable, too slow or talking nonsense: never a success. */
                pam_syslog(pamh, LOG_ERR, "tesserad at %s: %s", o->socket,
                           r == -ETIMEDOUT ? "no answer in time" : strerror(-r));
                return PAM_AUTHINFO_UNAVAIL;
        }
        if (o->debug)
                pam_syslog(pamh, LOG_DEBUG, "request %u for '%s': %s", req->type, req->user,
                           pam_status_to_string(reply->status));
        return PAM_SUCCESS;
}

void pam_tessera_show(pam_handle_t *pamh, int flags, int style, const PamReply *reply) {
        if ((flags & PAM_SILENT) || reply->text[0] == '\0')
                return;
        if (style == PAM_ERROR_MSG)
                (void) pam_error(pamh, "%s", reply->text);
        else
                (void) pam_info(pamh, "%s", reply->text);
}
