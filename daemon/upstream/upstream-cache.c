/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-cache.h"

#include "macro.h"
#include "time-util.h"
#include "upstream-fetch.h"

/* Entries beyond this are dropped oldest first: URLs come from the
 * registrations, and a registration changed many times must not grow the
 * cache without bound. */
#define UPSTREAM_CACHE_MAX_ENTRIES 256

struct UpstreamCacheEntry {
        char *url;
        json_t *doc;
        uint64_t fetched_usec;        /* CLOCK_MONOTONIC */
        uint64_t expires_usec;
        /* The last fetch forced by an unknown kid, 0 none: such fetches
         * are spaced, so that tokens with made-up kids cannot make us
         * hammer the provider. */
        uint64_t refreshed_usec;
};

int upstream_cache_init(UpstreamCache *c) {
        *c = (UpstreamCache) {};
        if (pthread_mutex_init(&c->lock, NULL) != 0)
                return -ENOMEM;
        return 0;
}

static void entry_done(UpstreamCacheEntry *en) {
        free(en->url);
        json_decref(en->doc);
        *en = (UpstreamCacheEntry) {};
}

void upstream_cache_done(UpstreamCache *c) {
        for (size_t i = 0; i < c->n_entries; i++)
                entry_done(&c->entries[i]);
        free(c->entries);
        pthread_mutex_destroy(&c->lock);
        *c = (UpstreamCache) {};
}

/* Called with the lock held. */
static UpstreamCacheEntry *find(UpstreamCache *c, const char *url) {
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].url, url))
                        return &c->entries[i];
        return NULL;
}

static void remove_at(UpstreamCache *c, size_t i) {
        entry_done(&c->entries[i]);
        memmove(&c->entries[i], &c->entries[i + 1], (c->n_entries - i - 1) * sizeof(UpstreamCacheEntry));
        c->n_entries--;
}

/* Called with the lock held; takes doc's reference. */
static int store(UpstreamCache *c, const char *url, json_t *doc, uint64_t now, uint64_t lifetime_usec,
                 bool forced) {
        UpstreamCacheEntry *en = find(c, url);

        if (!en) {
                if (c->n_entries >= UPSTREAM_CACHE_MAX_ENTRIES) {
                        size_t oldest = 0;
                        for (size_t i = 1; i < c->n_entries; i++)
                                if (c->entries[i].fetched_usec < c->entries[oldest].fetched_usec)
                                        oldest = i;
                        remove_at(c, oldest);
                }
                UpstreamCacheEntry *a = reallocarray(c->entries, c->n_entries + 1, sizeof(UpstreamCacheEntry));
                if (!a)
                        return -ENOMEM;
                c->entries = a;
                en = &c->entries[c->n_entries];
                *en = (UpstreamCacheEntry) { .url = strdup(url) };
                if (!en->url)
                        return -ENOMEM;
                c->n_entries++;
        }
        json_decref(en->doc);
        en->doc = json_incref(doc);
        en->fetched_usec = now;
        en->expires_usec = now + lifetime_usec;
        if (forced)
                en->refreshed_usec = now;
        return 0;
}

static uint64_t lifetime_of(int64_t max_age_sec) {
        int64_t s = max_age_sec < 0 ? UPSTREAM_CACHE_DEFAULT_SEC : max_age_sec;

        s = MAX(s, (int64_t) UPSTREAM_CACHE_MIN_SEC);
        s = MIN(s, (int64_t) UPSTREAM_CACHE_MAX_SEC);
        return (uint64_t) s * USEC_PER_SEC;
}

int upstream_cache_get(UpstreamCache *c, const UpstreamLimits *limits, const char *what, const char *url,
                       UpstreamCacheMode mode, json_t **ret, bool *ret_fetched, TesseraError *e) {
        _cleanup_(upstream_response_done) UpstreamResponse resp = {};
        _cleanup_(json_decrefp) json_t *doc = NULL;
        json_error_t jerr;
        uint64_t now = now_monotonic_usec();
        int r;

        pthread_mutex_lock(&c->lock);
        UpstreamCacheEntry *en = find(c, url);
        if (en) {
                bool fresh = now < en->expires_usec;
                bool recent = en->refreshed_usec > 0 &&
                              now < en->refreshed_usec + UPSTREAM_CACHE_REFRESH_SEC * USEC_PER_SEC;

                if ((mode == UPSTREAM_CACHE_USE && fresh) || (mode == UPSTREAM_CACHE_REFRESH && recent)) {
                        *ret = json_incref(en->doc);
                        pthread_mutex_unlock(&c->lock);
                        if (ret_fetched)
                                *ret_fetched = false;
                        return 0;
                }
        }
        pthread_mutex_unlock(&c->lock);

        r = upstream_fetch(limits, what, url, NULL, (const char *const[]) { "Accept: application/json", NULL },
                           &resp, e);
        if (r < 0)
                return r;
        if (resp.status != 200)
                return tessera_error_set(e, resp.status >= 500 ? -EHOSTUNREACH : -EBADMSG,
                                         "%s (%s) answered HTTP %ld", what, url, resp.status);
        doc = json_loadb(resp.body, resp.size, JSON_REJECT_DUPLICATES, &jerr);
        if (!doc || !json_is_object(doc))
                return tessera_error_set(e, -EBADMSG, "%s (%s) did not answer a JSON object", what, url);

        pthread_mutex_lock(&c->lock);
        r = store(c, url, doc, now, lifetime_of(resp.max_age_sec), mode == UPSTREAM_CACHE_REFRESH);
        pthread_mutex_unlock(&c->lock);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(doc);
        if (ret_fetched)
                *ret_fetched = true;
        return 0;
}

json_t *upstream_cache_peek(UpstreamCache *c, const char *url) {
        json_t *doc = NULL;

        pthread_mutex_lock(&c->lock);
        UpstreamCacheEntry *en = find(c, url);
        if (en)
                doc = json_incref(en->doc);
        pthread_mutex_unlock(&c->lock);
        return doc;
}

void upstream_cache_forget(UpstreamCache *c, const char *url) {
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n_entries; i++)
                if (streq(c->entries[i].url, url)) {
                        remove_at(c, i);
                        break;
                }
        pthread_mutex_unlock(&c->lock);
}
