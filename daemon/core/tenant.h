/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Tenant operations shared by every face (D-Bus now, HTTP admin later):
 * validation, authorization, the change and its audit event in one
 * transaction. */

#include "change.h"
#include "manager.h"

int tenant_create(Manager *m, Store *s, const Principal *a, const char *slug, const char *display_name,
                  TenantRecord **ret, TesseraError *e);
int tenant_update(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *display_name,
                  TesseraError *e);
int tenant_delete(Manager *m, Store *s, const Principal *a, const TenantRecord *t, TesseraError *e);
/* Deletes t with everything in it (users, their sessions and tokens,
 * groups, applications) in one transaction (POLICY_TENANT_DELETE: an
 * owner, the host's administrators, operators); audited as tenant.delete.
 * tenant_delete() refuses a tenant that is not empty; this is for whom
 * confirmed they mean the whole of it (the JSON API's DELETE). */
int tenant_delete_all(Manager *m, Store *s, const Principal *a, const TenantRecord *t, TesseraError *e);

/* The settings that apply to t (tenant-settings.h): its own, the site's
 * for the rest; ret->set says which are its own. For whoever may read the
 * tenant (POLICY_TENANT_READ). */
int tenant_settings_get(Manager *m, Store *s, const Principal *a, const TenantRecord *t, TenantSettings *ret,
                        TesseraError *e);

/* Changes t's settings (POLICY_TENANT_UPDATE): the values of change that
 * are set become the tenant's own, those in reset (TENANT_SETTING_BIT()s)
 * follow the site again. Each value is checked (tenant_settings_validate(),
 * -EINVAL naming the setting); the change is audited (tenant.update, with
 * what changed) and announced (CHANGE_TENANT). Nothing given: nothing
 * changes, 0. */
int tenant_settings_update(Manager *m, Store *s, const Principal *a, const TenantRecord *t,
                           const TenantSettings *change, uint32_t reset, TesseraError *e);

/* The same with the display name (NULL: unchanged) in the same
 * transaction and audit event: a change of both is all or nothing (the
 * JSON API's PATCH). */
int tenant_change(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *display_name,
                  const TenantSettings *change, uint32_t reset, TesseraError *e);

/* Looks a tenant up by slug; an empty slug means the host's default. */
int tenant_lookup(Manager *m, Store *s, const char *slug, TenantRecord **ret, TesseraError *e);
