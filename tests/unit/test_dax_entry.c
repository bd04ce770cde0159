/* test_dax_entry.c: unit tests of the DAX entry engine and fault path: grab, split, conflict, pins, writeback, invalidation. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dax/dax.h"
#include "file/file.h"
#include "inode/namei.h"
#include "test_pool.h"

static void grab_and_unlock(struct dax_mapping *m, uint64_t page, bool huge)
{
    struct entry_ref e;
    assert_int_equal(entry_grab(m, page, huge, &e), 0);
    entry_unlock(m, &e);
}

static void test_grab_fill_unlock(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    struct entry_ref e;
    assert_int_equal(entry_grab(m, 5, false, &e), 0);
    assert_int_equal(e.key, 5);
    assert_int_equal(entry_kind(e.word), ENTRY_EMPTY);
    assert_true(e.word & ENTRY_LOCKED);
    entry_fill(m, &e, ENTRY_BLOCK, 1234);
    entry_unlock(m, &e);
    assert_int_equal(entry_grab(m, 5, false, &e), 0);
    assert_int_equal(entry_kind(e.word), ENTRY_BLOCK);
    assert_int_equal(entry_block(e.word), 1234);
    assert_int_equal(entry_pages(e.word), 1);
    entry_unlock(m, &e);
    assert_int_equal(dax_mapping_entries(m), 1);
    dax_mapping_free(m);
}

static void test_huge_request_over_small_entry_conflicts(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    grab_and_unlock(m, 0x205, false);
    struct entry_ref e;
    assert_int_equal(entry_grab(m, 0x200, true, &e), EAGAIN);
    /* An entry just past the span does not conflict. */
    assert_int_equal(entry_grab(m, 0x400, true, &e), 0);
    assert_int_equal(entry_pages(e.word), ENTRY_HUGE_PAGES);
    entry_unlock(m, &e);
    dax_mapping_free(m);
}

static void test_small_request_splits_empty_and_zero_huge(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    struct entry_ref e;
    grab_and_unlock(m, 0x200, true);
    assert_int_equal(entry_grab(m, 0x201, false, &e), 0);
    assert_int_equal(e.key, 0x201);
    assert_int_equal(entry_pages(e.word), 1);
    entry_unlock(m, &e);
    assert_int_equal(dax_mapping_entries(m), 1);

    assert_int_equal(entry_grab(m, 0x400, true, &e), 0);
    entry_fill(m, &e, ENTRY_ZERO, 0);
    entry_unlock(m, &e);
    assert_int_equal(entry_grab(m, 0x5ff, false, &e), 0);
    assert_int_equal(e.key, 0x5ff);
    entry_unlock(m, &e);
    assert_int_equal(dax_mapping_entries(m), 2);
    dax_mapping_free(m);
}

static void test_small_request_uses_huge_block_entry(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    struct entry_ref e;
    assert_int_equal(entry_grab(m, 0x200, true, &e), 0);
    entry_fill(m, &e, ENTRY_BLOCK, 0x10000);
    entry_unlock(m, &e);
    assert_int_equal(entry_grab(m, 0x3ff, false, &e), 0);
    assert_int_equal(e.key, 0x200);
    assert_true(e.word & ENTRY_HUGE);
    entry_unlock(m, &e);
    dax_mapping_free(m);
}

static void test_delete_range(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    for (uint64_t page = 0; page < 100; page++)
        grab_and_unlock(m, page, false);
    grab_and_unlock(m, 0x200, true);
    /* Deleting one page inside the 2 MiB entry removes all of it. */
    entry_delete_range(m, 0x300, 1, true);
    assert_int_equal(dax_mapping_entries(m), 100);
    entry_delete_range(m, 10, 20, true);
    assert_int_equal(dax_mapping_entries(m), 80);
    entry_delete_range(m, 0, UINT64_MAX, true);
    assert_int_equal(dax_mapping_entries(m), 0);
    dax_mapping_free(m);
}

