/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "log.h"
#include "macro.h"
#include "names.h"

typedef struct ParseState {
        Config *config;
        const char *path;
        FILE *f;
        unsigned line;          /* number of the line inih handed to us last */
        int error;              /* first error, reported after the whole file was read */
} ParseState;

typedef int (*ParseFunc)(const char *value, void *field);

typedef struct ConfigKey {
        const char *section;
        const char *key;
        ParseFunc parse;
        size_t offset;
} ConfigKey;

static int parse_string(const char *value, void *field) {
        char **s = field, *copy;

        copy = strdup(value);
        if (!copy)
                return -ENOMEM;
        free(*s);
        *s = copy;
        return 0;
}

static int parse_optional_string(const char *value, void *field) {
        if (isempty(value)) {
                char **s = field;
                *s = (free(*s), NULL);
                return 0;
        }
        return parse_string(value, field);
}

static int parse_store_backend(const char *value, void *field) {
        StoreBackend b = store_backend_from_string(value);

        if (b < 0)
                return -EINVAL;
        *(StoreBackend *) field = b;
        return 0;
}

static int parse_path(const char *value, void *field) {
        if (!valid_unix_path(value))
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_uint32(const char *value, void *field) {
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) value[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || *end != '\0' || v > UINT32_MAX)
                return -EINVAL;
        *(uint32_t *) field = (uint32_t) v;
        return 0;
}

static int parse_unsigned(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > 1024 * 1024)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

static int parse_ulong(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0)
                return r;
        *(unsigned long *) field = v;
        return 0;
}

static int parse_bool(const char *value, void *field) {
        static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(value, yes[i]) == 0) {
                        *(bool *) field = true;
                        return 0;
                }
                if (strcasecmp(value, no[i]) == 0) {
                        *(bool *) field = false;
                        return 0;
                }
        }
        return -EINVAL;
}

static int parse_connections(const char *value, void *field) {
        unsigned v;
        int r = parse_unsigned(value, &v);
        if (r < 0 || v < 1 || v > 65536)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

static int parse_optional_path(const char *value, void *field) {
        if (isempty(value))
                return parse_optional_string(value, field);
        return parse_path(value, field);
}

static int parse_log_level(const char *value, void *field) {
        int l = log_level_from_string(value);
        if (l < 0)
                return l;
        *(int *) field = l;
        return 0;
}

static int parse_group_name(const char *value, void *field) {
        /* Local groups may follow looser rules than ours; refuse only what
         * can't be a group name anywhere. */
        if (isempty(value) || strlen(value) > 256 || strpbrk(value, ": \t\n"))
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_tenant(const char *value, void *field) {
        if (isempty(value))
                return parse_optional_string(value, field);
        if (!valid_tenant_slug(value))
                return -EINVAL;
        return parse_string(value, field);
}

static int parse_tenant_list(const char *value, void *field) {
        char ***l = field;
        _cleanup_(strv_freep) char **list = NULL;
        _cleanup_free_ char *copy = strdup(value);
        size_t n = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save)) {
                char **nl;

                if (!valid_tenant_slug(t))
                        return -EINVAL;
                nl = realloc(list, (n + 2) * sizeof(char *));
                if (!nl)
                        return -ENOMEM;
                list = nl;
                list[n] = strdup(t);
                if (!list[n])
                        return -ENOMEM;
                list[++n] = NULL;
        }
        strv_free(*l);
        *l = TAKE_PTR(list);
        return 0;
}

static int parse_hash_method(const char *value, void *field) {
        static const struct {
                const char *name, *prefix;
        } methods[] = {
                { "yescrypt", "$y$" },
                { "bcrypt", "$2b$" },
                { "sha512crypt", "$6$" },
        };

        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                if (streq(value, methods[i].name))
                        return parse_string(methods[i].prefix, field);
        return -EINVAL;
}

static int parse_home_template(const char *value, void *field) {
        /* Only %u, %t and %% are known; the result must still be a path. */
        for (const char *p = value; *p; p++)
                if (*p == '%') {
                        p++;
                        if (*p != 'u' && *p != 't' && *p != '%')
                                return -EINVAL;
                }
        if (value[0] != '/')
                return -EINVAL;
        return parse_string(value, field);
}

/* "host:port" with a numeric port (0: any free one); IPv6 hosts in
 * brackets. Empty turns the HTTP server off. */
static int parse_listen(const char *value, void *field) {
        const char *colon;
        uint32_t port;
        int r;

        if (isempty(value))
                return parse_optional_string(value, field);
        colon = strrchr(value, ':');
        if (!colon || colon == value || strlen(value) > 256)
                return -EINVAL;
        r = parse_uint32(colon + 1, &port);
        if (r < 0 || port > 65535)
                return -EINVAL;
        return parse_string(value, field);
}

/* http:// or https:// and a host, without query, fragment or trailing
 * slash: issuers are {public_url}/t/{tenant}. */
