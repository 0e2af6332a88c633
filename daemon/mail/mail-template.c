/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail-template.h"

#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>

#include "escape.h"
#include "log.h"
#include "names.h"

/* The longest placeholder name, with room to spare for the message about
 * a wrong one. */
#define PLACEHOLDER_MAX_LEN 32

static const char *const template_names[_MAIL_TEMPLATE_MAX] = {
        [MAIL_TEMPLATE_VERIFY_EMAIL] = "verify-email",
        [MAIL_TEMPLATE_RESET_PASSWORD] = "reset-password",
        [MAIL_TEMPLATE_INVITATION] = "invitation",
        [MAIL_TEMPLATE_TEST] = "test",
};

static const char *const part_extensions[_MAIL_PART_MAX] = {
        [MAIL_PART_SUBJECT] = "subject",
        [MAIL_PART_TEXT] = "txt",
        [MAIL_PART_HTML] = "html",
};

static const struct {
        const char *name;
        size_t offset;
        bool in_subject;
} placeholders[] = {
        { "tenant", offsetof(MailParams, tenant), true },
        { "tenant_slug", offsetof(MailParams, tenant_slug), true },
        { "user", offsetof(MailParams, user), true },
        { "email", offsetof(MailParams, email), true },
        { "link", offsetof(MailParams, link), false },
        { "expires", offsetof(MailParams, expires), true },
};

/* -- the built-in texts --------------------------------------------------------------- */

#define HTML_START(title)                                                                                   \
        "<!DOCTYPE html>\n"                                                                                 \
        "<html lang=\"en\">\n"                                                                              \
        "<head><meta charset=\"utf-8\"><title>" title "</title></head>\n"                                   \
        "<body style=\"font-family: sans-serif; line-height: 1.5; color: #222; max-width: 40em;\">\n"
#define HTML_BUTTON(label)                                                                                  \
        "<p><a href=\"${link}\" style=\"display: inline-block; padding: 0.6em 1.2em; background: #1a5fb4; " \
        "color: #fff; text-decoration: none; border-radius: 4px;\">" label "</a></p>\n"                     \
        "<p style=\"font-size: 0.9em; color: #555;\">Or copy this link into your browser:<br>"              \
        "<a href=\"${link}\">${link}</a></p>\n"
#define HTML_END "<p>&mdash; ${tenant}</p>\n</body>\n</html>\n"
#define TEXT_END "\n-- \n${tenant}\n"