static void test_pins_and_busy_scan(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    struct entry_ref e;
    for (uint64_t page = 0; page < 8; page++)
        grab_and_unlock(m, page, false);
    assert_int_equal(entry_grab(m, 6, false, &e), 0);
    assert_int_equal(entry_pin(m, &e), 0);
    assert_int_equal(entry_pin(m, &e), 0);
    entry_unlock(m, &e);
    uint64_t key;
    assert_false(entry_busy_scan(m, 0, 6, &key));
    assert_true(entry_busy_scan(m, 0, 8, &key));
    assert_int_equal(key, 6);
    entry_unpin(m, 6);
    assert_true(entry_busy_scan(m, 0, 8, &key));
    entry_unpin(m, 6);
    assert_false(entry_busy_scan(m, 0, 8, &key));
    /* With no pin left, waiting for the pins returns at once. */
    entry_wait_unpinned(m, 6);
    dax_mapping_free(m);
}

struct flushed {
    uint64_t blocks[8];
    unsigned count;
};

static void record_flush(void *arg, uint64_t block, uint64_t pages)
{
    struct flushed *f = arg;
    assert_int_equal(pages, 1);
    f->blocks[f->count++] = block;
}

static void test_writeback_cleans_dirty_entries(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    struct entry_ref e;
    for (uint64_t page = 0; page < 4; page++) {
        assert_int_equal(entry_grab(m, page, false, &e), 0);
        entry_fill(m, &e, ENTRY_BLOCK, 100 + page);
        if (page % 2)
            entry_mark_dirty(m, &e);
        entry_unlock(m, &e);
    }
    struct flushed f = {0};
    entry_writeback_range(m, 0, UINT64_MAX, record_flush, &f);
    assert_int_equal(f.count, 2);
    assert_int_equal(f.blocks[0], 101);
    assert_int_equal(f.blocks[1], 103);
    f.count = 0;
    entry_writeback_range(m, 0, UINT64_MAX, record_flush, &f);
    assert_int_equal(f.count, 0);
    dax_mapping_free(m);
}

#define TEN_MILLION 10000000ull

static void test_ten_million_small_entries(void **state)
{
    (void)state;
    struct dax_mapping *m = dax_mapping_new();
    struct entry_ref e;
    for (uint64_t page = 0; page < TEN_MILLION; page++) {
        assert_int_equal(entry_grab(m, page, false, &e), 0);
        entry_fill(m, &e, ENTRY_BLOCK, page);
        entry_unlock(m, &e);
    }
    assert_int_equal(dax_mapping_entries(m), TEN_MILLION);
    for (uint64_t page = 7; page < TEN_MILLION; page += 999983) {
        assert_int_equal(entry_grab(m, page, false, &e), 0);
        assert_int_equal(entry_block(e.word), page);
        entry_unlock(m, &e);
    }
    entry_delete_range(m, 0, UINT64_MAX, false);
    assert_int_equal(dax_mapping_entries(m), 0);
    dax_mapping_free(m);
}

/* A pool with one file and the DAX layer installed, as udax_pool_open leaves it. */
struct fixture {
    char path[128];
    struct fs fs;
    struct inode *file;
};

static struct fixture *open_fixture(enum udax_data_mode mode)
{
    struct fixture *f = calloc(1, sizeof(*f));
    test_pool_create(f->path, sizeof(f->path), 64ULL << 20, mode);
    assert_int_equal(fs_open(&f->fs, f->path, NULL), 0);
    f->fs.mapping_ops = &dax_mapping_ops;
    assert_int_equal(namei_open(&f->fs, &(struct cred){0}, NULL, "/file", O_CREAT | O_RDWR, 0644, &f->file), 0);
    return f;
}

static void close_fixture(struct fixture *f)
{
    inode_put(&f->fs, f->file);
    fs_close(&f->fs);
    test_pool_finish(NULL, f->path);
    free(f);
}

static void write_pattern(struct fixture *f, uint64_t offset, size_t len, uint64_t seed)
{
    char *buf = malloc(len);
    test_fill(buf, len, seed, offset);
    struct iovec iov = {buf, len};
    uint64_t end;
    assert_int_equal(file_write(&f->fs, f->file, &iov, 1, offset, false, &end), (ssize_t)len);
    free(buf);
}