static int parse_public_url(const char *value, void *field) {
        size_t n = strlen(value);

        if (isempty(value))
                return parse_optional_string(value, field);
        if ((!strneq(value, "http://", 7) && !strneq(value, "https://", 8)) || n > 512 || value[n - 1] == '/' ||
            strpbrk(value, "?#\"\\ \t") || strlen(strchr(value, ':') + 3) == 0)
                return -EINVAL;
        return parse_string(value, field);
}

/* Seconds, at least one and at most a year. */
static int parse_lifetime(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v == 0 || v > 366 * 24 * 3600)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* A duration in seconds, at most a year. */
static int parse_seconds(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > 366u * 24 * 3600)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

static int parse_code_lifetime(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v == 0 || v > 60)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* A mailed link that works for at least a minute and at most a week. */
static int parse_token_lifetime(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v < 60 || v > 7 * 86400)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* Milliseconds, up to 10 s. */
static int parse_delay_ms(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > 10000)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* Each step either side widens what a guess may hit: keep it small. */
static int parse_totp_window(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > 10)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* required or optional: "never" is for root's programs to choose. */
static int parse_pam_totp(const char *value, void *field) {
        if (streq(value, "required"))
                *(ConfigTotpPolicy *) field = CONFIG_TOTP_REQUIRED;
        else if (streq(value, "optional"))
                *(ConfigTotpPolicy *) field = CONFIG_TOTP_OPTIONAL;
        else
                return -EINVAL;
        return 0;
}

static int parse_mfa_required(const char *value, void *field) {
        MfaRequired m = mfa_required_from_string(value);

        if (m < 0)
                return -EINVAL;
        *(MfaRequired *) field = m;
        return 0;
}

/* The site's password policy, in the bounds a tenant's own must keep. */
static int parse_password_min_length(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v < PASSWORD_MIN_LENGTH_LOWEST || v > PASSWORD_MIN_LENGTH_HIGHEST)
                return -EINVAL;
        *(uint32_t *) field = v;
        return 0;
}

static int parse_password_min_classes(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > PASSWORD_MIN_CLASSES_HIGHEST)
                return -EINVAL;
        *(uint32_t *) field = v;
        return 0;
}

static int parse_password_max_repeat(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > PASSWORD_MAX_REPEAT_HIGHEST)
                return -EINVAL;
        *(uint32_t *) field = v;
        return 0;
}

static int parse_timeout(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v < 1 || v > 3600)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* "10/min": so many events per second, minute, hour or day, as the
 * interval between two (nginx's limit_req and HAProxy write rates so). */
static int parse_rate(const char *value, void *field) {
        static const struct {
                const char *unit;
                uint64_t usec;
        } units[] = {
                { "s", UINT64_C(1000000) },
                { "sec", UINT64_C(1000000) },
                { "second", UINT64_C(1000000) },
                { "min", UINT64_C(60000000) },
                { "minute", UINT64_C(60000000) },
                { "h", UINT64_C(3600000000) },
                { "hour", UINT64_C(3600000000) },
                { "d", UINT64_C(86400000000) },
                { "day", UINT64_C(86400000000) },
        };
        _cleanup_free_ char *n = NULL;
        const char *slash = strchr(value, '/');
        uint32_t count;

        if (!slash)
                return -EINVAL;
        n = strndup(value, (size_t) (slash - value));
        if (!n)
                return -ENOMEM;
        if (parse_uint32(n, &count) < 0 || count == 0 || count > 1000000)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(slash + 1, units[i].unit)) {
                        *(uint64_t *) field = MAX(units[i].usec / count, (uint64_t) 1);
                        return 0;
                }
        return -EINVAL;
}

/* A duration: seconds, or a number with s, min, h, d or w ("90d"). At most
 * ten years. */
static int parse_duration(const char *value, void *field) {
        static const struct {
                const char *suffix;
                uint64_t seconds;
        } units[] = {
                { "", 1 }, { "s", 1 }, { "min", 60 }, { "m", 60 }, { "h", 3600 }, { "d", 86400 }, { "w", 604800 },
        };
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) value[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (streq(end, units[i].suffix)) {
                        if (v > UINT64_C(3660) * 86400 / units[i].seconds)
                                return -EINVAL;
                        *(uint64_t *) field = v * units[i].seconds;
                        return 0;
                }
        return -EINVAL;
}

static int parse_burst(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v > 1000000)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

static int parse_ipv6_prefix(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v < 32 || v > 128)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

static int parse_max_entries(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v < 64 || v > 16 * 1024 * 1024)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

static int parse_uint64(const char *value, void *field) {
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) value[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || *end != '\0' || v > INT64_MAX)
                return -EINVAL;
        *(uint64_t *) field = v;
        return 0;
}

/* An SMTP relay: smtp:// or smtps://, a host (a name, an IPv4 address or
 * an IPv6 one in brackets), an optional port and an optional path (the
 * name curl greets with). No user information: credentials never live in
 * this file (password_file, or a systemd credential). */
