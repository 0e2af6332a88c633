/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "user-search.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "names.h"
#include "time-util.h"

static const char *const sort_names[_USER_SORT_MAX] = {
        [USER_SORT_NAME] = "name",
        [USER_SORT_CREATED] = "created",
};

const char *user_sort_to_string(UserSort s) {
        return s >= 0 && s < _USER_SORT_MAX ? sort_names[s] : NULL;
}

UserSort user_sort_from_string(const char *s) {
        for (int i = 0; s && i < _USER_SORT_MAX; i++)
                if (streq(s, sort_names[i]))
                        return (UserSort) i;
        return _USER_SORT_INVALID;
}

int user_search_scope(const TenantRecord *t, const UserQuery *q, char **ret) {
        /* The prefix last: it may hold ':'. */
        return asprintf(ret, "users:%" PRIi64 ":%s:%d:%d:%" PRIi64 ":%" PRIi64 ":%s", t->id,
                        strna(user_sort_to_string(q->sort)), q->state, q->role, q->created_after, q->created_before,
                        strempty(q->prefix)) < 0
                       ? -ENOMEM
                       : 0;
}

void user_search_position(const UserQuery *q, const UserRecord *u, Cursor *ret) {
        bool by_address;

        if (q->sort == USER_SORT_CREATED) {
                *ret = (Cursor) { .number = u->created_usec, .id = u->id };
                return;
        }
        /* Names are lower case; the prefix may not be. */
        by_address = !isempty(q->prefix) && strncasecmp(u->name, q->prefix, strlen(q->prefix)) != 0;
        *ret = (Cursor) { .number = by_address, .text = by_address ? u->email : u->name, .id = u->id };
}

int user_search_continue(UserQuery *q, const Cursor *c) {
        if (q->sort == USER_SORT_CREATED) {
                q->after_created = c->number;
                q->after_id = c->id;
        } else {
                if (!c->text || c->number < 0 || c->number > 1 || (c->number == 1 && isempty(q->prefix)))
                        return -EINVAL;
                q->after_phase = (int) c->number;
                if (c->number == 1)
                        q->after_email = c->text;
                else
                        q->after_name = c->text;
                q->after_id = c->id;
        }
        q->after = true;
        return 0;
}

static int validate(const UserQuery *q, TesseraError *e) {
        if (!isempty(q->prefix) && (strlen(q->prefix) > USER_SEARCH_PREFIX_MAX ||
                          !valid_display_text(q->prefix, USER_SEARCH_PREFIX_MAX)))
                return tessera_error_set(e, -EINVAL,
                                         "The search text must be at most %d bytes of UTF-8 without control "
                                         "characters.",
                                         USER_SEARCH_PREFIX_MAX);
        if (q->sort < 0 || q->sort >= _USER_SORT_MAX)
                return tessera_error_set(e, -EINVAL, "Sort by name or created.");
        if (q->state < -1 || q->state >= _USER_STATE_MAX)
                return tessera_error_set(e, -EINVAL, "The state is one of active, disabled, locked, expired.");
        if (q->role < -1 || q->role >= _USER_ROLE_MAX)
                return tessera_error_set(e, -EINVAL, "The role is one of member, admin, owner.");
        if (q->created_after < 0 || q->created_before < 0 ||
            (q->created_after > 0 && q->created_before > 0 && q->created_before <= q->created_after))
                return tessera_error_set(e, -EINVAL, "created_before must lie after created_after.");
        if (q->limit == 0)
                return tessera_error_set(e, -EINVAL, "A page holds at least one user.");
        if (q->after && q->sort == USER_SORT_NAME && !(q->after_phase == 1 ? q->after_email : q->after_name))
                return tessera_error_set(e, -EINVAL, "The position to continue after has no name.");
        return 0;
}

int user_search(Manager *m, Store *s, const Principal *p, const TenantRecord *t, const UserQuery *q,
                UserRecord ***ret, size_t *ret_n, TesseraError *e) {
        _cleanup_free_ char *prefix = NULL;
        UserQuery query = *q;
        int r;

        r = change_authorize(s, p, POLICY_USER_LIST, policy_target_tenant(t->id), t->slug, t->slug, e);
        if (r < 0)
                return r;
        r = validate(q, e);
        if (r < 0)
                return r;

        /* An empty prefix is every user. */
        if (!isempty(q->prefix)) {
                prefix = strdup(q->prefix);
                if (!prefix)
                        return tessera_error_set(e, -ENOMEM, "Out of memory.");
                for (char *c = prefix; *c; c++)
                        if (*c >= 'A' && *c <= 'Z')
                                *c = (char) (*c - 'A' + 'a');
        }
        query.prefix = prefix;
        query.tenant_id = t->id;
        query.now_usec = now_realtime_usec();

        r = store_user_search(s, &query, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the users of tenant '%s'.", t->slug);
        return 0;
}
