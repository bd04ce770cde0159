/* test_fuse_ops.c: every operation of the FUSE mount through plain system calls, as root and as other users, and no stale attribute. */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"

static const char *mount_dir;

/* A directory of its own for each test, under the mount: path gets dir/name. */
static void test_path(char *path, size_t size, const char *test, const char *name)
{
    snprintf(path, size, "%s/%s%s%s", mount_dir, test, name ? "/" : "", name ? name : "");
}

static void make_test_dir(const char *test)
{
    char path[PATH_MAX];
    test_path(path, sizeof(path), test, NULL);
    assert_int_equal(mkdir(path, 0777), 0);
    /* The mode must not depend on the umask of whoever runs the tests. */
    assert_int_equal(chmod(path, 0777), 0);
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(close(fd), 0);
}

static void expect_contents(const char *path, const char *text)
{
    char buf[4096] = {0};
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    assert_int_equal(close(fd), 0);
    assert_int_equal(n, (ssize_t)strlen(text));
    assert_string_equal(buf, text);
}

static struct stat stat_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st;
}

static bool time_after(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* Sets a file's times well in the past, so that any change the next call makes shows. */
static void age(const char *path)
{
    struct timespec old[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};
    assert_int_equal(utimensat(AT_FDCWD, path, old, AT_SYMLINK_NOFOLLOW), 0);
}

static void test_names(void **state)
{
    (void)state;
    char dir[PATH_MAX], a[PATH_MAX], b[PATH_MAX], sub[PATH_MAX], fifo[PATH_MAX], link_path[PATH_MAX];
    make_test_dir("names");
    test_path(dir, sizeof(dir), "names", NULL);
    test_path(a, sizeof(a), "names", "a");
    test_path(b, sizeof(b), "names", "b");
    test_path(sub, sizeof(sub), "names", "sub");
    test_path(fifo, sizeof(fifo), "names", "fifo");
    test_path(link_path, sizeof(link_path), "names", "symlink");

    write_file(a, "alpha");
    write_file(b, "beta");
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(mknod(fifo, S_IFIFO | 0600, 0), 0);
    assert_true(S_ISFIFO(stat_of(fifo).st_mode));
    assert_int_equal(symlink("a", link_path), 0);
    char target[64] = {0};
    assert_int_equal(readlink(link_path, target, sizeof(target)), 1);
    assert_string_equal(target, "a");
    expect_contents(link_path, "alpha");
    EXPECT_ERRNO(mkdir(sub, 0755), EEXIST);
    EXPECT_ERRNO(open(a, O_CREAT | O_EXCL | O_WRONLY, 0644), EEXIST);

    /* A rename with flags goes to the pool as it is. */
    EXPECT_ERRNO(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE), EEXIST);
    assert_int_equal(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE), 0);
    expect_contents(a, "beta");
    expect_contents(b, "alpha");
    char moved[PATH_MAX];
    test_path(moved, sizeof(moved), "names", "sub/moved");
    assert_int_equal(rename(a, moved), 0);
    EXPECT_ERRNO(access(a, F_OK), ENOENT);
    expect_contents(moved, "beta");

    EXPECT_ERRNO(rmdir(sub), ENOTEMPTY);
    assert_int_equal(unlink(moved), 0);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(unlink(fifo), 0);
    assert_int_equal(unlink(link_path), 0);
    EXPECT_ERRNO(unlink(sub), ENOENT);

    /* The listing holds exactly what is left. */
    DIR *stream = opendir(dir);
    assert_non_null(stream);
    int names = 0;
    for (struct dirent *entry; (entry = readdir(stream));) {
        if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
            continue;
        assert_string_equal(entry->d_name, "b");
        assert_int_equal(entry->d_type, DT_REG);
        names++;
    }
    assert_int_equal(closedir(stream), 0);
    assert_int_equal(names, 1);
}

