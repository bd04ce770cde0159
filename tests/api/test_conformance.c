/* test_conformance.c: each call of udax.h, its results and its POSIX errors, which must change nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"

static void write_file(struct udax_pool *pool, const char *path, const char *text)
{
    int fd = udax_open(pool, path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_write(pool, fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(udax_close(pool, fd), 0);
}

static void expect_contents(struct udax_pool *pool, const char *path, const char *text)
{
    int fd = udax_open(pool, path, O_RDONLY);
    assert_true(fd >= 0);
    char buf[4096] = {0};
    assert_int_equal(udax_read(pool, fd, buf, sizeof(buf)), (ssize_t)strlen(text));
    assert_string_equal(buf, text);
    assert_int_equal(udax_close(pool, fd), 0);
}

static void test_open_flags(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    EXPECT_ERRNO(udax_open(pool, "/missing", O_RDONLY), ENOENT);
    EXPECT_ERRNO(udax_open(pool, "", O_RDONLY), ENOENT);
    int fd = udax_open(pool, "/a", O_CREAT | O_EXCL | O_RDWR, 0600);
    assert_true(fd >= 0);
    EXPECT_ERRNO(udax_open(pool, "/a", O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
    EXPECT_ERRNO(udax_open(pool, "/a", O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERRNO(udax_open(pool, "/a/b", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(udax_open(pool, "/a/", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(udax_open(pool, "/", O_RDWR), EISDIR);
    EXPECT_ERRNO(udax_open(pool, "/new/", O_CREAT | O_RDWR, 0644), EISDIR);
    EXPECT_ERRNO(udax_open(pool, "/a", O_ACCMODE), EINVAL);
    assert_int_equal(udax_write(pool, fd, "hello", 5), 5);
    assert_int_equal(udax_close(pool, fd), 0);

    fd = udax_open(pool, "a", O_RDONLY);
    assert_true(fd >= 0);
    EXPECT_ERRNO(udax_write(pool, fd, "x", 1), EBADF);
    assert_int_equal(udax_close(pool, fd), 0);
    fd = udax_open(pool, "/a", O_WRONLY);
    char c;
    EXPECT_ERRNO(udax_read(pool, fd, &c, 1), EBADF);
    assert_int_equal(udax_close(pool, fd), 0);

    fd = udax_open(pool, "/a", O_WRONLY | O_APPEND);
    assert_int_equal(udax_write(pool, fd, " world", 6), 6);
    assert_int_equal(udax_pwrite(pool, fd, "!", 1, 0), 1);
    assert_int_equal(udax_close(pool, fd), 0);
    expect_contents(pool, "/a", "hello world!");

    fd = udax_open(pool, "/a", O_RDWR | O_TRUNC);
    struct stat st;
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(udax_close(pool, fd), 0);

    char long_name[300];
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[0] = '/';
    long_name[sizeof(long_name) - 1] = '\0';
    EXPECT_ERRNO(udax_open(pool, long_name, O_CREAT | O_RDWR, 0644), ENAMETOOLONG);
    char *long_path = malloc(5000);
    memset(long_path, 'p', 4999);
    long_path[4999] = '\0';
    EXPECT_ERRNO(udax_open(pool, long_path, O_RDONLY), ENAMETOOLONG);
    free(long_path);

    char max_name[257];
    max_name[0] = '/';
    memset(max_name + 1, 'm', 255);
    max_name[256] = '\0';
    fd = udax_open(pool, max_name, O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_stat(pool, max_name, &st), 0);
}

static void test_bad_descriptors(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    char buf[8];
    struct stat st;
    EXPECT_ERRNO(udax_close(pool, -1), EBADF);
    EXPECT_ERRNO(udax_close(pool, 12345), EBADF);
    EXPECT_ERRNO(udax_read(pool, 7, buf, 1), EBADF);
    EXPECT_ERRNO(udax_write(pool, 7, buf, 1), EBADF);
    EXPECT_ERRNO(udax_pread(pool, 7, buf, 1, 0), EBADF);
    EXPECT_ERRNO(udax_pwrite(pool, 7, buf, 1, 0), EBADF);
    EXPECT_ERRNO(udax_lseek(pool, 7, 0, SEEK_SET), EBADF);
    EXPECT_ERRNO(udax_fstat(pool, 7, &st), EBADF);
    EXPECT_ERRNO(udax_fsync(pool, 7), EBADF);
    EXPECT_ERRNO(udax_ftruncate(pool, 7, 0), EBADF);
    EXPECT_ERRNO(udax_fallocate(pool, 7, 0, 0, 1), EBADF);
    int fd = udax_open(pool, "/f", O_CREAT | O_RDWR, 0644);
    assert_int_equal(udax_close(pool, fd), 0);
    EXPECT_ERRNO(udax_close(pool, fd), EBADF);
    EXPECT_ERRNO(udax_read(pool, fd, buf, 1), EBADF);
}

/* Opens run out of descriptors at UDAX_OPEN_MAX with EMFILE; a close frees its descriptor for the next open. */
static void test_descriptors_run_out(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    int first = udax_open(pool, "/f", O_CREAT | O_RDWR, 0644), last = first, fd;
    assert_int_equal(first, 0);
    while ((fd = udax_open(pool, "/f", O_RDONLY)) >= 0)
        last = fd;
    assert_int_equal(errno, EMFILE);
    assert_int_equal(last, UDAX_OPEN_MAX - 1);
    EXPECT_ERRNO(udax_open(pool, "/", O_RDONLY | O_DIRECTORY), EMFILE);
    assert_int_equal(udax_close(pool, 4321), 0);
    assert_int_equal(udax_open(pool, "/f", O_RDONLY), 4321);
    for (fd = first; fd <= last; fd++)
        assert_int_equal(udax_close(pool, fd), 0);
}