static int parse_mail_relay(const char *value, void *field) {
        const char *p, *end;
        size_t n;

        if (isempty(value))
                return parse_optional_string(value, field);
        if (strlen(value) > 512)
                return -EINVAL;
        if (strneq(value, "smtp://", 7))
                p = value + 7;
        else if (strneq(value, "smtps://", 8))
                p = value + 8;
        else
                return -EINVAL;

        if (*p == '[') {
                end = strchr(p, ']');
                if (!end || end == p + 1 || strspn(p + 1, "0123456789abcdefABCDEF:.") != (size_t) (end - p - 1))
                        return -EINVAL;
                end++;
        } else {
                n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
                if (n == 0 || p[0] == '-' || p[0] == '.')
                        return -EINVAL;
                end = p + n;
        }
        if (*end == ':') {
                uint32_t port;
                _cleanup_free_ char *digits = strndup(end + 1, strspn(end + 1, "0123456789"));

                if (!digits)
                        return -ENOMEM;
                if (parse_uint32(digits, &port) < 0 || port == 0 || port > 65535)
                        return -EINVAL;
                end += 1 + strlen(digits);
        }
        if (*end == '/')
                end += 1 + strspn(end + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-");
        if (*end != '\0')
                return -EINVAL;
        return parse_string(value, field);
}

/* An address for SMTP: ASCII, as tesserad speaks no SMTPUTF8. */
static int parse_mail_address(const char *value, void *field) {
        if (isempty(value))
                return parse_optional_string(value, field);
        if (!valid_email(value))
                return -EINVAL;
        for (const char *p = value; *p; p++)
                if ((unsigned char) *p >= 0x80)
                        return -EINVAL;
        return parse_string(value, field);
}

/* An SMTP user name: printable ASCII without spaces. */
static int parse_mail_username(const char *value, void *field) {
        if (isempty(value))
                return parse_optional_string(value, field);
        if (strlen(value) > 256)
                return -EINVAL;
        for (const char *p = value; *p; p++)
                if (*p <= ' ' || *p > '~')
                        return -EINVAL;
        return parse_string(value, field);
}

static int parse_mail_attempts(const char *value, void *field) {
        uint32_t v;
        int r = parse_uint32(value, &v);
        if (r < 0 || v < 1 || v > 100)
                return -EINVAL;
        *(unsigned *) field = v;
        return 0;
}

/* A wait for an upstream provider: seconds, or "ms" or "s" after the
 * number ("500ms", "10s"); from 100 ms to 10 minutes. Stored in ms. */
static int parse_upstream_timeout(const char *value, void *field) {
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) value[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || v > 600000)
                return -EINVAL;
        if (streq(end, "") || streq(end, "s"))
                v *= 1000;
        else if (!streq(end, "ms"))
                return -EINVAL;
        if (v < 100 || v > 600000)
                return -EINVAL;
        *(unsigned *) field = (unsigned) v;
        return 0;
}

/* Bytes, or a number with K or M (KiB, MiB): from 4K (a small key set) to
 * 64M. */
