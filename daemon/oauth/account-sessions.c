/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "account-sessions.h"

#include <inttypes.h>
#include <stdlib.h>

#include "events.h"
#include "json-text.h"
#include "host-session.h"
#include "log.h"
#include "store-oidc.h"
#include "time-util.h"
#include "user.h"

#define PREFIX_WEB "ses_web_"
#define PREFIX_APP "ses_app_"
#define PREFIX_HOST "ses_host_"

static const char *const kind_names[_ACCOUNT_SESSION_KIND_MAX] = {
        [ACCOUNT_SESSION_WEB] = "web",
        [ACCOUNT_SESSION_APP] = "app",
        [ACCOUNT_SESSION_HOST] = "host",
};

const char *account_session_kind_to_string(AccountSessionKind k) {
        return k >= 0 && k < _ACCOUNT_SESSION_KIND_MAX ? kind_names[k] : NULL;
}

void account_session_done(AccountSession *a) {
        free(a->application);
        free(a->client_id);
        free(a->service);
        free(a->tty);
        free(a->remote_host);
        *a = (AccountSession) {};
}

void account_session_array_free(AccountSession *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                account_session_done(&a[i]);
        free(a);
}

/* What the user's sessions are made of, read from the store at once. */
typedef struct Sessions {
        SsoSession *web;
        size_t n_web;
        RefreshFamily *app;
        size_t n_app;
        HostSessionRecord *host;
        size_t n_host;
        int64_t current_id;       /* the web session of the current sid; 0: none */
} Sessions;

static void sessions_done(Sessions *x) {
        free(x->web);
        refresh_family_array_free(x->app, x->n_app);
        host_session_record_array_free(x->host, x->n_host);
        *x = (Sessions) {};
}

static int sessions_read(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current_sid,
                         Sessions *ret, TesseraError *e) {
        _cleanup_(sessions_done) Sessions x = {};
        HostSessionFilter f = { .tenant_id = u->tenant_id, .user_id = u->id, .open_only = true,
                                .limit = ACCOUNT_SESSIONS_MAX };
        int64_t now = now_realtime_usec();
        int r;

        r = store_sso_session_list_user(s, u->tenant_id, u->id, now, ACCOUNT_SESSIONS_MAX, &x.web, &x.n_web);
        if (r >= 0)
                r = store_refresh_family_list_user(s, u->tenant_id, u->id, now, ACCOUNT_SESSIONS_MAX, &x.app,
                                                   &x.n_app);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the sessions.");
        /* The host sessions through the operation the D-Bus face lists them
         * with: one's own are allowed to everybody. */
        r = host_session_list(m, s, p, &f, &x.host, &x.n_host, e);
        if (r < 0)
                return r;
        for (size_t i = 0; current_sid && i < x.n_web; i++)
                if (streq(x.web[i].sid, current_sid))
                        x.current_id = x.web[i].id;
        *ret = x;
        x = (Sessions) {};
        return 0;
}

/* The web session's furthest expiry: the lifetime from the sign-in, or
 * the maximum the user may extend it to, whichever is later. */
static int64_t web_limit(const Config *cfg, const SsoSession *w) {
        unsigned max = MAX(cfg->oidc_session_max_lifetime, cfg->oidc_session_lifetime);
        return w->auth_time_usec + (int64_t) (max * USEC_PER_SEC);
}

static const SsoSession *web_by_id(const Sessions *x, int64_t id) {
        for (size_t i = 0; i < x->n_web; i++)
                if (x->web[i].id == id)
                        return &x->web[i];
        return NULL;
}

static int web_item(const Config *cfg, const SsoSession *w, int64_t current_id, AccountSession *ret) {
        *ret = (AccountSession) {
                .kind = ACCOUNT_SESSION_WEB,
                .current = current_id > 0 && w->id == current_id,
                .started_usec = w->auth_time_usec,
                .expires_usec = w->expires_usec,
                .limit_usec = web_limit(cfg, w),
        };
        snprintf(ret->id, sizeof(ret->id), PREFIX_WEB "%s", w->sid);
        snprintf(ret->amr, sizeof(ret->amr), "%s", w->amr);
        return 0;
}