static void test_read_write_seek(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    int fd = udax_open(pool, "/data", O_CREAT | O_RDWR, 0644);
    size_t size = 3 * 1024 * 1024 + 123;
    unsigned char *out = malloc(size), *in = malloc(size);
    test_fill(out, size, 7, 0);
    assert_int_equal(udax_write(pool, fd, out, size), (ssize_t)size);
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_CUR), (off_t)size);
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_SET), 0);
    assert_int_equal(udax_read(pool, fd, in, size + 100), (ssize_t)size);
    assert_memory_equal(in, out, size);
    assert_int_equal(udax_read(pool, fd, in, 10), 0);

    /* Unaligned overwrite across a block boundary. */
    test_fill(out + 4000, 300, 99, 0);
    assert_int_equal(udax_pwrite(pool, fd, out + 4000, 300, 4000), 300);
    assert_int_equal(udax_pread(pool, fd, in, size, 0), (ssize_t)size);
    assert_memory_equal(in, out, size);

    /* Holes read as zeros; the size follows the last byte written. */
    assert_int_equal(udax_pwrite(pool, fd, "z", 1, (off_t)size + 10000), 1);
    memset(in, 0xff, 10001);
    assert_int_equal(udax_pread(pool, fd, in, 10001, (off_t)size), 10001);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(in[i], 0);
    assert_int_equal(in[10000], 'z');
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_END), (off_t)size + 10001);

    EXPECT_ERRNO(udax_pread(pool, fd, in, 1, -1), EINVAL);
    EXPECT_ERRNO(udax_pwrite(pool, fd, in, 1, -1), EINVAL);
    EXPECT_ERRNO(udax_lseek(pool, fd, -1, SEEK_SET), EINVAL);
    EXPECT_ERRNO(udax_lseek(pool, fd, 0, 42), EINVAL);
    assert_int_equal(udax_lseek(pool, fd, 100, SEEK_END), (off_t)size + 10101);

    struct iovec iov[3] = {{out, 10}, {out + 10, 0}, {out + 20, 30}};
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_SET), 0);
    assert_int_equal(udax_writev(pool, fd, iov, 3), 40);
    unsigned char a[10], b[30];
    struct iovec back[2] = {{a, 10}, {b, 30}};
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_SET), 0);
    assert_int_equal(udax_readv(pool, fd, back, 2), 40);
    assert_memory_equal(a, out, 10);
    assert_memory_equal(b, out + 20, 30);
    EXPECT_ERRNO(udax_readv(pool, fd, back, -1), EINVAL);

    assert_int_equal(udax_fsync(pool, fd), 0);
    assert_int_equal(udax_fdatasync(pool, fd), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    free(out);
    free(in);

    fd = udax_open(pool, "/", O_RDONLY);
    assert_true(fd >= 0);
    char c;
    EXPECT_ERRNO(udax_read(pool, fd, &c, 1), EISDIR);
    assert_int_equal(udax_close(pool, fd), 0);
}

static void test_seek_data_hole(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    int fd = udax_open(pool, "/sparse", O_CREAT | O_RDWR, 0644);
    char block[4096];
    memset(block, 1, sizeof(block));
    assert_int_equal(udax_pwrite(pool, fd, block, 4096, 8192), 4096);
    assert_int_equal(udax_ftruncate(pool, fd, 5 * 4096), 0);
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_DATA), 8192);
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_HOLE), 0);
    assert_int_equal(udax_lseek(pool, fd, 8192, SEEK_HOLE), 12288);
    assert_int_equal(udax_lseek(pool, fd, 9000, SEEK_DATA), 9000);
    EXPECT_ERRNO(udax_lseek(pool, fd, 12288, SEEK_DATA), ENXIO);
    EXPECT_ERRNO(udax_lseek(pool, fd, 5 * 4096, SEEK_HOLE), ENXIO);
    assert_int_equal(udax_lseek(pool, fd, 16384, SEEK_HOLE), 16384);
    assert_int_equal(udax_close(pool, fd), 0);
}

static void test_truncate(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    write_file(pool, "/t", "0123456789");
    assert_int_equal(udax_truncate(pool, "/t", 4), 0);
    expect_contents(pool, "/t", "0123");
    assert_int_equal(udax_truncate(pool, "/t", 8), 0);
    int fd = udax_open(pool, "/t", O_RDONLY);
    char buf[16];
    assert_int_equal(udax_read(pool, fd, buf, sizeof(buf)), 8);
    assert_memory_equal(buf, "0123\0\0\0\0", 8);
    EXPECT_ERRNO(udax_ftruncate(pool, fd, 0), EINVAL);
    assert_int_equal(udax_close(pool, fd), 0);
    EXPECT_ERRNO(udax_truncate(pool, "/t", -1), EINVAL);
    EXPECT_ERRNO(udax_truncate(pool, "/missing", 0), ENOENT);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    EXPECT_ERRNO(udax_truncate(pool, "/d", 0), EISDIR);
    fd = udax_open(pool, "/t", O_RDWR);
    EXPECT_ERRNO(udax_ftruncate(pool, fd, -5), EINVAL);
    assert_int_equal(udax_ftruncate(pool, fd, 0), 0);
    struct stat st;
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_blocks, 0);
    assert_int_equal(udax_close(pool, fd), 0);
}

static void test_fallocate(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    int fd = udax_open(pool, "/fa", O_CREAT | O_RDWR, 0644);
    struct stat st;
    assert_int_equal(udax_fallocate(pool, fd, 0, 100, 10000), 0);
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, 10100);
    assert_int_equal(st.st_blocks, 3 * 8);
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_KEEP_SIZE, 0, 65536), 0);
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, 10100);
    assert_int_equal(st.st_blocks, 16 * 8);

    char *data = malloc(20000), *back = malloc(20000);
    memset(data, 'x', 20000);
    assert_int_equal(udax_pwrite(pool, fd, data, 20000, 0), 20000);
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 10000), 0);
    assert_int_equal(udax_pread(pool, fd, back, 20000, 0), 20000);
    for (int i = 0; i < 20000; i++)
        assert_int_equal(back[i], i >= 1000 && i < 11000 ? 0 : 'x');
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, 20000);
    assert_int_equal(st.st_blocks, 15 * 8);
    free(data);
    free(back);

    EXPECT_ERRNO(udax_fallocate(pool, fd, 0, -1, 10), EINVAL);
    EXPECT_ERRNO(udax_fallocate(pool, fd, 0, 0, 0), EINVAL);
    EXPECT_ERRNO(udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE, 0, 10), EOPNOTSUPP);
    assert_int_equal(udax_close(pool, fd), 0);
    fd = udax_open(pool, "/fa", O_RDONLY);
    EXPECT_ERRNO(udax_fallocate(pool, fd, 0, 0, 10), EBADF);
    assert_int_equal(udax_close(pool, fd), 0);
}

