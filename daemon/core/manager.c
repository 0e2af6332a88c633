/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "manager.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "auth-lockout.h"
#include "change-feed.h"
#include "audit-retention.h"
#include "limiter.h"
#include "log.h"
#include "mail.h"
#include "names.h"
#include "password-policy.h"
#include "password.h"
#include "upstream-client.h"
#include "upstream-flow.h"

int manager_new(Config *config, Manager **ret) {
        Manager *m = calloc(1, sizeof(Manager));

        if (!m)
                return -ENOMEM;
        m->unknown_lockouts = unknown_lockouts_new();
        if (!m->unknown_lockouts) {
                free(m);
                return -ENOMEM;
        }
        m->config = config;
        pthread_mutex_init(&m->keys_lock, NULL);
        if (core_metrics_new(m) < 0) {
                /* Keeps the config: the caller still owns it on failure. */
                m->config = NULL;
                manager_free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;

        /* The faces are gone by now (main() stops them first); the
         * workers too, unless start-up failed half-way. */
        manager_stop_workers(m);
        /* Before the store and the key it uses; a mail being sent stays queued. */
        m->mail = mail_free(m->mail);
        m->events = event_bus_free(m->events);
        m->audit_retention = audit_retention_free(m->audit_retention);
        m->limiter = limiter_free(m->limiter);
        m->mail_limiter = limiter_free(m->mail_limiter);
        m->upstream_client = upstream_client_free(m->upstream_client);
        /* Closes the main thread's connection (m->store) too. */
        m->store_pool = store_pool_free(m->store_pool);
        m->store = NULL;
        sd_event_unref(m->event);
        secret_key_free(m->secret_key);
        erase_and_free(m->dummy_hash);
        free(m->public_url);
        unknown_lockouts_free(m->unknown_lockouts);
        /* Last: every thread that counted is gone. */
        m->metrics = metrics_free(m->metrics);
        config_free(m->config);
        pthread_mutex_destroy(&m->keys_lock);
        free(m);
        return NULL;
}

static int make_directory(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", path);
        if (stat(path, &st) < 0)
                return log_error_errno(-errno, "Failed to stat %s: %m", path);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(-ENOTDIR, "%s is not a directory.", path);
        return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, shutting down.", strsignal((int) si->ssi_signo));
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        return sd_event_exit(m->event, 0);
}

static int manager_load_secret_key(Manager *m) {
        _cleanup_free_ char *path = NULL;

        if (m->config->key_file)
                path = strdup(m->config->key_file);
        else if (asprintf(&path, "%s/%s", m->config->state_directory, SECRET_KEY_FILE) < 0)
                path = NULL;
        if (!path)
                return log_oom();
        return secret_key_load(path, &m->secret_key);
}

/* Before any descriptor is opened for a client: the budget decides how
 * many connections the HTTP server may hold. */
static int manager_plan_descriptors(Manager *m) {
        unsigned limit;
        int r;

        r = fd_limit_raise(&limit);
        if (r < 0)
                return r;
        r = fd_budget_plan(m->config, limit, isempty(m->config->http_listen) ? 0 : config_http_threads(m->config),
                           &m->fd_budget);
        if (r < 0)
                return r;
        log_info("Descriptors: limit %u; HTTP connections %u, kept for the lookup socket %u and the authentication "
                 "socket %u, the daemon's own %u.", m->fd_budget.limit, m->fd_budget.http, m->fd_budget.nss,
                 m->fd_budget.pam, m->fd_budget.own);
        return 0;
}

static int manager_start_limiter(Manager *m) {
        const Config *c = m->config;
        LimiterOptions o = {
                .rules = {
                        [LIMIT_ADDRESS] = { c->limit_address_burst, c->limit_address_interval_usec },
                        [LIMIT_CLIENT] = { c->limit_client_burst, c->limit_client_interval_usec },
                        [LIMIT_ACCOUNT] = { c->limit_account_burst, c->limit_account_interval_usec },
                        [LIMIT_SIGNUP] = { c->limit_signup_burst, c->limit_signup_interval_usec },
                },
                .max_entries = c->limit_max_entries,
                .ipv6_prefix = c->limit_ipv6_prefix,
        };
        int r;

        r = limiter_new(&o, &m->limiter);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the limits on failed authentications: %m");

        o = (LimiterOptions) {
                .rules = {
                        [LIMIT_ADDRESS] = { c->limit_mail_address_burst, c->limit_mail_address_interval_usec },
                        [LIMIT_ACCOUNT] = { c->limit_mail_account_burst, c->limit_mail_account_interval_usec },
                },
                .max_entries = c->limit_max_entries,
                .ipv6_prefix = c->limit_ipv6_prefix,
        };
        r = limiter_new(&o, &m->mail_limiter);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the limits on account mails: %m");
        return 0;
}

/* The client towards upstream identity providers and the table of sign-ins
 * in flight: before the HTTP face opens, which is their only user. */
static int manager_start_upstream(Manager *m) {
        const Config *c = m->config;
        UpstreamLimits limits = {
                .connect_timeout_ms = c->upstream_connect_timeout_ms,
                .total_timeout_ms = c->upstream_timeout_ms,
                .max_response = c->upstream_max_response,
                .ca_file = c->upstream_ca_file,
        };
        int r;

        r = upstream_client_new(&limits, &m->upstream_client);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the client of upstream identity providers: %m");
        return 0;
}

/* The dictionary check fails closed (password-policy.h): say at start
 * when it would refuse every new password, not first at someone's
 * password change. */
static void manager_check_dictionary(Manager *m) {
        const Config *c = m->config;
        char reason[128];

        if (password_policy_probe(c->password_dictionary, reason, sizeof(reason)) >= 0)
                return;
        log_full_errno(c->password_dictionary_check ? LOG_ERR : LOG_WARNING, 0,
                       "cracklib's dictionary%s%s can't be used (%s): tenants with the password dictionary check%s "
                       "get no new password until it can. Install it (Debian: cracklib-runtime), or point "
                       "[passwords] dictionary at one.",
                       c->password_dictionary ? " " : "", strempty(c->password_dictionary), reason,
                       c->password_dictionary_check ? " (the default, [passwords] dictionary_check)" : "");
}

static int manager_start_audit_retention(Manager *m) {
        const Config *c = m->config;
        AuditRetentionOptions o = {
                .max_age_usec = c->audit_max_age * USEC_PER_SEC,
                .max_rows = c->audit_max_rows,
                .export_file = c->audit_export_file,
                .interval_usec = c->audit_prune_interval * USEC_PER_SEC,
                /* A batch holds the write lock for about 10 ms; a writer
                 * that waits on it tries again after 1, 2, 5, 10, 15, 20,
                 * 25 ms (SQLite's busy handler), so it gets in within the
                 * pause. About 15000 events a second at most. */
                .pause_usec = 50 * USEC_PER_MSEC,
        };
        int r;

        r = audit_retention_start(m->store_pool, &o, &m->audit_retention);
        if (r < 0)
                return log_error_errno(r, "Failed to start pruning the audit trail: %m");
        return 0;
}

int manager_start(Manager *m) {
        sigset_t mask;
        int r;

        r = manager_plan_descriptors(m);
        if (r < 0)
                return r;

        r = make_directory(m->config->state_directory, 0700);
        if (r < 0)
                return r;
        /* Clients of every user reach the lookup socket in here. */
        r = make_directory(m->config->runtime_directory, 0755);
        if (r < 0)
                return r;

        r = store_pool_new(&m->config->store, &m->store_pool);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the store: %m");
        r = store_pool_thread(m->store_pool, &m->store);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store (%s): %m", store_pool_describe(m->store_pool));

        r = manager_load_secret_key(m);
        if (r < 0)
                return r;
        /* Before anything can ask to authenticate. */
        r = password_dummy_hash(m->config->hash_prefix, m->config->hash_cost, &m->dummy_hash);
        if (r < 0)
                return log_error_errno(r, "Failed to make the dummy password hash: %m");
        manager_check_dictionary(m);

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        r = pthread_sigmask(SIG_BLOCK, &mask, NULL);
        if (r != 0)
                return log_error_errno(-r, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                log_warning_errno(r, "Failed to enable the watchdog, continuing without: %m");

        r = event_bus_new(m->event, &m->events);
        if (r < 0)
                return log_error_errno(r, "Failed to set up change events: %m");
        /* Listening before any face reads what it caches: a change another
         * instance commits from here on is heard. */
        r = change_feed_setup(m);
        if (r < 0)
                return r;

        /* Worker threads inherit the blocked signal mask: good, they must
         * never receive SIGTERM. */
        r = worker_pool_new(m->event, m->config->worker_threads, m->config->max_queued_jobs, &m->workers);
        if (r < 0)
                return log_error_errno(r, "Failed to start worker threads: %m");

        /* Before any door opens. */
        r = manager_start_limiter(m);
        if (r < 0)
                return r;
        r = manager_start_upstream(m);
        if (r < 0)
                return r;
        r = manager_start_audit_retention(m);
        if (r < 0)
                return r;
        /* After the key (it seals and opens the bodies) and the blocked
         * signals (its thread inherits the mask). */
        return mail_start(m);
}

int manager_run(Manager *m) {
        int r;

        /* The faces subscribed to the bus by now (a subscriber must be in
         * before anything is published). */
        r = change_feed_start(m);
        if (r < 0)
                return r;
        log_info("tesserad %s ready: store %s, %u worker threads.", TESSERA_VERSION,
                 store_pool_describe(m->store_pool), worker_pool_size(m->workers));
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        (void) sd_notify(false, "STOPPING=1\nSTATUS=Shutting down...");
        return 0;
}

void manager_stop_workers(Manager *m) {
        /* It publishes too. */
        change_feed_stop(m);
        m->workers = worker_pool_free(m->workers);
}

void manager_changed(Manager *m, ChangeEvent e) {
        /* Records that faces cache changed: their caches reload. Sessions
         * and key sets are no such record (keys have their own counter). */
        switch (e.kind) {
        case CHANGE_HOST_SESSION:
        case CHANGE_SSO_SESSION:
        case CHANGE_SIGNING_KEYS:
                break;
        default:
                atomic_fetch_add(&m->generation, 1);
        }
        event_bus_publish(m->events, &e);
        /* Before the change is acknowledged too: whoever asks another
         * instance next finds it told (as soon as its feed's thread
         * reads the notification). */
        change_feed_send(m, &e);
}

void manager_id_range(const Manager *m, IdRange *ret) {
        *ret = (IdRange) {
                .min = m->config->id_range_min,
                .max = m->config->id_range_max,
                .slice_size = m->config->id_slice_size,
        };
}
