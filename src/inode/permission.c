/* permission.c: POSIX permission checks of a credential against an inode's attributes, Linux's rules for root. */
#include "permission.h"

#include <errno.h>
#include <sys/stat.h>

bool cred_in_group(const struct cred *cred, uint32_t gid)
{
    if (cred->gid == gid)
        return true;
    for (uint32_t i = 0; i < cred->group_count; i++)
        if (cred->groups[i] == gid)
            return true;
    return false;
}

bool cred_owns(const struct cred *cred, const struct udax_attr *attr)
{
    return cred_is_root(cred) || cred->uid == attr->uid;
}

int permission_check(const struct cred *cred, const struct udax_attr *attr, int may)
{
    if (cred_is_root(cred)) {
        /* Even root executes only what some class may execute; searching a directory is always allowed. */
        bool exec_denied = (may & MAY_EXEC) && !S_ISDIR(attr->mode) && !(attr->mode & (S_IXUSR | S_IXGRP | S_IXOTH));
        return exec_denied ? EACCES : 0;
    }
    uint32_t granted;
    if (cred->uid == attr->uid)
        granted = attr->mode >> 6;
    else if (cred_in_group(cred, attr->gid))
        granted = attr->mode >> 3;
    else
        granted = attr->mode;
    return ((int)granted & may) == may ? 0 : EACCES;
}

bool sticky_forbids(const struct cred *cred, const struct udax_attr *dir, const struct udax_attr *victim)
{
    return (dir->mode & S_ISVTX) && !cred_is_root(cred) && cred->uid != victim->uid && cred->uid != dir->uid;
}

bool sgid_dropped(const struct cred *cred, const struct udax_attr *attr)
{
    if (!(attr->mode & S_ISGID))
        return false;
    return (attr->mode & S_IXGRP) || !(cred_is_root(cred) || cred_in_group(cred, attr->gid));
}

uint32_t mode_after_write(const struct cred *cred, const struct udax_attr *attr)
{
    uint32_t mode = attr->mode;
    if (cred_is_root(cred))
        return mode;
    mode &= ~(uint32_t)S_ISUID;
    if (sgid_dropped(cred, attr))
        mode &= ~(uint32_t)S_ISGID;
    return mode;
}
