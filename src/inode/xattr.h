/* xattr.h: extended attributes of an inode: namespaces, their permissions as Linux applies them, logged changes. */
#ifndef UDAX_XATTR_H
#define UDAX_XATTR_H

#include <stdbool.h>
#include <stddef.h>

#include "inode.h"

/* Whether a name read from a log could have been set on inode: a namespace udax keeps, a suffix, no NUL. */
bool xattr_name_valid(const struct inode *inode, const char *name, size_t len);

/*
 * Each takes a name of 1 to 255 bytes without its NUL and returns 0 or an
 * errno; none copies to or from name or value while it holds ILOCK, so both
 * may be application memory (DESIGN.md R10).
 */

/* The length of name's value in *value_len, and unless copy is NULL the value in copy (UDAX_XATTR_DATA_MAX bytes). */
int inode_getxattr(const struct cred *cred, struct inode *inode, const char *name, size_t len, void *copy,
                   size_t *value_len);
/*
 * flags: 0, XATTR_CREATE or XATTR_REPLACE (<sys/xattr.h>). Logs the value and
 * the new ctime in one commit. ENOSPC when name and value do not fit one log
 * entry, or a new name would make the list longer than XATTR_LIST_MAX.
 */
int inode_setxattr(struct fs *fs, const struct cred *cred, struct inode *inode, const char *name, size_t len,
                   const void *value, size_t size, int flags);
int inode_removexattr(struct fs *fs, const struct cred *cred, struct inode *inode, const char *name, size_t len);
/* The names cred may see, each followed by a NUL, in *list (the caller frees it); their bytes in *list_len. */
int inode_listxattr(const struct cred *cred, struct inode *inode, char **list, size_t *list_len);

#endif
