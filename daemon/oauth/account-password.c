/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "account-password.h"

#include "account-sessions.h"
#include "password-change.h"
#include "store-oidc.h"
#include "time-util.h"
#include "user.h"

/* Whether the request's session began with a sign-in in the last
 * ACCOUNT_FIRST_PASSWORD_WINDOW_USEC: the proof a first password rests on. */
static bool fresh_session(Store *s, const UserRecord *u, const char *sid) {
        SsoSession sess;

        if (isempty(sid) || store_sso_session_get_by_sid(s, u->tenant_id, sid, &sess) < 0)
                return false;
        return sess.user_id == u->id && sess.revoked_usec == 0 &&
               sess.auth_time_usec + ACCOUNT_FIRST_PASSWORD_WINDOW_USEC > now_realtime_usec();
}

int account_password_change(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current,
                            const char *new_password, bool keep_other_sessions, const char *current_sid,
                            unsigned *ret_ended, TesseraError *e) {
        _cleanup_(password_change_outcome_done) PasswordChangeOutcome o = {};
        _cleanup_free_ char *target = user_qualified_name(u);
        AuthContext ctx = { .action = "auth.chauthtok", .service = "web" };
        unsigned ended = 0;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, p, POLICY_ME_PASSWORD, policy_target_user(u), u->tenant, target, e);
        if (r < 0)
                return r;
        /* Here the current password is always asked for, even of an
         * administrator changing their own: a stolen access token alone
         * must not take over the account. Only an account without one
         * (made by an upstream sign-in) sets a first password without,
         * from a session signed in moments ago. */
        if (!current && !isempty(u->password_hash))
                return tessera_error_set(e, -EINVAL, "Give the current password to change it.");
        if (!current && !fresh_session(s, u, current_sid))
                return tessera_error_set(e, -EACCES,
                                         "The account has no password yet: sign in again (within %u minutes) to "
                                         "set the first one.",
                                         (unsigned) (ACCOUNT_FIRST_PASSWORD_WINDOW_USEC / (60 * USEC_PER_SEC)));

        r = current ? password_change_run(m, s, p, u, current, new_password, &ctx, &o)
                    : password_change_first_run(m, s, p, u, new_password, &ctx, &o);
        if (r < 0) {
                *e = o.error;
                return r;
        }
        if (!keep_other_sessions) {
                r = account_sessions_revoke_others(m, s, p, o.user, current_sid, &ended, e);
                if (r < 0)
                        return r;
        }
        if (ret_ended)
                *ret_ended = ended;
        return 0;
}
