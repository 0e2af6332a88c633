/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "password.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "macro.h"

/* struct crypt_data is ~32 KiB: keep it off small thread stacks and wipe
 * it afterwards, as it holds intermediate state of the password. */
static void crypt_data_freep(struct crypt_data **d) {
        if (*d) {
                explicit_bzero(*d, sizeof(struct crypt_data));
                free(*d);
        }
}

static int make_setting(const char *prefix, unsigned long cost, char *buf, size_t size) {
        if (!crypt_gensalt_rn(prefix, cost, NULL, 0, buf, (int) size))
                return errno > 0 ? -errno : -EINVAL;
        return 0;
}

int password_hash(const char *password, const char *prefix, unsigned long cost, char **ret) {
        _cleanup_(crypt_data_freep) struct crypt_data *cd = NULL;
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *h;
        char *copy;
        int r;

        if (!password || !prefix)
                return -EINVAL;

        r = make_setting(prefix, cost, setting, sizeof(setting));
        if (r < 0)
                return r;

        cd = calloc(1, sizeof(struct crypt_data));
        if (!cd)
                return -ENOMEM;
        h = crypt_rn(password, setting, cd, sizeof(*cd));
        if (!h || h[0] == '*')
                return -EINVAL;

        copy = strdup(h);
        if (!copy)
                return -ENOMEM;
        *ret = copy;
        return 0;
}

int password_verify(const char *password, const char *hash) {
        _cleanup_(crypt_data_freep) struct crypt_data *cd = NULL;
        const char *h;
        size_t n;

        /* Only "$id$..." hashes: libxcrypt would take anything else as a
         * traditional DES setting, which nobody should still have. */
        if (!password || isempty(hash) || hash[0] != '$')
                return -EINVAL;

        cd = calloc(1, sizeof(struct crypt_data));
        if (!cd)
                return -ENOMEM;
        h = crypt_rn(password, hash, cd, sizeof(*cd));
        if (!h || h[0] == '*')
                return -EINVAL;

        n = strlen(hash);
        return strlen(h) == n && memeq_consttime(h, hash, n);
}

bool password_hash_needs_upgrade(const char *hash, const char *prefix, unsigned long cost) {
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        const char *params_end;
        size_t n;

        if (!hash || make_setting(prefix, cost, setting, sizeof(setting)) < 0)
                return false;

        /* The setting is "<method and parameters>$<salt>": every hash with
         * the same method and parameters begins with the part up to the
         * last '$' (bcrypt's salt follows its cost without one, which this
         * covers too, since its cost field ends in '$'). */
        params_end = strrchr(setting, '$');
        if (!params_end)
                return false;
        n = (size_t) (params_end - setting + 1);
        if (strncmp(hash, setting, n) != 0)
                return true;

        /* sha256crypt and sha512crypt leave "rounds=" out at their default
         * cost, so the setting "$6$" is also a prefix of "$6$rounds=1000$":
         * a hash naming rounds where the setting names none has another cost. */
        return strneq(hash + n, "rounds=", strlen("rounds="));
}

int password_dummy_hash(const char *prefix, unsigned long cost, char **ret) {
        char secret[33];
        uint8_t raw[16];
        int r;

        /* A random password nobody knows, thrown away after hashing. */
        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
                return -EIO;
        for (size_t i = 0; i < sizeof(raw); i++)
                snprintf(secret + 2 * i, 3, "%02x", raw[i]);
        r = password_hash(secret, prefix, cost, ret);
        explicit_bzero(secret, sizeof(secret));
        explicit_bzero(raw, sizeof(raw));
        return r;
}
