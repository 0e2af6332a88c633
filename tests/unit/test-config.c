/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* daemon/config.c: tesserad.conf parsing, defaults, verification and the
 * home directory template. */

#include <sys/stat.h>
#include <syslog.h>

#include "config.h"
#include "names.h"
#include "test-util.h"
#include "upstream-client.h"

static char *dir;

static void setup(void) {
        dir = test_mkdtemp();
}

static void teardown(void) {
        test_rm_rf(dir);
        dir = (free(dir), NULL);
}

/* Loads contents as tesserad.conf; returns config_load()'s result, what it
 * logged, and the path (for matching "path:line:" in the log). */
static int load(const char *contents, Config **ret, char **ret_log, char **ret_path) {
        _cleanup_free_ char *path = test_write_file(dir, "tesserad.conf", contents);
        StderrCapture cap;
        char *log;
        int r;

        stderr_capture_start(&cap);
        r = config_load(path, false, ret);
        log = stderr_capture_stop(&cap);

        if (ret_log)
                *ret_log = log;
        else
                free(log);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return r;
}

/* Asserts that loading contents fails with -EINVAL and logs needle, in
 * which "@" stands for the path of the file. */
static void assert_load_fails(const char *contents, const char *needle) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *log = NULL, *path = NULL, *expected = NULL;
        const char *at = strchr(needle, '@');

        ck_assert_int_eq(load(contents, &c, &log, &path), -EINVAL);
        ck_assert_ptr_null(c);
        if (at)
                ck_assert_int_ge(asprintf(&expected, "%.*s%s%s", (int) (at - needle), needle, path, at + 1), 0);
        ck_assert_msg(strstr(log, expected ?: needle), "expected '%s' in the log, got: %s", expected ?: needle,
                      log);
}

START_TEST(test_defaults) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_ptr_null(c->path);
        ck_assert_str_eq(c->state_directory, LOCALSTATEDIR "/lib/tessera");
        ck_assert_str_eq(c->runtime_directory, RUNSTATEDIR "/tessera");
        ck_assert_int_eq(c->store.backend, STORE_BACKEND_SQLITE);
        ck_assert_str_eq(c->store.path, LOCALSTATEDIR "/lib/tessera/tessera.db");
        ck_assert_str_eq(c->admin_group, "tessera-admin");
        ck_assert_ptr_null(c->bus_address);
        ck_assert_int_eq(c->log_level, -1);
        ck_assert_uint_eq(c->worker_threads, 0);
        ck_assert_uint_eq(c->max_queued_jobs, 256);
        ck_assert_ptr_null(c->default_tenant);
        ck_assert_ptr_null(c->tenants);
        ck_assert_uint_eq(c->id_range_min, 200000);
        ck_assert_uint_eq(c->id_range_max, 2000200000);
        ck_assert_uint_eq(c->id_slice_size, 200000);
        ck_assert_str_eq(c->default_shell, "/bin/bash");
        ck_assert_str_eq(c->home_template, "/home/%u");
        ck_assert_str_eq(c->hash_prefix, "$y$");
        ck_assert_uint_eq(c->hash_cost, 0);
        ck_assert_int_eq(c->pam_totp, CONFIG_TOTP_REQUIRED);
        /* HTTP connections: from the descriptor budget; enough per address
         * for a benchmark or a proxy on loopback. */
        ck_assert_uint_eq(c->http_connection_limit, 0);
        ck_assert_uint_eq(c->http_connections_per_address, 128);
        ck_assert_uint_eq(c->http_request_timeout, 10);
        ck_assert_uint_eq(c->http_timeout, 30);
}
END_TEST

