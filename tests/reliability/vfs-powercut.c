/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A SQLite VFS for the fault suite, loaded into tesserad with LD_PRELOAD:
 * it models a disk with a volatile write cache, so that killing the process
 * is a power cut, and it fails writes and syncs on demand.
 *
 * The idea is the one of SQLite's own crash tests (test6.c); the code is
 * ours. Writes to the database, its WAL and its rollback journal are not
 * written to the file at once: they stay in memory, in 512-byte sectors,
 * where reads of every connection of the process see them (as they would
 * see the page cache). Now and then a few of them are written through
 * early, as the kernel's writeback would. xSync writes all of a file's
 * sectors, so whatever SQLite synced is on "disk" (the real file) from
 * then on. A power cut is the process killed: what was only in memory is
 * gone. The shim can also cut the power itself, at a chosen operation:
 * then each pending sector is written, written in part (a torn write) or
 * dropped, at random, before the process kills itself with SIGKILL.
 *
 * The -shm file is passed through: it is shared memory, rebuilt from the
 * WAL by the first connection after a crash. Metadata (truncation,
 * deletion) takes effect at once; SQLite syncs what matters before it
 * truncates or deletes.
 *
 * Control, through the environment:
 *   TESSERA_VFS_CONTROL=PATH   a file of 4096 bytes the shim maps shared
 *                              (required: without it the shim does nothing)
 *   TESSERA_VFS_SEED=N         seed of the random choices (default: pid)
 *   TESSERA_VFS_FLUSH_PERCENT  chance that a write lets writeback flush a few
 *                              pending sectors early (default 10)
 *   TESSERA_VFS_REAL_SYNC=1    also fsync the real file on xSync (off: the
 *                              real file is the disk of the model, and the
 *                              test machine doesn't lose power)
 * and through the control file, little-endian 64-bit words at these
 * indexes (the test writes FAULTS and the CUT_AT words, the shim the rest):
 */
enum {
        CTL_MAGIC,            /* "TVFSCTL1", written by the test */
        CTL_FAULTS,           /* FAULT_* bits, read on every operation */
        CTL_CUT_AT,           /* cut the power once OPS reaches this; 0: never */
        CTL_OPS,              /* writes and syncs of tracked files so far */
        CTL_FAILED_WRITES,
        CTL_FAILED_SYNCS,
        CTL_SYNCS,
        CTL_EARLY_SECTORS,    /* sectors written through before their sync */
        CTL_CUT_WRITTEN,      /* at the cut: sectors that reached the disk */
        CTL_CUT_TORN,         /* ... that reached it in part */
        CTL_CUT_DROPPED,      /* ... that were lost */
        CTL_CUT,              /* 1 once the shim cut the power */
        CTL_WRITES,
        CTL_MAX_PENDING,      /* the most sectors pending at once */
        CTL_DB_WRITES,        /* writes to the main database file: in WAL mode, checkpoints */
        CTL_DB_SYNCS,
        CTL_CUT_AT_DB_WRITE,  /* cut the power once DB_WRITES reaches this: inside a checkpoint */
        _CTL_WORDS,
};

enum {
        FAULT_EIO_WRITE = 1 << 0,   /* xWrite fails with SQLITE_IOERR_WRITE */
        FAULT_EIO_SYNC = 1 << 1,    /* xSync fails with SQLITE_IOERR_FSYNC; the data stays pending */
        FAULT_FULL = 1 << 2,        /* a write that grows a file fails with SQLITE_FULL */
};

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SECTOR 512
#define CONTROL_SIZE 4096
#define MAX_SECTORS_PER_FLUSH 16

/* A pending sector: its index in the file and its bytes as the writes left
 * them. Kept in an open-addressing table per file. */
typedef struct Sector {
        int64_t index;             /* -1: free slot */
        uint8_t *data;
} Sector;

/* A file we model, shared by every handle of the process that opened it:
 * pending writes are the page cache, which every reader sees. */
typedef struct Inode {
        dev_t dev;
        ino_t ino;
        char *path;
        bool main_db;              /* the database itself, not its WAL or journal */
        int fd;                    /* our own descriptor, for reads and write-through */
        int64_t size;              /* the size the process sees */
        unsigned n_open;
        Sector *sectors;
        size_t n_sectors, capacity;
        struct Inode *next;
} Inode;

typedef struct PcFile {
        sqlite3_file base;
        Inode *inode;              /* NULL: passed through */
        sqlite3_file *real;        /* the wrapped VFS's file, right after this struct */
} PcFile;

static sqlite3_vfs *real_vfs;
static sqlite3_vfs pc_vfs;
static volatile uint64_t *control;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Inode *inodes;
static uint64_t rng_state;
static unsigned flush_percent = 10;
static bool real_sync;
static size_t n_pending;

/* -- helpers --------------------------------------------------------------- */

static uint64_t ctl_get(int i) {
        return __atomic_load_n(&control[i], __ATOMIC_ACQUIRE);
}

static void ctl_add(int i, uint64_t n) {
        __atomic_fetch_add(&control[i], n, __ATOMIC_RELAXED);
}

static void ctl_set(int i, uint64_t v) {
        __atomic_store_n(&control[i], v, __ATOMIC_RELEASE);
}

/* xorshift64*: reproducible from the seed, under the lock. */
static uint64_t rnd(void) {
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static unsigned rnd_below(unsigned n) {
        return n ? (unsigned) (rnd() % n) : 0;
}

static ssize_t pread_full(int fd, uint8_t *buf, size_t n, int64_t off) {
        size_t done = 0;

        while (done < n) {
                ssize_t k = pread(fd, buf + done, n - done, off + (int64_t) done);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                done += (size_t) k;
        }
        return (ssize_t) done;
}

static int pwrite_full(int fd, const uint8_t *buf, size_t n, int64_t off) {
        while (n > 0) {
                ssize_t k = pwrite(fd, buf, n, off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                buf += k;
                n -= (size_t) k;
                off += k;
        }
        return 0;
}

/* -- the pending sectors of a file -------------------------------------------- */

static size_t slot_of(const Inode *in, int64_t index) {
        uint64_t h = (uint64_t) index * UINT64_C(0x9e3779b97f4a7c15);
        return (size_t) (h >> 20) & (in->capacity - 1);
}

static Sector *sector_find(Inode *in, int64_t index) {
        if (in->capacity == 0)
                return NULL;
        for (size_t i = slot_of(in, index);; i = (i + 1) & (in->capacity - 1)) {
                if (in->sectors[i].index == index)
                        return &in->sectors[i];
                if (in->sectors[i].index < 0)
                        return NULL;
        }
}

static void table_put(Sector *table, size_t capacity, Inode *in, Sector s) {
        size_t i = slot_of(in, s.index);

        while (table[i].index >= 0)
                i = (i + 1) & (capacity - 1);
        table[i] = s;
}

static int table_resize(Inode *in, size_t capacity) {
        Sector *old = in->sectors, *t;
        size_t old_capacity = in->capacity;

        t = malloc(capacity * sizeof(Sector));
        if (!t)
                return -ENOMEM;
        for (size_t i = 0; i < capacity; i++)
                t[i].index = -1;
        in->sectors = t;
        in->capacity = capacity;
        for (size_t i = 0; i < old_capacity; i++)
                if (old[i].index >= 0)
                        table_put(t, capacity, in, old[i]);
        free(old);
        return 0;
}

/* Drops the slots whose data was cleared (written or discarded), by
 * building the table again: simpler than deleting in place. */
static void table_compact(Inode *in) {
        size_t n = 0;

        for (size_t i = 0; i < in->capacity; i++) {
                if (in->sectors[i].index >= 0 && !in->sectors[i].data)
                        in->sectors[i].index = -1;
                else if (in->sectors[i].index >= 0)
                        n++;
        }
        n_pending -= in->n_sectors - n;
        in->n_sectors = n;
        (void) table_resize(in, in->capacity);
}

/* The sector as the process sees it now, made pending. */
static Sector *sector_get(Inode *in, int64_t index) {
        Sector *s = sector_find(in, index);
        uint8_t *data;
        ssize_t k;

        if (s)
                return s;
        if ((in->n_sectors + 1) * 2 > in->capacity && table_resize(in, in->capacity ? in->capacity * 2 : 64) < 0)
                return NULL;
        data = calloc(1, SECTOR);
        if (!data)
                return NULL;
        k = pread_full(in->fd, data, SECTOR, index * SECTOR);
        if (k < 0) {
                free(data);
                return NULL;
        }
        table_put(in->sectors, in->capacity, in, (Sector) { .index = index, .data = data });
        in->n_sectors++;
        n_pending++;
        if (n_pending > ctl_get(CTL_MAX_PENDING))
                ctl_set(CTL_MAX_PENDING, n_pending);
        return sector_find(in, index);
}

/* Writes the first n bytes of a pending sector to the real file, never past
 * the size the process sees (the last sector is partly beyond it). */
static int sector_write(Inode *in, const Sector *s, size_t n) {
        int64_t off = s->index * SECTOR;

        if (off >= in->size)
                return 0;
        if ((int64_t) n > in->size - off)
                n = (size_t) (in->size - off);
        return pwrite_full(in->fd, s->data, n, off);
}

static int inode_flush(Inode *in) {
        int r = 0;

        for (size_t i = 0; i < in->capacity; i++) {
                Sector *s = &in->sectors[i];
                if (s->index < 0)
                        continue;
                if (r >= 0)
                        r = sector_write(in, s, SECTOR);
                if (r < 0)
                        break;
                free(s->data);
                s->data = NULL;
        }
        table_compact(in);
        return r;
}

/* Writeback: a few pending sectors of the file reach the disk before any
 * sync asks for them, in no particular order. */
static void inode_flush_some(Inode *in) {
        unsigned want = 1 + rnd_below(MAX_SECTORS_PER_FLUSH), done = 0;
        size_t start;

        if (in->n_sectors == 0)
                return;
        start = rnd_below((unsigned) in->capacity);
        for (size_t k = 0; k < in->capacity && done < want; k++) {
                Sector *s = &in->sectors[(start + k) & (in->capacity - 1)];
                if (s->index < 0 || !s->data)
                        continue;
                if (sector_write(in, s, SECTOR) < 0)
                        break;
                free(s->data);
                s->data = NULL;
                done++;
        }
        ctl_add(CTL_EARLY_SECTORS, done);
        table_compact(in);
}

static void inode_discard(Inode *in) {
        for (size_t i = 0; i < in->capacity; i++)
                if (in->sectors[i].index >= 0) {
                        free(in->sectors[i].data);
                        in->sectors[i].data = NULL;
                }
        table_compact(in);
}

static Inode *inode_by_id(dev_t dev, ino_t ino) {
        for (Inode *in = inodes; in; in = in->next)
                if (in->dev == dev && in->ino == ino)
                        return in;
        return NULL;
}

static Inode *inode_by_path(const char *path) {
        struct stat st;

        if (!path || stat(path, &st) < 0)
                return NULL;
        return inode_by_id(st.st_dev, st.st_ino);
}

static void inode_release(Inode *in) {
        Inode **p;

        /* Pending data outlives the handles, as the page cache does. */
        if (in->n_open > 0 || in->n_sectors > 0)
                return;
        for (p = &inodes; *p && *p != in; p = &(*p)->next)
                ;
        if (*p)
                *p = in->next;
        close(in->fd);
        free(in->sectors);
        free(in->path);
        free(in);
}

static Inode *inode_open(const char *path, bool main_db) {
        struct stat st;
        Inode *in;
        int fd;

        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                fd = open(path, O_RDONLY | O_CLOEXEC);   /* a read-only connection */
        if (fd < 0)
                return NULL;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return NULL;
        }
        in = inode_by_id(st.st_dev, st.st_ino);
        if (in) {
                close(fd);
                in->n_open++;
                in->main_db |= main_db;
                return in;
        }
        in = calloc(1, sizeof(Inode));
        if (!in || !(in->path = strdup(path))) {
                free(in);
                close(fd);
                return NULL;
        }
        in->dev = st.st_dev;
        in->ino = st.st_ino;
        in->main_db = main_db;
        in->fd = fd;
        in->size = st.st_size;
        in->n_open = 1;
        in->next = inodes;
        inodes = in;
        return in;
}

/* -- the power cut -------------------------------------------------------------- */

/* Each pending sector reaches the disk whole, in part or not at all, in no
 * particular order; then the machine is off. Called with the lock held. */
static _Noreturn void power_cut(void) {
        uint64_t written = 0, torn = 0, dropped = 0;

        for (Inode *in = inodes; in; in = in->next)
                for (size_t i = 0; i < in->capacity; i++) {
                        Sector *s = &in->sectors[i];
                        unsigned dice = rnd_below(100);

                        if (s->index < 0)
                                continue;
                        if (dice < 45) {
                                (void) sector_write(in, s, SECTOR);
                                written++;
                        } else if (dice < 55) {
                                (void) sector_write(in, s, 1 + rnd_below(SECTOR - 1));
                                torn++;
                        } else
                                dropped++;
                }
        ctl_set(CTL_CUT_WRITTEN, written);
        ctl_set(CTL_CUT_TORN, torn);
        ctl_set(CTL_CUT_DROPPED, dropped);
        ctl_set(CTL_CUT, 1);
        (void) msync((void *) control, CONTROL_SIZE, MS_SYNC);
        for (;;)
                (void) kill(getpid(), SIGKILL);
}

/* Counts a write or sync and cuts the power when the test asked for it
 * here. Called with the lock held, after the operation took effect in
 * memory: the cut then decides what of it reached the disk. */
static void count_op(const Inode *in, bool write) {
        uint64_t ops = __atomic_add_fetch(&control[CTL_OPS], 1, __ATOMIC_ACQ_REL), cut_at = ctl_get(CTL_CUT_AT);

        if (cut_at > 0 && ops >= cut_at)
                power_cut();
        if (!in->main_db)
                return;
        if (!write) {
                ctl_add(CTL_DB_SYNCS, 1);
                return;
        }
        ops = __atomic_add_fetch(&control[CTL_DB_WRITES], 1, __ATOMIC_ACQ_REL);
        cut_at = ctl_get(CTL_CUT_AT_DB_WRITE);
        if (cut_at > 0 && ops >= cut_at)
                power_cut();
}

/* -- I/O methods ------------------------------------------------------------------- */

static int pc_close(sqlite3_file *f) {
        PcFile *p = (PcFile *) f;
        int rc = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;

        if (p->inode) {
                pthread_mutex_lock(&lock);
                p->inode->n_open--;
                inode_release(p->inode);
                pthread_mutex_unlock(&lock);
                p->inode = NULL;
        }
        return rc;
}

static int pc_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off) {
        PcFile *p = (PcFile *) f;
        Inode *in = p->inode;
        uint8_t *out = buf;
        int64_t visible;
        ssize_t k;
        int rc = SQLITE_OK;

        if (!in)
                return p->real->pMethods->xRead(p->real, buf, amt, off);

        pthread_mutex_lock(&lock);
        memset(out, 0, (size_t) amt);
        visible = in->size - off;
        if (visible < amt)
                rc = SQLITE_IOERR_SHORT_READ;   /* the rest stays zero, as SQLite wants */
        if (visible > 0) {
                size_t n = (size_t) (visible < amt ? visible : amt);

                k = pread_full(in->fd, out, n, off);
                if (k < 0)
                        rc = SQLITE_IOERR_READ;
                for (int64_t idx = off / SECTOR; rc != SQLITE_IOERR_READ && idx * SECTOR < off + (int64_t) n; idx++) {
                        Sector *s = sector_find(in, idx);
                        int64_t from, to;

                        if (!s)
                                continue;
                        from = idx * SECTOR > off ? idx * SECTOR : off;
                        to = (idx + 1) * SECTOR < off + (int64_t) n ? (idx + 1) * SECTOR : off + (int64_t) n;
                        memcpy(out + (from - off), s->data + (from - idx * SECTOR), (size_t) (to - from));
                }
        }
        pthread_mutex_unlock(&lock);
        return rc;
}

static int pc_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off) {
        PcFile *p = (PcFile *) f;
        Inode *in = p->inode;
        uint64_t faults;
        const uint8_t *src = buf;
        int rc = SQLITE_OK;

        if (!in)
                return p->real->pMethods->xWrite(p->real, buf, amt, off);

        faults = ctl_get(CTL_FAULTS);
        pthread_mutex_lock(&lock);
        if (faults & FAULT_EIO_WRITE) {
                ctl_add(CTL_FAILED_WRITES, 1);
                rc = SQLITE_IOERR_WRITE;
        } else if ((faults & FAULT_FULL) && off + amt > in->size) {
                ctl_add(CTL_FAILED_WRITES, 1);
                rc = SQLITE_FULL;
        }
        if (rc != SQLITE_OK) {
                pthread_mutex_unlock(&lock);
                return rc;
        }

        for (int64_t idx = off / SECTOR; idx * SECTOR < off + amt; idx++) {
                Sector *s = sector_get(in, idx);
                int64_t from, to;

                if (!s) {
                        rc = SQLITE_IOERR_NOMEM;
                        break;
                }
                from = idx * SECTOR > off ? idx * SECTOR : off;
                to = (idx + 1) * SECTOR < off + amt ? (idx + 1) * SECTOR : off + amt;
                memcpy(s->data + (from - idx * SECTOR), src + (from - off), (size_t) (to - from));
        }
        if (rc == SQLITE_OK) {
                if (off + amt > in->size)
                        in->size = off + amt;
                ctl_add(CTL_WRITES, 1);
                if (rnd_below(100) < flush_percent)
                        inode_flush_some(in);
                count_op(in, true);
        }
        pthread_mutex_unlock(&lock);
        return rc;
}

