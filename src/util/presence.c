/* presence.c: the registry of announcement records, one per live thread, and the asymmetric fence of the wait. */
#include "presence.h"
#include "util/hooks.h"

#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct presence_record *presence_mine;
bool presence_announcer_fences;

/* Records are never freed: a waiter walks the list without a lock. A thread that exits leaves its record to the next. */
static struct presence_record *records;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;

static int membarrier(int command)
{
    return (int)syscall(__NR_membarrier, command, 0, 0);
}

static void register_membarrier(void)
{
    presence_announcer_fences = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0;
}

static void release_record(void *record)
{
    struct presence_record *mine = record;
    __atomic_store_n(&mine->object, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&mine->in_use, false, __ATOMIC_RELEASE);
}

static void lock_registry(void)
{
    pthread_mutex_lock(&registry_lock);
}

static void unlock_registry(void)
{
    pthread_mutex_unlock(&registry_lock);
}

/* Only the thread that forked lives on in the child, and it was writing into nothing. */
static void forget_other_threads(void)
{
    for (struct presence_record *r = records; r; r = r->next) {
        r->object = NULL;
        r->in_use = r == presence_mine;
    }
    register_membarrier();
    unlock_registry();
}

/*
 * At load, not at the first announcement: the process has only so many
 * thread-specific keys (1,024), and libpmem2 takes one for each map, so a
 * process that opens many pools may have none left later.
 */
__attribute__((constructor)) static void setup(void)
{
    register_membarrier();
    if (pthread_key_create(&exit_key, release_record) != 0)
        abort();
    pthread_atfork(lock_registry, unlock_registry, forget_other_threads);
}

struct presence_record *presence_register(void)
{
    lock_registry();
    struct presence_record *record = records;
    while (record && __atomic_load_n(&record->in_use, __ATOMIC_ACQUIRE))
        record = record->next;
    if (!record && (record = aligned_alloc(64, sizeof(*record)))) {
        *record = (struct presence_record){.next = records};
        __atomic_store_n(&records, record, __ATOMIC_RELEASE);
    }
    if (record) {
        __atomic_store_n(&record->in_use, true, __ATOMIC_RELAXED);
        if (pthread_setspecific(exit_key, record) != 0) {
            __atomic_store_n(&record->in_use, false, __ATOMIC_RELAXED);
            record = NULL;
        }
    }
    unlock_registry();
    presence_mine = record;
    return record;
}

void presence_wait(const void *object)
{
    /* A process registered for it cannot see the command fail; if it did, announcements could be missed. */
    if (!presence_announcer_fences && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
        abort();
    for (struct presence_record *r = __atomic_load_n(&records, __ATOMIC_ACQUIRE); r; r = r->next)
        while (__atomic_load_n(&r->object, __ATOMIC_ACQUIRE) == object) {
            hook_point("presence_wait", object, 0);
            sched_yield();
        }
}
