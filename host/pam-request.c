/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What each request of the authentication socket does. The decisions are
 * the authentication core's (auth.c, session.c, user.c); this maps requests
 * onto them and outcomes onto replies, and enforces the caller rule. */

#include <stdlib.h>

#include "escape.h"
#include "log.h"
#include "names.h"
#include "pam-internal.h"
#include "host-session.h"
#include "password-change.h"
#include "time-util.h"
#include "user.h"

static const char *action_of(uint16_t type) {
        switch (type) {
        case PAM_MSG_LOOKUP:
                return "auth.lookup";
        case PAM_MSG_AUTHENTICATE:
                return "auth.login";
        case PAM_MSG_ACCOUNT:
                return "auth.account";
        case PAM_MSG_CHAUTHTOK_CHECK:
        case PAM_MSG_CHAUTHTOK:
                return "auth.chauthtok";
        case PAM_MSG_SESSION_OPEN:
                return "session.open";
        case PAM_MSG_SESSION_CLOSE:
                return "session.close";
        default:
                return "auth.unknown";
        }
}

/* The caller as the kernel names it (SO_PEERCRED), with the PAM service
 * and remote host of its request for the audit trail: valid while the
 * request is being answered. */
static Principal principal_of(const PamConnection *c) {
        Principal p = principal_local("pam", c->peer.uid, false, c->req.rhost[0] ? c->req.rhost : NULL);

        p.name = c->req.service[0] ? c->req.service : NULL;
        return p;
}

static AuthContext context_of(const PamConnection *c) {
        return (AuthContext) {
                .action = action_of(c->req.type),
                .service = c->req.service,
                .tty = c->req.tty,
                .remote_user = c->req.ruser,
                .pid = c->peer.pid > 0 ? (uint32_t) c->peer.pid : 0,
        };
}

static void reply_status(PamConnection *c, PamStatus status, const char *text) {
        PamReply reply = { .status = status };

        if (text)
                snprintf(reply.text, sizeof(reply.text), "%s", text);
        pam_connection_reply(c, &reply);
}

static PamStatus status_of(AuthOutcome o) {
        switch (o) {
        case AUTH_SUCCESS:
                return PAM_STATUS_OK;
        case AUTH_FAILED:
                return PAM_STATUS_AUTH_FAILED;
        case AUTH_USER_UNKNOWN:
                return PAM_STATUS_USER_UNKNOWN;
        case AUTH_LOCKED:
                return PAM_STATUS_LOCKED;
        case AUTH_ACCOUNT_LOCKED:
                return PAM_STATUS_ACCOUNT_LOCKED;
        case AUTH_ACCOUNT_DISABLED:
                return PAM_STATUS_ACCOUNT_DISABLED;
        case AUTH_ACCOUNT_EXPIRED:
                return PAM_STATUS_ACCOUNT_EXPIRED;
        case AUTH_MFA_ENROLMENT_REQUIRED:
                /* No login without the second factor the tenant asks for:
                 * a failure here, so that no module after ours (pam_unix)
                 * takes over as it would after "unavailable"; the text
                 * tells the person why. */
                return PAM_STATUS_AUTH_FAILED;
        default:
                /* Never read an outcome we didn't expect as a success. */
                return PAM_STATUS_ERROR;
        }
}

/* The status says what the module must do with the answer (USER_UNKNOWN:
 * the stack moves on to the next module); the text and the lock are what
 * the person is told. At a login prompt that is the apparent answer, the
 * same for a name that is no user as for a real account after as many
 * failures. A password change comes from the holder's own session
 * (passwd(1)): they learn the account's state. */
static void reply_result(PamConnection *c, const AuthResult *res) {
        PamReply reply = { .status = status_of(res->outcome) };
        int64_t now = now_realtime_usec();
        AuthOutcome told = res->apparent;

        if (c->req.type == PAM_MSG_AUTHENTICATE)
                auth_result_message(res, now, reply.text, sizeof(reply.text));
        else {
                auth_result_holder_message(res, now, reply.text, sizeof(reply.text));
                told = res->outcome;
        }
        if (told == AUTH_LOCKED || (told == AUTH_FAILED && res->locked_until_usec > 0))
                reply.locked_until_usec = (uint64_t) res->locked_until_usec;
        pam_connection_reply(c, &reply);
}

/* The name as asked, for the audit trail of a user that isn't ours. */
static const char *target_of(const PamConnection *c) {
        return valid_display_text(c->req.user, QUALIFIED_NAME_MAX_LEN) ? c->req.user : "(not a name)";
}

/* unix_chkpwd's rule: a caller that is not root acts only for the user
 * it runs as. Replies and returns false when the caller oversteps. */
