/* udax_fuse.h: what the parts of the FUSE daemon share: the mount, its nodes, and the request helpers. */
#ifndef UDAX_FUSE_H
#define UDAX_FUSE_H

/* libfuse 3.12's API: the loop configuration of fuse_loop_cfg_create. */
#define FUSE_USE_VERSION 312
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>

#include "mount.h"
#include "udax.h"

/*
 * One inode the kernel knows: it holds an O_PATH descriptor of the pool, so
 * that the inode stays alive (an unlinked one as an orphan) until the kernel
 * forgets it, and every operation on it is an *at call with AT_EMPTY_PATH.
 */
struct node {
    int fd;
    ino_t ino;
    uint64_t lookups; /* the kernel's count of references; the node goes when it reaches 0 */
};

/* The nodes by inode number, so that every name of a hard-linked inode gives the kernel the same node. */
struct node_table {
    pthread_mutex_t lock;
    void *by_ino; /* JudyL: ino -> struct node * */
    struct node root;
};

/* An open directory: its stream, and the cookie after the last entry handed to the kernel. */
struct dir_handle {
    UDAX_DIR *stream;
    off_t next_offset;
    struct dir_handle *prev, *next;
};

struct mount {
    struct udax_pool *pool;
    struct node_table nodes;
    double attr_timeout;
    double entry_timeout;
    /* Directory streams still open, to close before the pool on an unmount that did not wait for them. */
    pthread_mutex_t dirs_lock;
    struct dir_handle dirs;
};

int node_table_init(struct node_table *table, struct udax_pool *pool);
/* Closes the descriptor of every node. */
void node_table_destroy(struct node_table *table, struct udax_pool *pool);
struct node *node_of(struct mount *mount, fuse_ino_t nodeid);
/*
 * Takes one kernel reference to the inode that the O_PATH descriptor fd names
 * (whose inode number is ino): its node, made when new; fd is the node's or
 * closed. Returns the node id, or 0 when out of memory (fd closed).
 */
fuse_ino_t node_table_take(struct mount *mount, int fd, ino_t ino);
void node_table_forget(struct mount *mount, fuse_ino_t nodeid, uint64_t count);

/*
 * The open flags that go on to the pool. The kernel keeps O_APPEND itself
 * (its offsets come from its own view of the size, kept by its page cache),
 * and adds bits of its own that open(2) never takes: its O_LARGEFILE, which
 * glibc spells 0 on 64-bit systems, and __FMODE_EXEC for an exec.
 */
#define POOL_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY | O_NOATIME | O_SYNC | O_DSYNC | O_DIRECT | O_NONBLOCK)

/* Makes the calling thread act for the caller of req; returns the mount. */
struct mount *begin_request(fuse_req_t req);
/*
 * The same without the caller's supplementary groups, which libfuse reads
 * from /proc at each request: for calls on an open file or an inode that
 * check no permission (read, release, fsync, lseek, getattr, statfs).
 */
struct mount *begin_request_without_groups(fuse_req_t req);
/* Replies with the errno of the udax call that failed. */
void reply_errno(fuse_req_t req);
/* Fills attr from the inode that the O_PATH descriptor fd names; 0 or -1 with errno. */
int stat_node_fd(struct mount *mount, int fd, struct stat *attr);
/*
 * Takes one kernel reference to the inode that the O_PATH descriptor fd names,
 * which it takes over, and fills attr: the node id, or 0 with errno (fd closed).
 */
fuse_ino_t take_node_of_fd(struct mount *mount, int fd, struct stat *attr);
/*
 * Replies to a lookup or a create of a name with the inode that the O_PATH
 * descriptor fd names, which it takes over; with fi, as a create, whose
 * descriptor fi->fh it closes when the reply fails.
 */
void reply_entry_of_fd(fuse_req_t req, struct mount *mount, int fd, struct fuse_file_info *fi);
/* Looks name up in the directory of parent and replies with its entry, or a negative entry when it is absent. */
void reply_entry_of_name(fuse_req_t req, struct mount *mount, fuse_ino_t parent, const char *name);

/* Messages go to stderr in the foreground, and to syslog once the daemon has detached. */
void mount_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mount_log_to_syslog(void);

/* Each part of the daemon fills its operations in. */
void entry_ops_fill(struct fuse_lowlevel_ops *ops);
void attr_ops_fill(struct fuse_lowlevel_ops *ops);
void file_ops_fill(struct fuse_lowlevel_ops *ops);
void dir_ops_fill(struct fuse_lowlevel_ops *ops);
/* Closes the streams of directories that are still open, before the pool. */
void dir_handles_close_all(struct mount *mount);

#endif
