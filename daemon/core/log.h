/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging for tesserad and tesseractl: to the journal when started by
 * systemd, to stderr otherwise. The log_*_errno() helpers return the
 * negative errno they were given, so that "return log_error_errno(r, ...)"
 * logs and propagates in one statement. */

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "macro.h"

typedef enum LogTarget {
        LOG_TARGET_AUTO,
        LOG_TARGET_CONSOLE,
        LOG_TARGET_JOURNAL,
} LogTarget;

void log_setup(const char *ident, LogTarget target);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "debug", "info", "notice", "warning", "err"/"error", "crit". */
int log_level_from_string(const char *s);

int log_internal(int level, int error, const char *file, int line, const char *func,
                 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                               \
        ({                                                                              \
                int _l_ = (level), _e_ = (error);                                       \
                _l_ <= log_get_max_level()                                              \
                        ? log_internal(_l_, _e_, __FILE__, __LINE__, __func__, __VA_ARGS__) \
                        : -abs(_e_);                                                    \
        })

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")

/* At most burst lines per interval for one kind of message that a client
 * can make happen at will (a connection refused, a resource running out),
 * so that it cannot fill the disk through our log. Shared by threads. */
typedef struct LogRatelimit {
        pthread_mutex_t lock;
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin_usec;      /* of the current window; 0: none yet */
        unsigned n, suppressed;
} LogRatelimit;

#define LOG_RATELIMIT_INIT(interval, burst_) \
        { .lock = PTHREAD_MUTEX_INITIALIZER, .interval_usec = (interval), .burst = (burst_) }

/* True when a line may be logged now (CLOCK_MONOTONIC µs); *ret_suppressed
 * is then how many were held back in the window before, for the line to say. */
bool log_ratelimit_pass(LogRatelimit *rl, uint64_t now, unsigned *ret_suppressed);
