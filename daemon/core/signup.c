/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "signup.h"

#include <stdio.h>
#include <stdlib.h>

#include "email-verification.h"
#include "limiter.h"
#include "log.h"
#include "mail.h"
#include "names.h"
#include "password-job.h"
#include "password-policy.h"
#include "store-account.h"
#include "tenant-settings.h"
#include "time-util.h"

bool signup_slug_from_name(const char *name, char *buf, size_t size) {
        size_t n = 0, max = MIN(size - 1, (size_t) TENANT_SLUG_MAX_LEN);
        bool dash = false;

        for (const char *p = name; p && *p && n < max; p++) {
                char c = *p;

                if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                        if (dash && n > 0 && n + 1 < max)
                                buf[n++] = '-';
                        dash = false;
                        buf[n++] = c;
                } else
                        dash = true;
        }
        buf[n] = '\0';
        return n > 0 && valid_tenant_slug(buf);
}

void signup_user_name_from_email(const char *email, char *buf, size_t size) {
        size_t n = 0, max = MIN(size - 1, (size_t) NAME_MAX_LEN);

        for (const char *p = email; p && *p && *p != '@' && n < max; p++) {
                char c = *p;

                if (c >= 'A' && c <= 'Z')
                        c = (char) (c - 'A' + 'a');
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        c = '_';
                /* A name begins with a letter or '_'. */
                if (n == 0 && !((c >= 'a' && c <= 'z') || c == '_')) {
                        if (n + 1 >= max)
                                break;
                        buf[n++] = '_';
                }
                buf[n++] = c;
        }
        buf[n] = '\0';
        if (!valid_user_name(buf))
                snprintf(buf, size, "owner");
}

static int refuse(SignupRefusal *f, const char *field, TesseraError *e, int code, const char *message) {
        f->field = field;
        return tessera_error_set(e, code, "%s", message);
}

/* What is wrong with the request on its face, before anything is read. */
static int validate(Manager *m, const SignupSpec *spec, char slug[static TENANT_SLUG_MAX_LEN + 1],
                    char user[static NAME_MAX_LEN + 1], SignupRefusal *f, TesseraError *e) {
        if (!m->config->open_signup)
                return refuse(f, NULL, e, -EACCES,
                              "Sign-up is closed on this server: ask its administrator for an account.");
        if (isempty(spec->email) || !valid_email(spec->email))
                return refuse(f, "email", e, -EINVAL, "email must be a valid e-mail address.");
        if (isempty(spec->real_name) || !valid_display_text(spec->real_name, REAL_NAME_MAX_LEN))
                return refuse(f, "name", e, -EINVAL, "name must be one line of text, at most 256 bytes.");
        if (isempty(spec->organization_name) ||
            !valid_display_text(spec->organization_name, DISPLAY_NAME_MAX_LEN))
                return refuse(f, "organization_name", e, -EINVAL,
                              "organization_name must be one line of text, at most 256 bytes.");
        if (spec->organization_slug) {
                if (!valid_tenant_slug(spec->organization_slug))
                        return refuse(f, "organization_slug", e, -EINVAL,
                                      "organization_slug takes 1-32 lower-case letters, digits and '-' (not at "
                                      "either end).");
                snprintf(slug, TENANT_SLUG_MAX_LEN + 1, "%s", spec->organization_slug);
        } else if (!signup_slug_from_name(spec->organization_name, slug, TENANT_SLUG_MAX_LEN + 1))
                return refuse(f, "organization_name", e, -EINVAL,
                              "No tenant name can be made of organization_name: give organization_slug.");
        if (spec->user_name) {
                if (!valid_user_name(spec->user_name))
                        return refuse(f, "user_name", e, -EINVAL,
                                      "user_name must begin with a lower-case letter or '_', then lower-case "
                                      "letters, digits, '_' or '-', at most 32 in all.");
                snprintf(user, NAME_MAX_LEN + 1, "%s", spec->user_name);
        } else
                signup_user_name_from_email(spec->email, user, NAME_MAX_LEN + 1);
        if (isempty(spec->password))
                return refuse(f, "password", e, -EINVAL, "password is required.");
        return 0;
}

