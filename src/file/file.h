/* file.h: the file layer: read, write, truncate, fallocate and seeking over a file's blocks. */
#ifndef UDAX_FILE_H
#define UDAX_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "inode/inode.h"

/* Each returns bytes moved or -errno. A read moves atime as relatime says, unless noatime. */
ssize_t file_read(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset,
                  bool noatime);
/*
 * A read that takes no lock (docs/locking.md, "Lockless reads and
 * overwrites"): planned inside a read-side section (util/rcu.h), copied
 * outside it, and kept only if file_lockless_unchanged says so inside
 * another.
 */
struct lockless_read {
    uint32_t io_seq;
    uint32_t layout_seq;
    const void *source; /* count bytes of the pool to copy */
    size_t count;       /* 0 at or past the end of the file */
    bool noatime;
};

/* Plans a read that one extent holds; false: the caller reads with file_read. */
bool file_read_lockless_plan(struct fs *fs, struct inode *inode, size_t count, uint64_t offset, bool noatime,
                             struct lockless_read *read);
/*
 * After the copy: whether it stands, the inode unchanged and no atime due
 * (the locked path moves it). The atime check waits until here so that the
 * copy starts sooner: the instructions before a copy delay its loads, those
 * after it run beside them.
 */
bool file_read_lockless_stands(const struct inode *inode, const struct lockless_read *read);
/*
 * Whether no writer moved the sequence counts that read saw: what a lockless
 * read copied is what it planned to copy, and a lockless overwrite's plan,
 * which keeps its counts in a lockless_read too, still holds.
 */
bool file_lockless_unchanged(const struct inode *inode, const struct lockless_read *read);
/*
 * A fast-mode overwrite that takes no lock: this thread announces itself as
 * a writer of the inode (util/presence.h), which writers that move blocks
 * and inode_free wait for, then checks that the bytes lie in one extent
 * within the size and that the times need no stamp. Planned inside a
 * read-side section; then either copied, outside it, or cancelled.
 */
struct lockless_write {
    void *target;
};

bool file_write_lockless_plan(struct fs *fs, struct inode *inode, size_t count, uint64_t offset,
                              struct lockless_write *write);
void file_write_lockless_copy(struct fs *fs, const struct lockless_write *write, const void *buf, size_t count);
void file_write_lockless_cancel(void);
/*
 * With append, writes at the end of the file. *end receives the offset after
 * the last byte written, stored atomically before IOLOCK is released, so that
 * it may be a description's position (docs/locking.md); an append of nothing
 * leaves it as it is.
 */
ssize_t file_write(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset,
                   bool append, uint64_t *end);
/* Each returns 0 or an errno. */
int file_truncate(struct fs *fs, struct inode *inode, uint64_t size);
int file_fallocate(struct fs *fs, struct inode *inode, int mode, uint64_t offset, uint64_t len);
int file_sync(struct fs *fs, struct inode *inode);
/* What iomap_begin found: a run of pages mapped to consecutive blocks, or a hole. */
struct iomap {
    uint64_t page;
    uint64_t count;
    uint64_t block;
    bool mapped;
};

#define IOMAP_ALLOCATE 0x1 /* a write fault: give a hole zeroed blocks */

/*
 * The one interface through which the DAX layer asks for blocks: the run
 * that starts at page, at most count pages. With IOMAP_ALLOCATE a hole gets
 * count new blocks, 2 MiB-aligned when count is 2 MiB, committed to the log
 * before the call returns; the file's size does not change. Takes ILOCK only.
 * 0; ENXIO at or past the end of the file; EAGAIN when a 2 MiB run cannot be
 * had, or would reach past the end of the file (the caller falls back to
 * 4 KiB); ENOSPC; ENOMEM.
 */
int file_iomap_begin(struct fs *fs, struct inode *inode, uint64_t page, uint64_t count, unsigned flags,
                     struct iomap *map);

/* Under IOLOCK shared: SEEK_DATA or SEEK_HOLE from offset; the result, or -errno. */
int64_t file_seek_data(struct fs *fs, struct inode *inode, uint64_t offset, int whence);

#endif