START_TEST(test_http_limits) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(load("[http]\n"
                              "connection_limit = 500\n"
                              "connections_per_address = 0\n"
                              "request_timeout = 3\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_uint_eq(c->http_connection_limit, 500);
        ck_assert_uint_eq(c->http_connections_per_address, 0);
        ck_assert_uint_eq(c->http_request_timeout, 3);

        assert_load_fails("[http]\nrequest_timeout = 0\n", "invalid value for 'request_timeout'");
        assert_load_fails("[http]\nrequest_timeout = 3601\n", "invalid value for 'request_timeout'");
        assert_load_fails("[http]\nconnections_per_address = -1\n", "invalid value for 'connections_per_address'");
}
END_TEST

START_TEST(test_mail) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL;

        ck_assert_int_eq(load("[mail]\n"
                              "relay = smtp://relay.example.com:587/tessera.example.com\n"
                              "from = noreply@example.com\n"
                              "username = tessera\n"
                              "password_file = /etc/tessera/smtp-password\n"
                              "ca_file = /etc/ssl/relay.pem\n"
                              "template_directory = /etc/tessera/mail\n"
                              "timeout = 20\n"
                              "max_attempts = 5\n"
                              "retry_initial = 1min\n"
                              "retry_max = 2h\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_str_eq(c->mail_relay, "smtp://relay.example.com:587/tessera.example.com");
        ck_assert_str_eq(c->mail_from, "noreply@example.com");
        ck_assert_str_eq(c->mail_username, "tessera");
        ck_assert_str_eq(c->mail_password_file, "/etc/tessera/smtp-password");
        ck_assert_str_eq(c->mail_ca_file, "/etc/ssl/relay.pem");
        ck_assert_str_eq(c->mail_template_directory, "/etc/tessera/mail");
        ck_assert_ptr_null(c->mail_outbox_directory);
        ck_assert_uint_eq(c->mail_timeout, 20);
        ck_assert_uint_eq(c->mail_max_attempts, 5);
        ck_assert_uint_eq(c->mail_retry_initial, 60);
        ck_assert_uint_eq(c->mail_retry_max, 7200);

        /* Defaults: no mail; 16 attempts from 30 s to an hour apart. */
        ck_assert_int_eq(load("", &d, NULL, NULL), 0);
        ck_assert_ptr_null(d->mail_relay);
        ck_assert_ptr_null(d->mail_outbox_directory);
        ck_assert_uint_eq(d->mail_timeout, 60);
        ck_assert_uint_eq(d->mail_max_attempts, 16);
        ck_assert_uint_eq(d->mail_retry_initial, 30);
        ck_assert_uint_eq(d->mail_retry_max, 3600);
}
END_TEST

START_TEST(test_upstream) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL, *m = NULL;

        ck_assert_int_eq(load("[upstream]\n"
                              "connect_timeout = 500ms\n"
                              "timeout = 3\n"
                              "max_response_size = 256K\n"
                              "ca_file = /etc/tessera/idp-ca.pem\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_uint_eq(c->upstream_connect_timeout_ms, 500);
        ck_assert_uint_eq(c->upstream_timeout_ms, 3000);
        ck_assert_uint_eq(c->upstream_max_response, 256 * 1024);
        ck_assert_str_eq(c->upstream_ca_file, "/etc/tessera/idp-ca.pem");
        {
                UpstreamLimits l;

                upstream_limits_from_config(c, &l);
                ck_assert_uint_eq(l.connect_timeout_ms, 500);
                ck_assert_uint_eq(l.total_timeout_ms, 3000);
                ck_assert_uint_eq(l.max_response, 256 * 1024);
                ck_assert_str_eq(l.ca_file, "/etc/tessera/idp-ca.pem");
        }

        ck_assert_int_eq(load("[upstream]\ntimeout = 20s\nmax_response_size = 2M\n", &m, NULL, NULL), 0);
        ck_assert_uint_eq(m->upstream_timeout_ms, 20000);
        ck_assert_uint_eq(m->upstream_max_response, 2 * 1024 * 1024);

        /* Defaults: 5 s to connect, 10 s in all, 1 MiB, the system's CAs. */
        ck_assert_int_eq(load("", &d, NULL, NULL), 0);
        ck_assert_uint_eq(d->upstream_connect_timeout_ms, 5000);
        ck_assert_uint_eq(d->upstream_timeout_ms, 10000);
        ck_assert_uint_eq(d->upstream_max_response, 1024 * 1024);
        ck_assert_ptr_null(d->upstream_ca_file);

        assert_load_fails("[upstream]\ntimeout = 0\n", "invalid value for 'timeout'");
        assert_load_fails("[upstream]\ntimeout = 50ms\n", "invalid value for 'timeout'");
        assert_load_fails("[upstream]\ntimeout = 11min\n", "invalid value for 'timeout'");
        assert_load_fails("[upstream]\nconnect_timeout = -1\n", "invalid value for 'connect_timeout'");
        assert_load_fails("[upstream]\nmax_response_size = 1K\n", "invalid value for 'max_response_size'");
        assert_load_fails("[upstream]\nmax_response_size = 65M\n", "invalid value for 'max_response_size'");
        assert_load_fails("[upstream]\nmax_response_size = 1G\n", "invalid value for 'max_response_size'");
        assert_load_fails("[upstream]\nconnect_timeout = 20\ntimeout = 10\n",
                          "connect_timeout must not be longer than timeout");
}
END_TEST

START_TEST(test_mail_refused) {
        static const char *const relays[] = {
                "smtp://user:secret@relay.example.com",  /* credentials never in this file */
                "http://relay.example.com",
                "relay.example.com",
                "smtp://",
                "smtp://relay.example.com:0",
                "smtp://relay.example.com:65536",
                "smtp://relay.example.com:25?x=1",
                "smtp://relay.example.com/a b",
                "smtp://-relay.example.com",
                "smtp://[::1",
        };

        for (size_t i = 0; i < ELEMENTSOF(relays); i++) {
                _cleanup_free_ char *text = NULL;

                ck_assert_int_ge(asprintf(&text, "[mail]\nrelay = %s\nfrom = a@example.com\n", relays[i]), 0);
                assert_load_fails(text, "@:2: invalid value for 'relay' in [mail]");
        }
        assert_load_fails("[mail]\nfrom = alice\n", "@:2: invalid value for 'from'");
        assert_load_fails("[mail]\nfrom = älice@example.com\n", "@:2: invalid value for 'from'");
        assert_load_fails("[mail]\nusername = two words\n", "@:2: invalid value for 'username'");
        assert_load_fails("[mail]\nmax_attempts = 0\n", "@:2: invalid value for 'max_attempts'");
        assert_load_fails("[mail]\ntimeout = 0\n", "@:2: invalid value for 'timeout'");
        assert_load_fails("[mail]\nrelay = smtp://localhost\n", "[mail] from (the sender's address) is needed");
        assert_load_fails("[mail]\noutbox_directory = /tmp/mail\n", "[mail] from (the sender's address) is needed");
        assert_load_fails("[mail]\nrelay = smtp://localhost\noutbox_directory = /tmp/mail\nfrom = a@example.com\n",
                          "[mail] relay and outbox_directory exclude each other");
        assert_load_fails("[mail]\npassword_file = /etc/tessera/p\n", "[mail] password_file needs a username");
        assert_load_fails("[mail]\nretry_initial = 2h\nretry_max = 1h\n", "retry_initial must be at least 1s");
        assert_load_fails("[mail]\nretry_initial = 0\n", "retry_initial must be at least 1s");
}
END_TEST

START_TEST(test_mail_relay_forms) {
        static const char *const relays[] = {
                "smtp://localhost", "smtps://relay.example.com:465", "smtp://127.0.0.1:2525",
                "smtp://[::1]:25", "smtp://[2001:db8::1]", "smtp://relay.example.com/", "smtp://RELAY.example.com",
        };

        for (size_t i = 0; i < ELEMENTSOF(relays); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *text = NULL;

                ck_assert_int_ge(asprintf(&text, "[mail]\nrelay = %s\nfrom = a@example.com\n", relays[i]), 0);
                ck_assert_msg(load(text, &c, NULL, NULL) == 0, "%s", relays[i]);
                ck_assert_str_eq(c->mail_relay, relays[i]);
        }
}
END_TEST

START_TEST(test_bad_value_escaped_in_log) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *log = NULL;

        /* A value that would drive the terminal reading the error. */
        ck_assert_int_eq(load("[daemon]\nlog_level = \x1b[2Jloud\n", &c, &log, NULL), -EINVAL);
        ck_assert_ptr_nonnull(strstr(log, "'\\x1b[2Jloud'"));
        ck_assert_ptr_null(strchr(log, '\x1b'));
}
END_TEST

START_TEST(test_empty_file_gives_defaults) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *path = NULL;

        ck_assert_int_eq(load("", &c, NULL, &path), 0);
        ck_assert_str_eq(c->path, path);
        ck_assert_str_eq(c->admin_group, "tessera-admin");
        ck_assert_uint_eq(c->id_slice_size, 200000);
}
END_TEST

START_TEST(test_full_file) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(load("# tesserad.conf of the tests\n"
                              "[daemon]\n"
                              "state_directory = /srv/tessera/state\n"
                              "runtime_directory = /run/tessera-test\n"
                              "admin_group = wheel\n"
                              "bus_address = unix:path=/run/test-bus\n"
                              "log_level = debug\n"
                              "worker_threads = 3\n"
                              "max_queued_jobs = 17\n"
                              "\n"
                              "[host]\n"
                              "default_tenant = acme\n"
                              "tenants = globex, initech\n"
                              "\n"
                              "[ids]\n"
                              "range_min = 100000\n"
                              "range_max = 900099\n"
                              "slice_size = 100000\n"
                              "\n"
                              "[users]\n"
                              "default_shell = /bin/zsh\n"
                              "home_template = /home/%t/%u\n"
                              "\n"
                              "[passwords]\n"
                              "hash_method = bcrypt\n"
                              "hash_cost = 12\n"
                              "\n"
                              "[pam]\n"
                              "totp = optional\n",
                              &c, NULL, NULL),
                         0);

        ck_assert_str_eq(c->state_directory, "/srv/tessera/state");
        /* No [store] path: the database follows the state directory. */
        ck_assert_int_eq(c->store.backend, STORE_BACKEND_SQLITE);
        ck_assert_str_eq(c->store.path, "/srv/tessera/state/tessera.db");
        ck_assert_str_eq(c->runtime_directory, "/run/tessera-test");
        ck_assert_str_eq(c->admin_group, "wheel");
        ck_assert_str_eq(c->bus_address, "unix:path=/run/test-bus");
        ck_assert_int_eq(c->log_level, LOG_DEBUG);
        ck_assert_uint_eq(c->worker_threads, 3);
        ck_assert_uint_eq(c->max_queued_jobs, 17);
        ck_assert_str_eq(c->default_tenant, "acme");
        ck_assert_uint_eq(strv_length(c->tenants), 2);
        ck_assert_str_eq(c->tenants[0], "globex");
        ck_assert_str_eq(c->tenants[1], "initech");
        ck_assert_uint_eq(c->id_range_min, 100000);
        ck_assert_uint_eq(c->id_range_max, 900099);
        ck_assert_uint_eq(c->id_slice_size, 100000);
        ck_assert_str_eq(c->default_shell, "/bin/zsh");
        ck_assert_str_eq(c->home_template, "/home/%t/%u");
        ck_assert_str_eq(c->hash_prefix, "$2b$");
        ck_assert_uint_eq(c->hash_cost, 12);
        ck_assert_int_eq(c->pam_totp, CONFIG_TOTP_OPTIONAL);

        ck_assert(config_tenant_visible(c, "acme"));
        ck_assert(config_tenant_visible(c, "initech"));
        ck_assert(!config_tenant_visible(c, "hooli"));
}
END_TEST

