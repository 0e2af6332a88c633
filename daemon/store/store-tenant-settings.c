/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A tenant's settings (tenant-settings.h): one row of typed columns, NULL
 * for what the tenant left to the site. Tenants are read with theirs
 * (store-tenant.c joins this table); here are the columns and the write. */

#include "store-internal.h"

#include <stddef.h>

typedef enum ColumnKind {
        COLUMN_BOOL,
        COLUMN_UINT32,
        COLUMN_MFA,               /* text: none, admins, everyone */
} ColumnKind;

/* The column of each setting, in the order of TENANT_SETTINGS_COLUMNS,
 * and where its value lives in a TenantSettings. */
static const struct {
        TenantSettingId id;
        ColumnKind kind;
        size_t offset;
} columns[] = {
#define COLUMN(id, kind, field) { id, kind, offsetof(TenantSettings, field) }
        COLUMN(TENANT_SETTING_OPEN_SIGNUP, COLUMN_BOOL, open_signup),
        COLUMN(TENANT_SETTING_PASSWORD_MIN_LENGTH, COLUMN_UINT32, password_min_length),
        COLUMN(TENANT_SETTING_PASSWORD_DICTIONARY_CHECK, COLUMN_BOOL, password_dictionary_check),
        COLUMN(TENANT_SETTING_PASSWORD_MIN_CLASSES, COLUMN_UINT32, password_min_classes),
        COLUMN(TENANT_SETTING_PASSWORD_MAX_REPEAT, COLUMN_UINT32, password_max_repeat),
        COLUMN(TENANT_SETTING_PASSWORD_USER_CHECK, COLUMN_BOOL, password_user_check),
        COLUMN(TENANT_SETTING_MFA_REQUIRED, COLUMN_MFA, mfa_required),
        COLUMN(TENANT_SETTING_SESSION_LIFETIME, COLUMN_UINT32, session_lifetime),
        COLUMN(TENANT_SETTING_REFRESH_IDLE_LIFETIME, COLUMN_UINT32, refresh_idle_lifetime),
        COLUMN(TENANT_SETTING_REFRESH_ABSOLUTE_LIFETIME, COLUMN_UINT32, refresh_absolute_lifetime),
#undef COLUMN
};

void store_tenant_settings_from_row(DbStmt *st, int first, TenantSettings *ret) {
        TenantSettings s = {};

        for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
                int col = first + (int) i;
                void *field = (uint8_t *) &s + columns[i].offset;
                int64_t v;

                if (db_column_is_null(st, col))
                        continue;
                switch (columns[i].kind) {
                case COLUMN_BOOL:
                        *(bool *) field = db_column_int64(st, col) != 0;
                        break;
                case COLUMN_UINT32:
                        v = db_column_int64(st, col);
                        *(uint32_t *) field = v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t) v;
                        break;
                case COLUMN_MFA: {
                        /* The column's CHECK keeps out anything else. */
                        MfaRequired m = mfa_required_from_string(db_column_text(st, col));
                        if (m < 0)
                                continue;
                        *(MfaRequired *) field = m;
                        break;
                }
                }
                s.set |= TENANT_SETTING_BIT(columns[i].id);
        }
        *ret = s;
}

int store_tenant_settings_put(Store *s, int64_t tenant_id, const TenantSettings *settings) {
        static const char sql_tenant[] = "UPDATE tenants SET changed_usec = ?2 WHERE id = ?1";
        static const char sql[] =
                "INSERT INTO tenant_settings (tenant_id, " TENANT_SETTINGS_COLUMNS ", changed_usec) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
                "ON CONFLICT (tenant_id) DO UPDATE SET "
                "open_signup = ?2, password_min_length = ?3, password_dictionary_check = ?4, "
                "password_min_classes = ?5, password_max_repeat = ?6, password_user_check = ?7, "
                "mfa_required = ?8, session_lifetime = ?9, refresh_idle_lifetime = ?10, "
                "refresh_absolute_lifetime = ?11, changed_usec = ?12";
        _cleanup_(store_stmt_resetp) DbStmt *tenant = NULL, *st = NULL;
        int64_t now = now_realtime_usec();
        int r;

        /* The tenant's ChangedTime says its settings changed too; and a
         * tenant that is gone gets no row. */
        r = store_stmt(s, sql_tenant, &tenant);
        if (r < 0)
                return r;
        db_bind_int64(tenant, 1, tenant_id);
        db_bind_int64(tenant, 2, now);
        r = store_step_done(s, tenant);
        if (r < 0)
                return r;
        if (db_changes(s->db) == 0)
                return -ENOENT;

        r = store_stmt(s, sql, &st);
        if (r < 0)
                return r;
        db_bind_int64(st, 1, tenant_id);
        for (size_t i = 0; i < ELEMENTSOF(columns); i++) {
                const void *field = (const uint8_t *) settings + columns[i].offset;
                int idx = 2 + (int) i;

                if (!tenant_settings_has(settings, columns[i].id))
                        continue;       /* unbound: NULL, the site's */
                switch (columns[i].kind) {
                case COLUMN_BOOL:
                        db_bind_int64(st, idx, *(const bool *) field);
                        break;
                case COLUMN_UINT32:
                        db_bind_int64(st, idx, *(const uint32_t *) field);
                        break;
                case COLUMN_MFA:
                        db_bind_text(st, idx, mfa_required_to_string(*(const MfaRequired *) field));
                        break;
                }
        }
        db_bind_int64(st, 12, now);
        return store_step_done(s, st);
}
