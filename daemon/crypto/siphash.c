/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "siphash.h"

#include <string.h>

static inline uint64_t rotl(uint64_t x, unsigned b) {
        return (x << b) | (x >> (64 - b));
}

static inline uint64_t load_le64(const uint8_t *p) {
        uint64_t v = 0;

        for (unsigned i = 0; i < 8; i++)
                v |= (uint64_t) p[i] << (8 * i);
        return v;
}

typedef struct SipState {
        uint64_t v0, v1, v2, v3;
} SipState;

static inline void sip_round(SipState *s) {
        s->v0 += s->v1;
        s->v1 = rotl(s->v1, 13);
        s->v1 ^= s->v0;
        s->v0 = rotl(s->v0, 32);
        s->v2 += s->v3;
        s->v3 = rotl(s->v3, 16);
        s->v3 ^= s->v2;
        s->v0 += s->v3;
        s->v3 = rotl(s->v3, 21);
        s->v3 ^= s->v0;
        s->v2 += s->v1;
        s->v1 = rotl(s->v1, 17);
        s->v1 ^= s->v2;
        s->v2 = rotl(s->v2, 32);
}

static inline void sip_compress(SipState *s, uint64_t m) {
        s->v3 ^= m;
        sip_round(s);
        sip_round(s);
        s->v0 ^= m;
}

uint64_t siphash24(const uint8_t key[static SIPHASH_KEY_SIZE], const void *data, size_t len) {
        const uint8_t *p = data;
        uint64_t k0 = load_le64(key), k1 = load_le64(key + 8), last = (uint64_t) len << 56;
        SipState s = {
                .v0 = k0 ^ UINT64_C(0x736f6d6570736575),
                .v1 = k1 ^ UINT64_C(0x646f72616e646f6d),
                .v2 = k0 ^ UINT64_C(0x6c7967656e657261),
                .v3 = k1 ^ UINT64_C(0x7465646279746573),
        };
        size_t i;

        for (i = 0; i + 8 <= len; i += 8)
                sip_compress(&s, load_le64(p + i));
        /* The tail, and the length in the top byte of the last word. */
        for (unsigned j = 0; i + j < len; j++)
                last |= (uint64_t) p[i + j] << (8 * j);
        sip_compress(&s, last);

        s.v2 ^= 0xff;
        for (unsigned r = 0; r < 4; r++)
                sip_round(&s);
        return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}
