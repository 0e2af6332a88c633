/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-flow.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pkce.h"
#include "token.h"

/* Oldest first: the list's head is the first to expire and the first
 * pushed out when the table is full. */
typedef struct FlowEntry {
        struct FlowEntry *prev, *next;
        UpstreamFlow flow;
} FlowEntry;

struct UpstreamFlows {
        pthread_mutex_t lock;
        FlowEntry *head, *tail;
        size_t n, max;
};

void upstream_flow_done(UpstreamFlow *f) {
        if (!f)
                return;
        free(f->request);
        f->request = NULL;
        free(f->redirect_uri);
        f->redirect_uri = NULL;
        upstream_identity_done(&f->identity);
        explicit_bzero(f->verifier, sizeof(f->verifier));
        explicit_bzero(f->key, sizeof(f->key));
}

static void entry_free(FlowEntry *e) {
        if (!e)
                return;
        upstream_flow_done(&e->flow);
        free(e);
}

static void unlink_entry(UpstreamFlows *flows, FlowEntry *e) {
        if (e->prev)
                e->prev->next = e->next;
        else
                flows->head = e->next;
        if (e->next)
                e->next->prev = e->prev;
        else
                flows->tail = e->prev;
        e->prev = e->next = NULL;
        flows->n--;
}

int upstream_flows_new(size_t max, UpstreamFlows **ret) {
        UpstreamFlows *f;

        if (max == 0)
                return -EINVAL;
        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        pthread_mutex_init(&f->lock, NULL);
        f->max = max;
        *ret = f;
        return 0;
}

UpstreamFlows *upstream_flows_free(UpstreamFlows *f) {
        if (!f)
                return NULL;
        while (f->head) {
                FlowEntry *e = f->head;
                unlink_entry(f, e);
                entry_free(e);
        }
        pthread_mutex_destroy(&f->lock);
        free(f);
        return NULL;
}

/* Under the lock: drops the expired flows at the head (they are the oldest). */
static void prune(UpstreamFlows *flows, int64_t now) {
        while (flows->head && flows->head->flow.expires_usec <= now) {
                FlowEntry *e = flows->head;
                unlink_entry(flows, e);
                entry_free(e);
        }
}

static int random_into(char *buf, size_t size) {
        _cleanup_free_ char *t = NULL;
        int r;

        r = token_random(TOKEN_RANDOM_BYTES, &t);
        if (r < 0)
                return r;
        if (strlen(t) >= size)
                return -EINVAL;
        strcpy(buf, t);
        explicit_bzero(t, strlen(t));
        return 0;
}

int upstream_flow_put(UpstreamFlows *flows, UpstreamFlow *f, int64_t now_usec) {
        FlowEntry *e;
        int r;

        if (f->kind != UPSTREAM_FLOW_AUTHORIZE && f->kind != UPSTREAM_FLOW_LINK)
                return -EINVAL;
        r = random_into(f->key, sizeof(f->key));
        if (r >= 0 && f->kind == UPSTREAM_FLOW_AUTHORIZE) {
                r = random_into(f->nonce, sizeof(f->nonce));
                if (r >= 0)
                        r = random_into(f->verifier, sizeof(f->verifier));
                if (r >= 0)
                        r = pkce_s256(f->verifier, f->challenge);
        }
        if (r < 0)
                return r;
        f->expires_usec = now_usec + UPSTREAM_FLOW_LIFETIME_USEC;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        /* The copy owns the request and the identity from here on: the
         * caller's flow keeps the key and the values it needs to send. */
        e->flow = *f;
        e->flow.request = f->request ? strdup(f->request) : NULL;
        e->flow.redirect_uri = f->redirect_uri ? strdup(f->redirect_uri) : NULL;
        if ((f->request && !e->flow.request) || (f->redirect_uri && !e->flow.redirect_uri)) {
                free(e->flow.request);
                free(e->flow.redirect_uri);
                free(e);
                return -ENOMEM;
        }
        f->identity = (UpstreamIdentity) {};

        pthread_mutex_lock(&flows->lock);
        prune(flows, now_usec);
        while (flows->n >= flows->max) {
                FlowEntry *old = flows->head;
                unlink_entry(flows, old);
                entry_free(old);
        }
        e->prev = flows->tail;
        if (flows->tail)
                flows->tail->next = e;
        else
                flows->head = e;
        flows->tail = e;
        flows->n++;
        pthread_mutex_unlock(&flows->lock);
        return 0;
}

int upstream_flow_take(UpstreamFlows *flows, UpstreamFlowKind kind, const char *key, int64_t tenant_id,
                       const char *binding, int64_t now_usec, UpstreamFlow *ret) {
        FlowEntry *e;
        size_t n;
        int r;

        if (!key || !token_is_plausible(key) || strlen(key) >= sizeof(e->flow.key))
                return -ENOENT;
        n = strlen(key);

        pthread_mutex_lock(&flows->lock);
        for (e = flows->head; e; e = e->next)
                if (e->flow.kind == kind && strlen(e->flow.key) == n && memeq_consttime(e->flow.key, key, n))
                        break;
        if (e)
                unlink_entry(flows, e);
        pthread_mutex_unlock(&flows->lock);
        if (!e)
                return -ENOENT;

        if (e->flow.expires_usec <= now_usec)
                r = -ETIME;
        else if (e->flow.tenant_id != tenant_id)
                r = -EXDEV;
        else if (isempty(binding) != isempty(e->flow.binding) ||
                 (!isempty(binding) && (strlen(binding) != strlen(e->flow.binding) ||
                                        !memeq_consttime(binding, e->flow.binding, strlen(binding)))))
                r = -EACCES;
        else
                r = 0;
        if (r < 0) {
                entry_free(e);
                return r;
        }
        *ret = e->flow;
        free(e);
        return 0;
}

size_t upstream_flows_count(UpstreamFlows *flows) {
        size_t n;

        pthread_mutex_lock(&flows->lock);
        n = flows->n;
        pthread_mutex_unlock(&flows->lock);
        return n;
}