static int create_txn(Manager *m, Store *s, const Principal *a, const SignupSpec *spec, const char *slug,
                      const char *name, const char *hash, TenantRecord **ret_tenant, UserRecord **ret_user,
                      SignupRefusal *f, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *created = NULL;
        _cleanup_free_ char *home = NULL, *target = NULL;
        IdRange range;
        int r;

        if (asprintf(&target, "%s@%s", name, slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = config_format_home(m->config, name, slug, &home);
        if (r < 0)
                return tessera_error_set(e, r, "The home_template of tesserad.conf gives no valid path for '%s'.",
                                         target);

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        /* Read in the transaction, so that two sign-ups with one address
         * can't both pass. */
        r = store_owner_email_exists(s, spec->email);
        if (r > 0)
                return refuse(f, "email", e, -EEXIST, "An account with this e-mail address exists already.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the store.");

        manager_id_range(m, &range);
        r = store_tenant_create(s, slug, spec->organization_name, &range, &t);
        if (r == -EEXIST)
                return refuse(f, spec->organization_slug ? "organization_slug" : "organization_name", e, -EEXIST,
                              "This organization's name is taken: choose another organization_slug.");
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "No free ID slice is left for a new tenant.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create the tenant.");

        r = store_user_create(s,
                              &(UserRecord) {
                                      .tenant_id = t->id,
                                      .tenant = t->slug,
                                      .name = (char *) name,
                                      .real_name = (char *) spec->real_name,
                                      .email = (char *) spec->email,
                                      .home = home,
                                      .shell = m->config->default_shell,
                                      .password_hash = (char *) hash,
                                      .role = USER_ROLE_OWNER,
                              },
                              &created);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create the owner %s.", target);

        /* The address is proved by the mail, which commits with the account
         * or not at all. */
        if (spec->verify_base_url && mail_enabled(m)) {
                r = email_verification_queue(m, s, t, created, spec->verify_base_url, e);
                if (r < 0)
                        return r;
        }

        r = change_commit(&txn, a, "account.signup", slug, target, "{\"role\":\"owner\"}", e);
        if (r < 0)
                return r;
        *ret_tenant = TAKE_PTR(t);
        *ret_user = TAKE_PTR(created);
        return 0;
}

/* The password's hash, on the worker pool (under its cap on hashes at
 * once), for the caller's thread to wait on. */
static int hash_password(Manager *m, const char *password, PasswordJob **ret, TesseraError *e) {
        _cleanup_(password_job_freep) PasswordJob *job = password_job_new();
        int r;

        if (!job)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        job->new_password = strdup(password);
        job->prefix = m->config->hash_prefix;
        job->cost = m->config->hash_cost;
        if (!job->new_password)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = worker_pool_run(m->workers, password_job_work, job);
        if (r >= 0 && (job->hash_result < 0 || !job->new_hash))
                r = job->hash_result < 0 ? job->hash_result : -EIO;
        if (r == -EBUSY)
                return tessera_error_set(e, r, "tesserad is busy; try again.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to hash the password.");
        *ret = TAKE_PTR(job);
        return 0;
}

int signup_run(Manager *m, Store *s, const Principal *a, const SignupSpec *spec, TenantRecord **ret_tenant,
               UserRecord **ret_user, SignupRefusal *ret_refusal, TesseraError *e) {
        _cleanup_(password_job_freep) PasswordJob *job = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        char slug[TENANT_SLUG_MAX_LEN + 1] = "", name[NAME_MAX_LEN + 1] = "";
        SignupRefusal f = {};
        int r;

        r = change_authorize(s, a, POLICY_SIGNUP, POLICY_TARGET_NONE, NULL, spec->email, e);
        if (r < 0)
                return r;
        r = validate(m, spec, slug, name, &f, e);
        if (r >= 0) {
                /* The tenant does not exist yet: the site's policy. */
                PasswordPolicy policy;

                password_policy_of_tenant(m->config, NULL, &policy);
                r = password_policy_check(&policy, name, spec->email, spec->password, NULL, e);
                if (r < 0)
                        f.field = "password";
        }
        if (r >= 0)
                r = hash_password(m, spec->password, &job, e);
        if (r >= 0)
                r = create_txn(m, s, a, spec, slug, name, job->new_hash, &t, &u, &f, e);
        if (r < 0) {
                change_audit_failure(s, a, "account.signup", slug[0] ? slug : NULL, spec->email, e);
                *ret_refusal = f;
                return r;
        }

        manager_changed(m, change_event_tenant(t, CHANGE_CREATED));
        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_CREATED));
        log_info("Signed up tenant %s with its owner %s@%s (uid %u).", t->slug, u->name, t->slug, u->uid);
        *ret_tenant = TAKE_PTR(t);
        *ret_user = TAKE_PTR(u);
        *ret_refusal = f;
        return 0;
}

