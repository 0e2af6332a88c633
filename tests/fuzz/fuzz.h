/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Every fuzz target defines this; libFuzzer calls it, and so does
 * fuzz-main.c, which replays a corpus in the normal test suite. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
