/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Upstream identity providers and the identities linked to users
 * (upstream-provider.h, upstream-link.h): part of the narrow store
 * interface of store.h, in a header of its own. Same conventions: 0 or a
 * negative errno, -ENOENT when a record does not exist (or is another
 * tenant's: every lookup by name or id names the tenant), -EEXIST on a
 * name or subject taken, out-parameters written only on success.
 *
 * The store never sees a client secret in clear: the core seals it
 * (secret-box.h) and hands the box; records read back carry
 * client_secret NULL, and the box comes from
 * store_upstream_provider_secret_box(). Scopes and allowed domains are
 * kept as space-separated lists. */

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "upstream-link.h"
#include "upstream-provider.h"

/* Adds p (every field but id; client_secret ignored) with the sealed
 * secret (NULL: none); sets p->id. -EEXIST for a name taken in the
 * tenant. */
int store_upstream_provider_add(Store *s, UpstreamProvider *p, const uint8_t *secret_box, size_t secret_box_len);
/* Rewrites the provider p->id of p->tenant_id with p's fields (the name
 * and kind stay); the secret box is replaced when set_secret is true. */
int store_upstream_provider_update(Store *s, const UpstreamProvider *p, bool set_secret, const uint8_t *secret_box,
                                   size_t secret_box_len);
int store_upstream_provider_delete(Store *s, int64_t tenant_id, int64_t id);
int store_upstream_provider_get(Store *s, int64_t tenant_id, const char *name, UpstreamProvider **ret);
int store_upstream_provider_get_by_id(Store *s, int64_t tenant_id, int64_t id, UpstreamProvider **ret);
/* The providers of the tenant by name (only the enabled ones when
 * enabled_only); *ret is freed with upstream_provider_array_free(). */
int store_upstream_provider_list(Store *s, int64_t tenant_id, bool enabled_only, UpstreamProvider ***ret,
                                 size_t *ret_n);
/* How many providers the tenant has. */
int store_upstream_provider_count(Store *s, int64_t tenant_id, unsigned *ret);
/* The sealed secret of provider id: *ret NULL and *ret_len 0 when none. */
int store_upstream_provider_secret_box(Store *s, int64_t id, uint8_t **ret, size_t *ret_len);

/* Links: adds one when the user and the provider are both of tenant_id
 * (-ENOENT otherwise), -EEXIST when (provider, subject) is linked. */
int store_upstream_link_add(Store *s, const UpstreamLink *l, int64_t *ret_id);
int store_upstream_link_find(Store *s, int64_t provider_id, const char *subject, UpstreamLink *ret);
int store_upstream_link_get(Store *s, int64_t tenant_id, int64_t id, UpstreamLink *ret);
int store_upstream_link_touch(Store *s, int64_t id, const char *email, const char *username, uint64_t now_usec);
/* The links of a user of the tenant, oldest first; *ret is freed with
 * upstream_link_array_free(). */
int store_upstream_link_list_user(Store *s, int64_t tenant_id, int64_t user_id, UpstreamLink **ret, size_t *ret_n);
int store_upstream_link_delete(Store *s, int64_t tenant_id, int64_t id);
