/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Password hashing with libxcrypt, in the formats of /etc/shadow so that
 * hashes move between tessera and shadow unchanged. These are slow by design
 * (a yescrypt verify takes milliseconds): call them from worker threads. */

#include <stdbool.h>

/* Hashes password with a fresh salt for the method of prefix ("$y$",
 * "$2b$", "$6$") at cost (0: libxcrypt's default). */
int password_hash(const char *password, const char *prefix, unsigned long cost, char **ret);

/* 1 when password matches hash, 0 when not; -EINVAL for a hash libxcrypt
 * doesn't support. Compares in constant time. */
int password_verify(const char *password, const char *hash);

/* True when hash was made with another method or cost than the policy's:
 * rehash it at the next successful login. */
bool password_hash_needs_upgrade(const char *hash, const char *prefix, unsigned long cost);

/* A hash of the policy's method and cost that no password matches, for
 * making an unknown user cost as much as a known one. */
int password_dummy_hash(const char *prefix, unsigned long cost, char **ret);
