/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the core counts itself, in the registry every face shares
 * (metrics.h): sign-ins by door and outcome, lockouts, tokens issued; and
 * what it reads at scrape time: the mail sender's counters, the process
 * (metrics-process.c). The faces declare their own families (requests and
 * their durations); see tesserad.conf(5) for the list. */

#include <errno.h>
#include <stdbool.h>

#include "metrics.h"

typedef struct Manager Manager;

/* The doors a sign-in comes through: a fixed set, so that a channel
 * string nobody planned for cannot add a series. */
typedef enum MetricChannel {
        METRIC_CHANNEL_PAM,
        METRIC_CHANNEL_HTTP,      /* the JSON API's sign-in */
        METRIC_CHANNEL_OIDC,      /* the OpenID provider's sign-in pages */
        METRIC_CHANNEL_DBUS,      /* a password change proving the current one */
        _METRIC_CHANNEL_MAX,
        _METRIC_CHANNEL_INVALID = -EINVAL,
} MetricChannel;

/* What the person signing in was told. */
typedef enum MetricSigninResult {
        METRIC_SIGNIN_SUCCESS,
        METRIC_SIGNIN_FAILURE,    /* wrong credentials, or an account that can't be used */
        METRIC_SIGNIN_LOCKED,     /* refused unchecked: locked after failures */
        _METRIC_SIGNIN_RESULT_MAX,
} MetricSigninResult;

typedef enum MetricGrant {
        METRIC_GRANT_AUTHORIZATION_CODE,
        METRIC_GRANT_REFRESH_TOKEN,
        METRIC_GRANT_CLIENT_CREDENTIALS,
        METRIC_GRANT_SIGNIN,          /* the JSON API's sign-in and sign-up (api-session.h) */
        _METRIC_GRANT_MAX,
} MetricGrant;

typedef struct CoreMetrics {
        MetricFamily *signins;    /* channel × result */
        MetricFamily *lockouts;   /* channel */
        MetricFamily *tokens;     /* grant */
        uint64_t start_usec;      /* CLOCK_REALTIME when the Manager was made */
} CoreMetrics;

/* Makes m->metrics, declares the core's families into it and adds the
 * collectors of the mail sender and the process. */
int core_metrics_new(Manager *m);

/* "pam", "http", "oidc", "dbus"; anything else is -EINVAL (and not counted). */
MetricChannel metric_channel_from_string(const char *s);

/* A sign-in decided (a password, a second factor), as told to the person
 * asking; lock_started: this failure locked the account (or what looks
 * like one to them: a name that is no user). */
void metrics_signin(Manager *m, MetricChannel channel, MetricSigninResult result, bool lock_started);

/* An access token handed out by the token endpoint. */
void metrics_token_issued(Manager *m, MetricGrant grant);

/* The collector of process metrics (metrics-process.c): build info, start
 * time, descriptors open and their budget, CPU time, memory. */
void metrics_process_collect(MetricText *t, void *userdata);
