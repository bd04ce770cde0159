/* xattr.c: getting, setting, listing and removing extended attributes, with Linux's namespace rules. */
#include "xattr.h"

#include <errno.h>
#include <linux/limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

enum xattr_namespace { NS_USER, NS_TRUSTED, NS_SECURITY };

/* system.* (POSIX ACLs on Linux) is not among them: udax does not enforce ACLs, so it does not store them either. */
static const struct {
    const char *prefix;
    size_t len;
    enum xattr_namespace ns;
} namespaces[] = {
    {"user.", 5, NS_USER},
    {"trusted.", 8, NS_TRUSTED},
    {"security.", 9, NS_SECURITY},
};

/* 0 with *ns set; EOPNOTSUPP for a namespace udax does not keep, EINVAL for a bare prefix (as Linux says). */
static int name_namespace(const char *name, size_t len, enum xattr_namespace *ns)
{
    for (size_t i = 0; i < sizeof(namespaces) / sizeof(namespaces[0]); i++) {
        if (len < namespaces[i].len || memcmp(name, namespaces[i].prefix, namespaces[i].len))
            continue;
        if (len == namespaces[i].len)
            return EINVAL;
        *ns = namespaces[i].ns;
        return 0;
    }
    return EOPNOTSUPP;
}

/* Only files and directories carry user attributes: on others their permission bits mean something else. */
static bool takes_user_xattrs(const struct inode *inode)
{
    return inode_is_regular(inode) || inode_is_dir(inode);
}

bool xattr_name_valid(const struct inode *inode, const char *name, size_t len)
{
    enum xattr_namespace ns;
    return !memchr(name, '\0', len) && !name_namespace(name, len, &ns) && (ns != NS_USER || takes_user_xattrs(inode));
}

/* Under ILOCK: Linux's xattr_permission, with root standing for CAP_SYS_ADMIN. may is MAY_READ or MAY_WRITE. */
static int xattr_permission(const struct cred *cred, const struct inode *inode, enum xattr_namespace ns, int may)
{
    bool write = may & MAY_WRITE;
    switch (ns) {
    case NS_TRUSTED:
        return cred_is_root(cred) ? 0 : write ? EPERM : ENODATA;
    case NS_SECURITY:
        return !write || cred_is_root(cred) ? 0 : EPERM;
    case NS_USER:
        break;
    }
    if (!takes_user_xattrs(inode))
        return write ? EPERM : ENODATA;
    /* As for removing names there: a sticky directory's own attributes are its owner's. */
    if (write && inode_is_dir(inode) && (inode->attr.mode & S_ISVTX) && !cred_owns(cred, &inode->attr))
        return EPERM;
    return permission_check(cred, &inode->attr, may);
}

/* The namespace of name, and a copy of it in key: the caller's memory is not read under ILOCK (R10). */
static int take_name(const char *name, size_t len, enum xattr_namespace *ns, char key[UDAX_NAME_MAX])
{
    int rc = name_namespace(name, len, ns);
    if (!rc)
        memcpy(key, name, len);
    return rc;
}

int inode_getxattr(const struct cred *cred, struct inode *inode, const char *name, size_t len, void *copy,
                   size_t *value_len)
{
    enum xattr_namespace ns;
    char key[UDAX_NAME_MAX];
    int rc = take_name(name, len, &ns, key);
    if (rc)
        return rc;
    inode_lock(inode);
    rc = xattr_permission(cred, inode, ns, MAY_READ);
    const struct xattr *x = rc ? NULL : xattr_index_find(&inode->xattrs, key, len);
    if (!rc && !x)
        rc = ENODATA;
    if (!rc) {
        *value_len = x->value_len;
        if (copy)
            memcpy(copy, xattr_value(x), x->value_len);
    }
    inode_unlock(inode);
    return rc;
}

/*
 * Under ILOCK: logs the change and a new ctime in one commit, then applies
 * it to DRAM. item is the XATTR_SET's new attribute, taken over on success;
 * NULL for an XATTR_DEL of name.
 */