static const char *const builtin[_MAIL_TEMPLATE_MAX][_MAIL_PART_MAX] = {
        [MAIL_TEMPLATE_VERIFY_EMAIL] = {
                [MAIL_PART_SUBJECT] = "Confirm your e-mail address for ${tenant}",
                [MAIL_PART_TEXT] =
                        "Hello ${user},\n"
                        "\n"
                        "please confirm that ${email} is your e-mail address at ${tenant}\n"
                        "by opening this link:\n"
                        "\n"
                        "${link}\n"
                        "\n"
                        "The link works for ${expires}, and once. If you did not ask for this,\n"
                        "ignore this mail: nothing changes.\n"
                        TEXT_END,
                [MAIL_PART_HTML] =
                        HTML_START("Confirm your e-mail address")
                        "<p>Hello ${user},</p>\n"
                        "<p>please confirm that <strong>${email}</strong> is your e-mail address at ${tenant}.</p>\n"
                        HTML_BUTTON("Confirm my e-mail address")
                        "<p>The link works for ${expires}, and once. If you did not ask for this, ignore this "
                        "mail: nothing changes.</p>\n"
                        HTML_END,
        },
        [MAIL_TEMPLATE_RESET_PASSWORD] = {
                [MAIL_PART_SUBJECT] = "Reset your password for ${tenant}",
                [MAIL_PART_TEXT] =
                        "Hello ${user},\n"
                        "\n"
                        "somebody, we hope you, asked to reset the password of your account\n"
                        "at ${tenant}. To choose a new one, open this link:\n"
                        "\n"
                        "${link}\n"
                        "\n"
                        "The link works for ${expires}, and once. If you did not ask for this,\n"
                        "ignore this mail: your password stays as it is.\n"
                        TEXT_END,
                [MAIL_PART_HTML] =
                        HTML_START("Reset your password")
                        "<p>Hello ${user},</p>\n"
                        "<p>somebody, we hope you, asked to reset the password of your account at ${tenant}.</p>\n"
                        HTML_BUTTON("Choose a new password")
                        "<p>The link works for ${expires}, and once. If you did not ask for this, ignore this "
                        "mail: your password stays as it is.</p>\n"
                        HTML_END,
        },
        [MAIL_TEMPLATE_INVITATION] = {
                [MAIL_PART_SUBJECT] = "You are invited to ${tenant}",
                [MAIL_PART_TEXT] =
                        "Hello,\n"
                        "\n"
                        "you are invited to join ${tenant} as ${email}. To accept and set up\n"
                        "your account, open this link:\n"
                        "\n"
                        "${link}\n"
                        "\n"
                        "The invitation is valid for ${expires}. If you don't know ${tenant},\n"
                        "ignore this mail.\n"
                        TEXT_END,
                [MAIL_PART_HTML] =
                        HTML_START("You are invited")
                        "<p>Hello,</p>\n"
                        "<p>you are invited to join ${tenant} as <strong>${email}</strong>.</p>\n"
                        HTML_BUTTON("Accept the invitation")
                        "<p>The invitation is valid for ${expires}. If you don't know ${tenant}, ignore this "
                        "mail.</p>\n"
                        HTML_END,
        },
        [MAIL_TEMPLATE_TEST] = {
                [MAIL_PART_SUBJECT] = "Test mail from ${tenant}",
                [MAIL_PART_TEXT] =
                        "Hello,\n"
                        "\n"
                        "this is a test mail from tesserad, sent for ${tenant} to ${email}.\n"
                        "If you read this, mail from tessera reaches you.\n"
                        TEXT_END,
                [MAIL_PART_HTML] =
                        HTML_START("Test mail")
                        "<p>Hello,</p>\n"
                        "<p>this is a test mail from tesserad, sent for ${tenant} to <strong>${email}</strong>.</p>\n"
                        "<p>If you read this, mail from tessera reaches you.</p>\n"
                        HTML_END,
        },
};

struct MailTemplates {
        char *text[_MAIL_TEMPLATE_MAX][_MAIL_PART_MAX];
};

/* -- names ----------------------------------------------------------------------------- */

const char *mail_template_to_string(MailTemplateId id) {
        return id >= 0 && id < _MAIL_TEMPLATE_MAX ? template_names[id] : NULL;
}

MailTemplateId mail_template_from_string(const char *s) {
        for (MailTemplateId id = 0; s && id < _MAIL_TEMPLATE_MAX; id++)
                if (streq(template_names[id], s))
                        return id;
        return _MAIL_TEMPLATE_INVALID;
}

const char *mail_part_extension(MailPart part) {
        return part >= 0 && part < _MAIL_PART_MAX ? part_extensions[part] : NULL;
}

void mail_rendered_done(MailRendered *r) {
        if (!r)
                return;
        free(r->subject);
        free(r->text);
        free(r->html);
        *r = (MailRendered) {};
}

