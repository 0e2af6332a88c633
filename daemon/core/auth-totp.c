/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "auth-totp.h"

#include <stdlib.h>

#include "auth.h"
#include "log.h"
#include "secret-box.h"
#include "time-util.h"
#include "totp.h"
#include "user.h"

int auth_totp_status(Store *s, int64_t user_id, TotpStatus *ret) {
        TotpRecord t = {};
        unsigned codes = 0;
        int r;

        r = store_totp_get(s, user_id, &t);
        if (r == -ENOENT) {
                *ret = (TotpStatus) {};
                return 0;
        }
        if (r < 0)
                return r;
        r = store_backup_codes_count(s, user_id, &codes);
        *ret = (TotpStatus) {
                .enabled = t.confirmed_usec > 0,
                .pending = t.confirmed_usec == 0,
                .backup_codes_left = codes,
        };
        totp_record_done(&t);
        return r;
}

/* Administrators act for anyone, users for themselves (the policy's
 * POLICY_TOTP_* rows). */
static int authorize(Store *s, const Principal *a, const UserRecord *u, PolicyAction action, const char *target,
                     TesseraError *e) {
        return change_authorize(s, a, action, policy_target_user(u), u->tenant, target, e);
}

/* Whether a acts on u as an administrator, who needs no code of u's. A
 * tenant's admin signed in as themself acts as the user: an access token
 * left somewhere must not be enough to move or remove the second factor of
 * an account that administers others. */
static bool administers(const Principal *a, const UserRecord *u) {
        PolicyTarget t = policy_target_user(u);

        if (a->kind == PRINCIPAL_USER && a->user_id == u->id)
                return false;
        return policy_administers(a, &t);
}

/* A user changing their own enabled TOTP proves it with a current code. */
static int verify_own_code(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *action,
                           const char *code, TesseraError *e) {
        AuthContext ctx = { .action = "auth.second-factor", .service = action };
        AuthResult res;
        int r;

        if (administers(a, u))
                return 0;
        if (isempty(code))
                return tessera_error_set(e, -EKEYREJECTED,
                                         "Give a current code from your authenticator app (or a backup code) to do this.");
        r = auth_second_factor(m, s, a, &ctx, u->id, code, &res);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to check the code.");
        return auth_result_error(&res, "The code is not correct.", e);
}

static const char *issuer_of(Store *s, const UserRecord *u, TenantRecord **tenant) {
        if (store_tenant_get_by_id(s, u->tenant_id, tenant) >= 0 && !isempty((*tenant)->display_name))
                return (*tenant)->display_name;
        return u->tenant;
}

static int begin_txn(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *target,
                     const uint8_t *secret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        TotpRecord t = { .created_usec = now_realtime_usec() };
        TotpStatus st;
        char ctx[32];
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = auth_totp_status(s, u->id, &st);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the second factor of %s.", target);
        /* Replacing a working seed takes an administrator (or disabling it
         * first, which takes a code): else anyone at an unlocked session
         * could move the second factor to their own phone. */
        if (st.enabled && !administers(a, u))
                return tessera_error_set(e, -EEXIST,
                                         "TOTP is already enabled for %s; disable it first (with a current code).",
                                         target);

        r = secret_box_seal(m->secret_key, auth_totp_context(u->id, ctx), secret, TOTP_SECRET_SIZE, &t.secret_box,
                            &t.secret_box_len);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to seal the TOTP seed.");
        r = store_totp_put(s, u->id, &t);
        totp_record_done(&t);
        if (r >= 0)
                r = store_backup_codes_replace(s, u->id, NULL, 0);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the TOTP seed of %s.", target);
        return change_commit(&txn, a, "totp.begin", u->tenant, target,
                            st.enabled ? "{\"replaced\":\"enabled\"}" : NULL, e);
}

