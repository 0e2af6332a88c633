/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Fills a fresh state directory with one large tenant, through the store
 * (the same code and schema tesserad uses), fast: statements prepared once,
 * thousands of rows per transaction. For bench/scale/run; not for real
 * deployments.
 *
 *   scale-seed --config FILE --tenant SLUG --users N [--groups G]
 *              [--memberships K] [--audit-events E] [--batch B]
 *              [--owner NAME] [--random-seed S] [--cache-mib M]
 *
 * The owner's password is read from stdin (one line). Made, in order:
 * the tenant (an ID slice as tesserad would give it: [ids] of FILE must
 * have room for the owner, the groups and the users), the owner (role
 * owner, with that password), G groups team00000.. with consecutive gids
 * from the start of the slice, N users user0000000.. with consecutive uids
 * after them, each a member of K of the groups, and E audit events of the
 * tenant spread evenly over the last 80 days, between random actors and
 * targets, with a mix of actions and results. Prints one JSON object on
 * stdout: what was made and how many seconds each part took. */

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "log.h"
#include "password.h"
#include "store.h"
#include "time-util.h"

#define DEFAULT_GROUPS 10000
#define DEFAULT_MEMBERSHIPS 2
#define DEFAULT_AUDIT_EVENTS 5000000
#define DEFAULT_BATCH 100000
/* Inside the default retention ([audit] max_age = 90d): the daemon must not
 * start pruning the seeded log while the benchmark reads it. */
#define AUDIT_SPAN_USEC (80ULL * 24 * 3600 * USEC_PER_SEC)
/* Users created later over REST take IDs after the seeded ones. */
#define ID_HEADROOM 100000

static const char *arg_config;
static const char *arg_tenant;
static const char *arg_owner = "owner";
static uint64_t arg_users;
static uint64_t arg_groups = DEFAULT_GROUPS;
static uint64_t arg_memberships = DEFAULT_MEMBERSHIPS;
static uint64_t arg_audit_events = DEFAULT_AUDIT_EVENTS;
static uint64_t arg_batch = DEFAULT_BATCH;
static uint64_t arg_random_seed = 1;
static uint64_t arg_cache_mib = 256;

static const char *const first_names[] = {
        "ada", "alan", "barbara", "claude", "donald", "edsger", "frances", "grace", "hedy", "ivan",
        "john", "katherine", "linus", "margaret", "niklaus", "ole", "radia", "shafi", "tim", "xavier",
};
static const char *const last_names[] = {
        "lovelace", "turing", "liskov", "shannon", "knuth", "dijkstra", "allen", "hopper", "lamarr", "sutherland",
        "backus", "johnson", "torvalds", "hamilton", "wirth", "dahl", "perlman", "goldwasser", "berners", "leroy",
};
static const char *const domains[] = { "example.org", "example.com", "example.net", "mail.example" };

/* What the audit log of a busy tenant holds, roughly: mostly sign-ins and
 * tokens, some changes. Weights in per mille. */
static const struct {
        const char *action, *channel;
        unsigned weight;
        bool self;                /* the actor is the target */
} actions[] = {
        { "auth.login", "pam", 250, true },
        { "auth.signin", "http", 200, true },
        { "oauth.token", "http", 200, true },
        { "oauth.refresh", "http", 120, true },
        { "session.open", "pam", 80, true },
        { "session.close", "pam", 80, true },
        { "user.update", "http", 30, false },
        { "user.set-password", "dbus", 15, false },
        { "group.update", "dbus", 10, false },
        { "user.create", "http", 10, false },
        { "auth.forgot", "http", 5, true },
};

/* xorshift64*: reproducible runs for a given --random-seed. */
static uint64_t rng_state;

static uint64_t rng_next(void) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static uint64_t rng_below(uint64_t n) {
        return n ? rng_next() % n : 0;
}

static double seconds_since(int64_t start_usec) {
        return (double) (now_monotonic_usec() - start_usec) / USEC_PER_SEC;
}

