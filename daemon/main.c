/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <assert.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "bus-face.h"
#include "bus-names.h"
#include "config.h"
#include "http-server.h"
#include "listen-fds.h"
#include "log.h"
#include "mail.h"
#include "manager.h"
#include "nss-server.h"
#include "pam-server.h"

/* main() is where the core meets its faces: the only file that sees both.
 * The core knows no face; each face is started on the Manager, subscribes
 * to its change events, and is stopped here in an order that lets work in
 * flight finish. */
typedef struct Faces {
        NssServer *nss;           /* nss.sock and the memory cache */
        BusFace *bus;             /* org.tessera.Identity1 */
        PamServer *pam;           /* pam.sock */
        HttpServer *http;         /* NULL without [http] listen */
} Faces;

static const char *arg_config = TESSERA_DEFAULT_CONFIG_PATH;
static bool arg_config_given = false;
static int arg_log_level = -1;
static LogTarget arg_log_target = LOG_TARGET_AUTO;
static bool arg_check_config = false;

static void help(void) {
        printf("%s [OPTIONS...]\n"
               "%s --check-config [FILE]\n\n"
               "The tessera identity daemon.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the version\n"
               "  -c --config=PATH       Read this configuration file (default: %s)\n"
               "     --log-level=LEVEL   debug, info, notice, warning or err\n"
               "     --log-target=TARGET console, journal or auto\n"
               "     --check-config      Check the configuration file (or FILE) and exit\n",
               program_invocation_short_name, program_invocation_short_name, TESSERA_DEFAULT_CONFIG_PATH);
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_LOG_LEVEL, ARG_LOG_TARGET, ARG_CHECK_CONFIG };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "config", required_argument, NULL, 'c' },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "log-target", required_argument, NULL, ARG_LOG_TARGET },
                { "check-config", no_argument, NULL, ARG_CHECK_CONFIG },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("tesserad %s\n", TESSERA_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        arg_config_given = true;
                        break;
                case ARG_LOG_LEVEL:
                        arg_log_level = log_level_from_string(optarg);
                        if (arg_log_level < 0)
                                return log_error_errno(-EINVAL, "Unknown log level '%s'.", optarg);
                        break;
                case ARG_LOG_TARGET:
                        if (streq(optarg, "console"))
                                arg_log_target = LOG_TARGET_CONSOLE;
                        else if (streq(optarg, "journal"))
                                arg_log_target = LOG_TARGET_JOURNAL;
                        else if (streq(optarg, "auto"))
                                arg_log_target = LOG_TARGET_AUTO;
                        else
                                return log_error_errno(-EINVAL, "Unknown log target '%s'.", optarg);
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        assert(!"unhandled option");
                        return -EINVAL;
                }

        /* "tesserad --check-config FILE": the file to check, say a new
         * version before it replaces the one in use. */
        if (arg_check_config && optind == argc - 1) {
                if (arg_config_given)
                        return log_error_errno(-EINVAL, "Name the file to check once: --config or FILE.");
                arg_config = argv[optind++];
                arg_config_given = true;
        }
        if (optind < argc)
                return log_error_errno(-EINVAL, "%s takes no positional arguments%s.", program_invocation_short_name,
                                       arg_check_config ? " but the one file to check" : "");
        return 1;
}

static int faces_start(Manager *m, Faces *f) {
        _cleanup_(listen_fds_freep) ListenFds *listen_fds = NULL;
        int r;

        /* The host doors' sockets, when systemd bound them (socket units). */
        r = listen_fds_receive(&listen_fds);
        if (r < 0)
                return r;
        r = nss_server_start(m, listen_fds, &f->nss);
        if (r < 0)
                return r;
        r = bus_face_start(m, &f->bus);
        if (r < 0)
                return r;
        if (!isempty(m->config->http_listen)) {
                r = http_server_start(m, &f->http);
                if (r < 0)
                        return r;
        }
        r = pam_server_start(m, listen_fds, &f->pam);
        if (r < 0)
                return r;
        listen_fds_close_unused(listen_fds);
        return 0;
}

static void faces_stop(Manager *m, Faces *f) {
        /* HTTP first: its threads use the workers, the store and the keys. */
        f->http = http_server_free(f->http);
        /* The workers next: their done callbacks answer D-Bus and PAM
         * clients, so those doors go after them. */
        manager_stop_workers(m);
        f->pam = pam_server_free(f->pam);
        /* Nothing changes any more: the bus signals the last changes, then
         * flushes and goes. */
        event_bus_flush(m->events);
        f->bus = bus_face_free(f->bus);
        /* The memory cache goes invalid before its socket disappears. */
        f->nss = nss_server_free(f->nss);
}

static void notify_ready(const Faces *f) {
        /* HTTP_PORT tells tests which port "listen = ...:0" got. */
        if (f->http)
                (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %s on the bus and HTTP on %s.\nHTTP_PORT=%u",
                                  TESSERA_BUS_NAME, http_server_url(f->http), http_server_port(f->http));
        else
                (void) sd_notifyf(false, "READY=1\nSTATUS=Serving %s on the bus.", TESSERA_BUS_NAME);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        Config *config = NULL;
        Faces faces = {};
        int r;

        log_setup("tesserad", LOG_TARGET_AUTO);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        log_setup("tesserad", arg_log_target);
        if (arg_log_level >= 0)
                log_set_max_level(arg_log_level);

        /* Our own NSS module must never call back into us: we would wait on
         * ourselves. It honours this variable for this process only. */
        if (setenv("TESSERA_NSS_BYPASS", "1", 1) < 0)
                return EXIT_FAILURE;

        /* The default file may be missing (defaults apply); a named one not. */
        r = config_load(arg_config, !arg_config_given, &config);
        if (r < 0)
                return EXIT_FAILURE;
        if (arg_log_level < 0 && config->log_level >= 0)
                log_set_max_level(config->log_level);
        if (arg_check_config) {
                /* The mail templates too: a mistake in one stops the start. */
                r = mail_check_config(config);
                config_free(config);
                if (r < 0)
                        return EXIT_FAILURE;
                printf("%s: OK\n", arg_config);
                return EXIT_SUCCESS;
        }

        r = manager_new(config, &m);
        if (r < 0) {
                config_free(config);
                return EXIT_FAILURE;
        }
        r = manager_start(m);
        if (r >= 0)
                r = faces_start(m, &faces);
        if (r >= 0) {
                notify_ready(&faces);
                r = manager_run(m);
        }
        faces_stop(m, &faces);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
