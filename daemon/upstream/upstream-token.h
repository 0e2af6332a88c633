/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The two requests every kind makes: the authorization code exchanged at
 * the token endpoint (RFC 6749 4.1.3, with the PKCE verifier of RFC 7636),
 * and a GET of a JSON document with the access token (userinfo, GitHub's
 * REST API). */

#include <jansson.h>

#include "error.h"
#include "upstream-client.h"
#include "upstream-discovery.h"

/* The token response, a JSON object with an access_token. Errors as
 * upstream_fetch(), -EACCES the provider refused (invalid_grant, a wrong
 * client secret: RFC 6749 5.2, or GitHub's 200 with "error"), -EBADMSG an
 * answer that is not a token response, -EHOSTUNREACH a 5xx. */
int upstream_token_exchange(const UpstreamLimits *limits, const UpstreamProvider *p, const UpstreamEndpoints *ep,
                            const char *redirect_uri, const char *code, const char *code_verifier, json_t **ret,
                            TesseraError *e);

/* GET url with "Authorization: Bearer access_token": the JSON answer
 * (object or array, as json_type wants). what names it in messages. */
int upstream_get_json(const UpstreamLimits *limits, const char *what, const char *url, const char *access_token,
                      const char *accept, json_type type, json_t **ret, TesseraError *e);
