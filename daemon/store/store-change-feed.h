/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Changes made by the other instances on one shared database. Several
 * tesserad may run on one PostgreSQL database; each caches what it read
 * (the NSS memory image, applications, key sets), so each must learn of
 * what another committed. The feed carries short texts between the
 * instances of one database, and leaves their meaning to the caller (the
 * core: change-feed.h): send() hands one to every other instance, and the
 * function given at creation gets, on the feed's own thread, each one
 * another instance sent. PostgreSQL carries them as NOTIFY on one
 * channel, listened to on a connection of the feed's own. SQLite is one
 * instance's own file: there is no feed (store_change_feed_new() gives
 * NULL), nothing to send and nothing to hear.
 *
 * Notifications reach only a session that listens at the moment they are
 * committed. When the listening session breaks (the server restarted, a
 * failover, pg_terminate_backend()) and is made again, what was sent
 * meanwhile is lost: then the function is called with NULL, "anything may
 * have changed", and the caller must drop everything it caches. */

#include "macro.h"
#include "store-config.h"

typedef struct StoreChangeFeed StoreChangeFeed;

/* payload: the text another instance sent; NULL: notifications may have
 * been missed. Runs on the feed's thread. */
typedef void (*StoreChangeFunc)(const char *payload, void *userdata);

/* The longest text send() takes (PostgreSQL's limit on a payload, 8000
 * bytes, less what the feed adds). */
#define STORE_CHANGE_PAYLOAD_MAX 7900

/* Sets up the feed of the database c names: 0 with *ret NULL when the
 * backend has none (SQLite). For PostgreSQL: connects the sending and the
 * listening sessions now and listens, so that whatever is committed from
 * here on reaches func once store_change_feed_start() runs (notifications
 * wait in the session until then). A listening session that cannot be
 * made now is made by the thread later (and func(NULL) is called then). */
int store_change_feed_new(const StoreConfig *c, StoreChangeFunc func, void *userdata, StoreChangeFeed **ret);
/* Starts the thread that calls func. Accepts NULL. */
int store_change_feed_start(StoreChangeFeed *f);
/* Stops the thread (func is not called any more when this returns) and
 * closes the sessions. Accepts NULL. */
StoreChangeFeed *store_change_feed_free(StoreChangeFeed *f);
DEFINE_TRIVIAL_CLEANUP_FUNC(StoreChangeFeed *, store_change_feed_free);

/* Sends payload (text of at most STORE_CHANGE_PAYLOAD_MAX bytes, no NUL)
 * to the other instances; this instance's own feed does not call func
 * with it. From any thread. 0 when f is NULL. -E2BIG for a payload too
 * long; a failure to reach the database as db.h says (-ENOTCONN, ...):
 * the other instances then miss this change. */
int store_change_feed_send(StoreChangeFeed *f, const char *payload);

/* The random id of this instance that the feed's texts carry (16 hex
 * digits), for messages; "" when f is NULL. */
const char *store_change_feed_instance(const StoreChangeFeed *f);
