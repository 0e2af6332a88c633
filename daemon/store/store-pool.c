/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "store-pool.h"

#include <pthread.h>
#include <stdlib.h>

/* One thread's connection, the value of the pool's thread key; linked into
 * the pool so that freeing the pool closes the connections of threads
 * that are still running (the main thread's). */
typedef struct ThreadStore {
        StorePool *pool;
        Store *store;
        struct ThreadStore *prev, *next;
} ThreadStore;

struct StorePool {
        StoreConfig config;
        char *description;

        pthread_key_t key;
        bool key_made;
        pthread_mutex_t lock;     /* guards threads */
        ThreadStore *threads;
};

static void thread_store_unlink(ThreadStore *t) {
        StorePool *p = t->pool;

        pthread_mutex_lock(&p->lock);
        if (t->prev)
                t->prev->next = t->next;
        else
                p->threads = t->next;
        if (t->next)
                t->next->prev = t->prev;
        pthread_mutex_unlock(&p->lock);
}

/* The thread key's destructor: the thread ends, its connection goes. */
static void thread_store_free(void *userdata) {
        ThreadStore *t = userdata;

        thread_store_unlink(t);
        store_close(t->store);
        free(t);
}

int store_pool_new(const StoreConfig *c, StorePool **ret) {
        _cleanup_(store_pool_freep) StorePool *p = NULL;
        int r;

        p = calloc(1, sizeof(StorePool));
        if (!p)
                return -ENOMEM;
        pthread_mutex_init(&p->lock, NULL);
        r = store_config_copy(&p->config, c);
        if (r < 0)
                return r;
        r = store_config_describe(c, &p->description);
        if (r < 0)
                return r;
        r = pthread_key_create(&p->key, thread_store_free);
        if (r != 0)
                return -r;
        p->key_made = true;

        *ret = TAKE_PTR(p);
        return 0;
}

StorePool *store_pool_free(StorePool *p) {
        if (!p)
                return NULL;
        /* No destructor runs for the key from here on; the threads that
         * still hold a connection are this one and others that outlive
         * the pool without using it. */
        if (p->key_made)
                pthread_key_delete(p->key);
        while (p->threads) {
                ThreadStore *t = p->threads;
                p->threads = t->next;
                store_close(t->store);
                free(t);
        }
        pthread_mutex_destroy(&p->lock);
        store_config_done(&p->config);
        free(p->description);
        free(p);
        return NULL;
}

int store_pool_thread(StorePool *p, Store **ret) {
        ThreadStore *t = pthread_getspecific(p->key);
        int r;

        if (t) {
                *ret = t->store;
                return 0;
        }

        t = calloc(1, sizeof(ThreadStore));
        if (!t)
                return -ENOMEM;
        t->pool = p;
        r = store_open(&p->config, &t->store);
        if (r < 0) {
                free(t);
                return r;
        }
        r = pthread_setspecific(p->key, t);
        if (r != 0) {
                store_close(t->store);
                free(t);
                return -r;
        }
        pthread_mutex_lock(&p->lock);
        t->next = p->threads;
        if (t->next)
                t->next->prev = t;
        p->threads = t;
        pthread_mutex_unlock(&p->lock);

        *ret = t->store;
        return 0;
}

int store_pool_open(StorePool *p, Store **ret) {
        return store_open(&p->config, ret);
}

const char *store_pool_describe(const StorePool *p) {
        return p->description;
}
