/* superblock.h: validation and choice of the superblock copies. */
#ifndef UDAX_SUPERBLOCK_H
#define UDAX_SUPERBLOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "format.h"

#define UDAX_JOURNAL_BLOCK 2
#define UDAX_MIN_POOL_BYTES (8ULL << 20)

void superblock_seal(struct udax_super *sb);
const char *superblock_problem(const struct udax_super *sb, uint64_t file_size);
/* Picks the primary copy if valid, else the backup; fails with errno and a message if neither is. */
int superblock_choose(const void *base, uint64_t file_size, struct udax_super *out, bool *primary_damaged);

#endif
