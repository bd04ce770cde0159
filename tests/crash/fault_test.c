/*
 * fault_test.c: fails the Nth block allocation of every operation, for every
 * N the operation reaches, and checks that the call fails cleanly with ENOSPC
 * (or succeeds another way), leaks nothing, and leaves a pool that passes
 * fsck and stays usable. Log pages come from the same allocator, so this
 * covers a log that cannot grow; the journal never fails (a writer waits for
 * a free slot), so it has no failure point to inject.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/handle.h"
#include "udax.h"
#include "workload.h"

static uint64_t free_blocks(struct udax_pool *pool)
{
    struct statvfs st;
    udax_statvfs(pool, &st);
    return st.f_bfree;
}

static bool still_usable(struct udax_pool *pool)
{
    char block[4096];
    memset(block, 'u', sizeof(block));
    int fd = udax_open(pool, "/probe", O_CREAT | O_RDWR, 0644);
    bool ok = fd >= 0 && udax_write(pool, fd, block, sizeof(block)) == sizeof(block);
    if (fd >= 0)
        udax_close(pool, fd);
    return ok && udax_unlink(pool, "/probe") == 0;
}

static uint64_t slots_left_in_page(struct udax_pool *pool, const char *path)
{
    struct stat st;
    udax_stat(pool, path, &st);
    uint64_t tail = pool->fs.inodes[st.st_ino]->log.tail;
    return (UDAX_BLOCK_SIZE - (tail & (UDAX_BLOCK_SIZE - 1))) % UDAX_BLOCK_SIZE / UDAX_SLOT_SIZE;
}

/*
 * A template whose logs have (almost) no room left in their last page, so
 * that the operations must allocate log pages and those allocations fail too.
 */
static void crowd_logs(const char *template)
{
    struct udax_pool *pool = udax_pool_open(template, NULL);
    const char *paths[] = {"/A/foo", "/A/bar", "/B/foo", "/B/bar", "/A", "/B", "/"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct stat st;
        udax_stat(pool, paths[i], &st);
        /* Each chmod appends an attribute entry of two slots. */
        while (slots_left_in_page(pool, paths[i]) >= 2)
            udax_chmod(pool, paths[i], st.st_mode & 07777);
    }
    udax_pool_close(pool);
}

/* One injected failure; returns false when the operation made fewer than nth allocations. */
static bool inject(const char *template, const char *work, const struct op *op, uint64_t nth, bool fast,
                   const char *after_reference, const char *label, bool *ok)
{
    copy_file(template, work);
    struct udax_pool *pool = udax_pool_open(work, NULL);
    char *before = snapshot(pool);
    uint64_t free_before = free_blocks(pool);
    alloc_fail_nth(&pool->fs.alloc, nth);
    errno = 0;
    int rc = run_op(pool, op);
    int err = errno;
    bool reached = !alloc_failure_pending(&pool->fs.alloc);
    alloc_fail_nth(&pool->fs.alloc, 0);
    char *tree = snapshot(pool);
    if (reached) {
        /* A failed fsync after an in-place overwrite leaves the new bytes, and the close commits the times. */
        bool partial_allowed = fast && in_place_in_fast_mode(op);
        if (rc == 0 && strcmp(tree, after_reference)) {
            fprintf(stderr, "FAIL %s, allocation %llu failed: the call succeeded with a different tree\n", label,
                    (unsigned long long)nth);
            *ok = false;
        } else if (rc != 0 && err != ENOSPC) {
            fprintf(stderr, "FAIL %s, allocation %llu failed: errno %d, not ENOSPC\n", label, (unsigned long long)nth,
                    err);
            *ok = false;
        } else if (rc != 0 && strcmp(tree, before) && !(partial_allowed && !strcmp(tree, after_reference))) {
            fprintf(stderr, "FAIL %s, allocation %llu failed: the failed call changed the tree\n--- before\n%s--- now\n%s",
                    label, (unsigned long long)nth, before, tree);
            *ok = false;
        } else if (rc != 0 && !strcmp(tree, before) && free_blocks(pool) != free_before) {
            fprintf(stderr, "FAIL %s, allocation %llu failed: %lld blocks leaked\n", label, (unsigned long long)nth,
                    (long long)(free_before - free_blocks(pool)));
            *ok = false;
        }
    }
    udax_pool_close(pool);
    if (reached) {
        struct udax_fsck_options opts = {.report = print_fsck_problem};
        if (udax_fsck(work, &opts, NULL) != UDAX_FSCK_CLEAN) {
            fprintf(stderr, "FAIL %s, allocation %llu failed: fsck is not clean\n", label, (unsigned long long)nth);
            *ok = false;
        }
        pool = udax_pool_open(work, NULL);
        char *reopened = pool ? snapshot(pool) : NULL;
        if (!pool || strcmp(reopened, tree) || !still_usable(pool)) {
            fprintf(stderr, "FAIL %s, allocation %llu failed: the reopened pool differs or is unusable\n", label,
                    (unsigned long long)nth);
            *ok = false;
        }
        free(reopened);
        if (pool)
            udax_pool_close(pool);
    }
    free(before);
    free(tree);
    return reached;
}

int main(void)
{
    char template[128], work[128];
    snprintf(template, sizeof(template), "/dev/shm/udax-fault-%d-template.pool", (int)getpid());
    snprintf(work, sizeof(work), "/dev/shm/udax-fault-%d-work.pool", (int)getpid());
    uint64_t cases = 0;
    bool ok = true;
    const enum udax_data_mode modes[] = {UDAX_DATA_STRICT, UDAX_DATA_FAST};
    for (int variant = 0; variant < 4; variant++) {
        bool fast = modes[variant % 2] == UDAX_DATA_FAST;
        bool crowded = variant >= 2;
        make_template(template, modes[variant % 2]);
        add_links(template);
        if (crowded)
            crowd_logs(template);
        for (size_t i = 0; i < single_op_count; i++) {
            const struct op *op = &single_ops[i];
            char label[160];
            snprintf(label, sizeof(label), "[%s%s] %s", fast ? "fast" : "strict", crowded ? ", full log pages" : "",
                     op->name);
            copy_file(template, work);
            struct udax_pool *pool = udax_pool_open(work, NULL);
            if (run_op(pool, op)) {
                fprintf(stderr, "FAIL %s: fails without injection: %s\n", label, udax_last_error());
                ok = false;
            }
            char *after = snapshot(pool);
            udax_pool_close(pool);
            for (uint64_t nth = 1; inject(template, work, op, nth, fast, after, label, &ok); nth++)
                cases++;
            free(after);
        }
    }
    unlink(template);
    unlink(work);
    printf("fault injection cases checked: %llu\n", (unsigned long long)cases);
    return ok ? 0 : 1;
}