static int parse_count(const char *s, const char *what, uint64_t *ret) {
        char *end;
        unsigned long long v;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
                return log_error_errno(-EINVAL, "%s: not a count: '%s'.", what, s);
        *ret = v;
        return 0;
}

static void user_name(uint64_t i, char buf[static 32]) {
        snprintf(buf, 32, "user%07" PRIu64, i);
}

/* Every connection SQLite opens in this process (the store's) gets a page
 * cache of --cache-mib: the audit indexes by actor and by target take
 * their rows in random order, and with SQLite's default of 2 MiB nearly
 * every insert would read a page back. The store sets no cache size of
 * its own, so this one stays. */
static int tune_connection(sqlite3 *db, char **error, const struct sqlite3_api_routines *api) {
        char sql[64];

        snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%" PRIu64, arg_cache_mib * 1024);
        return sqlite3_exec(db, sql, NULL, NULL, error);
}

/* Commits the open transaction and begins the next one. */
static int next_batch(Store *s) {
        int r = store_commit(s);

        if (r < 0)
                return log_error_errno(r, "Failed to commit a batch: %m");
        r = store_begin(s);
        if (r < 0)
                return log_error_errno(r, "Failed to begin a batch: %m");
        return 0;
}

static int make_owner(Store *s, const Config *conf, const TenantRecord *t, const char *password) {
        _cleanup_(user_record_unrefp) UserRecord *u = user_record_new();
        _cleanup_free_ char *hash = NULL, *home = NULL, *email = NULL;
        int r;

        if (!u)
                return log_oom();
        r = password_hash(password, conf->hash_prefix, conf->hash_cost, &hash);
        if (r < 0)
                return log_error_errno(r, "Failed to hash the owner's password: %m");
        r = config_format_home(conf, arg_owner, t->slug, &home);
        if (r < 0)
                return log_error_errno(r, "Failed to make the owner's home: %m");
        if (asprintf(&email, "%s@%s.example", arg_owner, t->slug) < 0)
                return log_oom();
        u->tenant_id = t->id;
        u->name = (char *) arg_owner;
        u->uid = t->id_min;
        u->real_name = (char *) "Scale Owner";
        u->email = email;
        u->email_verified = true;
        u->home = home;
        u->shell = conf->default_shell;
        u->password_hash = hash;
        u->role = USER_ROLE_OWNER;
        r = store_user_create(s, u, NULL);
        /* The strings are borrowed: the record must not free them. */
        u->name = u->real_name = u->email = u->home = u->shell = u->password_hash = NULL;
        if (r < 0)
                return log_error_errno(r, "Failed to create the owner %s: %m", arg_owner);
        return 0;
}

static int make_groups(Store *s, const TenantRecord *t, int64_t *ids) {
        for (uint64_t j = 0; j < arg_groups; j++) {
                _cleanup_(group_record_unrefp) GroupRecord *g = group_record_new(), *made = NULL;
                char name[32], description[64];
                int r;

                if (!g)
                        return log_oom();
                snprintf(name, sizeof(name), "team%05" PRIu64, j);
                snprintf(description, sizeof(description), "Team %" PRIu64, j);
                g->tenant_id = t->id;
                g->name = name;
                g->description = description;
                g->gid = (gid_t) (t->id_min + 1 + j);
                r = store_group_create(s, g, &made);
                g->name = g->description = NULL;
                if (r < 0)
                        return log_error_errno(r, "Failed to create group %s: %m", name);
                ids[j] = made->id;
                if ((j + 1) % arg_batch == 0 && (r = next_batch(s)) < 0)
                        return r;
        }
        return 0;
}