START_TEST(test_limits_and_audit) {
        _cleanup_(config_freep) Config *c = NULL;

        /* Defaults: 30 failures per address then 10 a minute, 100 per
         * client then one a second; 90 days of audit trail, 10 million
         * events at most. */
        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert_uint_eq(c->limit_address_burst, 30);
        ck_assert_uint_eq(c->limit_address_interval_usec, 6000000);
        ck_assert_uint_eq(c->limit_client_burst, 100);
        ck_assert_uint_eq(c->limit_client_interval_usec, 1000000);
        ck_assert_uint_eq(c->limit_ipv6_prefix, 64);
        ck_assert_uint_eq(c->limit_max_entries, 65536);
        ck_assert_uint_eq(c->audit_max_age, 90 * 86400);
        ck_assert_uint_eq(c->audit_max_rows, 10000000);
        ck_assert_ptr_null(c->audit_export_file);
        ck_assert_uint_eq(c->audit_prune_interval, 600);
        c = config_free(c);

        ck_assert_int_eq(load("[limits]\n"
                              "address_burst = 5\n"
                              "address_rate = 2/s\n"
                              "client_burst = 0\n"
                              "client_rate = 30/hour\n"
                              "ipv6_prefix = 56\n"
                              "max_entries = 1000\n"
                              "[audit]\n"
                              "max_age = 2w\n"
                              "max_rows = 0\n"
                              "export_file = /var/log/tessera/audit.jsonl\n"
                              "prune_interval = 30min\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_uint_eq(c->limit_address_burst, 5);
        ck_assert_uint_eq(c->limit_address_interval_usec, 500000);
        ck_assert_uint_eq(c->limit_client_burst, 0);
        ck_assert_uint_eq(c->limit_client_interval_usec, 120000000);
        ck_assert_uint_eq(c->limit_ipv6_prefix, 56);
        ck_assert_uint_eq(c->limit_max_entries, 1000);
        ck_assert_uint_eq(c->audit_max_age, 14 * 86400);
        ck_assert_uint_eq(c->audit_max_rows, 0);
        ck_assert_str_eq(c->audit_export_file, "/var/log/tessera/audit.jsonl");
        ck_assert_uint_eq(c->audit_prune_interval, 1800);
        c = config_free(c);

        /* Durations: plain seconds or with a unit; rates per minute, day... */
        ck_assert_int_eq(load("[audit]\nmax_age = 3600\nprune_interval = 45s\n"
                              "[limits]\naddress_rate = 1440/day\nclient_rate = 3/minute\n", &c, NULL, NULL), 0);
        ck_assert_uint_eq(c->audit_max_age, 3600);
        ck_assert_uint_eq(c->audit_prune_interval, 45);
        ck_assert_uint_eq(c->limit_address_interval_usec, 60000000);
        ck_assert_uint_eq(c->limit_client_interval_usec, 20000000);
        c = config_free(c);

        /* An interval of 0 would prune without end. */
        assert_load_fails("[audit]\nprune_interval = 0\n", "[audit] prune_interval must be at least 1s");
}
END_TEST

START_TEST(test_hash_methods) {
        static const struct {
                const char *method, *prefix;
        } table[] = {
                { "yescrypt", "$y$" },
                { "bcrypt", "$2b$" },
                { "sha512crypt", "$6$" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(config_freep) Config *c = NULL;
                _cleanup_free_ char *text = NULL;

                ck_assert_int_ge(asprintf(&text, "[passwords]\nhash_method = %s\n", table[i].method), 0);
                ck_assert_int_eq(load(text, &c, NULL, NULL), 0);
                ck_assert_str_eq(c->hash_prefix, table[i].prefix);
        }
}
END_TEST

START_TEST(test_tenant_defaults) {
        _cleanup_(config_freep) Config *c = NULL;

        /* What tenants get until they choose: nobody signs up, Debian's
         * pam_pwquality's policy, no second factor asked. */
        ck_assert_int_eq(load("", &c, NULL, NULL), 0);
        ck_assert(!c->open_signup);
        ck_assert_int_eq(c->mfa_required, MFA_REQUIRED_NONE);
        ck_assert_uint_eq(c->password_min_length, 8);
        ck_assert(c->password_dictionary_check);
        ck_assert(c->password_user_check);
        ck_assert_uint_eq(c->password_min_classes, 0);
        ck_assert_uint_eq(c->password_max_repeat, 0);
        ck_assert_ptr_null(c->password_dictionary);
        c = config_free(c);

        ck_assert_int_eq(load("[auth]\nopen_signup = yes\nmfa_required = admins\n"
                              "[passwords]\nmin_length = 12\ndictionary_check = no\nmin_classes = 2\n"
                              "max_repeat = 3\nuser_check = off\ndictionary = /usr/share/words/pw_dict\n",
                              &c, NULL, NULL),
                         0);
        ck_assert(c->open_signup);
        ck_assert_int_eq(c->mfa_required, MFA_REQUIRED_ADMINS);
        ck_assert_uint_eq(c->password_min_length, 12);
        ck_assert(!c->password_dictionary_check);
        ck_assert(!c->password_user_check);
        ck_assert_uint_eq(c->password_min_classes, 2);
        ck_assert_uint_eq(c->password_max_repeat, 3);
        ck_assert_str_eq(c->password_dictionary, "/usr/share/words/pw_dict");

        /* bcrypt reads 72 bytes: a least length beyond them lets no
         * password through. */
        assert_load_fails("[passwords]\nhash_method = bcrypt\nmin_length = 80\n", "@: password_min_length");
}
END_TEST

START_TEST(test_comments) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(load("# a whole-line comment\n"
                              "; another one\n"
                              "[daemon]\n"
                              "admin_group = wheel   # the admins\n"
                              "runtime_directory = /run/t ; inih's own inline comment\n"
                              "state_directory = /var/lib/t#not-a-comment\n"
                              "bus_address = # no address: the system bus\n"
                              "[host]\n"
                              "default_tenant = acme\t# bare names\n"
                              "tenants = globex,initech #others\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_str_eq(c->admin_group, "wheel");
        ck_assert_str_eq(c->runtime_directory, "/run/t");
        /* Only a '#' after whitespace starts a comment. */
        ck_assert_str_eq(c->state_directory, "/var/lib/t#not-a-comment");
        ck_assert_ptr_null(c->bus_address);
        ck_assert_str_eq(c->default_tenant, "acme");
        ck_assert_uint_eq(strv_length(c->tenants), 2);
        ck_assert_str_eq(c->tenants[1], "initech");
}
END_TEST

START_TEST(test_repeated_key_last_wins) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(load("[host]\n"
                              "tenants = one\n"
                              "default_tenant = acme\n"
                              "tenants = two, three\n"
                              "default_tenant =\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_uint_eq(strv_length(c->tenants), 2);
        ck_assert_str_eq(c->tenants[0], "two");
        ck_assert_str_eq(c->tenants[1], "three");
        ck_assert_ptr_null(c->default_tenant);
}
END_TEST

START_TEST(test_unknown_key) {
        assert_load_fails("[daemon]\n"
                          "admin_group = wheel\n"
                          "no_such_key = 1\n",
                          "@:3: unknown key 'no_such_key' in [daemon]");
}
END_TEST

START_TEST(test_unknown_section) {
        assert_load_fails("[daemon]\n"
                          "admin_group = wheel\n"
                          "\n"
                          "[nonsense]\n"
                          "key = 1\n",
                          "@:5: unknown section [nonsense]");
        /* A key before any section is in the section without a name. */
        assert_load_fails("admin_group = wheel\n", "@:1: unknown section []");
}
END_TEST

START_TEST(test_syntax_error) {
        assert_load_fails("[daemon]\n"
                          "this line has no equals sign\n",
                          "@:2: syntax error");
}
END_TEST

START_TEST(test_store_section) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL, *e = NULL;

        /* [store] may come before [daemon]: the default path follows the
         * state directory however the file is ordered. */
        ck_assert_int_eq(load("[store]\nbackend = sqlite\n[daemon]\nstate_directory = /srv/t\n", &c, NULL, NULL), 0);
        ck_assert_int_eq(c->store.backend, STORE_BACKEND_SQLITE);
        ck_assert_str_eq(c->store.path, "/srv/t/tessera.db");
        /* A path of its own, anywhere. */
        ck_assert_int_eq(load("[daemon]\nstate_directory = /srv/t\n[store]\npath = /data/identity.db\n", &d, NULL,
                              NULL),
                         0);
        ck_assert_str_eq(d->store.path, "/data/identity.db");
        /* Empty: the default again. */
        ck_assert_int_eq(load("[store]\npath =\n", &e, NULL, NULL), 0);
        ck_assert_str_eq(e->store.path, LOCALSTATEDIR "/lib/tessera/tessera.db");

        assert_load_fails("[store]\nbackend = postgres\n", "@:2: invalid value for 'backend' in [store]");
        assert_load_fails("[store]\nbackend = SQLite\n", "@:2: invalid value for 'backend' in [store]");
        assert_load_fails("[store]\npath = tessera.db\n", "@:2: invalid value for 'path' in [store]");
        assert_load_fails("[store]\ndatabase = /x.db\n", "@:2: unknown key 'database' in [store]");
}
END_TEST

START_TEST(test_store_postgresql) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL;
        _cleanup_free_ char *description = NULL;

        /* A primary and its standby: libpq connects to the one that takes writes. */
        ck_assert_int_eq(load("[store]\nbackend = postgresql\n"
                              "url = postgresql://db1.example,db2.example/tessera?target_session_attrs=read-write\n"
                              "password_file = /etc/tessera/store-password\n",
                              &c, NULL, NULL),
                         0);
        ck_assert_int_eq(c->store.backend, STORE_BACKEND_POSTGRESQL);
        ck_assert_str_eq(c->store.url, "postgresql://db1.example,db2.example/tessera?target_session_attrs=read-write");
        ck_assert_str_eq(c->store.password_file, "/etc/tessera/store-password");
        ck_assert_int_eq(store_config_describe(&c->store, &description), 0);
        ck_assert_str_eq(description,
                         "postgresql postgresql://db1.example,db2.example/tessera?target_session_attrs=read-write");
        /* key=value works as well. */
        ck_assert_int_eq(load("[store]\nbackend = postgresql\nurl = host=/run/postgresql dbname=tessera\n", &d, NULL,
                              NULL),
                         0);
        ck_assert_str_eq(d->store.url, "host=/run/postgresql dbname=tessera");
        ck_assert_ptr_null(d->store.password_file);

        assert_load_fails("[store]\nbackend = postgresql\n", "@: [store] lacks a setting of backend postgresql");
        assert_load_fails("[store]\nbackend = postgresql\nurl = postgresql://tessera:s3cret@db/tessera\n",
                          "@: [store] url holds a password; put it into [store] password_file");
        assert_load_fails("[store]\nbackend = postgresql\nurl = host=db password=s3cret\n",
                          "@: [store] url holds a password");
        assert_load_fails("[store]\nbackend = postgresql\nurl = postgresql://db/tessera?nonsense=1\n",
                          "@: [store] url is not a PostgreSQL connection URL");
        assert_load_fails("[store]\nbackend = postgresql\nurl = db.example\n",
                          "@: [store] url is not a PostgreSQL connection URL");
        assert_load_fails("[store]\nbackend = postgresql\nurl = x\npassword_file = secret\n",
                          "@:4: invalid value for 'password_file' in [store]");
}
END_TEST

/* The password: from password_file, else the systemd credential, one
 * line without its newline; a file anyone may read is refused. */
START_TEST(test_store_password) {
        _cleanup_free_ char *file = test_write_file(dir, "pw", "correct horse\n"), *credentials = NULL,
                            *cred = NULL;
        StoreConfig c = { .backend = STORE_BACKEND_POSTGRESQL, .url = (char *) "host=db" };
        char *pw = (char *) "unset";

        ck_assert_int_eq(chmod(file, 0600), 0);
        ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
        ck_assert_int_eq(store_config_read_password(&c, &pw), 0);
        ck_assert_ptr_null(pw);

        c.password_file = file;
        ck_assert_int_eq(store_config_read_password(&c, &pw), 0);
        ck_assert_str_eq(pw, "correct horse");
        erase_and_free(pw);

        ck_assert_int_eq(chmod(file, 0644), 0);
        pw = (char *) "unset";
        ck_assert_int_eq(store_config_read_password(&c, &pw), -EPERM);
        ck_assert_str_eq(pw, "unset");

        /* No password_file: the credential, when the service has one. */
        c.password_file = NULL;
        ck_assert_int_ge(asprintf(&credentials, "%s/credentials", dir), 0);
        ck_assert_int_eq(mkdir(credentials, 0700), 0);
        ck_assert_int_eq(setenv("CREDENTIALS_DIRECTORY", credentials, 1), 0);
        ck_assert_int_eq(store_config_read_password(&c, &pw), 0);
        ck_assert_ptr_null(pw);
        cred = test_write_file(credentials, STORE_PASSWORD_CREDENTIAL, "from-systemd");
        ck_assert_int_eq(chmod(cred, 0400), 0);
        ck_assert_int_eq(store_config_read_password(&c, &pw), 0);
        ck_assert_str_eq(pw, "from-systemd");
        erase_and_free(pw);
        /* password_file wins over the credential. */
        ck_assert_int_eq(chmod(file, 0600), 0);
        c.password_file = file;
        ck_assert_int_eq(store_config_read_password(&c, &pw), 0);
        ck_assert_str_eq(pw, "correct horse");
        erase_and_free(pw);
        ck_assert_int_eq(unsetenv("CREDENTIALS_DIRECTORY"), 0);
}
END_TEST

START_TEST(test_bad_values) {
        static const struct {
                const char *section, *key, *value;
        } table[] = {
                { "host", "default_tenant", "Acme" },
                { "host", "default_tenant", "-acme" },
                { "host", "default_tenant", "acme-" },
                { "host", "tenants", "globex, Bad_one" },
                { "host", "tenants", "globex, -x" },
                { "passwords", "hash_method", "md5" },
                { "passwords", "hash_method", "YESCRYPT" },
                { "passwords", "hash_cost", "ten" },
                { "ids", "range_min", "abc" },
                { "ids", "range_min", "-5" },
                { "ids", "range_min", "+5" },
                { "ids", "range_min", "12abc" },
                { "ids", "range_max", "4294967296" },
                { "ids", "slice_size", "0x1000" },
                { "daemon", "worker_threads", "2000000" },
                { "daemon", "max_queued_jobs", "many" },
                { "daemon", "state_directory", "var/lib/tessera" },
                { "daemon", "runtime_directory", "/run/../tmp" },
                { "daemon", "runtime_directory", "/run/tessera/" },
                { "daemon", "admin_group", "ad:min" },
                { "daemon", "log_level", "loud" },
                { "users", "default_shell", "bin/sh" },
                { "users", "home_template", "home/%u" },
                { "users", "home_template", "/home/%x" },
                { "users", "home_template", "/home/%" },
                /* never is not the daemon's to allow: root's programs choose it. */
                { "pam", "totp", "never" },
                { "pam", "totp", "Required" },
                { "limits", "address_burst", "-1" },
                { "limits", "address_burst", "2000000" },
                { "limits", "address_rate", "10" },
                { "limits", "address_rate", "0/min" },
                { "limits", "address_rate", "10/fortnight" },
                { "limits", "address_rate", "/min" },
                { "limits", "client_rate", "10/" },
                { "limits", "ipv6_prefix", "16" },
                { "limits", "ipv6_prefix", "129" },
                { "limits", "max_entries", "10" },
                { "audit", "max_age", "90 days" },
                { "audit", "max_age", "d" },
                { "audit", "max_age", "-1d" },
                { "audit", "max_age", "100000w" },
                { "audit", "max_rows", "lots" },
                { "audit", "export_file", "audit.jsonl" },
                { "auth", "open_signup", "sometimes" },
                { "auth", "mfa_required", "Admins" },
                { "auth", "mfa_required", "all" },
                { "passwords", "min_length", "7" },
                { "passwords", "min_length", "129" },
                { "passwords", "min_classes", "5" },
                { "passwords", "max_repeat", "65" },
                { "passwords", "dictionary_check", "maybe" },
                { "passwords", "user_check", "2" },
                { "passwords", "dictionary", "cracklib_dict" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_free_ char *text = NULL, *needle = NULL;

                /* The bad line is line 4, after a comment and a blank line. */
                ck_assert_int_ge(asprintf(&text, "[%s]\n# comment\n\n%s = %s\n", table[i].section, table[i].key,
                                          table[i].value),
                                 0);
                ck_assert_int_ge(asprintf(&needle, "@:4: invalid value for '%s' in [%s]", table[i].key,
                                          table[i].section),
                                 0);
                assert_load_fails(text, needle);
        }
}
END_TEST

START_TEST(test_every_error_is_reported) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *log = NULL;

        /* The whole file is read, so that one run shows every mistake. */
        ck_assert_int_eq(load("[daemon]\n"
                              "log_level = loud\n"
                              "admin_group = wheel\n"
                              "bogus = 1\n",
                              &c, &log, NULL),
                         -EINVAL);
        ck_assert_ptr_nonnull(strstr(log, ":2: invalid value for 'log_level'"));
        ck_assert_ptr_nonnull(strstr(log, ":4: unknown key 'bogus'"));
}
END_TEST

START_TEST(test_overlong_line) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL, *log = NULL, *path = NULL, *where = NULL, *later = NULL;
        char value[3001];

        /* inih reads lines into a fixed buffer (200 bytes in Debian's
         * build); a longer line must be refused as such, by its own number,
         * not be cut into a truncated value plus a bogus next line. Both
         * refusals (ours, and the 1024-byte value limit of a build with a
         * bigger buffer) say "too long". */
        memset(value, 'x', sizeof(value) - 1);
        value[0] = '/';
        value[sizeof(value) - 1] = '\0';
        ck_assert_int_ge(asprintf(&text, "[daemon]\nstate_directory = %s\nadmin_group = wheel\nbogus = 1\n", value), 0);
        ck_assert_int_eq(load(text, &c, &log, &path), -EINVAL);
        ck_assert_ptr_null(c);
        ck_assert_int_ge(asprintf(&where, "%s:2: ", path), 0);
        ck_assert_int_ge(asprintf(&later, "%s:4: unknown key 'bogus'", path), 0);
        ck_assert_msg(strstr(log, where) && strstr(log, "too long"), "no 'too long' for line 2 in: %s", log);
        /* Lines after it keep their numbers. */
        ck_assert_msg(strstr(log, later), "expected '%s' in: %s", later, log);
        ck_assert_ptr_null(strstr(log, "syntax error"));
}
END_TEST

START_TEST(test_longest_line) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *text = NULL;
        const char *key = "state_directory = ";
        char value[200];

        /* 199 bytes and a newline still fit inih's buffer of 200. */
        memset(value, 'x', sizeof(value) - 1);
        value[0] = '/';
        value[199 - strlen(key)] = '\0';
        ck_assert_int_ge(asprintf(&text, "[daemon]\n%s%s\nadmin_group = wheel", key, value), 0);
        ck_assert_int_eq(load(text, &c, NULL, NULL), 0);
        ck_assert_str_eq(c->state_directory, value);
        /* The last line needs no newline. */
        ck_assert_str_eq(c->admin_group, "wheel");
}
END_TEST

START_TEST(test_missing_file) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *path = NULL, *log = NULL;
        StderrCapture cap;

        ck_assert_int_ge(asprintf(&path, "%s/does-not-exist.conf", dir), 0);

        ck_assert_int_eq(config_load(path, true, &c), 0);
        ck_assert_ptr_nonnull(c);
        ck_assert_str_eq(c->path, path);
        ck_assert_str_eq(c->admin_group, "tessera-admin");
        ck_assert_str_eq(c->store.path, LOCALSTATEDIR "/lib/tessera/tessera.db");
        c = config_free(c);

        stderr_capture_start(&cap);
        ck_assert_int_eq(config_load(path, false, &c), -ENOENT);
        log = stderr_capture_stop(&cap);
        ck_assert_ptr_null(c);
        ck_assert_ptr_nonnull(strstr(log, path));
}
END_TEST

