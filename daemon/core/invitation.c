/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "invitation.h"

#include <inttypes.h>
#include <stdlib.h>

#include "account-token.h"
#include "config.h"
#include "log.h"
#include "mail.h"
#include "names.h"
#include "password-job.h"
#include "password-policy.h"
#include "time-util.h"
#include "token.h"
#include "user.h"
#include "workers.h"

int invitation_id_format(int64_t id, char buf[static 32]) {
        snprintf(buf, 32, "inv_%" PRIi64, id);
        return 0;
}

int invitation_id_parse(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !strneq(s, "inv_", 4) || s[4] < '1' || s[4] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s + 4, &end, 10);
        if (errno != 0 || *end || v <= 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Who asked, for the invitation's record: a user's or key's name, or the
 * local caller's uid. */
static void inviter_of(const Principal *a, char buf[static 128]) {
        if (a->name)
                snprintf(buf, 128, "%s", a->name);
        else if (a->kind == PRINCIPAL_LOCAL)
                snprintf(buf, 128, "uid %" PRIi64, a->uid);
        else
                snprintf(buf, 128, "%s", principal_kind_to_string(a->kind) ?: "");
}

/* A new token for i (its digest set), and the mail with its link, queued
 * in the caller's transaction. */
static int mail_new_token(Manager *m, Store *s, const TenantRecord *t, Invitation *i, const char *base_url,
                          char **ret_token, TesseraError *e) {
        _cleanup_(erase_and_freep) char *token = NULL, *link = NULL;
        MailMessage msg;
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &token);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to make a token.");
        if (asprintf(&link, "%s/t/%s/accept-invitation?token=%s", strempty(base_url), t->slug, token) < 0) {
                link = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        token_digest(token, i->digest);
        msg = (MailMessage) {
                .template = MAIL_TEMPLATE_INVITATION,
                .tenant = t->slug,
                .tenant_name = t->display_name,
                .recipient = i->email,
                .link = link,
                .expires_sec = m->config->invitation_lifetime,
        };
        *ret_token = TAKE_PTR(token);
        return mail_queue(m, s, &msg, NULL, e);
}

static int create_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t, Invitation *i,
                      const char *base_url, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(erase_and_freep) char *token = NULL;
        _cleanup_free_ char *details = NULL;
        char id[32];
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_user_get_by_email(s, t->id, i->email, NULL);
        if (r >= 0)
                return tessera_error_set(e, -EEXIST, "%s is a member of tenant '%s' already.", i->email, t->slug);
        if (r != -ENOENT)
                return tessera_error_set(e, r, "Failed to look up %s.", i->email);
        r = mail_new_token(m, s, t, i, base_url, &token, e);
        if (r < 0)
                return r;
        r = store_invitation_add(s, i);
        if (r == -EEXIST)
                return tessera_error_set(e, r, "%s has a pending invitation to tenant '%s' already; resend it.",
                                         i->email, t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the invitation.");
        invitation_id_format(i->id, id);
        if (asprintf(&details, "{\"id\":\"%s\",\"role\":\"%s\"}", id, user_role_to_string(i->role)) < 0) {
                details = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        return change_commit(&txn, a, "invitation.create", t->slug, i->email, details, e);
}

int invitation_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *email,
                      UserRole role, const char *base_url, Invitation *ret, TesseraError *e) {
        PolicyTarget pt = policy_target_tenant(t->id);
        int64_t now = now_realtime_usec();
        Invitation i = {
                .tenant_id = t->id,
                .role = role,
                .created_usec = now,
                .sent_usec = now,
                .expires_usec = now + (int64_t) m->config->invitation_lifetime * USEC_PER_SEC,
        };
        const char *target = valid_email(email) ? email : t->slug;
        int r;

        r = change_authorize(s, a, POLICY_INVITATION_CREATE, pt, t->slug, target, e);
        if (r < 0)
                return r;
        if (!valid_email(email) || strlen(email) >= sizeof(i.email))
                r = tessera_error_set(e, -EINVAL, "'%.80s' is not a valid e-mail address.", strempty(email));
        else if (role < 0 || role >= _USER_ROLE_MAX)
                r = tessera_error_set(e, -EINVAL, "Unknown role; use member, admin or owner.");
        else if (role == USER_ROLE_OWNER && policy_check(a, POLICY_MEMBER_SET_ROLE, &pt) < 0)
                r = tessera_error_set(e, -EACCES, "Only the owners of tenant '%s' may invite an owner.", t->slug);
        else if (!mail_enabled(m))
                r = tessera_error_set(e, -EOPNOTSUPP, "Mail is not set up on this host: set [mail] relay (or, in "
                                                      "development, outbox_directory) in tesserad.conf.");
        else {
                snprintf(i.email, sizeof(i.email), "%s", email);
                inviter_of(a, i.invited_by);
                r = create_txn(m, s, a, t, &i, base_url, e);
        }
        if (r < 0) {
                change_audit_failure(s, a, "invitation.create", t->slug, target, e);
                return r;
        }
        log_info("Invited %s to tenant %s as %s.", i.email, t->slug, user_role_to_string(role));
        if (ret)
                *ret = i;
        return 0;
}

int invitation_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t after_id,
                    unsigned limit, Invitation **ret, size_t *ret_n, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_INVITATION_LIST, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = store_invitation_list_pending(s, t->id, after_id, limit, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the invitations of tenant '%s'.", t->slug);
        return 0;
}

static int pending(Store *s, const TenantRecord *t, int64_t id, Invitation *ret, TesseraError *e) {
        char name[32];
        int r;

        invitation_id_format(id, name);
        r = store_invitation_get(s, t->id, id, ret);
        if (r == -ENOENT || (r >= 0 && !invitation_pending(ret)))
                return tessera_error_set(e, -ENOENT, "Tenant '%s' has no pending invitation %s.", t->slug, name);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up invitation %s.", name);
        return 0;
}

static int resend_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t id,
                      const char *base_url, Invitation *ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(erase_and_freep) char *token = NULL;
        int64_t now = now_realtime_usec();
        Invitation i;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = pending(s, t, id, &i, e);
        if (r < 0)
                return r;
        r = mail_new_token(m, s, t, &i, base_url, &token, e);
        if (r < 0)
                return r;
        i.sent_usec = now;
        i.expires_usec = now + (int64_t) m->config->invitation_lifetime * USEC_PER_SEC;
        r = store_invitation_renew(s, t->id, id, i.digest, i.sent_usec, i.expires_usec);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the invitation.");
        r = change_commit(&txn, a, "invitation.resend", t->slug, i.email, NULL, e);
        if (r < 0)
                return r;
        *ret = i;
        return 0;
}

