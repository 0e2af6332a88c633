/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The lookup protocol's decoders, both sides: the daemon's request parser
 * and the module's reply handling (entries decoded and packed into
 * buffers of every awkward size). */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nss-proto.h"

static void pack_all(const WireField *f) {
        static const size_t sizes[] = { 0, 1, 7, 8, 33, 200, 4096 };
        NssUserView uv;
        NssGroupView gv;

        if (nss_decode_user(f->data, f->len, &uv) == 0) {
                size_t state = 0;
                uint32_t gid;
                while (nss_user_next_group(&uv, &state, &gid) > 0)
                        ;
                for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                        char *buf = malloc(sizes[i] + 1);
                        struct passwd pw;
                        if (nss_pack_passwd(&uv, &pw, sizes[i] ? buf : NULL, sizes[i]) == 0 &&
                            (strlen(pw.pw_name) != uv.name.n || pw.pw_name[0] == '\0'))
                                __builtin_trap();
                        free(buf);
                }
        }
        if (nss_decode_group(f->data, f->len, &gv) == 0) {
                for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
                        /* Off by one byte: the module must align gr_mem itself. */
                        char *mem = malloc(sizes[i] + 2), *buf = mem + 1;
                        struct group gr;
                        if (nss_pack_group(&gv, &gr, sizes[i] ? buf : NULL, sizes[i]) == 0) {
                                size_t n = 0;
                                for (char **m = gr.gr_mem; *m; m++)
                                        n++;
                                if (n != gv.n_members)
                                        __builtin_trap();
                        }
                        free(mem);
                }
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        NssRequest q;
        WireReader r;
        WireField f;

        (void) nss_request_parse(data, size, &q);

        if (wire_reader_init(&r, data, size, NSS_MAX_REPLY) < 0) {
                /* Also take the bytes as a bare entry, as the cache stores them. */
                WireField whole = { .tag = 0, .len = (uint32_t) size, .data = data };
                if (size <= UINT32_MAX)
                        pack_all(&whole);
                return 0;
        }
        while (wire_next(&r, &f) > 0)
                pack_all(&f);
        return 0;
}