static int parse_response_size(const char *value, void *field) {
        unsigned long long v;
        char *end;

        if (!isdigit((unsigned char) value[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(value, &end, 10);
        if (errno != 0 || v > 64ULL * 1024 * 1024)
                return -EINVAL;
        if (streq(end, "K"))
                v *= 1024;
        else if (streq(end, "M"))
                v *= 1024 * 1024;
        else if (!streq(end, ""))
                return -EINVAL;
        if (v < 4096 || v > 64ULL * 1024 * 1024)
                return -EINVAL;
        *(unsigned *) field = (unsigned) v;
        return 0;
}

/* Addresses or ranges ("127.0.0.0/8 ::1"); empty: none. */
static int parse_address_ranges(const char *value, void *field) {
        return address_ranges_parse(value, field);
}

#define KEY(s, k, fn, field) { s, k, fn, offsetof(Config, field) }

static const ConfigKey config_keys[] = {
        KEY("daemon", "state_directory", parse_path, state_directory),
        KEY("daemon", "runtime_directory", parse_path, runtime_directory),
        KEY("daemon", "admin_group", parse_group_name, admin_group),
        KEY("daemon", "bus_address", parse_optional_string, bus_address),
        KEY("daemon", "log_level", parse_log_level, log_level),
        KEY("daemon", "worker_threads", parse_unsigned, worker_threads),
        KEY("daemon", "max_queued_jobs", parse_unsigned, max_queued_jobs),
        KEY("store", "backend", parse_store_backend, store.backend),
        KEY("store", "path", parse_optional_path, store.path),
        KEY("store", "url", parse_optional_string, store.url),
        KEY("store", "password_file", parse_optional_path, store.password_file),
        KEY("host", "default_tenant", parse_tenant, default_tenant),
        KEY("host", "tenants", parse_tenant_list, tenants),
        KEY("nss", "socket", parse_optional_path, nss_socket),
        KEY("nss", "memory_cache", parse_bool, nss_memory_cache),
        KEY("nss", "max_connections", parse_connections, nss_max_connections),
        KEY("ids", "range_min", parse_uint32, id_range_min),
        KEY("ids", "range_max", parse_uint32, id_range_max),
        KEY("ids", "slice_size", parse_uint32, id_slice_size),
        KEY("users", "default_shell", parse_path, default_shell),
        KEY("users", "home_template", parse_home_template, home_template),
        KEY("passwords", "hash_method", parse_hash_method, hash_prefix),
        KEY("passwords", "hash_cost", parse_ulong, hash_cost),
        KEY("passwords", "min_length", parse_password_min_length, password_min_length),
        KEY("passwords", "dictionary_check", parse_bool, password_dictionary_check),
        KEY("passwords", "dictionary", parse_optional_path, password_dictionary),
        KEY("passwords", "min_classes", parse_password_min_classes, password_min_classes),
        KEY("passwords", "max_repeat", parse_password_max_repeat, password_max_repeat),
        KEY("passwords", "user_check", parse_bool, password_user_check),
        KEY("auth", "key_file", parse_optional_path, key_file),
        KEY("auth", "lockout_failures", parse_unsigned, lockout_failures),
        KEY("auth", "lockout_interval", parse_seconds, lockout_interval),
        KEY("auth", "lockout_time", parse_seconds, lockout_time),
        KEY("auth", "lockout_max_time", parse_seconds, lockout_max_time),
        KEY("auth", "totp_window", parse_totp_window, totp_window),
        KEY("auth", "reset_token_lifetime", parse_token_lifetime, reset_token_lifetime),
        KEY("auth", "verify_token_lifetime", parse_token_lifetime, verify_token_lifetime),
        KEY("auth", "invitation_lifetime", parse_token_lifetime, invitation_lifetime),
        KEY("auth", "forgot_delay", parse_delay_ms, forgot_delay),
        KEY("auth", "open_signup", parse_bool, open_signup),
        KEY("auth", "mfa_required", parse_mfa_required, mfa_required),
        KEY("pam", "socket", parse_optional_path, pam_socket),
        KEY("pam", "max_connections", parse_connections, pam_max_connections),
        KEY("pam", "request_timeout", parse_timeout, pam_request_timeout),
        KEY("pam", "totp", parse_pam_totp, pam_totp),
        KEY("http", "listen", parse_listen, http_listen),
        KEY("http", "public_url", parse_public_url, http_public_url),
        KEY("http", "threads", parse_unsigned, http_threads),
        KEY("http", "certificate", parse_optional_path, http_certificate),
        KEY("http", "private_key", parse_optional_path, http_private_key),
        KEY("http", "max_body_size", parse_unsigned, http_max_body),
        KEY("http", "max_header_size", parse_unsigned, http_max_header),
        KEY("http", "connection_limit", parse_unsigned, http_connection_limit),
        KEY("http", "connections_per_address", parse_unsigned, http_connections_per_address),
        KEY("http", "request_timeout", parse_timeout, http_request_timeout),
        KEY("http", "timeout", parse_unsigned, http_timeout),
        KEY("oidc", "access_token_lifetime", parse_lifetime, oidc_access_token_lifetime),
        KEY("oidc", "id_token_lifetime", parse_lifetime, oidc_id_token_lifetime),
        KEY("oidc", "code_lifetime", parse_code_lifetime, oidc_code_lifetime),
        KEY("oidc", "refresh_idle_lifetime", parse_lifetime, oidc_refresh_idle_lifetime),
        KEY("oidc", "refresh_absolute_lifetime", parse_lifetime, oidc_refresh_absolute_lifetime),
        KEY("oidc", "refresh_reuse_grace", parse_unsigned, oidc_refresh_reuse_grace),
        KEY("oidc", "session_lifetime", parse_lifetime, oidc_session_lifetime),
        KEY("oidc", "session_max_lifetime", parse_lifetime, oidc_session_max_lifetime),
        KEY("limits", "address_burst", parse_burst, limit_address_burst),
        KEY("limits", "address_rate", parse_rate, limit_address_interval_usec),
        KEY("limits", "client_burst", parse_burst, limit_client_burst),
        KEY("limits", "client_rate", parse_rate, limit_client_interval_usec),
        KEY("limits", "account_burst", parse_burst, limit_account_burst),
        KEY("limits", "account_rate", parse_rate, limit_account_interval_usec),
        KEY("limits", "signup_burst", parse_burst, limit_signup_burst),
        KEY("limits", "signup_rate", parse_rate, limit_signup_interval_usec),
        KEY("limits", "ipv6_prefix", parse_ipv6_prefix, limit_ipv6_prefix),
        KEY("limits", "mail_address_burst", parse_burst, limit_mail_address_burst),
        KEY("limits", "mail_address_rate", parse_rate, limit_mail_address_interval_usec),
        KEY("limits", "mail_account_burst", parse_burst, limit_mail_account_burst),
        KEY("limits", "mail_account_rate", parse_rate, limit_mail_account_interval_usec),
        KEY("limits", "max_entries", parse_max_entries, limit_max_entries),
        KEY("audit", "max_age", parse_duration, audit_max_age),
        KEY("audit", "max_rows", parse_uint64, audit_max_rows),
        KEY("audit", "export_file", parse_optional_path, audit_export_file),
        KEY("audit", "prune_interval", parse_duration, audit_prune_interval),
        KEY("mail", "relay", parse_mail_relay, mail_relay),
        KEY("mail", "from", parse_mail_address, mail_from),
        KEY("mail", "username", parse_mail_username, mail_username),
        KEY("mail", "password_file", parse_optional_path, mail_password_file),
        KEY("mail", "ca_file", parse_optional_path, mail_ca_file),
        KEY("mail", "outbox_directory", parse_optional_path, mail_outbox_directory),
        KEY("mail", "template_directory", parse_optional_path, mail_template_directory),
        KEY("mail", "timeout", parse_timeout, mail_timeout),
        KEY("mail", "max_attempts", parse_mail_attempts, mail_max_attempts),
        KEY("mail", "retry_initial", parse_duration, mail_retry_initial),
        KEY("mail", "retry_max", parse_duration, mail_retry_max),
        KEY("upstream", "connect_timeout", parse_upstream_timeout, upstream_connect_timeout_ms),
        KEY("upstream", "timeout", parse_upstream_timeout, upstream_timeout_ms),
        KEY("upstream", "max_response_size", parse_response_size, upstream_max_response),
        KEY("upstream", "ca_file", parse_optional_path, upstream_ca_file),
        KEY("metrics", "allow", parse_address_ranges, metrics_allow),
        KEY("metrics", "token_file", parse_optional_path, metrics_token_file),
};

/* inih strips only ';' inline comments; the documented examples also use
 * '#', so a '#' after whitespace starts a comment too. */
static void strip_hash_comment(char *v) {
        for (char *p = v; *p; p++)
                if (*p == '#' && (p == v || isspace((unsigned char) p[-1]))) {
                        *p = '\0';
                        break;
                }
        for (size_t n = strlen(v); n > 0 && isspace((unsigned char) v[n - 1]); n--)
                v[n - 1] = '\0';
}

static int handler(void *userdata, const char *section, const char *key, const char *raw) {
        ParseState *st = userdata;
        char value[1024];
        bool known_section = false;

        if (strlen(raw) >= sizeof(value)) {
                log_error("%s:%u: value of '%s' is too long.", st->path, st->line, ESC(key));
                st->error = st->error ?: -EINVAL;
                return 1;
        }
        strcpy(value, raw);
        strip_hash_comment(value);

        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                int r;

                if (!streq(section, k->section))
                        continue;
                known_section = true;
                if (!streq(key, k->key))
                        continue;

                r = k->parse(value, (uint8_t *) st->config + k->offset);
                if (r == -ENOMEM) {
                        st->error = -ENOMEM;
                        return 0;
                }
                if (r < 0) {
                        log_error("%s:%u: invalid value for '%s' in [%s]: '%s'", st->path, st->line,
                                  key, section, ESC(value));
                        st->error = st->error ?: -EINVAL;
                }
                return 1;
        }

        if (known_section)
                log_error("%s:%u: unknown key '%s' in [%s].", st->path, st->line, ESC(key), section);
        else
                log_error("%s:%u: unknown section [%s].", st->path, st->line, ESC(section));
        st->error = st->error ?: -EINVAL;
        return 1;
}

/* inih reports line numbers to the handler only when built with
 * INI_HANDLER_LINENO, which Debian's library is not; count lines in our own
 * reader instead. inih calls the handler right after reading a line.
 *
 * inih reads into a buffer of num (INI_MAX_LINE, 200) bytes and parses
 * what does not fit as further lines of its own: a long value would be cut
 * short, its tail taken for a key or a syntax error, and the line numbers
 * of every later message would be off. Refuse such a line here, by its
 * number, and skip its tail so that inih counts lines as we do. */
static char *reader(char *str, int num, void *stream) {
        ParseState *st = stream;
        char *s = fgets(str, num, st->f);
        int c;

        if (!s)
                return NULL;
        st->line++;
        if (strchr(s, '\n'))
                return s;

        /* The last line without a newline, or one that filled the buffer
         * (and fits, if only its newline is left). */
        c = getc(st->f);
        if (c == EOF || c == '\n')
                return s;

        log_error("%s:%u: line is too long, the limit is %d bytes.", st->path, st->line, num - 1);
        st->error = st->error ?: -EINVAL;
        while (c != EOF && c != '\n')
                c = getc(st->f);
        /* Don't let inih apply a value cut short. */
        s[0] = '\0';
        return s;
}

/* The defaults of every key, but for those that follow from others
 * (config_finish()): the file may still change what they follow from. */
static int config_defaults(Config **ret) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));

        if (!c)
                return -ENOMEM;

        c->state_directory = strdup(LOCALSTATEDIR "/lib/tessera");
        c->runtime_directory = strdup(RUNSTATEDIR "/tessera");
        c->admin_group = strdup("tessera-admin");
        c->default_shell = strdup("/bin/bash");
        c->home_template = strdup("/home/%u");
        c->hash_prefix = strdup("$y$");
        c->http_listen = strdup("127.0.0.1:8080");
        if (!c->state_directory || !c->runtime_directory || !c->admin_group || !c->default_shell ||
            !c->home_template || !c->hash_prefix || !c->http_listen)
                return -ENOMEM;

        c->http_max_body = 64 * 1024;
        c->http_max_header = 16 * 1024;
        c->http_connection_limit = 0;       /* from the descriptor budget */
        /* Room for a benchmark or a proxy's pool on loopback (wrk -c64),
         * not for one address to take every connection. */
        c->http_connections_per_address = 128;
        /* A request head is one packet or a few: ten seconds is an age. */
        c->http_request_timeout = 10;
        c->http_timeout = 30;
        c->oidc_access_token_lifetime = 600;
        c->oidc_id_token_lifetime = 600;
        c->oidc_code_lifetime = 60;
        c->oidc_refresh_idle_lifetime = 14 * 24 * 3600;
        c->oidc_refresh_absolute_lifetime = 90 * 24 * 3600;
        c->oidc_refresh_reuse_grace = 0;
        c->oidc_session_lifetime = 12 * 3600;
        c->oidc_session_max_lifetime = 7 * 24 * 3600;

        c->log_level = -1;
        c->max_queued_jobs = 256;
        c->nss_memory_cache = true;
        c->nss_max_connections = 256;
        /* SSSD's ID-mapping defaults: slices of 200000 IDs from 200000 on. */
        c->id_range_min = 200000;
        c->id_range_max = 2000200000;
        c->id_slice_size = 200000;
        /* pam_faillock's defaults, with a lock that grows instead of a fixed one. */
        c->lockout_failures = 5;
        c->lockout_interval = 900;
        c->lockout_time = 60;
        c->lockout_max_time = 3600;
        c->totp_window = 1;
        /* A reset link is a password for a while: short, as OWASP
         * advises; a verification link may wait for the next day. */
        c->reset_token_lifetime = 1800;
        c->verify_token_lifetime = 86400;
        /* A colleague invited on Friday accepts on Monday, or next week. */
        c->invitation_lifetime = 7 * 86400;
        /* Well after any answer has reached its asker. */
        c->forgot_delay = 200;
        /* Nobody signs up on an installed system unless its administrator
         * says so. */
        c->open_signup = false;
        c->mfa_required = MFA_REQUIRED_NONE;
        /* Debian's pam_pwquality: 8 characters, cracklib's dictionary,
         * not the user's name; no classes asked, which push people to
         * "Password1!" rather than to long passphrases (NIST SP 800-63B). */
        c->password_min_length = 8;
        c->password_dictionary_check = true;
        c->password_min_classes = 0;
        c->password_max_repeat = 0;
        c->password_user_check = true;
        c->pam_max_connections = 256;
        c->pam_request_timeout = 10;
        c->pam_totp = CONFIG_TOTP_REQUIRED;
        /* 30 failures at once, then one every 6 s: a person who mistypes
         * never meets it; a guesser gets 14400 tries a day per address
         * instead of millions. A client id, whose failures may come from
         * many addresses (and whom an attacker who knows the id can hold
         * back this way), gets more room. */
        c->limit_address_burst = 30;
        c->limit_address_interval_usec = 6 * 1000000;
        c->limit_client_burst = 100;
        c->limit_client_interval_usec = 1000000;
        c->limit_account_burst = 10;
        c->limit_account_interval_usec = 60 * 1000000;
        c->limit_signup_burst = 5;
        c->limit_signup_interval_usec = (uint64_t) 3600 * 1000000 / 10;
        c->limit_ipv6_prefix = 64;
        /* Each mail costs the relay and lands in somebody's inbox: a few
         * at once per account, a few an hour after that; an address may
         * ask for more accounts (a shared office network). */
        c->limit_mail_address_burst = 20;
        c->limit_mail_address_interval_usec = 3 * 60 * 1000000ULL;
        c->limit_mail_account_burst = 3;
        c->limit_mail_account_interval_usec = 10 * 60 * 1000000ULL;
        c->limit_max_entries = 65536;
        c->audit_max_age = 90 * 86400;
        c->audit_max_rows = 10 * 1000 * 1000;
        c->audit_prune_interval = 600;
        c->store.backend = STORE_BACKEND_SQLITE;
        /* About 5 to 9 hours of attempts: 30 s, 1, 2, 4, 8, 16, 32 min, then
         * hourly (less up to half, the jitter), before a mail is given up. */
        c->mail_timeout = 60;
        c->mail_max_attempts = 16;
        c->mail_retry_initial = 30;
        c->mail_retry_max = 3600;
        /* A sign-in waits on the provider: a few seconds to connect, ten
         * for an answer; a discovery document or key set is a few KiB, a
         * MiB is plenty. */
        c->upstream_connect_timeout_ms = 5000;
        c->upstream_timeout_ms = 10000;
        c->upstream_max_response = 1024 * 1024;
        /* Loopback: the host's own monitoring; others bring the token. */
        if (address_ranges_parse("127.0.0.0/8 ::1", &c->metrics_allow) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(c);
        return 0;
}

