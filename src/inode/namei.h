/* namei.h: path walks (symlinks, permissions) and the namespace operations that change directories. */
#ifndef UDAX_NAMEI_H
#define UDAX_NAMEI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "inode.h"
#include "permission.h"

/* Most symlinks one walk follows before it fails with ELOOP, as on Linux. */
#define NAMEI_MAX_SYMLINKS 40
/* Most names one inode may have, as on ext4. */
#define NAMEI_LINK_MAX 65000

/* Lookup flags. */
#define LOOKUP_FOLLOW 0x1 /* a symlink in the last component is followed */
#define LOOKUP_EMPTY 0x2  /* an empty path names start itself (AT_EMPTY_PATH) */

/*
 * Every call resolves path from start, or from the root when start is NULL
 * or path is absolute, with cred's permissions; each returns 0 or an errno.
 */

/* *out is referenced. */
int namei_lookup(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, unsigned flags,
                 struct inode **out);
/* Opens or creates, with open(2)'s flags (O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_PATH, the access mode); *out is referenced. */
int namei_open(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, int flags, mode_t mode,
               struct inode **out);
/*
 * The checks open makes of an inode that exists once it has it, in Linux's
 * order: O_CREAT|O_EXCL (EEXIST), O_CREAT on a directory (EISDIR),
 * O_DIRECTORY (ENOTDIR), then the type and permissions the access mode,
 * O_TRUNC and O_PATH ask for. For an open by descriptor too, which has no walk.
 */
int namei_open_existing(const struct cred *cred, struct inode *inode, int flags);
int namei_mkdir(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, mode_t mode);
/* Regular files, FIFOs, sockets, and (root only) character and block devices. */
int namei_mknod(struct fs *fs, const struct cred *cred, struct inode *start, const char *path, mode_t mode, dev_t dev);
int namei_symlink(struct fs *fs, const struct cred *cred, const char *target, struct inode *start, const char *path);
int namei_link(struct fs *fs, const struct cred *cred, struct inode *old_start, const char *old_path, unsigned old_flags,
               struct inode *new_start, const char *new_path);
int namei_rmdir(struct fs *fs, const struct cred *cred, struct inode *start, const char *path);
int namei_unlink(struct fs *fs, const struct cred *cred, struct inode *start, const char *path);
/* flags: RENAME_NOREPLACE or RENAME_EXCHANGE. */
int namei_rename(struct fs *fs, const struct cred *cred, struct inode *from_start, const char *from,
                 struct inode *to_start, const char *to, unsigned flags);

#endif
