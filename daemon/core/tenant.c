/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "tenant.h"

#include <jansson.h>

#include "log.h"
#include "names.h"

static int create_txn(Manager *m, Store *s, const Principal *a, const char *slug, const char *display_name,
                      TenantRecord **ret, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        IdRange range;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;

        manager_id_range(m, &range);
        r = store_tenant_create(s, slug, display_name, &range, ret);
        if (r == -EEXIST)
                return tessera_error_set(e, r, "Tenant '%s' already exists.", slug);
        if (r == -ENOSPC)
                return tessera_error_set(e, r, "No free ID slice is left for a new tenant; "
                                               "widen [ids] range_max in tesserad.conf.");
        if (r < 0)
                return tessera_error_set(e, r, "Failed to create tenant '%s'.", slug);

        return change_commit(&txn, a, "tenant.create", slug, slug, NULL, e);
}

int tenant_create(Manager *m, Store *s, const Principal *a, const char *slug, const char *display_name,
                  TenantRecord **ret, TesseraError *e) {
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        int r;

        r = change_authorize(s, a, POLICY_TENANT_CREATE, POLICY_TARGET_NONE, slug, slug, e);
        if (r < 0)
                return r;

        if (!valid_tenant_slug(slug))
                r = tessera_error_set(e, -EINVAL,
                                      "'%s' is not a valid tenant name: use 1-%d lower-case letters, digits "
                                      "and '-' (not at either end).",
                                      strempty(slug), TENANT_SLUG_MAX_LEN);
        else if (display_name && !valid_display_text(display_name, DISPLAY_NAME_MAX_LEN))
                r = tessera_error_set(e, -EINVAL, "The display name must be one line of at most %d bytes of UTF-8.",
                                      DISPLAY_NAME_MAX_LEN);
        else
                r = create_txn(m, s, a, slug, display_name, &t, e);
        if (r < 0) {
                change_audit_failure(s, a, "tenant.create", slug, slug, e);
                return r;
        }

        manager_changed(m, change_event_tenant(t, CHANGE_CREATED));
        log_info("Created tenant %s (IDs %u-%u).", t->slug, t->id_min, t->id_max);
        if (ret)
                *ret = TAKE_PTR(t);
        return 0;
}

static int update_txn(Store *s, const Principal *a, const TenantRecord *t, const char *display_name, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        TenantRecord changed = *t;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;

        changed.display_name = (char *) display_name;
        r = store_tenant_update(s, &changed);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' no longer exists.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to update tenant '%s'.", t->slug);
        return change_commit(&txn, a, "tenant.update", t->slug, t->slug, NULL, e);
}

int tenant_update(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *display_name,
                  TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_TENANT_UPDATE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        if (!valid_display_text(display_name, DISPLAY_NAME_MAX_LEN))
                r = tessera_error_set(e, -EINVAL, "The display name must be one line of at most %d bytes of UTF-8.",
                                      DISPLAY_NAME_MAX_LEN);
        else
                r = update_txn(s, a, t, display_name, e);
        if (r < 0) {
                change_audit_failure(s, a, "tenant.update", t->slug, t->slug, e);
                return r;
        }
        manager_changed(m, change_event_tenant(t, CHANGE_UPDATED));
        return 0;
}

int tenant_settings_get(Manager *m, Store *s, const Principal *a, const TenantRecord *t, TenantSettings *ret,
                        TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_TENANT_READ, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        tenant_settings_effective(m->config, &t->settings, ret);
        return 0;
}

/* {"settings": {"password_min_length": 12, ...}, "reset": ["open_signup"]}:
 * what a change of settings asked for, for the audit trail. */