/* The defaults that follow from other keys, once the file was read. */
static int config_finish(Config *c) {
        int r = store_config_finish(&c->store, c->state_directory);

        switch (r) {
        case 0:
        case -ENOMEM:
                return r;
        case -EBADMSG:
                return log_error_errno(-EINVAL, "%s: [store] url is not a PostgreSQL connection URL.",
                                       strna(c->path));
        case -EPERM:
                return log_error_errno(-EINVAL,
                                       "%s: [store] url holds a password; put it into [store] password_file "
                                       "or the credential " STORE_PASSWORD_CREDENTIAL " instead.",
                                       strna(c->path));
        default:
                return log_error_errno(-EINVAL, "%s: [store] lacks a setting of backend %s.", strna(c->path),
                                       strna(store_backend_to_string(c->store.backend)));
        }
}

int config_new_default(Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_defaults(&c);
        if (r < 0)
                return r;
        r = config_finish(c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

static int config_verify(const Config *c) {
        if (c->id_slice_size < 1000)
                return log_error_errno(-EINVAL, "%s: [ids] slice_size must be at least 1000.", c->path);
        /* As systemd's uid_is_valid(): nothing at or past 2^31 (signed
         * uid_t trouble, and (uid_t) -1), and never 65534/65535, "nobody"
         * and the 16-bit -1. */
        if (c->id_range_max > INT32_MAX - 1)
                return log_error_errno(-EINVAL, "%s: [ids] range_max must be below 2147483647.", c->path);
        if (c->id_range_min <= 65535 && c->id_range_max >= 65534)
                return log_error_errno(-EINVAL, "%s: [ids] range_min..range_max must not include 65534 and 65535 "
                                                "(nobody and the 16-bit -1).", c->path);
        if (c->id_range_min < 1000 || c->id_range_max <= c->id_range_min ||
            (uint64_t) c->id_range_max - c->id_range_min + 1 < c->id_slice_size)
                return log_error_errno(-EINVAL, "%s: [ids] range_min..range_max must hold at least one slice above 999.",
                                       c->path);
        if (!c->http_certificate != !c->http_private_key)
                return log_error_errno(-EINVAL, "%s: [http] certificate and private_key go together.", c->path);
        if (c->http_max_body < 1024 || c->http_max_body > 16 * 1024 * 1024)
                return log_error_errno(-EINVAL, "%s: [http] max_body_size must lie between 1024 and 16777216.", c->path);
        if (c->http_max_header < 1024 || c->http_max_header > 48 * 1024)
                return log_error_errno(-EINVAL, "%s: [http] max_header_size must lie between 1024 and 49152.", c->path);
        if (c->http_threads > 256 || c->http_timeout == 0)
                return log_error_errno(-EINVAL, "%s: [http] threads must be at most 256, timeout at least 1.",
                                       c->path);
        if (c->oidc_refresh_idle_lifetime > c->oidc_refresh_absolute_lifetime)
                return log_error_errno(-EINVAL, "%s: [oidc] refresh_idle_lifetime exceeds refresh_absolute_lifetime.",
                                       c->path);
        if (c->lockout_failures > 0 && (c->lockout_time == 0 || c->lockout_max_time < c->lockout_time))
                return log_error_errno(-EINVAL, "%s: [auth] lockout_time must be at least 1 and at most lockout_max_time.",
                                       c->path);
        if (c->audit_prune_interval == 0)
                return log_error_errno(-EINVAL, "%s: [audit] prune_interval must be at least 1s.", c->path);
        if (c->mail_relay && c->mail_outbox_directory)
                return log_error_errno(-EINVAL, "%s: [mail] relay and outbox_directory exclude each other: mail goes "
                                                "to a relay, or (in development) into a folder.", c->path);
        if ((c->mail_relay || c->mail_outbox_directory) && !c->mail_from)
                return log_error_errno(-EINVAL, "%s: [mail] from (the sender's address) is needed to send mail.",
                                       c->path);
        if (c->mail_password_file && !c->mail_username)
                return log_error_errno(-EINVAL, "%s: [mail] password_file needs a username.", c->path);
        if (c->upstream_connect_timeout_ms > c->upstream_timeout_ms)
                return log_error_errno(-EINVAL, "%s: [upstream] connect_timeout must not be longer than timeout.",
                                       c->path);
        if (c->mail_retry_initial == 0 || c->mail_retry_max < c->mail_retry_initial)
                return log_error_errno(-EINVAL, "%s: [mail] retry_initial must be at least 1s and at most retry_max.",
                                       c->path);
        STRV_FOREACH(t, c->tenants)
                if (c->default_tenant && streq(*t, c->default_tenant))
                        return log_error_errno(-EINVAL, "%s: tenant '%s' is both the default and in [host] tenants.",
                                               c->path, *t);
        {
                TesseraError e = {};

                if (tenant_settings_validate_site(c, &e) < 0)
                        return log_error_errno(-EINVAL, "%s: %s", c->path, tessera_error_message(&e));
        }
        return 0;
}

/* The defaults, named after the file they came from; not finished. */
static int config_new_named(const char *path, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        int r;

        r = config_defaults(&c);
        if (r < 0)
                return r;
        c->path = strdup(path);
        if (!c->path)
                return -ENOMEM;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load_file(FILE *f, const char *path, Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        ParseState st;
        int r;

        r = config_new_named(path, &c);
        if (r < 0)
                return r;

        st = (ParseState) { .config = c, .path = path, .f = f };
        r = ini_parse_stream(reader, &st, handler, &st);
        if (st.error < 0)
                return st.error;
        if (r > 0)
                return log_error_errno(-EINVAL, "%s:%d: syntax error.", path, r);
        if (r < 0)
                return log_error_errno(-EIO, "Failed to read %s.", path);

        r = config_finish(c);
        if (r < 0)
                return r;
        r = config_verify(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, bool allow_missing, Config **ret) {
        _cleanup_(fclosep) FILE *f = NULL;

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && allow_missing) {
                        _cleanup_(config_freep) Config *c = NULL;
                        int r;

                        log_debug("%s: not found, using defaults.", path);
                        r = config_new_named(path, &c);
                        if (r >= 0)
                                r = config_finish(c);
                        if (r < 0)
                                return r;
                        *ret = TAKE_PTR(c);
                        return 0;
                }
                return log_error_errno(-errno, "Failed to open %s: %m", path);
        }
        return config_load_file(f, path, ret);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->state_directory);
        free(c->runtime_directory);
        free(c->admin_group);
        free(c->bus_address);
        free(c->default_tenant);
        strv_free(c->tenants);
        free(c->nss_socket);
        free(c->default_shell);
        free(c->home_template);
        free(c->hash_prefix);
        free(c->password_dictionary);
        free(c->key_file);
        free(c->http_listen);
        free(c->http_public_url);
        free(c->http_certificate);
        free(c->http_private_key);
        free(c->pam_socket);
        free(c->audit_export_file);
        store_config_done(&c->store);
        free(c->mail_relay);
        free(c->mail_from);
        free(c->mail_username);
        free(c->mail_password_file);
        free(c->mail_ca_file);
        free(c->mail_outbox_directory);
        free(c->mail_template_directory);
        free(c->upstream_ca_file);
        address_ranges_done(&c->metrics_allow);
        free(c->metrics_token_file);
        free(c);
        return NULL;
}

int config_nss_socket_path(const Config *c, char **ret) {
        char *p;

        if (c->nss_socket)
                p = strdup(c->nss_socket);
        else if (asprintf(&p, "%s/nss.sock", c->runtime_directory) < 0)
                p = NULL;
        if (!p)
                return -ENOMEM;
        *ret = p;
        return 0;
}

int config_format_home(const Config *c, const char *user, const char *tenant, char **ret) {
        size_t n = 1;
        char *out, *o;

        /* Each '%' reserves room for the longer name or, in "%%", for the
         * '%' itself: the names may be empty. */
        for (const char *p = c->home_template; *p; p++)
                n += *p == '%' ? MAX(strlen(user), strlen(tenant)) + 1 : 1;

        out = o = malloc(n);
        if (!out)
                return -ENOMEM;
        for (const char *p = c->home_template; *p; p++) {
                if (*p != '%') {
                        *o++ = *p;
                        continue;
                }
                /* A lone '%' at the end stays itself (config_load refuses
                 * such templates; a Config built by hand might not). */
                if (!p[1]) {
                        *o++ = '%';
                        break;
                }
                p++;
                if (*p == 'u')
                        o = stpcpy(o, user);
                else if (*p == 't')
                        o = stpcpy(o, tenant);
                else
                        *o++ = '%';
        }
        *o = '\0';

        if (!valid_unix_path(out)) {
                free(out);
                return -EINVAL;
        }
        *ret = out;
        return 0;
}

bool config_tenant_visible(const Config *c, const char *tenant) {
        if (c->default_tenant && streq(c->default_tenant, tenant))
                return true;
        STRV_FOREACH(t, c->tenants)
                if (streq(*t, tenant))
                        return true;
        return false;
}

unsigned config_http_threads(const Config *c) {
        long n;

        if (c->http_threads > 0)
                return c->http_threads;
        /* Sign-ins wait on the password workers: a few more threads than
         * CPUs keep token requests moving meanwhile. */
        n = sysconf(_SC_NPROCESSORS_ONLN);
        return (unsigned) MAX(n > 0 ? 2 * n : 4, 4);
}
