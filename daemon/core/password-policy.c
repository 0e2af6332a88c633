/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "password-policy.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>          /* pwquality.h uses size_t without it */
#include <pwquality.h>

#include "config.h"
#include "log.h"
#include "names.h"

/* cracklib, which libpwquality calls for the dictionary check, works in
 * static buffers (its Mangle(), Reverse(), Lowercase() return them): two
 * checks at once, a D-Bus change on the main loop and a web one on an
 * HTTP thread, would garble each other's. The lock is as global as the
 * buffers it guards; a check holds it for about a millisecond. */
static pthread_mutex_t cracklib_lock = PTHREAD_MUTEX_INITIALIZER;

/* A password cracklib takes, whatever its dictionary holds: long enough,
 * unsystematic, derived from no word. When it is refused, the dictionary
 * is what failed. */
#define PROBE_PASSWORD "7Vq#kX2m!zR9"

DEFINE_TRIVIAL_CLEANUP_FUNC(pwquality_settings_t *, pwquality_free_settings);

void password_policy_of_tenant(const Config *c, const TenantRecord *t, PasswordPolicy *ret) {
        TenantSettings s;

        tenant_settings_effective(c, t ? &t->settings : &(TenantSettings) {}, &s);
        *ret = (PasswordPolicy) {
                .min_length = s.password_min_length,
                .max_bytes = c->hash_prefix && streq(c->hash_prefix, "$2b$") ? PASSWORD_MAX_BYTES_BCRYPT
                                                                             : PASSWORD_MAX_BYTES,
                .dictionary_check = s.password_dictionary_check,
                .dictionary = c->password_dictionary,
                .min_classes = s.password_min_classes,
                .max_repeat = s.password_max_repeat,
                .user_check = s.password_user_check,
        };
}

/* libpwquality's settings for p: its built-in defaults (not the host's
 * pwquality.conf), ours on top. With dictionary false, no cracklib. */
static int settings_new(const PasswordPolicy *p, bool dictionary, pwquality_settings_t **ret) {
        _cleanup_(pwquality_free_settingsp) pwquality_settings_t *pwq = pwquality_default_settings();
        const struct {
                int setting, value;
        } values[] = {
                /* Our own check counts characters first; libpwquality
                 * counts bytes, so this never refuses more. */
                { PWQ_SETTING_MIN_LENGTH, (int) p->min_length },
                /* No credits: a digit must not stand in for length (the
                 * defaults changed between versions; say it). */
                { PWQ_SETTING_DIG_CREDIT, 0 },
                { PWQ_SETTING_UP_CREDIT, 0 },
                { PWQ_SETTING_LOW_CREDIT, 0 },
                { PWQ_SETTING_OTH_CREDIT, 0 },
                { PWQ_SETTING_MIN_CLASS, (int) p->min_classes },
                { PWQ_SETTING_MAX_REPEAT, (int) p->max_repeat },
                /* Against the current password: refuse only the same one
                 * in other case or rotated, not a mere likeness. */
                { PWQ_SETTING_DIFF_OK, 1 },
                { PWQ_SETTING_DICT_CHECK, dictionary },
                { PWQ_SETTING_USER_CHECK, p->user_check },
                { PWQ_SETTING_GECOS_CHECK, 0 },
        };

        if (!pwq)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(values); i++)
                if (pwquality_set_int_value(pwq, values[i].setting, values[i].value) != 0)
                        return -EOPNOTSUPP;     /* a libpwquality without the setting */
        if (dictionary && p->dictionary &&
            pwquality_set_str_value(pwq, PWQ_SETTING_DICT_PATH, p->dictionary) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(pwq);
        return 0;
}

/* pwquality_check(), under the lock when cracklib is asked. */
static int pwq_check(pwquality_settings_t *pwq, bool dictionary, const char *password, const char *current,
                     const char *user, void **aux) {
        int r;

        if (!dictionary)
                return pwquality_check(pwq, password, current, user, aux);
        pthread_mutex_lock(&cracklib_lock);
        r = pwquality_check(pwq, password, current, user, aux);
        pthread_mutex_unlock(&cracklib_lock);
        return r;
}

/* libpwquality's sentence for a refusal, made one line of UTF-8 ending in
 * a full stop; its translations follow the daemon's locale, which need not
 * be UTF-8: then a plain sentence of ours. */
