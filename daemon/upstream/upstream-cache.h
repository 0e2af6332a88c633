/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* JSON documents of upstream providers (discovery metadata, key sets)
 * cached by URL for as long as their HTTP headers allow, bounded to
 * [UPSTREAM_CACHE_MIN_SEC, UPSTREAM_CACHE_MAX_SEC] (UPSTREAM_CACHE_DEFAULT_SEC
 * when the answer says nothing). Shared by every thread: the lock is held
 * only to look up and store, never while fetching, so that a provider that
 * is slow or down holds up nobody but its own sign-ins. */

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "upstream-client.h"

#define UPSTREAM_CACHE_MIN_SEC 60
#define UPSTREAM_CACHE_MAX_SEC 86400
#define UPSTREAM_CACHE_DEFAULT_SEC 300
/* A key set is fetched again for an unknown kid at most this often. */
#define UPSTREAM_CACHE_REFRESH_SEC 60

typedef struct UpstreamCacheEntry UpstreamCacheEntry;

typedef struct UpstreamCache {
        pthread_mutex_t lock;
        UpstreamCacheEntry *entries;  /* a short list: a tenant has a few providers */
        size_t n_entries;
} UpstreamCache;

int upstream_cache_init(UpstreamCache *c);
void upstream_cache_done(UpstreamCache *c);

typedef enum UpstreamCacheMode {
        UPSTREAM_CACHE_USE,           /* the cached copy while fresh */
        UPSTREAM_CACHE_REFRESH,       /* a new copy, unless REFRESH fetched one less than a minute ago */
} UpstreamCacheMode;

/* The JSON object at url (a new reference): cached, or fetched with
 * limits. what names it in messages. Errors as upstream_fetch(), and
 * -EBADMSG for an answer that is not a JSON object with status 200.
 * With UPSTREAM_CACHE_REFRESH, *ret_fetched says whether it was fetched
 * anew (may be NULL). */
int upstream_cache_get(UpstreamCache *c, const UpstreamLimits *limits, const char *what, const char *url,
                       UpstreamCacheMode mode, json_t **ret, bool *ret_fetched, TesseraError *e);

/* The cached copy of url, if any, without fetching (a new reference). */
json_t *upstream_cache_peek(UpstreamCache *c, const char *url);

/* Drops url from the cache. */
void upstream_cache_forget(UpstreamCache *c, const char *url);
