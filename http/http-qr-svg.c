/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "http-qr-svg.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>

#include "macro.h"

#define QUIET_ZONE 4
/* Pixels per module of the image's nominal size; it scales anyway. */
#define MODULE_PX 4

static void qrcode_freep(QRcode **q) {
        if (*q)
                QRcode_free(*q);
}

int http_qr_svg(const char *text, char **ret) {
        _cleanup_(qrcode_freep) QRcode *qr = NULL;
        _cleanup_free_ char *svg = NULL;
        size_t size = 0;
        FILE *f;
        int w, side;

        /* Level M, as authenticator apps scan it from a screen; byte mode,
         * the URI's case kept. */
        qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        if (!qr)
                return errno == ENOMEM ? -ENOMEM : -EINVAL;
        w = qr->width;
        side = w + 2 * QUIET_ZONE;

        f = open_memstream(&svg, &size);
        if (!f)
                return -ENOMEM;
        fprintf(f,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 %d %d\" width=\"%d\" "
                "height=\"%d\" shape-rendering=\"crispEdges\">"
                "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/><path fill=\"#000000\" d=\"",
                side, side, side * MODULE_PX, side * MODULE_PX, side, side);
        /* A run of dark modules in a row is one rectangle. */
        for (int y = 0; y < w; y++)
                for (int x = 0; x < w;) {
                        int run = 0;

                        while (x + run < w && (qr->data[y * w + x + run] & 1))
                                run++;
                        if (run > 0)
                                fprintf(f, "M%d %dh%dv1h-%dz", x + QUIET_ZONE, y + QUIET_ZONE, run, run);
                        x += run > 0 ? run : 1;
                }
        fputs("\"/></svg>\n", f);
        if (fclose(f) != 0 || !svg)
                return -ENOMEM;
        *ret = TAKE_PTR(svg);
        return 0;
}