static bool caller_may_act_for(PamConnection *c, const UserRecord *u) {
        _cleanup_free_ char *target = NULL;
        PolicyTarget t = policy_target_user(u);
        Principal a = principal_of(c);

        if (policy_check(&a, POLICY_AUTH_LOGIN, &t) == 0)
                return true;

        target = user_qualified_name(u);
        (void) change_audit(c->manager->store, &a, action_of(c->req.type), u->tenant, target, AUDIT_DENIED,
                           "{\"reason\":\"a caller that is not root may only act for itself\"}");
        log_notice("Refused %s for %s to uid %u (pid %d, service %s, from %s) on %s.", action_of(c->req.type),
                   ESC(target), (unsigned) c->peer.uid, (int) c->peer.pid, ESC(c->req.service), ESC(c->req.rhost),
                   PAM_SOCKET_NAME);
        reply_status(c, PAM_STATUS_DENIED, NULL);
        return false;
}

/* Submits work for the request to the pool; replies BUSY when the queue
 * is full. */
static void submit(PamConnection *c, WorkerFunc work, WorkerDoneFunc done, void *userdata) {
        int r = worker_pool_submit(c->manager->workers, work, done, userdata);

        if (r < 0) {
                log_warning_errno(r, "Password work queue full; turning a client of %s away: %m", PAM_SOCKET_NAME);
                reply_status(c, PAM_STATUS_BUSY, "The authentication service is busy; try again in a moment.");
                return;
        }
        c->busy = true;
}

/* The work of a connection's request, on a worker thread. The main loop
 * leaves the connection alone while it is busy. */
static void verify_work(void *userdata) {
        PamConnection *c = userdata;
        auth_attempt_verify(c->attempt);
}

/* --- rehash after a login ---------------------------------------------- */

typedef struct RehashJob {
        Manager *manager;
        AuthAttempt *attempt;
        uid_t uid;
        char service[PAM_PROTO_MAX_ITEM + 1];
} RehashJob;

static void rehash_work(void *userdata) {
        RehashJob *j = userdata;
        auth_attempt_rehash(j->attempt);
}

static void rehash_done(void *userdata) {
        RehashJob *j = userdata;
        Principal a = principal_local("pam", j->uid, false, NULL);
        int r;

        a.name = j->service;
        r = auth_attempt_store_rehash(j->manager, j->manager->store, &a, j->attempt);
        if (r < 0)
                log_warning_errno(r, "Failed to store a rehashed password: %m");
        auth_attempt_free(j->attempt);
        free(j);
}

/* Hashes the password again under the current policy, after the reply:
 * the person logging in doesn't wait for it. */
static void start_rehash(PamConnection *c) {
        RehashJob *j = calloc(1, sizeof(RehashJob));

        if (!j)
                return;
        *j = (RehashJob) { .manager = c->manager, .attempt = TAKE_PTR(c->attempt), .uid = c->peer.uid };
        snprintf(j->service, sizeof(j->service), "%s", c->req.service);
        if (worker_pool_submit(c->manager->workers, rehash_work, rehash_done, j) < 0) {
                auth_attempt_free(j->attempt);
                free(j);
        }
}

/* --- authenticate, and the current password before a change ------------ */

static void attempt_verified(void *userdata) {
        PamConnection *c = userdata;
        Manager *m = c->manager;
        AuthContext ctx;
        AuthResult res;
        Principal a;
        int r;

        if (!pam_connection_job_done(c))
                return;
        a = principal_of(c);
        ctx = context_of(c);
        r = auth_attempt_finish(m, m->store, &a, &ctx, c->attempt, &res);
        if (r < 0) {
                reply_status(c, PAM_STATUS_ERROR, NULL);
                return;
        }

        /* Queued before the reply (which wipes the request), run after it. */
        if (res.outcome == AUTH_SUCCESS && res.rehash && c->req.type == PAM_MSG_AUTHENTICATE)
                start_rehash(c);
        if (res.outcome == AUTH_MFA_ENROLMENT_REQUIRED)
                log_notice("Refused the login of %s (service %s, from %s): its tenant requires a second factor "
                           "(mfa_required) and it has no TOTP enrolled.", ESC(target_of(c)), ESC(c->req.service),
                           c->req.rhost[0] ? ESC(c->req.rhost) : "-");
        reply_result(c, &res);
}

/* Starts a password check: u may be NULL (not ours: the dummy hash runs,
 * and the answer is USER_UNKNOWN after it). */
