/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bus-util.h"

#include <assert.h>
#include <grp.h>
#include <stdlib.h>

#include "bus-errors.h"
#include "escape.h"
#include "log.h"
#include "names.h"

/* The admin group is looked up at each check, so that a group created or
 * renamed after start-up counts. tesserad resolves with its own NSS module
 * bypassed, so this never waits on itself. */
static bool creds_in_admin_group(const Config *config, sd_bus_creds *creds) {
        char buf[16384];
        struct group grp, *result = NULL;
        const gid_t *gids = NULL;
        gid_t egid;
        int n;

        if (isempty(config->admin_group) ||
            getgrnam_r(config->admin_group, &grp, buf, sizeof(buf), &result) != 0 || !result)
                return false;

        if (sd_bus_creds_get_egid(creds, &egid) >= 0 && egid == result->gr_gid)
                return true;
        n = sd_bus_creds_get_supplementary_gids(creds, &gids);
        for (int i = 0; i < n; i++)
                if (gids[i] == result->gr_gid)
                        return true;
        return false;
}

int bus_caller_get(BusFace *f, sd_bus_message *msg, BusCaller *ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        const char *sender = sd_bus_message_get_sender(msg);
        uint64_t cookie = 0;
        uid_t uid;
        int r;

        *ret = (BusCaller) { .uid = -1 };
        snprintf(ret->sender, sizeof(ret->sender), "%s", strempty(sender));

        if (sd_bus_message_get_cookie(msg, &cookie) >= 0 && cookie != 0 && sender &&
            f->caller_cache.cookie == cookie && streq(f->caller_cache.sender, sender)) {
                ret->uid = f->caller_cache.uid;
                ret->admin_group = f->caller_cache.admin_group;
                return 0;
        }

        /* The bus gives the uid the peer had when it connected; the groups
         * come from /proc (AUGMENT), as polkit reads them too. */
        r = sd_bus_query_sender_creds(msg,
                                      SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID | SD_BUS_CREDS_EGID |
                                              SD_BUS_CREDS_SUPPLEMENTARY_GIDS | SD_BUS_CREDS_PID |
                                              SD_BUS_CREDS_AUGMENT,
                                      &creds);
        if (r < 0)
                return log_warning_errno(r, "Failed to get the credentials of %s: %m", ESC(sender));

        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                r = sd_bus_creds_get_uid(creds, &uid);
        if (r < 0)
                return log_warning_errno(r, "The bus gave no uid for %s: %m", ESC(sender));

        ret->uid = uid;
        ret->admin_group = uid == 0 || creds_in_admin_group(f->manager->config, creds);

        if (cookie != 0 && sender) {
                snprintf(f->caller_cache.sender, sizeof(f->caller_cache.sender), "%s", sender);
                f->caller_cache.cookie = cookie;
                f->caller_cache.uid = ret->uid;
                f->caller_cache.admin_group = ret->admin_group;
        }
        return 0;
}

int bus_reply_tessera_error(sd_bus_error *error, const TesseraError *e) {
        return bus_error_set(error, e->code < 0 ? e->code : -EIO, tessera_error_message(e));
}

int bus_tenant_path(const char *slug, char **ret) {
        return sd_bus_path_encode(TESSERA_BUS_TENANT_PREFIX, slug, ret);
}

int bus_user_path(const char *tenant, const char *name, char **ret) {
        return sd_bus_path_encode_many(ret, TESSERA_BUS_USER_PREFIX "/%/%", tenant, name);
}

int bus_group_path(const char *tenant, const char *name, char **ret) {
        return sd_bus_path_encode_many(ret, TESSERA_BUS_GROUP_PREFIX "/%/%", tenant, name);
}

static void *cache_get(BusRecordCache *c, uint64_t generation, const char *path) {
        if (c->record && c->generation == generation && c->path && streq(c->path, path))
                return c->record;
        return NULL;
}

/* Takes record: the cache owns it from now on, or it is freed. */
static int cache_put(BusRecordCache *c, uint64_t generation, const char *path, void *record, void *(*unref)(void *)) {
        char *p = strdup(path);

        if (!p) {
                /* Nobody would own the record the caller is about to lend. */
                if (unref)
                        unref(record);
                return -ENOMEM;
        }
        if (c->record && c->unref)
                c->unref(c->record);
        free(c->path);
        *c = (BusRecordCache) {
                .path = p,
                .record = record,
                .unref = unref,
                .generation = generation,
        };
        return 0;
}

int bus_find_cached(BusFace *f, BusRecordCache *c, const char *path, BusLoadFunc load, void *(*unref)(void *),
                    void **found, sd_bus_error *error) {
        /* Read before the load: a change that commits on another thread
         * while we read the store bumps the generation past this one, so
         * that a record that missed it is not kept as current. */
        uint64_t generation = atomic_load(&f->manager->generation);
        void *record = cache_get(c, generation, path);
        int r;

        if (!record) {
                r = load(f->manager, path, &record);
                if (r == -ENOENT)
                        return 0;
                if (r < 0) {
                        TesseraError e = {};

                        tessera_error_set(&e, r, "Failed to read %s.", path);
                        return bus_error_set(error, r, tessera_error_message(&e));
                }
                r = cache_put(c, generation, path, record, unref);
                if (r < 0)
                        return r;
        }
        *found = record;
        return 1;
}