/* Enough names that the kernel reads the directory in several requests, each going on from the last one's cookie. */
static void test_large_directory(void **state)
{
    (void)state;
    enum { NAMES = 3000 };
    char dir[PATH_MAX], path[PATH_MAX + 32];
    make_test_dir("large");
    test_path(dir, sizeof(dir), "large", NULL);
    for (int i = 0; i < NAMES; i++) {
        snprintf(path, sizeof(path), "%s/file-with-a-longish-name-%05d", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        assert_true(fd >= 0);
        assert_int_equal(close(fd), 0);
    }
    static bool seen[NAMES];
    DIR *stream = opendir(dir);
    assert_non_null(stream);
    int count = 0;
    for (struct dirent *entry; (entry = readdir(stream));) {
        int index;
        if (sscanf(entry->d_name, "file-with-a-longish-name-%d", &index) != 1)
            continue;
        assert_true(index >= 0 && index < NAMES);
        assert_false(seen[index]);
        seen[index] = true;
        count++;
    }
    assert_int_equal(closedir(stream), 0);
    assert_int_equal(count, NAMES);
    for (int i = 0; i < NAMES; i++) {
        snprintf(path, sizeof(path), "%s/file-with-a-longish-name-%05d", dir, i);
        assert_int_equal(unlink(path), 0);
    }
}

static void test_data(void **state)
{
    (void)state;
    char path[PATH_MAX], copy[PATH_MAX];
    make_test_dir("data");
    test_path(path, sizeof(path), "data", "file");
    test_path(copy, sizeof(copy), "data", "copy");
    enum { SIZE = 1 << 20 };
    char *bytes = malloc(SIZE), *back = malloc(SIZE);
    assert_non_null(bytes);
    assert_non_null(back);
    test_fill(bytes, SIZE, 7, 0);

    int fd = open(path, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, bytes, SIZE, 0), SIZE);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(fdatasync(fd), 0);
    assert_int_equal(pread(fd, back, SIZE, 0), SIZE);
    assert_memory_equal(bytes, back, SIZE);

    /* Holes: a punched range reads as zeros, and lseek finds data and holes. */
    assert_int_equal(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 256 << 10, 256 << 10), 0);
    assert_int_equal(pread(fd, back, 4096, 256 << 10), 4096);
    for (int i = 0; i < 4096; i++)
        assert_int_equal(back[i], 0);
    assert_int_equal(lseek(fd, 0, SEEK_HOLE), 256 << 10);
    assert_int_equal(lseek(fd, 256 << 10, SEEK_DATA), 512 << 10);
    assert_int_equal(fallocate(fd, FALLOC_FL_KEEP_SIZE, SIZE, 1 << 20), 0);
    assert_int_equal(fstat(fd, &(struct stat){0}), 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, SIZE);
    assert_true(st.st_blocks * 512 >= 3 * (SIZE / 2));
    assert_int_equal(ftruncate(fd, SIZE / 2), 0);
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, SIZE / 2);

    /* copy_file_range reaches the pool's own copy. */
    int out = open(copy, O_RDWR | O_CREAT, 0644);
    assert_true(out >= 0);
    loff_t in_offset = 0, out_offset = 0;
    assert_int_equal(copy_file_range(fd, &in_offset, out, &out_offset, 128 << 10, 0), 128 << 10);
    assert_int_equal(pread(out, back, 128 << 10, 0), 128 << 10);
    assert_memory_equal(bytes, back, 128 << 10);
    assert_int_equal(close(out), 0);

    /* O_APPEND writes land at the end the kernel knows. */
    int appender = open(path, O_WRONLY | O_APPEND);
    assert_true(appender >= 0);
    assert_int_equal(write(appender, "tail", 4), 4);
    assert_int_equal(close(appender), 0);
    assert_int_equal(pread(fd, back, 4, SIZE / 2), 4);
    assert_memory_equal(back, "tail", 4);
    assert_int_equal(close(fd), 0);

    struct statvfs vfs;
    assert_int_equal(statvfs(path, &vfs), 0);
    assert_int_equal(vfs.f_bsize, 4096);
    assert_true(vfs.f_blocks > 0 && vfs.f_bfree <= vfs.f_blocks);
    free(bytes);
    free(back);
}

static void test_shared_mmap(void **state)
{
    (void)state;
    char path[PATH_MAX];
    make_test_dir("mmap");
    test_path(path, sizeof(path), "mmap", "file");
    enum { SIZE = 256 << 10 };
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, SIZE), 0);
    char *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    char *bytes = malloc(SIZE), *back = malloc(SIZE);
    test_fill(bytes, SIZE, 11, 0);
    memcpy(map, bytes, SIZE);
    assert_int_equal(msync(map, SIZE, MS_SYNC), 0);
    assert_int_equal(munmap(map, SIZE), 0);
    assert_int_equal(close(fd), 0);

    /* What the mapping stored reached the pool: a fresh open reads it, and so does a new mapping. */
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, back, SIZE, 0), SIZE);
    assert_memory_equal(bytes, back, SIZE);
    assert_int_equal(pwrite(fd, "written", 7, 4096), 7);
    map = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    assert_memory_equal(map + 4096, "written", 7);
    assert_int_equal(munmap(map, SIZE), 0);
    assert_int_equal(close(fd), 0);
    free(bytes);
    free(back);
}

