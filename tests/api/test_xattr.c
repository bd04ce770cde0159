/* test_xattr.c: extended attributes: every call and error, namespaces and permissions, limits, ctime, persistence, compaction. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"

/* Name and value of one attribute together: one log page of entry less its fixed part (docs/format.md). */
#define DATA_MAX 4016
#define USER 1000

static void as_user(struct udax_pool *pool, uid_t uid)
{
    struct udax_cred cred = {.uid = uid, .gid = uid, .umask = 022};
    assert_int_equal(udax_set_cred(pool, &cred), 0);
}

static void make_file(struct udax_pool *pool, const char *path, mode_t mode)
{
    int fd = udax_open(pool, path, O_CREAT | O_EXCL | O_WRONLY, mode);
    assert_true(fd >= 0);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_chmod(pool, path, mode), 0);
}

static void set(struct udax_pool *pool, const char *path, const char *name, const char *value)
{
    assert_int_equal(udax_setxattr(pool, path, name, value, strlen(value), 0), 0);
}

/* The value of name at path (following symlinks when follow), which must be exactly value. */
static void value_is(struct udax_pool *pool, const char *path, const char *name, const void *value, size_t len)
{
    char buf[DATA_MAX + 1];
    assert_int_equal(udax_getxattr(pool, path, name, NULL, 0), (ssize_t)len);
    assert_int_equal(udax_getxattr(pool, path, name, buf, sizeof(buf)), (ssize_t)len);
    assert_memory_equal(buf, value, len);
}

static void text_is(struct udax_pool *pool, const char *path, const char *name, const char *value)
{
    value_is(pool, path, name, value, strlen(value));
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names list returns, sorted and joined by spaces, in a buffer the caller frees; list order is unspecified. */
static char *names_of(const char *list, ssize_t len)
{
    const char *names[1024];
    size_t count = 0;
    for (ssize_t at = 0; at < len; at += (ssize_t)strlen(list + at) + 1) {
        assert_true(count < 1024);
        names[count++] = list + at;
    }
    qsort(names, count, sizeof(names[0]), compare_strings);
    char *out = calloc(1, (size_t)len + 1);
    for (size_t i = 0; i < count; i++) {
        if (i)
            strcat(out, " ");
        strcat(out, names[i]);
    }
    return out;
}

/* listxattr (llistxattr unless follow) at path gives exactly the names in expected, sorted and space-joined. */
static void list_is(struct udax_pool *pool, const char *path, bool follow, const char *expected)
{
    ssize_t len = follow ? udax_listxattr(pool, path, NULL, 0) : udax_llistxattr(pool, path, NULL, 0);
    assert_true(len >= 0);
    char *list = malloc((size_t)len + 1);
    assert_int_equal(follow ? udax_listxattr(pool, path, list, (size_t)len) : udax_llistxattr(pool, path, list, (size_t)len),
                     len);
    char *names = names_of(list, len);
    assert_string_equal(names, expected);
    free(names);
    free(list);
}

static int64_t ctime_of(struct udax_pool *pool, const char *path)
{
    struct stat st;
    assert_int_equal(udax_lstat(pool, path, &st), 0);
    return st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
}

static void test_set_get_list_remove(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    list_is(pool, "/f", true, "");
    set(pool, "/f", "user.colour", "blue");
    set(pool, "/f", "user.shape", "round");
    text_is(pool, "/f", "user.colour", "blue");
    text_is(pool, "/f", "user.shape", "round");
    list_is(pool, "/f", true, "user.colour user.shape");

    char small[3];
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.shape", small, sizeof(small)), ERANGE);
    char list[64];
    assert_int_equal(udax_listxattr(pool, "/f", NULL, 0), 23);
    EXPECT_ERRNO(udax_listxattr(pool, "/f", list, 22), ERANGE);
    assert_int_equal(udax_listxattr(pool, "/f", list, sizeof(list)), 23);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.missing", NULL, 0), ENODATA);

    set(pool, "/f", "user.colour", "green, much greener");
    text_is(pool, "/f", "user.colour", "green, much greener");
    assert_int_equal(udax_removexattr(pool, "/f", "user.colour"), 0);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.colour", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", "user.colour"), ENODATA);
    list_is(pool, "/f", true, "user.shape");

    /* Attributes belong to the inode, whichever of its names reaches it; a directory has its own. */
    assert_int_equal(udax_link(pool, "/f", "/g"), 0);
    text_is(pool, "/g", "user.shape", "round");
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    set(pool, "/d", "user.dir", "yes");
    text_is(pool, "/d", "user.dir", "yes");
    list_is(pool, "/d", true, "user.dir");
    set(pool, "/", "user.root", "r");
    list_is(pool, "/", true, "user.root");
    EXPECT_ERRNO(udax_getxattr(pool, "/missing", "user.a", NULL, 0), ENOENT);
    EXPECT_ERRNO(udax_setxattr(pool, "/f/x", "user.a", "", 0, 0), ENOTDIR);
}

