/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* tesserad.conf: an INI file parsed with inih. Every key has a default, so
 * an empty or missing file gives a working development daemon. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "address-range.h"
#include "store-config.h"
#include "tenant-settings.h"

#define TESSERA_DEFAULT_CONFIG_PATH SYSCONFDIR "/tessera/tesserad.conf"

/* The TOTP policies a configuration may set; the numbers of
 * AuthTotpPolicy (auth.h), the strictest first. */
typedef enum ConfigTotpPolicy {
        CONFIG_TOTP_REQUIRED = 0,
        CONFIG_TOTP_OPTIONAL = 1,
} ConfigTotpPolicy;

typedef struct Config {
        char *path;

        /* [daemon] */
        char *state_directory;
        char *runtime_directory;
        char *admin_group;
        char *bus_address;            /* NULL: the system bus ($DBUS_SYSTEM_BUS_ADDRESS) */
        int log_level;                /* -1: not set in the file */
        unsigned worker_threads;      /* password hashes running at once; 0: one per CPU but one */
        unsigned max_queued_jobs;

        /* [store]: the backend and its settings; path defaults to
         * tessera.db in state_directory. */
        StoreConfig store;

        /* [host] */
        char *default_tenant;         /* NULL: no bare names on this host */
        char **tenants;               /* further tenants, seen as name@tenant */

        /* [nss] */
        char *nss_socket;             /* NULL: runtime_directory/nss.sock */
        bool nss_memory_cache;        /* publish the memory cache to the module */
        unsigned nss_max_connections;

        /* [ids] */
        uint32_t id_range_min;
        uint32_t id_range_max;
        uint32_t id_slice_size;

        /* [users] */
        char *default_shell;
        char *home_template;          /* %u user name, %t tenant, %% a percent sign */

        /* [passwords] */
        char *hash_prefix;            /* "$y$" yescrypt, "$2b$" bcrypt, "$6$" sha512crypt */
        unsigned long hash_cost;      /* 0: libxcrypt's default for the method */
        /* The password policy of tenants that don't set their own
         * (tenant-settings.h, password-policy.h). */
        uint32_t password_min_length;
        bool password_dictionary_check;
        uint32_t password_min_classes;
        uint32_t password_max_repeat;
        bool password_user_check;
        char *password_dictionary;    /* cracklib's dictionary; NULL: its default */

        /* [auth]: shared by every channel that authenticates (PAM, HTTP, D-Bus) */
        char *key_file;               /* NULL: secret.key in the state directory */
        unsigned lockout_failures;    /* failures in a row that lock the account; 0: never */
        unsigned lockout_interval;    /* s: failures further apart start a new count */
        unsigned lockout_time;        /* s: the first lock; each further one doubles it */
        unsigned lockout_max_time;    /* s: the longest a lock grows to */
        unsigned totp_window;         /* time steps accepted either side of now */
        /* The mailed single-use tokens (account-token.h), in seconds. */
        unsigned reset_token_lifetime;
        unsigned verify_token_lifetime;
        unsigned invitation_lifetime; /* a mailed invitation (invitation.h) */
        /* ms: how long after its answer the work behind "forgot" (finding
         * the account, queueing the mail) waits, so that it can't slow
         * that answer down where the asker could time it. */
        unsigned forgot_delay;
        /* POST /api/v1/signup creates tenants for anybody; and the default
         * of tenants that don't set their own (tenant-settings.h). */
        bool open_signup;
        MfaRequired mfa_required;

        /* [pam] */
        char *pam_socket;             /* NULL: pam.sock in the runtime directory */
        unsigned pam_max_connections;
        unsigned pam_request_timeout; /* s a client has to send its request */
        /* The least TOTP policy for callers that are not root: their
         * module's totp= may ask more, never less. */
        ConfigTotpPolicy pam_totp;

        /* [http] */
        char *http_listen;            /* "host:port"; NULL or "": no HTTP server */
        char *http_public_url;        /* NULL: derived from the listen address */
        unsigned http_threads;        /* 0: two per CPU, at least 4 */
        char *http_certificate;       /* PEM; with http_private_key: HTTPS */
        char *http_private_key;
        unsigned http_max_body;       /* bytes */
        unsigned http_max_header;     /* bytes of all request headers */
        unsigned http_connection_limit; /* 0: what the descriptor budget allows (fd-budget.h) */
        unsigned http_connections_per_address; /* 0: no limit */
        unsigned http_request_timeout; /* s from accept (or the last reply) to a whole request */
        unsigned http_timeout;        /* seconds a connection may idle */

        /* [oidc], lifetimes in seconds; session_lifetime and the refresh
         * lifetimes are the defaults and the maxima of tenants' own. */
        unsigned oidc_access_token_lifetime;
        unsigned oidc_id_token_lifetime;
        unsigned oidc_code_lifetime;           /* at most 60 */
        unsigned oidc_refresh_idle_lifetime;
        unsigned oidc_refresh_absolute_lifetime;
        unsigned oidc_refresh_reuse_grace;
        unsigned oidc_session_lifetime;
        /* how far the user may extend an SSO session, counted from the
         * sign-in (account-sessions.h) */
        unsigned oidc_session_max_lifetime;

        /* [limits]: failed authentications per client address and per
         * client id (limiter.h): burst failures at once, then one per
         * interval. A burst of 0 turns that limit off. */
        unsigned limit_address_burst;
        uint64_t limit_address_interval_usec;
        unsigned limit_client_burst;
        uint64_t limit_client_interval_usec;
        unsigned limit_account_burst;  /* failed sign-ins of one account, from any address */
        uint64_t limit_account_interval_usec;
        unsigned limit_signup_burst;   /* sign-ups of one address, successful or not */
        uint64_t limit_signup_interval_usec;
        unsigned limit_ipv6_prefix;   /* IPv6 addresses count by this prefix */
        /* Requests for account mails (a password reset, a verification):
         * each one counts, per client address and per account asked about. */
        unsigned limit_mail_address_burst;
        uint64_t limit_mail_address_interval_usec;
        unsigned limit_mail_account_burst;
        uint64_t limit_mail_account_interval_usec;
        unsigned limit_max_entries;   /* keys remembered at once */

        /* [audit]: retention. 0 turns a limit off. */
        uint64_t audit_max_age;       /* s */
        uint64_t audit_max_rows;
        char *audit_export_file;      /* JSON lines appended before events are deleted; NULL: none */
        uint64_t audit_prune_interval; /* s */

        /* [mail] (mail.h): a relay, or a folder in development; neither:
         * no mail. */
        char *mail_relay;             /* smtp://host[:port] or smtps://...; NULL: none */
        char *mail_from;              /* the sender's address; needed with a relay or folder */
        char *mail_username;          /* NULL: no SMTP authentication */
        char *mail_password_file;     /* NULL: the systemd credential tessera.smtp-password */
        char *mail_ca_file;           /* NULL: the system's CAs */
        char *mail_outbox_directory;  /* development: .eml files instead of a relay */
        char *mail_template_directory; /* NULL: the built-in templates */
        unsigned mail_timeout;        /* s an attempt may take */
        unsigned mail_max_attempts;
        uint64_t mail_retry_initial;  /* s after the first failed attempt, doubling... */
        uint64_t mail_retry_max;      /* s ...up to this */

        /* [upstream] (upstream-client.h): the daemon's requests to
         * upstream identity providers ("sign in with Google"). */
        unsigned upstream_connect_timeout_ms;
        unsigned upstream_timeout_ms;  /* the whole request, answer included */
        unsigned upstream_max_response; /* bytes of an answer */
        char *upstream_ca_file;       /* PEM CAs for private providers; NULL: the system's */

        /* [metrics]: who may read GET /metrics: clients from these
         * addresses, and anybody with the token (Authorization: Bearer). */
        AddressRanges metrics_allow;
        char *metrics_token_file;     /* NULL: the systemd credential tessera.metrics-token, if passed */
} Config;

/* Reads the file at path. A missing file is fine when allow_missing is set
 * (the defaults apply); any unknown section or key and any bad value is
 * reported as file:line and makes the call fail with -EINVAL. */
int config_load(const char *path, bool allow_missing, Config **ret);
/* The same from a stream already open (a file, or fmemopen() for tests and
 * the fuzzer); path names it in messages and in Config.path. */
int config_load_file(FILE *f, const char *path, Config **ret);
int config_new_default(Config **ret);
Config *config_free(Config *c);

/* The lookup socket's path: [nss] socket, else in the runtime directory. */
int config_nss_socket_path(const Config *c, char **ret);

/* Expands home_template for a user. */
int config_format_home(const Config *c, const char *user, const char *tenant, char **ret);

/* How many threads the HTTP server runs: [http] threads, or two per CPU
 * and at least 4. The descriptor budget plans with it. */
unsigned config_http_threads(const Config *c);

/* True when the host shows this tenant's users, and with which suffix. */
bool config_tenant_visible(const Config *c, const char *tenant);

static inline void config_freep(Config **c) {
        config_free(*c);
}