static void test_directories(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    EXPECT_ERRNO(udax_mkdir(pool, "/d", 0755), EEXIST);
    EXPECT_ERRNO(udax_mkdir(pool, "/", 0755), EEXIST);
    EXPECT_ERRNO(udax_mkdir(pool, "/x/y", 0755), ENOENT);
    assert_int_equal(udax_mkdir(pool, "/d/e/", 0755), 0);
    write_file(pool, "/d/file", "f");
    EXPECT_ERRNO(udax_mkdir(pool, "/d/file/sub", 0755), ENOTDIR);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/d", &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_nlink, 3);
    assert_int_equal(udax_stat(pool, "/d/./e/..", &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(udax_stat(pool, "/..", &st), 0);

    EXPECT_ERRNO(udax_rmdir(pool, "/d"), ENOTEMPTY);
    EXPECT_ERRNO(udax_rmdir(pool, "/d/file"), ENOTDIR);
    EXPECT_ERRNO(udax_rmdir(pool, "/"), EBUSY);
    EXPECT_ERRNO(udax_rmdir(pool, "/d/."), EINVAL);
    EXPECT_ERRNO(udax_rmdir(pool, "/nothing"), ENOENT);
    EXPECT_ERRNO(udax_unlink(pool, "/d"), EISDIR);
    EXPECT_ERRNO(udax_unlink(pool, "/d/nothing"), ENOENT);
    EXPECT_ERRNO(udax_unlink(pool, "/d/file/"), ENOTDIR);

    UDAX_DIR *dir = udax_opendir(pool, "/d");
    assert_non_null(dir);
    int seen = 0;
    struct dirent *e;
    while ((e = udax_readdir(pool, dir))) {
        if (!strcmp(e->d_name, "e"))
            seen |= 1, assert_int_equal(e->d_type, DT_DIR);
        else if (!strcmp(e->d_name, "file"))
            seen |= 2, assert_int_equal(e->d_type, DT_REG);
        else if (!strcmp(e->d_name, "."))
            seen |= 4;
        else if (!strcmp(e->d_name, ".."))
            seen |= 8;
        else
            fail_msg("unexpected entry %s", e->d_name);
    }
    assert_int_equal(seen, 15);
    assert_int_equal(udax_closedir(pool, dir), 0);
    assert_null(udax_opendir(pool, "/d/file"));
    assert_int_equal(errno, ENOTDIR);
    assert_null(udax_opendir(pool, "/none"));
    assert_int_equal(errno, ENOENT);

    assert_int_equal(udax_unlink(pool, "/d/file"), 0);
    assert_int_equal(udax_rmdir(pool, "/d/e"), 0);
    assert_int_equal(udax_rmdir(pool, "/d"), 0);
    EXPECT_ERRNO(udax_stat(pool, "/d", &st), ENOENT);
}

static void test_rename(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/a", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/b", 0755), 0);
    write_file(pool, "/a/one", "1");
    write_file(pool, "/b/two", "2");
    assert_int_equal(udax_rename(pool, "/a/one", "/a/uno"), 0);
    expect_contents(pool, "/a/uno", "1");
    assert_int_equal(udax_rename(pool, "/a/uno", "/b/two"), 0);
    expect_contents(pool, "/b/two", "1");
    struct stat st;
    EXPECT_ERRNO(udax_stat(pool, "/a/uno", &st), ENOENT);
    assert_int_equal(udax_rename(pool, "/b/two", "/b/two"), 0);
    EXPECT_ERRNO(udax_rename(pool, "/a/none", "/a/x"), ENOENT);
    EXPECT_ERRNO(udax_rename(pool, "/a", "/a/inside"), EINVAL);
    assert_int_equal(udax_mkdir(pool, "/a/sub", 0755), 0);
    EXPECT_ERRNO(udax_rename(pool, "/a", "/a/sub/deeper"), EINVAL);
    EXPECT_ERRNO(udax_rename(pool, "/b/two", "/a"), EISDIR);
    EXPECT_ERRNO(udax_rename(pool, "/a", "/b/two"), ENOTDIR);
    assert_int_equal(udax_mkdir(pool, "/b/full", 0755), 0);
    write_file(pool, "/b/full/x", "x");
    EXPECT_ERRNO(udax_rename(pool, "/a", "/b/full"), ENOTEMPTY);
    EXPECT_ERRNO(udax_rename(pool, "/", "/b/root"), EBUSY);
    EXPECT_ERRNO(udax_rename(pool, "/a/.", "/b/dot"), EBUSY);

    assert_int_equal(udax_mkdir(pool, "/b/empty", 0755), 0);
    assert_int_equal(udax_rename(pool, "/a", "/b/empty"), 0);
    assert_int_equal(udax_stat(pool, "/b/empty/sub", &st), 0);
    assert_int_equal(udax_stat(pool, "/b/empty/sub/..", &st), 0);
    struct stat b;
    assert_int_equal(udax_stat(pool, "/b/empty", &b), 0);
    assert_int_equal(st.st_ino, b.st_ino);
    assert_int_equal(udax_stat(pool, "/b/empty/..", &st), 0);
    assert_int_equal(udax_stat(pool, "/b", &b), 0);
    assert_int_equal(st.st_ino, b.st_ino);
    assert_int_equal(b.st_nlink, 4);
}

static void expect_pattern(struct udax_pool *pool, int fd, size_t size, uint64_t seed)
{
    unsigned char *want = malloc(size), *got = malloc(size);
    test_fill(want, size, seed, 0);
    assert_int_equal(udax_pread(pool, fd, got, size, 0), (ssize_t)size);
    assert_memory_equal(got, want, size);
    free(want);
    free(got);
}

static struct statvfs pool_space(struct udax_pool *pool)
{
    struct statvfs st;
    assert_int_equal(udax_statvfs(pool, &st), 0);
    return st;
}

/*
 * An unlinked file that is still open (an orphan) keeps its inode and blocks
 * until its last descriptor closes: readable, writable, its blocks never
 * handed out again, even when the pool runs full; the last close frees them.
 */
static void test_unlink_open_file(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    const size_t size = 40 * 4096 + 100;
    unsigned char *data = malloc(size);
    test_fill(data, size, 11, 0);
    int fd = udax_open(pool, "/gone", O_CREAT | O_RDWR, 0644);
    assert_int_equal(udax_write(pool, fd, data, size), (ssize_t)size);
    int reader = udax_open(pool, "/gone", O_RDONLY);
    assert_true(reader >= 0);
    struct statvfs linked = pool_space(pool);
    assert_int_equal(udax_unlink(pool, "/gone"), 0);
    struct stat st;
    EXPECT_ERRNO(udax_stat(pool, "/gone", &st), ENOENT);
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_nlink, 0);
    assert_int_equal(st.st_size, (off_t)size);
    struct statvfs orphaned = pool_space(pool);
    assert_int_equal(orphaned.f_ffree, linked.f_ffree);
    assert_true(orphaned.f_bfree <= linked.f_bfree);

    /* The name is free for another file; the orphan is not that file. */
    write_file(pool, "/gone", "new");
    expect_pattern(pool, fd, size, 11);

    /* Writing to the orphan still works and grows it. */
    test_fill(data, 4096, 12, 0);
    assert_int_equal(udax_pwrite(pool, fd, data, 4096, (off_t)size), 4096);
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_int_equal(st.st_size, (off_t)size + 4096);
    unsigned char back[4096];
    assert_int_equal(udax_pread(pool, reader, back, 4096, (off_t)size), 4096);
    assert_memory_equal(back, data, 4096);
    blkcnt_t orphan_blocks = st.st_blocks / 8;

    /* Filling the pool to ENOSPC takes none of the orphan's blocks. */
    int filler = udax_open(pool, "/filler", O_CREAT | O_WRONLY, 0644);
    const size_t chunk = 1 << 20;
    unsigned char *zeros = calloc(1, chunk);
    while (udax_write(pool, filler, zeros, chunk) > 0)
        ;
    assert_int_equal(errno, ENOSPC);
    free(zeros);
    assert_int_equal(udax_close(pool, filler), 0);
    expect_pattern(pool, reader, size, 11);
    assert_int_equal(udax_unlink(pool, "/filler"), 0);

    /* The first close leaves it to the other descriptor; the last frees it. */
    assert_int_equal(udax_close(pool, fd), 0);
    expect_pattern(pool, reader, size, 11);
    assert_int_equal(udax_fstat(pool, reader, &st), 0);
    assert_int_equal(st.st_nlink, 0);
    struct statvfs before_close = pool_space(pool);
    assert_int_equal(udax_close(pool, reader), 0);
    struct statvfs after_close = pool_space(pool);
    assert_int_equal(after_close.f_ffree, before_close.f_ffree + 1);
    assert_true(after_close.f_bfree >= before_close.f_bfree + (fsblkcnt_t)orphan_blocks);
    expect_contents(pool, "/gone", "new");
    free(data);
}

