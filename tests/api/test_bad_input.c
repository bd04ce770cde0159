/* test_bad_input.c: damaged, foreign and full pools get a clear error, change nothing, and never crash. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool/format.h"
#include "test_pool.h"

#define POOL_SIZE (16ULL << 20)

static void quiet(void *arg, const char *problem)
{
    (void)problem;
    ++*(int *)arg;
}

static int fsck_status(const char *path, int repair, int *problems)
{
    *problems = 0;
    struct udax_fsck_options opts = {.repair = repair, .report = quiet, .report_arg = problems};
    return udax_fsck(path, &opts, NULL);
}

/* Maps the pool file to damage it by hand. */
static unsigned char *map_pool(const char *path, size_t *size)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    *size = (size_t)st.st_size;
    unsigned char *base = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(base != MAP_FAILED);
    close(fd);
    return base;
}

static void make_pool_with_file(char *path, size_t len)
{
    struct udax_pool *pool = test_pool_new(path, len, POOL_SIZE, UDAX_DATA_STRICT);
    int fd = udax_open(pool, "/keep", O_CREAT | O_WRONLY, 0644);
    assert_int_equal(udax_write(pool, fd, "kept", 4), 4);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_pool_close(pool), 0);
}

static void expect_refused(const char *path, int err, const char *words)
{
    errno = 0;
    assert_null(udax_pool_open(path, NULL));
    assert_int_equal(errno, err);
    if (!strstr(udax_last_error(), words))
        fail_msg("message '%s' lacks '%s'", udax_last_error(), words);
}

static void test_foreign_files(void **state)
{
    (void)state;
    char path[] = "/dev/shm/udax-foreign-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    expect_refused(path, EINVAL, "not a udax pool");
    assert_int_equal(write(fd, "hello", 5), 5);
    expect_refused(path, EINVAL, "not a udax pool");
    assert_int_equal(ftruncate(fd, 1 << 20), 0);
    expect_refused(path, EINVAL, "not a udax pool");
    char text[4096];
    memset(text, 'A', sizeof(text));
    for (int i = 0; i < 16; i++)
        assert_int_equal(pwrite(fd, text, sizeof(text), i * 4096), 4096);
    expect_refused(path, EINVAL, "not a udax pool");
    int problems;
    assert_int_equal(fsck_status(path, 1, &problems), UDAX_FSCK_FAILED);
    close(fd);
    unlink(path);
    expect_refused("/dev/shm", EISDIR, "Is a directory");
}

static void test_truncated_pool(void **state)
{
    (void)state;
    char path[128];
    make_pool_with_file(path, sizeof(path));
    assert_int_equal(truncate(path, POOL_SIZE / 2), 0);
    expect_refused(path, EUCLEAN, "truncated");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, POOL_SIZE / 2);
    unlink(path);
}

static void test_damaged_superblocks(void **state)
{
    (void)state;
    char path[128];
    make_pool_with_file(path, sizeof(path));
    size_t size;
    unsigned char *base = map_pool(path, &size);
    base[16] ^= 0xff;
    munmap(base, size);

    struct udax_pool *pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/keep", &st), 0);
    assert_int_equal(udax_pool_close(pool), 0);
    int problems;
    assert_int_equal(fsck_status(path, 0, &problems), UDAX_FSCK_UNCORRECTED);
    assert_int_equal(problems, 1);
    assert_int_equal(fsck_status(path, 1, &problems), UDAX_FSCK_CORRECTED);
    assert_int_equal(fsck_status(path, 0, &problems), UDAX_FSCK_CLEAN);

    base = map_pool(path, &size);
    base[16] ^= 0xff;
    base[UDAX_BLOCK_SIZE + 16] ^= 0xff;
    munmap(base, size);
    expect_refused(path, EUCLEAN, "both superblocks are damaged");
    assert_int_equal(fsck_status(path, 1, &problems), UDAX_FSCK_FAILED);
    unlink(path);
}

static struct udax_inode_rec *inode_record(unsigned char *base, uint64_t ino)
{
    const struct udax_super *sb = (const void *)base;
    return (struct udax_inode_rec *)(base + sb->inode_table_block * UDAX_BLOCK_SIZE) + ino;
}

static void test_damaged_log(void **state)
{
    (void)state;
    char path[128];
    make_pool_with_file(path, sizeof(path));
    size_t size;
    unsigned char *base = map_pool(path, &size);
    struct udax_inode_rec *root = inode_record(base, UDAX_ROOT_INO);
    unsigned char *first_entry = base + root->log_head + UDAX_SLOT_SIZE;
    first_entry[20] ^= 0x40;
    munmap(base, size);
    expect_refused(path, EUCLEAN, "checksum");
    int problems;
    assert_int_equal(fsck_status(path, 1, &problems), UDAX_FSCK_UNCORRECTED);
    assert_true(problems >= 1);

    base = map_pool(path, &size);
    root = inode_record(base, UDAX_ROOT_INO);
    first_entry = base + root->log_head + UDAX_SLOT_SIZE;
    first_entry[20] ^= 0x40;
    uint64_t saved_tail = root->log_tail;
    root->log_tail = 12345;
    munmap(base, size);
    expect_refused(path, EUCLEAN, "corrupt");

    base = map_pool(path, &size);
    root = inode_record(base, UDAX_ROOT_INO);
    root->log_tail = saved_tail;
    uint64_t saved_head = root->log_head;
    root->log_head = size + 4096;
    munmap(base, size);
    expect_refused(path, EUCLEAN, "corrupt");

    base = map_pool(path, &size);
    inode_record(base, UDAX_ROOT_INO)->log_head = saved_head;
    munmap(base, size);
    assert_int_equal(fsck_status(path, 0, &problems), UDAX_FSCK_CLEAN);
    unlink(path);
}

