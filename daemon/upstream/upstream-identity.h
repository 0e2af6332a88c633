/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An upstream identity read from claims (an ID token, userinfo, GitHub's
 * /user) through a preset's claim names. */

#include <jansson.h>

#include "error.h"
#include "upstream-client.h"
#include "upstream-preset.h"

/* Longest subject, e-mail address and name kept; longer ones are refused
 * (subject) or dropped (the others), never cut. */
#define UPSTREAM_SUBJECT_MAX 255
#define UPSTREAM_FIELD_MAX 320

/* A claim as text: a string, or an integer (GitHub's numeric id). NULL
 * when absent, of another type or too long. */
char *upstream_claim_string(json_t *claims, const char *name, size_t max);
/* A claim as a boolean: true, or the string "true" that some providers
 * send. */
bool upstream_claim_true(json_t *claims, const char *name);

/* Fills *ret from claims with preset's names: -EBADMSG when the subject is
 * missing. email_verified follows the preset (claim_email_verified, or
 * email_always_verified). */
int upstream_identity_from_claims(const UpstreamPreset *preset, json_t *claims, UpstreamIdentity *ret,
                                  TesseraError *e);

/* Fills what ret lacks (e-mail, name, user name) from more claims of the
 * same subject (userinfo). -EPROTO when they are another subject's. */
int upstream_identity_merge(const UpstreamPreset *preset, json_t *claims, UpstreamIdentity *ret, TesseraError *e);