void mail_html_escape(const char *s, FILE *f) {
        for (; s && *s; s++)
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

/* -- checking and expanding ----------------------------------------------------------- */

static int placeholder_find(const char *name, size_t n) {
        for (size_t i = 0; i < ELEMENTSOF(placeholders); i++)
                if (strlen(placeholders[i].name) == n && strneq(placeholders[i].name, name, n))
                        return (int) i;
        return -ENOENT;
}

static void log_known_placeholders(const char *path, unsigned line, const char *name, size_t n) {
        char known[256] = "";

        for (size_t i = 0; i < ELEMENTSOF(placeholders); i++) {
                if (i > 0)
                        strcat(known, ", ");
                strcat(known, "${");
                strcat(known, placeholders[i].name);
                strcat(known, "}");
        }
        log_error("%s:%u: unknown placeholder ${%s}; known are %s, and $$ for a dollar sign.", path, line,
                  ESC(strndupa(name, MIN(n, (size_t) PLACEHOLDER_MAX_LEN))), known);
}

/* Walks text once: checks it (path set: says what is wrong, with its
 * line) and, with f set, writes it out with the values of p. */
static int template_walk(const char *text, MailPart part, const MailParams *p, const char *path, FILE *f) {
        unsigned line = 1;

        if (!utf8_is_valid(text)) {
                if (path)
                        log_error("%s: not valid UTF-8.", path);
                return -EINVAL;
        }

        for (const char *c = text; *c; c++) {
                const char *name, *end;
                int i;

                if (*c == '\n') {
                        if (part == MAIL_PART_SUBJECT) {
                                if (path)
                                        log_error("%s:%u: a subject is one line.", path, line);
                                return -EINVAL;
                        }
                        line++;
                } else if ((unsigned char) *c < 0x20 && *c != '\t') {
                        if (path)
                                log_error("%s:%u: control character 0x%02x; templates hold text only.", path, line,
                                          (unsigned) *c);
                        return -EINVAL;
                }
                if (*c != '$') {
                        if (f)
                                fputc(*c, f);
                        continue;
                }

                if (c[1] == '$') {
                        if (f)
                                fputc('$', f);
                        c++;
                        continue;
                }
                if (c[1] != '{') {
                        if (path)
                                log_error("%s:%u: a lone '$': write ${name} for a value, $$ for a dollar sign.",
                                          path, line);
                        return -EINVAL;
                }
                name = c + 2;
                end = name + strspn(name, "abcdefghijklmnopqrstuvwxyz_");
                if (*end != '}') {
                        if (path)
                                log_error("%s:%u: '${' without its '}' (names are lower-case letters and '_').", path,
                                          line);
                        return -EINVAL;
                }
                i = placeholder_find(name, (size_t) (end - name));
                if (i < 0) {
                        if (path)
                                log_known_placeholders(path, line, name, (size_t) (end - name));
                        return -EINVAL;
                }
                if (part == MAIL_PART_SUBJECT && !placeholders[i].in_subject) {
                        if (path)
                                log_error("%s:%u: ${%s} may not be used in a subject: links carry single-use "
                                          "tokens, and a subject is shown in every mail list.",
                                          path, line, placeholders[i].name);
                        return -EINVAL;
                }
                if (f && p) {
                        const char *value = *(const char *const *) ((const uint8_t *) p + placeholders[i].offset);

                        if (part == MAIL_PART_HTML)
                                mail_html_escape(value, f);
                        else
                                fputs(strempty(value), f);
                }
                c = end;
        }
        return 0;
}

int mail_template_check(const char *text, MailPart part, const char *path) {
        return template_walk(text, part, NULL, path, NULL);
}

int mail_template_expand(const char *text, MailPart part, const MailParams *p, FILE *f) {
        return template_walk(text, part, p, NULL, f);
}

/* -- loading ---------------------------------------------------------------------------- */

/* Reads a template file: -ENOENT when there is none (the built-in one
 * stays), else its text, or -EINVAL after saying what is wrong with it. */
static int read_template(const char *path, char **ret) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t n = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return log_error_errno(-errno, "Failed to open the mail template %s: %m", path);
        }
        if (fstat(fd, &st) < 0)
                return log_error_errno(-errno, "Failed to stat the mail template %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EINVAL, "%s: not a regular file.", path);
        if (st.st_size > MAIL_TEMPLATE_MAX_SIZE)
                return log_error_errno(-EINVAL, "%s: larger than %d bytes.", path, MAIL_TEMPLATE_MAX_SIZE);

        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return log_oom();
        while (n < (size_t) st.st_size) {
                ssize_t k = read(fd, buf + n, (size_t) st.st_size - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return log_error_errno(-errno, "Failed to read the mail template %s: %m", path);
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = '\0';
        if (strlen(buf) != n)
                return log_error_errno(-EINVAL, "%s: holds a NUL byte; templates hold text only.", path);

        /* Files written on another system may end lines with CR LF. */
        char *o = buf;
        for (const char *c = buf; *c; c++)
                if (!(c[0] == '\r' && c[1] == '\n'))
                        *o++ = *c;
        *o = '\0';

        *ret = TAKE_PTR(buf);
        return 0;
}

/* A subject file holds one line; its newline is no part of the subject. */
static void strip_final_newline(char *s) {
        size_t n = strlen(s);

        if (n > 0 && s[n - 1] == '\n')
                s[n - 1] = '\0';
}

static void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

/* Files in the directory that no template reads are most likely typos
 * ("verify-mail.txt"): say so, since the built-in text goes out instead. */
static void warn_unknown_files(const char *directory) {
        _cleanup_(closedirp) DIR *d = opendir(directory);
        struct dirent *de;

        if (!d)
                return;
        while ((de = readdir(d))) {
                const char *dot = strrchr(de->d_name, '.');
                bool known = false;

                if (de->d_name[0] == '.')
                        continue;
                for (MailTemplateId id = 0; dot && id < _MAIL_TEMPLATE_MAX && !known; id++)
                        for (MailPart part = 0; part < _MAIL_PART_MAX && !known; part++)
                                known = strlen(template_names[id]) == (size_t) (dot - de->d_name) &&
                                        strneq(de->d_name, template_names[id], (size_t) (dot - de->d_name)) &&
                                        streq(dot + 1, part_extensions[part]);
                if (!known)
                        log_warning("%s/%s: no mail template reads this file; the templates are "
                                    "{verify-email,reset-password,invitation,test}.{subject,txt,html}.",
                                    directory, ESC(de->d_name));
        }
}

int mail_templates_load(const char *directory, MailTemplates **ret) {
        _cleanup_(mail_templates_freep) MailTemplates *t = calloc(1, sizeof(MailTemplates));
        int error = 0, r;

        if (!t)
                return log_oom();

        for (MailTemplateId id = 0; id < _MAIL_TEMPLATE_MAX; id++)
                for (MailPart part = 0; part < _MAIL_PART_MAX; part++) {
                        _cleanup_free_ char *path = NULL;

                        if (directory) {
                                if (asprintf(&path, "%s/%s.%s", directory, template_names[id],
                                             part_extensions[part]) < 0)
                                        return log_oom();
                                r = read_template(path, &t->text[id][part]);
                                if (r == -ENOENT)
                                        path = (free(path), NULL);
                                else if (r < 0) {
                                        error = error ?: r;
                                        continue;
                                } else {
                                        log_debug("Mail template %s.%s from %s.", template_names[id],
                                                  part_extensions[part], path);
                                        if (part == MAIL_PART_SUBJECT)
                                                strip_final_newline(t->text[id][part]);
                                }
                        }
                        if (!t->text[id][part]) {
                                t->text[id][part] = strdup(builtin[id][part]);
                                if (!t->text[id][part])
                                        return log_oom();
                        }
                        /* Every text is checked, the built-in ones too
                         * (a slip in this file shows in the tests). */
                        r = mail_template_check(t->text[id][part], part,
                                                path ?: mail_template_to_string(id));
                        if (r < 0)
                                error = error ?: r;
                }
        if (error < 0)
                return error;
        if (directory)
                warn_unknown_files(directory);

        *ret = TAKE_PTR(t);
        return 0;
}

MailTemplates *mail_templates_free(MailTemplates *t) {
        if (!t)
                return NULL;
        for (MailTemplateId id = 0; id < _MAIL_TEMPLATE_MAX; id++)
                for (MailPart part = 0; part < _MAIL_PART_MAX; part++)
                        free(t->text[id][part]);
        free(t);
        return NULL;
}

static int expand_to_string(const char *text, MailPart part, const MailParams *p, char **ret) {
        _cleanup_free_ char *buf = NULL;
        size_t n = 0;
        FILE *f;
        int r;

        f = open_memstream(&buf, &n);
        if (!f)
                return -ENOMEM;
        r = mail_template_expand(text, part, p, f);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(buf);
        return 0;
}

int mail_templates_render(const MailTemplates *t, MailTemplateId id, const MailParams *p, MailRendered *ret) {
        _cleanup_(mail_rendered_done) MailRendered out = {};
        int r;

        if (id < 0 || id >= _MAIL_TEMPLATE_MAX)
                return -EINVAL;
        r = expand_to_string(t->text[id][MAIL_PART_SUBJECT], MAIL_PART_SUBJECT, p, &out.subject);
        if (r >= 0)
                r = expand_to_string(t->text[id][MAIL_PART_TEXT], MAIL_PART_TEXT, p, &out.text);
        if (r >= 0)
                r = expand_to_string(t->text[id][MAIL_PART_HTML], MAIL_PART_HTML, p, &out.html);
        if (r < 0)
                return r;
        *ret = out;
        out = (MailRendered) {};
        return 0;
}