static void test_flags(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", "1", 1, XATTR_REPLACE), ENODATA);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.a", NULL, 0), ENODATA);
    assert_int_equal(udax_setxattr(pool, "/f", "user.a", "1", 1, XATTR_CREATE), 0);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", "2", 1, XATTR_CREATE), EEXIST);
    text_is(pool, "/f", "user.a", "1");
    assert_int_equal(udax_setxattr(pool, "/f", "user.a", "3", 1, XATTR_REPLACE), 0);
    text_is(pool, "/f", "user.a", "3");
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", "4", 1, XATTR_CREATE | XATTR_REPLACE), EEXIST);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.b", "4", 1, XATTR_CREATE | XATTR_REPLACE), ENODATA);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", "5", 1, 4), EINVAL);
    /* Linux checks the flags, the name and the size before it looks the path up. */
    EXPECT_ERRNO(udax_setxattr(pool, "/missing", "user.a", "5", 1, 4), EINVAL);
    text_is(pool, "/f", "user.a", "3");
    list_is(pool, "/f", true, "user.a");
}

static void test_names(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    char name[300];
    memset(name, 'n', sizeof(name));
    memcpy(name, "user.", 5);
    name[256] = '\0';
    EXPECT_ERRNO(udax_setxattr(pool, "/f", name, "v", 1, 0), ERANGE);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", name, NULL, 0), ERANGE);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", name), ERANGE);
    EXPECT_ERRNO(udax_setxattr(pool, "/missing", name, "v", 1, 0), ERANGE);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "", "v", 1, 0), ERANGE);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "", NULL, 0), ERANGE);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", ""), ERANGE);
    name[255] = '\0';
    set(pool, "/f", name, "longest");
    text_is(pool, "/f", name, "longest");
    list_is(pool, "/f", true, name);
    assert_int_equal(udax_removexattr(pool, "/f", name), 0);

    const char *unsupported[] = {"system.posix_acl_access", "system.x", "os2.x", "user", "trusted", "x", "USER.x"};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        EXPECT_ERRNO(udax_setxattr(pool, "/f", unsupported[i], "v", 1, 0), EOPNOTSUPP);
        EXPECT_ERRNO(udax_getxattr(pool, "/f", unsupported[i], NULL, 0), EOPNOTSUPP);
        EXPECT_ERRNO(udax_removexattr(pool, "/f", unsupported[i]), EOPNOTSUPP);
    }
    const char *bare[] = {"user.", "trusted.", "security."};
    for (size_t i = 0; i < 3; i++) {
        EXPECT_ERRNO(udax_setxattr(pool, "/f", bare[i], "v", 1, 0), EINVAL);
        EXPECT_ERRNO(udax_getxattr(pool, "/f", bare[i], NULL, 0), EINVAL);
        EXPECT_ERRNO(udax_removexattr(pool, "/f", bare[i]), EINVAL);
    }
    /* Any bytes but NUL after the prefix, dots and slashes included. */
    set(pool, "/f", "user.a/b.c d", "odd");
    text_is(pool, "/f", "user.a/b.c d", "odd");
    list_is(pool, "/f", true, "user.a/b.c d");
}

