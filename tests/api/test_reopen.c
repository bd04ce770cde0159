/* test_reopen.c: what is written survives closing and reopening the pool, and logs stay compact. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_pool.h"

#define POOL_SIZE (128ULL << 20)

static struct udax_pool *reopen(struct udax_pool *pool, const char *path)
{
    assert_int_equal(udax_pool_close(pool), 0);
    pool = udax_pool_open(path, NULL);
    if (!pool)
        fail_msg("reopen: %s", udax_last_error());
    return pool;
}

static void expect_pattern(struct udax_pool *pool, const char *path, size_t size, uint64_t seed)
{
    int fd = udax_open(pool, path, O_RDONLY);
    assert_true(fd >= 0);
    unsigned char *want = malloc(size), *got = malloc(size + 1);
    test_fill(want, size, seed, 0);
    assert_int_equal(udax_read(pool, fd, got, size + 1), (ssize_t)size);
    assert_memory_equal(got, want, size);
    assert_int_equal(udax_close(pool, fd), 0);
    free(want);
    free(got);
}

static void write_pattern(struct udax_pool *pool, const char *path, size_t size, uint64_t seed)
{
    int fd = udax_open(pool, path, O_CREAT | O_TRUNC | O_WRONLY, 0640);
    assert_true(fd >= 0);
    unsigned char *data = malloc(size);
    test_fill(data, size, seed, 0);
    assert_int_equal(udax_write(pool, fd, data, size), (ssize_t)size);
    assert_int_equal(udax_close(pool, fd), 0);
    free(data);
}

static void reopen_tree(enum udax_data_mode mode)
{
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, mode);
    assert_int_equal(udax_mkdir(pool, "/docs", 0750), 0);
    assert_int_equal(udax_mkdir(pool, "/docs/old", 0700), 0);
    assert_int_equal(udax_mkdir(pool, "/empty", 0755), 0);
    write_pattern(pool, "/docs/small", 100, 1);
    write_pattern(pool, "/docs/block", 4096, 2);
    write_pattern(pool, "/docs/large", 5 * 1024 * 1024 + 17, 3);
    write_pattern(pool, "/docs/old/moved", 9000, 4);
    write_pattern(pool, "/doomed", 1000, 5);
    assert_int_equal(udax_rename(pool, "/docs/old/moved", "/empty/moved"), 0);
    assert_int_equal(udax_unlink(pool, "/doomed"), 0);
    assert_int_equal(udax_rmdir(pool, "/docs/old"), 0);

    int fd = udax_open(pool, "/sparse", O_CREAT | O_RDWR, 0600);
    assert_int_equal(udax_pwrite(pool, fd, "end", 3, 10 << 20), 3);
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_KEEP_SIZE, 0, 8192), 0);
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 4096, 4096), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    struct stat before;
    assert_int_equal(udax_stat(pool, "/sparse", &before), 0);

    pool = reopen(pool, path);
    expect_pattern(pool, "/docs/small", 100, 1);
    expect_pattern(pool, "/docs/block", 4096, 2);
    expect_pattern(pool, "/docs/large", 5 * 1024 * 1024 + 17, 3);
    expect_pattern(pool, "/empty/moved", 9000, 4);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/doomed", &st), -1);
    assert_int_equal(udax_stat(pool, "/docs/old", &st), -1);
    assert_int_equal(udax_stat(pool, "/docs", &st), 0);
    assert_int_equal(st.st_mode, S_IFDIR | 0750);
    assert_int_equal(st.st_nlink, 2);
    assert_int_equal(udax_stat(pool, "/docs/small", &st), 0);
    assert_int_equal(st.st_mode, S_IFREG | 0640);
    assert_int_equal(st.st_nlink, 1);
    assert_int_equal(udax_stat(pool, "/sparse", &st), 0);
    assert_int_equal(st.st_size, before.st_size);
    assert_int_equal(st.st_blocks, before.st_blocks);
    assert_int_equal(st.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(st.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    fd = udax_open(pool, "/sparse", O_RDONLY);
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_HOLE), 4096);
    char end[3];
    assert_int_equal(udax_pread(pool, fd, end, 3, 10 << 20), 3);
    assert_memory_equal(end, "end", 3);
    assert_int_equal(udax_close(pool, fd), 0);

    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    assert_int_equal(info.files, 5);
    assert_int_equal(info.directories, 3);
    test_pool_finish(pool, path);
}

static void test_reopen_strict(void **state)
{
    (void)state;
    reopen_tree(UDAX_DATA_STRICT);
}

static void test_reopen_fast(void **state)
{
    (void)state;
    reopen_tree(UDAX_DATA_FAST);
}

/* A file rewritten many times keeps a log proportional to its live state. */
static void rewrite_often(enum udax_data_mode mode)
{
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, mode);
    int fd = udax_open(pool, "/hot", O_CREAT | O_RDWR, 0644);
    char record[512];
    for (int round = 0; round < 20000; round++) {
        test_fill(record, sizeof(record), (uint64_t)round, 0);
        assert_int_equal(udax_pwrite(pool, fd, record, sizeof(record), (round % 16) * 512), 512);
        if (round % 997 == 0)
            assert_int_equal(udax_ftruncate(pool, fd, 4096), 0);
    }
    assert_int_equal(udax_close(pool, fd), 0);
    for (int i = 0; i < 3000; i++) {
        assert_int_equal(udax_mkdir(pool, "/churn", 0755), 0);
        assert_int_equal(udax_rmdir(pool, "/churn"), 0);
    }
    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    assert_true(info.log_pages <= 8);
    pool = reopen(pool, path);
    fd = udax_open(pool, "/hot", O_RDONLY);
    char back[512];
    for (int slot = 0; slot < 8; slot++) {
        int last_round = 20000 - 16 + ((slot - (20000 - 16) % 16) + 16) % 16;
        test_fill(record, sizeof(record), (uint64_t)last_round, 0);
        assert_int_equal(udax_pread(pool, fd, back, sizeof(back), slot * 512), 512);
        assert_memory_equal(back, record, sizeof(record));
    }
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_compaction_strict(void **state)
{
    (void)state;
    rewrite_often(UDAX_DATA_STRICT);
}

