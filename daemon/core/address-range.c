/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "address-range.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"

int address_range_parse(const char *s, AddressRange *ret) {
        AddressRange a = {};
        char host[INET6_ADDRSTRLEN];
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t) (slash - s) : strlen(s);
        unsigned max;

        if (n == 0 || n >= sizeof(host))
                return -EINVAL;
        memcpy(host, s, n);
        host[n] = '\0';
        if (inet_pton(AF_INET, host, a.addr) == 1) {
                a.family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, host, a.addr) == 1) {
                a.family = AF_INET6;
                max = 128;
        } else
                return -EINVAL;

        a.prefix = max;
        if (slash) {
                const char *p = slash + 1;
                unsigned v = 0;

                /* Digits only, at most three: no sign, space or "0x". */
                if (*p == '\0' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 3)
                        return -EINVAL;
                for (; *p; p++)
                        v = v * 10 + (unsigned) (*p - '0');
                if (v > max)
                        return -EINVAL;
                a.prefix = v;
        }
        for (unsigned bit = a.prefix; bit < max; bit++)
                a.addr[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
        *ret = a;
        return 0;
}

int address_ranges_parse(const char *s, AddressRanges *ranges) {
        _cleanup_free_ AddressRange *items = NULL;
        size_t n = 0;

        for (const char *p = s;;) {
                char word[64];
                size_t len;
                AddressRange *grown;
                int r;

                p += strspn(p, " \t,");
                if (*p == '\0')
                        break;
                len = strcspn(p, " \t,");
                if (len >= sizeof(word))
                        return -EINVAL;
                memcpy(word, p, len);
                word[len] = '\0';
                p += len;

                grown = reallocarray(items, n + 1, sizeof(AddressRange));
                if (!grown)
                        return -ENOMEM;
                items = grown;
                r = address_range_parse(word, &items[n]);
                if (r < 0)
                        return r;
                n++;
        }
        address_ranges_done(ranges);
        ranges->items = TAKE_PTR(items);
        ranges->n = n;
        return 0;
}

void address_ranges_done(AddressRanges *ranges) {
        free(ranges->items);
        *ranges = (AddressRanges) {};
}

static bool prefix_matches(const uint8_t *addr, const AddressRange *r) {
        unsigned full = r->prefix / 8, rest = r->prefix % 8;

        if (memcmp(addr, r->addr, full) != 0)
                return false;
        return rest == 0 || ((addr[full] ^ r->addr[full]) & (uint8_t) (0xffu << (8 - rest))) == 0;
}

bool address_ranges_match(const AddressRanges *ranges, const struct sockaddr *sa) {
        static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        const uint8_t *addr;
        int family;

        if (!sa)
                return false;
        if (sa->sa_family == AF_INET) {
                family = AF_INET;
                addr = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
        } else if (sa->sa_family == AF_INET6) {
                addr = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
                family = AF_INET6;
                if (memcmp(addr, v4_mapped, sizeof(v4_mapped)) == 0) {
                        family = AF_INET;
                        addr += sizeof(v4_mapped);
                }
        } else
                return false;

        for (size_t i = 0; i < ranges->n; i++)
                if (ranges->items[i].family == family && prefix_matches(addr, &ranges->items[i]))
                        return true;
        return false;
}
