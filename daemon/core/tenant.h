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

/* Looks a tenant up by slug; an empty slug means the host's default. */
int tenant_lookup(Manager *m, Store *s, const char *slug, TenantRecord **ret, TesseraError *e);