static void test_openat(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/base", 0755), 0);
    int dirfd = udax_open(pool, "/base", O_RDONLY | O_DIRECTORY);
    assert_true(dirfd >= 0);
    int fd = udax_openat(pool, dirfd, "child", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/base/child", &st), 0);
    fd = udax_openat(pool, AT_FDCWD, "base/child", O_RDONLY);
    assert_true(fd >= 0);
    EXPECT_ERRNO(udax_openat(pool, fd, "x", O_RDONLY), ENOTDIR);
    EXPECT_ERRNO(udax_openat(pool, 999, "x", O_RDONLY), EBADF);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_close(pool, dirfd), 0);
}

/*
 * ".." in a removed directory is the directory it was removed from, removed
 * too and still unique, as on Linux: not whatever inode took its number.
 */
static void test_dotdot_of_removed_directory(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/a", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/a/b", 0755), 0);
    struct stat root_st, a_st, st;
    assert_int_equal(udax_stat(pool, "/", &root_st), 0);
    assert_int_equal(udax_stat(pool, "/a", &a_st), 0);
    int b = udax_open(pool, "/a/b", O_RDONLY | O_DIRECTORY);
    assert_true(b >= 0);
    assert_int_equal(udax_rmdir(pool, "/a/b"), 0);
    assert_int_equal(udax_rmdir(pool, "/a"), 0);
    for (int i = 0; i < 8; i++) {
        char path[16];
        snprintf(path, sizeof(path), "/new%d", i);
        assert_int_equal(udax_mkdir(pool, path, 0755), 0);
        assert_int_equal(udax_stat(pool, path, &st), 0);
        assert_int_not_equal(st.st_ino, a_st.st_ino);
    }
    assert_int_equal(udax_fstatat(pool, b, "..", &st, 0), 0);
    assert_int_equal(st.st_ino, a_st.st_ino);
    assert_int_equal(st.st_nlink, 0);
    assert_int_equal(udax_fstatat(pool, b, "../..", &st, 0), 0);
    assert_int_equal(st.st_ino, root_st.st_ino);
    EXPECT_ERRNO(udax_mkdirat(pool, b, "../x", 0755), ENOENT);
    EXPECT_ERRNO(udax_openat(pool, b, "../f", O_CREAT | O_WRONLY, 0644), ENOENT);
    EXPECT_ERRNO(udax_mkdirat(pool, b, "x", 0755), ENOENT);
    assert_int_equal(udax_close(pool, b), 0);

    /* A directory that a rename replaces is removed from the rename's target directory. */
    struct stat p_st;
    assert_int_equal(udax_mkdir(pool, "/p", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/p/replaced", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/q", 0755), 0);
    assert_int_equal(udax_stat(pool, "/p", &p_st), 0);
    int replaced = udax_open(pool, "/p/replaced", O_RDONLY | O_DIRECTORY);
    assert_true(replaced >= 0);
    assert_int_equal(udax_rename(pool, "/q", "/p/replaced"), 0);
    assert_int_equal(udax_rmdir(pool, "/p/replaced"), 0);
    assert_int_equal(udax_rmdir(pool, "/p"), 0);
    assert_int_equal(udax_mkdir(pool, "/after", 0755), 0);
    assert_int_equal(udax_fstatat(pool, replaced, "..", &st, 0), 0);
    assert_int_equal(st.st_ino, p_st.st_ino);
    assert_int_equal(st.st_nlink, 0);
    assert_int_equal(udax_close(pool, replaced), 0);

    /* The last close freed every removed directory: root, the eight new ones and /after remain. */
    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    assert_int_equal(info.directories, 10);
}

static const struct udax_cred user_1000 = {.uid = 1000, .gid = 1000, .umask = 022};
static const struct udax_cred user_1001 = {.uid = 1001, .gid = 1001, .umask = 022};