static int pc_truncate(sqlite3_file *f, sqlite3_int64 size) {
        PcFile *p = (PcFile *) f;
        Inode *in = p->inode;
        int rc = SQLITE_OK;

        if (!in)
                return p->real->pMethods->xTruncate(p->real, size);

        pthread_mutex_lock(&lock);
        for (size_t i = 0; i < in->capacity; i++) {
                Sector *s = &in->sectors[i];
                if (s->index >= 0 && s->index * SECTOR >= size) {
                        free(s->data);
                        s->data = NULL;
                }
        }
        table_compact(in);
        if (ftruncate(in->fd, size) < 0)
                rc = SQLITE_IOERR_TRUNCATE;
        else
                in->size = size;
        pthread_mutex_unlock(&lock);
        return rc;
}

static int pc_sync(sqlite3_file *f, int flags) {
        PcFile *p = (PcFile *) f;
        Inode *in = p->inode;
        uint64_t faults;
        int rc = SQLITE_OK;

        if (!in)
                return p->real->pMethods->xSync(p->real, flags);

        faults = ctl_get(CTL_FAULTS);
        pthread_mutex_lock(&lock);
        count_op(in, false);
        if (faults & FAULT_EIO_SYNC) {
                /* The data stays pending: a later sync may still write it,
                 * a power cut before that loses it. */
                ctl_add(CTL_FAILED_SYNCS, 1);
                rc = SQLITE_IOERR_FSYNC;
        } else if (inode_flush(in) < 0)
                rc = SQLITE_IOERR_FSYNC;
        else
                ctl_add(CTL_SYNCS, 1);
        pthread_mutex_unlock(&lock);
        if (rc == SQLITE_OK && real_sync)
                rc = p->real->pMethods->xSync(p->real, flags);
        return rc;
}