static void start_attempt(PamConnection *c, const UserRecord *u, AuthTotpPolicy policy) {
        int r;

        r = auth_attempt_new(c->manager, u, target_of(c), c->req.has_password ? c->req.password : NULL, c->req.code,
                             policy, false, &c->attempt);
        if (r < 0) {
                reply_status(c, PAM_STATUS_ERROR, NULL);
                return;
        }
        submit(c, verify_work, attempt_verified, c);
}

/* u is NULL for a name that is no user. */
static void handle_authenticate(PamConnection *c, const UserRecord *u, AuthTotpPolicy policy) {
        /* A probe while the policy asks for codes: ask for one before
         * anything is checked, so that the prompt says nothing about the
         * password. And ask everybody, users without TOTP and names that
         * are no user alike, so that it says nothing about who exists or
         * who enrolled either; the code of a user without TOTP is not
         * looked at (pam_tessera(8)). */
        if ((c->req.flags & PAM_REQUEST_PROBE) && c->req.has_password && policy != AUTH_TOTP_NEVER) {
                reply_status(c, PAM_STATUS_NEED_CODE, NULL);
                return;
        }
        start_attempt(c, u, policy);
}

/* --- password change --------------------------------------------------- */

/* What a refusal or failure of the core's password change is at the prompt. */
static PamStatus status_of_error(int r) {
        switch (r) {
        case -EACCES:
        case -EPERM:
                return PAM_STATUS_DENIED;
        case -EINVAL:
                return PAM_STATUS_REJECTED;
        case -EKEYREJECTED:
                return PAM_STATUS_AUTH_FAILED;
        case -ENOENT:
                return PAM_STATUS_USER_UNKNOWN;
        case -EBUSY:
                return PAM_STATUS_BUSY;
        default:
                return PAM_STATUS_ERROR;
        }
}

static void password_changed(const PasswordChangeOutcome *o, void *userdata) {
        PamConnection *c = userdata;

        if (!pam_connection_job_done(c))
                return;
        /* A current password that did not do: the core's answer, as a
         * login's (the lock, the account's state). */
        if (o->checked && o->check.outcome != AUTH_SUCCESS)
                reply_result(c, &o->check);
        else if (o->result < 0)
                reply_status(c, status_of_error(o->result), tessera_error_message(&o->error));
        else
                reply_status(c, PAM_STATUS_OK, "Password changed.");
}

static void handle_chauthtok(PamConnection *c, const UserRecord *u) {
        bool admin = c->req.flags & PAM_REQUEST_ADMIN_CHANGE;
        AuthContext ctx = context_of(c);
        TesseraError e = {};
        Principal a = principal_of(c);
        int r;

        /* Without the current password only root may set one (passwd run
         * by root); everybody else proves the current one. */
        if (!c->req.has_new_password || (!admin && !c->req.has_password)) {
                reply_status(c, PAM_STATUS_BAD_REQUEST, NULL);
                return;
        }
        r = password_change_start(c->manager, &a, u, admin ? NULL : c->req.password, c->req.new_password, &ctx,
                                  password_changed, c, &e);
        if (r < 0) {
                reply_status(c, status_of_error(r), tessera_error_message(&e));
                return;
        }
        c->busy = true;
}

/* --- account, sessions, lookup ----------------------------------------- */

static void handle_account(PamConnection *c, const UserRecord *u) {
        AuthContext ctx = context_of(c);
        Principal a = principal_of(c);
        AuthResult res;

        if (auth_account_check(c->manager, c->manager->store, &a, &ctx, u, &res) < 0) {
                reply_status(c, PAM_STATUS_ERROR, NULL);
                return;
        }
        reply_result(c, &res);
}

static void handle_session(PamConnection *c, const UserRecord *u) {
        HostSessionSpec spec = {
                .kind = "pam",
                .service = c->req.service,
                .tty = c->req.tty,
                .remote_host = c->req.rhost,
                .remote_user = c->req.ruser,
                .pid = c->peer.pid > 0 ? (uint32_t) c->peer.pid : 0,
        };
        TesseraError e = {};
        Principal a = principal_of(c);
        PamReply reply = {};
        int64_t id = 0;
        int r;

        if (c->req.type == PAM_MSG_SESSION_OPEN)
                r = host_session_open(c->manager, c->manager->store, &a, u, &spec, &id, &e);
        else
                r = host_session_close(c->manager, c->manager->store, &a, u,
                                       (int64_t) MIN(c->req.session_id, (uint64_t) INT64_MAX), &spec, &e);
        if (r < 0) {
                reply_status(c, r == -EACCES ? PAM_STATUS_DENIED : PAM_STATUS_ERROR, tessera_error_message(&e));
                return;
        }
        reply.status = PAM_STATUS_OK;
        reply.session_id = (uint64_t) id;
        pam_connection_reply(c, &reply);
}

