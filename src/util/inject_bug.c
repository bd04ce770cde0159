/* inject_bug.c: the switch UDAX_INJECT_BUG of a bug-injection build, read once when the library loads. */
#include "util/inject_bug.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int injected_bug;

/* Indexed by the BUG_ numbers of inject_bug.h. */
static const char *const bug_names[BUG_COUNT] = {
    [BUG_S1] = "S1",
    [BUG_S2] = "S2",
    [BUG_S3] = "S3",
    [BUG_S4] = "S4",
    [BUG_S5] = "S5",
    [BUG_S6] = "S6",
    [BUG_CRASH_FENCE] = "crash-fence",
    [BUG_CRASH_FLUSH] = "crash-flush",
    [BUG_FAULT_LEAK] = "fault-leak",
    [BUG_SALVAGE_COMMIT] = "salvage-commit",
    [BUG_SALVAGE_ORDER] = "salvage-order",
    [BUG_SALVAGE_TAIL] = "salvage-tail",
    [BUG_LOCKLESS_UNCHECKED] = "lockless-unchecked",
    [BUG_LOCKLESS_UNWAITED] = "lockless-unwaited",
    [BUG_APPEND_POSITION] = "append-position",
};

/* A name that is not a bug stops the process: a test run that meant to put one back must not pass without it. */
__attribute__((constructor)) static void read_switch(void)
{
    const char *name = getenv("UDAX_INJECT_BUG");
    if (!name || !*name)
        return;
    for (int bug = 1; bug < BUG_COUNT; bug++)
        if (!strcmp(name, bug_names[bug])) {
            injected_bug = bug;
            return;
        }
    fprintf(stderr, "udax: UDAX_INJECT_BUG=%s names no bug; src/util/inject_bug.h lists them\n", name);
    exit(2);
}