static int app_item(const Sessions *x, const RefreshFamily *f, AccountSession *ret) {
        const SsoSession *parent = f->session_id > 0 ? web_by_id(x, f->session_id) : NULL;

        *ret = (AccountSession) {
                .kind = ACCOUNT_SESSION_APP,
                .current = x->current_id > 0 && f->session_id == x->current_id,
                .application = strdup(f->application),
                .client_id = strdup(f->client_id),
                .started_usec = f->started_usec,
                .last_used_usec = f->used_usec,
                .expires_usec = f->idle_expires_usec,
                .limit_usec = f->absolute_expires_usec,
        };
        snprintf(ret->id, sizeof(ret->id), PREFIX_APP "%s", f->family);
        if (parent)
                snprintf(ret->parent, sizeof(ret->parent), PREFIX_WEB "%s", parent->sid);
        snprintf(ret->amr, sizeof(ret->amr), "%s", f->amr);
        return ret->application && ret->client_id ? 0 : -ENOMEM;
}

static int host_item(const HostSessionRecord *h, AccountSession *ret) {
        *ret = (AccountSession) {
                .kind = ACCOUNT_SESSION_HOST,
                .service = h->service ? strdup(h->service) : NULL,
                .tty = h->tty ? strdup(h->tty) : NULL,
                .remote_host = h->remote_host ? strdup(h->remote_host) : NULL,
                .started_usec = h->opened_usec,
        };
        snprintf(ret->id, sizeof(ret->id), PREFIX_HOST "%" PRIi64, h->id);
        return (!h->service || ret->service) && (!h->tty || ret->tty) && (!h->remote_host || ret->remote_host)
                       ? 0
                       : -ENOMEM;
}

static int authorize(Store *s, const Principal *p, PolicyAction action, const UserRecord *u, char **ret_target,
                     TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, p, action, policy_target_user(u), u->tenant, target, e);
        if (r < 0)
                return r;
        *ret_target = TAKE_PTR(target);
        return 0;
}

int account_sessions_list(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *current_sid,
                          AccountSession **ret, size_t *ret_n, TesseraError *e) {
        _cleanup_(sessions_done) Sessions x = {};
        _cleanup_free_ char *target = NULL;
        AccountSession *list;
        size_t n = 0;
        int r;

        r = authorize(s, p, POLICY_ME_SESSION_LIST, u, &target, e);
        if (r < 0)
                return r;
        r = sessions_read(m, s, p, u, current_sid, &x, e);
        if (r < 0)
                return r;

        list = calloc(x.n_web + x.n_app + x.n_host + 1, sizeof(AccountSession));
        if (!list)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        for (size_t i = 0; r >= 0 && i < x.n_web; i++)
                r = web_item(m->config, &x.web[i], x.current_id, &list[n++]);
        for (size_t i = 0; r >= 0 && i < x.n_app; i++)
                r = app_item(&x, &x.app[i], &list[n++]);
        for (size_t i = 0; r >= 0 && i < x.n_host; i++)
                r = host_item(&x.host[i], &list[n++]);
        if (r < 0) {
                account_session_array_free(list, n);
                return tessera_error_set(e, r, "Out of memory.");
        }
        *ret = list;
        *ret_n = n;
        return 0;
}

/* Which of the user's sessions an id names: an index into x by kind, or
 * -ENOENT. Ids are compared only with the user's own live sessions, so
 * that another user's (or tenant's) id is not told apart from a made-up
 * one. */
static int find(const Sessions *x, const char *id, AccountSessionKind *ret_kind, size_t *ret_index) {
        char buf[ACCOUNT_SESSION_ID_MAX];

        if (!id || strlen(id) >= ACCOUNT_SESSION_ID_MAX)
                return -ENOENT;
        for (size_t i = 0; i < x->n_web; i++) {
                snprintf(buf, sizeof(buf), PREFIX_WEB "%s", x->web[i].sid);
                if (streq(buf, id)) {
                        *ret_kind = ACCOUNT_SESSION_WEB;
                        *ret_index = i;
                        return 0;
                }
        }
        for (size_t i = 0; i < x->n_app; i++) {
                snprintf(buf, sizeof(buf), PREFIX_APP "%s", x->app[i].family);
                if (streq(buf, id)) {
                        *ret_kind = ACCOUNT_SESSION_APP;
                        *ret_index = i;
                        return 0;
                }
        }
        for (size_t i = 0; i < x->n_host; i++) {
                snprintf(buf, sizeof(buf), PREFIX_HOST "%" PRIi64, x->host[i].id);
                if (streq(buf, id)) {
                        *ret_kind = ACCOUNT_SESSION_HOST;
                        *ret_index = i;
                        return 0;
                }
        }
        return -ENOENT;
}

