/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tesseractl user totp enroll|confirm|disable|backup-codes NAME[@TENANT]:
 * TOTP enrollment over D-Bus, with the QR code drawn in the terminal. */

#include <getopt.h>
#include <qrencode.h>
#include <unistd.h>

#include "cli.h"

/* Draws a QR code with half blocks, two rows of modules per line, black
 * on white whatever the terminal's colours (scanners want dark modules on
 * light ground), with the quiet zone the standard asks for. */
static void print_qr(const char *text) {
        const int quiet = 4;
        QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
        bool color = isatty(STDOUT_FILENO);
        int size;

        if (!qr) {
                fprintf(stderr, "tesseractl: cannot draw the QR code (%s); use the URI.\n", strerror(errno));
                return;
        }
        size = qr->width + 2 * quiet;

        /* A module is dark when bit 0 is set; the quiet zone is light. */
        for (int y = 0; y < size; y += 2) {
                if (color)
                        fputs("\033[30;107m", stdout);
                for (int x = 0; x < size; x++) {
                        bool top = false, bottom = false;
                        int mx = x - quiet, my = y - quiet;

                        if (mx >= 0 && mx < qr->width && my >= 0 && my < qr->width)
                                top = qr->data[my * qr->width + mx] & 1;
                        if (mx >= 0 && mx < qr->width && my + 1 >= 0 && my + 1 < qr->width)
                                bottom = qr->data[(my + 1) * qr->width + mx] & 1;
                        /* Foreground black: a block char paints the dark modules. */
                        fputs(top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ", stdout);
                }
                if (color)
                        fputs("\033[0m", stdout);
                putchar('\n');
        }
        QRcode_free(qr);
}

/* For the verbs that prove the user with a current code: the code given,
 * else asked for when the caller changes their own (administrators need
 * none). */
static int get_code(sd_bus *bus, const char *path, const char *given, char **ret) {
        uint32_t uid = UINT32_MAX;

        if (given) {
                *ret = strdup(given);
                return *ret ? 0 : EXIT_FAIL;
        }
        (void) sd_bus_get_property_trivial(bus, TESSERA_BUS_NAME, path, TESSERA_IFACE_USER, "Uid", NULL, 'u', &uid);
        if (geteuid() != 0 && geteuid() == uid)
                return cli_read_password("Verification code: ", false, !isatty(STDIN_FILENO), ret);
        *ret = strdup("");
        return *ret ? 0 : EXIT_FAIL;
}

static int print_codes(sd_bus_message *reply, const char *intro) {
        _cleanup_(strv_free_erasep) char **codes = NULL;
        int r;

        r = sd_bus_message_read_strv(reply, &codes);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);
        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:[]}", "backup_codes");
                json_t *a = json_object_get(j, "backup_codes");
                STRV_FOREACH(c, codes)
                        json_array_append_new(a, json_string(*c));
                return cli_print_json(j);
        }
        printf("%s\n\nBackup codes: each works once, instead of a code from the app. Keep them\n"
               "somewhere safe; they are not shown again.\n\n",
               intro);
        STRV_FOREACH(c, codes)
                printf("    %s\n", *c);
        return EXIT_OK;
}

static int totp_enroll(const Verb *v, sd_bus *bus, const char *path, const char *name, const char *code) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *secret, *uri;
        int r;

        r = cli_call(bus, "cannot begin the enrollment", path, TESSERA_IFACE_USER, "BeginTotpEnrollment", &reply, NULL);
        if (r > 0)
                return r;
        r = sd_bus_message_read(reply, "ss", &secret, &uri);
        if (r < 0)
                return cli_bus_error("cannot parse the reply", r, NULL);

        if (arg_json) {
                _cleanup_(json_decrefp) json_t *j = json_pack("{s:s, s:s}", "secret", secret, "uri", uri);
                return cli_print_json(j);
        }
        print_qr(uri);
        printf("\nScan the code with an authenticator app, or enter the secret by hand:\n\n"
               "    Secret: %s\n    URI:    %s\n\n"
               "Then confirm with the code the app shows:\n\n"
               "    tesseractl user totp confirm %s CODE\n",
               secret, uri, name);
        return EXIT_OK;
}

