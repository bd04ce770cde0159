/* inode.h: the DRAM inode cache and the file-system state shared by the inode, dir and namei code. */
#ifndef UDAX_INODE_H
#define UDAX_INODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "alloc/alloc.h"
#include "dir_index.h"
#include "extent_index.h"
#include "log/journal.h"
#include "log/log.h"
#include "permission.h"
#include "pool/pool.h"
#include "util/fence.h"
#include "util/inject_bug.h"
#include "util/locks.h"
#include "util/presence.h"
#include "util/seqcount.h"
#include "xattr_index.h"

struct dax_mapping;
struct fs;

struct inode {
    uint64_t ino;
    struct rwlock iolock;    /* directories: guards the name index; files: I/O against layout changes */
    struct rwlock faultlock; /* taken by the DAX layer */
    struct mutex ilock;      /* attr, log and the indexes below */
    /*
     * Odd while a thread holds IOLOCK exclusive (io_seq) or ILOCK
     * (layout_seq): a lockless reader that saw both even before it looked and
     * the same after its copy read what no writer touched meanwhile
     * (docs/locking.md, "Lockless reads and overwrites"). Atomic.
     */
    uint32_t io_seq;
    uint32_t layout_seq;
    bool written_lockless; /* a lockless overwrite may have announced itself since the last wait for them; atomic */
    struct udax_attr attr;
    struct log log;
    struct extent_index extents; /* regular files */
    struct dir_index names;      /* directories */
    struct xattr_index xattrs;   /* extended attributes */
    struct dax_mapping *mapping; /* DAX entries, created by the first fault; set atomically, read under ILOCK */
    uint32_t refs;               /* open files and walkers, and INODE_UNNAMED; atomic */
    /*
     * A removed directory: the directory it was removed from, referenced
     * until this one is freed, so that ".." in it still finds that directory,
     * as on Linux, and no other inode takes its number meanwhile. Nothing may
     * be added to a removed directory. Set under both ILOCKs.
     */
    struct inode *removed_from;
    bool record_cleared;         /* freed on media by the commit that took its last name: inode_free stores nothing */
    uint32_t type;               /* S_IFMT of the mode, set before the inode is reachable; read without locks */
    bool setid;                  /* the mode has bits a write by a non-root caller may clear; atomic */
    bool times_unlogged;         /* in-place overwrites, or reads, changed times since the last entry; set under ILOCK, atomic */
    bool times_queried;          /* stat read the times since the last change stamped them (inode_change_time) */
};

/* ILOCK; every holder may change what a lockless reader reads, so each one moves layout_seq. */
static inline void inode_lock(struct inode *inode)
{
    mutex_lock(&inode->ilock, inode->ino);
    seq_write_begin(&inode->layout_seq);
}

static inline void inode_unlock(struct inode *inode)
{
    seq_write_end(&inode->layout_seq);
    mutex_unlock(&inode->ilock);
}

/*
 * Lockless overwrites announce the inode they write into, then check io_seq
 * and their descriptor: after the caller made either change, this waits for
 * those that checked before it. Whether it had to wait.
 */
static inline bool inode_wait_lockless_writers(struct inode *inode)
{
    fence_full();
    if (!__atomic_load_n(&inode->written_lockless, __ATOMIC_RELAXED) || BUG_INJECTED(BUG_LOCKLESS_UNWAITED))
        return false;
    presence_wait(inode);
    return true;
}

/* IOLOCK exclusive around a change of a file's bytes or size; it moves io_seq for lockless readers. */
static inline void inode_io_lock_exclusive(struct inode *inode)
{
    rwlock_write(&inode->iolock, inode->ino);
    seq_write_begin(&inode->io_seq);
    /*
     * The flag goes down with the wait, so that a file overwritten once and
     * appended to ever after pays for one membarrier, not one per append. An
     * overwrite that still reads it up read io_seq before this holder's
     * release of IOLOCK, so it sees io_seq move and backs off
     * (file_write_lockless_plan).
     */
    if (inode_wait_lockless_writers(inode))
        __atomic_store_n(&inode->written_lockless, false, __ATOMIC_RELAXED);
}