/* One session ended, inside the caller's transaction. */
static int revoke_one(Store *s, const UserRecord *u, const Sessions *x, AccountSessionKind kind, size_t i,
                      int64_t now) {
        switch (kind) {
        case ACCOUNT_SESSION_WEB:
                return store_sso_session_revoke(s, u->tenant_id, x->web[i].id, now);
        case ACCOUNT_SESSION_APP:
                return store_refresh_revoke_family(s, x->app[i].family, now);
        case ACCOUNT_SESSION_HOST:
                return store_host_session_close(s, u->id, x->host[i].id, now);
        default:
                return -EINVAL;
        }
}

/* Host logins whose record was closed are announced as the login stack's
 * closing would be (events.h). */
static void host_closed(Manager *m, const UserRecord *u, int64_t id) {
        ChangeEvent ev = change_event_user(CHANGE_HOST_SESSION, u, CHANGE_DELETED);

        ev.id = id;
        manager_changed(m, ev);
}

int account_session_revoke(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *id,
                           TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(sessions_done) Sessions x = {};
        _cleanup_free_ char *target = NULL, *details = NULL;
        AccountSessionKind kind;
        size_t i;
        int r;

        r = authorize(s, p, POLICY_ME_SESSION_REVOKE, u, &target, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, e);
        if (r >= 0)
                r = sessions_read(m, s, p, u, NULL, &x, e);
        if (r >= 0 && find(&x, id, &kind, &i) < 0)
                r = tessera_error_set(e, -ENOENT, "You have no open session '%.100s'.", id);
        if (r >= 0) {
                r = revoke_one(s, u, &x, kind, i, now_realtime_usec());
                if (r < 0)
                        r = tessera_error_set(e, r, "Failed to end the session.");
        }
        if (r >= 0) {
                JsonText j;

                json_text_begin(&j);
                json_text_str(&j, "session", id);
                json_text_str(&j, "kind", account_session_kind_to_string(kind));
                details = json_text_end(&j);
                r = change_commit(&txn, p, "me.session-revoke", u->tenant, target, details, e);
        }
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, p, "me.session-revoke", u->tenant, target, e);
                return r;
        }
        if (kind == ACCOUNT_SESSION_HOST)
                host_closed(m, u, x.host[i].id);
        log_info("%s: ended session %s.", target, id);
        return 0;
}

int account_sessions_revoke_others(Manager *m, Store *s, const Principal *p, const UserRecord *u,
                                   const char *current_sid, unsigned *ret_n, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(sessions_done) Sessions x = {};
        _cleanup_free_ char *target = NULL, *details = NULL;
        int64_t now = now_realtime_usec();
        unsigned n = 0;
        int r;

        r = authorize(s, p, POLICY_ME_SESSION_REVOKE, u, &target, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, e);
        if (r >= 0)
                r = sessions_read(m, s, p, u, current_sid, &x, e);
        for (size_t i = 0; r >= 0 && i < x.n_web; i++)
                if (x.web[i].id != x.current_id) {
                        r = revoke_one(s, u, &x, ACCOUNT_SESSION_WEB, i, now);
                        n++;
                }
        for (size_t i = 0; r >= 0 && i < x.n_app; i++)
                /* An application signed in through the current session is
                 * part of it; one whose session is gone is not. */
                if (x.current_id == 0 || x.app[i].session_id != x.current_id) {
                        r = revoke_one(s, u, &x, ACCOUNT_SESSION_APP, i, now);
                        n++;
                }
        for (size_t i = 0; r >= 0 && i < x.n_host; i++) {
                r = revoke_one(s, u, &x, ACCOUNT_SESSION_HOST, i, now);
                n++;
        }
        if (r < 0 && e->code == 0)
                r = tessera_error_set(e, r, "Failed to end the sessions.");
        if (r >= 0) {
                JsonText j;

                json_text_begin(&j);
                json_text_int(&j, "revoked", n);
                json_text_bool(&j, "kept_current", x.current_id > 0);
                details = json_text_end(&j);
                r = change_commit(&txn, p, "me.session-revoke-others", u->tenant, target, details, e);
        }
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, p, "me.session-revoke-others", u->tenant, target, e);
                return r;
        }
        for (size_t i = 0; i < x.n_host; i++)
                host_closed(m, u, x.host[i].id);
        log_info("%s: ended %u other sessions.", target, n);
        if (ret_n)
                *ret_n = n;
        return 0;
}