int invitation_resend(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t id,
                      const char *base_url, Invitation *ret, TesseraError *e) {
        Invitation i;
        int r;

        r = change_authorize(s, a, POLICY_INVITATION_RESEND, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        if (!mail_enabled(m))
                r = tessera_error_set(e, -EOPNOTSUPP, "Mail is not set up on this host.");
        else
                r = resend_txn(m, s, a, t, id, base_url, &i, e);
        if (r < 0) {
                change_audit_failure(s, a, "invitation.resend", t->slug, t->slug, e);
                return r;
        }
        if (ret)
                *ret = i;
        return 0;
}

static int revoke_txn(Store *s, const Principal *a, const TenantRecord *t, int64_t id, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        Invitation i;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = pending(s, t, id, &i, e);
        if (r < 0)
                return r;
        r = store_invitation_finish(s, t->id, id, 0, now_realtime_usec());
        if (r < 0)
                return tessera_error_set(e, r, "Failed to revoke the invitation.");
        return change_commit(&txn, a, "invitation.revoke", t->slug, i.email, NULL, e);
}

int invitation_revoke(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t id, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_INVITATION_REVOKE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = revoke_txn(s, a, t, id, e);
        if (r < 0) {
                change_audit_failure(s, a, "invitation.revoke", t->slug, t->slug, e);
                return r;
        }
        return 0;
}

/* The invitation of token in t, if it can be accepted: no I/O but the
 * store's read. */
static int lookup_token(Store *s, const TenantRecord *t, const char *token, Invitation *ret, TesseraError *e) {
        uint8_t digest[TOKEN_DIGEST_SIZE];
        Invitation i;
        int r;

        if (!token || !token_is_plausible(token))
                return tessera_error_set(e, -EKEYREJECTED, "The invitation is not valid; ask for a new one.");
        token_digest(token, digest);
        r = store_invitation_get_by_digest(s, t->id, digest, &i);
        if (r == -ENOENT || (r >= 0 && i.revoked_usec > 0))
                return tessera_error_set(e, -EKEYREJECTED, "The invitation is not valid; ask for a new one.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up the invitation.");
        if (i.accepted_usec > 0)
                return tessera_error_set(e, -EALREADY, "The invitation was accepted already: sign in.");
        if (i.expires_usec <= now_realtime_usec())
                return tessera_error_set(e, -ETIME, "The invitation has expired; ask for a new one.");
        *ret = i;
        return 0;
}

/* The first steps of every use of a token: the policy (unless the use
 * is bound to be refused anyway), the limit on wrong tokens, the token. A
 * refused token counts, and is audited. */
static int redeem(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *token,
                  bool authorize, Invitation *ret, TesseraError *e) {
        unsigned wait;
        int r;

        if (authorize) {
                r = change_authorize(s, a, POLICY_INVITATION_ACCEPT, policy_target_tenant(t->id), t->slug, t->slug,
                                     e);
                if (r < 0)
                        return r;
        }
        if (account_token_limit(m, a, &wait) < 0)
                return tessera_error_set(e, -ETOOMANYREFS, "Too many wrong links from this address; try again in "
                                                           "%u s.", wait);
        r = lookup_token(s, t, token, ret, e);
        if (r == -EKEYREJECTED || r == -EALREADY || r == -ETIME) {
                account_token_failed(m, a);
                change_audit_failure(s, a, "invitation.accept", t->slug, t->slug, e);
        }
        return r;
}

int invitation_check(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *token,
                     Invitation *ret, TesseraError *e) {
        return redeem(m, s, a, t, token, true, ret, e);
}

static int accept_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const Invitation *inv,
                      const InvitationAcceptSpec *spec, const char *hash, UserRecord **ret, const char **ret_field,
                      TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *created = NULL;
        _cleanup_(group_record_unrefp) GroupRecord *clash = NULL;
        _cleanup_free_ char *home = NULL, *target = NULL, *details = NULL;
        char id[32];
        int r;

        if (asprintf(&target, "%s@%s", spec->name, t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = config_format_home(m->config, spec->name, t->slug, &home);
        if (r < 0)
                return tessera_error_set(e, r, "The home_template of tesserad.conf gives no valid path for '%s'.",
                                         target);

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        if (store_user_get(s, t->id, spec->name, NULL) >= 0 || store_group_get(s, t->id, spec->name, &clash) >= 0) {
                *ret_field = "name";
                return tessera_error_set(e, -EEXIST, "The name '%s' is taken in tenant '%s'; choose another.",
                                         spec->name, t->slug);
        }
        if (store_user_get_by_email(s, t->id, inv->email, NULL) >= 0) {
                *ret_field = "email";
                return tessera_error_set(e, -EEXIST, "%s is a member of tenant '%s' already: sign in.", inv->email,
                                         t->slug);
        }
        r = store_user_create(s,
                              &(UserRecord) {
                                      .tenant_id = t->id,
                                      .tenant = t->slug,
                                      .name = (char *) spec->name,
                                      .real_name = (char *) spec->real_name,
                                      .email = (char *) inv->email,
                                      /* The mail with the token proved the address. */
                                      .email_verified = true,
                                      .home = home,
                                      .shell = m->config->default_shell,
                                      .password_hash = (char *) hash,
                                      .role = inv->role,
                              },
                              &created);
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "The ID slice of tenant '%s' is full.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create user '%s'.", target);
        /* Once only: a concurrent accept of the same token loses here. */
        r = store_invitation_finish(s, t->id, inv->id, created->id, now_realtime_usec());
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the invitation.");
        if (r == 0)
                return tessera_error_set(e, -EALREADY, "The invitation was accepted already: sign in.");
        invitation_id_format(inv->id, id);
        if (asprintf(&details, "{\"id\":\"%s\",\"role\":\"%s\"}", id, user_role_to_string(inv->role)) < 0) {
                details = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        r = change_commit(&txn, a, "invitation.accept", t->slug, target, details, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(created);
        return 0;
}

static int hash_password(Manager *m, const char *password, char **ret, TesseraError *e) {
        _cleanup_(password_job_freep) PasswordJob *job = password_job_new();
        int r;

        if (!job || !(job->new_password = strdup(password)))
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        job->prefix = m->config->hash_prefix;
        job->cost = m->config->hash_cost;
        r = worker_pool_run(m->workers, password_job_work, job);
        if (r >= 0 && (job->hash_result < 0 || !job->new_hash))
                r = job->hash_result < 0 ? job->hash_result : -EIO;
        if (r == -EBUSY)
                return tessera_error_set(e, r, "tesserad is busy; try again.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to hash the password.");
        *ret = TAKE_PTR(job->new_hash);
        return 0;
}

int invitation_accept(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                      const InvitationAcceptSpec *spec, UserRecord **ret_user, const char **ret_field,
                      TesseraError *e) {
        _cleanup_(erase_and_freep) char *hash = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        const char *field = NULL;
        PasswordPolicy policy;
        Invitation inv;
        int r;

        r = redeem(m, s, a, t, spec->token, true, &inv, e);
        if (r < 0)
                return r;
        if (!valid_user_name(spec->name)) {
                field = "name";
                r = tessera_error_set(e, -EINVAL,
                                      "'%.64s' is not a valid user name: begin with a lower-case letter or '_', then "
                                      "use lower-case letters, digits, '_' or '-', at most %d in all.",
                                      strempty(spec->name), NAME_MAX_LEN);
        } else if (spec->real_name && !valid_real_name(spec->real_name)) {
                field = "real_name";
                r = tessera_error_set(e, -EINVAL, "The real name must be at most %d bytes of UTF-8 without ':' or "
                                                  "control characters.", REAL_NAME_MAX_LEN);
        } else {
                password_policy_of_tenant(m->config, t, &policy);
                r = password_policy_check(&policy, spec->name, inv.email, spec->password, NULL, e);
                if (r < 0)
                        field = "password";
        }
        if (r >= 0)
                r = hash_password(m, spec->password, &hash, e);
        if (r >= 0)
                r = accept_txn(m, s, a, t, &inv, spec, hash, &u, &field, e);
        if (r < 0) {
                change_audit_failure(s, a, "invitation.accept", t->slug, inv.email, e);
                if (ret_field)
                        *ret_field = field;
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_CREATED));
        log_info("%s accepted the invitation to tenant %s as %s@%s (uid %u, %s).", inv.email, t->slug, u->name,
                 t->slug, u->uid, user_role_to_string(u->role));
        *ret_user = TAKE_PTR(u);
        return 0;
}

int invitation_accept_signed_in(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *token,
                                TesseraError *e) {
        Invitation inv;
        int r;

        /* Not asked of the policy, which would refuse another tenant's
         * user outright: the answer is a refusal either way, and this one
         * says why. */
        r = redeem(m, s, a, t, token, false, &inv, e);
        if (r < 0)
                return r;
        /* Nothing to link: a user is of one tenant. */
        if (principal_tenant_bound(a) && a->tenant_id == t->id)
                r = tessera_error_set(e, -EEXIST, "You are a member of tenant '%s' already; the invitation stays "
                                                  "for %s.", t->slug, inv.email);
        else
                r = tessera_error_set(e, -EXDEV, "Your account belongs to another tenant, and an account belongs "
                                                 "to one tenant only: sign out, then accept to create an account "
                                                 "in '%s'.", t->slug);
        change_audit_failure(s, a, "invitation.accept", t->slug, inv.email, e);
        return r;
}
