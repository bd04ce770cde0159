/* cred_api.c: the credentials calls act with: one per pool handle, and one a thread may set for its own calls. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "handle.h"
#include "udax.h"
#include "util/error.h"

/* A credential that is never changed once published; replaced ones stay until the pool closes, as calls may still read them. */
struct stored_cred {
    struct cred cred;
    struct stored_cred *retired;
    uint32_t groups[];
};

/* The calling thread's override: for one pool at a time, as a server acting for many users sets it per request. */
static __thread struct udax_pool *thread_pool;
static __thread struct cred thread_cred;
static __thread uint32_t *thread_groups;
static pthread_key_t thread_groups_key;

static void free_thread_groups(void *groups)
{
    free(groups);
}

/* At load, as util/presence.c does and for its reason: after many pool opens no key would be left. */
__attribute__((constructor)) static void make_thread_groups_key(void)
{
    if (pthread_key_create(&thread_groups_key, free_thread_groups) != 0)
        abort();
}

static int check_cred(const struct udax_cred *cred, const char *call)
{
    if (cred->uid == (uid_t)-1 || cred->gid == (gid_t)-1)
        return udax_fail(EINVAL, "%s: uid and gid -1 name nobody", call);
    if (cred->umask & ~(mode_t)0777)
        return udax_fail(EINVAL, "%s: umask %#o has bits beyond 0777", call, (unsigned)cred->umask);
    if (cred->group_count > UDAX_MAX_GROUPS)
        return udax_fail(EINVAL, "%s: %zu groups, more than %d", call, cred->group_count, UDAX_MAX_GROUPS);
    if (cred->group_count && !cred->groups)
        return udax_fail(EFAULT, "%s: no group list", call);
    return 0;
}

static struct stored_cred *store(const struct udax_cred *cred)
{
    struct stored_cred *stored = malloc(sizeof(*stored) + cred->group_count * sizeof(uint32_t));
    if (!stored)
        return NULL;
    for (size_t i = 0; i < cred->group_count; i++)
        stored->groups[i] = cred->groups[i];
    stored->cred = (struct cred){.uid = cred->uid, .gid = cred->gid, .umask = cred->umask,
                                 .group_count = (uint32_t)cred->group_count, .groups = stored->groups};
    stored->retired = NULL;
    return stored;
}

/* The process's umask, without the race of setting it to read it back. */
static mode_t process_umask(void)
{
    mode_t mask = 022;
    FILE *status = fopen("/proc/self/status", "re");
    if (!status)
        return mask;
    char line[256];
    unsigned value;
    while (fgets(line, sizeof(line), status))
        if (sscanf(line, "Umask: %o", &value) == 1) {
            mask = value & 0777;
            break;
        }
    fclose(status);
    return mask;
}

int api_cred_init(struct udax_pool *pool)
{
    gid_t groups[UDAX_MAX_GROUPS];
    int count = getgroups(UDAX_MAX_GROUPS, groups);
    struct udax_cred process = {.uid = geteuid(), .gid = getegid(), .umask = process_umask(),
                                .group_count = count > 0 ? (size_t)count : 0, .groups = groups};
    pool->cred = store(&process);
    mutex_init(&pool->cred_lock, LOCK_LEAF);
    return pool->cred ? 0 : ENOMEM;
}

void api_cred_destroy(struct udax_pool *pool)
{
    for (struct stored_cred *c = pool->cred, *next; c; c = next) {
        next = c->retired;
        free(c);
    }
    mutex_destroy(&pool->cred_lock);
    if (thread_pool == pool)
        thread_pool = NULL;
}

const struct cred *api_cred(struct udax_pool *pool)
{
    if (thread_pool == pool)
        return &thread_cred;
    return &__atomic_load_n(&pool->cred, __ATOMIC_ACQUIRE)->cred;
}

int udax_set_cred(struct udax_pool *pool, const struct udax_cred *cred)
{
    if (!pool || !cred)
        return udax_fail(EFAULT, "set_cred: null argument");
    if (check_cred(cred, "set_cred"))
        return -1;
    struct stored_cred *stored = store(cred);
    if (!stored)
        return udax_fail(ENOMEM, "set_cred: out of memory");
    mutex_lock(&pool->cred_lock, 0);
    stored->retired = pool->cred;
    __atomic_store_n(&pool->cred, stored, __ATOMIC_RELEASE);
    mutex_unlock(&pool->cred_lock);
    return 0;
}

int udax_set_thread_cred(struct udax_pool *pool, const struct udax_cred *cred)
{
    if (!pool)
        return udax_fail(EFAULT, "set_thread_cred: no pool");
    if (!cred) {
        if (thread_pool == pool)
            thread_pool = NULL;
        return 0;
    }
    if (check_cred(cred, "set_thread_cred"))
        return -1;
    uint32_t *groups = malloc((cred->group_count ? cred->group_count : 1) * sizeof(*groups));
    if (!groups)
        return udax_fail(ENOMEM, "set_thread_cred: out of memory");
    for (size_t i = 0; i < cred->group_count; i++)
        groups[i] = cred->groups[i];
    free(thread_groups);
    thread_groups = groups;
    pthread_setspecific(thread_groups_key, groups);
    thread_cred = (struct cred){.uid = cred->uid, .gid = cred->gid, .umask = cred->umask,
                                .group_count = (uint32_t)cred->group_count, .groups = groups};
    thread_pool = pool;
    return 0;
}