static int refusal(TesseraError *e, int code, void *aux) {
        char buf[PWQ_MAX_ERROR_MESSAGE_LEN], *p;
        const char *m;
        size_t n;

        m = pwquality_strerror(buf, sizeof(buf), code, aux);
        if (m != buf)
                snprintf(buf, sizeof(buf), "%s", strempty(m));
        for (p = buf; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        *p = ' ';
        n = strlen(buf);
        while (n > 0 && buf[n - 1] == ' ')
                buf[--n] = '\0';
        if (n == 0 || !utf8_is_valid(buf))
                return tessera_error_set(e, -EINVAL, "The password does not meet the password policy.");
        return tessera_error_set(e, -EINVAL, "%s%s", buf, buf[n - 1] == '.' ? "" : ".");
}

int password_policy_probe(const char *dictionary, char *reason, size_t size) {
        _cleanup_(pwquality_free_settingsp) pwquality_settings_t *pwq = NULL;
        PasswordPolicy p = {
                .min_length = PASSWORD_MIN_LENGTH_LOWEST,
                .dictionary_check = true,
                .dictionary = dictionary,
        };
        void *aux = NULL;
        int r;

        r = settings_new(&p, true, &pwq);
        if (r < 0)
                return r;
        r = pwq_check(pwq, true, PROBE_PASSWORD, NULL, NULL, &aux);
        if (r >= 0)
                return 0;
        /* For PWQ_ERROR_CRACKLIB_CHECK, aux is cracklib's reason, a static
         * string (nothing to free). */
        if (reason)
                snprintf(reason, size, "%s",
                         r == PWQ_ERROR_CRACKLIB_CHECK && aux ? (const char *) aux : "unknown error");
        return -EOPNOTSUPP;
}

/* A check that cracklib refused: the password, or the dictionary? */
static int dictionary_refusal(const PasswordPolicy *p, int code, void *aux, TesseraError *e) {
        char reason[128];

        if (password_policy_probe(p->dictionary, reason, sizeof(reason)) >= 0)
                return refusal(e, code, aux);
        log_error("cracklib's dictionary%s%s can't be used (%s); refusing every new password of tenants with "
                  "the dictionary check. Install cracklib-runtime, or set [passwords] dictionary.",
                  p->dictionary ? " " : "", strempty(p->dictionary), reason);
        return tessera_error_set(e, -EOPNOTSUPP,
                                 "Passwords can't be checked against the dictionary on this server (%s); "
                                 "ask an administrator.", reason);
}

static bool equal_to_email(const char *password, const char *email) {
        const char *at;

        if (isempty(email))
                return false;
        if (strcasecmp(password, email) == 0)
                return true;
        at = strrchr(email, '@');
        return at && (size_t) (at - email) == strlen(password) && strncasecmp(password, email, at - email) == 0;
}

/* The words of name and e-mail a password must not contain in some form,
 * besides the name itself (libpwquality's own check): the e-mail's local
 * part, and the parts of both between '.', '_', '-' and '+'. Each is also
 * true in *from_email when it came from the e-mail address. Shorter ones
 * libpwquality skips (its words have at least 4 bytes). */
typedef struct UserWords {
        char *buf;
        const char *word[32];
        bool from_email[32];
        size_t n;
} UserWords;

static void add_word(UserWords *w, const char *s, bool from_email) {
        if (strlen(s) < 4 || w->n >= ELEMENTSOF(w->word))
                return;
        for (size_t i = 0; i < w->n; i++)
                if (streq(w->word[i], s))
                        return;
        w->word[w->n] = s;
        w->from_email[w->n++] = from_email;
}

static void add_parts(UserWords *w, char *s, bool from_email) {
        char *save = NULL;

        for (char *t = strtok_r(s, "._-+", &save); t; t = strtok_r(NULL, "._-+", &save))
                add_word(w, t, from_email);
}

static int user_words(const char *user, const char *email, UserWords *w) {
        size_t nu = strlen(strempty(user)), ne = strlen(strempty(email));
        const char *at = email ? strrchr(email, '@') : NULL;
        size_t local = at ? (size_t) (at - email) : 0;
        char *p;

        /* Room for: the name's parts, the local part, its parts. */
        *w = (UserWords) {};
        w->buf = p = malloc(nu + 1 + 2 * (ne + 1));
        if (!w->buf)
                return -ENOMEM;
        memcpy(p, strempty(user), nu + 1);
        add_parts(w, p, false);
        p += nu + 1;
        if (local > 0) {
                char *whole = p;

                memcpy(whole, email, local);
                whole[local] = '\0';
                add_word(w, whole, true);
                p += local + 1;
                memcpy(p, email, local);
                p[local] = '\0';
                add_parts(w, p, true);
        }
        return 0;
}

static int check_user_words(const PasswordPolicy *p, const char *user, const char *email, const char *password,
                            TesseraError *e) {
        _cleanup_(pwquality_free_settingsp) pwquality_settings_t *pwq = NULL;
        _cleanup_free_ char *buf = NULL;
        UserWords w;
        int r;

        r = user_words(user, email, &w);
        if (r < 0)
                return tessera_error_set(e, r, "Out of memory.");
        buf = w.buf;
        if (w.n == 0)
                return 0;
        r = settings_new(p, false, &pwq);
        if (r < 0)
                return tessera_error_set(e, r, "The password policy could not be set up (libpwquality).");

        for (size_t i = 0; i < w.n; i++) {
                if (user && streq(w.word[i], user))
                        continue;       /* libpwquality checked the name itself */
                /* Everything but the word was checked with the same
                 * password before: only the word can refuse it now. */
                r = pwq_check(pwq, false, password, NULL, w.word[i], NULL);
                if (r == PWQ_ERROR_USER_CHECK)
                        return tessera_error_set(e, -EINVAL, "The password contains %s in some form.",
                                                 w.from_email[i] ? "the e-mail address" : "the user name");
        }
        return 0;
}

int password_policy_check(const PasswordPolicy *p, const char *user, const char *email, const char *password,
                          const char *current, TesseraError *e) {
        _cleanup_(pwquality_free_settingsp) pwquality_settings_t *pwq = NULL;
        size_t n = password ? strlen(password) : 0, chars = 0;
        void *aux = NULL;
        int r;

        if (!password || !utf8_is_valid(password))
                return tessera_error_set(e, -EINVAL, "The password is not valid UTF-8.");
        if (n > PASSWORD_MAX_BYTES)
                return tessera_error_set(e, -EINVAL, "The password must have at most %d characters.",
                                         PASSWORD_MAX_BYTES);
        /* bcrypt ignores everything after 72 bytes: refuse rather than
         * let the rest of a passphrase silently not count. */
        if (n > p->max_bytes)
                return tessera_error_set(e, -EINVAL, "With bcrypt, the password must have at most %zu bytes.",
                                         p->max_bytes);
        for (const char *s = password; *s; s += utf8_char_valid(s))
                chars++;
        if (chars < p->min_length)
                return tessera_error_set(e, -EINVAL, "The password must have at least %u characters.", p->min_length);
        if (current && streq(current, password))
                return tessera_error_set(e, -EINVAL, "The new password must differ from the current one.");
        /* Whatever the tenant's settings. */
        if (user && strcasecmp(user, password) == 0)
                return tessera_error_set(e, -EINVAL, "The password must not be the user name.");
        if (equal_to_email(password, email))
                return tessera_error_set(e, -EINVAL, "The password must not be the e-mail address.");

        r = settings_new(p, p->dictionary_check, &pwq);
        if (r == -ENOMEM)
                return tessera_error_set(e, r, "Out of memory.");
        if (r < 0)
                return tessera_error_set(e, r, "The password policy could not be set up (libpwquality).");
        /* libpwquality compares with the current password by an edit
         * distance, in memory and recursion that grow with both lengths:
         * a current password longer than any we set is no such password. */
        if (current && strlen(current) > PASSWORD_MAX_BYTES)
                current = NULL;
        r = pwq_check(pwq, p->dictionary_check, password, current, isempty(user) ? NULL : user, &aux);
        if (r == PWQ_ERROR_MEM_ALLOC)
                return tessera_error_set(e, -ENOMEM, "Out of memory.");
        if (r == PWQ_ERROR_CRACKLIB_CHECK)
                return dictionary_refusal(p, r, aux, e);
        if (r < 0)
                return refusal(e, r, aux);

        if (p->user_check)
                return check_user_words(p, user, email, password, e);
        return 0;
}
