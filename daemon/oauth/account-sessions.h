/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The signed-in user's own sessions, every kind in one list, as the
 * account's self-service shows them (/api/v1/tenants/{t}/me/sessions):
 *
 *   web   an SSO session: a browser's sign-in at the tenant's provider
 *         (sso-session.h), the anchor of the access tokens that carry its sid;
 *   app   a refresh family: one application's lasting sign-in, through its
 *         current refresh token (oauth-refresh.h), usually from a web one;
 *   host  a host login (PAM: console, sshd, su) still open (host-session.h).
 *
 * Each has an opaque id with its kind in it ("ses_web_…", "ses_app_…",
 * "ses_host_…"), valid only for its own user in its own tenant: another
 * user's or another tenant's id is "not found", never told apart.
 * Revoking a web session ends it and its refresh tokens (its access tokens
 * are refused from then on); an app session, its refresh family; a host
 * session, its record (tessera stops counting the login as open; the login
 * process itself belongs to the host, which tessera does not signal).
 * Extending moves the expiry of a web session to the configured lifetime
 * from now, never past [oidc] session_max_lifetime from the sign-in, and
 * the idle expiry of an app session within its absolute one; a host login
 * has no expiry to move.
 *
 * Every function checks the policy (POLICY_ME_SESSION_*) for p acting on
 * u, and audits what it changes in the change's transaction. */

#include "change.h"
#include "manager.h"

typedef enum AccountSessionKind {
        ACCOUNT_SESSION_WEB,
        ACCOUNT_SESSION_APP,
        ACCOUNT_SESSION_HOST,
        _ACCOUNT_SESSION_KIND_MAX,
        _ACCOUNT_SESSION_KIND_INVALID = -EINVAL,
} AccountSessionKind;

#define ACCOUNT_SESSION_ID_MAX 96
/* At most this many of each kind are listed (and revoked at once). */
#define ACCOUNT_SESSIONS_MAX 200

typedef struct AccountSession {
        AccountSessionKind kind;
        char id[ACCOUNT_SESSION_ID_MAX];
        /* app: the web session it came from, "" when none (or gone) */
        char parent[ACCOUNT_SESSION_ID_MAX];
        /* the session of the request's own access token (web), or a
         * refresh family of it (app) */
        bool current;
        char amr[32];             /* web, app: how the user signed in ("pwd", "pwd otp") */
        char *application;        /* app */
        char *client_id;          /* app */
        char *service, *tty, *remote_host;   /* host */
        int64_t started_usec;     /* sign-in, or login */
        int64_t last_used_usec;   /* app: its last refresh; 0 otherwise */
        int64_t expires_usec;     /* 0: host, ends with its login */
        int64_t limit_usec;       /* the furthest an extension may take it; 0: host */
} AccountSession;

const char *account_session_kind_to_string(AccountSessionKind k);
void account_session_array_free(AccountSession *a, size_t n);

/* Every live session of u, web ones first, newest first within a kind.
 * current_sid: the sid of the request's access token (NULL: none), to mark
 * the current session. */
int account_sessions_list(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current_sid,
                          AccountSession **ret, size_t *ret_n, TesseraError *e);

/* Revokes u's session id (-ENOENT: no live session of u has that id). */
int account_session_revoke(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *id,
                           TesseraError *e);

/* Revokes every session of u but the current one (the web session of
 * current_sid and the app sessions that came from it; NULL: none is kept);
 * *ret_n (may be NULL) gets how many ended. Audited as one event. */
int account_sessions_revoke_others(Manager *m, Store *s, const Principal *p, const UserRecord *u,
                                   const char *current_sid, unsigned *ret_n, TesseraError *e);

/* Extends u's session id as far as the limits allow; -ERANGE when it is at
 * its limit already, -EOPNOTSUPP for a host session. ret gets the session
 * as it is now (free its strings with account_session_array_free(ret, 1)
 * semantics: account_session_done()). */
int account_session_extend(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *id,
                           const char *current_sid, AccountSession *ret, TesseraError *e);
void account_session_done(AccountSession *a);
