/* superblock.c: validating, choosing and writing the two superblock copies. */
#include "superblock.h"

#include <errno.h>
#include <string.h>

#include "util/checksum.h"
#include "util/error.h"

void superblock_seal(struct udax_super *sb)
{
    sb->checksum = checksum64(sb, offsetof(struct udax_super, checksum));
}

/* Returns NULL when sb is a consistent superblock for a file of file_size bytes, else why not. */
const char *superblock_problem(const struct udax_super *sb, uint64_t file_size)
{
    if (sb->magic != UDAX_MAGIC)
        return "no udax magic";
    if (sb->checksum != checksum64(sb, offsetof(struct udax_super, checksum)))
        return "checksum mismatch";
    if (sb->version != UDAX_FORMAT_VERSION)
        return "unsupported format version";
    if (sb->block_size != UDAX_BLOCK_SIZE)
        return "unsupported block size";
    if (sb->pool_size < UDAX_MIN_POOL_BYTES || sb->block_count != sb->pool_size >> UDAX_BLOCK_SHIFT)
        return "inconsistent pool size";
    if (sb->pool_size > file_size)
        return "pool is truncated";
    uint64_t table_bytes = sb->inode_count * sizeof(struct udax_inode_rec);
    if (sb->inode_count < 2 || sb->inode_table_blocks != (table_bytes + UDAX_BLOCK_SIZE - 1) >> UDAX_BLOCK_SHIFT)
        return "inconsistent inode table";
    if (sb->journal_block != UDAX_JOURNAL_BLOCK || sb->journal_slots == 0 || sb->journal_slots > 1024 ||
        sb->inode_table_block != sb->journal_block + sb->journal_slots ||
        sb->data_block < sb->inode_table_block + sb->inode_table_blocks || sb->data_block >= sb->block_count)
        return "inconsistent geometry";
    if (sb->data_mode > 1)
        return "unknown data mode";
    if (sb->root_ino != UDAX_ROOT_INO)
        return "bad root inode number";
    return NULL;
}

int superblock_choose(const void *base, uint64_t file_size, struct udax_super *out, bool *primary_damaged)
{
    const struct udax_super *primary = base;
    const struct udax_super *backup =
        (const void *)((const char *)base + UDAX_SUPER_BACKUP_BLOCK * UDAX_BLOCK_SIZE);
    const char *primary_problem = superblock_problem(primary, file_size);
    if (!primary_problem) {
        *out = *primary;
        *primary_damaged = false;
        return 0;
    }
    const char *backup_problem = file_size >= 2 * UDAX_BLOCK_SIZE ? superblock_problem(backup, file_size) : "absent";
    if (!backup_problem) {
        *out = *backup;
        *primary_damaged = true;
        return 0;
    }
    if (primary->magic != UDAX_MAGIC && (file_size < 2 * UDAX_BLOCK_SIZE || backup->magic != UDAX_MAGIC))
        return udax_fail(EINVAL, "not a udax pool (no superblock magic)");
    if (!strcmp(primary_problem, "pool is truncated") || !strcmp(primary_problem, "unsupported format version"))
        return udax_fail(primary_problem[0] == 'p' ? EUCLEAN : EINVAL, "superblock: %s", primary_problem);
    return udax_fail(EUCLEAN, "both superblocks are damaged: primary %s, backup %s", primary_problem,
                     backup_problem);
}
