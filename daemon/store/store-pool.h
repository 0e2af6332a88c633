/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The store's connections, handed out from one place. A Store is one
 * connection, for one thread at a time (store.h); the pool gives each
 * thread that asks its own, opened on first use with the statement cache
 * of that connection, and closes it when the thread ends or the pool is
 * freed. A thread that must keep a connection of its own beside its
 * thread's one (a writer thread, the audit retention) opens a dedicated
 * one. What a connection is (a file, a server) is the backend's business,
 * chosen by the StoreConfig alone.
 *
 *     store_pool_new(&config->store, &pool);
 *     store_pool_thread(pool, &s);      this thread's, borrowed
 *     store_pool_open(pool, &own);      a dedicated one: store_close() it
 */

#include "macro.h"
#include "store-config.h"
#include "store.h"

typedef struct StorePool StorePool;

/* Copies c; opens nothing yet (the first store_pool_thread() or
 * store_pool_open() does, and reports what fails). */
int store_pool_new(const StoreConfig *c, StorePool **ret);
/* Closes the connections of every thread still holding one. Call once no
 * other thread uses the pool any more. */
StorePool *store_pool_free(StorePool *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(StorePool *, store_pool_free);

/* The calling thread's connection: borrowed, valid until the thread ends
 * or the pool is freed. Opened (and the schema migrated) on a thread's
 * first call; a failure is logged and the next call tries again. */
int store_pool_thread(StorePool *p, Store **ret);

/* A connection of its own for the caller, who closes it with
 * store_close() before freeing the pool. */
int store_pool_open(StorePool *p, Store **ret);

/* What the pool connects to, for messages: "sqlite /var/lib/tessera/tessera.db". */
const char *store_pool_describe(const StorePool *p);
