/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/wire's reader: headers, fields and typed views of any bytes. */
#include <string.h>

#include "fuzz.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WireReader r;
        WireField f;
        uint16_t type;
        uint32_t payload;

        if (size >= WIRE_HEADER_SIZE)
                (void) wire_header_parse(data, size, &type, &payload);
        if (wire_reader_init(&r, data, size, WIRE_MAX_MESSAGE) < 0)
                return 0;
        while (wire_next(&r, &f) > 0) {
                char small[8], big[256];
                uint32_t u32;
                uint64_t u64;

                (void) wire_field_u32(&f, &u32);
                (void) wire_field_u64(&f, &u64);
                (void) wire_field_str(&f, small, sizeof(small));
                if (wire_field_str(&f, big, sizeof(big)) == 0 && strlen(big) != f.len)
                        __builtin_trap();   /* a string may not hold a NUL */
        }
        return 0;
}
