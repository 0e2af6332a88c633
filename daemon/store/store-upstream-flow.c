/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store-internal.h"
#include "store-upstream-flow.h"

#define COLUMNS                                                                                                 \
        "kind, tenant_id, provider, provider_id, binding, api, nonce, verifier, challenge, request, "          \
        "redirect_uri, user_id, subject, email, email_verified, name, username, issuer, tid, expires_usec"

static void bind_text_or_null(DbStmt *st, int idx, const char *s) {
        if (s)
                db_bind_text(st, idx, s);
        else
                db_bind_null(st, idx);
}

static int prune(Store *s, size_t max, int64_t now_usec) {
        static const char expired_sql[] = "DELETE FROM upstream_flows WHERE expires_usec <= ?1";
        static const char count_sql[] = "SELECT count(*) FROM upstream_flows";
        /* Oldest first: expires_usec is the start plus one fixed lifetime. */
        static const char oldest_sql[] =
                "DELETE FROM upstream_flows WHERE digest IN "
                "(SELECT digest FROM upstream_flows ORDER BY expires_usec LIMIT ?1)";
        _cleanup_(store_stmt_resetp) DbStmt *expired = NULL, *count = NULL, *oldest = NULL;
        int64_t n;
        int r, rc;

        r = store_stmt(s, expired_sql, &expired);
        if (r < 0)
                return r;
        db_bind_int64(expired, 1, now_usec);
        r = store_step_done(s, expired);
        if (r < 0)
                return r;

        r = store_stmt(s, count_sql, &count);
        if (r < 0)
                return r;
        rc = db_step(count);
        if (rc != 1)
                return rc < 0 ? rc : -EIO;
        n = db_column_int64(count, 0);
        if (n < (int64_t) max)
                return 0;

        r = store_stmt(s, oldest_sql, &oldest);
        if (r < 0)
                return r;
        db_bind_int64(oldest, 1, n - (int64_t) max + 1);
        return store_step_done(s, oldest);
}

int store_upstream_flow_put(Store *s, const uint8_t digest[TOKEN_DIGEST_SIZE], const UpstreamFlow *f, size_t max,
                            int64_t now_usec) {
        static const char sql[] = "INSERT INTO upstream_flows (digest, " COLUMNS ") VALUES "
                                  "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, "
                                  "?18, ?19, ?20, ?21)";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r;

        if (max == 0)
                return -EINVAL;
        r = prune(s, max, now_usec);
        if (r < 0)
                return r;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_blob(st, 1, digest, TOKEN_DIGEST_SIZE);
        db_bind_int64(st, 2, f->kind);
        db_bind_int64(st, 3, f->tenant_id);
        db_bind_text(st, 4, f->provider);
        db_bind_int64(st, 5, f->provider_id);
        db_bind_text(st, 6, f->binding);
        db_bind_int64(st, 7, f->api);
        db_bind_text(st, 8, f->nonce);
        db_bind_text(st, 9, f->verifier);
        db_bind_text(st, 10, f->challenge);
        bind_text_or_null(st, 11, f->request);
        bind_text_or_null(st, 12, f->redirect_uri);
        db_bind_int64(st, 13, f->user_id);
        bind_text_or_null(st, 14, f->identity.subject);
        bind_text_or_null(st, 15, f->identity.email);
        db_bind_int64(st, 16, f->identity.email_verified);
        bind_text_or_null(st, 17, f->identity.name);
        bind_text_or_null(st, 18, f->identity.username);
        bind_text_or_null(st, 19, f->identity.issuer);
        bind_text_or_null(st, 20, f->identity.tid);
        db_bind_int64(st, 21, f->expires_usec);
        return store_step_done(s, st);
}

static int copy_text(DbStmt *st, int col, char *buf, size_t size) {
        const char *t = db_column_text(st, col);

        if (!t || strlen(t) >= size)
                return -EBADMSG;
        strcpy(buf, t);
        return 0;
}

static int dup_text(DbStmt *st, int col, char **ret) {
        const char *t = db_column_text(st, col);

        if (db_column_is_null(st, col) || !t) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(t);
        return *ret ? 0 : -ENOMEM;
}

static int read_flow(DbStmt *st, UpstreamFlow *f) {
        int r = 0;

        f->kind = (UpstreamFlowKind) db_column_int64(st, 0);
        f->tenant_id = db_column_int64(st, 1);
        f->provider_id = db_column_int64(st, 3);
        f->api = db_column_int64(st, 5) != 0;
        f->user_id = db_column_int64(st, 11);
        f->identity.email_verified = db_column_int64(st, 14) != 0;
        f->expires_usec = db_column_int64(st, 19);
        if (r >= 0)
                r = copy_text(st, 2, f->provider, sizeof(f->provider));
        if (r >= 0)
                r = copy_text(st, 4, f->binding, sizeof(f->binding));
        if (r >= 0)
                r = copy_text(st, 6, f->nonce, sizeof(f->nonce));
        if (r >= 0)
                r = copy_text(st, 7, f->verifier, sizeof(f->verifier));
        if (r >= 0)
                r = copy_text(st, 8, f->challenge, sizeof(f->challenge));
        if (r >= 0)
                r = dup_text(st, 9, &f->request);
        if (r >= 0)
                r = dup_text(st, 10, &f->redirect_uri);
        if (r >= 0)
                r = dup_text(st, 12, &f->identity.subject);
        if (r >= 0)
                r = dup_text(st, 13, &f->identity.email);
        if (r >= 0)
                r = dup_text(st, 15, &f->identity.name);
        if (r >= 0)
                r = dup_text(st, 16, &f->identity.username);
        if (r >= 0)
                r = dup_text(st, 17, &f->identity.issuer);
        if (r >= 0)
                r = dup_text(st, 18, &f->identity.tid);
        return r;
}

int store_upstream_flow_take(Store *s, UpstreamFlowKind kind, const uint8_t digest[TOKEN_DIGEST_SIZE],
                             UpstreamFlow *ret) {
        static const char sql[] = "DELETE FROM upstream_flows WHERE digest = ?1 AND kind = ?2 RETURNING " COLUMNS;
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        UpstreamFlow f = {};
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_blob(st, 1, digest, TOKEN_DIGEST_SIZE);
        db_bind_int64(st, 2, kind);
        rc = db_step(st);
        if (rc == 0)
                return -ENOENT;
        if (rc != 1)
                return log_error_errno(rc, "Database error: %s", db_errmsg(s->db));
        r = read_flow(st, &f);
        if (r >= 0) {
                /* RETURNING gives its rows before the statement is done. */
                rc = db_step(st);
                if (rc != 0)
                        r = rc < 0 ? rc : -EIO;
        }
        if (r < 0) {
                upstream_flow_done(&f);
                return r == -EBADMSG ? log_error_errno(r, "A stored upstream sign-in flow is malformed.") : r;
        }
        *ret = f;
        return 0;
}

int store_upstream_flow_count(Store *s, size_t *ret) {
        static const char sql[] = "SELECT count(*) FROM upstream_flows";
        _cleanup_(store_stmt_resetp) DbStmt *st = NULL;
        int r, rc;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        rc = db_step(st);
        if (rc != 1)
                return rc < 0 ? rc : -EIO;
        *ret = (size_t) db_column_int64(st, 0);
        return 0;
}