static int pc_file_size(sqlite3_file *f, sqlite3_int64 *ret) {
        PcFile *p = (PcFile *) f;

        if (!p->inode)
                return p->real->pMethods->xFileSize(p->real, ret);
        pthread_mutex_lock(&lock);
        *ret = p->inode->size;
        pthread_mutex_unlock(&lock);
        return SQLITE_OK;
}

static int pc_lock(sqlite3_file *f, int level) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xLock(p->real, level);
}

static int pc_unlock(sqlite3_file *f, int level) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xUnlock(p->real, level);
}

static int pc_check_reserved_lock(sqlite3_file *f, int *ret) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xCheckReservedLock(p->real, ret);
}

static int pc_file_control(sqlite3_file *f, int op, void *arg) {
        PcFile *p = (PcFile *) f;

        /* A size hint would let the real VFS extend the real file behind
         * our back; nothing else needs it. */
        if (p->inode && op == SQLITE_FCNTL_SIZE_HINT)
                return SQLITE_OK;
        if (op == SQLITE_FCNTL_VFSNAME) {
                *(char **) arg = sqlite3_mprintf("powercut");
                return SQLITE_OK;
        }
        return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int pc_sector_size(sqlite3_file *f) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xSectorSize(p->real);
}

static int pc_device_characteristics(sqlite3_file *f) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int pc_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **ret) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xShmMap(p->real, region, size, extend, ret);
}

