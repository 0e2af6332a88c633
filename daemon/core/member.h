/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tenant's members: its users with their roles (owner, admin, member),
 * as every face shows and changes them. Roles are given by owners
 * (member.set-role); an owner is removed by an owner only; and a tenant
 * always keeps one owner at least: the last one can be neither demoted
 * nor removed (-EOWNERDEAD, "last_owner" on HTTP). The rules are checked
 * in the change's transaction, so that two owners demoting each other at
 * once can't leave the tenant without one.
 *
 * A user belongs to one tenant: removing a member is deleting that
 * account (user_delete_full(), the same core operation as user.delete,
 * with these rules on top), and with it every session, refresh token and
 * host login of theirs; their access tokens stop at once, since the
 * bearer check finds no user. */

#include "change.h"
#include "manager.h"

/* A page of t's members by name, after after_name (NULL: the first), at
 * most limit (POLICY_MEMBER_LIST). */
int member_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, const char *after_name,
                unsigned limit, UserRecord ***ret, size_t *ret_n, TesseraError *e);

/* Gives u the role (POLICY_MEMBER_SET_ROLE); ret (may be NULL) gets the
 * record as stored now. Audited as member.set-role with the roles before
 * and after. -EOWNERDEAD for demoting the last owner. */
int member_set_role(Manager *m, Store *s, const Principal *a, const UserRecord *u, UserRole role, UserRecord **ret,
                    TesseraError *e);

/* Removes u from its tenant, deleting the account (POLICY_MEMBER_REMOVE;
 * an owner by an owner only: -EACCES). -EOWNERDEAD for the last owner. */
int member_remove(Manager *m, Store *s, const Principal *a, const UserRecord *u, TesseraError *e);
