/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Proof Key for Code Exchange (RFC 7636). Only S256 is offered: "plain"
 * protects nothing against an attacker who sees the authorization request. */

#include <stdbool.h>

/* 43 to 128 characters of [A-Za-z0-9-._~], for verifiers and challenges alike. */
bool pkce_valid_verifier(const char *s);
/* An S256 challenge is the base64url SHA-256 of a verifier: 43 characters. */
bool pkce_valid_challenge(const char *s);

/* The S256 challenge of verifier, into out (44 bytes). */
int pkce_s256(const char *verifier, char out[static 44]);

/* True when verifier answers challenge; constant time in the challenge. */
bool pkce_verify(const char *challenge, const char *verifier);
