/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash for
 * tables whose keys come from the outside (client addresses, client ids).
 * With a random key nobody can pick keys that collide, so nobody can crowd
 * a chosen bucket. */

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

uint64_t siphash24(const uint8_t key[static SIPHASH_KEY_SIZE], const void *data, size_t len);
