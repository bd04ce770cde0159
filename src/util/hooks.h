/* hooks.h: named hook points where a scenario test can park a thread at a chosen instant. */
#ifndef UDAX_HOOKS_H
#define UDAX_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Called at every hook point with the point's name and the object and key it
 * concerns (a mapping and an entry key, an inode and an offset). The test
 * harness installs one; production code has none, and a hook point then costs
 * one load and a not-taken branch.
 */
typedef void (*hook_fn)(const char *point, const void *object, uint64_t key);

void hooks_install(hook_fn fn);

extern hook_fn hooks_installed;

static inline bool hooks_present(void)
{
    return __atomic_load_n(&hooks_installed, __ATOMIC_RELAXED) != NULL;
}

static inline void hook_point(const char *point, const void *object, uint64_t key)
{
    hook_fn fn = __atomic_load_n(&hooks_installed, __ATOMIC_ACQUIRE);
    if (__builtin_expect(fn != NULL, 0))
        fn(point, object, key);
}

#endif
