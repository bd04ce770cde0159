/* bench_exit.h: how a benchmark on the udax API gives up, with udax's reason, and the removal of the tmpfs tree it made. */
#ifndef UDAX_BENCH_EXIT_H
#define UDAX_BENCH_EXIT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udax.h"

static inline void die(const char *what)
{
    fprintf(stderr, "%s: %s: %s (%s)\n", program_invocation_short_name, what, udax_last_error(), strerror(errno));
    exit(1);
}

/* For atexit handlers: a tree the run made in /dev/shm, if it got as far as naming one. */
static inline void remove_tree(const char *dir)
{
    char command[200];
    snprintf(command, sizeof(command), "rm -rf '%s'", dir);
    if (dir[0] && system(command) != 0)
        fprintf(stderr, "%s: could not remove %s\n", program_invocation_short_name, dir);
}

#endif