static char *settings_details(const TenantSettings *change, uint32_t reset) {
        _cleanup_(json_decrefp) json_t *j = json_object(), *given = json_object(), *back = json_array();

        if (!j || !given || !back)
                return NULL;
        for (TenantSettingId id = 0; id < _TENANT_SETTING_MAX; id++) {
                const char *name = tenant_setting_to_string(id);
                json_t *v = NULL;

                if (reset & TENANT_SETTING_BIT(id) && json_array_append_new(back, json_string(name)) < 0)
                        return NULL;
                if (!tenant_settings_has(change, id))
                        continue;
                switch (id) {
                case TENANT_SETTING_OPEN_SIGNUP:
                        v = json_boolean(change->open_signup);
                        break;
                case TENANT_SETTING_PASSWORD_DICTIONARY_CHECK:
                        v = json_boolean(change->password_dictionary_check);
                        break;
                case TENANT_SETTING_PASSWORD_USER_CHECK:
                        v = json_boolean(change->password_user_check);
                        break;
                case TENANT_SETTING_MFA_REQUIRED:
                        v = json_string(mfa_required_to_string(change->mfa_required));
                        break;
                case TENANT_SETTING_PASSWORD_MIN_LENGTH:
                        v = json_integer(change->password_min_length);
                        break;
                case TENANT_SETTING_PASSWORD_MIN_CLASSES:
                        v = json_integer(change->password_min_classes);
                        break;
                case TENANT_SETTING_PASSWORD_MAX_REPEAT:
                        v = json_integer(change->password_max_repeat);
                        break;
                case TENANT_SETTING_SESSION_LIFETIME:
                        v = json_integer(change->session_lifetime);
                        break;
                case TENANT_SETTING_REFRESH_IDLE_LIFETIME:
                        v = json_integer(change->refresh_idle_lifetime);
                        break;
                case TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME:
                        v = json_integer(change->refresh_absolute_lifetime);
                        break;
                default:
                        break;
                }
                if (json_object_set_new(given, name, v) < 0)
                        return NULL;
        }
        if (json_object_set(j, "settings", given) < 0 || json_object_set(j, "reset", back) < 0)
                return NULL;
        return json_dumps(j, JSON_COMPACT);
}

static int update_settings_txn(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                               const char *display_name, const TenantSettings *change, uint32_t reset,
                               TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *now = NULL;
        _cleanup_(json_decrefp) json_t *details_json = NULL;
        _cleanup_free_ char *details = NULL;
        TenantSettings own;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;

        /* On the settings as stored now, inside the transaction: a change
         * made meanwhile through another door is kept, not overwritten
         * with what the caller's copy of the tenant held. */
        r = store_tenant_get_by_id(s, t->id, &now);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' no longer exists.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up tenant '%s'.", t->slug);
        own = now->settings;
        tenant_settings_merge(&own, change, reset);
        r = tenant_settings_validate(m->config, &own, change->set, e);
        if (r < 0)
                return r;

        if (display_name) {
                TenantRecord renamed = *now;

                renamed.display_name = (char *) display_name;
                r = store_tenant_update(s, &renamed);
                if (r == -ENOENT)
                        return tessera_error_set(e, r, "Tenant '%s' no longer exists.", t->slug);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to update tenant '%s'.", t->slug);
        }
        if (change->set | reset) {
                r = store_tenant_settings_put(s, t->id, &own);
                if (r == -ENOENT)
                        return tessera_error_set(e, r, "Tenant '%s' no longer exists.", t->slug);
                if (r < 0)
                        return tessera_error_set(e, r, "Failed to store the settings of tenant '%s'.", t->slug);
        }
        details = settings_details(change, reset);
        if (details && display_name) {
                details_json = json_loads(details, 0, NULL);
                free(details);
                details = NULL;
                if (details_json && json_object_set_new(details_json, "display_name", json_string(display_name)) >= 0)
                        details = json_dumps(details_json, JSON_COMPACT);
        }
        if (!details)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        return change_commit(&txn, a, "tenant.update", t->slug, t->slug, details, e);
}

