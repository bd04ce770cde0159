/* hooks.c: the installed hook of the named hook points. */
#include "hooks.h"

hook_fn hooks_installed;

void hooks_install(hook_fn fn)
{
    __atomic_store_n(&hooks_installed, fn, __ATOMIC_RELEASE);
}