static void test_value_sizes(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    assert_int_equal(udax_setxattr(pool, "/f", "user.empty", NULL, 0, 0), 0);
    assert_int_equal(udax_setxattr(pool, "/f", "user.empty2", "ignored", 0, 0), 0);
    value_is(pool, "/f", "user.empty", "", 0);
    value_is(pool, "/f", "user.empty2", "", 0);
    char one;
    assert_int_equal(udax_getxattr(pool, "/f", "user.empty", &one, 1), 0);

    char *big = malloc(XATTR_SIZE_MAX + 2);
    test_fill(big, XATTR_SIZE_MAX + 2, 5, 0);
    size_t most = DATA_MAX - strlen("user.x");
    assert_int_equal(udax_setxattr(pool, "/f", "user.x", big, most, 0), 0);
    value_is(pool, "/f", "user.x", big, most);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.y", big, most + 1, 0), ENOSPC);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.x", big + 1, most + 1, 0), ENOSPC);
    value_is(pool, "/f", "user.x", big, most);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.y", big, XATTR_SIZE_MAX, 0), ENOSPC);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.y", big, XATTR_SIZE_MAX + 1, 0), E2BIG);
    EXPECT_ERRNO(udax_setxattr(pool, "/missing", "user.y", big, XATTR_SIZE_MAX + 1, 0), E2BIG);
    /* The checks Linux makes before the file system's own come first. */
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.x", big, most + 1, XATTR_CREATE), EEXIST);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.y", big, most + 1, XATTR_REPLACE), ENODATA);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.y", NULL, 0), ENODATA);

    char name[256];
    memset(name, 'n', 255);
    memcpy(name, "user.", 5);
    name[255] = '\0';
    assert_int_equal(udax_setxattr(pool, "/f", name, big, DATA_MAX - 255, 0), 0);
    value_is(pool, "/f", name, big, DATA_MAX - 255);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", name, big, DATA_MAX - 254, 0), ENOSPC);
    /* A value smaller than the buffer leaves the rest of it alone. */
    char buf[16];
    memset(buf, '#', sizeof(buf));
    set(pool, "/f", "user.short", "abc");
    assert_int_equal(udax_getxattr(pool, "/f", "user.short", buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc###", 6);
    free(big);
}

/* The names of one inode list in at most 64 KiB (XATTR_LIST_MAX); a name that would go past it is ENOSPC. */
static void test_names_fill_a_list_at_most(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    char name[256];
    memset(name, 'n', 255);
    name[255] = '\0';
    memcpy(name, "user.", 5);
    int i;
    for (i = 0; i < XATTR_LIST_MAX / 256; i++) {
        snprintf(name + 5, 8, "%07d", i);
        name[12] = 'n';
        assert_int_equal(udax_setxattr(pool, "/f", name, NULL, 0, 0), 0);
    }
    snprintf(name + 5, 8, "%07d", i);
    name[12] = 'n';
    EXPECT_ERRNO(udax_setxattr(pool, "/f", name, NULL, 0, 0), ENOSPC);
    snprintf(name + 5, 8, "%07d", 0);
    name[12] = 'n';
    assert_int_equal(udax_setxattr(pool, "/f", name, "replaced", 8, XATTR_REPLACE), 0);
    assert_int_equal(udax_listxattr(pool, "/f", NULL, 0), XATTR_LIST_MAX);
    char *list = malloc(XATTR_LIST_MAX);
    assert_int_equal(udax_listxattr(pool, "/f", list, XATTR_LIST_MAX), XATTR_LIST_MAX);
    EXPECT_ERRNO(udax_listxattr(pool, "/f", list, XATTR_LIST_MAX - 1), ERANGE);
    free(list);
    assert_int_equal(udax_removexattr(pool, "/f", name), 0);
    assert_int_equal(udax_setxattr(pool, "/f", "user.short", NULL, 0, 0), 0);
}

static void test_null_pointers(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    set(pool, "/f", "user.a", "value");
    int fd = udax_open(pool, "/f", O_RDONLY);
    char buf[8];
    EXPECT_ERRNO(udax_getxattr(NULL, "/f", "user.a", buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_getxattr(pool, NULL, "user.a", buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", NULL, buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.a", NULL, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_fgetxattr(NULL, fd, "user.a", buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_fgetxattr(pool, fd, NULL, buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_getxattrat(pool, AT_FDCWD, NULL, 0, "user.a", buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_setxattr(NULL, "/f", "user.a", "v", 1, 0), EFAULT);
    EXPECT_ERRNO(udax_setxattr(pool, NULL, "user.a", "v", 1, 0), EFAULT);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", NULL, "v", 1, 0), EFAULT);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", NULL, 1, 0), EFAULT);
    EXPECT_ERRNO(udax_fsetxattr(pool, fd, "user.a", NULL, 1, 0), EFAULT);
    EXPECT_ERRNO(udax_setxattrat(pool, AT_FDCWD, NULL, 0, "user.a", "v", 1, 0), EFAULT);
    EXPECT_ERRNO(udax_listxattr(NULL, "/f", buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_listxattr(pool, NULL, buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_listxattr(pool, "/f", NULL, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_flistxattr(pool, fd, NULL, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_listxattrat(pool, AT_FDCWD, NULL, 0, buf, sizeof(buf)), EFAULT);
    EXPECT_ERRNO(udax_removexattr(NULL, "/f", "user.a"), EFAULT);
    EXPECT_ERRNO(udax_removexattr(pool, NULL, "user.a"), EFAULT);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", NULL), EFAULT);
    EXPECT_ERRNO(udax_fremovexattr(pool, fd, NULL), EFAULT);
    EXPECT_ERRNO(udax_removexattrat(pool, AT_FDCWD, NULL, 0, "user.a"), EFAULT);
    assert_int_equal(udax_close(pool, fd), 0);
    text_is(pool, "/f", "user.a", "value");
}

static void test_descriptors_and_at_calls(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    make_file(pool, "/d/f", 0644);
    assert_int_equal(udax_symlink(pool, "f", "/d/s"), 0);

    /* A read-only descriptor may change attributes: the permission is checked on the inode. */
    int fd = udax_open(pool, "/d/f", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(udax_fsetxattr(pool, fd, "user.fd", "1", 1, 0), 0);
    char buf[64];
    assert_int_equal(udax_fgetxattr(pool, fd, "user.fd", buf, sizeof(buf)), 1);
    assert_int_equal(udax_flistxattr(pool, fd, buf, sizeof(buf)), 8);
    assert_string_equal(buf, "user.fd");
    EXPECT_ERRNO(udax_fsetxattr(pool, fd, "user.fd", "2", 1, XATTR_CREATE), EEXIST);
    assert_int_equal(udax_fremovexattr(pool, fd, "user.fd"), 0);
    EXPECT_ERRNO(udax_fremovexattr(pool, fd, "user.fd"), ENODATA);
    EXPECT_ERRNO(udax_fgetxattr(pool, fd, "user.fd", buf, sizeof(buf)), ENODATA);
    assert_int_equal(udax_close(pool, fd), 0);
    EXPECT_ERRNO(udax_fgetxattr(pool, fd, "user.fd", buf, sizeof(buf)), EBADF);
    EXPECT_ERRNO(udax_fsetxattr(pool, 12345, "user.fd", "1", 1, 0), EBADF);
    EXPECT_ERRNO(udax_flistxattr(pool, -1, buf, sizeof(buf)), EBADF);
    EXPECT_ERRNO(udax_fremovexattr(pool, -1, "user.fd"), EBADF);

    /* O_PATH descriptors: refused by the f- calls, as on Linux; named by an *at call with an empty path. */
    int path_fd = udax_open(pool, "/d/f", O_PATH);
    assert_true(path_fd >= 0);
    EXPECT_ERRNO(udax_fsetxattr(pool, path_fd, "user.p", "1", 1, 0), EBADF);
    EXPECT_ERRNO(udax_fgetxattr(pool, path_fd, "user.p", NULL, 0), EBADF);
    EXPECT_ERRNO(udax_flistxattr(pool, path_fd, NULL, 0), EBADF);
    EXPECT_ERRNO(udax_fremovexattr(pool, path_fd, "user.p"), EBADF);
    assert_int_equal(udax_setxattrat(pool, path_fd, "", AT_EMPTY_PATH, "user.p", "path", 4, 0), 0);
    assert_int_equal(udax_getxattrat(pool, path_fd, "", AT_EMPTY_PATH, "user.p", buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "path", 4);
    assert_int_equal(udax_listxattrat(pool, path_fd, "", AT_EMPTY_PATH, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "user.p");
    EXPECT_ERRNO(udax_getxattrat(pool, path_fd, "", 0, "user.p", NULL, 0), ENOENT);
    assert_int_equal(udax_removexattrat(pool, path_fd, "", AT_EMPTY_PATH, "user.p"), 0);
    EXPECT_ERRNO(udax_getxattrat(pool, path_fd, "", AT_EMPTY_PATH, "user.p", NULL, 0), ENODATA);
    assert_int_equal(udax_close(pool, path_fd), 0);

    /* Relative to a directory descriptor, O_PATH or not. */
    int dir_fd = udax_open(pool, "/d", O_PATH | O_DIRECTORY);
    assert_true(dir_fd >= 0);
    assert_int_equal(udax_setxattrat(pool, dir_fd, "f", 0, "user.at", "at", 2, 0), 0);
    text_is(pool, "/d/f", "user.at", "at");
    assert_int_equal(udax_getxattrat(pool, dir_fd, "s", 0, "user.at", buf, sizeof(buf)), 2);
    EXPECT_ERRNO(udax_getxattrat(pool, dir_fd, "s", AT_SYMLINK_NOFOLLOW, "user.at", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_getxattrat(pool, dir_fd, "f", AT_REMOVEDIR, "user.at", NULL, 0), EINVAL);
    EXPECT_ERRNO(udax_setxattrat(pool, dir_fd, "f", AT_SYMLINK_FOLLOW, "user.at", "x", 1, 0), EINVAL);
    EXPECT_ERRNO(udax_listxattrat(pool, dir_fd, "f", 0x10000, NULL, 0), EINVAL);
    EXPECT_ERRNO(udax_removexattrat(pool, dir_fd, "f", AT_REMOVEDIR, "user.at"), EINVAL);
    assert_int_equal(udax_listxattrat(pool, dir_fd, "f", 0, NULL, 0), 8);
    assert_int_equal(udax_setxattrat(pool, dir_fd, "", AT_EMPTY_PATH, "user.dir", "d", 1, 0), 0);
    text_is(pool, "/d", "user.dir", "d");
    assert_int_equal(udax_removexattrat(pool, dir_fd, "f", 0, "user.at"), 0);
    EXPECT_ERRNO(udax_getxattr(pool, "/d/f", "user.at", NULL, 0), ENODATA);
    assert_int_equal(udax_close(pool, dir_fd), 0);

    /* A symlink's own attributes through an O_PATH | O_NOFOLLOW descriptor, as a FUSE server names it. */
    int link_fd = udax_open(pool, "/d/s", O_PATH | O_NOFOLLOW);
    assert_true(link_fd >= 0);
    assert_int_equal(udax_setxattrat(pool, link_fd, "", AT_EMPTY_PATH, "trusted.link", "l", 1, 0), 0);
    assert_int_equal(udax_lgetxattr(pool, "/d/s", "trusted.link", buf, sizeof(buf)), 1);
    EXPECT_ERRNO(udax_getxattr(pool, "/d/s", "trusted.link", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_setxattrat(pool, link_fd, "", AT_EMPTY_PATH, "user.x", "x", 1, 0), EPERM);
    assert_int_equal(udax_close(pool, link_fd), 0);

    /* An open file keeps its attributes after its last name goes. */
    fd = udax_open(pool, "/d/f", O_RDWR);
    assert_int_equal(udax_unlink(pool, "/d/f"), 0);
    assert_int_equal(udax_fsetxattr(pool, fd, "user.gone", "g", 1, 0), 0);
    assert_int_equal(udax_fgetxattr(pool, fd, "user.gone", buf, sizeof(buf)), 1);
    assert_int_equal(udax_close(pool, fd), 0);
}

/* The l- calls act on a symlink itself, where user attributes are not allowed; the others follow it. */
static void test_symlinks_and_special_files(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    assert_int_equal(udax_symlink(pool, "/f", "/s"), 0);
    assert_int_equal(udax_mknod(pool, "/p", S_IFIFO | 0666, 0), 0);
    set(pool, "/s", "user.target", "t");
    text_is(pool, "/f", "user.target", "t");
    list_is(pool, "/s", true, "user.target");
    list_is(pool, "/s", false, "");
    EXPECT_ERRNO(udax_lgetxattr(pool, "/s", "user.target", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_lsetxattr(pool, "/s", "user.x", "x", 1, 0), EPERM);
    EXPECT_ERRNO(udax_lremovexattr(pool, "/s", "user.x"), EPERM);
    assert_int_equal(udax_lsetxattr(pool, "/s", "trusted.t", "own", 3, 0), 0);
    assert_int_equal(udax_lsetxattr(pool, "/s", "security.s", "sec", 3, 0), 0);
    char buf[8];
    assert_int_equal(udax_lgetxattr(pool, "/s", "trusted.t", buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "own", 3);
    list_is(pool, "/s", false, "security.s trusted.t");
    list_is(pool, "/f", true, "user.target");
    assert_int_equal(udax_lremovexattr(pool, "/s", "trusted.t"), 0);
    list_is(pool, "/s", false, "security.s");
    assert_int_equal(udax_lsetxattr(pool, "/f", "user.plain", "p", 1, 0), 0);
    assert_int_equal(udax_llistxattr(pool, "/f", buf, sizeof(buf)), -1);
    assert_int_equal(errno, ERANGE);

    EXPECT_ERRNO(udax_setxattr(pool, "/p", "user.x", "x", 1, 0), EPERM);
    EXPECT_ERRNO(udax_getxattr(pool, "/p", "user.x", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_removexattr(pool, "/p", "user.x"), EPERM);
    assert_int_equal(udax_setxattr(pool, "/p", "trusted.fifo", "f", 1, 0), 0);
    list_is(pool, "/p", true, "trusted.fifo");
}

/* Linux's rules for a caller who is not root: read and write permission for user., nothing of trusted., security. read-only. */
static void test_permissions(void **state)
{
    struct udax_pool *pool = test_fixture_pool(state);
    make_file(pool, "/f", 0644);
    set(pool, "/f", "user.a", "a");
    set(pool, "/f", "trusted.t", "t");
    set(pool, "/f", "security.s", "s");
    make_file(pool, "/mine", 0600);
    assert_int_equal(udax_chown(pool, "/mine", USER, USER), 0);
    set(pool, "/mine", "trusted.t", "t");
    assert_int_equal(udax_mkdir(pool, "/sticky", 01777), 0);
    assert_int_equal(udax_chmod(pool, "/sticky", 01777), 0);
    set(pool, "/sticky", "user.d", "d");
    assert_int_equal(udax_mkdir(pool, "/private", 0700), 0);
    make_file(pool, "/private/f", 0644);
    int64_t ctime_f = ctime_of(pool, "/f");

    as_user(pool, USER);
    text_is(pool, "/f", "user.a", "a");
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", "b", 1, 0), EACCES);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.new", "b", 1, 0), EACCES);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", "user.a"), EACCES);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "trusted.t", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "trusted.none", NULL, 0), ENODATA);
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "trusted.t", "u", 1, 0), EPERM);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", "trusted.t"), EPERM);
    text_is(pool, "/f", "security.s", "s");
    EXPECT_ERRNO(udax_setxattr(pool, "/f", "security.s", "u", 1, 0), EPERM);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", "security.s"), EPERM);
    list_is(pool, "/f", true, "security.s user.a");
    assert_int_equal(ctime_of(pool, "/f"), ctime_f);

    /* Their own file: user. attributes as they like; still no trusted. or security. ones. */
    set(pool, "/mine", "user.m", "m");
    text_is(pool, "/mine", "user.m", "m");
    EXPECT_ERRNO(udax_setxattr(pool, "/mine", "security.s", "u", 1, 0), EPERM);
    EXPECT_ERRNO(udax_setxattr(pool, "/mine", "trusted.u", "u", 1, 0), EPERM);
    EXPECT_ERRNO(udax_removexattr(pool, "/mine", "trusted.t"), EPERM);
    list_is(pool, "/mine", true, "user.m");
    assert_int_equal(udax_chmod(pool, "/mine", 0200), 0);
    EXPECT_ERRNO(udax_getxattr(pool, "/mine", "user.m", NULL, 0), EACCES);
    list_is(pool, "/mine", true, "user.m");
    set(pool, "/mine", "user.w", "w");
    assert_int_equal(udax_chmod(pool, "/mine", 0400), 0);
    EXPECT_ERRNO(udax_setxattr(pool, "/mine", "user.w", "x", 1, 0), EACCES);
    text_is(pool, "/mine", "user.w", "w");

    /* A sticky directory anyone may write to: only its owner or root changes its own user. attributes. */
    text_is(pool, "/sticky", "user.d", "d");
    EXPECT_ERRNO(udax_setxattr(pool, "/sticky", "user.e", "e", 1, 0), EPERM);
    EXPECT_ERRNO(udax_removexattr(pool, "/sticky", "user.d"), EPERM);
    assert_int_equal(udax_mkdir(pool, "/sticky/own", 01777), 0);
    set(pool, "/sticky/own", "user.e", "e");
    make_file(pool, "/sticky/file", 0666);
    set(pool, "/sticky/file", "user.e", "e");

    /* The walk's search permission comes first. */
    EXPECT_ERRNO(udax_getxattr(pool, "/private/f", "user.a", NULL, 0), EACCES);
    EXPECT_ERRNO(udax_listxattr(pool, "/private/f", NULL, 0), EACCES);

    /* security. attributes can be read whatever the mode. */
    as_user(pool, 0);
    assert_int_equal(udax_chmod(pool, "/f", 0), 0);
    as_user(pool, USER);
    text_is(pool, "/f", "security.s", "s");
    EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.a", NULL, 0), EACCES);

    as_user(pool, 0);
    list_is(pool, "/f", true, "security.s trusted.t user.a");
    text_is(pool, "/f", "user.a", "a");
    set(pool, "/sticky", "user.e", "root");
    assert_int_equal(udax_removexattr(pool, "/mine", "trusted.t"), 0);
}

/* A set or remove moves ctime, in nanoseconds, in the same commit; mtime stays; a failed call changes nothing. */
static void test_ctime(void **state)
{
    struct test_fixture *f = *state;
    struct udax_pool *pool = f->pool;
    make_file(pool, "/f", 0644);
    struct stat before, after;
    assert_int_equal(udax_stat(pool, "/f", &before), 0);
    set(pool, "/f", "user.a", "1");
    assert_int_equal(udax_stat(pool, "/f", &after), 0);
    int64_t set_ctime = after.st_ctim.tv_sec * 1000000000LL + after.st_ctim.tv_nsec;
    assert_true(set_ctime > before.st_ctim.tv_sec * 1000000000LL + before.st_ctim.tv_nsec);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);

    EXPECT_ERRNO(udax_setxattr(pool, "/f", "user.a", "2", 1, XATTR_CREATE), EEXIST);
    EXPECT_ERRNO(udax_removexattr(pool, "/f", "user.none"), ENODATA);
    assert_int_equal(ctime_of(pool, "/f"), set_ctime);
    char buf[4];
    assert_int_equal(udax_getxattr(pool, "/f", "user.a", buf, sizeof(buf)), 1);
    assert_int_equal(udax_listxattr(pool, "/f", NULL, 0), 7);
    assert_int_equal(ctime_of(pool, "/f"), set_ctime);

    assert_int_equal(udax_removexattr(pool, "/f", "user.a"), 0);
    int64_t remove_ctime = ctime_of(pool, "/f");
    assert_true(remove_ctime > set_ctime);
    assert_int_equal(udax_pool_close(pool), 0);
    f->pool = pool = udax_pool_open(f->path, NULL);
    assert_non_null(pool);
    assert_int_equal(ctime_of(pool, "/f"), remove_ctime);
}

/* Every kind of attribute survives a close and an open, which rebuilds the index from the logs. */
static void test_persistence(void **state)
{
    struct test_fixture *f = *state;
    struct udax_pool *pool = f->pool;
    make_file(pool, "/f", 0644);
    int fd = udax_open(pool, "/f", O_WRONLY);
    assert_int_equal(udax_write(pool, fd, "contents", 8), 8);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_symlink(pool, "f", "/s"), 0);
    char *big = malloc(DATA_MAX);
    test_fill(big, DATA_MAX, 9, 0);
    size_t most = DATA_MAX - strlen("user.big");
    assert_int_equal(udax_setxattr(pool, "/f", "user.big", big, most, 0), 0);
    assert_int_equal(udax_setxattr(pool, "/f", "user.empty", NULL, 0, 0), 0);
    set(pool, "/f", "trusted.t", "trusted");
    set(pool, "/f", "security.s", "secure");
    set(pool, "/f", "user.gone", "soon");
    set(pool, "/f", "user.changed", "before");
    set(pool, "/f", "user.changed", "after");
    assert_int_equal(udax_removexattr(pool, "/f", "user.gone"), 0);
    set(pool, "/d", "user.d", "directory");
    assert_int_equal(udax_lsetxattr(pool, "/s", "trusted.s", "symlink", 7, 0), 0);
    int64_t ctime_f = ctime_of(pool, "/f"), ctime_d = ctime_of(pool, "/d"), ctime_s = ctime_of(pool, "/s");

    for (int round = 0; round < 2; round++) {
        assert_int_equal(udax_pool_close(pool), 0);
        f->pool = pool = udax_pool_open(f->path, NULL);
        assert_non_null(pool);
        value_is(pool, "/f", "user.big", big, most);
        value_is(pool, "/f", "user.empty", "", 0);
        text_is(pool, "/f", "trusted.t", "trusted");
        text_is(pool, "/f", "security.s", "secure");
        text_is(pool, "/f", "user.changed", "after");
        EXPECT_ERRNO(udax_getxattr(pool, "/f", "user.gone", NULL, 0), ENODATA);
        list_is(pool, "/f", true, "security.s trusted.t user.big user.changed user.empty");
        text_is(pool, "/d", "user.d", "directory");
        list_is(pool, "/s", false, "trusted.s");
        assert_int_equal(ctime_of(pool, "/f"), ctime_f);
        assert_int_equal(ctime_of(pool, "/d"), ctime_d);
        assert_int_equal(ctime_of(pool, "/s"), ctime_s);
    }
    free(big);
}

#define MANY 40

/* A model of one inode's attributes: value i of name user.k<i>, length 0 when absent. */
struct model {
    char values[MANY][200];
    size_t lens[MANY];
    bool present[MANY];
};

static void model_name(char *name, int i)
{
    sprintf(name, "user.k%02d", i);
}

static void model_check(struct udax_pool *pool, const char *path, const struct model *m)
{
    char name[16], expected[MANY * 10] = "";
    for (int i = 0; i < MANY; i++) {
        model_name(name, i);
        if (!m->present[i]) {
            EXPECT_ERRNO(udax_getxattr(pool, path, name, NULL, 0), ENODATA);
            continue;
        }
        value_is(pool, path, name, m->values[i], m->lens[i]);
        if (expected[0])
            strcat(expected, " ");
        strcat(expected, name);
    }
    list_is(pool, path, true, expected);
}

/* Sets, replaces and removes many times: the log is compacted over and over, and keeps every live attribute. */
static void churn(struct udax_pool *pool, const char *path, struct model *m, unsigned seed)
{
    char name[16];
    for (int step = 0; step < 3000; step++) {
        int i = rand_r(&seed) % MANY;
        model_name(name, i);
        if (m->present[i] && rand_r(&seed) % 4 == 0) {
            assert_int_equal(udax_removexattr(pool, path, name), 0);
            m->present[i] = false;
            continue;
        }
        m->lens[i] = (size_t)(rand_r(&seed) % 200);
        test_fill(m->values[i], m->lens[i], (uint64_t)step, 0);
        assert_int_equal(udax_setxattr(pool, path, name, m->values[i], m->lens[i], 0), 0);
        m->present[i] = true;
    }
}

static void test_compaction_keeps_every_attribute(void **state)
{
    struct test_fixture *f = *state;
    struct udax_pool *pool = f->pool;
    make_file(pool, "/f", 0644);
    int fd = udax_open(pool, "/f", O_WRONLY);
    char block[4096];
    test_fill(block, sizeof(block), 1, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(udax_pwrite(pool, fd, block, sizeof(block), (off_t)i * 2 * 4096), 4096);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    make_file(pool, "/d/x", 0644);
    make_file(pool, "/d/y", 0644);

    struct model *file_model = calloc(1, sizeof(*file_model)), *dir_model = calloc(1, sizeof(*dir_model));
    churn(pool, "/f", file_model, 1);
    churn(pool, "/d", dir_model, 2);
    model_check(pool, "/f", file_model);
    model_check(pool, "/d", dir_model);
    /* Each of the 3000 commits takes at least three slots: without compaction the two logs would need 280 pages. */
    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    assert_true(info.log_pages < 100);
    struct stat before;
    assert_int_equal(udax_stat(pool, "/f", &before), 0);

    assert_int_equal(udax_pool_close(pool), 0);
    f->pool = pool = udax_pool_open(f->path, NULL);
    assert_non_null(pool);
    model_check(pool, "/f", file_model);
    model_check(pool, "/d", dir_model);
    struct stat after;
    assert_int_equal(udax_stat(pool, "/f", &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(after.st_blocks, before.st_blocks);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    assert_int_equal(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
    assert_int_equal(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
    fd = udax_open(pool, "/f", O_RDONLY);
    char back[4096];
    assert_int_equal(udax_pread(pool, fd, back, sizeof(back), 6 * 4096), 4096);
    assert_memory_equal(back, block, sizeof(block));
    assert_int_equal(udax_close(pool, fd), 0);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/d/x", &st), 0);
    assert_int_equal(udax_stat(pool, "/d/y", &st), 0);
    free(file_model);
    free(dir_model);
}

static uint64_t log_pages(struct udax_pool *pool)
{
    struct udax_pool_info info;
    assert_int_equal(udax_pool_info(pool, &info), 0);
    return info.log_pages;
}

/*
 * Stops right after the set that compacted a file with data: the compacted
 * log alone must give back the ctime the set gave (replaying its EXTENT
 * entries once moved ctime back to the mtime of the last write).
 */
static void test_compaction_keeps_ctime(void **state)
{
    struct test_fixture *f = *state;
    struct udax_pool *pool = f->pool;
    make_file(pool, "/f", 0644);
    int fd = udax_open(pool, "/f", O_WRONLY);
    char block[4096];
    test_fill(block, sizeof(block), 3, 0);
    assert_int_equal(udax_pwrite(pool, fd, block, sizeof(block), 0), 4096);
    /* Seen by stat, the write's times must be passed by the next change's, though the coarse clock has not moved. */
    struct stat written;
    assert_int_equal(udax_fstat(pool, fd, &written), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    bool compacted = false;
    for (int i = 0; i < 1000 && !compacted; i++) {
        uint64_t pages = log_pages(pool);
        assert_int_equal(udax_setxattr(pool, "/f", "user.k", block, (size_t)i % 100, 0), 0);
        compacted = log_pages(pool) < pages;
    }
    assert_true(compacted);
    struct stat before, after;
    assert_int_equal(udax_stat(pool, "/f", &before), 0);
    assert_true(before.st_ctim.tv_sec != before.st_mtim.tv_sec || before.st_ctim.tv_nsec != before.st_mtim.tv_nsec);
    assert_int_equal(udax_pool_close(pool), 0);
    f->pool = pool = udax_pool_open(f->path, NULL);
    assert_non_null(pool);
    assert_int_equal(udax_stat(pool, "/f", &after), 0);
    assert_int_equal(after.st_ctim.tv_sec, before.st_ctim.tv_sec);
    assert_int_equal(after.st_ctim.tv_nsec, before.st_ctim.tv_nsec);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    assert_int_equal(after.st_size, 4096);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST_ON_POOL(test_set_get_list_remove),
        TEST_ON_POOL(test_flags),
        TEST_ON_POOL(test_names),
        TEST_ON_POOL(test_value_sizes),
        TEST_ON_POOL(test_names_fill_a_list_at_most),
        TEST_ON_POOL(test_null_pointers),
        TEST_ON_POOL(test_descriptors_and_at_calls),
        TEST_ON_POOL(test_symlinks_and_special_files),
        TEST_ON_POOL(test_permissions),
        TEST_ON_POOL(test_ctime),
        TEST_ON_POOL(test_persistence),
        TEST_ON_POOL(test_compaction_keeps_every_attribute),
        TEST_ON_POOL(test_compaction_keeps_ctime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