int signup_limit_take(Manager *m, Store *s, const Principal *p, const char *action, unsigned *ret_wait) {
        uint64_t now = now_monotonic_usec();
        unsigned wait;
        bool first;
        int r;

        wait = limiter_check(m->limiter, LIMIT_SIGNUP, p->remote, now, &first);
        if (wait > 0) {
                /* One event per run of refusals, as for the other limits. */
                if (first) {
                        log_notice("Too many sign-ups from %s; refusing for %u s.", strna(p->remote), wait);
                        r = change_audit(s, p, action, NULL, NULL, AUDIT_DENIED,
                                         "{\"error\":\"rate_limited\",\"limit\":\"signup\"}");
                        if (r < 0)
                                return r;
                }
                *ret_wait = wait;
                return -ETOOMANYREFS;
        }
        limiter_fail(m->limiter, LIMIT_SIGNUP, p->remote, now);
        *ret_wait = 0;
        return 0;
}

/* -- end users of an existing tenant ------------------------------------------------ */

static int validate_member(const TenantSettings *settings, const TenantRecord *t, const SignupMemberSpec *spec,
                           SignupRefusal *f, TesseraError *e) {
        if (!settings->open_signup) {
                f->field = NULL;
                return tessera_error_set(e, -EACCES,
                                         "Sign-up is closed at %s: ask its administrators for an account.",
                                         isempty(t->display_name) ? t->slug : t->display_name);
        }
        if (isempty(spec->email) || !valid_email(spec->email))
                return refuse(f, "email", e, -EINVAL, "email must be a valid e-mail address.");
        if (isempty(spec->real_name) || !valid_display_text(spec->real_name, REAL_NAME_MAX_LEN))
                return refuse(f, "name", e, -EINVAL, "name must be one line of text, at most 256 bytes.");
        if (spec->user_name && !valid_user_name(spec->user_name))
                return refuse(f, "user_name", e, -EINVAL,
                              "user_name must begin with a lower-case letter or '_', then lower-case letters, "
                              "digits, '_' or '-', at most 32 in all.");
        if (isempty(spec->password))
                return refuse(f, "password", e, -EINVAL, "password is required.");
        return 0;
}

/* 1 when a user or a group of the tenant has the name (a user's private
 * group takes the user's name), 0 when it is free. */
static int name_taken(Store *s, int64_t tenant_id, const char *name) {
        _cleanup_(group_record_unrefp) GroupRecord *g = NULL;
        int r;

        r = store_user_get(s, tenant_id, name, NULL);
        if (r != -ENOENT)
                return r < 0 ? r : 1;
        r = store_group_get(s, tenant_id, name, &g);
        if (r != -ENOENT)
                return r < 0 ? r : 1;
        return 0;
}

int signup_free_name(Store *s, int64_t tenant_id, const char *base, char name[static NAME_MAX_LEN + 1]) {
        int r;

        for (unsigned i = 1; i <= 1000; i++) {
                char suffix[8] = "";
                int n;

                if (i > 1)
                        snprintf(suffix, sizeof(suffix), "%u", i);
                n = (int) MIN(strlen(base), (size_t) NAME_MAX_LEN - strlen(suffix));
                snprintf(name, NAME_MAX_LEN + 1, "%.*s%s", n, base, suffix);
                r = name_taken(s, tenant_id, name);
                if (r <= 0)
                        return r;
        }
        return -EEXIST;
}

/* The name to create: the one asked for, or the e-mail address's with the
 * first free number added ("jane", "jane2", ...). */
