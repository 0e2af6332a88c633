/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-signin.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>

#include "log.h"
#include "names.h"
#include "signup.h"
#include "store-invitation.h"
#include "time-util.h"
#include "upstream-link.h"
#include "user.h"

/* --- the audit trail --------------------------------------------------- */

static char *details_json(const char *provider, const char *subject, const char *code, const char *reason,
                          const char *extra_key, const char *extra_value) {
        json_t *j = json_object();
        char *s;

        if (!j)
                return NULL;
        if (provider)
                json_object_set_new(j, "provider", json_string(provider));
        if (subject)
                json_object_set_new(j, "subject", json_string(subject));
        if (code)
                json_object_set_new(j, "error", json_string(code));
        if (reason)
                json_object_set_new(j, "reason", json_string(reason));
        if (extra_key && extra_value)
                json_object_set_new(j, extra_key, json_string(extra_value));
        s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(j);
        return s;
}

/* Who came back, for an event's target: the address when there is one,
 * else subject@provider. */
static char *identity_target(const UpstreamProvider *p, const UpstreamIdentity *id) {
        char *s = NULL;

        if (id && !isempty(id->email))
                return strdup(id->email);
        if (asprintf(&s, "%s@%s", id && id->subject ? id->subject : "?", p ? p->name : "?") < 0)
                return NULL;
        return s;
}

void upstream_signin_audit_failure(Store *s, const Principal *a, const TenantRecord *t, const char *provider,
                                   int error, const char *code, const char *reason) {
        _cleanup_free_ char *details = NULL;
        AuditResult result;

        /* The provider's fault or the browser's: a failure, not a denial of
         * somebody known. */
        result = error == -EIO || error == -ENOMEM ? AUDIT_ERROR : AUDIT_FAILURE;
        details = details_json(provider, NULL, code, reason, NULL, NULL);
        if (change_audit(s, a, "auth.federated", t ? t->slug : NULL, provider, result, details) < 0)
                log_warning("Failed to record a refused federated sign-in at %s (%s).", t ? t->slug : "?",
                            strempty(reason));
}

static int refuse(Store *s, const Principal *a, const TenantRecord *t, const UpstreamProvider *p,
                  const UpstreamIdentity *id, UpstreamRefusal *refusal, TesseraError *e, const char *code,
                  const char *message) {
        _cleanup_free_ char *details = NULL, *target = NULL;

        refusal->code = code;
        tessera_error_set(e, -EACCES, "%s", message);
        details = details_json(p->name, id->subject, code, message, NULL, NULL);
        target = identity_target(p, id);
        if (change_audit(s, a, "auth.federated", t->slug, target, AUDIT_DENIED, details) < 0)
                log_warning("Failed to record a refused federated sign-in at %s.", t->slug);
        return -EACCES;
}

/* --- making accounts and links ----------------------------------------- */

/* The base of a new account's name: the upstream user name (GitHub's
 * login, preferred_username), else the address's local part, made a
 * valid name ("Octo.Cat" gives "octo_cat"). */
static void name_base(const UpstreamIdentity *id, char buf[static NAME_MAX_LEN + 1]) {
        const char *from = !isempty(id->username) ? id->username : !isempty(id->email) ? id->email : "user";

        signup_user_name_from_email(from, buf, NAME_MAX_LEN + 1);
        /* The sign-up's fallback names an owner; these are no owners. */
        if (streq(buf, "owner") && !streq(from, "owner"))
                snprintf(buf, NAME_MAX_LEN + 1, "user");
}

static char *link_details(const UpstreamProvider *p, const UpstreamIdentity *id, const char *how) {
        return details_json(p->name, id->subject, NULL, NULL, "how", how);
}

/* A new account for id, its link, and the invitation it accepts (inv, may
 * be NULL), in one transaction. */
