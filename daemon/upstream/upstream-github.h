/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* GitHub's identity: no ID token, so the user comes from the REST API with
 * the access token: GET {api}/user (id, login, name) and GET
 * {api}/user/emails for the primary address and whether GitHub verified
 * it (the address on /user is whatever the user made public, verified or
 * not, and is never used). */

#include "error.h"
#include "upstream-client.h"
#include "upstream-discovery.h"
#include "upstream-preset.h"

int upstream_github_identity(const UpstreamLimits *limits, const UpstreamPreset *preset,
                             const UpstreamEndpoints *ep, const char *access_token, UpstreamIdentity *ret,
                             TesseraError *e);
