/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The policy at the door of every route: before a handler runs, the
 * records its captures name are looked up, the request's principal is
 * made from its credentials, and the one policy (core/policy.c) decides on
 * the route's action. A refusal is answered here, 401 with a Bearer
 * challenge (RFC 6750) for a request without valid credentials, 403 for one
 * whose principal may not, and audited (change_authorize) before the reply
 * goes out. Handlers only run for what is allowed. */

#include <stdlib.h>

#include "group.h"
#include "http-internal.h"
#include "user.h"

/* "usr_42", "grp_7": the prefixed id of a record, as the JSON API shows it
 * (api_user_json()); 0 when s is not one. */
static int64_t prefixed_id(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        char *end;
        long long v;

        if (!strneq(s, prefix, n) || s[n] < '1' || s[n] > '9')
                return 0;
        errno = 0;
        v = strtoll(s + n, &end, 10);
        return errno == 0 && *end == '\0' && v > 0 ? (int64_t) v : 0;
}

int http_user_lookup(HttpRequest *req, Store *s, const TenantRecord *t, const char *name_or_id, UserRecord **ret,
                     TesseraError *e) {
        int64_t id = prefixed_id(name_or_id, "usr_");
        UserRecord *u = NULL;
        int r;

        if (id == 0)
                return user_lookup(req->manager, s, t->slug, name_or_id, ret, e);
        /* Ids are global: one of another tenant is no user of this one. */
        r = store_user_get_by_id(s, id, &u);
        if (r >= 0 && u->tenant_id != t->id) {
                user_record_unref(u);
                r = -ENOENT;
        }
        if (r == -ENOENT)
                return tessera_error_set(e, r, "User '%s@%s' does not exist.", name_or_id, t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up user '%s@%s'.", name_or_id, t->slug);
        *ret = u;
        return 0;
}

int http_group_lookup(HttpRequest *req, Store *s, const TenantRecord *t, const char *name_or_id, GroupRecord **ret,
                      TesseraError *e) {
        int64_t id = prefixed_id(name_or_id, "grp_");
        GroupRecord *g = NULL;
        int r;

        if (id == 0)
                return group_lookup(req->manager, s, t->slug, name_or_id, ret, e);
        r = store_group_get_by_id(s, id, &g);
        if (r >= 0 && g->tenant_id != t->id) {
                group_record_unref(g);
                r = -ENOENT;
        }
        if (r == -ENOENT)
                return tessera_error_set(e, r, "Group '%s@%s' does not exist.", name_or_id, t->slug);
        if (r < 0)
                return tessera_error_set(e, r, "Failed to look up group '%s@%s'.", name_or_id, t->slug);
        *ret = g;
        return 0;
}

typedef struct Refusal {
        const Principal *principal;   /* the request's, which outlives the write */
        PolicyAction action;
        PolicyTarget target;
        char *tenant, *target_name;
        const char *key_refused;      /* an API key not taken: why, for the record */
} Refusal;

static void refusal_free(Refusal *f) {
        if (!f)
                return;
        free(f->tenant);
        free(f->target_name);
        free(f);
}

/* On the writer thread, in its batch: the one authorization function of
 * every door decides again (the same way) and records the refusal. */
static int refusal_write(Store *s, void *userdata) {
        Refusal *f = userdata;
        TesseraError e = {};
        int r;

        /* A key that was not taken is refused whatever the route allows
         * anonymous callers: recorded as such. */
        if (f->key_refused)
                return change_audit(s, f->principal, policy_action_to_string(f->action), f->tenant, f->target_name,
                                    AUDIT_DENIED, f->key_refused);
        r = change_authorize(s, f->principal, f->action, f->target, f->tenant, f->target_name, &e);
        /* -EACCES is the refusal recorded: returning it would roll the
         * record back with the write's savepoint. */
        return r == -EACCES ? 0 : r;
}

static void refusal_done(HttpRequest *req, int result, void *userdata) {
        /* The prepared refusal goes out only now that its record is
         * durable; a record that failed fails the reply too. */
        if (result < 0)
                http_reply_internal_error(req, result);
        refusal_free(userdata);
}

static void audit_refusal(HttpRequest *req, const Principal *p, PolicyAction action, PolicyTarget target,
                          const char *target_name, const char *key_refused) {
        Refusal *f = calloc(1, sizeof(Refusal));
        int r;

        if (f) {
                *f = (Refusal) { .principal = p, .action = action, .target = target, .key_refused = key_refused };
                f->tenant = req->tenant_slug[0] ? strdup(req->tenant_slug) : NULL;
                f->target_name = target_name ? strdup(target_name) : NULL;
        }
        if (!f || (req->tenant_slug[0] && !f->tenant) || (target_name && !f->target_name)) {
                refusal_free(f);
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        r = http_write_async(req, refusal_write, refusal_done, f);
        if (r < 0) {
                refusal_free(f);
                http_reply_internal_error(req, r);
        }
}

static void reply_refusal(HttpRequest *req, const Principal *p, PolicyAction action, const PolicyTarget *t,
                          const char *target_name) {
        const char *realm = req->tenant_slug[0] ? req->tenant_slug : "tessera", *scope;
        char message[256], challenge[256];

        if (p->kind == PRINCIPAL_ANONYMOUS) {
                /* RFC 6750 3.1: without credentials, the challenge carries
                 * no error; with a token that is not valid, invalid_token. */
                int error = req->auth->error;

                if (error == -EKEYREVOKED || error == -EKEYEXPIRED || error == -ENOLCK) {
                        /* A token that was good, of an account that can't
                         * be used now (an administrator disabled it, say):
                         * refused from the first use after, with the
                         * account's state as the code, the same as a
                         * sign-in would get. Still RFC 6750's
                         * invalid_token for a generic client. */
                        const HttpErrorMap *m = http_error_map(error);

                        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, m->code, NULL, "%s", m->message);
                        snprintf(challenge, sizeof(challenge),
                                 "Bearer realm=\"%s\", error=\"invalid_token\", error_description=\"%s\"", realm,
                                 m->message);
                } else if (error == -EKEYREJECTED || error == -ETIME) {
                        const char *why = req->auth->error == -ETIME ? "The access token has expired."
                                                                     : "The access token is not valid here.";

                        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "invalid_token", NULL, "%s", why);
                        snprintf(challenge, sizeof(challenge),
                                 "Bearer realm=\"%s\", error=\"invalid_token\", error_description=\"%s\"", realm, why);
                } else {
                        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, "unauthenticated", NULL,
                                         "This needs credentials: send an access token as Authorization: Bearer.");
                        snprintf(challenge, sizeof(challenge), "Bearer realm=\"%s\"", realm);
                }
                http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
                return;
        }

        /* Nothing of one tenant is accepted in another: said as such, not
         * as a missing scope or role. */
        if (principal_tenant_bound(p) && t->tenant_id > 0 && t->tenant_id != p->tenant_id) {
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", NULL,
                                 "These credentials belong to another tenant.");
                return;
        }
        policy_refusal_message(p, action, target_name, message, sizeof(message));
        scope = policy_action_scope(action);
        if ((p->kind == PRINCIPAL_CLIENT || p->kind == PRINCIPAL_API_KEY) && scope) {
                /* RFC 6750 3.1: insufficient_scope names the scope needed.
                 * An API key's refusal says so in its code too (a client
                 * token's kept "forbidden", which its clients know). */
                http_reply_error(req, MHD_HTTP_FORBIDDEN,
                                 p->kind == PRINCIPAL_API_KEY ? "insufficient_scope" : "forbidden",
                                 json_pack("{s:s}", "required_scope", scope), "%s", message);
                snprintf(challenge, sizeof(challenge), "Bearer realm=\"%s\", error=\"insufficient_scope\", scope=\"%s\"",
                         realm, scope);
                http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
                return;
        }
        http_reply_error(req, MHD_HTTP_FORBIDDEN, "forbidden", NULL, "%s", message);
}

