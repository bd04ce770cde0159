/* attr_change.c: chmod, chown, utimens, access and the set-ID and atime rules, as Linux applies them. */
#include "attr_change.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Under ILOCK: logs attr as the inode's new attributes. */
static int commit_attr(struct fs *fs, struct inode *inode, const struct udax_attr *attr)
{
    struct log_txn txn;
    log_txn_begin(&txn, &inode->log);
    int rc = inode_commit_attr(fs, inode, &txn, attr);
    if (!rc)
        inode_maybe_compact(fs, inode);
    return rc;
}

int inode_chmod(struct fs *fs, const struct cred *cred, struct inode *inode, uint32_t mode)
{
    inode_lock(inode);
    struct udax_attr attr = inode->attr;
    int rc = cred_owns(cred, &attr) ? 0 : EPERM;
    if (!rc) {
        attr.mode = (attr.mode & S_IFMT) | (mode & 07777);
        if (!cred_is_root(cred) && !cred_in_group(cred, attr.gid))
            attr.mode &= ~(uint32_t)S_ISGID;
        attr.ctime_ns = inode_change_time(fs, &inode, 1);
        rc = commit_attr(fs, inode, &attr);
    }
    inode_unlock(inode);
    return rc;
}

int inode_chown(struct fs *fs, const struct cred *cred, struct inode *inode, uint32_t uid, uint32_t gid)
{
    inode_lock(inode);
    struct udax_attr attr = inode->attr;
    bool owner = cred->uid == attr.uid;
    int rc = 0;
    if (uid != (uint32_t)-1 && !cred_is_root(cred) && !(owner && uid == attr.uid))
        rc = EPERM;
    if (gid != (uint32_t)-1 && !cred_is_root(cred) && !(owner && (gid == attr.gid || cred_in_group(cred, gid))))
        rc = EPERM;
    if (!rc) {
        if (uid != (uint32_t)-1)
            attr.uid = uid;
        if (gid != (uint32_t)-1)
            attr.gid = gid;
        /* As Linux does, for root too: a new owner must not inherit the right to run as the old one. */
        if (!S_ISDIR(attr.mode)) {
            attr.mode &= ~(uint32_t)S_ISUID;
            if (sgid_dropped(cred, &inode->attr))
                attr.mode &= ~(uint32_t)S_ISGID;
        }
        /* Clearing those bits is a mode change, which only the owner may make: chown(-1, -1) by another is EPERM. */
        if (attr.mode != inode->attr.mode && !cred_owns(cred, &inode->attr))
            rc = EPERM;
    }
    if (!rc) {
        attr.ctime_ns = inode_change_time(fs, &inode, 1);
        rc = commit_attr(fs, inode, &attr);
    }
    inode_unlock(inode);
    return rc;
}

static bool valid_time(const struct timespec *t)
{
    return t->tv_nsec == UTIME_NOW || t->tv_nsec == UTIME_OMIT || (t->tv_nsec >= 0 && t->tv_nsec < NS_PER_SEC);
}

static int64_t time_ns(const struct timespec *t, int64_t now)
{
    return t->tv_nsec == UTIME_NOW ? now : ns_of_timespec(*t);
}

int inode_utimens(struct fs *fs, const struct cred *cred, struct inode *inode, const struct timespec times[2])
{
    static const struct timespec both_now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
    if (!times)
        times = both_now;
    if (!valid_time(&times[0]) || !valid_time(&times[1]))
        return EINVAL;
    if (times[0].tv_nsec == UTIME_OMIT && times[1].tv_nsec == UTIME_OMIT)
        return 0;
    bool both_now_asked = times[0].tv_nsec == UTIME_NOW && times[1].tv_nsec == UTIME_NOW;
    inode_lock(inode);
    struct udax_attr attr = inode->attr;
    int rc = 0;
    /* Both times to now needs only write permission; anything else, UTIME_OMIT too, ownership (Linux's ATTR_TIMES_SET). */
    if (!cred_owns(cred, &attr))
        rc = both_now_asked ? permission_check(cred, &attr, MAY_WRITE) : EPERM;
    if (!rc) {
        int64_t now = inode_change_time(fs, &inode, 1);
        if (times[0].tv_nsec != UTIME_OMIT)
            attr.atime_ns = time_ns(&times[0], now);
        if (times[1].tv_nsec != UTIME_OMIT)
            attr.mtime_ns = time_ns(&times[1], now);
        attr.ctime_ns = now;
        rc = commit_attr(fs, inode, &attr);
    }
    inode_unlock(inode);
    return rc;
}

int inode_access(const struct cred *cred, struct inode *inode, int mode)
{
    if (mode & ~(R_OK | W_OK | X_OK))
        return EINVAL;
    static_assert(R_OK == MAY_READ && W_OK == MAY_WRITE && X_OK == MAY_EXEC, "access bits are permission bits");
    return mode ? inode_permission(cred, inode, mode) : 0;
}

int inode_drop_setid(struct fs *fs, const struct cred *cred, struct inode *inode)
{
    if (!__atomic_load_n(&inode->setid, __ATOMIC_RELAXED) || cred_is_root(cred))
        return 0;
    inode_lock(inode);
    struct udax_attr attr = inode->attr;
    attr.mode = mode_after_write(cred, &inode->attr);
    int rc = 0;
    if (attr.mode != inode->attr.mode) {
        attr.ctime_ns = inode_change_time(fs, &inode, 1);
        rc = commit_attr(fs, inode, &attr);
    }
    inode_unlock(inode);
    return rc;
}

void inode_touch_atime(struct fs *fs, struct inode *inode)
{
    int64_t now = now_ns();
    inode_lock(inode);
    if (inode_atime_due(inode, now)) {
        struct udax_attr attr = inode->attr;
        attr.atime_ns = now;
        commit_attr(fs, inode, &attr);
    }
    inode_unlock(inode);
}
