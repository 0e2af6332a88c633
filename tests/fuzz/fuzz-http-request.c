/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP request path, from the bytes a client sends: libmicrohttpd
 * parses the request line, headers, cookies and the body framing, as it
 * does in tesserad (it is given one end of a socketpair, in its
 * external-select mode, so nothing listens on the network), and hands the
 * request to a handler that calls what http-server.c and the OpenID
 * handlers call before any store is touched:
 *
 *   - the router (http_route_find) on the path as sent, undecoded (MHD's
 *     URI callback, as tesserad has it): the method and path, the named
 *     captures and their percent-decoding ({tenant} a slug, the others one
 *     UTF-8 segment without "/" or control characters), 404, 405 with its
 *     Allow list, 400 for a capture that is no valid segment;
 *   - the query string (http_query_params);
 *   - the body (http_body_params): urlencoded forms, or for the endpoints
 *     that take them, a flat JSON object of allowed keys;
 *   - the cookies, as far as our code reads them: the binding cookie
 *     (browser_binding), the CSRF check of a posted form tied to it
 *     (browser_csrf_ok, with the Origin header), the signed "pending"
 *     proof of the password step (browser_pending_check), and the session
 *     cookie's plausibility check before its digest is looked up.
 *
 * Each answer is queued as tesserad would queue it and read back by the
 * client side, so MHD runs the whole exchange and frees the connection. */
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "http-browser.h"
#include "http-internal.h"
#include "manager.h"
#include "names.h"
#include "secret-box.h"
#include "token.h"

#define BODY_MAX (64 * 1024)
#define INPUT_MAX (256 * 1024)
/* MHD_run() rounds before a stuck exchange is cut off. */
#define ROUNDS_MAX 400

/* The fields the endpoints that take JSON allow (http-oidc-token.c,
 * http-oidc-revoke.c); the sign-in forms take urlencoded bodies only. */
static const char *const token_fields[] = {
        "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_secret", "refresh_token",
        "scope", NULL,
};
static const char *const revoke_fields[] = { "token", "token_type_hint", "client_id", "client_secret", NULL };

static bool ends_with(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);
        return n >= k && streq(s + n - k, suffix);
}

static const char *const *json_fields_of(const HttpRoute *route) {
        if (ends_with(route->pattern, "/token"))
                return token_fields;
        if (ends_with(route->pattern, "/revoke") || ends_with(route->pattern, "/introspect"))
                return revoke_fields;
        return NULL;
}

static struct MHD_Daemon *mhd;
static HttpServer server;
static Manager manager;
static bool connection_closed;

/* The capture's value as the router must have decoded it: one segment,
 * UTF-8, no "/" nor control characters, not too long; {tenant} a slug. */
static void check_capture(const HttpRequest *req, const char *n) {
        const char *v = http_capture(req, n);

        if (!v || !v[0] || strlen(v) > HTTP_CAPTURE_MAX_LEN || !utf8_is_valid(v) || strchr(v, '/'))
                __builtin_trap();
        for (const char *c = v; *c; c++)
                if ((unsigned char) *c < 0x20 || *c == 0x7f)
                        __builtin_trap();
        if (streq(n, "tenant") && (!valid_tenant_slug(v) || !streq(v, req->tenant_slug)))
                __builtin_trap();
}