/* udax_reopen: the file an O_PATH descriptor names, opened anew with all of open's checks but the walk's. */
static void test_reopen_by_fd(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    write_file(pool, "/d/f", "hello");
    int path_fd = udax_open(pool, "/d/f", O_PATH);
    assert_true(path_fd >= 0);

    /* For reading and writing, each with its own position, none shared with the O_PATH descriptor. */
    int rd = udax_reopen(pool, path_fd, O_RDONLY);
    int wr = udax_reopen(pool, path_fd, O_WRONLY);
    assert_true(rd >= 0 && wr >= 0 && rd != path_fd && wr != rd);
    char buf[16] = {0};
    assert_int_equal(udax_read(pool, rd, buf, 2), 2);
    assert_memory_equal(buf, "he", 2);
    EXPECT_ERRNO(udax_write(pool, rd, "x", 1), EBADF);
    assert_int_equal(udax_write(pool, wr, "J", 1), 1);
    EXPECT_ERRNO(udax_read(pool, wr, buf, 1), EBADF);
    assert_int_equal(udax_read(pool, rd, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "llo", 3);
    expect_contents(pool, "/d/f", "Jello");
    assert_int_equal(udax_close(pool, wr), 0);
    assert_int_equal(udax_close(pool, rd), 0);

    /* O_TRUNC truncates, O_CREAT without O_EXCL opens the file as it is, O_PATH gives an O_PATH descriptor. */
    int fd = udax_reopen(pool, path_fd, O_RDWR | O_TRUNC);
    assert_true(fd >= 0);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/d/f", &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(udax_write(pool, fd, "abc", 3), 3);
    assert_int_equal(udax_close(pool, fd), 0);
    fd = udax_reopen(pool, path_fd, O_RDONLY | O_CREAT);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_stat(pool, "/d/f", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    expect_contents(pool, "/d/f", "abc");
    fd = udax_reopen(pool, path_fd, O_PATH | O_RDWR);
    assert_true(fd >= 0);
    EXPECT_ERRNO(udax_read(pool, fd, buf, 1), EBADF);
    EXPECT_ERRNO(udax_write(pool, fd, "x", 1), EBADF);
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(udax_close(pool, fd), 0);

    /* Errors, which leave the file as it was. */
    EXPECT_ERRNO(udax_reopen(pool, path_fd, O_RDWR | O_CREAT | O_EXCL), EEXIST);
    EXPECT_ERRNO(udax_reopen(pool, path_fd, O_RDONLY | O_DIRECTORY), ENOTDIR);
    EXPECT_ERRNO(udax_reopen(pool, path_fd, O_RDWR | O_TRUNC | 0x40000000), EINVAL);
    EXPECT_ERRNO(udax_reopen(pool, path_fd, O_ACCMODE), EINVAL);
    EXPECT_ERRNO(udax_reopen(pool, 999, O_RDONLY), EBADF);
    EXPECT_ERRNO(udax_reopen(pool, -1, O_RDONLY), EBADF);
    expect_contents(pool, "/d/f", "abc");

    /* A directory: read-only, and a stream through fdopendir. */
    int dir_path = udax_open(pool, "/d", O_PATH | O_DIRECTORY);
    assert_true(dir_path >= 0);
    EXPECT_ERRNO(udax_reopen(pool, dir_path, O_RDWR), EISDIR);
    EXPECT_ERRNO(udax_reopen(pool, dir_path, O_RDONLY | O_CREAT), EISDIR);
    EXPECT_ERRNO(udax_reopen(pool, dir_path, O_RDONLY | O_CREAT | O_EXCL), EEXIST);
    EXPECT_ERRNO(udax_reopen(pool, dir_path, O_RDONLY | O_CREAT | O_DIRECTORY), EINVAL);
    int dir_fd = udax_reopen(pool, dir_path, O_RDONLY | O_DIRECTORY);
    assert_true(dir_fd >= 0);
    UDAX_DIR *dir = udax_fdopendir(pool, dir_fd);
    assert_non_null(dir);
    int names = 0;
    for (struct dirent *e; (e = udax_readdir(pool, dir));)
        names += !strcmp(e->d_name, "f");
    assert_int_equal(names, 1);
    assert_int_equal(udax_closedir(pool, dir), 0);
    assert_int_equal(udax_close(pool, dir_path), 0);

    /* A symlink, which an O_PATH|O_NOFOLLOW descriptor names, opens only as O_PATH. */
    assert_int_equal(udax_symlink(pool, "/d/f", "/s"), 0);
    int link_path = udax_open(pool, "/s", O_PATH | O_NOFOLLOW);
    assert_true(link_path >= 0);
    EXPECT_ERRNO(udax_reopen(pool, link_path, O_RDONLY), ELOOP);
    EXPECT_ERRNO(udax_reopen(pool, link_path, O_RDONLY | O_CREAT), ELOOP);
    EXPECT_ERRNO(udax_reopen(pool, link_path, O_RDONLY | O_DIRECTORY), ENOTDIR);
    fd = udax_reopen(pool, link_path, O_PATH);
    assert_true(fd >= 0);
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_close(pool, link_path), 0);

    /* A FIFO, as udax_open refuses it. */
    assert_int_equal(udax_mknod(pool, "/p", S_IFIFO | 0666, 0), 0);
    int fifo_path = udax_open(pool, "/p", O_PATH);
    assert_true(fifo_path >= 0);
    EXPECT_ERRNO(udax_reopen(pool, fifo_path, O_RDONLY | O_NONBLOCK), ENXIO);
    assert_int_equal(udax_close(pool, fifo_path), 0);

    /* A file that lost its last name still opens through its descriptor. */
    assert_int_equal(udax_unlink(pool, "/d/f"), 0);
    fd = udax_reopen(pool, path_fd, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(udax_pread(pool, fd, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_close(pool, path_fd), 0);
}

/* udax_reopen with another thread credential: the file's permissions, ownership for O_NOATIME, no walk to search. */
static void test_reopen_as_user(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/locked", 0700), 0);
    write_file(pool, "/locked/f", "data");
    assert_int_equal(udax_chmod(pool, "/locked/f", 0644), 0);
    write_file(pool, "/secret", "s");
    assert_int_equal(udax_chmod(pool, "/secret", 0600), 0);
    write_file(pool, "/setid", "x");
    assert_int_equal(udax_chmod(pool, "/setid", 06777), 0);
    write_file(pool, "/mine", "m");
    assert_int_equal(udax_chown(pool, "/mine", 1000, 1000), 0);
    int locked = udax_open(pool, "/locked/f", O_PATH);
    int secret = udax_open(pool, "/secret", O_PATH);
    int setid = udax_open(pool, "/setid", O_PATH);
    int mine = udax_open(pool, "/mine", O_PATH);
    assert_true(locked >= 0 && secret >= 0 && setid >= 0 && mine >= 0);

    assert_int_equal(udax_set_thread_cred(pool, &user_1000), 0);
    /* The user may not search /locked, but reopen walks no path: only the file's own mode counts. */
    EXPECT_ERRNO(udax_open(pool, "/locked/f", O_RDONLY), EACCES);
    int fd = udax_reopen(pool, locked, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    EXPECT_ERRNO(udax_reopen(pool, locked, O_WRONLY), EACCES);
    EXPECT_ERRNO(udax_reopen(pool, locked, O_RDONLY | O_TRUNC), EACCES);
    EXPECT_ERRNO(udax_reopen(pool, secret, O_RDONLY), EACCES);
    fd = udax_reopen(pool, secret, O_PATH);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    EXPECT_ERRNO(udax_reopen(pool, locked, O_RDONLY | O_NOATIME), EPERM);
    fd = udax_reopen(pool, mine, O_RDONLY | O_NOATIME);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    /* O_TRUNC by a writer other than root drops the set-ID bits, as open's does. */
    fd = udax_reopen(pool, setid, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_set_thread_cred(pool, NULL), 0);

    struct stat st;
    assert_int_equal(udax_stat(pool, "/setid", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0777);
    assert_int_equal(st.st_size, 0);
    expect_contents(pool, "/locked/f", "data");
    assert_int_equal(udax_close(pool, locked), 0);
    assert_int_equal(udax_close(pool, secret), 0);
    assert_int_equal(udax_close(pool, setid), 0);
    assert_int_equal(udax_close(pool, mine), 0);
}

/* fchmodat with AT_EMPTY_PATH, as Linux's fchmodat2: the mode of the file an O_PATH descriptor names. */
static void test_fchmodat_empty_path(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    write_file(pool, "/f", "x");
    assert_int_equal(udax_chown(pool, "/f", 1000, 1000), 0);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_symlink(pool, "/f", "/s"), 0);
    int fd = udax_open(pool, "/f", O_PATH);
    int dir = udax_open(pool, "/d", O_PATH);
    int link = udax_open(pool, "/s", O_PATH | O_NOFOLLOW);
    assert_true(fd >= 0 && dir >= 0 && link >= 0);
    struct stat st;

    /* fchmod refuses an O_PATH descriptor, which is why the flag is needed. */
    EXPECT_ERRNO(udax_fchmod(pool, fd, 0600), EBADF);
    EXPECT_ERRNO(udax_fchmodat(pool, fd, "", 0600, 0), ENOENT);
    EXPECT_ERRNO(udax_fchmodat(pool, fd, "x", 0600, AT_EMPTY_PATH), ENOTDIR);
    EXPECT_ERRNO(udax_fchmodat(pool, link, "", 0600, AT_EMPTY_PATH), EOPNOTSUPP);
    EXPECT_ERRNO(udax_fchmodat(pool, fd, "", 0600, AT_EMPTY_PATH | 0x1), EINVAL);
    assert_int_equal(udax_stat(pool, "/f", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);

    assert_int_equal(udax_fchmodat(pool, fd, "", 0600, AT_EMPTY_PATH), 0);
    assert_int_equal(udax_stat(pool, "/f", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(udax_fchmodat(pool, dir, "", 0700, AT_EMPTY_PATH), 0);
    assert_int_equal(udax_stat(pool, "/d", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    /* With a name, the flag changes nothing: the name resolves from the directory. */
    write_file(pool, "/d/g", "g");
    assert_int_equal(udax_fchmodat(pool, dir, "g", 0640, AT_EMPTY_PATH), 0);
    assert_int_equal(udax_stat(pool, "/d/g", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);

    /* Ownership still rules: the owner may, another user may not. */
    assert_int_equal(udax_set_thread_cred(pool, &user_1001), 0);
    EXPECT_ERRNO(udax_fchmodat(pool, fd, "", 0666, AT_EMPTY_PATH), EPERM);
    assert_int_equal(udax_set_thread_cred(pool, &user_1000), 0);
    assert_int_equal(udax_fchmodat(pool, fd, "", 0640, AT_EMPTY_PATH), 0);
    assert_int_equal(udax_set_thread_cred(pool, NULL), 0);
    assert_int_equal(udax_stat(pool, "/f", &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);

    assert_int_equal(udax_close(pool, link), 0);
    assert_int_equal(udax_close(pool, dir), 0);
    assert_int_equal(udax_close(pool, fd), 0);
}

static off_t position(struct udax_pool *pool, int fd)
{
    return udax_lseek(pool, fd, 0, SEEK_CUR);
}

/* copy_file_range with both kinds of offset, to the end of the source, in pieces larger than its buffer. */
static void test_copy_file_range(void **state)
{
    struct test_fixture *f = *state;
    struct udax_pool *pool = f->pool;
    const size_t size = 9 * 1024 * 1024 + 123;
    unsigned char *data = malloc(size), *back = malloc(size);
    test_fill(data, size, 21, 0);
    int src = udax_open(pool, "/src", O_CREAT | O_RDWR, 0644);
    int dst = udax_open(pool, "/dst", O_CREAT | O_RDWR, 0644);
    assert_int_equal(udax_pwrite(pool, src, data, size, 0), (ssize_t)size);
    struct timespec old[2] = {{1, 0}, {1, 0}};
    assert_int_equal(udax_futimens(pool, dst, old), 0);

    /* NULL offsets: the positions, which move. */
    assert_int_equal(udax_lseek(pool, src, 100, SEEK_SET), 100);
    assert_int_equal(udax_copy_file_range(pool, src, NULL, dst, NULL, 5000, 0), 5000);
    assert_int_equal(position(pool, src), 5100);
    assert_int_equal(position(pool, dst), 5000);
    assert_int_equal(udax_pread(pool, dst, back, size, 0), 5000);
    assert_memory_equal(back, data + 100, 5000);
    struct stat st;
    assert_int_equal(udax_fstat(pool, dst, &st), 0);
    assert_true(st.st_mtim.tv_sec > 1 && st.st_ctim.tv_sec > 1);

    /* Given offsets: used and advanced, the positions left alone. */
    off_t in = 200, out = 7000;
    assert_int_equal(udax_copy_file_range(pool, src, &in, dst, &out, 1000, 0), 1000);
    assert_int_equal(in, 1200);
    assert_int_equal(out, 8000);
    assert_int_equal(position(pool, src), 5100);
    assert_int_equal(position(pool, dst), 5000);
    assert_int_equal(udax_pread(pool, dst, back, 1000, 7000), 1000);
    assert_memory_equal(back, data + 200, 1000);
    /* One of each. */
    out = 20000;
    assert_int_equal(udax_copy_file_range(pool, src, NULL, dst, &out, 10, 0), 10);
    assert_int_equal(position(pool, src), 5110);
    assert_int_equal(out, 20010);
    assert_int_equal(position(pool, dst), 5000);
    assert_int_equal(udax_pread(pool, dst, back, 10, 20000), 10);
    assert_memory_equal(back, data + 5100, 10);

    /* The end of the source cuts the copy short; at or past it nothing is copied. */
    in = (off_t)size - 500;
    out = 0;
    assert_int_equal(udax_copy_file_range(pool, src, &in, dst, &out, 2000, 0), 500);
    assert_int_equal(in, (off_t)size);
    assert_int_equal(out, 500);
    assert_int_equal(udax_copy_file_range(pool, src, &in, dst, &out, 2000, 0), 0);
    in = (off_t)size + 4096;
    assert_int_equal(udax_copy_file_range(pool, src, &in, dst, &out, 2000, 0), 0);
    assert_int_equal(in, (off_t)size + 4096);
    assert_int_equal(out, 500);
    assert_int_equal(udax_copy_file_range(pool, src, NULL, dst, NULL, 0, 0), 0);
    assert_int_equal(position(pool, src), 5110);

    /* The whole file, more than one buffer's worth, in one call. */
    in = out = 0;
    assert_int_equal(udax_ftruncate(pool, dst, 0), 0);
    assert_int_equal(udax_copy_file_range(pool, src, &in, dst, &out, SIZE_MAX / 2, 0), (ssize_t)size);
    assert_int_equal(udax_fstat(pool, dst, &st), 0);
    assert_int_equal(st.st_size, (off_t)size);
    memset(back, 0, size);
    assert_int_equal(udax_pread(pool, dst, back, size, 0), (ssize_t)size);
    assert_memory_equal(back, data, size);
    /* The other way, through both positions: the lock checker sees their locks taken in one order either way. */
    assert_int_equal(udax_lseek(pool, dst, 0, SEEK_SET), 0);
    assert_int_equal(udax_lseek(pool, src, (off_t)size, SEEK_SET), (off_t)size);
    assert_int_equal(udax_copy_file_range(pool, dst, NULL, src, NULL, 10, 0), 10);
    assert_int_equal(position(pool, dst), 10);
    assert_int_equal(position(pool, src), (off_t)size + 10);
    assert_int_equal(udax_pread(pool, src, back, 10, (off_t)size), 10);
    assert_memory_equal(back, data, 10);
    assert_int_equal(udax_close(pool, dst), 0);
    assert_int_equal(udax_close(pool, src), 0);

    /* Durable: the copy is there after the pool closes and opens again. */
    assert_int_equal(udax_pool_close(pool), 0);
    pool = f->pool = udax_pool_open(f->path, NULL);
    assert_non_null(pool);
    dst = udax_open(pool, "/dst", O_RDONLY);
    memset(back, 0, size);
    assert_int_equal(udax_pread(pool, dst, back, size, 0), (ssize_t)size);
    assert_memory_equal(back, data, size);
    assert_int_equal(udax_close(pool, dst), 0);
    free(data);
    free(back);
}

/* copy_file_range within one file, and from a sparse one. */
static void test_copy_same_and_sparse(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    write_file(pool, "/f", "0123456789");
    int fd = udax_open(pool, "/f", O_RDWR);
    int other = udax_open(pool, "/f", O_RDONLY);

    /* Ranges of one file that do not overlap, through one descriptor or two. */
    off_t in = 0, out = 10;
    assert_int_equal(udax_copy_file_range(pool, fd, &in, fd, &out, 10, 0), 10);
    out = 22;
    in = 0;
    assert_int_equal(udax_copy_file_range(pool, other, &in, fd, &out, 2, 0), 2);
    char text[32];
    assert_int_equal(udax_pread(pool, other, text, sizeof(text), 0), 24);
    assert_memory_equal(text, "01234567890123456789\0\0" "01", 24);

    /* Overlap either way is EINVAL, the end of the source counted; past the end nothing overlaps. */
    in = 0, out = 5;
    EXPECT_ERRNO(udax_copy_file_range(pool, fd, &in, fd, &out, 10, 0), EINVAL);
    assert_int_equal(in, 0);
    assert_int_equal(out, 5);
    in = 5, out = 0;
    EXPECT_ERRNO(udax_copy_file_range(pool, other, &in, fd, &out, 10, 0), EINVAL);
    in = 20, out = 18;
    EXPECT_ERRNO(udax_copy_file_range(pool, fd, &in, fd, &out, 100, 0), EINVAL);
    in = 24, out = 0;
    assert_int_equal(udax_copy_file_range(pool, fd, &in, fd, &out, 10, 0), 0);
    /* Both positions of one descriptor are one position: the ranges overlap unless there is nothing to copy. */
    EXPECT_ERRNO(udax_copy_file_range(pool, fd, NULL, fd, NULL, 5, 0), EINVAL);
    assert_int_equal(udax_lseek(pool, fd, 0, SEEK_END), 24);
    assert_int_equal(udax_copy_file_range(pool, fd, NULL, fd, NULL, 5, 0), 0);
    assert_int_equal(udax_close(pool, other), 0);
    assert_int_equal(udax_close(pool, fd), 0);

    /* A hole of the source reads as zeros, which overwrite what the target had. */
    int sparse = udax_open(pool, "/sparse", O_CREAT | O_RDWR, 0644);
    const size_t hole = 3 * 1024 * 1024;
    assert_int_equal(udax_pwrite(pool, sparse, "z", 1, (off_t)hole), 1);
    int dst = udax_open(pool, "/dst", O_CREAT | O_RDWR, 0644);
    unsigned char *buf = malloc(hole + 1);
    memset(buf, 0xff, hole + 1);
    assert_int_equal(udax_write(pool, dst, buf, hole + 1), (ssize_t)(hole + 1));
    off_t start = 0;
    assert_int_equal(udax_copy_file_range(pool, sparse, NULL, dst, &start, hole + 100, 0), (ssize_t)(hole + 1));
    memset(buf, 0xff, hole + 1);
    assert_int_equal(udax_pread(pool, dst, buf, hole + 1, 0), (ssize_t)(hole + 1));
    for (size_t i = 0; i < hole; i++)
        if (buf[i])
            fail_msg("byte %zu of the copied hole is %#x", i, buf[i]);
    assert_int_equal(buf[hole], 'z');
    free(buf);
    assert_int_equal(udax_close(pool, dst), 0);
    assert_int_equal(udax_close(pool, sparse), 0);
}

/* copy_file_range's errors, which change neither file nor offset; and the set-ID bits it drops as a write does. */
static void test_copy_errors(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    write_file(pool, "/a", "abcdef");
    write_file(pool, "/b", "");
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    int a = udax_open(pool, "/a", O_RDWR), b = udax_open(pool, "/b", O_RDWR);
    int a_wronly = udax_open(pool, "/a", O_WRONLY), b_rdonly = udax_open(pool, "/b", O_RDONLY);
    int b_append = udax_open(pool, "/b", O_WRONLY | O_APPEND), a_path = udax_open(pool, "/a", O_PATH);
    int dir = udax_open(pool, "/d", O_RDONLY | O_DIRECTORY);
    assert_true(a >= 0 && b >= 0 && a_wronly >= 0 && b_rdonly >= 0 && b_append >= 0 && a_path >= 0 && dir >= 0);
    off_t in = 0, out = 0;

    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 1, 1), EINVAL);
    EXPECT_ERRNO(udax_copy_file_range(pool, 999, &in, b, &out, 1, 0), EBADF);
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, 999, &out, 1, 0), EBADF);
    EXPECT_ERRNO(udax_copy_file_range(pool, a_path, &in, b, &out, 1, 0), EBADF);
    EXPECT_ERRNO(udax_copy_file_range(pool, a_wronly, &in, b, &out, 1, 0), EBADF);
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b_rdonly, &out, 1, 0), EBADF);
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b_append, &out, 1, 0), EBADF);
    EXPECT_ERRNO(udax_copy_file_range(pool, dir, &in, b, &out, 1, 0), EISDIR);
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, dir, &out, 1, 0), EISDIR);
    in = -5;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), EINVAL);
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 0, 0), EINVAL);
    assert_int_equal(in, -5);
    in = 0, out = -5;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), EINVAL);
    /* As Linux, which adds offset and length unsigned: -1 and 1 wrap. */
    in = -1, out = 0;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), EOVERFLOW);
    in = 1;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, SIZE_MAX, 0), EOVERFLOW);
    in = 0, out = 1;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, SIZE_MAX, 0), EOVERFLOW);
    /* Nothing may be written at the largest file size, even when nothing is left to copy. */
    in = 0, out = INT64_MAX;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), EFBIG);
    in = 6;
    EXPECT_ERRNO(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), EFBIG);
    assert_int_equal(in, 6);
    assert_int_equal(out, INT64_MAX);
    struct stat st;
    assert_int_equal(udax_fstat(pool, b, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(position(pool, a), 0);

    /* A copy that would pass the largest size stops there. */
    in = 0, out = INT64_MAX - 3;
    assert_int_equal(udax_copy_file_range(pool, a, &in, b, &out, 6, 0), 3);
    assert_int_equal(in, 3);
    assert_int_equal(out, INT64_MAX);
    assert_int_equal(udax_fstat(pool, b, &st), 0);
    assert_int_equal(st.st_size, INT64_MAX);
    assert_int_equal(udax_ftruncate(pool, b, 0), 0);

    /* A caller other than root drops the target's set-ID bits, unless nothing is copied. */
    assert_int_equal(udax_fchmod(pool, b, 06777), 0);
    assert_int_equal(udax_set_thread_cred(pool, &user_1000), 0);
    in = 6, out = 0;
    assert_int_equal(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), 0);
    assert_int_equal(udax_fstat(pool, b, &st), 0);
    assert_int_equal(st.st_mode & 07777, 06777);
    in = 0;
    assert_int_equal(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), 1);
    assert_int_equal(udax_set_thread_cred(pool, NULL), 0);
    assert_int_equal(udax_fstat(pool, b, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0777);
    /* Root keeps them. */
    assert_int_equal(udax_fchmod(pool, b, 06777), 0);
    assert_int_equal(udax_copy_file_range(pool, a, &in, b, &out, 1, 0), 1);
    assert_int_equal(udax_fstat(pool, b, &st), 0);
    assert_int_equal(st.st_mode & 07777, 06777);
    expect_contents(pool, "/b", "ab");

    int fds[] = {a, b, a_wronly, b_rdonly, b_append, a_path, dir};
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
        assert_int_equal(udax_close(pool, fds[i]), 0);
}