int account_session_extend(Manager *m, Store *s, const Principal *p, const UserRecord *u, const char *id,
                           const char *current_sid, AccountSession *ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(sessions_done) Sessions x = {};
        _cleanup_free_ char *target = NULL, *details = NULL;
        const Config *cfg = m->config;
        int64_t now = now_realtime_usec(), to = 0;
        AccountSessionKind kind;
        AccountSession item = {};
        size_t i;
        int r;

        r = authorize(s, p, POLICY_ME_SESSION_EXTEND, u, &target, e);
        if (r < 0)
                return r;
        r = change_begin(s, &txn, e);
        if (r >= 0)
                r = sessions_read(m, s, p, u, current_sid, &x, e);
        if (r >= 0 && find(&x, id, &kind, &i) < 0)
                r = tessera_error_set(e, -ENOENT, "You have no open session '%.100s'.", id);
        if (r >= 0 && kind == ACCOUNT_SESSION_HOST)
                r = tessera_error_set(e, -EOPNOTSUPP, "A host login lasts as long as the login itself; it has no "
                                                      "expiry to extend.");
        if (r >= 0 && kind == ACCOUNT_SESSION_WEB) {
                SsoSession *w = &x.web[i];

                to = MIN(now + (int64_t) (cfg->oidc_session_lifetime * USEC_PER_SEC), web_limit(cfg, w));
                if (to <= w->expires_usec)
                        r = tessera_error_set(e, -ERANGE, "The session is at its limit: it may last %u seconds at "
                                                          "most from the sign-in.",
                                              MAX(cfg->oidc_session_max_lifetime, cfg->oidc_session_lifetime));
                else {
                        r = store_sso_session_set_expiry(s, u->tenant_id, w->id, to);
                        w->expires_usec = to;
                }
        } else if (r >= 0) {
                RefreshFamily *f = &x.app[i];

                to = MIN(now + (int64_t) (cfg->oidc_refresh_idle_lifetime * USEC_PER_SEC), f->absolute_expires_usec);
                if (to <= f->idle_expires_usec)
                        r = tessera_error_set(e, -ERANGE, "The session is at its limit: its refresh token may not "
                                                          "outlive its absolute lifetime.");
                else {
                        r = store_refresh_set_idle_expiry(s, u->tenant_id, f->current_id, to);
                        f->idle_expires_usec = to;
                }
        }
        if (r < 0 && e->code == 0)
                r = tessera_error_set(e, r, "Failed to extend the session.");
        if (r >= 0) {
                JsonText j;

                json_text_begin(&j);
                json_text_str(&j, "session", id);
                json_text_int(&j, "expires_usec", to);
                details = json_text_end(&j);
                r = change_commit(&txn, p, "me.session-extend", u->tenant, target, details, e);
        }
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, p, "me.session-extend", u->tenant, target, e);
                return r;
        }
        r = kind == ACCOUNT_SESSION_WEB ? web_item(cfg, &x.web[i], x.current_id, &item)
                                        : app_item(&x, &x.app[i], &item);
        if (r < 0) {
                account_session_done(&item);
                return tessera_error_set(e, r, "Out of memory.");
        }
        *ret = item;
        return 0;
}
