/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "host-session.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>

#include "escape.h"
#include "log.h"
#include "time-util.h"
#include "user.h"

/* The login stack (root) or the user's own process: POLICY_SESSION_*. */
static bool may_act_for(const Principal *a, PolicyAction action, const UserRecord *u) {
        PolicyTarget t = policy_target_user(u);
        return policy_check(a, action, &t) == 0;
}

static char *session_details(int64_t id, const HostSessionSpec *spec) {
        json_t *j = json_object();
        char *d;

        if (!j)
                return NULL;
        if (id > 0)
                json_object_set_new(j, "session", json_integer(id));
        if (spec) {
                if (!isempty(spec->kind))
                        json_object_set_new(j, "kind", json_string(spec->kind));
                if (!isempty(spec->service))
                        json_object_set_new(j, "service", json_string(spec->service));
                if (!isempty(spec->tty))
                        json_object_set_new(j, "tty", json_string(spec->tty));
                if (!isempty(spec->remote_user))
                        json_object_set_new(j, "remote_user", json_string(spec->remote_user));
                if (spec->pid > 0)
                        json_object_set_new(j, "pid", json_integer(spec->pid));
        }
        d = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return d;
}

/* Announces a session opened or closed (events.h); the name is the user's. */
static void host_session_changed(Manager *m, const UserRecord *u, int64_t id, ChangeOp op) {
        ChangeEvent e = change_event_user(CHANGE_HOST_SESSION, u, op);

        e.id = id;
        manager_changed(m, e);
}

static int open_txn(Store *s, const Principal *a, const UserRecord *u, const char *target, const HostSessionSpec *spec,
                    int64_t *ret_id, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *details = NULL;
        HostSessionRecord rec = {
                .user_id = u->id,
                .kind = (char *) spec->kind,
                .service = (char *) spec->service,
                .tty = (char *) spec->tty,
                .remote_host = (char *) spec->remote_host,
                .remote_user = (char *) spec->remote_user,
                .pid = spec->pid,
        };
        int64_t id;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_host_session_open(s, &rec, &id);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s' no longer exists.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to record the session of %s.", target);
        details = session_details(id, spec);
        r = change_commit(&txn, a, "session.open", u->tenant, target, details, e);
        if (r < 0)
                return r;
        *ret_id = id;
        return 0;
}

int host_session_open(Manager *m, Store *s, const Principal *a, const UserRecord *u, const HostSessionSpec *spec,
                      int64_t *ret_id, TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        int64_t id = 0;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        if (!may_act_for(a, POLICY_SESSION_OPEN, u))
                r = tessera_error_set(e, -EACCES, "Only root and %s may open a session of %s.", target, target);
        else if (!spec || isempty(spec->kind))
                r = tessera_error_set(e, -EINVAL, "A session needs a kind.");
        else
                r = open_txn(s, a, u, target, spec, &id, e);
        if (r < 0) {
                change_audit_failure(s, a, "session.open", u->tenant, target, e);
                return r;
        }
        host_session_changed(m, u, id, CHANGE_CREATED);
        log_debug("%s: session %" PRIi64 " opened (%s).", target, id, ESC(spec->service));
        if (ret_id)
                *ret_id = id;
        return 0;
}

static int close_txn(Store *s, const Principal *a, const UserRecord *u, const char *target, int64_t *idp,
                     const HostSessionSpec *spec, TesseraError *e) {
        int64_t id = *idp;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *details = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        if (id <= 0) {
                r = store_host_session_find_open(s, u->id, spec ? spec->service : NULL, spec ? spec->tty : NULL,
                                            spec ? spec->pid : 0, &id);
                if (r == -ENOENT)
                        return tessera_error_set(e, r, "No open session of %s from this service and terminal.", target);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to look up the session of %s.", target);
        }
        r = store_host_session_close(s, u->id, id, 0);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Session %" PRIi64 " of %s is not open.", id, target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to close the session of %s.", target);
        details = session_details(id, spec);
        *idp = id;
        return change_commit(&txn, a, "session.close", u->tenant, target, details, e);
}

int host_session_close(Manager *m, Store *s, const Principal *a, const UserRecord *u, int64_t id,
                       const HostSessionSpec *spec, TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        if (!may_act_for(a, POLICY_SESSION_CLOSE, u))
                r = tessera_error_set(e, -EACCES, "Only root and %s may close a session of %s.", target, target);
        else
                r = close_txn(s, a, u, target, &id, spec, e);
        if (r < 0) {
                change_audit_failure(s, a, "session.close", u->tenant, target, e);
                return r;
        }
        host_session_changed(m, u, id, CHANGE_DELETED);
        return 0;
}

int host_session_list(Manager *m, Store *s, const Principal *a, const HostSessionFilter *f, HostSessionRecord **ret,
                      size_t *ret_n, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *target = NULL;
        PolicyTarget t = POLICY_TARGET_NONE;
        int r;

        /* Anyone's for administrators; one's own for everybody else, so
         * their filter must name them. */
        if (f && f->user_id > 0 && store_user_get_by_id(s, f->user_id, &u) >= 0) {
                t = policy_target_user(u);
                target = user_qualified_name(u);
        } else if (f && f->tenant_id > 0)
                t = policy_target_tenant(f->tenant_id);
        r = change_authorize(s, a, POLICY_SESSION_LIST, t, u ? u->tenant : NULL, target, e);
        if (r < 0)
                return r;
        r = store_host_session_list(s, f, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the sessions.");
        return 0;
}

int host_session_close_all(Store *s, int64_t user_id, int64_t now_usec, int64_t **ret_ids, size_t *ret_n) {
        _cleanup_free_ int64_t *ended = NULL;
        size_t n = 0;
        int r;

        /* A page at a time: closed ones leave the list of open ones. */
        for (;;) {
                HostSessionFilter f = { .user_id = user_id, .open_only = true };
                HostSessionRecord *open = NULL;
                int64_t *grown;
                size_t n_open = 0;

                r = store_host_session_list(s, &f, &open, &n_open);
                if (r < 0)
                        return r;
                if (n_open == 0) {
                        host_session_record_array_free(open, n_open);
                        break;
                }
                grown = realloc(ended, (n + n_open) * sizeof(int64_t));
                if (!grown) {
                        host_session_record_array_free(open, n_open);
                        return -ENOMEM;
                }
                ended = grown;
                for (size_t i = 0; i < n_open; i++) {
                        r = store_host_session_close(s, user_id, open[i].id, now_usec);
                        if (r < 0) {
                                host_session_record_array_free(open, n_open);
                                return r;
                        }
                        ended[n++] = open[i].id;
                }
                host_session_record_array_free(open, n_open);
        }
        *ret_ids = TAKE_PTR(ended);
        *ret_n = n;
        return 0;
}

void host_sessions_ended(Manager *m, const UserRecord *u, const int64_t *ids, size_t n) {
        for (size_t i = 0; i < n; i++)
                host_session_changed(m, u, ids[i], CHANGE_DELETED);
}