static void test_fault_hole_then_write(void **state)
{
    (void)state;
    struct fixture *f = open_fixture(UDAX_DATA_FAST);
    assert_int_equal(file_truncate(&f->fs, f->file, 64 << 10), 0);
    uint64_t free_before = alloc_free_blocks(&f->fs.alloc);
    struct dax_fault_result r;
    assert_int_equal(dax_fault(&f->fs, f->file, 8192, 0, &r), 0);
    assert_null(r.addr);
    assert_int_equal(r.page, 2);
    assert_int_equal(alloc_free_blocks(&f->fs.alloc), free_before);
    assert_int_equal(dax_fault(&f->fs, f->file, 8192 + 100, DAX_FAULT_WRITE, &r), 0);
    assert_non_null(r.addr);
    memcpy((char *)r.addr + 100, "stored", 6);
    char buf[6];
    struct iovec iov = {buf, sizeof(buf)};
    assert_int_equal(file_read(&f->fs, f->file, &iov, 1, 8192 + 100, false), 6);
    assert_memory_equal(buf, "stored", 6);
    assert_int_equal(file_sync(&f->fs, f->file), 0);
    assert_int_equal(dax_fault(&f->fs, f->file, 64 << 10, 0, &r), ENXIO);
    assert_int_equal(dax_mapping_entries(f->file->mapping), 1);
    close_fixture(f);
}

static void test_huge_faults(void **state)
{
    (void)state;
    struct fixture *f = open_fixture(UDAX_DATA_FAST);
    write_pattern(f, 0, 4 << 20, 1);
    struct dax_fault_result r;
    assert_int_equal(dax_fault(&f->fs, f->file, (2 << 20) + 4096, DAX_FAULT_HUGE, &r), 0);
    assert_int_equal(r.page, 512);
    assert_int_equal(r.pages, 512);
    assert_int_equal(((uintptr_t)r.addr - (uintptr_t)f->fs.pool.pm.base) & ((2 << 20) - 1), 0);
    char expected[64];
    test_fill(expected, sizeof(expected), 1, 2 << 20);
    assert_memory_equal(r.addr, expected, sizeof(expected));

    /* A hole 2 MiB chunk: zero for a read, a new aligned chunk for a write. */
    assert_int_equal(file_truncate(&f->fs, f->file, 8 << 20), 0);
    assert_int_equal(dax_fault(&f->fs, f->file, 4 << 20, DAX_FAULT_HUGE, &r), 0);
    assert_null(r.addr);
    assert_int_equal(r.pages, 512);
    assert_int_equal(dax_fault(&f->fs, f->file, 6 << 20, DAX_FAULT_HUGE | DAX_FAULT_WRITE, &r), 0);
    assert_non_null(r.addr);
    assert_int_equal(((uintptr_t)r.addr - (uintptr_t)f->fs.pool.pm.base) & ((2 << 20) - 1), 0);
    /* A chunk that reaches past the end of the file cannot have a 2 MiB entry, even with all its blocks. */
    write_pattern(f, (8 << 20) + 4096, 4096, 2);
    assert_int_equal(dax_fault(&f->fs, f->file, 8 << 20, DAX_FAULT_HUGE, &r), EAGAIN);
    assert_int_equal(dax_fault(&f->fs, f->file, 8 << 20, DAX_FAULT_WRITE, &r), 0);
    /* Nor can a chunk of which only some pages have blocks. */
    write_pattern(f, (12 << 20) + 4096, 4096, 3);
    assert_int_equal(file_truncate(&f->fs, f->file, 14 << 20), 0);
    assert_int_equal(dax_fault(&f->fs, f->file, 12 << 20, DAX_FAULT_HUGE | DAX_FAULT_WRITE, &r), EAGAIN);
    assert_int_equal(dax_fault(&f->fs, f->file, 12 << 20, DAX_FAULT_WRITE, &r), 0);
    /* Nor a read of a chunk that starts with a hole and has data after it: a 2 MiB zero page would hide the data. */
    assert_int_equal(file_fallocate(&f->fs, f->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 << 20, 5 << 12), 0);
    assert_int_equal(dax_fault(&f->fs, f->file, 2 << 20, DAX_FAULT_HUGE, &r), EAGAIN);
    assert_int_equal(dax_fault(&f->fs, f->file, (2 << 20) + (5 << 12), 0, &r), 0);
    test_fill(expected, sizeof(expected), 1, (2 << 20) + (5 << 12));
    assert_memory_equal(r.addr, expected, sizeof(expected));
    close_fixture(f);
}

