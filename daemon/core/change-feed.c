/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "change-feed.h"

#include <jansson.h>
#include <string.h>

#include "json-text.h"
#include "log.h"
#include "manager.h"
#include "store-change-feed.h"

int change_event_encode(const ChangeEvent *e, char **ret) {
        JsonText j;
        char *text;

        /* Short keys: a burst of changes is a burst of notifications. */
        json_text_begin(&j);
        json_text_str(&j, "k", change_kind_to_string(e->kind) ?: "everything");
        json_text_str(&j, "o", change_op_to_string(e->op) ?: "updated");
        json_text_int(&j, "ti", e->tenant_id);
        if (e->tenant)
                json_text_str(&j, "t", e->tenant);
        json_text_int(&j, "i", e->id);
        if (e->name)
                json_text_str(&j, "n", e->name);
        json_text_int(&j, "u", e->unix_id);
        text = json_text_end(&j);
        if (!text)
                return -ENOMEM;
        /* Names are short (names.h), so this does not happen; if it did,
         * the event goes without its names: the kind and the tenant
         * still make every cache of that kind drop it. */
        if (strlen(text) > STORE_CHANGE_PAYLOAD_MAX) {
                ChangeEvent shorter = *e;

                free(text);
                if (!e->tenant && !e->name)
                        return -E2BIG;
                shorter.tenant = shorter.name = NULL;
                return change_event_encode(&shorter, ret);
        }
        *ret = text;
        return 0;
}

static int int_field(json_t *o, const char *key, int64_t min, int64_t max, int64_t *ret) {
        json_t *v = json_object_get(o, key);

        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return -EBADMSG;
        *ret = json_integer_value(v);
        return 0;
}

static int string_field(json_t *o, const char *key, const char **ret) {
        json_t *v = json_object_get(o, key);

        if (!v) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return -EBADMSG;
        *ret = json_string_value(v);
        return 0;
}

int change_event_decode(const char *text, ChangeEvent *ret, json_t **ret_json) {
        json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        ChangeEvent e = { .remote = true };
        int64_t tenant_id, id, unix_id;
        int kind, op, r;

        if (!json_is_object(o)) {
                json_decref(o);
                return -EBADMSG;
        }
        r = int_field(o, "ti", INT64_MIN, INT64_MAX, &tenant_id);
        if (r >= 0)
                r = int_field(o, "i", INT64_MIN, INT64_MAX, &id);
        if (r >= 0)
                r = int_field(o, "u", 0, UINT32_MAX, &unix_id);
        if (r >= 0)
                r = string_field(o, "t", &e.tenant);
        if (r >= 0)
                r = string_field(o, "n", &e.name);
        if (r >= 0 && (!json_is_string(json_object_get(o, "k")) || !json_is_string(json_object_get(o, "o"))))
                r = -EBADMSG;
        if (r < 0) {
                json_decref(o);
                return r;
        }
        kind = change_kind_from_string(json_string_value(json_object_get(o, "k")));
        op = change_op_from_string(json_string_value(json_object_get(o, "o")));
        if (kind < 0 || op < 0) {
                json_decref(o);
                return -EOPNOTSUPP;
        }
        e.kind = kind;
        e.op = op;
        e.tenant_id = tenant_id;
        e.id = id;
        e.unix_id = (uint32_t) unix_id;
        *ret = e;
        *ret_json = o;
        return 0;
}

/* On the feed's thread: another instance's change, announced here as if
 * made here, but marked remote. */
static void on_remote_change(const char *payload, void *userdata) {
        Manager *m = userdata;
        json_t *json = NULL;
        ChangeEvent e;
        int r;

        r = payload ? change_event_decode(payload, &e, &json) : -ESTALE;
        if (r < 0) {
                /* A form we do not read (a newer instance's kind of
                 * change), or notifications missed: whatever it was,
                 * dropping everything is right. */
                if (r != -ESTALE)
                        log_warning_errno(r, "Ignoring the details of a change notification of another instance "
                                             "(%.64s), dropping every cache instead: %m", payload);
                e = (ChangeEvent) { .kind = CHANGE_EVERYTHING, .op = CHANGE_UPDATED, .remote = true };
        }
        log_debug("Change of another instance: %s %s %s/%s.", change_kind_to_string(e.kind),
                  change_op_to_string(e.op), strna(e.tenant), strna(e.name));
        /* A local rotation bumps the key sets' generation itself (key-set.c). */
        if (e.kind == CHANGE_SIGNING_KEYS || e.kind == CHANGE_EVERYTHING)
                atomic_fetch_add(&m->keys_generation, 1);
        manager_changed(m, e);
        json_decref(json);
}

int change_feed_setup(Manager *m) {
        int r;

        r = store_change_feed_new(&m->config->store, on_remote_change, m, &m->change_feed);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the change feed between instances: %m");
        if (m->change_feed)
                log_info("Sharing changes with the other instances on the database (this one is %s).",
                         store_change_feed_instance(m->change_feed));
        return 0;
}

int change_feed_start(Manager *m) {
        int r;

        r = store_change_feed_start(m->change_feed);
        if (r < 0)
                return log_error_errno(r, "Failed to start following the changes of other instances: %m");
        return 0;
}

void change_feed_stop(Manager *m) {
        m->change_feed = store_change_feed_free(m->change_feed);
}

void change_feed_send(Manager *m, const ChangeEvent *e) {
        _cleanup_free_ char *text = NULL;
        int r;

        if (!m->change_feed || e->remote)
                return;
        r = change_event_encode(e, &text);
        if (r < 0) {
                log_error_errno(r, "Failed to encode a change for the other instances: %m");
                return;
        }
        /* Logged by the feed when it fails. */
        (void) store_change_feed_send(m->change_feed, text);
}
