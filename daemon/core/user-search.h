/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The admin view of a tenant's users: one page of them, filtered (a prefix
 * of the name or the e-mail address, the state, the role, a range of
 * creation times) and sorted (by name, or by creation time), continued
 * after the last row of the page before. The same for every door (the
 * JSON API's GET .../users, D-Bus, tesseractl); the store reads it through
 * an index per filter (store-user-search.c). */

#include "change.h"
#include "cursor.h"
#include "manager.h"

/* The longest prefix asked for: the longest e-mail address. */
#define USER_SEARCH_PREFIX_MAX 254

/* Checks p may list t's users (POLICY_USER_LIST; a refusal is audited),
 * then the query: -EINVAL with a sentence for a prefix that is no text
 * (too long, control characters, not UTF-8), an empty or reversed
 * creation range, a limit of 0. q->prefix is folded to lower case (ASCII,
 * as names are and as the store compares e-mail addresses) in a copy;
 * q->tenant_id and q->now_usec are set here. */
int user_search(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserQuery *q,
                UserRecord ***ret, size_t *ret_n, TesseraError *e);

/* The scope of a cursor of this query (cursor.h): the list, its tenant,
 * its order and every filter, so that a position given out for one query
 * is refused by another. */
int user_search_scope(const TenantRecord *t, const UserQuery *q, char **ret);

/* The position of u, the last row of a page of q, for its cursor (the
 * strings borrowed from u); and q continued after a position read back
 * from a cursor of q's scope (the strings borrowed from c). A search by
 * name lists the users whose name begins with the prefix, by name, then
 * those whose address does, by address (UserQuery.after_phase): the
 * position holds the phase as its number and the name or address as its
 * text. By creation time: the time and the id. -EINVAL for a position no
 * page of q has. */
void user_search_position(const UserQuery *q, const UserRecord *u, Cursor *ret);
int user_search_continue(UserQuery *q, const Cursor *c);

const char *user_sort_to_string(UserSort s);
UserSort user_sort_from_string(const char *s);
