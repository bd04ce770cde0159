/* workload.h: the operations that crash and fault tests run on a small tree, and canonical listings of trees. */
#ifndef UDAX_TEST_WORKLOAD_H
#define UDAX_TEST_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "udax.h"

#define WORKLOAD_POOL_SIZE (8ULL << 20)

enum op_kind {
    OP_CREATE, OP_MKDIR, OP_APPEND, OP_OVERWRITE, OP_WRITE_PAST_END, OP_TRUNCATE, OP_FALLOCATE, OP_FALLOCATE_KEEP,
    OP_PUNCH, OP_UNLINK, OP_RMDIR, OP_RENAME, OP_FSYNC_AFTER_WRITE, OP_CREATE_TRUNC, OP_SETXATTR, OP_REMOVEXATTR,
    OP_SYMLINK, OP_LINK, OP_EXCHANGE, OP_NOREPLACE, OP_CHMOD, OP_CHOWN, OP_UTIMENS, OP_MKFIFO, OP_UNLINK_OPEN,
};

/* offset and length: the range of writes; chmod's mode; chown's uid and gid; utimens's atime and mtime in ns. */
struct op {
    enum op_kind kind;
    const char *path;
    const char *other; /* rename's and link's new name, symlink's target, the extended attribute's name */
    uint64_t offset;
    uint64_t length;   /* bytes written; the attribute value's */
    const char *name;
};

extern const struct op single_ops[];
extern const size_t single_op_count;

/* While set, listings leave out the hash of this file, whose bytes a fast-mode crash may mix. */
extern const char *relaxed_path;
/* While set, listings show times: only trees of one run compare so, and not those fsck --repair adds lost+found to. */
extern bool list_times;

/* Operations that write bytes in place in fast mode, where docs/guarantees.md promises no atomicity. */
bool in_place_in_fast_mode(const struct op *op);
/* Runs one operation; 0 or -1 with errno. */
int run_op(struct udax_pool *pool, const struct op *op);
/* A canonical listing: each path's type, mode, owner, links, times (list_times), a file's size and hash, a symlink's target, its extended attributes. */
char *snapshot(struct udax_pool *pool);
/* The bytes of path, or NULL. */
char *contents(struct udax_pool *pool, const char *path, size_t *size);
/* Formats path with A/foo, A/bar, B/foo, B/bar and the directories A, B, C; A/foo and B have an attribute. */
void make_template(const char *path, enum udax_data_mode mode);
/* Adds to the template what the namespace operations start from: B/hard, a second name of A/bar, and B/sym -> ../A/foo. */
void add_links(const char *path);
void copy_file(const char *from, const char *to);
/* An fsck report callback that prints each problem to stderr. */
void print_fsck_problem(void *arg, const char *problem);

#endif