static int pc_shm_lock(sqlite3_file *f, int offset, int n, int flags) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void pc_shm_barrier(sqlite3_file *f) {
        PcFile *p = (PcFile *) f;
        p->real->pMethods->xShmBarrier(p->real);
}

static int pc_shm_unmap(sqlite3_file *f, int delete_flag) {
        PcFile *p = (PcFile *) f;
        return p->real->pMethods->xShmUnmap(p->real, delete_flag);
}

/* Memory-mapped reads would bypass the pending sectors: refuse them, and
 * SQLite reads through xRead. */
static int pc_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **ret) {
        PcFile *p = (PcFile *) f;

        if (p->inode) {
                *ret = NULL;
                return SQLITE_OK;
        }
        return p->real->pMethods->xFetch(p->real, off, amt, ret);
}

static int pc_unfetch(sqlite3_file *f, sqlite3_int64 off, void *page) {
        PcFile *p = (PcFile *) f;

        if (p->inode)
                return SQLITE_OK;
        return p->real->pMethods->xUnfetch(p->real, off, page);
}

static const sqlite3_io_methods pc_io_methods = {
        .iVersion = 3,
        .xClose = pc_close,
        .xRead = pc_read,
        .xWrite = pc_write,
        .xTruncate = pc_truncate,
        .xSync = pc_sync,
        .xFileSize = pc_file_size,
        .xLock = pc_lock,
        .xUnlock = pc_unlock,
        .xCheckReservedLock = pc_check_reserved_lock,
        .xFileControl = pc_file_control,
        .xSectorSize = pc_sector_size,
        .xDeviceCharacteristics = pc_device_characteristics,
        .xShmMap = pc_shm_map,
        .xShmLock = pc_shm_lock,
        .xShmBarrier = pc_shm_barrier,
        .xShmUnmap = pc_shm_unmap,
        .xFetch = pc_fetch,
        .xUnfetch = pc_unfetch,
};