static void test_statvfs_and_info(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    struct statvfs before, after;
    assert_int_equal(udax_statvfs(pool, &before), 0);
    assert_int_equal(before.f_bsize, 4096);
    assert_int_equal(before.f_namemax, 255);
    int fd = udax_open(pool, "/grow", O_CREAT | O_RDWR, 0644);
    char block[4096] = {1};
    for (int i = 0; i < 10; i++)
        assert_int_equal(udax_write(pool, fd, block, sizeof(block)), 4096);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_statvfs(pool, &after), 0);
    assert_true(before.f_bfree - after.f_bfree >= 10);
    assert_int_equal(before.f_ffree - after.f_ffree, 1);
    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    assert_int_equal(info.files, 1);
    assert_int_equal(info.directories, 1);
    assert_int_equal(info.free_blocks, after.f_bfree);
}

static void test_pool_open_errors(void **state)
{
    struct test_fixture *f = *state;
    assert_null(udax_pool_open(f->path, NULL));
    assert_int_equal(errno, EBUSY);
    assert_non_null(strstr(udax_last_error(), "pid"));
    assert_null(udax_pool_open("/dev/shm/udax-no-such-pool", NULL));
    assert_int_equal(errno, ENOENT);
    struct udax_open_options bad = {.flags = 1};
    char other[128];
    test_pool_create(other, sizeof(other), 16 << 20, UDAX_DATA_STRICT);
    assert_null(udax_pool_open(other, &bad));
    assert_int_equal(errno, EINVAL);
    test_pool_finish(NULL, other);
    struct udax_mkfs_options tiny = {0};
    EXPECT_ERRNO(udax_pool_create(other, 1 << 20, &tiny), EINVAL);
    unlink(other);
}