/* Random damage to the metadata area never crashes open or fsck. */
static void test_random_damage(void **state)
{
    (void)state;
    char path[128];
    make_pool_with_file(path, sizeof(path));
    size_t size;
    unsigned char *base = map_pool(path, &size);
    unsigned char *pristine = malloc(size);
    memcpy(pristine, base, size);
    const struct udax_super *sb = (const void *)pristine;
    struct udax_inode_rec *records = (void *)(pristine + sb->inode_table_block * UDAX_BLOCK_SIZE);
    uint64_t targets[] = {records[UDAX_ROOT_INO].log_head, records[2].log_head,
                          sb->inode_table_block * UDAX_BLOCK_SIZE, 0};
    unsigned seed = 12345;
    for (int round = 0; round < 400; round++) {
        memcpy(base, pristine, size);
        uint64_t target = targets[round % 4];
        for (int flips = 0; flips < 1 + round % 3; flips++)
            base[target + (uint64_t)rand_r(&seed) % 256] ^= (unsigned char)(1 + rand_r(&seed) % 255);
        struct udax_pool *pool = udax_pool_open(path, NULL);
        if (pool) {
            struct stat st;
            udax_stat(pool, "/keep", &st);
            udax_pool_close(pool);
        } else {
            assert_true(errno == EUCLEAN || errno == EINVAL);
        }
        int problems;
        int status = fsck_status(path, round % 2, &problems);
        assert_true(status == UDAX_FSCK_CLEAN || status == UDAX_FSCK_CORRECTED || status == UDAX_FSCK_UNCORRECTED ||
                    status == UDAX_FSCK_FAILED);
    }
    munmap(base, size);
    free(pristine);
    unlink(path);
}

static void test_full_pool(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    struct statvfs empty;
    assert_int_equal(udax_statvfs(pool, &empty), 0);
    char *chunk = malloc(1 << 20);
    memset(chunk, 7, 1 << 20);
    int fd = udax_open(pool, "/filler", O_CREAT | O_WRONLY, 0644);
    ssize_t written;
    while ((written = udax_write(pool, fd, chunk, 1 << 20)) > 0)
        ;
    assert_int_equal(written, -1);
    assert_int_equal(errno, ENOSPC);
    int small = 0;
    while (udax_write(pool, fd, chunk, 4096) == 4096)
        small++;
    assert_int_equal(errno, ENOSPC);
    struct stat st;
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(udax_close(pool, fd), 0);

    char name[32];
    int files = 0;
    for (;; files++) {
        snprintf(name, sizeof(name), "/f%d", files);
        fd = udax_open(pool, name, O_CREAT | O_WRONLY, 0644);
        if (fd < 0)
            break;
        if (udax_write(pool, fd, chunk, 4096) != 4096) {
            assert_int_equal(errno, ENOSPC);
            assert_int_equal(udax_close(pool, fd), 0);
            files++;
            break;
        }
        assert_int_equal(udax_close(pool, fd), 0);
    }
    assert_true(errno == ENOSPC);
    assert_int_equal(udax_pool_close(pool), 0);
    int problems;
    assert_int_equal(fsck_status(path, 0, &problems), UDAX_FSCK_CLEAN);

    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    assert_int_equal(udax_stat(pool, "/filler", &st), 0);
    assert_int_equal(udax_unlink(pool, "/filler"), 0);
    for (int i = 0; i < files; i++) {
        snprintf(name, sizeof(name), "/f%d", i);
        assert_int_equal(udax_unlink(pool, name), 0);
    }
    struct statvfs after;
    assert_int_equal(udax_statvfs(pool, &after), 0);
    assert_int_equal(after.f_bfree, empty.f_bfree);
    fd = udax_open(pool, "/again", O_CREAT | O_WRONLY, 0644);
    assert_int_equal(udax_write(pool, fd, chunk, 1 << 20), 1 << 20);
    assert_int_equal(udax_close(pool, fd), 0);
    free(chunk);
    test_pool_finish(pool, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_foreign_files),  cmocka_unit_test(test_truncated_pool),
        cmocka_unit_test(test_damaged_superblocks), cmocka_unit_test(test_damaged_log),
        cmocka_unit_test(test_random_damage), cmocka_unit_test(test_full_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