/* A presented API key that was not taken: 401 with its own code (or 403
 * for a publishable key from an origin its application does not allow),
 * whatever the route would allow without it. Returns the reason recorded. */
static const char *reply_key_refused(HttpRequest *req) {
        const char *realm = req->tenant_slug[0] ? req->tenant_slug : "tessera", *code, *why;
        char challenge[256];

        switch (req->auth->error) {
        case -EKEYREVOKED:
                code = "api_key_revoked";
                why = "The API key was revoked, or rotated and its overlap is over.";
                break;
        case -EKEYEXPIRED:
                code = "api_key_expired";
                why = "The API key has expired.";
                break;
        case -EPERM:
                http_reply_error(req, MHD_HTTP_FORBIDDEN, "origin_not_allowed", NULL,
                                 "This publishable key is only taken from its application's allowed origins.");
                return "origin not allowed";
        default:
                code = "invalid_api_key";
                why = "The API key is not valid.";
        }
        http_reply_error(req, MHD_HTTP_UNAUTHORIZED, code, NULL, "%s", why);
        snprintf(challenge, sizeof(challenge), "Bearer realm=\"%s\", error=\"invalid_token\", error_description=\"%s\"",
                 realm, why);
        http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE, challenge);
        return code;
}

int http_authorize(HttpRequest *req) {
        const HttpRoute *route = req->route;
        Principal anonymous = principal_anonymous("http", req->remote);
        PolicyTarget target = POLICY_TARGET_NONE;
        _cleanup_free_ char *target_name = NULL;
        const char *user_name, *group_name;
        const Principal *p;
        TesseraError e = {};
        int r, found = 0;

        /* The OpenID provider's endpoints and the health checks are open at
         * the door (their protocol authenticates inside): nothing to look
         * up, nothing else to ask. This is the token endpoint's path.
         * Unless the request presents an API key: a key is judged wherever
         * it is sent (one that is not valid is refused, a publishable key
         * taken only from its application's origins and tenant). */
        if (policy_check(&anonymous, route->action, &target) == 0 && !http_request_presents_key(req))
                return 0;

        /* What the captures name, which the policy needs to see. */
        if (req->tenant_slug[0]) {
                r = http_tenant(req, &req->target.tenant);
                if (r < 0)
                        return r;
                target = policy_target_tenant(req->target.tenant->id);
                target_name = strdup(req->tenant_slug);
                if (!target_name) {
                        http_reply_internal_error(req, -ENOMEM);
                        return -ENOMEM;
                }
        }

        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return r;
        }
        if (req->auth->key_presented && req->auth->error < 0) {
                audit_refusal(req, p, route->action, target, target_name, reply_key_refused(req));
                return -EACCES;
        }

        /* "me": a tenant's user acting on themself, in their own tenant;
         * anybody else keeps the tenant as target, which no me.* grant
         * takes. */
        if (route->self && p->kind == PRINCIPAL_USER && req->auth->user && req->target.tenant &&
            p->tenant_id == req->target.tenant->id) {
                req->target.user = user_record_ref(req->auth->user);
                target = policy_target_user(req->target.user);
        }

        user_name = http_capture(req, "user");
        if (user_name && req->target.tenant) {
                Store *s = http_store(req);

                free(target_name);
                target_name = NULL;
                if (asprintf(&target_name, "%s@%s", user_name, req->tenant_slug) < 0) {
                        target_name = NULL;
                        http_reply_internal_error(req, -ENOMEM);
                        return -ENOMEM;
                }
                found = s ? http_user_lookup(req, s, req->target.tenant, user_name, &req->target.user, &e) : -EIO;
                if (found >= 0)
                        target = policy_target_user(req->target.user);
                else if (found != -ENOENT && found != -EINVAL) {
                        http_reply_errno(req, found, &e);
                        return found;
                }
        }

        /* A group is the tenant's: the target stays the tenant (or the
         * member named beside it), as on D-Bus. */
        group_name = http_capture(req, "group");
        if (group_name && req->target.tenant && found >= 0) {
                Store *s = http_store(req);

                found = s ? http_group_lookup(req, s, req->target.tenant, group_name, &req->target.group, &e) : -EIO;
                if (found < 0 && found != -ENOENT && found != -EINVAL) {
                        http_reply_errno(req, found, &e);
                        return found;
                }
        }

        r = policy_check(p, route->action, &target);
        if (r < 0) {
                if (r != -EACCES)
                        http_log_errno(req, LOG_ERR, r, "Policy check of %s asked wrongly; refusing: %m",
                                       strna(policy_action_to_string(route->action)));
                reply_refusal(req, p, route->action, &target, target_name);
                audit_refusal(req, p, route->action, target, target_name, NULL);
                return -EACCES;
        }
        /* A user that is not there is said so only to whom may read any of
         * the tenant's users (it was asked above without one): to others
         * the refusal is the same whether the user exists or not. */
        if (found < 0) {
                http_reply_errno(req, -ENOENT, &e);
                return -ENOENT;
        }
        return 0;
}

void http_target_done(HttpTarget *t) {
        t->tenant = tenant_record_unref(t->tenant);
        t->user = user_record_unref(t->user);
        t->group = group_record_unref(t->group);
}
