/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A tenant's audit trail over the JSON API: GET
 * /api/v1/tenants/{tenant}/audit, pages of events newest first with
 * filters (actor, target, action, result, since, until) and a cursor, and
 * GET .../audit/export, the same selection as JSON lines
 * (application/x-ndjson), up to AUDIT_QUERY_LIMIT_MAX events a request,
 * the next position in a header. The door checked audit.read; the core
 * (audit-query.h) checks again and reads through the indexes of each
 * filter. */

#include <inttypes.h>
#include <stdlib.h>
#include <time.h>

#include "audit-query.h"
#include "http-handlers.h"
#include "http-list.h"

#define NEXT_CURSOR_HEADER "X-Tessera-Next-Cursor"

static const char *const filters[] = { "actor", "target", "action", "result", "since", "until", NULL };

static void reply_bad_parameter(HttpRequest *req, const char *name, const char *code, const char *message) {
        http_reply_error(req, MHD_HTTP_BAD_REQUEST, code, json_pack("{s:s}", "field", name), "%s", message);
}

/* A time parameter: RFC 3339 in UTC or with an offset. */
static int time_param(HttpRequest *req, const HttpParams *q, const char *name, int64_t *ret) {
        const char *v = http_params_get(q, name);
        int r;

        *ret = 0;
        if (!v)
                return 0;
        r = http_json_time_parse(v, ret);
        if (r < 0) {
                reply_bad_parameter(req, name, "invalid_parameter",
                                    "Give a time as RFC 3339, such as 2026-01-31T23:59:59Z.");
                return r;
        }
        return 0;
}

/* The list's scope for the cursor: the tenant and every filter, each
 * with its length, so that no two queries share one. */
static char *query_scope(const TenantRecord *t, const AuditQuery *q) {
        char *s;

#define F(x) (x) ? strlen(x) : (size_t) 0, strempty(x)
        if (asprintf(&s, "audit:%" PRIi64 ":a%zu=%s:t%zu=%s:c%zu=%s:r%d:s%" PRIi64 ":u%" PRIi64, t->id,
                     F(q->actor), F(q->target), F(q->action), q->result, q->since_usec, q->until_usec) < 0)
                return NULL;
#undef F
        return s;
}

/* Reads the query string into q and the page into page; replies itself
 * (and returns < 0) on bad input. max_limit: 0 for the list's limits
 * (http-list.h), else the export's. */
static int read_query(HttpRequest *req, HttpParams *params, AuditQuery *q, HttpListPage *page, char **ret_scope,
                      unsigned max_limit) {
        _cleanup_free_ char *scope = NULL;
        const char *result;
        int r;

        r = http_list_query(req, filters, params);
        if (r < 0)
                return r;

        *q = (AuditQuery) {
                .actor = http_params_get(params, "actor"),
                .target = http_params_get(params, "target"),
                .action = http_params_get(params, "action"),
                .result = -1,
        };
        result = http_params_get(params, "result");
        if (result) {
                q->result = audit_result_from_string(result);
                if (q->result < 0) {
                        reply_bad_parameter(req, "result", "invalid_parameter",
                                            "result is one of success, failure, denied, invalid and error.");
                        return -EINVAL;
                }
        }
        r = time_param(req, params, "since", &q->since_usec);
        if (r >= 0)
                r = time_param(req, params, "until", &q->until_usec);
        if (r < 0)
                return r;

        scope = query_scope(req->target.tenant, q);
        if (!scope) {
                http_reply_internal_error(req, -ENOMEM);
                return -ENOMEM;
        }
        if (max_limit > 0) {
                /* The export's own limit; the cursor is the list's. */
                HttpParams rest = *params;
                const char *limit = http_params_get(params, "limit");
                char *end = NULL;
                unsigned long n = max_limit;

                if (limit) {
                        errno = 0;
                        n = strtoul(limit, &end, 10);
                        if (errno != 0 || end == limit || *end || limit[0] < '0' || limit[0] > '9' || n < 1 ||
                            n > max_limit) {
                                http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid_limit",
                                                 json_pack("{s:s, s:i, s:i}", "field", "limit", "min", 1, "max",
                                                           (int) max_limit),
                                                 "limit must be a whole number from 1 to %u.", max_limit);
                                return -ERANGE;
                        }
                }
                /* Let http_list_page() read the cursor alone. */
                for (size_t i = 0; i < rest.n; i++)
                        if (streq(rest.items[i].key, "limit"))
                                rest.items[i].key = (char *) "";
                r = http_list_page(req, &rest, scope, page);
                if (r < 0)
                        return r;
                page->limit = (unsigned) n;
        } else {
                r = http_list_page(req, params, scope, page);
                if (r < 0)
                        return r;
        }
        q->limit = page->limit;
        q->has_before = page->has_cursor;
        q->before_time_usec = page->after.number;
        q->before_id = page->after.id;
        *ret_scope = TAKE_PTR(scope);
        return 0;
}

/* An event's time to the microsecond, as stored: events of one second
 * keep their order, and a since or until taken from an event selects it
 * exactly. */