int auth_totp_begin(Manager *m, Store *s, const Principal *a, const UserRecord *u, char **ret_secret, char **ret_uri,
                    TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *tenant = NULL;
        _cleanup_(erase_and_freep) char *b32 = NULL, *uri = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        uint8_t secret[TOTP_SECRET_SIZE];
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = authorize(s, a, u, POLICY_TOTP_BEGIN, target, e);
        if (r < 0)
                return r;

        r = totp_secret_generate(secret);
        if (r >= 0)
                r = totp_secret_to_base32(secret, sizeof(secret), &b32);
        if (r >= 0)
                r = totp_uri(issuer_of(s, u, &tenant), target, b32, &uri);
        if (r < 0)
                r = tessera_error_set(e, r, "Failed to make a TOTP seed.");
        else
                r = begin_txn(m, s, a, u, target, secret, e);
        explicit_bzero(secret, sizeof(secret));
        if (r < 0) {
                change_audit_failure(s, a, "totp.begin", u->tenant, target, e);
                return r;
        }

        manager_changed(m, change_event_user(CHANGE_TOTP, u, CHANGE_UPDATED));
        log_info("%s: TOTP enrollment begun.", target);
        *ret_secret = TAKE_PTR(b32);
        *ret_uri = TAKE_PTR(uri);
        return 0;
}

/* New backup codes for a user: the list to show and their digests. */
static int make_backup_codes(Manager *m, const UserRecord *u, char ***ret_codes,
                             uint8_t (*digests)[STORE_DIGEST_SIZE]) {
        _cleanup_(strv_free_erasep) char **codes = calloc(BACKUP_CODE_COUNT + 1, sizeof(char *));
        char ctx[32];
        int r;

        if (!codes)
                return -ENOMEM;
        for (size_t i = 0; i < BACKUP_CODE_COUNT; i++) {
                char normalized[BACKUP_CODE_CHARS + 1];

                codes[i] = malloc(BACKUP_CODE_LEN + 1);
                if (!codes[i])
                        return -ENOMEM;
                r = backup_code_generate(codes[i]);
                if (r >= 0)
                        r = backup_code_normalize(codes[i], normalized);
                if (r >= 0)
                        r = secret_key_digest(m->secret_key, auth_backup_code_context(u->id, ctx), normalized,
                                              BACKUP_CODE_CHARS, digests[i]);
                explicit_bzero(normalized, sizeof(normalized));
                if (r < 0)
                        return r;
        }
        *ret_codes = TAKE_PTR(codes);
        return 0;
}

/* The confirming code is checked here, not by the authentication core:
 * it proves that the app holds the seed just shown to this caller, and
 * authenticates nobody. Guessing it gains nothing (whoever may confirm
 * may begin an enrollment of their own and know its seed), so it is no
 * login failure, and a user who mistypes while enrolling isn't locked
 * out. Codes of an enrollment in force always go through the core
 * (verify_own_code(), logins). */
static int confirm_txn(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *target, const char *code,
                       const uint8_t (*digests)[STORE_DIGEST_SIZE], TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(totp_record_done) TotpRecord t = {};
        int64_t now = now_realtime_usec(), step;
        uint8_t *secret = NULL;
        size_t n = 0;
        char ctx[32];
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_totp_get(s, u->id, &t);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "No TOTP enrollment of %s to confirm; begin one first.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the second factor of %s.", target);
        if (t.confirmed_usec > 0)
                return tessera_error_set(e, -EEXIST, "TOTP is already enabled for %s.", target);

        r = secret_box_open(m->secret_key, auth_totp_context(u->id, ctx), t.secret_box, t.secret_box_len, &secret, &n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to open the TOTP seed of %s.", target);
        r = totp_verify(secret, n, code, totp_step_at(now), m->config->totp_window, t.last_step, &step);
        secret_free(secret, n);
        if (r == -EINVAL)
                return tessera_error_set(e, -EINVAL, "A code has %d digits.", TOTP_DIGITS);
        if (r == -EKEYREJECTED || r == -ESTALE)
                return tessera_error_set(e, -EKEYREJECTED,
                                         "The code is not correct; check that the device's clock is right and "
                                         "give the code it shows now.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to check the code.");

        /* The confirming code is spent: it can't log in a second time. */
        r = store_totp_advance(s, u->id, step, now);
        if (r >= 0)
                r = store_backup_codes_replace(s, u->id, digests, BACKUP_CODE_COUNT);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the second factor of %s.", target);
        return change_commit(&txn, a, "totp.confirm", u->tenant, target, NULL, e);
}