static int create_account(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const UpstreamProvider *p,
                          const UpstreamIdentity *id, const Invitation *inv, UserRecord **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *created = NULL;
        _cleanup_(upstream_link_done) UpstreamLink existing = {};
        _cleanup_free_ char *home = NULL, *target = NULL, *details = NULL;
        char base[NAME_MAX_LEN + 1], name[NAME_MAX_LEN + 1];
        UserRole role = inv ? inv->role : p->role;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        /* In the transaction: two callbacks of one person can't both make
         * an account. */
        r = upstream_link_find(s, p->id, id->subject, &existing);
        if (r >= 0)
                return tessera_error_set(e, -EEXIST, "This %s account was linked meanwhile; sign in again.",
                                         p->display_name);
        if (r != -ENOENT)
                return change_storage_failure(e, r, "Failed to read the store");
        name_base(id, base);
        r = signup_free_name(s, t->id, base, name);
        if (r == -EEXIST)
                return tessera_error_set(e, -EEXIST, "No free user name is left for '%s'.", base);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to read the store");
        if (asprintf(&target, "%s@%s", name, t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = config_format_home(m->config, name, t->slug, &home);
        if (r < 0)
                return tessera_error_set(e, r, "The home_template of tesserad.conf gives no valid path for '%s'.",
                                         target);
        /* No password: the provider's sign-in is the way in, and the
         * host's (PAM) once the user sets one. */
        r = store_user_create(s,
                              &(UserRecord) {
                                      .tenant_id = t->id,
                                      .tenant = t->slug,
                                      .name = name,
                                      .real_name = id->name,
                                      .email = id->email,
                                      .email_verified = id->email && id->email_verified,
                                      .home = home,
                                      .shell = m->config->default_shell,
                                      .role = role,
                              },
                              &created);
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "The ID slice of tenant '%s' is full.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create the user %s.", target);
        r = upstream_link_add(s, t->id, created->id, p->id, id->subject, id->email, id->username,
                              (uint64_t) now_realtime_usec(), NULL);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to link the new account %s.", target);
        if (inv) {
                r = store_invitation_finish(s, t->id, inv->id, created->id, now_realtime_usec());
                if (r == 0)
                        return tessera_error_set(e, -EEXIST, "The invitation was used meanwhile; sign in again.");
                if (r < 0)
                        return change_storage_failure(e, r, "Failed to accept the invitation");
        }

        details = details_json(p->name, id->subject, NULL, NULL, "role", user_role_to_string(role));
        r = change_commit(&txn, a, inv ? "invitation.accept" : "account.signup-federated", t->slug, target,
                          details, e);
        if (r < 0)
                return r;
        manager_changed(m, change_event_user(CHANGE_USER, created, CHANGE_CREATED));
        log_info("Made the account %s (uid %u) for %s's %s.", target, created->uid, p->name, id->subject);
        *ret = TAKE_PTR(created);
        return 0;
}

static int link_account(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const UpstreamProvider *p,
                        const UpstreamIdentity *id, int64_t user_id, const char *how, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *details = NULL, *target = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_user_get_by_id(s, user_id, &u);
        if (r == -ENOENT || (r >= 0 && u->tenant_id != t->id))
                return tessera_error_set(e, -ENOENT, "The account is gone.");
        if (r < 0)
                return change_storage_failure(e, r, "Failed to read the store");
        r = upstream_link_add(s, t->id, user_id, p->id, id->subject, id->email, id->username,
                              (uint64_t) now_realtime_usec(), NULL);
        if (r == -EEXIST)
                return tessera_error_set(e, -EEXIST, "This %s account is linked to an account already.",
                                         p->display_name);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to store the link");
        target = user_qualified_name(u);
        details = link_details(p, id, how);
        if (!target || !details)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_commit(&txn, a, "user.link", t->slug, target, details, e);
        if (r < 0)
                return r;
        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_UPDATED));
        log_info("Linked %s's %s to %s (%s).", p->name, id->subject, target, how);
        return 0;
}

static int touch_link(Store *s, const UpstreamLink *l, const UpstreamIdentity *id) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = store_begin(s);
        if (r < 0)
                return r;
        txn = s;
        r = upstream_link_touch(s, l->id, id->email, id->username, (uint64_t) now_realtime_usec());
        if (r < 0)
                return r;
        return store_commit(TAKE_PTR(txn));
}

/* --- the decision ------------------------------------------------------ */

static int decide(Manager *m, Store *s, const Principal *a, const UpstreamProvider *p, int64_t user_id,
                  AuthResult *ret) {
        AuthContext ctx = { .action = "auth.federated", .service = "web", .provider = p->name };

        return auth_federated_step(m, s, a, &ctx, user_id, ret);
}

/* The provider's domains, when it has any: a verified address of one. */
static bool domain_allowed(const UpstreamProvider *p, const UpstreamIdentity *id) {
        if (!p->allowed_domains || !p->allowed_domains[0])
                return true;
        return !isempty(id->email) && id->email_verified && upstream_provider_allows_email(p, id->email);
}

