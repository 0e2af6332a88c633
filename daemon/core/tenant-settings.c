/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tenant-settings.h"

#include <string.h>

#include "config.h"
#include "macro.h"

/* bcrypt reads 72 bytes of a password and ignores the rest. */
#define BCRYPT_MAX_BYTES 72

static const char *const setting_names[_TENANT_SETTING_MAX] = {
        [TENANT_SETTING_OPEN_SIGNUP] = "open_signup",
        [TENANT_SETTING_PASSWORD_MIN_LENGTH] = "password_min_length",
        [TENANT_SETTING_PASSWORD_DICTIONARY_CHECK] = "password_dictionary_check",
        [TENANT_SETTING_PASSWORD_MIN_CLASSES] = "password_min_classes",
        [TENANT_SETTING_PASSWORD_MAX_REPEAT] = "password_max_repeat",
        [TENANT_SETTING_PASSWORD_USER_CHECK] = "password_user_check",
        [TENANT_SETTING_MFA_REQUIRED] = "mfa_required",
        [TENANT_SETTING_SESSION_LIFETIME] = "session_lifetime",
        [TENANT_SETTING_REFRESH_IDLE_LIFETIME] = "refresh_idle_lifetime",
        [TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME] = "refresh_absolute_lifetime",
};

static const char *const mfa_names[_MFA_REQUIRED_MAX] = {
        [MFA_REQUIRED_NONE] = "none",
        [MFA_REQUIRED_ADMINS] = "admins",
        [MFA_REQUIRED_EVERYONE] = "everyone",
};

const char *tenant_setting_to_string(TenantSettingId id) {
        return id >= 0 && id < _TENANT_SETTING_MAX ? setting_names[id] : NULL;
}

TenantSettingId tenant_setting_from_string(const char *s) {
        for (TenantSettingId id = 0; s && id < _TENANT_SETTING_MAX; id++)
                if (streq(s, setting_names[id]))
                        return id;
        return _TENANT_SETTING_INVALID;
}

const char *mfa_required_to_string(MfaRequired m) {
        return m >= 0 && m < _MFA_REQUIRED_MAX ? mfa_names[m] : NULL;
}

MfaRequired mfa_required_from_string(const char *s) {
        for (MfaRequired m = 0; s && m < _MFA_REQUIRED_MAX; m++)
                if (streq(s, mfa_names[m]))
                        return m;
        return _MFA_REQUIRED_INVALID;
}

int mfa_required_parse(const char *s, MfaRequired *ret, TesseraError *e) {
        MfaRequired m = mfa_required_from_string(s);

        if (m < 0)
                return tessera_error_set(e, -EINVAL, "Unknown MFA requirement '%.32s'; use none, admins or everyone.",
                                         strempty(s));
        *ret = m;
        return 0;
}

/* The site's values: its defaults, and for lifetimes its maxima. */
static void site_settings(const Config *c, TenantSettings *ret) {
        *ret = (TenantSettings) {
                .open_signup = c->open_signup,
                .password_min_length = c->password_min_length,
                .password_dictionary_check = c->password_dictionary_check,
                .password_min_classes = c->password_min_classes,
                .password_max_repeat = c->password_max_repeat,
                .password_user_check = c->password_user_check,
                .mfa_required = c->mfa_required,
                .session_lifetime = c->oidc_session_lifetime,
                .refresh_idle_lifetime = c->oidc_refresh_idle_lifetime,
                .refresh_absolute_lifetime = c->oidc_refresh_absolute_lifetime,
        };
}

void tenant_settings_effective(const Config *c, const TenantSettings *own, TenantSettings *ret) {
        TenantSettings site, r;

        site_settings(c, &site);
        r = site;
        r.set = own->set;
#define TAKE(id, field)                                 \
        if (tenant_settings_has(own, id))               \
                r.field = own->field
        TAKE(TENANT_SETTING_OPEN_SIGNUP, open_signup);
        TAKE(TENANT_SETTING_PASSWORD_MIN_LENGTH, password_min_length);
        TAKE(TENANT_SETTING_PASSWORD_DICTIONARY_CHECK, password_dictionary_check);
        TAKE(TENANT_SETTING_PASSWORD_MIN_CLASSES, password_min_classes);
        TAKE(TENANT_SETTING_PASSWORD_MAX_REPEAT, password_max_repeat);
        TAKE(TENANT_SETTING_PASSWORD_USER_CHECK, password_user_check);
        TAKE(TENANT_SETTING_MFA_REQUIRED, mfa_required);
#undef TAKE
        /* A tenant's lifetime within the site's, even when the site
         * lowered its own since the tenant chose. */
        if (tenant_settings_has(own, TENANT_SETTING_SESSION_LIFETIME))
                r.session_lifetime = MIN(own->session_lifetime, site.session_lifetime);
        if (tenant_settings_has(own, TENANT_SETTING_REFRESH_IDLE_LIFETIME))
                r.refresh_idle_lifetime = MIN(own->refresh_idle_lifetime, site.refresh_idle_lifetime);
        if (tenant_settings_has(own, TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME))
                r.refresh_absolute_lifetime = MIN(own->refresh_absolute_lifetime, site.refresh_absolute_lifetime);
        /* A token never outlives its family: a tenant that shortened the
         * absolute lifetime below the site's idle one needs not set both. */
        r.refresh_idle_lifetime = MIN(r.refresh_idle_lifetime, r.refresh_absolute_lifetime);
        *ret = r;
}

static int check_range(TenantSettingId id, uint32_t v, uint32_t lowest, uint32_t highest, const char *unit,
                       const char *why, TesseraError *e) {
        if (v >= lowest && v <= highest)
                return 0;
        return tessera_error_set(e, -EINVAL, "%s must lie between %u and %u%s%s, not %u.", setting_names[id], lowest,
                                 highest, unit, why, v);
}

