/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The memory cache reader on any image: a corrupt or truncated cache must
 * never make a lookup read outside the image or crash. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "nss-cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const names[] = { "alice", "bob", "devs", "alice@globex", "" };
        static const uint32_t ids[] = { 200000, 200001, 200002, 0, 400000 };
        NssUserView uv;
        NssGroupView gv;
        uint64_t seq;
        void *image;

        /* Exactly size bytes (malloc aligns to 16, all the image needs), so
         * that AddressSanitizer catches any read past the end. */
        image = malloc(size ? size : 1);
        if (!image)
                return 0;
        memcpy(image, data, size);
        if (nss_cache_verify(image, size) < 0 || nss_cache_begin(image, 0, &seq) < 0) {
                free(image);
                return 0;
        }
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                char buf[512];
                struct passwd pw;
                struct group gr;

                if (nss_cache_find_user_by_name(image, size, names[i], &uv) > 0)
                        (void) nss_pack_passwd(&uv, &pw, buf, sizeof(buf));
                if (nss_cache_find_user_by_uid(image, size, ids[i], &uv) > 0)
                        (void) nss_pack_passwd(&uv, &pw, buf, sizeof(buf));
                if (nss_cache_find_group_by_name(image, size, names[i], &gv) > 0)
                        (void) nss_pack_group(&gv, &gr, buf, sizeof(buf));
                if (nss_cache_find_group_by_gid(image, size, ids[i], &gv) > 0)
                        (void) nss_pack_group(&gv, &gr, buf, sizeof(buf));
        }
        (void) nss_cache_still_valid(image, seq);
        free(image);
        return 0;
}