static int totp_confirm(const Verb *v, sd_bus *bus, const char *path, const char *name, const char *code) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        char intro[256];
        int r;

        if (!code)
                return cli_usage_error("confirm needs the code the app shows: tesseractl user totp confirm %s CODE.", name);
        r = cli_new_call(bus, path, TESSERA_IFACE_USER, "ConfirmTotpEnrollment", &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", code);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        (void) sd_bus_message_sensitive(m);
        r = cli_call_message(bus, "cannot confirm the enrollment", m, &reply);
        if (r > 0)
                return r;
        snprintf(intro, sizeof(intro), "TOTP is enabled for %s: logins now ask for a code.", name);
        return print_codes(reply, intro);
}

static int call_with_code(sd_bus *bus, const char *path, const char *method, const char *what, const char *given,
                          sd_bus_message **reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(erase_and_freep) char *code = NULL;
        int r;

        r = get_code(bus, path, given, &code);
        if (r > 0)
                return r;
        r = cli_new_call(bus, path, TESSERA_IFACE_USER, method, &m);
        if (r >= 0)
                r = sd_bus_message_append(m, "s", code);
        if (r < 0)
                return cli_bus_error("cannot build the call", r, NULL);
        (void) sd_bus_message_sensitive(m);
        return cli_call_message(bus, what, m, reply);
}

static int totp_disable(const Verb *v, sd_bus *bus, const char *path, const char *name, const char *code) {
        int r = call_with_code(bus, path, "DisableTotp", "cannot disable TOTP", code, NULL);

        if (r > 0)
                return r;
        if (!arg_json)
                printf("TOTP is disabled for %s.\n", name);
        return EXIT_OK;
}

static int totp_backup_codes(const Verb *v, sd_bus *bus, const char *path, const char *name, const char *code) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char intro[256];
        int r;

        r = call_with_code(bus, path, "RegenerateBackupCodes", "cannot make new backup codes", code, &reply);
        if (r > 0)
                return r;
        snprintf(intro, sizeof(intro), "New backup codes for %s; the old ones no longer work.", name);
        return print_codes(reply, intro);
}

typedef int (*TotpFunc)(const Verb *v, sd_bus *bus, const char *path, const char *name, const char *code);

static const struct {
        const char *name;
        TotpFunc func;
        int max_args;             /* NAME, and CODE where it is taken */
} subverbs[] = {
        { "enroll", totp_enroll, 1 },
        { "confirm", totp_confirm, 2 },
        { "disable", totp_disable, 2 },
        { "backup-codes", totp_backup_codes, 2 },
};

static int user_totp(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_free_ char *path = NULL;
        const Verb *v = &totp_verbs[0];
        size_t i;
        int first, r;

        first = cli_parse_options(v, argc, argv, NULL, NULL, NULL);
        if (first < 0)
                return first == -1 ? EXIT_OK : EXIT_USAGE;
        if (first >= argc)
                return cli_usage_error("user totp needs one of enroll, confirm, disable, backup-codes; see "
                                       "'tesseractl user totp --help'.");
        for (i = 0; i < ELEMENTSOF(subverbs); i++)
                if (streq(argv[first], subverbs[i].name))
                        break;
        if (i >= ELEMENTSOF(subverbs))
                return cli_usage_error("unknown command 'user totp %s'; see 'tesseractl user totp --help'.", argv[first]);
        if (cli_expect_args(v, argc, first + 1, 1, subverbs[i].max_args) < 0)
                return EXIT_USAGE;

        r = cli_bus(&bus);
        if (r > 0)
                return r;
        r = cli_find_user(bus, argv[first + 1], &path);
        if (r > 0)
                return r;
        return subverbs[i].func(v, bus, path, argv[first + 1], first + 2 < argc ? argv[first + 2] : NULL);
}

const Verb totp_verbs[] = {
        { "user", "totp", "enroll|confirm|disable|backup-codes NAME[@TENANT] [CODE]",
          "Set up or remove a user's TOTP second factor.", user_totp,
          "  enroll NAME              Begin: a new secret, shown as a QR code and an otpauth:// URI\n"
          "                           (--json: the secret and URI). Users enroll themselves;\n"
          "                           administrators may do it for anyone, replacing (resetting)\n"
          "                           what there was.\n"
          "  confirm NAME CODE        Finish with the code the app shows; prints backup codes.\n"
          "  disable NAME [CODE]      Remove TOTP. Users give a current code (asked for when not given).\n"
          "  backup-codes NAME [CODE] New backup codes, replacing the old ones (same rule)." },
        {},
};
