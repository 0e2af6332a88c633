/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "upstream-link.h"

#include <inttypes.h>
#include <stdlib.h>

#include "log.h"
#include "names.h"
#include "store-upstream.h"
#include "time-util.h"

void upstream_link_done(UpstreamLink *l) {
        if (!l)
                return;
        free(l->provider_name);
        free(l->subject);
        free(l->email);
        free(l->username);
        *l = (UpstreamLink) {};
}

void upstream_link_array_free(UpstreamLink *a, size_t n) {
        for (size_t i = 0; a && i < n; i++)
                upstream_link_done(&a[i]);
        free(a);
}

/* What an upstream says is kept only when it is plausible text: a subject
 * is an opaque string of at most 255 ASCII characters (OpenID Core 2),
 * the rest is one line of text. */
static bool valid_subject(const char *s) {
        size_t n = s ? strlen(s) : 0;

        if (n == 0 || n > UPSTREAM_LINK_SUBJECT_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
                        return false;
        return true;
}

static const char *plausible_text(const char *s) {
        return s && valid_display_text(s, UPSTREAM_LINK_TEXT_MAX) ? s : NULL;
}

int upstream_link_find(Store *s, int64_t provider_id, const char *subject, UpstreamLink *ret) {
        if (!valid_subject(subject))
                return -ENOENT;
        return store_upstream_link_find(s, provider_id, subject, ret);
}

int upstream_link_add(Store *s, int64_t tenant_id, int64_t user_id, int64_t provider_id, const char *subject,
                      const char *email, const char *username, uint64_t now_usec, int64_t *ret_id) {
        if (!valid_subject(subject))
                return -EINVAL;
        return store_upstream_link_add(s,
                                       &(UpstreamLink) {
                                               .tenant_id = tenant_id,
                                               .user_id = user_id,
                                               .provider_id = provider_id,
                                               .subject = (char *) subject,
                                               .email = (char *) plausible_text(email),
                                               .username = (char *) plausible_text(username),
                                               .created_usec = now_usec,
                                       },
                                       ret_id);
}

int upstream_link_touch(Store *s, int64_t link_id, const char *email, const char *username, uint64_t now_usec) {
        return store_upstream_link_touch(s, link_id, plausible_text(email), plausible_text(username), now_usec);
}

int upstream_link_id_format(int64_t id, char buf[static 32]) {
        snprintf(buf, 32, "idn_%" PRIi64, id);
        return 0;
}

int upstream_link_id_parse(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || !strneq(s, "idn_", 4) || s[4] < '1' || s[4] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoll(s + 4, &end, 10);
        if (errno != 0 || *end || v <= 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* The user of t with id, for the policy's "self" and the messages. */
static int user_of(Store *s, const TenantRecord *t, int64_t user_id, UserRecord **ret, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        int r;

        r = store_user_get_by_id(s, user_id, &u);
        if (r == -ENOENT || (r >= 0 && u->tenant_id != t->id))
                return tessera_error_set(e, -ENOENT, "Tenant '%s' has no such user.", t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up the user.");
        *ret = TAKE_PTR(u);
        return 0;
}

static char *qualified(const UserRecord *u) {
        char *s;
        return asprintf(&s, "%s@%s", u->name, u->tenant) < 0 ? NULL : s;
}

int upstream_link_list(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t user_id,
                       UpstreamLink **ret, size_t *ret_n, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *target = NULL;
        int r;

        r = user_of(s, t, user_id, &u, e);
        if (r < 0)
                return r;
        target = qualified(u);
        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_USER_LINK_LIST, policy_target_user(u), t->slug, target, e);
        if (r < 0)
                return r;
        r = store_upstream_link_list_user(s, t->id, u->id, ret, ret_n);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to list the linked identities of %s.", target);
        return 0;
}

static int remove_txn(Store *s, const Principal *a, const TenantRecord *t, const UserRecord *u, int64_t link_id,
                      const char *target, TesseraError *e) {
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(user_record_unrefp) UserRecord *now = NULL;
        _cleanup_free_ char *details = NULL;
        UpstreamLink *links = NULL;
        UpstreamLink l = {};
        size_t n = 0;
        char id[32];
        int r;

        upstream_link_id_format(link_id, id);
        r = change_begin(s, &txn, e);
        if (r < 0)
                return r;
        r = store_upstream_link_get(s, t->id, link_id, &l);
        if (r == -ENOENT || (r >= 0 && l.user_id != u->id)) {
                upstream_link_done(&l);
                return tessera_error_set(e, -ENOENT, "%s has no linked identity %s.", target, id);
        }
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up the linked identity %s.", id);
        /* Read again inside the transaction: a password removed or a link
         * made meanwhile counts. */
        r = store_user_get_by_id(s, u->id, &now);
        if (r >= 0)
                r = store_upstream_link_list_user(s, t->id, u->id, &links, &n);
        upstream_link_array_free(links, n);
        if (r < 0) {
                upstream_link_done(&l);
                return tessera_error_set(e, r, "Failed to look up the ways %s signs in.", target);
        }
        if (n <= 1 && !(now->password_hash && *now->password_hash)) {
                upstream_link_done(&l);
                return tessera_error_set(e, -EPERM, "%s is the only way %s signs in: set a password or link "
                                                    "another identity first.", id, target);
        }
        r = asprintf(&details, "{\"id\":\"%s\",\"provider\":\"%s\"}", id, l.provider_name);
        upstream_link_done(&l);
        if (r < 0) {
                details = NULL;
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        }
        r = store_upstream_link_delete(s, t->id, link_id);
        if (r < 0)
                return change_storage_failure(e, r, "Failed to remove the linked identity");
        return change_commit(&txn, a, "user.unlink", t->slug, target, details, e);
}

int upstream_link_remove(Manager *m, Store *s, const Principal *a, const TenantRecord *t, int64_t user_id,
                         int64_t link_id, TesseraError *e) {
        _cleanup_(user_record_unrefp) UserRecord *u = NULL;
        _cleanup_free_ char *target = NULL;
        int r;

        r = user_of(s, t, user_id, &u, e);
        if (r < 0)
                return r;
        target = qualified(u);
        if (!target)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        r = change_authorize(s, a, POLICY_USER_UNLINK, policy_target_user(u), t->slug, target, e);
        if (r < 0)
                return r;
        r = remove_txn(s, a, t, u, link_id, target, e);
        if (r < 0) {
                change_audit_failure(s, a, "user.unlink", t->slug, target, e);
                return r;
        }
        manager_changed(m, change_event_user(CHANGE_USER, u, CHANGE_UPDATED));
        log_info("Removed a linked identity of %s.", target);
        return 0;
}
