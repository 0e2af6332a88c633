/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Change events across the instances of one database. Several tesserad
 * may share one PostgreSQL database (the README's "Scaling out"); each
 * announces its own committed changes on its event bus (events.h), and
 * caches what it read. So each instance also sends its changes to the
 * others (the store's change feed, store-change-feed.h: NOTIFY), and
 * announces theirs on its own bus, marked remote (never sent on again):
 * the D-Bus signals of its host, its NSS memory image, the caches of its
 * HTTP threads (applications, tenants, key sets, verified tokens: by
 * Manager.generation and keys_generation) and of its D-Bus objects
 * follow, as they follow local changes.
 *
 * When notifications may have been missed (the listening session broke
 * and was made again), a CHANGE_EVERYTHING event drops every cache.
 * SQLite has one instance: no feed, nothing sent. */

#include <jansson.h>

#include "events.h"

typedef struct Manager Manager;

/* Sets up the feed on m->config->store (nothing for SQLite): listening
 * from now on, before the faces load their caches. */
int change_feed_setup(Manager *m);
/* Starts announcing the others' changes: once every subscriber of the
 * bus is subscribed (the faces started). */
int change_feed_start(Manager *m);
/* Stops announcing: before the subscribers go. */
void change_feed_stop(Manager *m);

/* Sends a local change to the other instances (manager_changed() does,
 * for every event that is not remote). A failure is logged: the change
 * stays committed, and the others see it at their next change of the
 * same records or reload. */
void change_feed_send(Manager *m, const ChangeEvent *e);

/* The text an event travels as (JSON, escaped), and back. Exposed for
 * the tests. Decoding gives strings that point into *ret_json (free
 * with json_decref()): -EBADMSG for a text of another form,
 * -EOPNOTSUPP for a kind or operation this version does not know (a
 * newer instance's: then drop everything). */
int change_event_encode(const ChangeEvent *e, char **ret);
int change_event_decode(const char *text, ChangeEvent *ret, json_t **ret_json);
