/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "account-token.h"

#include <ctype.h>
#include <stdlib.h>

#include "limiter.h"
#include "mail.h"
#include "store-oidc.h"
#include "time-util.h"
#include "token.h"

static MailTemplateId purpose_template(AccountTokenPurpose p) {
        return p == ACCOUNT_TOKEN_VERIFY_EMAIL ? MAIL_TEMPLATE_VERIFY_EMAIL : MAIL_TEMPLATE_RESET_PASSWORD;
}

static unsigned purpose_lifetime(const Manager *m, AccountTokenPurpose p) {
        return p == ACCOUNT_TOKEN_VERIFY_EMAIL ? m->config->verify_token_lifetime : m->config->reset_token_lifetime;
}

int account_token_issue(Manager *m, Store *s, AccountTokenPurpose purpose, const TenantRecord *t,
                        const UserRecord *u, const char *base_url, TesseraError *e) {
        _cleanup_(erase_and_freep) char *token = NULL, *link = NULL;
        const char *page = account_token_purpose_to_string(purpose);
        AccountToken row = { .purpose = purpose, .tenant_id = t->id, .user_id = u->id };
        int64_t now = now_realtime_usec();
        MailMessage msg;
        int r;

        if (!page || u->tenant_id != t->id)
                return tessera_error_set(e, -EINVAL, "A token for another tenant's user.");
        if (isempty(u->email) || strlen(u->email) >= sizeof(row.email))
                return tessera_error_set(e, -EINVAL, "%s@%s has no e-mail address.", u->name, t->slug);
        if (!mail_enabled(m))
                return tessera_error_set(e, -EOPNOTSUPP, "Mail is not set up on this host: set [mail] relay (or, "
                                                         "in development, outbox_directory) in tesserad.conf.");

        r = token_random(TOKEN_RANDOM_BYTES, &token);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to make a token.");
        if (asprintf(&link, "%s/t/%s/%s?token=%s", strempty(base_url), t->slug, page, token) < 0) {
                link = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }

        token_digest(token, row.digest);
        snprintf(row.email, sizeof(row.email), "%s", u->email);
        row.created_usec = now;
        row.expires_usec = now + (int64_t) purpose_lifetime(m, purpose) * 1000000;
        r = store_account_token_add(s, &row);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the token.");

        msg = (MailMessage) {
                .template = purpose_template(purpose),
                .tenant = t->slug,
                .tenant_name = t->display_name,
                .recipient = u->email,
                .user = isempty(u->real_name) ? u->name : u->real_name,
                .link = link,
                .expires_sec = purpose_lifetime(m, purpose),
        };
        return mail_queue(m, s, &msg, NULL, e);
}

int account_token_check(Store *s, const TenantRecord *t, AccountTokenPurpose purpose, const char *token,
                        AccountToken *ret, TesseraError *e) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        AccountToken row;
        int r;

        /* One answer for every token that can't be used, whoever's it is:
         * nothing tells a guess from another tenant's token. */
        if (!token_is_plausible(token))
                return tessera_error_set(e, -EKEYREJECTED, "The link is not valid; ask for a new one.");
        token_digest(token, digest);
        r = store_account_token_get(s, t->id, purpose, digest, &row);
        if (r == -ENOENT || (r >= 0 && row.used_usec > 0))
                return tessera_error_set(e, -EKEYREJECTED, "The link is not valid or was used already; ask for a "
                                                           "new one.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up the token.");
        if (row.expires_usec <= now_realtime_usec())
                return tessera_error_set(e, -ETIME, "The link has expired; ask for a new one.");
        *ret = row;
        return 0;
}

int account_mail_limit(Manager *m, const Principal *p, const TenantRecord *t, const char *account,
                       unsigned *ret_wait, bool *ret_first) {
        _cleanup_free_ char *key = NULL;
        uint64_t now = now_monotonic_usec();
        bool first = false;
        unsigned wait;

        /* The account by tenant and the address as typed, in lower case:
         * the same key whether or not there is such an account. */
        if (account) {
                if (asprintf(&key, "%s/%s", t->slug, account) < 0)
                        return -ENOMEM;
                for (char *c = key; *c; c++)
                        *c = (char) tolower((unsigned char) *c);
        }
        wait = limiter_check(m->mail_limiter, LIMIT_ADDRESS, p->remote, now, &first);
        if (wait == 0 && key)
                wait = limiter_check(m->mail_limiter, LIMIT_ACCOUNT, key, now, &first);
        if (wait > 0) {
                *ret_wait = wait;
                if (ret_first)
                        *ret_first = first;
                return -ETOOMANYREFS;
        }
        limiter_fail(m->mail_limiter, LIMIT_ADDRESS, p->remote, now);
        if (key)
                limiter_fail(m->mail_limiter, LIMIT_ACCOUNT, key, now);
        return 0;
}

int account_token_limit(Manager *m, const Principal *p, unsigned *ret_wait) {
        unsigned wait = limiter_check(m->limiter, LIMIT_ADDRESS, p->remote, now_monotonic_usec(), NULL);

        if (wait == 0)
                return 0;
        *ret_wait = wait;
        return -ETOOMANYREFS;
}

void account_token_failed(Manager *m, const Principal *p) {
        limiter_fail(m->limiter, LIMIT_ADDRESS, p->remote, now_monotonic_usec());
}

int account_token_redeem(Manager *m, Store *s, const Principal *p, const TenantRecord *t, PolicyAction action,
                         AccountTokenPurpose purpose, const char *token, const char *audit_action,
                         bool (*stale)(const UserRecord *u, const AccountToken *row), const char *stale_message,
                         AccountToken *ret_row, UserRecord **ret_user, unsigned *ret_wait, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        PolicyTarget pt = policy_target_tenant(t->id);
        AccountToken row;
        unsigned wait = 0;
        int r;

        r = policy_check(p, action, &pt);
        if (r < 0)
                return tessera_error_set(e, -EACCES, "Not allowed.");
        /* Before any lookup: wrong tokens count as failed sign-ins. */
        r = account_token_limit(m, p, &wait);
        if (r < 0) {
                *ret_wait = wait;
                return tessera_error_set(e, r, "Too many failed attempts; try again in %u seconds.", wait);
        }

        r = account_token_check(s, t, purpose, token, &row, e);
        if (r >= 0) {
                r = store_user_get_by_id(s, row.user_id, &u);
                if (r == -ENOENT || (r >= 0 && (u->tenant_id != t->id || (stale && stale(u, &row)))))
                        r = tessera_error_set(e, -EKEYREJECTED, "%s", stale_message);
                else if (r < 0)
                        r = tessera_error_set(e, r, "Failed to look up the account.");
        }
        if (r == -EKEYREJECTED || r == -ETIME) {
                account_token_failed(m, p);
                change_audit_failure(s, p, audit_action, t->slug, NULL, e);
                return r;
        }
        if (r < 0)
                return r;
        *ret_row = row;
        *ret_user = TAKE_PTR(u);
        return 0;
}
