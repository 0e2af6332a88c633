/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The HTTP face of tesserad: libmicrohttpd with a thread pool of its own,
 * serving health checks and one OpenID provider per tenant. */

#include "manager.h"

typedef struct HttpServer HttpServer;

/* Binds the configured address and starts the threads; at most
 * Manager.fd_budget.http connections at once. */
int http_server_start(Manager *m, HttpServer **ret);
/* Stops accepting, lets requests in flight finish, then stops. */
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);

/* The public base URL (issuers are {url}/t/{tenant}) and the bound port. */
const char *http_server_url(const HttpServer *s);
unsigned http_server_port(const HttpServer *s);
