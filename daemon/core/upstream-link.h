/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Identities linked to tessera accounts: a row per (provider, upstream
 * subject), unique within the provider, pointing at one user of the
 * provider's tenant. A user may hold several links (one per provider).
 * Links are made by the sign-in flow (upstream-signin.h) and listed and
 * removed by the user (their own) and administrators (any in the tenant).
 *
 * Removing a link is refused with -EPERM when it is the user's last way to
 * sign in: no password set and no other link. */

#include <stdint.h>

#include "error.h"
#include "manager.h"
#include "principal.h"
#include "records.h"

/* An upstream subject is at most 255 ASCII characters (OpenID Core 2);
 * the e-mail and user name as seen upstream are kept when they are one
 * line of text of at most UPSTREAM_LINK_TEXT_MAX bytes, else dropped. */
#define UPSTREAM_LINK_SUBJECT_MAX 255
#define UPSTREAM_LINK_TEXT_MAX 320

typedef struct UpstreamLink {
        int64_t id;
        int64_t tenant_id;
        int64_t user_id;
        int64_t provider_id;
        char *provider_name;          /* the provider's name, for listing */
        char *subject;                /* the upstream "sub" (GitHub: the numeric user id) */
        char *email;                  /* as last seen upstream, may be NULL */
        char *username;               /* preferred_username / login, may be NULL */
        uint64_t created_usec;
        uint64_t last_used_usec;
} UpstreamLink;

void upstream_link_done(UpstreamLink *l);
void upstream_link_array_free(UpstreamLink *a, size_t n);

/* A link's id as the faces show it, "idn_12", and back (-EINVAL for
 * anything else). */
int upstream_link_id_format(int64_t id, char buf[static 32]);
int upstream_link_id_parse(const char *s, int64_t *ret);

/* The link of (provider, subject): -ENOENT if none. */
int upstream_link_find(Store *s, int64_t provider_id, const char *subject, UpstreamLink *ret);
/* Links user to (provider, subject) inside the caller's transaction;
 * -EEXIST when that subject is linked already (to anyone). Audited by the
 * caller as part of the sign-in. -EINVAL for a subject that is no valid
 * one, -ENOENT when the user or the provider is not of tenant_id. */
int upstream_link_add(Store *s, int64_t tenant_id, int64_t user_id, int64_t provider_id, const char *subject,
                      const char *email, const char *username, uint64_t now_usec, int64_t *ret_id);
/* Records a sign-in through the link (last_used, the e-mail and user name as
 * now seen upstream). */
int upstream_link_touch(Store *s, int64_t link_id, const char *email, const char *username, uint64_t now_usec);

/* The links of user (a principal of the user or an admin of the tenant). */
int upstream_link_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t user_id,
                       UpstreamLink **ret, size_t *ret_n, TesseraError *e);
/* Removes a link by id (audited as user.unlink; -EPERM last way in). */
int upstream_link_remove(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t user_id,
                         int64_t link_id, TesseraError *e);