static inline void inode_io_unlock_exclusive(struct inode *inode)
{
    seq_write_end(&inode->io_seq);
    rwlock_unlock(&inode->iolock);
}

/* A problem that recovery or fsck found; repairable ones can be fixed in place. */
struct fs_check {
    void (*report)(void *arg, const char *problem);
    void *arg;
    bool repair;        /* salvage damaged logs, not only report what salvage would do */
    uint8_t *salvaged;  /* logs salvage cut back, new tail not yet stored; fs_open allocates, the caller frees */
    uint64_t problems;
    uint64_t unrepairable;
    uint64_t inodes_checked;
    uint64_t blocks_checked;
};

/*
 * What the file layer asks of the DAX layer above it: an interface, so that
 * the lower layer never calls the higher one by name (DESIGN.md section 2).
 * Each takes the inode; the DAX layer installs its table when a pool opens.
 */
struct mapping_ops {
    /* New blocks replaced [first, first+count), or filled holes there: drops the entries over the old ones. */
    void (*invalidate)(struct inode *inode, uint64_t first, uint64_t count);
    /* Truncate and punch hole, under IOLOCK exclusive: returns holding FAULTLOCK exclusive, no entry left. */
    void (*break_layouts)(struct inode *inode, uint64_t first, uint64_t count);
    void (*end_break)(struct inode *inode);
    /* fsync: makes the stores through mappings durable. */
    void (*writeback)(struct fs *fs, struct inode *inode);
    void (*release)(struct inode *inode);
};

struct fs {
    struct pool pool;
    const struct mapping_ops *mapping_ops; /* NULL until the DAX layer installs its table */
    /* The window layer's: takes down the ranges that map entry key of inode object; NULL without a window. */
    void (*unmap_entry)(void *ctx, void *object, uint64_t key);
    void *unmap_ctx;
    struct allocator alloc;
    struct journal journal;
    struct log_env env;
    struct inode **inodes; /* indexed by inode number */
    uint64_t *free_inodes;       /* bit i set: number i has neither a record nor an object; atomic */
    uint64_t free_inodes_cursor; /* the word of free_inodes where the next claim starts looking; atomic */
    struct mutex rename_lock;
    uint64_t files;
    uint64_t directories;
    uint64_t log_pages;
    int64_t time_floor_ns; /* the latest fine-grained change time handed out; atomic */
};

/* Not attr.mode: updates rewrite attr whole under ILOCK, while this is asked without it. */
static inline bool inode_is_dir(const struct inode *inode)
{
    return inode->type == S_IFDIR;
}

static inline bool inode_is_symlink(const struct inode *inode)
{
    return inode->type == S_IFLNK;
}

static inline bool inode_is_regular(const struct inode *inode)
{
    return inode->type == S_IFREG;
}

/* The d_type of the inode's names. */
static inline uint8_t inode_dirent_type(const struct inode *inode)
{
    return (uint8_t)(inode->type >> 12);
}

/* Takes ILOCK: whether cred may do may (MAY_READ | MAY_WRITE | MAY_EXEC) to inode; 0 or EACCES. */
int inode_permission(const struct cred *cred, struct inode *inode, int may);

/* Copies up to size bytes of a symlink's target (fixed at its creation) into buf; returns its whole length. */
size_t inode_symlink_target(struct fs *fs, struct inode *inode, char *buf, size_t size);

/* Installs the first attributes of an inode nobody else can reach yet, with its file type. */
void inode_init_attr(struct inode *inode, const struct udax_attr *attr);
/*
 * Under ILOCK: ends txn with attr as the inode's new attributes, commits it
 * with one tail store and installs attr; on failure aborts txn, and nothing
 * changes. The caller compacts once it has applied the rest of txn.
 */
int inode_commit_attr(struct fs *fs, struct inode *inode, struct log_txn *txn, const struct udax_attr *attr);

/* Under ILOCK: installs attributes whose permission bits may have changed; the file type never does. */
void inode_set_mode_attr(struct inode *inode, const struct udax_attr *attr);

#define NS_PER_SEC 1000000000LL