static void test_attributes_and_xattrs(void **state)
{
    (void)state;
    char path[PATH_MAX];
    make_test_dir("attrs");
    test_path(path, sizeof(path), "attrs", "file");
    write_file(path, "x");
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(stat_of(path).st_mode & 07777, 0604);
    assert_int_equal(chown(path, 1234, 5678), 0);
    assert_int_equal(stat_of(path).st_uid, 1234);
    assert_int_equal(stat_of(path).st_gid, 5678);
    struct timespec times[2] = {{.tv_sec = 1500000000, .tv_nsec = 123456789}, {.tv_sec = 1600000000, .tv_nsec = 987654321}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
    struct stat st = stat_of(path);
    assert_int_equal(st.st_atim.tv_sec, 1500000000);
    assert_int_equal(st.st_atim.tv_nsec, 123456789);
    assert_int_equal(st.st_mtim.tv_sec, 1600000000);
    assert_int_equal(st.st_mtim.tv_nsec, 987654321);

    assert_int_equal(setxattr(path, "user.colour", "blue", 4, XATTR_CREATE), 0);
    EXPECT_ERRNO(setxattr(path, "user.colour", "red", 3, XATTR_CREATE), EEXIST);
    assert_int_equal(setxattr(path, "user.shape", "round", 5, 0), 0);
    assert_int_equal(getxattr(path, "user.colour", NULL, 0), 4);
    char value[16] = {0};
    assert_int_equal(getxattr(path, "user.colour", value, sizeof(value)), 4);
    assert_memory_equal(value, "blue", 4);
    EXPECT_ERRNO(getxattr(path, "user.colour", value, 2), ERANGE);
    char list[64];
    ssize_t length = listxattr(path, list, sizeof(list));
    assert_int_equal(length, (ssize_t)sizeof("user.colour") + (ssize_t)sizeof("user.shape"));
    assert_int_equal(removexattr(path, "user.colour"), 0);
    EXPECT_ERRNO(getxattr(path, "user.colour", value, sizeof(value)), ENODATA);
    EXPECT_ERRNO(removexattr(path, "user.colour"), ENODATA);
}

/* After each change the kernel must show the new link count, size and times at once, whatever it cached before. */
static void test_no_stale_attributes(void **state)
{
    (void)state;
    char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], dir[PATH_MAX];
    make_test_dir("stale");
    test_path(dir, sizeof(dir), "stale", NULL);
    test_path(a, sizeof(a), "stale", "a");
    test_path(b, sizeof(b), "stale", "b");
    test_path(c, sizeof(c), "stale", "c");
    write_file(a, "one");
    assert_int_equal(stat_of(a).st_nlink, 1);

    age(a);
    age(dir);
    assert_int_equal(link(a, b), 0);
    assert_int_equal(stat_of(a).st_nlink, 2);
    assert_int_equal(stat_of(b).st_nlink, 2);
    assert_int_equal(stat_of(a).st_ino, stat_of(b).st_ino);
    assert_true(time_after(stat_of(a).st_ctim, (struct timespec){.tv_sec = 1000000000}));
    assert_true(time_after(stat_of(dir).st_mtim, (struct timespec){.tv_sec = 1000000000}));

    /* A write through one name shows through the other: size and mtime. */
    age(a);
    int fd = open(b, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "two", 3), 3);
    assert_int_equal(close(fd), 0);
    struct stat st = stat_of(a);
    assert_int_equal(st.st_size, 6);
    assert_true(time_after(st.st_mtim, (struct timespec){.tv_sec = 1000000000}));
    assert_true(time_after(st.st_ctim, (struct timespec){.tv_sec = 1000000000}));

    /* A rename over a name drops the replaced inode's count, seen through its other name and an open descriptor. */
    write_file(c, "three");
    int held = open(c, O_RDONLY);
    assert_true(held >= 0);
    assert_int_equal(fstat(held, &st), 0);
    assert_int_equal(st.st_nlink, 1);
    age(a);
    assert_int_equal(rename(a, c), 0);
    assert_int_equal(fstat(held, &st), 0);
    assert_int_equal(st.st_nlink, 0);
    assert_int_equal(close(held), 0);
    st = stat_of(c);
    assert_int_equal(st.st_nlink, 2);
    assert_true(time_after(st.st_ctim, (struct timespec){.tv_sec = 1000000000}));
    assert_int_equal(stat_of(b).st_nlink, 2);

    /* An unlink of one name: the other sees the count drop. */
    assert_int_equal(unlink(c), 0);
    assert_int_equal(stat_of(b).st_nlink, 1);

    /* Truncate through a path, and a chmod: seen at once. */
    assert_int_equal(truncate(b, 2), 0);
    assert_int_equal(stat_of(b).st_size, 2);
    assert_int_equal(chmod(b, 0600), 0);
    assert_int_equal(stat_of(b).st_mode & 07777, 0600);

    /* A directory's link count follows its subdirectories. */
    char sub[PATH_MAX];
    test_path(sub, sizeof(sub), "stale", "sub");
    nlink_t before = stat_of(dir).st_nlink;
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(stat_of(dir).st_nlink, before + 1);
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(stat_of(dir).st_nlink, before);
}