static void check_route(HttpRequest *req, const char *method) {
        const char *path = req->raw_path;
        HttpRouteMiss miss;
        int r;

        r = http_route_find(req, method, &miss);
        if (r == 0) {
                const char *p = req->route->pattern;
                char expect[4096] = "";
                size_t n = 0;

                /* The route takes this method, and the path is its pattern
                 * with each capture's value in place (when the client
                 * escaped nothing, letter for letter). */
                if (!streq(req->route->method, method))
                        __builtin_trap();
                while (*p) {
                        const char *end = p + 1 + strcspn(p + 1, "/");
                        char name[64];

                        if (p[1] == '{') {
                                snprintf(name, sizeof(name), "%.*s", (int) (end - p - 3), p + 2);
                                check_capture(req, name);
                                n += (size_t) snprintf(expect + n, sizeof(expect) - n, "/%s", http_capture(req, name));
                        } else
                                n += (size_t) snprintf(expect + n, sizeof(expect) - n, "%.*s", (int) (end - p), p);
                        if (n >= sizeof(expect))
                                __builtin_trap();
                        p = end;
                }
                if (!strchr(path, '%') && !streq(expect, path))
                        __builtin_trap();
        } else if (r == -EOPNOTSUPP) {
                if (!miss.allow[0] || req->route)
                        __builtin_trap();
        } else if (r == -EBADMSG || r == -E2BIG) {
                if (!miss.capture[0] || req->route || req->n_captures != 0)
                        __builtin_trap();
        } else if (r != -ENOENT || req->route)
                __builtin_trap();
}

/* What parses must encode and parse again to the same. */
static void check_params(const HttpParams *p) {
        _cleanup_free_ char *text = NULL;
        HttpParams again;
        bool empty_key = false;

        if (p->n > HTTP_MAX_PARAMS)
                __builtin_trap();
        for (size_t i = 0; i < p->n; i++) {
                if (!p->items[i].key || !p->items[i].value || !utf8_is_valid(p->items[i].key) ||
                    !utf8_is_valid(p->items[i].value) || strlen(p->items[i].value) > HTTP_PARAM_MAX_LEN)
                        __builtin_trap();
                empty_key = empty_key || !p->items[i].key[0];
        }
        /* A query may hold "=value" (MHD gives it an empty key, no handler
         * asks for one); a form may not, so that one does not round-trip. */
        if (empty_key || http_params_encode(p, &text) < 0)
                return;
        if (http_parse_urlencoded(text, strlen(text), &again) < 0 || again.n != p->n)
                __builtin_trap();
        for (size_t i = 0; i < p->n; i++)
                if (!streq(again.items[i].key, p->items[i].key) || !streq(again.items[i].value, p->items[i].value))
                        __builtin_trap();
        http_params_done(&again);
}

static void exercise(HttpRequest *req) {
        _cleanup_free_ char *binding = NULL;
        HttpParams query, body = {};
        bool fresh;
        int r;

        r = http_query_params(req, &query);
        if (r >= 0)
                check_params(&query);
        http_params_done(&query);

        if (streq(req->method, "POST")) {
                r = http_body_params(req, json_fields_of(req->route), &body);
                if (r < 0) {
                        /* Bad input is answered by the parser itself. */
                        if (!req->response || req->status < 400 || body.n != 0)
                                __builtin_trap();
                        return;
                }
                check_params(&body);
        }

        if (browser_binding(req, &binding, &fresh) < 0)
                __builtin_trap();
        if (!fresh) {
                const char *cookie = http_cookie(req, BINDING_COOKIE);
                if (!cookie || !streq(cookie, binding) || !token_is_plausible(binding))
                        __builtin_trap();
        }
        (void) browser_csrf_ok(req, "login", http_params_get(&body, "csrf"));
        {
                int64_t user_id;
                bool federated;
                (void) browser_pending_check(req, http_params_get(&body, "pending"), &user_id, &federated);
        }
        {
                /* browser_session() checks this before it asks the store. */
                const char *session = http_cookie(req, SESSION_COOKIE);
                uint8_t digest[TOKEN_DIGEST_SIZE];

                if (session && token_is_plausible(session))
                        token_digest(session, digest);
        }
        http_params_done(&body);
        http_reply_json(req, MHD_HTTP_OK, json_pack("{s:s, s:s}", "route", req->route->pattern, "tenant",
                                                    req->tenant_slug));
        if (fresh)
                browser_send_binding(req, req->tenant_slug[0] ? req->tenant_slug : "-", binding);
}

static enum MHD_Result queue(HttpRequest *req) {
        enum MHD_Result r;

        if (!req->response)
                __builtin_trap();
        r = MHD_queue_response(req->connection, req->status, req->response);
        MHD_destroy_response(req->response);
        req->response = NULL;
        req->handled = true;
        return r;
}