const char *bus_text(const char *s, char **buf) {
        size_t n;

        *buf = NULL;
        if (!s)
                return "";
        if (utf8_is_valid(s))
                return s;
        /* Each byte becomes at most four ("\xNN"): nothing is cut. */
        n = MAX(4 * strlen(s) + 1, (size_t) 8);
        *buf = malloc(n);
        if (!*buf)
                return "";
        return escape_controls(s, *buf, n);
}

int bus_property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        _cleanup_free_ char *buf = NULL;
        return sd_bus_message_append(reply, "s", bus_text(*(char **) userdata, &buf));
}

int bus_property_get_strv(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        STRV_FOREACH(s, *(char ***) userdata) {
                _cleanup_free_ char *buf = NULL;
                r = sd_bus_message_append(reply, "s", bus_text(*s, &buf));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

int bus_property_get_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", (int) *(bool *) userdata);
}

int bus_property_get_usec(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        int64_t v = *(int64_t *) userdata;
        return sd_bus_message_append(reply, "t", (uint64_t) (v > 0 ? v : 0));
}

int bus_property_get_uint32(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "u", *(uint32_t *) userdata);
}

int bus_reply_paths(sd_bus_message *msg, char **paths) {
        return bus_reply_paths_and_string(msg, paths, NULL);
}

int bus_reply_paths_and_string(sd_bus_message *msg, char **paths, const char *s) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        STRV_FOREACH(p, paths) {
                r = sd_bus_message_append(reply, "o", *p);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r >= 0 && s)
                r = sd_bus_message_append(reply, "s", s);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int read_attribute_value(sd_bus_message *msg, const BusAttribute *a, TesseraError *e) {
        const char *contents = NULL;
        char sig[3] = { a->type, a->type == 'a' ? 's' : 0, 0 };
        int r;

        r = sd_bus_message_peek_type(msg, NULL, &contents);
        if (r < 0)
                return tessera_error_set(e, r, "Malformed attribute '%s'.", a->name);
        if (!contents || !streq(contents, sig))
                return tessera_error_set(e, -EINVAL, "Attribute '%s' must be of D-Bus type '%s', not '%s'.", a->name,
                                         sig, strna(contents));

        switch (a->type) {
        case 's':
                r = sd_bus_message_read(msg, "v", "s", (const char **) a->dest);
                break;
        case 'u':
                r = sd_bus_message_read(msg, "v", "u", (uint32_t *) a->dest);
                break;
        case 'b': {
                int b;
                r = sd_bus_message_read(msg, "v", "b", &b);
                if (r >= 0)
                        *(int *) a->dest = !!b;
                break;
        }
        case 't': {
                uint64_t t;
                r = sd_bus_message_read(msg, "v", "t", &t);
                if (r >= 0 && t > INT64_MAX)
                        return tessera_error_set(e, -EINVAL, "Attribute '%s' is out of range.", a->name);
                if (r >= 0)
                        *(int64_t *) a->dest = (int64_t) t;
                break;
        }
        case 'a': {
                char **l = NULL;
                r = sd_bus_message_enter_container(msg, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_read_strv(msg, &l);
                if (r >= 0)
                        r = sd_bus_message_exit_container(msg);
                if (r >= 0) {
                        strv_free(*(char ***) a->dest);
                        *(char ***) a->dest = l;
                } else
                        strv_free(l);
                break;
        }
        default:
                return tessera_error_set(e, -EINVAL, "Attribute '%s' has an unsupported type.", a->name);
        }
        return r < 0 ? tessera_error_set(e, r, "Malformed attribute '%s'.", a->name) : 0;
}

int bus_read_attributes(sd_bus_message *msg, const BusAttribute *table, size_t n, TesseraError *e) {
        uint64_t seen;
        return bus_read_attributes_seen(msg, table, n, &seen, e);
}

int bus_read_attributes_seen(sd_bus_message *msg, const BusAttribute *table, size_t n, uint64_t *ret_seen,
                             TesseraError *e) {
        uint64_t seen = 0;
        int r;

        assert(n <= 64);

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return tessera_error_set(e, r, "Malformed attribute dictionary.");

        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key;
                size_t i;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return tessera_error_set(e, r, "Malformed attribute dictionary.");

                for (i = 0; i < n; i++)
                        if (streq(key, table[i].name))
                                break;
                if (i >= n)
                        return tessera_error_set(e, -EINVAL, "Unknown attribute '%.64s'.", key);
                if (seen & (UINT64_C(1) << i))
                        return tessera_error_set(e, -EINVAL, "Attribute '%s' is given twice.", key);
                seen |= UINT64_C(1) << i;

                r = read_attribute_value(msg, &table[i], e);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return tessera_error_set(e, r, "Malformed attribute dictionary.");
        }
        if (r < 0)
                return tessera_error_set(e, r, "Malformed attribute dictionary.");
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return tessera_error_set(e, r, "Malformed attribute dictionary.");
        *ret_seen = seen;
        return 0;
}