/* An open stream (here fmemopen) parses as the file would, and reports
 * errors under the name it is given. */
START_TEST(test_load_from_stream) {
        static const char text[] = "[daemon]\nadmin_group = wheel\n[host]\ntenants = globex\n[ids]\nslice_size = 50\n";
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *log = NULL;
        StderrCapture cap;
        FILE *f;

        f = fmemopen((void *) text, strlen(text), "r");
        ck_assert_ptr_nonnull(f);
        stderr_capture_start(&cap);
        ck_assert_int_eq(config_load_file(f, "<memory>", &c), -EINVAL);
        log = stderr_capture_stop(&cap);
        fclose(f);
        ck_assert_ptr_null(c);
        ck_assert_ptr_nonnull(strstr(log, "<memory>: [ids] slice_size must be at least 1000"));

        f = fmemopen((void *) text, strlen(text) - strlen("slice_size = 50\n"), "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(config_load_file(f, "<memory>", &c), 0);
        fclose(f);
        ck_assert_str_eq(c->path, "<memory>");
        ck_assert_str_eq(c->admin_group, "wheel");
        ck_assert_str_eq(c->tenants[0], "globex");
        ck_assert_ptr_null(c->tenants[1]);
}
END_TEST

START_TEST(test_verify_slice_size) {
        assert_load_fails("[ids]\nslice_size = 999\n", "@: [ids] slice_size must be at least 1000");
}
END_TEST

START_TEST(test_verify_range) {
        _cleanup_(config_freep) Config *c = NULL;

        /* 1000..1998 holds 999 IDs, one short of a slice. */
        assert_load_fails("[ids]\nrange_min = 1000\nrange_max = 1998\nslice_size = 1000\n",
                          "@: [ids] range_min..range_max must hold at least one slice");
        assert_load_fails("[ids]\nrange_min = 999\nrange_max = 5000\nslice_size = 1000\n",
                          "@: [ids] range_min..range_max");
        assert_load_fails("[ids]\nrange_min = 5000\nrange_max = 5000\nslice_size = 1000\n",
                          "@: [ids] range_min..range_max");
        assert_load_fails("[ids]\nslice_size = 2000000002\n", "@: [ids] range_min..range_max");

        /* Exactly one slice is enough. */
        ck_assert_int_eq(load("[ids]\nrange_min = 1000\nrange_max = 1999\nslice_size = 1000\n", &c, NULL, NULL), 0);
        ck_assert_uint_eq(c->id_range_max, 1999);
}
END_TEST

START_TEST(test_verify_default_tenant_listed) {
        assert_load_fails("[host]\ndefault_tenant = acme\ntenants = globex, acme\n",
                          "tenant 'acme' is both the default and in [host] tenants");
}
END_TEST

static Config *config_with_template(const char *template) {
        Config *c = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        free(c->home_template);
        c->home_template = strdup(template);
        ck_assert_ptr_nonnull(c->home_template);
        return c;
}

static void assert_home(const char *template, const char *user, const char *tenant, const char *expected) {
        _cleanup_(config_freep) Config *c = config_with_template(template);
        _cleanup_free_ char *home = NULL;

        ck_assert_int_eq(config_format_home(c, user, tenant, &home), 0);
        ck_assert_str_eq(home, expected);
}

START_TEST(test_format_home) {
        char name[NAME_MAX_LEN + 1], tenant[NAME_MAX_LEN + 1], expected[256];

        assert_home("/home/%u", "alice", "acme", "/home/alice");
        assert_home("/home/%t/%u", "alice", "acme", "/home/acme/alice");
        assert_home("/srv/%u@%t", "bob", "globex", "/srv/bob@globex");
        assert_home("/srv/100%%/%u", "alice", "acme", "/srv/100%/alice");
        assert_home("/srv/%%%u%%", "alice", "acme", "/srv/%alice%");
        assert_home("/%%%%", "a", "b", "/%%");

        /* Long names in every placeholder: the buffer must be sized right. */
        memset(name, 'n', sizeof(name) - 1);
        name[sizeof(name) - 1] = '\0';
        memset(tenant, 't', sizeof(tenant) - 1);
        tenant[sizeof(tenant) - 1] = '\0';
        snprintf(expected, sizeof(expected), "/%s/%s/%s/%s", tenant, name, tenant, name);
        assert_home("/%t/%u/%t/%u", name, tenant, expected);
}
END_TEST

START_TEST(test_format_home_empty_parts) {
        /* Even with nothing to substitute, "%%" still writes a '%'. */
        assert_home("/%%", "", "", "/%");
        assert_home("/x%%%%y", "", "", "/x%%y");
}
END_TEST

START_TEST(test_format_home_invalid) {
        _cleanup_(config_freep) Config *c = config_with_template("/home/%t/%u");
        _cleanup_free_ char *home = NULL;

        /* An empty tenant leaves "//" behind: not a normalized path. */
        ck_assert_int_eq(config_format_home(c, "alice", "", &home), -EINVAL);
        ck_assert_ptr_null(home);
        ck_assert_int_eq(config_format_home(c, "..", "acme", &home), -EINVAL);
        ck_assert_ptr_null(home);
}
END_TEST

START_TEST(test_format_home_from_file) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_free_ char *home = NULL;

        ck_assert_int_eq(load("[users]\nhome_template = /home/%t/%u # per tenant\n", &c, NULL, NULL), 0);
        ck_assert_int_eq(config_format_home(c, "carol", "initech", &home), 0);
        ck_assert_str_eq(home, "/home/initech/carol");
}
END_TEST

