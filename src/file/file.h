/* file.h: the file layer: read, write, truncate, fallocate and seeking over a file's blocks. */
#ifndef UDAX_FILE_H
#define UDAX_FILE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "inode/inode.h"

/* Each returns bytes moved or -errno. */
ssize_t file_read(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset);
/* With append, writes at the end of the file; *end receives the offset after the last byte written. */
ssize_t file_write(struct fs *fs, struct inode *inode, const struct iovec *iov, int iovcnt, uint64_t offset,
                   bool append, uint64_t *end);
/* Each returns 0 or an errno. */
int file_truncate(struct fs *fs, struct inode *inode, uint64_t size);
int file_fallocate(struct fs *fs, struct inode *inode, int mode, uint64_t offset, uint64_t len);
int file_sync(struct fs *fs, struct inode *inode);
/* SEEK_DATA or SEEK_HOLE from offset; the result, or -errno. */
int64_t file_seek_data(struct fs *fs, struct inode *inode, uint64_t offset, int whence);

#endif
