/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "mail-smtp.h"

#include <arpa/inet.h>
#include <curl/curl.h>

#include "log.h"
#include "macro.h"

/* Connecting takes a moment unless the relay is gone: then say so soon
 * and try again later, rather than wait the whole attempt. */
#define CONNECT_TIMEOUT_SEC 10L

bool mail_relay_is_loopback(const char *url) {
        char host[256];
        const char *p, *end;
        struct in_addr a;

        p = strstr(url, "://");
        if (!p)
                return false;
        p += 3;
        if (*p == '[') {
                end = strchr(p, ']');
                return end && (size_t) (end - p) == 4 && strneq(p, "[::1", 4);
        }
        end = p + strcspn(p, ":/");
        if ((size_t) (end - p) >= sizeof(host))
                return false;
        memcpy(host, p, (size_t) (end - p));
        host[end - p] = '\0';
        if (strcasecmp(host, "localhost") == 0)
                return true;
        /* inet_aton() would take "127.1" and other short forms too: only
         * the dotted quad counts, as curl reads the same string. */
        return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

int mail_smtp_global_init(void) {
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);

        if (c != CURLE_OK)
                return log_error_errno(-EIO, "Failed to initialize libcurl: %s", curl_easy_strerror(c));
        return 0;
}

void mail_smtp_global_done(void) {
        curl_global_cleanup();
}

typedef struct Upload {
        const char *data;
        size_t len, offset;
} Upload;

static size_t read_message(char *buf, size_t size, size_t nitems, void *userdata) {
        Upload *u = userdata;
        size_t n = MIN(size * nitems, u->len - u->offset);

        memcpy(buf, u->data + u->offset, n);
        u->offset += n;
        return n;
}

/* Called by curl at least once a second while it waits: a shutdown
 * abandons the attempt at once, leaving the mail queued. */
static int check_stop(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
        const atomic_bool *stop = userdata;

        return stop && atomic_load(stop) ? 1 : 0;
}

static void curl_easy_cleanupp(CURL **c) {
        if (*c)
                curl_easy_cleanup(*c);
}

static void curl_slist_free_allp(struct curl_slist **l) {
        curl_slist_free_all(*l);
}

/* What went wrong, for a person reading the log or the outbox. */
static char *describe_failure(const MailRelay *relay, CURLcode code, long response, const char *detail) {
        char *s = NULL;
        int n;

        switch (code) {
        case CURLE_USE_SSL_FAILED:
                n = asprintf(&s, "the relay %s does not offer STARTTLS, and tesserad sends to a relay that is not "
                                 "on loopback only over TLS (use an smtps:// relay, or one that offers STARTTLS)",
                             relay->url);
                break;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
                n = asprintf(&s, "cannot reach the relay %s: %s", relay->url, *detail ? detail : curl_easy_strerror(code));
                break;
        case CURLE_LOGIN_DENIED:
                n = asprintf(&s, "the relay %s refused the login (SMTP %ld); check [mail] username and the password",
                             relay->url, response);
                break;
        default:
                if (response > 0)
                        n = asprintf(&s, "the relay %s answered SMTP %ld: %s", relay->url, response,
                                     *detail ? detail : curl_easy_strerror(code));
                else
                        n = asprintf(&s, "sending to %s failed: %s", relay->url,
                                     *detail ? detail : curl_easy_strerror(code));
        }
        return n < 0 ? NULL : s;
}

#define SETOPT(c, opt, value)                                           \
        do {                                                            \
                if (curl_easy_setopt((c), (opt), (value)) != CURLE_OK)  \
                        return -EIO;                                    \
        } while (0)

static int setup(CURL *c, const MailRelay *relay, const char *from_arg, struct curl_slist *rcpt, Upload *upload,
                 const atomic_bool *stop, char *errbuf) {
        SETOPT(c, CURLOPT_URL, relay->url);
        /* Nothing but SMTP, however the URL or a redirect might try. */
        SETOPT(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        SETOPT(c, CURLOPT_USE_SSL, (long) (mail_relay_is_loopback(relay->url) ? CURLUSESSL_NONE : CURLUSESSL_ALL));
        SETOPT(c, CURLOPT_SSL_VERIFYPEER, 1L);
        SETOPT(c, CURLOPT_SSL_VERIFYHOST, 2L);
        if (relay->ca_file)
                SETOPT(c, CURLOPT_CAINFO, relay->ca_file);
        if (relay->username) {
                SETOPT(c, CURLOPT_USERNAME, relay->username);
                SETOPT(c, CURLOPT_PASSWORD, strempty(relay->password));
        }
        SETOPT(c, CURLOPT_MAIL_FROM, from_arg);
        SETOPT(c, CURLOPT_MAIL_RCPT, rcpt);
        SETOPT(c, CURLOPT_UPLOAD, 1L);
        SETOPT(c, CURLOPT_READFUNCTION, read_message);
        SETOPT(c, CURLOPT_READDATA, upload);
        SETOPT(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SEC);
        SETOPT(c, CURLOPT_TIMEOUT, (long) relay->timeout_sec);
        /* No signals from curl in a threaded daemon: the sender thread
         * blocks SIGPIPE itself (mail-sender.c). */
        SETOPT(c, CURLOPT_NOSIGNAL, 1L);
        SETOPT(c, CURLOPT_NOPROGRESS, 0L);
        SETOPT(c, CURLOPT_XFERINFOFUNCTION, check_stop);
        SETOPT(c, CURLOPT_XFERINFODATA, (void *) stop);
        SETOPT(c, CURLOPT_ERRORBUFFER, errbuf);
        return 0;
}

int mail_smtp_send(const MailRelay *relay, const char *from, const char *to, const char *message, size_t len,
                   const atomic_bool *stop, char **ret_error) {
        _cleanup_(curl_easy_cleanupp) CURL *c = NULL;
        _cleanup_(curl_slist_free_allp) struct curl_slist *rcpt = NULL;
        _cleanup_free_ char *from_arg = NULL, *to_arg = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";
        Upload upload = { .data = message, .len = len };
        long response = 0;
        CURLcode code;
        int r;

        if (asprintf(&from_arg, "<%s>", from) < 0 || asprintf(&to_arg, "<%s>", to) < 0)
                return -ENOMEM;
        c = curl_easy_init();
        rcpt = curl_slist_append(NULL, to_arg);
        if (!c || !rcpt)
                return -ENOMEM;
        r = setup(c, relay, from_arg, rcpt, &upload, stop, errbuf);
        if (r < 0) {
                *ret_error = strdup("libcurl refused an option (is it built with SMTP and TLS?)");
                return r;
        }

        code = curl_easy_perform(c);
        if (code == CURLE_OK)
                return 0;
        if (code == CURLE_ABORTED_BY_CALLBACK)
                return -ECANCELED;

        (void) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &response);
        *ret_error = describe_failure(relay, code, response, errbuf);
        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
                return -EHOSTUNREACH;
        case CURLE_OPERATION_TIMEDOUT:
                return -ETIMEDOUT;
        case CURLE_USE_SSL_FAILED:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
                return -EPROTO;
        case CURLE_LOGIN_DENIED:
                return -EACCES;
        default:
                return -EIO;
        }
}
