/* test_file_layout.c: unit tests of where the file layer puts data: 2 MiB-aligned extents, copy-on-write, holes. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "file/file.h"
#include "inode/namei.h"
#include "test_pool.h"

struct layout {
    char path[128];
    struct fs fs;
    struct inode *file;
};

static struct layout *open_layout(enum udax_data_mode mode)
{
    struct layout *l = calloc(1, sizeof(*l));
    test_pool_create(l->path, sizeof(l->path), 64ULL << 20, mode);
    assert_int_equal(fs_open(&l->fs, l->path, NULL), 0);
    assert_int_equal(namei_open(&l->fs, &(struct cred){0}, NULL, "/file", O_CREAT | O_RDWR, 0644, &l->file), 0);
    return l;
}

static void close_layout(struct layout *l)
{
    inode_put(&l->fs, l->file);
    fs_close(&l->fs);
    test_pool_finish(NULL, l->path);
    free(l);
}

static void write_at(struct layout *l, const void *data, size_t len, uint64_t offset)
{
    struct iovec iov = {(void *)data, len};
    uint64_t end;
    assert_int_equal(file_write(&l->fs, l->file, &iov, 1, offset, false, &end), (ssize_t)len);
}

static uint64_t block_of(struct layout *l, uint64_t page)
{
    uint64_t block, run;
    assert_true(extent_lookup(&l->file->extents, page, &block, &run));
    return block;
}

/* Past its first 2 MiB, a growing file gets whole 2 MiB-aligned chunks, even from small appends. */
static void test_huge_extents(void **state)
{
    (void)state;
    struct layout *l = open_layout(UDAX_DATA_FAST);
    char *chunk = malloc(64 << 10);
    memset(chunk, 'h', 64 << 10);
    for (uint64_t offset = 0; offset < (6 << 20); offset += 64 << 10)
        write_at(l, chunk, 64 << 10, offset);
    for (uint64_t page = UDAX_BLOCKS_PER_HUGE; page < 3 * UDAX_BLOCKS_PER_HUGE; page += UDAX_BLOCKS_PER_HUGE) {
        uint64_t block, run;
        assert_true(extent_lookup(&l->file->extents, page, &block, &run));
        assert_int_equal(block % UDAX_BLOCKS_PER_HUGE, 0);
        assert_true(run >= UDAX_BLOCKS_PER_HUGE);
    }
    free(chunk);
    close_layout(l);
}

/* A strict overwrite lands in new blocks; the old ones go back to the allocator. */
static void test_strict_copies_on_write(void **state)
{
    (void)state;
    struct layout *l = open_layout(UDAX_DATA_STRICT);
    char data[8192];
    memset(data, 'a', sizeof(data));
    write_at(l, data, sizeof(data), 0);
    uint64_t before = block_of(l, 0);
    uint64_t free_before = alloc_free_blocks(&l->fs.alloc);
    memset(data, 'b', 100);
    write_at(l, data, 100, 10);
    assert_int_not_equal(block_of(l, 0), before);
    assert_false(alloc_is_used(&l->fs.alloc, before));
    assert_int_equal(alloc_free_blocks(&l->fs.alloc), free_before);
    close_layout(l);
}

/* A fast overwrite of allocated blocks stays where it is and adds no log entry. */
static void test_fast_writes_in_place(void **state)
{
    (void)state;
    struct layout *l = open_layout(UDAX_DATA_FAST);
    char data[8192];
    memset(data, 'a', sizeof(data));
    write_at(l, data, sizeof(data), 0);
    uint64_t before = block_of(l, 1);
    uint64_t entries = l->file->log.entries;
    write_at(l, data, 100, 5000);
    assert_int_equal(block_of(l, 1), before);
    assert_int_equal(l->file->log.entries, entries);
    close_layout(l);
}

/* A write far past the end leaves a hole: nothing is allocated in between. */
static void test_sparse_write_leaves_hole(void **state)
{
    (void)state;
    struct layout *l = open_layout(UDAX_DATA_STRICT);
    write_at(l, "x", 1, 100 << 20);
    assert_int_equal(extent_mapped_pages(&l->file->extents, 0, UINT64_MAX), 1);
    assert_int_equal(l->file->attr.size, (100 << 20) + 1);
    close_layout(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_extents),
        cmocka_unit_test(test_strict_copies_on_write),
        cmocka_unit_test(test_fast_writes_in_place),
        cmocka_unit_test(test_sparse_write_leaves_hole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