/* As tesserad does (http-server.c): the path as sent goes to the router,
 * MHD decodes the query only. */
static const char *parsing_target;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
        parsing_target = uri;
        return NULL;
}

static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s) {
        if (s == parsing_target) {
                parsing_target = NULL;
                return strlen(s);
        }
        return MHD_http_unescape(s);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        HttpRequest *req = *con_cls;

        if (!req) {
                req = http_request_alloc(url, strlen(url));
                if (!req)
                        return MHD_NO;
                *con_cls = req;
                req->server = &server;
                req->manager = &manager;
                req->connection = c;
                req->method = streq(method, "HEAD") ? "GET" : method;
                req->path = strdup(url);
                if (!req->path)
                        return MHD_NO;
                (void) MHD_http_unescape(req->path);
                strcpy(req->id, "fuzz");
                check_route(req, req->method);
                if (!req->route) {
                        http_reply_error(req, MHD_HTTP_NOT_FOUND, "not_found", NULL, "No such resource.");
                        return queue(req);
                }
                return MHD_YES;
        }
        if (req->handled)
                return MHD_YES;
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                char *b;

                *upload_data_size = 0;
                if (req->body_size + n > BODY_MAX)
                        return MHD_YES;
                b = realloc(req->body, req->body_size + n + 1);
                if (!b)
                        return MHD_NO;
                memcpy(b + req->body_size, upload_data, n);
                req->body = b;
                req->body_size += n;
                req->body[req->body_size] = '\0';
                return MHD_YES;
        }
        exercise(req);
        return queue(req);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
        HttpRequest *req = *con_cls;

        if (!req)
                return;
        if (req->response)
                MHD_destroy_response(req->response);
        http_auth_free(req->auth);
        http_target_done(&req->target);
        free(req->path);
        free(req->body);
        free(req);
        *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        if (code == MHD_CONNECTION_NOTIFY_CLOSED)
                connection_closed = true;
}

static void setup(void) {
        static const uint8_t raw[SECRET_KEY_SIZE] = { 't', 'e', 's', 's', 'e', 'r', 'a', '-', 'f', 'u', 'z', 'z' };

        if (secret_key_from_bytes(raw, &manager.secret_key) < 0)
                __builtin_trap();
        server.manager = &manager;
        server.url = (char *) "http://127.0.0.1:8080";
        mhd = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                               MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL,
                               MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL,
                               MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
                               MHD_OPTION_END);
        if (!mhd)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(40000),
                                    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        size_t sent = 0;
        char sink[4096];
        int sv[2];

        if (!mhd)
                setup();
        if (size > INPUT_MAX)
                return 0;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                __builtin_trap();
        connection_closed = false;
        /* MHD takes sv[0] (and closes it); we are the client on sv[1]. */
        if (MHD_add_connection(mhd, sv[0], (const struct sockaddr *) &peer, sizeof(peer)) != MHD_YES)
                __builtin_trap();

        for (unsigned round = 0; !connection_closed; round++) {
                ssize_t n;

                if (round == ROUNDS_MAX && sv[1] >= 0) {
                        /* Stuck (waiting for a body never sent, say): hang up. */
                        close(sv[1]);
                        sv[1] = -1;
                }
                if (round > 2 * ROUNDS_MAX)
                        __builtin_trap();   /* MHD never let go of the connection */
                if (sv[1] >= 0 && sent < size) {
                        n = send(sv[1], data + sent, size - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                        if (n > 0)
                                sent += (size_t) n;
                        if (sent == size)
                                (void) shutdown(sv[1], SHUT_WR);
                } else if (sv[1] >= 0 && size == 0 && round == 0)
                        (void) shutdown(sv[1], SHUT_WR);
                (void) MHD_run(mhd);
                /* Read the reply so that MHD is never blocked writing it. */
                while (sv[1] >= 0 && (n = recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT)) > 0)
                        ;
        }
        if (sv[1] >= 0)
                close(sv[1]);
        return 0;
}