static json_t *time_usec_json(int64_t usec) {
        time_t sec = (time_t) (usec / 1000000);
        char buf[40];
        struct tm tm;

        if (usec <= 0 || !gmtime_r(&sec, &tm) || strftime(buf, 20, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
                return json_null();
        snprintf(buf + 19, sizeof(buf) - 19, ".%06dZ", (int) (usec % 1000000));
        return json_string(buf);
}

static json_t *event_json(const AuditEvent *ev) {
        json_auto_t *details = ev->details ? json_loads(ev->details, JSON_REJECT_DUPLICATES, NULL) : NULL;
        char id[32];
        json_t *j;

        snprintf(id, sizeof(id), "evt_%" PRIi64, ev->id);
        j = json_pack("{s:s, s:o, s:o, s:I, s:s, s:o, s:o, s:s, s:o, s:s, s:o, s:O}",
                      "id", id,
                      "time", time_usec_json(ev->time_usec),
                      "last_time", time_usec_json(ev->last_usec),
                      "count", (json_int_t) ev->count,
                      "channel", strempty(ev->channel),
                      "actor", ev->actor ? json_string(ev->actor) : json_null(),
                      "actor_uid", ev->actor_uid >= 0 ? json_integer(ev->actor_uid) : json_null(),
                      "action", strempty(ev->action),
                      "target", ev->target ? json_string(ev->target) : json_null(),
                      "result", audit_result_to_string(ev->result),
                      "remote", ev->remote ? json_string(ev->remote) : json_null(),
                      "details", json_is_object(details) ? details : json_null());
        if (!j)
                return NULL;
        /* What an operator did, as themselves or as the tenant's admin. */
        if (json_object_set_new(j, "operator",
                                ev->operator_name
                                        ? json_pack("{s:s, s:o}", "name", ev->operator_name, "impersonation_reason",
                                                    ev->reason ? json_string(ev->reason) : json_null())
                                        : json_null()) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

/* Runs the query of the request; replies its failure itself. */
static int run_query(HttpRequest *req, const AuditQuery *q, AuditEvent **ret, size_t *ret_n) {
        const Principal *p;
        TesseraError e = {};
        int r;

        r = http_request_principal(req, &p);
        if (r < 0) {
                http_reply_internal_error(req, r);
                return r;
        }
        r = audit_query(req->manager, http_store(req), p, req->target.tenant, q, ret, ret_n, &e);
        if (r < 0)
                http_reply_errno(req, r, &e);
        return r;
}

static Cursor position_of(const AuditEvent *ev) {
        return (Cursor) { .number = ev->time_usec, .id = ev->id };
}

void api_handle_audit_list(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams params = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ char *scope = NULL;
        AuditEvent *events = NULL;
        AuditQuery q;
        Cursor last;
        json_t *items, *answer;
        size_t n = 0;

        if (read_query(req, &params, &q, &page, &scope, 0) < 0)
                return;
        if (run_query(req, &q, &events, &n) < 0)
                return;
        items = json_array();
        for (size_t i = 0; items && i < n; i++)
                if (json_array_append_new(items, event_json(&events[i])) < 0) {
                        json_decref(items);
                        items = NULL;
                }
        if (n > 0)
                last = position_of(&events[n - 1]);
        answer = http_list_json(req, scope, items, &page, n > 0 ? &last : NULL);
        audit_event_array_free(events, n);
        if (!answer) {
                http_reply_internal_error(req, -ENOMEM);
                return;
        }
        http_reply_json(req, MHD_HTTP_OK, answer);
        http_reply_no_store(req);
}

void api_handle_audit_export(HttpRequest *req) {
        _cleanup_(http_params_done) HttpParams params = {};
        _cleanup_(http_list_page_done) HttpListPage page = {};
        _cleanup_free_ char *scope = NULL, *next = NULL;
        AuditEvent *events = NULL;
        char *text = NULL;
        size_t n = 0, size = 0;
        AuditQuery q;
        FILE *f;
        int r = 0;

        if (read_query(req, &params, &q, &page, &scope, AUDIT_QUERY_LIMIT_MAX) < 0)
                return;
        if (run_query(req, &q, &events, &n) < 0)
                return;

        /* One event a line, bounded by the limit: a client that wants
         * more asks again from the position in the header. */
        f = open_memstream(&text, &size);
        if (!f)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < n; i++) {
                json_auto_t *j = event_json(&events[i]);

                if (!j || json_dumpf(j, f, JSON_COMPACT) < 0 || fputc('\n', f) == EOF)
                        r = -ENOMEM;
        }
        if (f && fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r >= 0 && n > 0 && n >= page.limit) {
                Cursor last = position_of(&events[n - 1]);

                r = cursor_encode(req->manager->secret_key, scope, &last, &next);
        }
        audit_event_array_free(events, n);
        if (r < 0) {
                free(text);
                http_reply_internal_error(req, r);
                return;
        }
        http_reply_text(req, MHD_HTTP_OK, "application/x-ndjson", text, size);
        http_reply_no_store(req);
        if (next)
                http_reply_header(req, NEXT_CURSOR_HEADER, next);
}