START_TEST(test_tenant_visible) {
        _cleanup_(config_freep) Config *c = NULL;

        ck_assert_int_eq(config_new_default(&c), 0);
        ck_assert(!config_tenant_visible(c, "acme"));
        c = config_free(c);

        ck_assert_int_eq(load("[host]\ndefault_tenant = acme\n", &c, NULL, NULL), 0);
        ck_assert(config_tenant_visible(c, "acme"));
        ck_assert(!config_tenant_visible(c, "globex"));

        /* The lockout settings have nothing to say about it (a check of
         * them strayed in here once, and answered "visible"). */
        c->lockout_time = 0;
        ck_assert(!config_tenant_visible(c, "globex"));
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc;

        tc = tcase_create("load");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_empty_file_gives_defaults);
        tcase_add_test(tc, test_full_file);
        tcase_add_test(tc, test_hash_methods);
        tcase_add_test(tc, test_tenant_defaults);
        tcase_add_test(tc, test_limits_and_audit);
        tcase_add_test(tc, test_comments);
        tcase_add_test(tc, test_repeated_key_last_wins);
        tcase_add_test(tc, test_missing_file);
        tcase_add_test(tc, test_load_from_stream);
        tcase_add_test(tc, test_tenant_visible);
        tcase_add_test(tc, test_store_section);
        tcase_add_test(tc, test_store_postgresql);
        tcase_add_test(tc, test_store_password);
        tcase_add_test(tc, test_http_limits);
        tcase_add_test(tc, test_mail);
        tcase_add_test(tc, test_mail_refused);
        tcase_add_test(tc, test_upstream);
        tcase_add_test(tc, test_mail_relay_forms);
        tcase_add_test(tc, test_bad_value_escaped_in_log);
        suite_add_tcase(s, tc);

        tc = tcase_create("errors");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_unknown_key);
        tcase_add_test(tc, test_unknown_section);
        tcase_add_test(tc, test_syntax_error);
        tcase_add_test(tc, test_bad_values);
        tcase_add_test(tc, test_every_error_is_reported);
        tcase_add_test(tc, test_overlong_line);
        tcase_add_test(tc, test_longest_line);
        suite_add_tcase(s, tc);

        tc = tcase_create("verify");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_verify_slice_size);
        tcase_add_test(tc, test_verify_range);
        tcase_add_test(tc, test_verify_default_tenant_listed);
        suite_add_tcase(s, tc);

        tc = tcase_create("home template");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_format_home);
        tcase_add_test(tc, test_format_home_empty_parts);
        tcase_add_test(tc, test_format_home_invalid);
        tcase_add_test(tc, test_format_home_from_file);
        suite_add_tcase(s, tc);

        return s;
}

int main(void) {
        return test_run_suite(config_suite());
}
