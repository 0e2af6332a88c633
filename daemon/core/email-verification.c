/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "email-verification.h"

#include <stdlib.h>
#include <strings.h>

#include "events.h"
#include "log.h"
#include "time-util.h"
#include "store-oidc.h"
#include "user.h"
#include "mail.h"

int email_verification_queue(Manager *m, Store *s, const TenantRecord *t, const UserRecord *u, const char *base_url,
                             TesseraError *e) {
        return account_token_issue(m, s, ACCOUNT_TOKEN_VERIFY_EMAIL, t, u, base_url, e);
}

int email_verification_request(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserRecord *u,
                               const char *base_url, unsigned *ret_wait, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_free_ char *target = user_qualified_name(u), *account = NULL;
        unsigned wait = 0;
        bool first = false;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, p, POLICY_EMAIL_VERIFY_REQUEST, policy_target_user(u), t->slug, target, e);
        if (r < 0)
                return r;
        if (isempty(u->email))
                r = tessera_error_set(e, -EINVAL, "%s has no e-mail address to verify.", target);
        else if (u->email_verified)
                r = tessera_error_set(e, -EALREADY, "The e-mail address of %s is verified already.", target);
        if (r < 0) {
                change_audit_failure(s, p, "email.verify-request", t->slug, target, e);
                return r;
        }
        /* Per user, so that nobody floods a mailbox through their account. */
        if (asprintf(&account, "%s", u->email) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = account_mail_limit(m, p, t, account, &wait, &first);
        if (r == -ETOOMANYREFS) {
                *ret_wait = wait;
                tessera_error_set(e, r, "Too many verification mails were asked for; try again in %u seconds.", wait);
                if (first)
                        change_audit_failure(s, p, "email.verify-request", t->slug, target, e);
                return r;
        }
        if (r < 0)
                return tessera_error_set(e, r, "Out of memory.");

        r = change_begin(s, &txn, e);
        if (r >= 0)
                r = account_token_issue(m, s, ACCOUNT_TOKEN_VERIFY_EMAIL, t, u, base_url, e);
        if (r >= 0)
                r = change_commit(&txn, p, "email.verify-request", t->slug, target, NULL, e);
        if (r < 0) {
                store_rollback(TAKE_PTR(txn));
                change_audit_failure(s, p, "email.verify-request", t->slug, target, e);
                return r;
        }
        /* Committed only now: wake the sender again, so that it finds it. */
        mail_wake(m);
        log_info("%s: verification mail queued.", target);
        return 0;
}

static int confirm_txn(Store *s, const Principal *p, const TenantRecord *t, const AccountToken *row,
                       const char *target, UserRecord **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int64_t now = now_realtime_usec();
        UserRecord changed;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_account_token_claim(s, t->id, ACCOUNT_TOKEN_VERIFY_EMAIL, row->digest, now);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to use the token.");
        if (r == 0)
                return tessera_error_set(e, -EKEYREJECTED, "The link is not valid or was used already; ask for a "
                                                           "new one.");
        /* Read again under the write lock: the address may have changed
         * since the token was looked at. */
        r = store_user_get_by_id(s, row->user_id, &u);
        if (r == -ENOENT || (r >= 0 && (!u->email || strcasecmp(u->email, row->email) != 0)))
                return tessera_error_set(e, -EKEYREJECTED, "The link is for an address the account no longer has.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up the account.");

        changed = *u;
        changed.email_verified = true;
        r = store_user_update(s, &changed);
        if (r >= 0)
                r = store_account_token_void_user(s, u->id, ACCOUNT_TOKEN_VERIFY_EMAIL, now);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to update %s.", target);
        r = change_commit(&txn, p, "auth.verify-email", t->slug, target, NULL, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(u);
        return 0;
}

int email_verification_confirm(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const char *token,
                               unsigned *ret_wait, UserRecord **ret, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL, *before = NULL, *stored = NULL;
        _cleanup_free_ char *target = NULL;
        AccountToken row;
        Principal holder;
        int r;

        r = account_token_redeem(m, s, p, t, POLICY_AUTH_VERIFY_EMAIL, ACCOUNT_TOKEN_VERIFY_EMAIL, token,
                                 "auth.verify-email", NULL, "The link is not valid any more.", &row, &u, ret_wait,
                                 e);
        if (r < 0)
                return r;

        target = user_qualified_name(u);
        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        holder = principal_user(p->channel, u, p->remote);
        r = confirm_txn(s, &holder, t, &row, target, &before, e);
        if (r < 0) {
                if (r == -EKEYREJECTED)
                        account_token_failed(m, p);
                change_audit_failure(s, &holder, "auth.verify-email", t->slug, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_USER, before, CHANGE_UPDATED));
        log_info("%s: e-mail address verified.", target);
        if (ret) {
                r = store_user_get_by_id(s, u->id, &stored);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to look up user '%s'.", target);
                *ret = TAKE_PTR(stored);
        }
        return 0;
}