static int make_users(Store *s, const Config *conf, const TenantRecord *t, const int64_t *group_ids,
                      uint64_t *ret_memberships) {
        uint64_t memberships = 0;
        int64_t start = now_monotonic_usec();

        for (uint64_t i = 0; i < arg_users; i++) {
                _cleanup_(user_record_unrefp) UserRecord *u = user_record_new(), *made = NULL;
                _cleanup_free_ char *home = NULL;
                char name[32], real_name[64], email[128];
                const char *first = first_names[rng_below(ELEMENTSOF(first_names))],
                           *last = last_names[rng_below(ELEMENTSOF(last_names))];
                int r;

                if (!u)
                        return log_oom();
                user_name(i, name);
                snprintf(real_name, sizeof(real_name), "%c%s %c%s", first[0] - 'a' + 'A', first + 1,
                         last[0] - 'a' + 'A', last + 1);
                snprintf(email, sizeof(email), "%s.%s.%" PRIu64 "@%s", first, last, i,
                         domains[rng_below(ELEMENTSOF(domains))]);
                r = config_format_home(conf, name, t->slug, &home);
                if (r < 0)
                        return log_error_errno(r, "Failed to make a home: %m");
                u->tenant_id = t->id;
                u->name = name;
                u->uid = (uid_t) (t->id_min + 1 + arg_groups + i);
                u->real_name = real_name;
                u->email = email;
                u->email_verified = rng_below(10) < 8;
                u->home = home;
                u->shell = conf->default_shell;
                r = store_user_create(s, u, &made);
                u->name = u->real_name = u->email = u->home = u->shell = NULL;
                if (r < 0)
                        return log_error_errno(r, "Failed to create user %s: %m", name);

                /* K distinct groups: consecutive ones from a random start. */
                if (arg_groups > 0) {
                        uint64_t g0 = rng_below(arg_groups);

                        for (uint64_t k = 0; k < MIN(arg_memberships, arg_groups); k++) {
                                r = store_group_add_member(s, group_ids[(g0 + k) % arg_groups], made->id);
                                if (r < 0)
                                        return log_error_errno(r, "Failed to add %s to a group: %m", name);
                                memberships++;
                        }
                }
                if ((i + 1) % arg_batch == 0) {
                        r = next_batch(s);
                        if (r < 0)
                                return r;
                        if ((i + 1) % (arg_batch * 10) == 0)
                                log_info("%" PRIu64 " users (%.0f/s)", i + 1, (double) (i + 1) / seconds_since(start));
                }
        }
        *ret_memberships = memberships;
        return 0;
}

static int make_audit(Store *s, const TenantRecord *t) {
        int64_t end = now_realtime_usec(), begin = end - (int64_t) AUDIT_SPAN_USEC, start = now_monotonic_usec();
        unsigned total_weight = 0;

        for (size_t k = 0; k < ELEMENTSOF(actions); k++)
                total_weight += actions[k].weight;

        for (uint64_t i = 0; i < arg_audit_events; i++) {
                char actor[32], target[32], remote[32];
                unsigned w = (unsigned) rng_below(total_weight), roll = (unsigned) rng_below(100);
                uint64_t who = rng_below(arg_users ? arg_users : 1);
                size_t k = 0;
                AuditEvent e;
                int r;

                while (w >= actions[k].weight) {
                        w -= actions[k].weight;
                        k++;
                }
                if (arg_users)
                        user_name(who, actor);
                else
                        snprintf(actor, sizeof(actor), "%s", arg_owner);
                if (actions[k].self || !arg_users)
                        snprintf(target, sizeof(target), "%s", actor);
                else
                        user_name(rng_below(arg_users), target);
                snprintf(remote, sizeof(remote), "198.51.100.%u", (unsigned) rng_below(254) + 1);
                e = (AuditEvent) {
                        /* Evenly over the span, in the order of the ids, as
                         * an append-only log is. */
                        .time_usec = begin + (int64_t) ((double) i / (double) arg_audit_events * AUDIT_SPAN_USEC),
                        .channel = actions[k].channel,
                        .actor_uid = arg_users ? (int64_t) (t->id_min + 1 + arg_groups + who) : t->id_min,
                        .actor = actor,
                        .action = actions[k].action,
                        .tenant = t->slug,
                        .target = target,
                        /* 90 % success, 8 % failure, 2 % denied. */
                        .result = roll < 90 ? AUDIT_SUCCESS : roll < 98 ? AUDIT_FAILURE : AUDIT_DENIED,
                        .remote = remote,
                };
                r = store_audit_append(s, &e);
                if (r < 0)
                        return log_error_errno(r, "Failed to append an audit event: %m");
                if ((i + 1) % arg_batch == 0) {
                        r = next_batch(s);
                        if (r < 0)
                                return r;
                        if ((i + 1) % (arg_batch * 50) == 0)
                                log_info("%" PRIu64 " audit events (%.0f/s)", i + 1,
                                         (double) (i + 1) / seconds_since(start));
                }
        }
        return 0;
}