static void test_strict_write_to_mapped_file_goes_in_place(void **state)
{
    (void)state;
    struct fixture *f = open_fixture(UDAX_DATA_STRICT);
    write_pattern(f, 0, 16 << 10, 3);
    uint64_t free_before = alloc_free_blocks(&f->fs.alloc);
    struct dax_fault_result before, after;
    assert_int_equal(dax_fault(&f->fs, f->file, 4096, 0, &before), 0);
    /* A copy would lose stores made through the mapping meanwhile: the mapped block takes the bytes. */
    write_pattern(f, 4096, 4096, 4);
    assert_int_equal(alloc_free_blocks(&f->fs.alloc), free_before);
    assert_int_equal(dax_fault(&f->fs, f->file, 4096, 0, &after), 0);
    assert_ptr_equal(before.addr, after.addr);
    char expected[64];
    test_fill(expected, sizeof(expected), 4, 4096);
    assert_memory_equal(after.addr, expected, sizeof(expected));
    close_fixture(f);
}

static void test_truncate_and_punch_drop_entries(void **state)
{
    (void)state;
    struct fixture *f = open_fixture(UDAX_DATA_FAST);
    write_pattern(f, 0, 64 << 10, 5);
    struct dax_fault_result r;
    for (uint64_t page = 0; page < 16; page++)
        assert_int_equal(dax_fault(&f->fs, f->file, page << 12, 0, &r), 0);
    assert_int_equal(file_fallocate(&f->fs, f->file, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 8192), 0);
    assert_int_equal(dax_mapping_entries(f->file->mapping), 14);
    assert_int_equal(dax_fault(&f->fs, f->file, 4096, 0, &r), 0);
    assert_null(r.addr);
    assert_int_equal(file_truncate(&f->fs, f->file, 40 << 10), 0);
    assert_int_equal(dax_mapping_entries(f->file->mapping), 9);
    assert_int_equal(dax_fault(&f->fs, f->file, 40 << 10, 0, &r), ENXIO);
    /* Filling the hole gives it blocks: the zero entry over it goes. */
    assert_int_equal(file_fallocate(&f->fs, f->file, 0, 4096, 4096), 0);
    assert_int_equal(dax_fault(&f->fs, f->file, 4096, 0, &r), 0);
    assert_non_null(r.addr);
    close_fixture(f);
}

static void test_pin_range_fails_whole(void **state)
{
    (void)state;
    struct fixture *f = open_fixture(UDAX_DATA_FAST);
    write_pattern(f, 0, 16 << 10, 6);
    /* The last page lies past the end: nothing stays pinned. */
    assert_int_equal(dax_pin_range(&f->fs, f->file, 8192, 3 * 4096, false), ENXIO);
    uint64_t key;
    assert_false(entry_busy_scan(f->file->mapping, 0, UINT64_MAX, &key));
    assert_int_equal(dax_pin_range(&f->fs, f->file, 8192, 8192, true), 0);
    assert_true(entry_busy_scan(f->file->mapping, 0, UINT64_MAX, &key));
    assert_int_equal(key, 2);
    dax_unpin_range(f->file, 8192, 8192);
    assert_false(entry_busy_scan(f->file->mapping, 0, UINT64_MAX, &key));
    close_fixture(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grab_fill_unlock),
        cmocka_unit_test(test_huge_request_over_small_entry_conflicts),
        cmocka_unit_test(test_small_request_splits_empty_and_zero_huge),
        cmocka_unit_test(test_small_request_uses_huge_block_entry),
        cmocka_unit_test(test_delete_range),
        cmocka_unit_test(test_pins_and_busy_scan),
        cmocka_unit_test(test_writeback_cleans_dirty_entries),
        cmocka_unit_test(test_ten_million_small_entries),
        cmocka_unit_test(test_fault_hole_then_write),
        cmocka_unit_test(test_huge_faults),
        cmocka_unit_test(test_strict_write_to_mapped_file_goes_in_place),
        cmocka_unit_test(test_truncate_and_punch_drop_entries),
        cmocka_unit_test(test_pin_range_fails_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