int upstream_signin_resolve(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                            const UpstreamProvider *p, const UpstreamIdentity *id, UpstreamSignin *ret,
                            UpstreamRefusal *refusal, TesseraError *e) {
        _cleanup_(upstream_link_done) UpstreamLink link = {};
        _cleanup_(user_record_unrefp) UserRecord *holder = NULL, *created = NULL;
        UpstreamSignin res = {};
        Invitation inv = {};
        bool have_invitation = false;
        int r;

        assert(p->tenant_id == t->id);
        if (!id || isempty(id->subject))
                return refuse(s, a, t, p, id, refusal, e, "no_subject", "The provider named nobody.");

        if (!domain_allowed(p, id))
                return refuse(s, a, t, p, id, refusal, e, "domain_not_allowed",
                              "This organization lets in only verified addresses of its own domains through this "
                              "provider.");

        /* 1. Linked already. */
        r = upstream_link_find(s, p->id, id->subject, &link);
        if (r >= 0) {
                r = touch_link(s, &link, id);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to record the sign-in.");
                res.user_id = link.user_id;
                r = decide(m, s, a, p, res.user_id, &res.result);
                if (r < 0)
                        return tessera_error_set(e, r, "The sign-in came to no decision.");
                *ret = res;
                return 0;
        }
        if (r != -ENOENT)
                return tessera_error_set(e, r, "Failed to read the store.");

        /* 2. An account holds the address. */
        if (!isempty(id->email)) {
                r = store_user_get_by_email(s, t->id, id->email, &holder);
                if (r < 0 && r != -ENOENT)
                        return tessera_error_set(e, r, "Failed to read the store.");
        }
        if (holder) {
                if (!(id->email_verified && p->link_by_email)) {
                        /* An address the provider does not vouch for, or a
                         * tenant that does not link by address: the account
                         * is the person's only once they prove it. */
                        _cleanup_free_ char *details = NULL, *target = user_qualified_name(holder);

                        details = details_json(p->name, id->subject, "link_proof_required",
                                               id->email_verified ? "the provider does not link by e-mail"
                                                                  : "the address is not verified upstream",
                                               NULL, NULL);
                        if (change_audit(s, a, "auth.federated", t->slug, target, AUDIT_FAILURE, details) < 0)
                                log_warning("Failed to record a federated sign-in at %s.", t->slug);
                        *ret = (UpstreamSignin) { .step = UPSTREAM_SIGNIN_PROVE, .user_id = holder->id };
                        return 0;
                }
                r = link_account(m, s, a, t, p, id, holder->id, "verified e-mail", e);
                if (r < 0)
                        return r;
                res.user_id = holder->id;
                res.linked = true;
                r = decide(m, s, a, p, res.user_id, &res.result);
                if (r < 0)
                        return tessera_error_set(e, r, "The sign-in came to no decision.");
                *ret = res;
                return 0;
        }

        /* 3. Nobody yet. An invitation counts for a verified address only:
         * the mail proved the address to us, the provider to itself. */
        if (!isempty(id->email) && id->email_verified) {
                r = store_invitation_get_pending_email(s, t->id, id->email, &inv);
                if (r >= 0)
                        have_invitation = inv.expires_usec > now_realtime_usec();
                else if (r != -ENOENT)
                        return tessera_error_set(e, r, "Failed to read the store.");
        }
        switch (p->signup) {
        case UPSTREAM_SIGNUP_JIT:
                break;
        case UPSTREAM_SIGNUP_INVITATION:
                if (!have_invitation)
                        return refuse(s, a, t, p, id, refusal, e, "invitation_required",
                                      !isempty(id->email) && !id->email_verified
                                              ? "Your address is not verified by the provider, and this organization "
                                                "lets in invited addresses only."
                                              : "This organization lets in invited people only, and there is no "
                                                "invitation for your address.");
                break;
        default:
                return refuse(s, a, t, p, id, refusal, e, "no_account",
                              "There is no account for you here yet: ask an administrator, or sign in with your "
                              "password and link the provider from your account.");
        }

        r = create_account(m, s, a, t, p, id, have_invitation ? &inv : NULL, &created, e);
        if (r < 0) {
                _cleanup_free_ char *target = identity_target(p, id);
                change_audit_failure(s, a, "auth.federated", t->slug, target, e);
                return r;
        }
        res.user_id = created->id;
        res.created = res.linked = true;
        r = decide(m, s, a, p, res.user_id, &res.result);
        if (r < 0)
                return tessera_error_set(e, r, "The sign-in came to no decision.");
        *ret = res;
        return 0;
}

int upstream_signin_link_proven(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                                const UpstreamProvider *p, const UpstreamIdentity *id, int64_t user_id,
                                TesseraError *e) {
        int r;

        r = link_account(m, s, a, t, p, id, user_id, "account proven", e);
        if (r < 0) {
                _cleanup_free_ char *target = identity_target(p, id);
                change_audit_failure(s, a, "user.link", t->slug, target, e);
        }
        return r;
}
