/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the lookup service answers: which tenants and accounts a host sees
 * and how their names look. Shared by the socket server (one request at a
 * time) and the memory cache writer (everything at once), so that both
 * paths give the same answers. */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "names.h"
#include "nss-proto.h"
#include "records.h"
#include "store.h"

/* Users per page of a listing. */
#define NSS_LIST_USERS_PAGE 256
#define NSS_LIST_GROUPS_PAGE 64

/* Splits a name as a host shows it into the stored name and tenant:
 * bare names belong to the default tenant, name@tenant to one of the
 * others. -ENOENT for a name no visible tenant can have. */
int nss_name_resolve(const Config *c, const char *shown, char name[static NAME_MAX_LEN + 1],
                     char tenant[static TENANT_SLUG_MAX_LEN + 1]);

/* The name a host shows for an account of a tenant, or NULL when the host
 * does not see that tenant. buf holds at least NSS_MAX_NAME + 1 bytes. */
const char *nss_name_show(const Config *c, const char *name, const char *tenant, char *buf, size_t size);

/* An account a host does not show: disabled, expired, or locked by an
 * administrator (locked without an end). Lockouts that end by themselves
 * (failed passwords) keep the account visible: the PAM module refuses the
 * login, while files and processes keep their owner's name. When visible,
 * *ret_hide_after is when it expires (0: never). */
bool nss_user_hidden(const UserRecord *u, int64_t now_usec, uint64_t *ret_hide_after);

/* Answers a request into w: sets w->type and writes the fields. -ENOBUFS
 * when the answer does not fit w; other errors become an ERROR reply. */
int nss_lookup_answer(const Config *c, Store *s, const NssRequest *q, WireWriter *w);
