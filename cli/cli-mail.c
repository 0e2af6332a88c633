/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* tesseractl mail: check that tesserad's mail ([mail] in tesserad.conf)
 * reaches people. */

#include <inttypes.h>

#include "cli.h"

static int mail_test(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *address;
        uint64_t id;
        int first, r;

        first = cli_parse_options(&mail_verbs[0], argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (cli_expect_args(&mail_verbs[0], argc, first, 1, 1) < 0)
                return EXIT_USAGE;
        address = argv[first];
        r = cli_bus(&bus);
        if (r > 0)
                return r;

        /* The daemon checks the address (and everything else): one place
         * decides what may go into a mail header. */
        r = cli_call(bus, "cannot queue the test mail", TESSERA_BUS_PATH, TESSERA_IFACE_MANAGER, "SendTestMail",
                     &reply, "ss", strempty(arg_tenant), address);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "t", &id);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:I, s:s}", "id", (json_int_t) id, "recipient",
                                                              address);
                return cli_print_json(j);
        }
        printf("Queued test mail %" PRIu64 " to %s.\n"
               "tesserad sends it on its own thread: 'tesseractl audit list --target %s' shows when it went\n"
               "out (mail.sent) or was given up (mail.failed); tesserad's log says why an attempt failed.\n",
               id, address, address);
        return EXIT_OK;
}

const Verb mail_verbs[] = {
        { "mail", "test", "ADDRESS [--tenant TENANT]",
          "Queue a test mail to ADDRESS, with the tenant's name (administrators).", mail_test, NULL },
        {},
};
