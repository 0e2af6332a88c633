/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "metrics-core.h"

#include "log.h"
#include "mail.h"
#include "manager.h"
#include "time-util.h"

static const char *const channel_values[_METRIC_CHANNEL_MAX + 1] = {
        [METRIC_CHANNEL_PAM] = "pam",
        [METRIC_CHANNEL_HTTP] = "http",
        [METRIC_CHANNEL_OIDC] = "oidc",
        [METRIC_CHANNEL_DBUS] = "dbus",
};

static const char *const signin_result_values[_METRIC_SIGNIN_RESULT_MAX + 1] = {
        [METRIC_SIGNIN_SUCCESS] = "success",
        [METRIC_SIGNIN_FAILURE] = "failure",
        [METRIC_SIGNIN_LOCKED] = "locked",
};

static const char *const grant_values[_METRIC_GRANT_MAX + 1] = {
        [METRIC_GRANT_AUTHORIZATION_CODE] = "authorization_code",
        [METRIC_GRANT_REFRESH_TOKEN] = "refresh_token",
        [METRIC_GRANT_CLIENT_CREDENTIALS] = "client_credentials",
        [METRIC_GRANT_SIGNIN] = "signin",
};

static const MetricSpec signins_spec = {
        .name = "tessera_signins_total",
        .help = "Password and second-factor checks by door and by what the person asking was told: sign-ins, and "
                "the current password of a password change. A name that is no user counts as a real account would.",
        .type = METRIC_COUNTER,
        .labels = { { "channel", channel_values }, { "result", signin_result_values } },
};

static const MetricSpec lockouts_spec = {
        .name = "tessera_lockouts_total",
        .help = "Accounts locked after too many failed sign-ins, by the door of the last failure (names that are "
                "no user included, as they are told they are locked).",
        .type = METRIC_COUNTER,
        .labels = { { "channel", channel_values } },
};

static const MetricSpec tokens_spec = {
        .name = "tessera_tokens_issued_total",
        .help = "Access tokens handed out by the token endpoints of every tenant, by grant (signin: the JSON "
                "API's sign-in).",
        .type = METRIC_COUNTER,
        .labels = { { "grant", grant_values } },
};

MetricChannel metric_channel_from_string(const char *s) {
        for (MetricChannel c = 0; s && c < _METRIC_CHANNEL_MAX; c++)
                if (streq(channel_values[c], s))
                        return c;
        return _METRIC_CHANNEL_INVALID;
}

void metrics_signin(Manager *m, MetricChannel channel, MetricSigninResult result, bool lock_started) {
        if (channel < 0 || channel >= _METRIC_CHANNEL_MAX)
                return;
        metric_add(m->core_metrics.signins, (unsigned[]) { channel, result }, 1);
        if (lock_started)
                metric_add(m->core_metrics.lockouts, (unsigned[]) { channel }, 1);
}

void metrics_token_issued(Manager *m, MetricGrant grant) {
        metric_add(m->core_metrics.tokens, (unsigned[]) { grant }, 1);
}

/* The mail sender's own counters (mail.h), read as they are. */
static void collect_mail(MetricText *t, void *userdata) {
        const Manager *m = userdata;
        MailCounters c;

        mail_get_counters(m, &c);
        metric_text_family(t, "tessera_mail_sent_total", METRIC_COUNTER,
                           "Mails handed to the relay (or written to the development folder).");
        metric_text_sample(t, "tessera_mail_sent_total", NULL, (double) c.sent);
        metric_text_family(t, "tessera_mail_deferred_total", METRIC_COUNTER,
                           "Delivery attempts that failed and will be tried again.");
        metric_text_sample(t, "tessera_mail_deferred_total", NULL, (double) c.deferred);
        metric_text_family(t, "tessera_mail_failed_total", METRIC_COUNTER,
                           "Mails given up after their last attempt (each is in the audit trail as mail.failed).");
        metric_text_sample(t, "tessera_mail_failed_total", NULL, (double) c.failed);
}

int core_metrics_new(Manager *m) {
        int r;

        r = metrics_new(&m->metrics);
        if (r < 0)
                return r;
        m->core_metrics.start_usec = (uint64_t) now_realtime_usec();
        r = metrics_declare(m->metrics, &signins_spec, &m->core_metrics.signins);
        if (r >= 0)
                r = metrics_declare(m->metrics, &lockouts_spec, &m->core_metrics.lockouts);
        if (r >= 0)
                r = metrics_declare(m->metrics, &tokens_spec, &m->core_metrics.tokens);
        if (r >= 0)
                r = metrics_add_collector(m->metrics, collect_mail, m);
        if (r >= 0)
                r = metrics_add_collector(m->metrics, metrics_process_collect, m);
        return r;
}