int tenant_change(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *display_name,
                  const TenantSettings *change, uint32_t reset, TesseraError *e) {
        uint32_t both = change->set & reset;
        int r;

        r = change_authorize(s, a, POLICY_TENANT_UPDATE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        if ((change->set | reset) & ~TENANT_SETTINGS_ALL)
                r = tessera_error_set(e, -EINVAL, "Unknown setting.");
        else if (both)
                r = tessera_error_set(e, -EINVAL, "%s is both given and reset to the site's default.",
                                      tenant_setting_to_string(__builtin_ctz(both)));
        else if (display_name && !valid_display_text(display_name, DISPLAY_NAME_MAX_LEN))
                r = tessera_error_set(e, -EINVAL, "The display name must be one line of at most %d bytes of UTF-8.",
                                      DISPLAY_NAME_MAX_LEN);
        else if (change->set == 0 && reset == 0 && !display_name)
                return 0;
        else
                r = update_settings_txn(m, s, a, t, display_name, change, reset, e);
        if (r < 0) {
                change_audit_failure(s, a, "tenant.update", t->slug, t->slug, e);
                return r;
        }
        manager_changed(m, change_event_tenant(t, CHANGE_UPDATED));
        log_info("Changed tenant %s.", t->slug);
        return 0;
}

int tenant_settings_update(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                           const TenantSettings *change, uint32_t reset, TesseraError *e) {
        return tenant_change(m, s, a, t, NULL, change, reset, e);
}

static int delete_txn(Store *s, const Principal *a, const TenantRecord *t, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;

        r = store_tenant_delete(s, t->id);
        if (r == -ENOTEMPTY)
                return tessera_error_set(e, r, "Tenant '%s' still has users or groups (or applications); delete them first.",
                                         t->slug);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' no longer exists.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to delete tenant '%s'.", t->slug);
        return change_commit(&txn, a, "tenant.delete", t->slug, t->slug, NULL, e);
}

int tenant_delete(Manager *m, Store *s, const Principal *a, const TenantRecord *t, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_TENANT_DELETE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = delete_txn(s, a, t, e);
        if (r < 0) {
                change_audit_failure(s, a, "tenant.delete", t->slug, t->slug, e);
                return r;
        }
        manager_changed(m, change_event_tenant(t, CHANGE_DELETED));
        log_info("Deleted tenant %s.", t->slug);
        return 0;
}

static int delete_all_txn(Store *s, const Principal *a, const TenantRecord *t, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        int r;

        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_tenant_purge(s, t->id);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' no longer exists.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to delete tenant '%s'.", t->slug);
        return change_commit(&txn, a, "tenant.delete", t->slug, t->slug, "{\"with_contents\":true}", e);
}

int tenant_delete_all(Manager *m, Store *s, const Principal *a, const TenantRecord *t, TesseraError *e) {
        int r;

        r = change_authorize(s, a, POLICY_TENANT_DELETE, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = delete_all_txn(s, a, t, e);
        if (r < 0) {
                change_audit_failure(s, a, "tenant.delete", t->slug, t->slug, e);
                return r;
        }
        /* One event: whoever caches the tenant's users and groups (the
         * NSS cache, the HTTP threads' tenants) drops the whole tenant. */
        manager_changed(m, change_event_tenant(t, CHANGE_DELETED));
        log_info("Deleted tenant %s with its users, groups and applications.", t->slug);
        return 0;
}

int tenant_lookup(Manager *m, Store *s, const char *slug, TenantRecord **ret, TesseraError *e) {
        int r;

        if (isempty(slug)) {
                slug = m->config->default_tenant;
                if (!slug)
                        return tessera_error_set(e, -EINVAL,
                                                 "No tenant given and this host has no default tenant "
                                                 "([host] default_tenant in tesserad.conf).");
        }
        if (!valid_tenant_slug(slug))
                return tessera_error_set(e, -EINVAL, "'%s' is not a valid tenant name.", slug);

        r = store_tenant_get(s, slug, ret);
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Tenant '%s' does not exist.", slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up tenant '%s'.", slug);
        return 0;
}
