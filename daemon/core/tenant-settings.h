/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's settings: whether anyone may sign up, its password policy,
 * who must use a second factor, how long its sign-ins last. A tenant sets
 * each of them or leaves it to the site's default from tesserad.conf
 * ([auth], [passwords], [oidc]), so that a site changes what every tenant
 * gets by default in one place, and a tenant's own choice stays put.
 *
 * TenantSettings holds the tenant's own values (the bits of .set say
 * which; the store keeps the others as NULL); tenant_settings_effective()
 * fills in the site's for the rest: what applies. The operations that read
 * and change them (policy, audit, change event) are in tenant.h. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "error.h"

typedef struct Config Config;

/* Who must use a second factor (TOTP) to sign in. */
typedef enum MfaRequired {
        MFA_REQUIRED_NONE,
        MFA_REQUIRED_ADMINS,      /* owners and admins of the tenant */
        MFA_REQUIRED_EVERYONE,
        _MFA_REQUIRED_MAX,
        _MFA_REQUIRED_INVALID = -EINVAL,
} MfaRequired;

typedef enum TenantSettingId {
        TENANT_SETTING_OPEN_SIGNUP,
        TENANT_SETTING_PASSWORD_MIN_LENGTH,
        TENANT_SETTING_PASSWORD_DICTIONARY_CHECK,
        TENANT_SETTING_PASSWORD_MIN_CLASSES,
        TENANT_SETTING_PASSWORD_MAX_REPEAT,
        TENANT_SETTING_PASSWORD_USER_CHECK,
        TENANT_SETTING_MFA_REQUIRED,
        TENANT_SETTING_SESSION_LIFETIME,
        TENANT_SETTING_REFRESH_IDLE_LIFETIME,
        TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME,
        _TENANT_SETTING_MAX,
        _TENANT_SETTING_INVALID = -EINVAL,
} TenantSettingId;

#define TENANT_SETTING_BIT(id) (UINT32_C(1) << (id))
#define TENANT_SETTINGS_ALL (TENANT_SETTING_BIT(_TENANT_SETTING_MAX) - 1)

/* The bounds of the values, for tenants and for the site's defaults alike.
 * A password policy asks at least 8 characters (NIST SP 800-63B's floor
 * for passwords people choose); more than 128 would leave nothing but
 * passphrases nobody types. */
#define PASSWORD_MIN_LENGTH_LOWEST 8
#define PASSWORD_MIN_LENGTH_HIGHEST 128
#define PASSWORD_MIN_CLASSES_HIGHEST 4       /* digits, upper case, lower case, others */
#define PASSWORD_MAX_REPEAT_HIGHEST 64       /* 0: no limit */
/* A sign-in shorter than a minute is of no use to anybody. The longest
 * are the site's ([oidc]). */
#define TENANT_LIFETIME_LOWEST 60

typedef struct TenantSettings {
        uint32_t set;                         /* TENANT_SETTING_BIT()s of the values given */
        bool open_signup;                     /* anyone may create an account (the sign-up API) */
        uint32_t password_min_length;         /* characters */
        bool password_dictionary_check;       /* cracklib's dictionary and its rules */
        uint32_t password_min_classes;        /* 0..4; 0: any */
        uint32_t password_max_repeat;         /* the same character in a row; 0: any */
        bool password_user_check;             /* not the user's name or e-mail in some form */
        MfaRequired mfa_required;
        uint32_t session_lifetime;            /* s: a browser sign-in (SSO session) */
        uint32_t refresh_idle_lifetime;       /* s: a refresh token not used */
        uint32_t refresh_absolute_lifetime;   /* s: a refresh token's family, from the sign-in */
} TenantSettings;

static inline bool tenant_settings_has(const TenantSettings *s, TenantSettingId id) {
        return s->set & TENANT_SETTING_BIT(id);
}

/* "password_min_length": the name in tesserad.conf (without its section's
 * prefix), the store, the audit trail and the JSON API. */
const char *tenant_setting_to_string(TenantSettingId id);
TenantSettingId tenant_setting_from_string(const char *s);

const char *mfa_required_to_string(MfaRequired m);
MfaRequired mfa_required_from_string(const char *s);
/* The same, with the message for a person when s is no such value. */
int mfa_required_parse(const char *s, MfaRequired *ret, TesseraError *e);

/* What applies to a tenant with its own values own: the site's defaults
 * (c) for what it left unset; lifetimes never longer than the site's,
 * which are its maxima too, and a refresh token's idle lifetime never
 * longer than its absolute one. ret->set is own->set. */
void tenant_settings_effective(const Config *c, const TenantSettings *own, TenantSettings *ret);

/* Checks the values of own named in which (TENANT_SETTING_BIT()s; those
 * not set are skipped), each in its bounds (the site's maxima for
 * lifetimes), and the rules between them as they would apply (an idle
 * lifetime the tenant sets within the absolute one; with bcrypt, a least
 * length within its 72 bytes). -EINVAL with a message that names the setting.
 * Values stored before the site lowered a maximum are not judged again
 * unless named: tenant_settings_effective() caps them. */
int tenant_settings_validate(const Config *c, const TenantSettings *own, uint32_t which, TesseraError *e);

/* The same checks of the site's defaults, for config_load(): -EINVAL with
 * the message in e. */
int tenant_settings_validate_site(const Config *c, TesseraError *e);

/* Copies into own the values of change that are set (setting their bits)
 * and drops those in reset (back to the site's default). */
void tenant_settings_merge(TenantSettings *own, const TenantSettings *change, uint32_t reset);
