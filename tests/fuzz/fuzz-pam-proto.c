/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The authentication socket's decoders, both sides: the daemon's request
 * reader and the module's reply reader, plus the one-prompt split of an
 * answer and the backup code normalizer (a person's input, not a
 * process's, but parsed the same careful way). Whatever parses must
 * encode again to something that parses to the same. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "pam-proto.h"

static void request_round_trip(const PamRequest *q) {
        uint8_t buf[PAM_PROTO_MAX_MESSAGE];
        PamRequest again;
        size_t len;

        if (pam_request_write(q, buf, sizeof(buf), &len) < 0)
                return;   /* unknown tags were skipped: it may not fit the same way; fine */
        if (pam_request_read(buf, len, &again) < 0 || again.type != q->type || strcmp(again.user, q->user) != 0 ||
            again.has_password != q->has_password || strcmp(again.password, q->password) != 0 ||
            strcmp(again.code, q->code) != 0 || again.flags != q->flags || again.session_id != q->session_id ||
            again.totp_policy != q->totp_policy)
                __builtin_trap();
}

static void reply_round_trip(const PamReply *p) {
        uint8_t buf[PAM_PROTO_MAX_MESSAGE];
        PamReply again;
        size_t len;

        if (pam_reply_write(p, buf, sizeof(buf), &len) < 0 || pam_reply_read(buf, len, &again) < 0 ||
            again.status != p->status || strcmp(again.text, p->text) != 0 || again.needs_code != p->needs_code ||
            again.locked_until_usec != p->locked_until_usec || again.session_id != p->session_id)
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        PamRequest q;
        PamReply p;
        char *text;

        if (pam_request_read(data, size, &q) == 0)
                request_round_trip(&q);
        pam_request_wipe(&q);

        if (pam_reply_read(data, size, &p) == 0)
                reply_round_trip(&p);
        else if (p.status != PAM_STATUS_ERROR)
                __builtin_trap();   /* a reply that doesn't parse must read as an error */

        /* The same bytes as typed input. */
        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        {
                char code[PAM_PROTO_MAX_CODE + 1], normalized[BACKUP_CODE_CHARS + 1];
                size_t before = strlen(text);

                if (auth_code_split(text, code, sizeof(code)) == 1 &&
                    strlen(text) + strlen(code) != before)
                        __builtin_trap();
                (void) backup_code_normalize(text, normalized);
        }
        free(text);
        return 0;
}