/* -- VFS methods: the real VFS's, with its own pointer ------------------------------ */

static int pc_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *ret_flags) {
        PcFile *p = (PcFile *) f;
        int rc;

        memset(p, 0, sizeof(PcFile));
        p->real = (sqlite3_file *) (p + 1);
        rc = real_vfs->xOpen(real_vfs, name, p->real, flags, ret_flags);
        if (rc != SQLITE_OK) {
                p->base.pMethods = NULL;
                return rc;
        }
        p->base.pMethods = &pc_io_methods;
        if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL))) {
                pthread_mutex_lock(&lock);
                p->inode = inode_open(name, flags & SQLITE_OPEN_MAIN_DB);
                pthread_mutex_unlock(&lock);
                if (!p->inode) {
                        p->real->pMethods->xClose(p->real);
                        p->base.pMethods = NULL;
                        return SQLITE_CANTOPEN;
                }
        }
        return SQLITE_OK;
}

static int pc_delete(sqlite3_vfs *vfs, const char *name, int sync_dir) {
        Inode *in;

        pthread_mutex_lock(&lock);
        in = inode_by_path(name);
        if (in) {
                /* The file is gone: so is what was pending for it. */
                inode_discard(in);
                inode_release(in);
        }
        pthread_mutex_unlock(&lock);
        return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int pc_access(sqlite3_vfs *vfs, const char *name, int flags, int *ret) {
        int rc = real_vfs->xAccess(real_vfs, name, flags, ret);
        Inode *in;

        /* The real VFS calls a file of size 0 absent; one with pending
         * writes is not. */
        if (rc == SQLITE_OK && flags == SQLITE_ACCESS_EXISTS && !*ret) {
                pthread_mutex_lock(&lock);
                in = inode_by_path(name);
                if (in && in->size > 0)
                        *ret = 1;
                pthread_mutex_unlock(&lock);
        }
        return rc;
}

static int pc_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out) {
        return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *pc_dlopen(sqlite3_vfs *vfs, const char *name) {
        return real_vfs->xDlOpen(real_vfs, name);
}

static void pc_dlerror(sqlite3_vfs *vfs, int n, char *out) {
        real_vfs->xDlError(real_vfs, n, out);
}

static void (*pc_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void) {
        return real_vfs->xDlSym(real_vfs, h, sym);
}

static void pc_dlclose(sqlite3_vfs *vfs, void *h) {
        real_vfs->xDlClose(real_vfs, h);
}

static int pc_randomness(sqlite3_vfs *vfs, int n, char *out) {
        return real_vfs->xRandomness(real_vfs, n, out);
}

static int pc_sleep(sqlite3_vfs *vfs, int usec) {
        return real_vfs->xSleep(real_vfs, usec);
}

static int pc_current_time(sqlite3_vfs *vfs, double *ret) {
        return real_vfs->xCurrentTime(real_vfs, ret);
}

static int pc_get_last_error(sqlite3_vfs *vfs, int n, char *out) {
        return real_vfs->xGetLastError(real_vfs, n, out);
}

static int pc_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *ret) {
        return real_vfs->xCurrentTimeInt64(real_vfs, ret);
}