/* The rules between settings: own as the tenant gave them, s as they
 * would apply. */
static int check_combined(const Config *c, const TenantSettings *own, const TenantSettings *s, TesseraError *e) {
        if (tenant_settings_has(own, TENANT_SETTING_REFRESH_IDLE_LIFETIME) &&
            own->refresh_idle_lifetime > s->refresh_absolute_lifetime)
                return tessera_error_set(e, -EINVAL,
                                         "refresh_idle_lifetime (%u s) must not exceed "
                                         "refresh_absolute_lifetime (%u s).",
                                         own->refresh_idle_lifetime, s->refresh_absolute_lifetime);
        if (c->hash_prefix && streq(c->hash_prefix, "$2b$") && s->password_min_length > BCRYPT_MAX_BYTES)
                return tessera_error_set(e, -EINVAL,
                                         "password_min_length must be at most %d with bcrypt "
                                         "([passwords] hash_method), which reads no more of a password.",
                                         BCRYPT_MAX_BYTES);
        return 0;
}

int tenant_settings_validate(const Config *c, const TenantSettings *all, uint32_t which, TesseraError *e) {
        TenantSettings site, applied, given = *all;
        const TenantSettings *own = &given;
        int r = 0;

        if ((all->set | which) & ~TENANT_SETTINGS_ALL)
                return tessera_error_set(e, -EINVAL, "Unknown setting.");
        site_settings(c, &site);
        given.set &= which;

        if (tenant_settings_has(own, TENANT_SETTING_PASSWORD_MIN_LENGTH))
                r = check_range(TENANT_SETTING_PASSWORD_MIN_LENGTH, own->password_min_length,
                                PASSWORD_MIN_LENGTH_LOWEST, PASSWORD_MIN_LENGTH_HIGHEST, " characters", "", e);
        if (r >= 0 && tenant_settings_has(own, TENANT_SETTING_PASSWORD_MIN_CLASSES))
                r = check_range(TENANT_SETTING_PASSWORD_MIN_CLASSES, own->password_min_classes, 0,
                                PASSWORD_MIN_CLASSES_HIGHEST, "", " (digits, upper case, lower case, others)", e);
        if (r >= 0 && tenant_settings_has(own, TENANT_SETTING_PASSWORD_MAX_REPEAT))
                r = check_range(TENANT_SETTING_PASSWORD_MAX_REPEAT, own->password_max_repeat, 0,
                                PASSWORD_MAX_REPEAT_HIGHEST, "", " (0: no limit)", e);
        if (r >= 0 && tenant_settings_has(own, TENANT_SETTING_MFA_REQUIRED) &&
            !mfa_required_to_string(own->mfa_required))
                r = tessera_error_set(e, -EINVAL, "mfa_required must be none, admins or everyone.");
        if (r >= 0 && tenant_settings_has(own, TENANT_SETTING_SESSION_LIFETIME))
                r = check_range(TENANT_SETTING_SESSION_LIFETIME, own->session_lifetime, TENANT_LIFETIME_LOWEST,
                                site.session_lifetime, " s", ", the site's maximum ([oidc] session_lifetime)", e);
        if (r >= 0 && tenant_settings_has(own, TENANT_SETTING_REFRESH_IDLE_LIFETIME))
                r = check_range(TENANT_SETTING_REFRESH_IDLE_LIFETIME, own->refresh_idle_lifetime,
                                TENANT_LIFETIME_LOWEST, site.refresh_idle_lifetime, " s",
                                ", the site's maximum ([oidc] refresh_idle_lifetime)", e);
        if (r >= 0 && tenant_settings_has(own, TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME))
                r = check_range(TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME, own->refresh_absolute_lifetime,
                                TENANT_LIFETIME_LOWEST, site.refresh_absolute_lifetime, " s",
                                ", the site's maximum ([oidc] refresh_absolute_lifetime)", e);
        if (r < 0)
                return r;

        tenant_settings_effective(c, all, &applied);
        return check_combined(c, all, &applied, e);
}

int tenant_settings_validate_site(const Config *c, TesseraError *e) {
        TenantSettings site;

        /* As if a tenant had set each: the site's are checked as given. */
        site_settings(c, &site);
        site.set = TENANT_SETTINGS_ALL;
        return check_combined(c, &site, &site, e);
}

void tenant_settings_merge(TenantSettings *own, const TenantSettings *change, uint32_t reset) {
        own->set &= ~reset;
#define GIVE(id, field)                                         \
        if (tenant_settings_has(change, id)) {                  \
                own->field = change->field;                     \
                own->set |= TENANT_SETTING_BIT(id);             \
        }
        GIVE(TENANT_SETTING_OPEN_SIGNUP, open_signup);
        GIVE(TENANT_SETTING_PASSWORD_MIN_LENGTH, password_min_length);
        GIVE(TENANT_SETTING_PASSWORD_DICTIONARY_CHECK, password_dictionary_check);
        GIVE(TENANT_SETTING_PASSWORD_MIN_CLASSES, password_min_classes);
        GIVE(TENANT_SETTING_PASSWORD_MAX_REPEAT, password_max_repeat);
        GIVE(TENANT_SETTING_PASSWORD_USER_CHECK, password_user_check);
        GIVE(TENANT_SETTING_MFA_REQUIRED, mfa_required);
        GIVE(TENANT_SETTING_SESSION_LIFETIME, session_lifetime);
        GIVE(TENANT_SETTING_REFRESH_IDLE_LIFETIME, refresh_idle_lifetime);
        GIVE(TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME, refresh_absolute_lifetime);
#undef GIVE
}
