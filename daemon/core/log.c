/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "escape.h"
#include "time-util.h"

/* Set once at start-up, before any thread exists; read-only afterwards. */
static int max_level = LOG_INFO;
static LogTarget target = LOG_TARGET_CONSOLE;
static const char *ident = "tessera";

/* systemd connects stderr to the journal and says so in $JOURNAL_STREAM
 * ("device:inode" of that stream). The variable is inherited by children
 * whose stderr goes elsewhere, so believe it only when it names our stderr. */
static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_setup(const char *name, LogTarget t) {
        ident = name;
        if (t == LOG_TARGET_AUTO)
                t = stderr_is_journal() ? LOG_TARGET_JOURNAL : LOG_TARGET_CONSOLE;
        target = t;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        static const struct {
                const char *name;
                int level;
        } table[] = {
                { "emerg", LOG_EMERG }, { "alert", LOG_ALERT },     { "crit", LOG_CRIT },
                { "err", LOG_ERR },     { "error", LOG_ERR },       { "warning", LOG_WARNING },
                { "notice", LOG_NOTICE }, { "info", LOG_INFO },     { "debug", LOG_DEBUG },
        };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(s, table[i].name))
                        return table[i].level;
        return -EINVAL;
}

static const char *level_name(int level) {
        static const char *const names[] = {
                "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
        };
        return level >= 0 && level < (int) ELEMENTSOF(names) ? names[level] : "?";
}

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) {
        char raw[2048], buf[2048];
        va_list ap;
        int saved_errno = errno;

        /* %m in the format means the error we were given, as in systemd. */
        errno = abs(error);
        va_start(ap, format);
        vsnprintf(raw, sizeof(raw), format, ap);
        va_end(ap);
        /* Values from outside are escaped where they are logged (ESC());
         * should one slip through, it still cannot start a line of its
         * own or reach the terminal as a control sequence. */
        escape_controls(raw, buf, sizeof(buf));

        if (target == LOG_TARGET_JOURNAL) {
                char code_file[256], code_line[32];
                snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
                snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
                if (error != 0)
                        sd_journal_send_with_location(code_file, code_line, func,
                                                      "MESSAGE=%s", buf, "PRIORITY=%i", level,
                                                      "ERRNO=%i", abs(error),
                                                      "SYSLOG_IDENTIFIER=%s", ident, NULL);
                else
                        sd_journal_send_with_location(code_file, code_line, func,
                                                      "MESSAGE=%s", buf, "PRIORITY=%i", level,
                                                      "SYSLOG_IDENTIFIER=%s", ident, NULL);
        } else {
                /* One write per line so that lines of threads don't mix. */
                char out[2300];
                int n = snprintf(out, sizeof(out), "%s[%d]: %s: %s\n", ident, (int) getpid(),
                                 level_name(level), buf);
                if (n > 0)
                        (void) !write(STDERR_FILENO, out, MIN((size_t) n, sizeof(out) - 1));
        }

        errno = saved_errno;
        return -abs(error);
}

bool log_ratelimit_pass(LogRatelimit *rl, uint64_t now, unsigned *ret_suppressed) {
        bool pass;

        pthread_mutex_lock(&rl->lock);
        if (rl->begin_usec == 0 || now >= rl->begin_usec + rl->interval_usec) {
                /* A new window: report how many the last one held back. */
                *ret_suppressed = rl->suppressed;
                rl->begin_usec = now;
                rl->n = 0;
                rl->suppressed = 0;
        } else
                *ret_suppressed = 0;
        pass = rl->n < rl->burst;
        if (pass)
                rl->n++;
        else
                rl->suppressed++;
        pthread_mutex_unlock(&rl->lock);
        return pass;
}