static int commit_xattr(struct fs *fs, struct inode *inode, const char *name, size_t len, struct xattr *item)
{
    struct udax_attr attr = inode->attr;
    attr.ctime_ns = inode_change_time(fs, &inode, 1);
    struct log_txn txn;
    log_txn_begin(&txn, &inode->log);
    int rc = item ? inode_log_xattr(fs, &txn, UDAX_ENTRY_XATTR_SET, name, len, xattr_value(item), item->value_len)
                  : inode_log_xattr(fs, &txn, UDAX_ENTRY_XATTR_DEL, name, len, NULL, 0);
    if (rc) {
        log_abort(&fs->env, &txn);
        return rc;
    }
    rc = inode_commit_attr(fs, inode, &txn, &attr);
    if (rc)
        return rc;
    if (item)
        xattr_index_put(&inode->xattrs, item);
    else
        xattr_index_remove(&inode->xattrs, name, len);
    inode_maybe_compact(fs, inode);
    return 0;
}

int inode_setxattr(struct fs *fs, const struct cred *cred, struct inode *inode, const char *name, size_t len,
                   const void *value, size_t size, int flags)
{
    enum xattr_namespace ns;
    char key[UDAX_NAME_MAX];
    int rc = take_name(name, len, &ns, key);
    if (rc)
        return rc;
    /* Copied now, outside ILOCK. One that cannot fit a log page is refused only after the checks Linux makes first. */
    bool fits = len + size <= UDAX_XATTR_DATA_MAX;
    struct xattr *item = fits ? xattr_new(key, len, value, size) : NULL;
    if (fits && !item)
        return ENOMEM;
    inode_lock(inode);
    rc = xattr_permission(cred, inode, ns, MAY_WRITE);
    const struct xattr *old = rc ? NULL : xattr_index_find(&inode->xattrs, key, len);
    if (!rc && old && (flags & XATTR_CREATE))
        rc = EEXIST;
    else if (!rc && !old && (flags & XATTR_REPLACE))
        rc = ENODATA;
    else if (!rc && (!item || (!old && inode->xattrs.list_bytes + len + 1 > XATTR_LIST_MAX)))
        rc = ENOSPC;
    if (!rc)
        rc = xattr_index_reserve(&inode->xattrs);
    if (!rc)
        rc = commit_xattr(fs, inode, key, len, item);
    inode_unlock(inode);
    if (rc)
        free(item);
    return rc;
}

int inode_removexattr(struct fs *fs, const struct cred *cred, struct inode *inode, const char *name, size_t len)
{
    enum xattr_namespace ns;
    char key[UDAX_NAME_MAX];
    int rc = take_name(name, len, &ns, key);
    if (rc)
        return rc;
    inode_lock(inode);
    rc = xattr_permission(cred, inode, ns, MAY_WRITE);
    if (!rc && !xattr_index_find(&inode->xattrs, key, len))
        rc = ENODATA;
    if (!rc)
        rc = commit_xattr(fs, inode, key, len, NULL);
    inode_unlock(inode);
    return rc;
}

int inode_listxattr(const struct cred *cred, struct inode *inode, char **list, size_t *list_len)
{
    inode_lock(inode);
    const struct xattr_index *index = &inode->xattrs;
    char *out = malloc(index->list_bytes + 1);
    size_t used = 0;
    for (size_t i = 0; out && i < index->count; i++) {
        const struct xattr *x = index->items[i];
        enum xattr_namespace ns = NS_USER;
        name_namespace(x->data, x->name_len, &ns);
        if (ns == NS_TRUSTED && !cred_is_root(cred))
            continue;
        memcpy(out + used, x->data, x->name_len);
        used += x->name_len;
        out[used++] = '\0';
    }
    inode_unlock(inode);
    if (!out)
        return ENOMEM;
    *list = out;
    *list_len = used;
    return 0;
}