static int pick_name(Store *s, const TenantRecord *t, const SignupMemberSpec *spec, char name[static NAME_MAX_LEN + 1],
                     SignupRefusal *f, TesseraError *e) {
        char base[NAME_MAX_LEN + 1];
        int r;

        if (spec->user_name) {
                r = name_taken(s, t->id, spec->user_name);
                if (r > 0)
                        return refuse(f, "user_name", e, -EEXIST, "This user name is taken: choose another.");
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to read the store.");
                snprintf(name, NAME_MAX_LEN + 1, "%s", spec->user_name);
                return 0;
        }
        signup_user_name_from_email(spec->email, base, sizeof(base));
        r = signup_free_name(s, t->id, base, name);
        if (r >= 0)
                return 0;
        if (r != -EEXIST)
                return tessera_error_set(e, r, "Failed to read the store.");
        return refuse(f, "user_name", e, -EEXIST, "No free user name is left for this address: give user_name.");
}

static int create_member_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                             const SignupMemberSpec *spec, const char *hash, UserRecord **ret_user, SignupRefusal *f,
                             TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *created = NULL;
        _cleanup_free_ char *home = NULL, *target = NULL;
        char name[NAME_MAX_LEN + 1];
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        /* Read in the transaction, so that two sign-ups with one address
         * or name can't both pass. */
        r = store_user_get_by_email(s, t->id, spec->email, NULL);
        if (r >= 0)
                return refuse(f, "email", e, -EEXIST, "An account with this e-mail address exists already.");
        if (r != -ENOENT)
                return tessera_error_set(e, r, "Failed to read the store.");
        r = pick_name(s, t, spec, name, f, e);
        if (r < 0)
                return r;

        if (asprintf(&target, "%s@%s", name, t->slug) < 0)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = config_format_home(m->config, name, t->slug, &home);
        if (r < 0)
                return tessera_error_set(e, r, "The home_template of tesserad.conf gives no valid path for '%s'.",
                                         target);
        r = store_user_create(s,
                              &(UserRecord) {
                                      .tenant_id = t->id,
                                      .tenant = t->slug,
                                      .name = name,
                                      .real_name = (char *) spec->real_name,
                                      .email = (char *) spec->email,
                                      .home = home,
                                      .shell = m->config->default_shell,
                                      .password_hash = (char *) hash,
                                      .role = USER_ROLE_MEMBER,
                              },
                              &created);
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "The ID slice of tenant '%s' is full.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create the user %s.", target);

        if (spec->verify_base_url && mail_enabled(m)) {
                r = email_verification_queue(m, s, t, created, spec->verify_base_url, e);
                if (r < 0)
                        return r;
        }

        r = change_commit(&txn, a, "account.signup-member", t->slug, target, "{\"role\":\"member\"}", e);
        if (r < 0)
                return r;
        *ret_user = TAKE_PTR(created);
        return 0;
}

int signup_member_run(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const SignupMemberSpec *spec,
                      UserRecord **ret_user, SignupRefusal *ret_refusal, TesseraError *e) {
        _cleanup_(password_job_freep) PasswordJob *job = NULL;
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        TenantSettings settings;
        SignupRefusal f = {};
        int r;

        r = change_authorize(s, a, POLICY_AUTH_SIGNUP_MEMBER, policy_target_tenant(t->id), t->slug, spec->email, e);
        if (r < 0) {
                *ret_refusal = f;
                return r;
        }
        tenant_settings_effective(m->config, &t->settings, &settings);
        r = validate_member(&settings, t, spec, &f, e);
        if (r >= 0) {
                char name[NAME_MAX_LEN + 1];
                PasswordPolicy policy;

                /* The name the policy compares with is the one asked for
                 * or the address's; a number added later changes little. */
                if (spec->user_name)
                        snprintf(name, sizeof(name), "%s", spec->user_name);
                else
                        signup_user_name_from_email(spec->email, name, sizeof(name));
                password_policy_of_tenant(m->config, t, &policy);
                r = password_policy_check(&policy, name, spec->email, spec->password, NULL, e);
                if (r < 0)
                        f.field = "password";
        }
        if (r >= 0)
                r = hash_password(m, spec->password, &job, e);
        if (r >= 0)
                r = create_member_txn(m, s, a, t, spec, job->new_hash, &u, &f, e);
        if (r < 0) {
                change_audit_failure(s, a, "account.signup-member", t->slug, spec->email, e);
                *ret_refusal = f;
                return r;
        }

        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_CREATED));
        log_info("Signed up %s@%s (uid %u).", u->name, t->slug, u->uid);
        *ret_user = TAKE_PTR(u);
        *ret_refusal = f;
        return 0;
}