static void handle_lookup(PamConnection *c, const UserRecord *u, AuthTotpPolicy policy) {
        int r = policy == AUTH_TOTP_NEVER ? 0 : auth_user_has_totp(c->manager->store, u->id);

        if (r < 0) {
                reply_status(c, PAM_STATUS_ERROR, NULL);
                return;
        }
        pam_connection_reply(c, &(PamReply) { .status = PAM_STATUS_OK, .needs_code = r > 0 });
}

/* The TOTP policy of a request. Root's callers (login, sshd, sudo, su)
 * are the system's own programs, and their PAM configuration decides. Any
 * other caller (a screen locker, or anything a user runs) could send what
 * it likes: for them the daemon's [pam] totp is the least, which the
 * module's totp= may make stricter, never weaker. */
static AuthTotpPolicy effective_policy(const PamConnection *c) {
        AuthTotpPolicy asked = (AuthTotpPolicy) c->req.totp_policy;   /* the same numbers, checked by the reader */
        AuthTotpPolicy least = (AuthTotpPolicy) c->manager->config->pam_totp;

        _Static_assert(AUTH_TOTP_REQUIRED < AUTH_TOTP_OPTIONAL && AUTH_TOTP_OPTIONAL < AUTH_TOTP_NEVER,
                       "the stricter policy is the smaller number");
        _Static_assert((int) CONFIG_TOTP_REQUIRED == (int) AUTH_TOTP_REQUIRED &&
                       (int) CONFIG_TOTP_OPTIONAL == (int) AUTH_TOTP_OPTIONAL, "the same numbers");
        Principal a = principal_of(c);

        /* Root's programs (sshd, login, sudo) choose; anybody else gets
         * at least the daemon's floor. */
        return principal_is_root(&a) ? asked : MIN(asked, least);
}

static bool items_valid(const PamRequest *req) {
        return valid_display_text(req->service, PAM_PROTO_MAX_ITEM) && valid_display_text(req->tty, PAM_PROTO_MAX_ITEM) &&
               valid_display_text(req->rhost, PAM_PROTO_MAX_ITEM) && valid_display_text(req->ruser, PAM_PROTO_MAX_ITEM);
}

void pam_request_dispatch(PamConnection *c) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        AuthTotpPolicy policy = effective_policy(c);
        int r;

        if (!items_valid(&c->req)) {
                /* What a PAM application passed on: the remote host may
                 * come from a DNS answer, the user name from a login prompt. */
                log_notice("Refused %s for %s from uid %u (pid %d) on %s: an item is not one line of text "
                           "(service %s, tty %s, from %s, remote user %s).", action_of(c->req.type),
                           ESC(c->req.user), (unsigned) c->peer.uid, (int) c->peer.pid, PAM_SOCKET_NAME,
                           ESC(c->req.service), ESC(c->req.tty), ESC(c->req.rhost), ESC(c->req.ruser));
                reply_status(c, PAM_STATUS_BAD_REQUEST, NULL);
                return;
        }

        r = auth_find_user(c->manager, c->manager->store, c->req.user, &u);
        if (r < 0 && r != -ENOENT) {
                log_error_errno(r, "Failed to look up a user for %s: %m", PAM_SOCKET_NAME);
                reply_status(c, PAM_STATUS_ERROR, NULL);
                return;
        }
        if (!u) {
                /* Not ours. A password check goes as for a real user (the
                 * code asked, a hash, a failure counted and recorded);
                 * anything else is simply not our business. */
                if (c->req.type == PAM_MSG_AUTHENTICATE)
                        handle_authenticate(c, NULL, policy);
                else if (c->req.type == PAM_MSG_CHAUTHTOK_CHECK)
                        start_attempt(c, NULL, AUTH_TOTP_NEVER);
                else
                        reply_status(c, PAM_STATUS_USER_UNKNOWN, NULL);
                return;
        }
        if (!caller_may_act_for(c, u))
                return;

        switch (c->req.type) {
        case PAM_MSG_LOOKUP:
                handle_lookup(c, u, policy);
                break;
        case PAM_MSG_AUTHENTICATE:
                handle_authenticate(c, u, policy);
                break;
        case PAM_MSG_CHAUTHTOK_CHECK:
                start_attempt(c, u, AUTH_TOTP_NEVER);
                break;
        case PAM_MSG_CHAUTHTOK:
                handle_chauthtok(c, u);
                break;
        case PAM_MSG_ACCOUNT:
                handle_account(c, u);
                break;
        case PAM_MSG_SESSION_OPEN:
        case PAM_MSG_SESSION_CLOSE:
                handle_session(c, u);
                break;
        default:
                reply_status(c, PAM_STATUS_BAD_REQUEST, NULL);
        }
}