static void test_compaction_fast(void **state)
{
    (void)state;
    rewrite_often(UDAX_DATA_FAST);
}

/* Many files in one directory come back with their names. */
static void test_many_files(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    assert_int_equal(udax_mkdir(pool, "/many", 0755), 0);
    char name[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "/many/file-with-a-longer-name-than-one-slot-holds-%05d", i);
        int fd = udax_open(pool, name, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        assert_int_equal(udax_write(pool, fd, name, strlen(name)), (ssize_t)strlen(name));
        assert_int_equal(udax_close(pool, fd), 0);
    }
    for (int i = 0; i < 3000; i += 2) {
        snprintf(name, sizeof(name), "/many/file-with-a-longer-name-than-one-slot-holds-%05d", i);
        assert_int_equal(udax_unlink(pool, name), 0);
    }
    pool = reopen(pool, path);
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof(name), "/many/file-with-a-longer-name-than-one-slot-holds-%05d", i);
        struct stat st;
        if (i % 2) {
            assert_int_equal(udax_stat(pool, name, &st), 0);
            assert_int_equal(st.st_size, (off_t)strlen(name));
        } else {
            assert_int_equal(udax_stat(pool, name, &st), -1);
            assert_int_equal(errno, ENOENT);
        }
    }
    test_pool_finish(pool, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reopen_strict),     cmocka_unit_test(test_reopen_fast),
        cmocka_unit_test(test_compaction_strict), cmocka_unit_test(test_compaction_fast),
        cmocka_unit_test(test_many_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
