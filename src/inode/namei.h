/* namei.h: path walk and the namespace operations that change directories. */
#ifndef UDAX_NAMEI_H
#define UDAX_NAMEI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "inode.h"

struct last_name {
    const char *name;
    size_t len;       /* 0 for the root itself */
    bool trailing_slash;
};

/* Resolves path from start (NULL: the root); *out is referenced. 0 or an errno. */
int namei_lookup(struct fs *fs, struct inode *start, const char *path, struct inode **out);
/* Resolves every component but the last; *parent is referenced. 0 or an errno. */
int namei_parent(struct fs *fs, struct inode *start, const char *path, struct inode **parent, struct last_name *last);

/* Opens or creates; *out is referenced. 0 or an errno. */
int namei_open(struct fs *fs, struct inode *start, const char *path, int flags, mode_t mode, struct inode **out);
int namei_mkdir(struct fs *fs, struct inode *start, const char *path, mode_t mode);
int namei_rmdir(struct fs *fs, struct inode *start, const char *path);
int namei_unlink(struct fs *fs, struct inode *start, const char *path);
int namei_rename(struct fs *fs, struct inode *start, const char *from, const char *to);

#endif
