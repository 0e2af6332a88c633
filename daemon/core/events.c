/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "events.h"

#include <pthread.h>
#include <sys/eventfd.h>

#include "log.h"

#define EVENT_BUS_MAX_SUBSCRIBERS 16

typedef struct Subscriber {
        EventDelivery delivery;
        ChangeFunc func;
        void *userdata;
} Subscriber;

/* A copy of an event waiting for the main loop. */
typedef struct QueuedEvent {
        struct QueuedEvent *next;
        ChangeEvent event;
        char *tenant, *name;
} QueuedEvent;

struct EventBus {
        sd_event_source *source;
        int fd;                       /* eventfd: "the queue is not empty" */
        /* Written at start-up on the main thread only, read by every
         * thread afterwards. */
        Subscriber subscribers[EVENT_BUS_MAX_SUBSCRIBERS];
        unsigned n_subscribers;
        bool has_main_loop_subscribers;

        pthread_mutex_t lock;         /* guards the queue */
        QueuedEvent *head, *tail;
};

static void queued_event_free(QueuedEvent *q) {
        free(q->tenant);
        free(q->name);
        free(q);
}

/* Takes the whole queue, in publishing order. */
static QueuedEvent *take_queue(EventBus *b) {
        QueuedEvent *q;

        pthread_mutex_lock(&b->lock);
        q = b->head;
        b->head = b->tail = NULL;
        pthread_mutex_unlock(&b->lock);
        return q;
}

static void deliver(EventBus *b, QueuedEvent *q) {
        while (q) {
                QueuedEvent *next = q->next;

                for (unsigned i = 0; i < b->n_subscribers; i++)
                        if (b->subscribers[i].delivery == EVENT_DELIVER_MAIN_LOOP)
                                b->subscribers[i].func(&q->event, b->subscribers[i].userdata);
                queued_event_free(q);
                q = next;
        }
}

static int on_queue(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        EventBus *b = userdata;
        eventfd_t n;

        /* Reset the counter first: an event queued after this read wakes
         * us again, one queued before it is in what we take now. EAGAIN:
         * it was reset already (a wake-up with nothing new). Whatever the
         * read says, the queue is delivered: nothing waits on the counter. */
        if (eventfd_read(fd, &n) < 0 && errno != EAGAIN)
                log_warning_errno(errno, "Failed to reset the wake-up of the change events: %m");
        deliver(b, take_queue(b));
        return 0;
}

int event_bus_new(sd_event *event, EventBus **ret) {
        _cleanup_(event_bus_freep) EventBus *b = NULL;
        int r;

        b = calloc(1, sizeof(EventBus));
        if (!b)
                return -ENOMEM;
        b->fd = -EBADF;
        pthread_mutex_init(&b->lock, NULL);

        b->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->fd < 0)
                return -errno;
        r = sd_event_add_io(event, &b->source, b->fd, EPOLLIN, on_queue, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(b->source, "change-events");
        *ret = TAKE_PTR(b);
        return 0;
}

EventBus *event_bus_free(EventBus *b) {
        if (!b)
                return NULL;
        for (QueuedEvent *q = take_queue(b), *next; q; q = next) {
                next = q->next;
                queued_event_free(q);
        }
        sd_event_source_disable_unref(b->source);
        safe_close(b->fd);
        pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}

int event_bus_subscribe(EventBus *b, EventDelivery delivery, ChangeFunc func, void *userdata) {
        if (!func || (delivery != EVENT_DELIVER_INLINE && delivery != EVENT_DELIVER_MAIN_LOOP))
                return -EINVAL;
        if (b->n_subscribers >= EVENT_BUS_MAX_SUBSCRIBERS)
                return -E2BIG;
        b->subscribers[b->n_subscribers++] = (Subscriber) { delivery, func, userdata };
        if (delivery == EVENT_DELIVER_MAIN_LOOP)
                b->has_main_loop_subscribers = true;
        return 0;
}

static int enqueue(EventBus *b, const ChangeEvent *e) {
        QueuedEvent *q = calloc(1, sizeof(QueuedEvent));
        bool was_empty;

        if (!q)
                return -ENOMEM;
        q->event = *e;
        q->tenant = e->tenant ? strdup(e->tenant) : NULL;
        q->name = e->name ? strdup(e->name) : NULL;
        if ((e->tenant && !q->tenant) || (e->name && !q->name)) {
                queued_event_free(q);
                return -ENOMEM;
        }
        q->event.tenant = q->tenant;
        q->event.name = q->name;

        pthread_mutex_lock(&b->lock);
        was_empty = !b->head;
        if (b->tail)
                b->tail->next = q;
        else
                b->head = q;
        b->tail = q;
        pthread_mutex_unlock(&b->lock);

        /* One wake-up per batch: the main loop takes everything queued. */
        /* EAGAIN: the counter is full, which wakes the loop all the same. */
        if (was_empty && eventfd_write(b->fd, 1) < 0 && errno != EAGAIN)
                return -errno;
        return 0;
}

void event_bus_publish(EventBus *b, const ChangeEvent *e) {
        int r;

        if (!b)
                return;
        for (unsigned i = 0; i < b->n_subscribers; i++)
                if (b->subscribers[i].delivery == EVENT_DELIVER_INLINE)
                        b->subscribers[i].func(e, b->subscribers[i].userdata);
        if (!b->has_main_loop_subscribers)
                return;
        r = enqueue(b, e);
        if (r < 0)
                log_error_errno(r, "Failed to queue the change event %s %s of %s: %m",
                                change_kind_to_string(e->kind), change_op_to_string(e->op), strna(e->name));
}

void event_bus_flush(EventBus *b) {
        if (b)
                deliver(b, take_queue(b));
}

const char *change_kind_to_string(ChangeKind k) {
        static const char *const names[_CHANGE_KIND_MAX] = {
                [CHANGE_TENANT] = "tenant",
                [CHANGE_USER] = "user",
                [CHANGE_GROUP] = "group",
                [CHANGE_APPLICATION] = "application",
                [CHANGE_SIGNING_KEYS] = "signing-keys",
                [CHANGE_LOCKOUT] = "lockout",
                [CHANGE_HOST_SESSION] = "host-session",
                [CHANGE_SSO_SESSION] = "sso-session",
                [CHANGE_TOTP] = "totp",
                [CHANGE_UPSTREAM_PROVIDER] = "upstream-provider",
                [CHANGE_EVERYTHING] = "everything",
        };
        return k >= 0 && k < _CHANGE_KIND_MAX ? names[k] : NULL;
}

const char *change_op_to_string(ChangeOp o) {
        static const char *const names[_CHANGE_OP_MAX] = {
                [CHANGE_CREATED] = "created",
                [CHANGE_UPDATED] = "updated",
                [CHANGE_DELETED] = "deleted",
        };
        return o >= 0 && o < _CHANGE_OP_MAX ? names[o] : NULL;
}

int change_kind_from_string(const char *s) {
        for (ChangeKind k = 0; s && k < _CHANGE_KIND_MAX; k++)
                if (streq(s, change_kind_to_string(k)))
                        return k;
        return -EINVAL;
}

int change_op_from_string(const char *s) {
        for (ChangeOp o = 0; s && o < _CHANGE_OP_MAX; o++)
                if (streq(s, change_op_to_string(o)))
                        return o;
        return -EINVAL;
}
