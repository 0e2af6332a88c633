/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* http/openapi.json, compacted, built in (http-openapi-json.c, generated):
 * not NUL-terminated in its length, though a NUL follows it. */
extern const char http_openapi_json[];
extern const size_t http_openapi_json_len;