/* Another process holding the pool gets named; one that died without closing blocks nothing. */
static void test_open_lock_across_processes(void **state)
{
    (void)state;
    char path[128];
    test_pool_create(path, sizeof(path), 16 << 20, UDAX_DATA_STRICT);
    int opened[2], release[2];
    assert_int_equal(pipe(opened), 0);
    assert_int_equal(pipe(release), 0);
    pid_t child = fork();
    if (child == 0) {
        char byte = udax_pool_open(path, NULL) ? 'y' : 'n';
        if (write(opened[1], &byte, 1) != 1 || read(release[0], &byte, 1) != 1)
            _exit(2);
        _exit(0);
    }
    char byte;
    assert_int_equal(read(opened[0], &byte, 1), 1);
    assert_int_equal(byte, 'y');
    assert_null(udax_pool_open(path, NULL));
    assert_int_equal(errno, EBUSY);
    char pid_text[32];
    snprintf(pid_text, sizeof(pid_text), "pid %d", (int)child);
    assert_non_null(strstr(udax_last_error(), pid_text));
    assert_int_equal(write(release[1], "x", 1), 1);
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct udax_pool *pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    test_pool_finish(pool, path);
    close(opened[0]);
    close(opened[1]);
    close(release[0]);
    close(release[1]);
}

