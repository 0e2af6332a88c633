/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Lists of IP address ranges, as configuration gives them ("127.0.0.0/8
 * ::1"): who may read /metrics without its token. An IPv4 address that
 * reaches an IPv6 socket as ::ffff:a.b.c.d is matched as IPv4. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct AddressRange {
        int family;               /* AF_INET or AF_INET6 */
        uint8_t addr[16];         /* network byte order, host bits cleared */
        unsigned prefix;          /* bits that must match */
} AddressRange;

typedef struct AddressRanges {
        AddressRange *items;
        size_t n;
} AddressRanges;

/* One address, or one with a prefix length ("10.0.0.0/8", "fd00::/8");
 * host bits past the prefix are ignored. -EINVAL for anything else. */
int address_range_parse(const char *s, AddressRange *ret);
/* Ranges separated by spaces or commas; "" is an empty list (nothing
 * matches). Replaces *ranges only on success. */
int address_ranges_parse(const char *s, AddressRanges *ranges);
void address_ranges_done(AddressRanges *ranges);

bool address_ranges_match(const AddressRanges *ranges, const struct sockaddr *sa);
