/* permission.h: who asks (a credential) and the POSIX permission checks of the namespace and of attribute changes. */
#ifndef UDAX_PERMISSION_H
#define UDAX_PERMISSION_H

#include <stdbool.h>
#include <stdint.h>

#include "pool/format.h"

struct cred {
    uint32_t uid;
    uint32_t gid;
    uint32_t umask;
    uint32_t group_count;
    const uint32_t *groups; /* supplementary groups */
};

#define MAY_EXEC 1
#define MAY_WRITE 2
#define MAY_READ 4

/* Root bypasses the permission checks, as a process with every capability does on Linux. */
static inline bool cred_is_root(const struct cred *cred)
{
    return cred->uid == 0;
}

bool cred_in_group(const struct cred *cred, uint32_t gid);
/* Owner or root: who may change an inode's mode, times and (as far as POSIX lets them) owner. */
bool cred_owns(const struct cred *cred, const struct udax_attr *attr);
/* Whether cred may do may (MAY_READ | MAY_WRITE | MAY_EXEC) to an inode with attr: 0 or EACCES. */
int permission_check(const struct cred *cred, const struct udax_attr *attr, int may);
/* In a sticky directory only the owner of an entry, the directory's owner or root may remove or replace it. */
bool sticky_forbids(const struct cred *cred, const struct udax_attr *dir, const struct udax_attr *victim);
/*
 * Whether a change of contents or owner by cred takes S_ISGID away, as Linux's
 * setattr_should_drop_sgid: with group execute it means set-group-ID execution
 * and always goes; without (a locking mark) it goes unless cred is in the group.
 */
bool sgid_dropped(const struct cred *cred, const struct udax_attr *attr);
/* The mode bits a write or truncate by cred leaves: without set-user-ID, and without set-group-ID as sgid_dropped says. */
uint32_t mode_after_write(const struct cred *cred, const struct udax_attr *attr);

#endif