static int64_t ns_of(struct timespec t)
{
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One change of a kind the round picks; whether it is one of the data, which moves mtime too. */
static bool change_file(struct udax_pool *pool, int fd, int round)
{
    struct stat st;
    assert_int_equal(udax_fstat(pool, fd, &st), 0);
    switch (round % 5) {
    case 0:
        assert_int_equal(udax_pwrite(pool, fd, "w", 1, 0), 1);
        return true;
    case 1:
        assert_int_equal(udax_pwrite(pool, fd, "a", 1, st.st_size), 1);
        return true;
    case 2:
        assert_int_equal(udax_ftruncate(pool, fd, st.st_size), 0);
        return true;
    case 3:
        assert_int_equal(udax_fchmod(pool, fd, round % 2 ? 0600 : 0644), 0);
        return false;
    default:
        assert_int_equal(udax_fsetxattr(pool, fd, "user.round", &round, sizeof(round), 0), 0);
        return false;
    }
}

/*
 * Change times are multigrain (docs/guarantees.md): a change that follows a
 * stat shows later times than that stat saw, however soon it comes; and a
 * change to a file nobody looked at is never stamped before a change made
 * earlier to another.
 */
static void test_change_times_are_multigrain(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    write_file(pool, "/unseen", "u");
    write_file(pool, "/seen", "s");
    int fd = udax_open(pool, "/seen", O_RDWR);
    assert_true(fd >= 0);
    struct stat before, after;
    assert_int_equal(udax_fstat(pool, fd, &before), 0);
    for (int round = 0; round < 50; round++) {
        bool data = change_file(pool, fd, round);
        assert_int_equal(udax_fstat(pool, fd, &after), 0);
        assert_true(ns_of(after.st_ctim) > ns_of(before.st_ctim));
        if (data)
            assert_true(ns_of(after.st_mtim) > ns_of(before.st_mtim));
        before = after;
    }

    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_stat(pool, "/d", &before), 0);
    assert_int_equal(udax_mknod(pool, "/d/n", S_IFREG | 0644, 0), 0);
    assert_int_equal(udax_stat(pool, "/d", &after), 0);
    assert_true(ns_of(after.st_mtim) > ns_of(before.st_mtim) && ns_of(after.st_ctim) > ns_of(before.st_ctim));
    assert_int_equal(udax_unlink(pool, "/d/n"), 0);
    assert_int_equal(udax_stat(pool, "/d", &before), 0);
    assert_true(ns_of(before.st_mtim) > ns_of(after.st_mtim));

    assert_int_equal(udax_pwrite(pool, fd, "x", 1, 0), 1);
    int unseen = udax_open(pool, "/unseen", O_WRONLY);
    assert_true(unseen >= 0);
    assert_int_equal(udax_pwrite(pool, unseen, "y", 1, 0), 1);
    struct stat seen_st, unseen_st;
    assert_int_equal(udax_fstat(pool, fd, &seen_st), 0);
    assert_int_equal(udax_fstat(pool, unseen, &unseen_st), 0);
    assert_true(ns_of(unseen_st.st_mtim) >= ns_of(seen_st.st_mtim));
    assert_int_equal(udax_close(pool, unseen), 0);
    assert_int_equal(udax_close(pool, fd), 0);
}

#define BOTH_MODES(test)                                                                                               \
    TEST_ON_POOL(test), cmocka_unit_test_setup_teardown(test, test_fixture_setup_fast, test_fixture_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH_MODES(test_open_flags),        BOTH_MODES(test_bad_descriptors),
        BOTH_MODES(test_read_write_seek),   BOTH_MODES(test_seek_data_hole),
        BOTH_MODES(test_truncate),          BOTH_MODES(test_fallocate),
        BOTH_MODES(test_directories),       BOTH_MODES(test_rename),
        BOTH_MODES(test_unlink_open_file),  BOTH_MODES(test_openat),
        BOTH_MODES(test_dotdot_of_removed_directory),
        BOTH_MODES(test_reopen_by_fd),      BOTH_MODES(test_reopen_as_user),
        BOTH_MODES(test_fchmodat_empty_path),
        BOTH_MODES(test_copy_file_range),   BOTH_MODES(test_copy_same_and_sparse),
        BOTH_MODES(test_copy_errors),
        BOTH_MODES(test_statvfs_and_info),  BOTH_MODES(test_pool_open_errors),
        BOTH_MODES(test_change_times_are_multigrain),
        TEST_ON_POOL(test_descriptors_run_out),
        cmocka_unit_test(test_open_lock_across_processes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
