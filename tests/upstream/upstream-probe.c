/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The upstream client (daemon/upstream/upstream-client.h) driven from a
 * test: one UpstreamClient for the life of the process (so that its caches
 * are the daemon's), requests as JSON lines on stdin, one JSON line of
 * answer each on stdout. tests/upstream/test_upstream_client.py runs it
 * against the stand-in providers.
 *
 *   upstream-probe [--connect-timeout-ms N] [--timeout-ms N] [--max-response N] [--ca-file PEM]
 *
 * Requests ("provider" is an UpstreamProvider's fields by name):
 *   {"op": "authorize", "provider": {...}, "redirect_uri", "state", "nonce", "code_challenge"}
 *       -> {"ok": true, "url": ...}
 *   {"op": "complete", "provider": {...}, "redirect_uri", "code", "code_verifier", "nonce"}
 *       -> {"ok": true, "identity": {"subject", "email", "email_verified", "name", "username",
 *                                    "issuer", "tid"}}
 *   {"op": "forget", "provider": {...}} -> {"ok": true}
 *   {"op": "start", "request": {...}} -> {"ok": true, "ticket": N}: the request
 *       runs on a thread of its own (as on an HTTP connection thread)
 *   {"op": "done", "ticket": N} -> {"ok": true, "done": false} while it runs
 *   {"op": "wait", "ticket": N} -> its answer, once it has one
 * A refusal: {"ok": false, "errno": "EPROTO", "message": ...}. */

#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "upstream-client.h"

static const char *str(json_t *o, const char *name) {
        return json_string_value(json_object_get(o, name));
}

static char *dup_or_null(json_t *o, const char *name) {
        const char *s = str(o, name);
        return s ? strdup(s) : NULL;
}

static char **strv_from(json_t *a) {
        json_t *v;
        size_t i;
        char **l;

        if (!json_is_array(a))
                return NULL;
        l = calloc(json_array_size(a) + 1, sizeof(char *));
        if (!l)
                return NULL;
        json_array_foreach(a, i, v)
                l[i] = strdup(json_string_value(v) ?: "");
        return l;
}

/* The release of what provider_from() filled (a record on the stack, not
 * one the registry allocated). */
static void provider_done(UpstreamProvider *p) {
        free(p->name);
        free(p->kind);
        free(p->client_id);
        free(p->client_secret);
        strv_free(p->scopes);
        free(p->issuer);
        free(p->authorization_endpoint);
        free(p->token_endpoint);
        free(p->userinfo_endpoint);
        free(p->jwks_uri);
        free(p->api_url);
        free(p->allowed_tid);
}

static void provider_from(json_t *o, UpstreamProvider *p) {
        *p = (UpstreamProvider) {
                .id = 1,
                .tenant_id = 1,
                .name = dup_or_null(o, "name"),
                .kind = dup_or_null(o, "kind"),
                .client_id = dup_or_null(o, "client_id"),
                .client_secret = dup_or_null(o, "client_secret"),
                .scopes = strv_from(json_object_get(o, "scopes")),
                .enabled = true,
                .issuer = dup_or_null(o, "issuer"),
                .authorization_endpoint = dup_or_null(o, "authorization_endpoint"),
                .token_endpoint = dup_or_null(o, "token_endpoint"),
                .userinfo_endpoint = dup_or_null(o, "userinfo_endpoint"),
                .jwks_uri = dup_or_null(o, "jwks_uri"),
                .api_url = dup_or_null(o, "api_url"),
                .allowed_tid = dup_or_null(o, "allowed_tid"),
        };
}

static json_t *refusal(int r, const TesseraError *e) {
        const char *name = strerrorname_np(-r);

        return json_pack("{s:b, s:s, s:s}", "ok", 0, "errno", name ?: "?", "message", tessera_error_message(e));
}

static json_t *identity_json(const UpstreamIdentity *id) {
        return json_pack("{s:b, s:{s:s, s:s?, s:b, s:s?, s:s?, s:s?, s:s?}}", "ok", 1, "identity", "subject",
                         id->subject, "email", id->email, "email_verified", id->email_verified, "name", id->name,
                         "username", id->username, "issuer", id->issuer, "tid", id->tid);
}

static json_t *handle(UpstreamClient *c, json_t *req) {
        const char *op = str(req, "op");
        UpstreamProvider p;
        TesseraError e = {};
        json_t *answer;
        int r;

        provider_from(json_object_get(req, "provider"), &p);
        if (op && streq(op, "authorize")) {
                _cleanup_free_ char *url = NULL;

                r = upstream_client_authorize_url(c, &p, str(req, "redirect_uri"), str(req, "state"),
                                                  str(req, "nonce"), str(req, "code_challenge"), &url, &e);
                answer = r < 0 ? refusal(r, &e) : json_pack("{s:b, s:s}", "ok", 1, "url", url);
        } else if (op && streq(op, "complete")) {
                UpstreamIdentity id = {};

                r = upstream_client_complete(c, &p, str(req, "redirect_uri"), str(req, "code"),
                                             str(req, "code_verifier"), str(req, "nonce"), &id, &e);
                /* Out-params are written only on success: a refusal that
                 * filled the identity would show as one. */
                answer = r < 0 ? (id.subject ? json_pack("{s:b, s:s}", "ok", 0, "errno", "filled-on-failure")
                                             : refusal(r, &e))
                               : identity_json(&id);
                upstream_identity_done(&id);
        } else if (op && streq(op, "forget")) {
                upstream_client_forget(c, &p);
                answer = json_pack("{s:b}", "ok", 1);
        } else
                answer = json_pack("{s:b, s:s}", "ok", 0, "errno", "unknown-op");
        provider_done(&p);
        return answer;
}

#define MAX_TICKETS 16

typedef struct Ticket {
        pthread_t thread;
        UpstreamClient *client;
        json_t *request;
        json_t *answer;
        atomic_bool done;
        bool used;
} Ticket;

static Ticket tickets[MAX_TICKETS];

static void *run_ticket(void *userdata) {
        Ticket *t = userdata;

        t->answer = handle(t->client, t->request);
        atomic_store(&t->done, true);
        return NULL;
}

static Ticket *ticket_of(json_t *req) {
        json_int_t n = json_integer_value(json_object_get(req, "ticket"));

        return n >= 0 && n < MAX_TICKETS && tickets[n].used ? &tickets[n] : NULL;
}

static json_t *handle_async(UpstreamClient *c, json_t *req) {
        const char *op = str(req, "op");
        Ticket *t;

        if (op && streq(op, "start")) {
                for (size_t i = 0; i < MAX_TICKETS; i++)
                        if (!tickets[i].used) {
                                tickets[i] = (Ticket) { .client = c, .used = true,
                                                        .request = json_incref(json_object_get(req, "request")) };
                                if (pthread_create(&tickets[i].thread, NULL, run_ticket, &tickets[i]) != 0)
                                        return json_pack("{s:b, s:s}", "ok", 0, "errno", "no-thread");
                                return json_pack("{s:b, s:i}", "ok", 1, "ticket", (int) i);
                        }
                return json_pack("{s:b, s:s}", "ok", 0, "errno", "no-ticket");
        }
        t = ticket_of(req);
        if (!t)
                return json_pack("{s:b, s:s}", "ok", 0, "errno", "no-such-ticket");
        if (streq(op, "done"))
                return json_pack("{s:b, s:b}", "ok", 1, "done", atomic_load(&t->done));
        pthread_join(t->thread, NULL);
        json_t *answer = t->answer;
        json_decref(t->request);
        *t = (Ticket) {};
        return answer;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "connect-timeout-ms", required_argument, NULL, 'c' },
                { "timeout-ms", required_argument, NULL, 't' },
                { "max-response", required_argument, NULL, 'm' },
                { "ca-file", required_argument, NULL, 'a' },
                {},
        };
        _cleanup_(upstream_client_freep) UpstreamClient *c = NULL;
        UpstreamLimits limits = {};
        char *line = NULL;
        size_t allocated = 0;
        int opt, r;

        while ((opt = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (opt) {
                case 'c':
                        limits.connect_timeout_ms = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 't':
                        limits.total_timeout_ms = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'm':
                        limits.max_response = strtoul(optarg, NULL, 10);
                        break;
                case 'a':
                        limits.ca_file = optarg;
                        break;
                default:
                        return 2;
                }

        r = upstream_client_new(&limits, &c);
        if (r < 0) {
                fprintf(stderr, "upstream_client_new: %s\n", strerror(-r));
                return 1;
        }
        printf("{\"ready\": true}\n");
        fflush(stdout);
        while (getline(&line, &allocated, stdin) > 0) {
                json_t *req = json_loads(line, 0, NULL), *answer;
                char *text;

                const char *op = req ? str(req, "op") : NULL;

                if (!req)
                        answer = json_pack("{s:b, s:s}", "ok", 0, "errno", "bad-request");
                else if (op && (streq(op, "start") || streq(op, "done") || streq(op, "wait")))
                        answer = handle_async(c, req);
                else
                        answer = handle(c, req);
                text = json_dumps(answer, JSON_COMPACT);
                printf("%s\n", text ?: "{\"ok\": false, \"errno\": \"ENOMEM\"}");
                fflush(stdout);
                free(text);
                json_decref(answer);
                json_decref(req);
        }
        free(line);
        return 0;
}