static int parse_argv(int argc, char **argv) {
        enum {
                ARG_TENANT = 0x100, ARG_USERS, ARG_GROUPS, ARG_MEMBERSHIPS, ARG_AUDIT, ARG_BATCH, ARG_OWNER, ARG_SEED,
                ARG_CACHE,
        };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "tenant", required_argument, NULL, ARG_TENANT },
                { "users", required_argument, NULL, ARG_USERS },
                { "groups", required_argument, NULL, ARG_GROUPS },
                { "memberships", required_argument, NULL, ARG_MEMBERSHIPS },
                { "audit-events", required_argument, NULL, ARG_AUDIT },
                { "batch", required_argument, NULL, ARG_BATCH },
                { "owner", required_argument, NULL, ARG_OWNER },
                { "random-seed", required_argument, NULL, ARG_SEED },
                { "cache-mib", required_argument, NULL, ARG_CACHE },
                {}
        };
        int c, r = 0;

        while ((c = getopt_long(argc, argv, "c:", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_TENANT:
                        arg_tenant = optarg;
                        break;
                case ARG_OWNER:
                        arg_owner = optarg;
                        break;
                case ARG_USERS:
                        r = parse_count(optarg, "--users", &arg_users);
                        break;
                case ARG_GROUPS:
                        r = parse_count(optarg, "--groups", &arg_groups);
                        break;
                case ARG_MEMBERSHIPS:
                        r = parse_count(optarg, "--memberships", &arg_memberships);
                        break;
                case ARG_AUDIT:
                        r = parse_count(optarg, "--audit-events", &arg_audit_events);
                        break;
                case ARG_BATCH:
                        r = parse_count(optarg, "--batch", &arg_batch);
                        break;
                case ARG_SEED:
                        r = parse_count(optarg, "--random-seed", &arg_random_seed);
                        break;
                case ARG_CACHE:
                        r = parse_count(optarg, "--cache-mib", &arg_cache_mib);
                        if (r >= 0 && (arg_cache_mib < 2 || arg_cache_mib > 65536))
                                r = log_error_errno(-ERANGE, "--cache-mib must be 2..65536.");
                        break;
                default:
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        if (optind < argc || !arg_config || !arg_tenant)
                return log_error_errno(-EINVAL, "Usage: %s --config FILE --tenant SLUG --users N [--groups G] "
                                                "[--memberships K] [--audit-events E] [--batch B] [--owner NAME] "
                                                "[--random-seed S] [--cache-mib M] < owner-password",
                                       program_invocation_short_name);
        if (arg_batch == 0)
                return log_error_errno(-EINVAL, "--batch must be at least 1.");
        /* xorshift needs a state other than zero. */
        rng_state = arg_random_seed ? arg_random_seed : 1;
        return 0;
}

static int read_password(char **ret) {
        _cleanup_(erase_and_freep) char *password = NULL;
        char *line = NULL;
        size_t size = 0;
        ssize_t n;

        n = getline(&line, &size, stdin);
        if (n <= 0) {
                /* Nothing was read: the buffer holds no string to wipe. */
                free(line);
                return log_error_errno(-EINVAL, "Expected the owner's password on stdin.");
        }
        password = line;
        password[strcspn(password, "\n")] = '\0';
        if (password[0] == '\0')
                return log_error_errno(-EINVAL, "The owner's password must not be empty.");
        *ret = TAKE_PTR(password);
        return 0;
}

static int run(void) {
        _cleanup_(config_freep) Config *conf = NULL;
        _cleanup_(store_closep) Store *s = NULL;
        _cleanup_(store_rollbackp) Store *txn = NULL;
        _cleanup_(tenant_record_unrefp) TenantRecord *t = NULL;
        _cleanup_(erase_and_freep) char *password = NULL;
        _cleanup_free_ int64_t *group_ids = NULL;
        uint64_t memberships = 0, need;
        double t_owner, t_groups, t_users, t_audit;
        int64_t start;
        IdRange range;
        json_t *j;
        int r;

        r = read_password(&password);
        if (r < 0)
                return r;
        r = config_load(arg_config, false, &conf);
        if (r < 0)
                return r;
        /* As tesserad makes it: the database inside is 0600 anyway. */
        if (mkdir(conf->state_directory, 0700) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Failed to create %s: %m", conf->state_directory);

        need = 1 + arg_groups + arg_users + ID_HEADROOM;
        if (need > conf->id_slice_size)
                return log_error_errno(-ERANGE,
                                       "A tenant with %" PRIu64 " users and %" PRIu64 " groups needs %" PRIu64
                                       " IDs (with room for more); [ids] slice_size of %s is %" PRIu32 ".",
                                       arg_users, arg_groups, need, conf->path, conf->id_slice_size);
        group_ids = calloc(arg_groups + 1, sizeof(int64_t));
        if (!group_ids)
                return log_oom();

        r = sqlite3_auto_extension((void (*)(void)) tune_connection);
        if (r != SQLITE_OK)
                return log_error_errno(-ENOMEM, "Failed to register the connection's settings.");
        r = store_open(&conf->store, &s);
        if (r < 0)
                return log_error_errno(r, "Failed to open the store: %m");

        start = now_monotonic_usec();
        r = store_begin(s);
        if (r < 0)
                return log_error_errno(r, "Failed to begin a transaction: %m");
        txn = s;
        range = (IdRange) { .min = conf->id_range_min, .max = conf->id_range_max, .slice_size = conf->id_slice_size };
        r = store_tenant_create(s, arg_tenant, NULL, &range, &t);
        if (r < 0)
                return log_error_errno(r, "Failed to create tenant %s: %m", arg_tenant);
        r = make_owner(s, conf, t, password);
        if (r < 0)
                return r;
        t_owner = seconds_since(start);

        start = now_monotonic_usec();
        r = make_groups(s, t, group_ids);
        if (r < 0)
                return r;
        t_groups = seconds_since(start);

        start = now_monotonic_usec();
        r = make_users(s, conf, t, group_ids, &memberships);
        if (r < 0)
                return r;
        t_users = seconds_since(start);

        start = now_monotonic_usec();
        r = make_audit(s, t);
        if (r < 0)
                return r;
        r = store_commit(TAKE_PTR(txn));
        if (r < 0)
                return log_error_errno(r, "Failed to commit: %m");
        t_audit = seconds_since(start);

        j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f}}",
                      "tenant", t->slug,
                      "id_min", (json_int_t) t->id_min,
                      "first_uid", (json_int_t) (t->id_min + 1 + arg_groups),
                      "users", (json_int_t) arg_users,
                      "groups", (json_int_t) arg_groups,
                      "memberships", (json_int_t) memberships,
                      "audit_events", (json_int_t) arg_audit_events,
                      "seconds",
                      "owner", t_owner, "groups", t_groups, "users", t_users, "audit", t_audit);
        if (!j)
                return log_oom();
        json_dumpf(j, stdout, JSON_COMPACT | JSON_REAL_PRECISION(4));
        putchar('\n');
        json_decref(j);
        return 0;
}

int main(int argc, char **argv) {
        int r;

        log_setup("scale-seed", LOG_TARGET_CONSOLE);
        r = parse_argv(argc, argv);
        if (r < 0)
                return 2;
        r = run();
        return r < 0 ? 1 : 0;
}
