/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "fd-budget.h"

#include <errno.h>
#include <limits.h>
#include <sys/resource.h>

#include "log.h"
#include "macro.h"

int fd_limit_raise(unsigned *ret_limit) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return log_error_errno(-errno, "Failed to read the descriptor limit: %m");
        if (rl.rlim_cur < rl.rlim_max) {
                struct rlimit raised = { .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };

                if (setrlimit(RLIMIT_NOFILE, &raised) < 0)
                        log_warning_errno(-errno, "Failed to raise the descriptor limit from %llu to %llu, "
                                                  "going on with the lower one: %m",
                                          (unsigned long long) rl.rlim_cur, (unsigned long long) rl.rlim_max);
                else {
                        log_debug("Raised the descriptor limit from %llu to %llu.", (unsigned long long) rl.rlim_cur,
                                  (unsigned long long) rl.rlim_max);
                        rl = raised;
                }
        }
        *ret_limit = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > INT_MAX ? INT_MAX : (unsigned) rl.rlim_cur;
        return 0;
}

int fd_budget_plan(const Config *c, unsigned limit, unsigned http_threads, FdBudget *ret) {
        FdBudget b = {
                .limit = limit,
                .own = FD_BUDGET_OWN + FD_BUDGET_PER_HTTP_THREAD * http_threads,
                /* A lookup connection may hold a duplicate of the cache's
                 * descriptor while its reply waits to be read; one more
                 * accepts and refuses a connection over the limit. */
                .nss = 2 * c->nss_max_connections + 1,
                .pam = c->pam_max_connections,
        };
        unsigned reserved = b.own + b.nss + b.pam, left = limit > reserved ? limit - reserved : 0;

        if (http_threads == 0) {
                if (left == 0)
                        log_warning("The descriptor limit %u is below what the lookup and authentication sockets may "
                                    "need (%u); raise LimitNOFILE= or lower [nss] and [pam] max_connections.",
                                    limit, reserved);
                *ret = b;
                return 0;
        }

        if (left < FD_BUDGET_HTTP_MIN)
                return log_error_errno(-ENFILE, "The descriptor limit %u leaves too few for HTTP connections after "
                                                "the daemon's own (%u) and the reserve of the lookup (%u) and "
                                                "authentication (%u) sockets; raise LimitNOFILE= or lower [nss] and "
                                                "[pam] max_connections.", limit, b.own, b.nss, b.pam);
        if (c->http_connection_limit == 0)
                b.http = MIN(left, (unsigned) FD_BUDGET_HTTP_AUTO_MAX);
        else if (c->http_connection_limit > left) {
                log_warning("[http] connection_limit = %u would use descriptors kept for the lookup and "
                            "authentication sockets (limit %u); serving %u HTTP connections at most.",
                            c->http_connection_limit, limit, left);
                b.http = left;
        } else
                b.http = c->http_connection_limit;
        *ret = b;
        return 0;
}