static inline int64_t ns_of_timespec(struct timespec ts)
{
    return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static inline struct timespec timespec_of_ns(int64_t ns)
{
    return (struct timespec){ns / NS_PER_SEC, ns % NS_PER_SEC};
}

int64_t now_ns(void);
/* Cheaper and a few milliseconds behind: enough for relatime's day. */
int64_t now_coarse_ns(void);
/* Cheaper still, whole seconds: for the relatime check of a lockless read, which every read makes. */
static inline int64_t now_seconds_ns(void)
{
    return (int64_t)time(NULL) * NS_PER_SEC;
}

/*
 * Under the ILOCK of each of the count inodes: the time a change to them
 * stamps as mtime and ctime. Multigrain, as Linux since 6.13: the coarse
 * clock, unless stat read one of their times since their last change, so that
 * a change seen by stat before and after shows a later time; never earlier
 * than a fine-grained time handed out before, so that times keep the order of
 * the changes across files.
 */
int64_t inode_change_time(struct fs *fs, struct inode *const inodes[], size_t count);

/* Opens and recovers the pool. With check, problems are reported and counted; without, any refuses the open. */
int fs_open(struct fs *fs, const char *path, struct fs_check *check);
void fs_close(struct fs *fs);

/* A reference keeps the DRAM inode alive; the last one frees an inode with no links left. */
void inode_get(struct inode *inode);
void inode_put(struct fs *fs, struct inode *inode);
/* In refs, beside the count: the inode has lost its last name, and the put that drops the last reference frees it. */
#define INODE_UNNAMED (1u << 31)
/* Under ILOCK, by a holder of a reference, once the link count has fallen to 0. */
void inode_mark_unnamed(struct inode *inode);

/* The length of fs->free_inodes, in 64-bit words. */
uint64_t inode_free_number_words(const struct fs *fs);
/* At open, once every inode is loaded: marks the numbers that are free. */
void inode_mark_free_numbers(struct fs *fs);
/* A free inode number with a fresh, unlinked object installed; NULL with errno ENOSPC or ENOMEM. */
struct inode *inode_claim(struct fs *fs);
/* Gives back a claimed number whose creation did not commit, or a freed inode's. */
void inode_unclaim(struct fs *fs, struct inode *inode);
struct inode *inode_object_new(uint64_t ino);
void inode_object_free(struct inode *inode);

/* Appends an ATTR snapshot; 0 or ENOSPC. */
int inode_log_attr(struct fs *fs, struct log_txn *txn, const struct udax_attr *attr);
/* Under ILOCK, after a commit: rewrites a log that has grown well past its live state. */
void inode_maybe_compact(struct fs *fs, struct inode *inode);
/* Frees the DAX entries of an inode that nobody maps any more. */
void inode_release_mapping(struct fs *fs, struct inode *inode);
/* Frees an inode's log, blocks and number; the caller holds the last reference. */
void inode_free(struct fs *fs, struct inode *inode);
/* Returns released blocks to the allocator, as an extent_release_fn. */
void inode_release_blocks(void *fs, uint64_t block, uint64_t count);

/* Under ILOCK: the size stat reports, a block for a directory. Reads no time, so marks none as queried. */
uint64_t inode_stat_size(const struct inode *inode);

/* Under ILOCK; marks the times as queried. */
void inode_to_stat(const struct fs *fs, struct inode *inode, struct stat *st);

/* Appends a DENTRY_ADD or DENTRY_DEL that sets the directory's mtime and ctime to dir_time_ns (0: leaves them); 0 or ENOSPC. */
int inode_log_dentry(struct fs *fs, struct log_txn *txn, uint8_t type, const char *name, size_t len, uint64_t ino,
                     uint8_t file_type, int64_t dir_time_ns);
/* Appends an XATTR_SET (or an XATTR_DEL, with no value); name and value fit UDAX_XATTR_DATA_MAX. 0 or ENOSPC. */
int inode_log_xattr(struct fs *fs, struct log_txn *txn, uint8_t type, const char *name, size_t len, const void *value,
                    size_t value_len);
#endif
