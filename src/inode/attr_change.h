/* attr_change.h: the permission-checked changes of an inode's attributes: mode, owner, times, access checks. */
#ifndef UDAX_ATTR_CHANGE_H
#define UDAX_ATTR_CHANGE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "inode.h"

/* Each returns 0 or an errno, and logs one attribute snapshot when something changes. */
int inode_chmod(struct fs *fs, const struct cred *cred, struct inode *inode, uint32_t mode);
/* (uint32_t)-1 leaves the owner or the group as it is. */
int inode_chown(struct fs *fs, const struct cred *cred, struct inode *inode, uint32_t uid, uint32_t gid);
/* times as utimensat(2) takes them: NULL for now, UTIME_NOW and UTIME_OMIT in tv_nsec. */
int inode_utimens(struct fs *fs, const struct cred *cred, struct inode *inode, const struct timespec times[2]);
/* access(2)'s check: F_OK, or R_OK, W_OK and X_OK combined. */
int inode_access(const struct cred *cred, struct inode *inode, int mode);
/* Before a write or truncate by a non-root caller: clears set-user-ID, and set-group-ID on a group-executable file. */
int inode_drop_setid(struct fs *fs, const struct cred *cred, struct inode *inode);

#define RELATIME_PERIOD_NS (24LL * 3600 * NS_PER_SEC)

/* Under ILOCK, or in a lockless read that checks its inode after: relatime's rule, whether a read moves atime. */
static inline bool inode_atime_due(const struct inode *inode, int64_t now)
{
    const struct udax_attr *attr = &inode->attr;
    return attr->atime_ns <= attr->mtime_ns || attr->atime_ns <= attr->ctime_ns ||
           now - attr->atime_ns >= RELATIME_PERIOD_NS;
}
/* After a readdir: moves a directory's atime as relatime says, logged at once. */
void inode_touch_atime(struct fs *fs, struct inode *inode);

#endif