/*
 * Runs fn in a child acting as uid 1000, gid 1000, umask 027, with the
 * supplementary groups given, as a request from another user reaches the
 * daemon.
 */
static void as_other_user(void (*fn)(void), const gid_t *groups, size_t group_count)
{
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (setgroups(group_count, groups) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
            _exit(99);
        umask(027);
        fn();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

#define CHILD_EXPECT(condition)                                                                                        \
    do {                                                                                                               \
        if (!(condition)) {                                                                                            \
            fprintf(stderr, "%s:%d: as uid 1000: %s failed (errno %d)\n", __FILE__, __LINE__, #condition, errno);     \
            _exit(1);                                                                                                  \
        }                                                                                                              \
    } while (0)

static char perm_open[PATH_MAX], perm_private[PATH_MAX], perm_group[PATH_MAX], perm_locked[PATH_MAX],
    perm_sticky[PATH_MAX];

static void act_as_other_user(void)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/mine", perm_open);
    int fd = open(path, O_CREAT | O_WRONLY, 0666);
    CHILD_EXPECT(fd >= 0);
    close(fd);
    struct stat st;
    CHILD_EXPECT(stat(path, &st) == 0);
    /* Owner and group are the caller's, and its umask applied. */
    CHILD_EXPECT(st.st_uid == 1000 && st.st_gid == 1000 && (st.st_mode & 07777) == 0640);
    CHILD_EXPECT(open(perm_private, O_RDONLY) < 0 && errno == EACCES);
    /* Readable through the supplementary group only. */
    fd = open(perm_group, O_RDONLY);
    CHILD_EXPECT(fd >= 0);
    close(fd);
    CHILD_EXPECT(open(perm_group, O_WRONLY) < 0 && errno == EACCES);
    snprintf(path, sizeof(path), "%s/new", perm_locked);
    CHILD_EXPECT(mkdir(path, 0755) < 0 && errno == EACCES);
    CHILD_EXPECT(chmod(perm_private, 0777) < 0 && errno == EPERM);
    CHILD_EXPECT(access(perm_private, R_OK) < 0 && errno == EACCES);
    CHILD_EXPECT(access(perm_group, R_OK) == 0);
    snprintf(path, sizeof(path), "%s/roots", perm_sticky);
    CHILD_EXPECT(unlink(path) < 0 && errno == EPERM);
    CHILD_EXPECT(setxattr(perm_private, "user.x", "1", 1, 0) < 0 && errno == EACCES);
}

static void test_permissions(void **state)
{
    (void)state;
    if (getuid() != 0)
        skip();
    make_test_dir("perm");
    test_path(perm_open, sizeof(perm_open), "perm", "open");
    test_path(perm_private, sizeof(perm_private), "perm", "private");
    test_path(perm_group, sizeof(perm_group), "perm", "group");
    test_path(perm_locked, sizeof(perm_locked), "perm", "locked");
    test_path(perm_sticky, sizeof(perm_sticky), "perm", "sticky");
    assert_int_equal(mkdir(perm_open, 0777), 0);
    assert_int_equal(chmod(perm_open, 0777), 0);
    write_file(perm_private, "secret");
    assert_int_equal(chmod(perm_private, 0600), 0);
    write_file(perm_group, "shared");
    assert_int_equal(chown(perm_group, 0, 1001), 0);
    assert_int_equal(chmod(perm_group, 0640), 0);
    assert_int_equal(mkdir(perm_locked, 0755), 0);
    assert_int_equal(chmod(perm_locked, 0755), 0);
    assert_int_equal(mkdir(perm_sticky, 0777), 0);
    assert_int_equal(chmod(perm_sticky, 01777), 0);
    char roots[PATH_MAX + 16];
    snprintf(roots, sizeof(roots), "%s/roots", perm_sticky);
    write_file(roots, "root's");
    gid_t one_group[] = {1001};
    as_other_user(act_as_other_user, one_group, 1);
    /* More groups than the daemon reads at first: the one that grants access comes last. */
    gid_t many_groups[40];
    for (size_t i = 0; i < 40; i++)
        many_groups[i] = (gid_t)(2000 + i);
    many_groups[39] = 1001;
    as_other_user(act_as_other_user, many_groups, 40);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s MOUNT_DIR\n", argv[0]);
        return 2;
    }
    mount_dir = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_large_directory),
        cmocka_unit_test(test_data),
        cmocka_unit_test(test_shared_mmap),
        cmocka_unit_test(test_attributes_and_xattrs),
        cmocka_unit_test(test_no_stale_attributes),
        cmocka_unit_test(test_permissions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