int auth_totp_confirm(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                      char ***ret_backup_codes, TesseraError *e) {
        _cleanup_(strv_free_erasep) char **codes = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        uint8_t digests[BACKUP_CODE_COUNT][STORE_DIGEST_SIZE];
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = authorize(s, a, u, POLICY_TOTP_CONFIRM, target, e);
        if (r < 0)
                return r;

        r = make_backup_codes(m, u, &codes, digests);
        if (r < 0)
                r = tessera_error_set(e, r, "Failed to make backup codes.");
        else
                r = confirm_txn(m, s, a, u, target, strempty(code), (const uint8_t (*)[STORE_DIGEST_SIZE]) digests, e);
        explicit_bzero(digests, sizeof(digests));
        if (r < 0) {
                change_audit_failure(s, a, "totp.confirm", u->tenant, target, e);
                return r;
        }

        manager_changed(m, change_event_user(CHANGE_TOTP, u, CHANGE_UPDATED));
        log_info("%s: TOTP enabled.", target);
        *ret_backup_codes = TAKE_PTR(codes);
        return 0;
}

static int disable_txn(Store *s, const Principal *a, const UserRecord *u, const char *target, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_totp_delete(s, u->id);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "TOTP is not enabled for %s.", target);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to remove the second factor of %s.", target);
        return change_commit(&txn, a, "totp.disable", u->tenant, target, NULL, e);
}

int auth_totp_disable(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                      TesseraError *e) {
        _cleanup_free_ char *target = user_qualified_name(u);
        TotpStatus st;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = authorize(s, a, u, POLICY_TOTP_DISABLE, target, e);
        if (r < 0)
                return r;

        r = auth_totp_status(s, u->id, &st);
        if (r < 0)
                r = tessera_error_set(e, r, "Failed to read the second factor of %s.", target);
        /* An enrollment never confirmed protects nothing yet: no code for it. */
        else if (st.enabled)
                r = verify_own_code(m, s, a, u, "totp.disable", code, e);
        if (r >= 0)
                r = disable_txn(s, a, u, target, e);
        if (r < 0) {
                change_audit_failure(s, a, "totp.disable", u->tenant, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_TOTP, u, CHANGE_UPDATED));
        log_info("%s: TOTP disabled.", target);
        return 0;
}

static int backup_codes_txn(Store *s, const Principal *a, const UserRecord *u, const char *target,
                            const uint8_t (*digests)[STORE_DIGEST_SIZE], TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        TotpStatus st;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = auth_totp_status(s, u->id, &st);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to read the second factor of %s.", target);
        if (!st.enabled)
                return tessera_error_set(e, -ENOENT, "TOTP is not enabled for %s: backup codes go with it.", target);
        r = store_backup_codes_replace(s, u->id, digests, BACKUP_CODE_COUNT);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to store the backup codes of %s.", target);
        return change_commit(&txn, a, "totp.backup-codes", u->tenant, target, NULL, e);
}

int auth_totp_new_backup_codes(Manager *m, Store *s, const Principal *a, const UserRecord *u, const char *code,
                               char ***ret_backup_codes, TesseraError *e) {
        _cleanup_(strv_free_erasep) char **codes = NULL;
        _cleanup_free_ char *target = user_qualified_name(u);
        uint8_t digests[BACKUP_CODE_COUNT][STORE_DIGEST_SIZE];
        TotpStatus st;
        int r;

        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = authorize(s, a, u, POLICY_TOTP_BACKUP_CODES, target, e);
        if (r < 0)
                return r;

        r = auth_totp_status(s, u->id, &st);
        if (r < 0)
                r = tessera_error_set(e, r, "Failed to read the second factor of %s.", target);
        else if (!st.enabled)
                r = tessera_error_set(e, -ENOENT, "TOTP is not enabled for %s: backup codes go with it.", target);
        if (r >= 0)
                r = verify_own_code(m, s, a, u, "totp.backup-codes", code, e);
        if (r >= 0) {
                r = make_backup_codes(m, u, &codes, digests);
                if (r < 0)
                        r = tessera_error_set(e, r, "Failed to make backup codes.");
        }
        if (r >= 0)
                r = backup_codes_txn(s, a, u, target, (const uint8_t (*)[STORE_DIGEST_SIZE]) digests, e);
        explicit_bzero(digests, sizeof(digests));
        if (r < 0) {
                change_audit_failure(s, a, "totp.backup-codes", u->tenant, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_TOTP, u, CHANGE_UPDATED));
        log_info("%s: new backup codes.", target);
        *ret_backup_codes = TAKE_PTR(codes);
        return 0;
}
