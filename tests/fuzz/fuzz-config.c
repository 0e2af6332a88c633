/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tesserad.conf: whatever an administrator (or a package script, or a
 * careless editor) leaves in the file goes through config_load_file(), the
 * very function config_load() calls once the file is open. What loads must
 * hold what the rest of the daemon takes for granted; what doesn't load
 * must leave nothing behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "config.h"
#include "fuzz.h"
#include "log.h"
#include "macro.h"
#include "names.h"

static void check_loaded(const Config *c) {
        _cleanup_free_ char *sock = NULL, *home = NULL;
        int r;

        /* config_verify()'s promises. */
        if (c->id_slice_size < 1000 || c->id_range_min < 1000 || c->id_range_max <= c->id_range_min ||
            c->id_range_max > INT32_MAX - 1 || (uint64_t) c->id_range_max - c->id_range_min + 1 < c->id_slice_size)
                __builtin_trap();
        if (!c->http_certificate != !c->http_private_key)
                __builtin_trap();
        if (c->http_max_body < 1024 || c->http_max_header < 1024 || c->http_threads > 256)
                __builtin_trap();
        if (c->oidc_refresh_idle_lifetime > c->oidc_refresh_absolute_lifetime || c->oidc_code_lifetime > 60)
                __builtin_trap();
        /* Each key's own rules. */
        if (!valid_unix_path(c->state_directory) || !valid_unix_path(c->runtime_directory) ||
            !valid_unix_path(c->default_shell) || c->home_template[0] != '/' || !c->admin_group[0])
                __builtin_trap();
        if (c->default_tenant && !valid_tenant_slug(c->default_tenant))
                __builtin_trap();
        /* A store to open: the backend known, the database an absolute path. */
        if (!store_backend_to_string(c->store.backend) || !c->store.path || !valid_unix_path(c->store.path))
                __builtin_trap();
        STRV_FOREACH(t, c->tenants)
                if (!valid_tenant_slug(*t) || (c->default_tenant && streq(*t, c->default_tenant)))
                        __builtin_trap();
        if (!streq(c->hash_prefix, "$y$") && !streq(c->hash_prefix, "$2b$") && !streq(c->hash_prefix, "$6$"))
                __builtin_trap();
        /* The site's defaults for tenants, in the bounds tenants keep. */
        if (c->password_min_length < PASSWORD_MIN_LENGTH_LOWEST ||
            c->password_min_length > PASSWORD_MIN_LENGTH_HIGHEST ||
            c->password_min_classes > PASSWORD_MIN_CLASSES_HIGHEST ||
            c->password_max_repeat > PASSWORD_MAX_REPEAT_HIGHEST || !mfa_required_to_string(c->mfa_required) ||
            (streq(c->hash_prefix, "$2b$") && c->password_min_length > 72))
                __builtin_trap();
        if (c->password_dictionary && !valid_unix_path(c->password_dictionary))
                __builtin_trap();
        if (c->totp_window > 10 || c->nss_max_connections < 1 || c->pam_max_connections < 1)
                __builtin_trap();

        /* What the daemon computes from it at start and per user. */
        if (config_nss_socket_path(c, &sock) < 0 || !sock[0])
                __builtin_trap();
        r = config_format_home(c, "alice", "acme", &home);
        if (r < 0 && r != -EINVAL)
                __builtin_trap();
        if (r >= 0 && !valid_unix_path(home))
                __builtin_trap();
        (void) config_tenant_visible(c, "acme");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static bool quiet;
        Config *c = NULL;
        FILE *f;
        int r;

        /* Every refused line is logged: only noise here, and slow. */
        if (!quiet) {
                log_set_max_level(LOG_EMERG);
                quiet = true;
        }
        /* fmemopen() reads exactly size bytes, NULs included; it refuses
         * an empty buffer, which an empty file stands for here. */
        f = size > 0 ? fmemopen((void *) data, size, "r") : fopen("/dev/null", "re");
        if (!f)
                return 0;
        r = config_load_file(f, "fuzz.conf", &c);
        fclose(f);
        if (r >= 0) {
                if (!c || !streq(c->path, "fuzz.conf"))
                        __builtin_trap();
                check_loaded(c);
        } else if (c)
                __builtin_trap();   /* out-parameters only on success */
        config_free(c);
        return 0;
}
