/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Group operations shared by every face. */

#include "change.h"
#include "manager.h"

int group_create(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *name, uint32_t gid,
                 const char *description, GroupRecord **ret, TesseraError *e);
int group_update(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *description,
                 TesseraError *e);
int group_delete(Manager *m, Store *s, const Principal *a, const GroupRecord *g, TesseraError *e);
/* Member names are users of the group's own tenant. On success *ret_user
 * (when given) is the member, so that callers can announce the change. */
int group_add_member(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *user,
                     UserRecord **ret_user, TesseraError *e);
int group_remove_member(Manager *m, Store *s, const Principal *a, const GroupRecord *g, const char *user,
                        UserRecord **ret_user, TesseraError *e);

int group_lookup(Manager *m, Store *s, const char *tenant, const char *name, GroupRecord **ret, TesseraError *e);

char *group_qualified_name(const GroupRecord *g);