static unsigned env_unsigned(const char *name, unsigned fallback) {
        const char *v = secure_getenv(name);
        char *end;
        unsigned long n;

        if (!v || !*v)
                return fallback;
        errno = 0;
        n = strtoul(v, &end, 10);
        if (errno != 0 || *end != '\0' || n > UINT32_MAX)
                return fallback;
        return (unsigned) n;
}

__attribute__((constructor)) static void powercut_init(void) {
        const char *path = secure_getenv("TESSERA_VFS_CONTROL");
        void *m;
        int fd;

        if (!path || !*path)
                return;
        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "vfs-powercut: cannot open %s: %m\n", path);
                abort();
        }
        m = mmap(NULL, CONTROL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (m == MAP_FAILED) {
                fprintf(stderr, "vfs-powercut: cannot map %s: %m\n", path);
                abort();
        }
        control = m;
        if (memcmp((const void *) control, "TVFSCTL1", 8) != 0) {
                fprintf(stderr, "vfs-powercut: %s is not a control file\n", path);
                abort();
        }

        rng_state = env_unsigned("TESSERA_VFS_SEED", (unsigned) getpid()) * UINT64_C(0x9e3779b97f4a7c15) + 1;
        flush_percent = env_unsigned("TESSERA_VFS_FLUSH_PERCENT", 10);
        real_sync = env_unsigned("TESSERA_VFS_REAL_SYNC", 0) != 0;

        real_vfs = sqlite3_vfs_find(NULL);
        if (!real_vfs) {
                fprintf(stderr, "vfs-powercut: no default SQLite VFS\n");
                abort();
        }
        pc_vfs = (sqlite3_vfs) {
                .iVersion = 2,
                .szOsFile = (int) sizeof(PcFile) + real_vfs->szOsFile,
                .mxPathname = real_vfs->mxPathname,
                .zName = "powercut",
                .xOpen = pc_open,
                .xDelete = pc_delete,
                .xAccess = pc_access,
                .xFullPathname = pc_full_pathname,
                .xDlOpen = pc_dlopen,
                .xDlError = pc_dlerror,
                .xDlSym = pc_dlsym,
                .xDlClose = pc_dlclose,
                .xRandomness = pc_randomness,
                .xSleep = pc_sleep,
                .xCurrentTime = pc_current_time,
                .xGetLastError = pc_get_last_error,
                .xCurrentTimeInt64 = pc_current_time_int64,
        };
        if (sqlite3_vfs_register(&pc_vfs, 1) != SQLITE_OK) {
                fprintf(stderr, "vfs-powercut: cannot register the VFS\n");
                abort();
        }
}
