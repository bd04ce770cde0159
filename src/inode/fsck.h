/* fsck.h: checking every invariant of a pool, and repairing what can be repaired without losing committed data. */
#ifndef UDAX_FSCK_H
#define UDAX_FSCK_H

#include <stdbool.h>

#include "udax.h"

int fs_fsck(const char *path, const struct udax_fsck_options *opts, struct udax_fsck_result *result);

#endif
