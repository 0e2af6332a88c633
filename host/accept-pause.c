/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "accept-pause.h"

#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "time-util.h"

/* One line a minute at most, saying how many pauses it stands for. */
#define LOG_INTERVAL_USEC (60 * USEC_PER_SEC)

struct AcceptPause {
        sd_event_source *timer;
        char *what;
        AcceptResumeFunc resume;
        void *userdata;
        LogRatelimit ratelimit;
};

static int on_pause_over(sd_event_source *s, uint64_t usec, void *userdata) {
        AcceptPause *p = userdata;

        p->resume(p->userdata);
        return 0;
}

int accept_pause_new(sd_event *event, const char *what, AcceptResumeFunc resume, void *userdata,
                     AcceptPause **ret) {
        AcceptPause *p = calloc(1, sizeof(AcceptPause));
        int r;

        if (!p)
                return log_oom();
        *p = (AcceptPause) {
                .resume = resume,
                .userdata = userdata,
                .ratelimit = LOG_RATELIMIT_INIT(LOG_INTERVAL_USEC, 1),
        };
        p->what = strdup(what);
        if (!p->what) {
                accept_pause_free(p);
                return log_oom();
        }
        r = sd_event_add_time(event, &p->timer, CLOCK_MONOTONIC, 0, 0, on_pause_over, p);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
        if (r < 0) {
                accept_pause_free(p);
                return log_error_errno(r, "Failed to set up the accept pause of %s: %m", what);
        }
        (void) sd_event_source_set_description(p->timer, "accept-pause");
        *ret = p;
        return 0;
}

AcceptPause *accept_pause_free(AcceptPause *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        free(p->what);
        free(p);
        return NULL;
}

bool accept_pause_on_error(AcceptPause *p, sd_event_source *listen, int error) {
        unsigned suppressed;
        int r;

        if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM)
                return false;

        r = sd_event_source_set_enabled(listen, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_source_set_time_relative(p->timer, ACCEPT_PAUSE_USEC);
        if (r >= 0)
                r = sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
        if (r < 0) {
                /* Without the timer the socket would stay off for good:
                 * better to try again at once than to stop serving. */
                (void) sd_event_source_set_enabled(listen, SD_EVENT_ON);
                log_error_errno(r, "Failed to pause accepting on %s: %m", p->what);
                return true;
        }

        if (log_ratelimit_pass(&p->ratelimit, now_monotonic_usec(), &suppressed))
                log_warning_errno(-error, "Cannot accept connections on %s, pausing accepts for %llu ms each "
                                          "time (%u times since this was last logged): %m", p->what,
                                  (unsigned long long) (ACCEPT_PAUSE_USEC / USEC_PER_MSEC), suppressed);
        return true;
}
