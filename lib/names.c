/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "names.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool is_lower(char c) {
        return c >= 'a' && c <= 'z';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

bool valid_user_name(const char *s) {
        size_t n;

        if (!s || !(is_lower(s[0]) || s[0] == '_'))
                return false;

        for (n = 1; s[n]; n++) {
                char c = s[n];
                if (n >= NAME_MAX_LEN)
                        return false;
                if (!(is_lower(c) || is_digit(c) || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

bool valid_group_name(const char *s) {
        /* groupadd applies the same rules as useradd. */
        return valid_user_name(s);
}

bool valid_tenant_slug(const char *s) {
        size_t n;

        if (!s || !(is_lower(s[0]) || is_digit(s[0])))
                return false;

        for (n = 1; s[n]; n++) {
                char c = s[n];
                if (n >= TENANT_SLUG_MAX_LEN)
                        return false;
                if (!(is_lower(c) || is_digit(c) || c == '-'))
                        return false;
        }
        return s[n - 1] != '-';
}

static bool has_control_or_colon(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || *p == ':')
                        return true;
        return false;
}

bool valid_unix_path(const char *s) {
        size_t n;

        if (!s || s[0] != '/')
                return false;
        n = strlen(s);
        if (n > UNIX_PATH_FIELD_MAX_LEN)
                return false;
        if (has_control_or_colon(s) || !utf8_is_valid(s))
                return false;
        if (n > 1 && s[n - 1] == '/')
                return false;

        /* No empty, "." or ".." components: the path must be normalized. */
        for (const char *p = s; *p; ) {
                const char *c = p + 1, *e = strchrnul(c, '/');
                size_t len = (size_t) (e - c);

                if (n > 1 && (len == 0 || (len == 1 && c[0] == '.') ||
                              (len == 2 && c[0] == '.' && c[1] == '.')))
                        return false;
                p = e;
        }
        return true;
}

bool valid_real_name(const char *s) {
        return s && strlen(s) <= REAL_NAME_MAX_LEN && !has_control_or_colon(s) && utf8_is_valid(s);
}

bool valid_display_text(const char *s, size_t max_len) {
        if (!s || strlen(s) > max_len || !utf8_is_valid(s))
                return false;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

bool valid_email(const char *s) {
        const char *at, *dot;
        size_t n;

        if (!s)
                return false;
        n = strlen(s);
        if (n < 3 || n > EMAIL_MAX_LEN)
                return false;

        at = strchr(s, '@');
        if (!at || at == s || strchr(at + 1, '@') || (size_t) (at - s) > 64)
                return false;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p <= 0x20 || *p == 0x7f || strchr("<>()[]\\,;:\"", *p))
                        return false;

        /* The domain: dot-separated labels, none empty, no leading '-'. */
        dot = strchr(at + 1, '.');
        if (!dot)
                return false;
        for (const char *p = at + 1; ; ) {
                const char *e = strchrnul(p, '.');
                if (e == p || *p == '-' || e[-1] == '-')
                        return false;
                if (!*e)
                        break;
                p = e + 1;
        }
        return utf8_is_valid(s);
}

size_t utf8_char_valid(const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned cp, len;

        if (*p < 0x80)
                return 1;
        if ((*p & 0xe0) == 0xc0) {
                cp = *p & 0x1f;
                len = 2;
        } else if ((*p & 0xf0) == 0xe0) {
                cp = *p & 0x0f;
                len = 3;
        } else if ((*p & 0xf8) == 0xf0) {
                cp = *p & 0x07;
                len = 4;
        } else
                return 0;

        for (unsigned i = 1; i < len; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }

        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
                return 0;
        return len;
}

bool utf8_is_valid(const char *s) {
        while (*s) {
                size_t n = utf8_char_valid(s);

                if (n == 0)
                        return false;
                s += n;
        }
        return true;
}

int split_qualified_name(const char *s, char name[static NAME_MAX_LEN + 1],
                         char tenant[static TENANT_SLUG_MAX_LEN + 1]) {
        char n[NAME_MAX_LEN + 1], t[TENANT_SLUG_MAX_LEN + 1] = "";
        const char *at;
        size_t nl;

        if (!s)
                return -EINVAL;

        at = strrchr(s, '@');
        nl = at ? (size_t) (at - s) : strlen(s);
        if (nl == 0 || nl > NAME_MAX_LEN)
                return -EINVAL;
        memcpy(n, s, nl);
        n[nl] = '\0';
        if (!valid_user_name(n))
                return -EINVAL;

        if (at) {
                size_t tl = strlen(at + 1);
                if (tl == 0 || tl > TENANT_SLUG_MAX_LEN)
                        return -EINVAL;
                memcpy(t, at + 1, tl + 1);
                if (!valid_tenant_slug(t))
                        return -EINVAL;
        }

        /* Out-parameters only on success. */
        memcpy(name, n, nl + 1);
        strcpy(tenant, t);
        return 0;
}

int qualified_target(const char *name, const char *tenant, char **ret) {
        size_t n = 0, k;

        name = name ?: "";
        while (name[n] && (k = utf8_char_valid(name + n)) > 0 && n + k <= 64)
                n += k;
        return asprintf(ret, "%.*s@%s", (int) n, name, tenant ?: "") < 0 ? -ENOMEM : 0;
}
