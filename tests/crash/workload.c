/* workload.c: the operations on the small test tree, and the listings that compare trees. */
#include "workload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>


struct tree {
    char *text;
    size_t len, capacity;
};

static void tree_append(struct tree *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->capacity) {
        t->capacity = (t->len + n + 1) * 2;
        t->text = realloc(t->text, t->capacity);
    }
    memcpy(t->text + t->len, s, n + 1);
    t->len += n;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *relaxed_path;
bool list_times;

/* " xattrs=" and each extended attribute of path as name:hash of its value, in name order; nothing without any. */
static bool describe_xattrs(struct udax_pool *pool, const char *path, struct tree *t)
{
    char list[4096];
    ssize_t len = udax_llistxattr(pool, path, list, sizeof(list));
    if (len <= 0)
        return len == 0;
    char *names[64];
    size_t count = 0;
    for (ssize_t at = 0; at < len && count < 64; at += (ssize_t)strlen(list + at) + 1)
        names[count++] = list + at;
    qsort(names, count, sizeof(names[0]), compare_names);
    tree_append(t, " xattrs=");
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        char value[4096], item[300];
        ssize_t got = udax_lgetxattr(pool, path, names[i], value, sizeof(value));
        ok = ok && got >= 0;
        snprintf(item, sizeof(item), "%s%s:%016llx", i ? "," : "", names[i],
                 (unsigned long long)XXH64(value, got > 0 ? (size_t)got : 0, 0));
        tree_append(t, item);
    }
    return ok;
}

/* What every entry shows, whatever its type: mode (with the type), owner, links and, when asked, times. */
static void describe_inode(const struct stat *st, char *out, size_t size)
{
    int len = snprintf(out, size, "mode=%o owner=%u:%u links=%lu", (unsigned)st->st_mode, (unsigned)st->st_uid,
                       (unsigned)st->st_gid, (unsigned long)st->st_nlink);
    if (list_times)
        snprintf(out + len, size - (size_t)len, " atime=%lld.%09ld mtime=%lld.%09ld ctime=%lld.%09ld",
                 (long long)st->st_atim.tv_sec, st->st_atim.tv_nsec, (long long)st->st_mtim.tv_sec,
                 st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* A canonical listing: every path with its inode's attributes, a hash of a file's contents or a symlink's target, and its extended attributes. */
static bool describe(struct udax_pool *pool, const char *dir_path, struct tree *t)
{
    /* O_NOATIME: describing the tree must not change the pool. */
    int fd = udax_open(pool, dir_path, O_RDONLY | O_DIRECTORY | O_NOATIME);
    UDAX_DIR *dir = fd >= 0 ? udax_fdopendir(pool, fd) : NULL;
    if (!dir) {
        if (fd >= 0)
            udax_close(pool, fd);
        return false;
    }
    char *names[64];
    size_t count = 0;
    struct dirent *e;
    while ((e = udax_readdir(pool, dir)) && count < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            names[count++] = strdup(e->d_name);
    udax_closedir(pool, dir);
    qsort(names, count, sizeof(names[0]), compare_names);
    bool ok = true;
    for (size_t i = 0; i < count; i++) {
        char path[512], line[1000], inode[200];
        snprintf(path, sizeof(path), "%s/%s", strcmp(dir_path, "/") ? dir_path : "", names[i]);
        struct stat st;
        if (udax_lstat(pool, path, &st)) {
            free(names[i]);
            ok = false;
            continue;
        }
        describe_inode(&st, inode, sizeof(inode));
        if (S_ISDIR(st.st_mode)) {
            snprintf(line, sizeof(line), "%s dir %s", path, inode);
            tree_append(t, line);
            ok = describe_xattrs(pool, path, t) && ok;
            tree_append(t, "\n");
            ok = ok && describe(pool, path, t);
        } else if (S_ISLNK(st.st_mode)) {
            char target[256];
            ssize_t len = udax_readlink(pool, path, target, sizeof(target));
            ok = ok && len >= 0;
            snprintf(line, sizeof(line), "%s symlink %s -> %.*s\n", path, inode, len > 0 ? (int)len : 0, target);
            tree_append(t, line);
        } else if (!S_ISREG(st.st_mode)) {
            snprintf(line, sizeof(line), "%s special %s\n", path, inode);
            tree_append(t, line);
        } else {
            int fd = udax_open(pool, path, O_RDONLY | O_NOATIME);
            char *data = malloc((size_t)st.st_size + 1);
            ssize_t got = fd >= 0 ? udax_pread(pool, fd, data, (size_t)st.st_size + 1, 0) : -1;
            if (fd >= 0)
                udax_close(pool, fd);
            ok = ok && got == st.st_size;
            unsigned long long hash = XXH64(data, got > 0 ? (size_t)got : 0, 0);
            if (relaxed_path && !strcmp(path, relaxed_path))
                hash = 0;
            snprintf(line, sizeof(line), "%s file %s size=%lld hash=%016llx", path, inode, (long long)st.st_size,
                     hash);
            free(data);
            tree_append(t, line);
            ok = describe_xattrs(pool, path, t) && ok;
            tree_append(t, "\n");
        }
        free(names[i]);
    }
    return ok;
}

char *snapshot(struct udax_pool *pool)
{
    struct tree t = {0};
    tree_append(&t, "");
    if (!describe(pool, "/", &t))
        tree_append(&t, "(unreadable)\n");
    return t.text;
}

char *contents(struct udax_pool *pool, const char *path, size_t *size)
{
    struct stat st;
    *size = 0;
    if (udax_stat(pool, path, &st))
        return NULL;
    char *data = malloc((size_t)st.st_size + 1);
    int fd = udax_open(pool, path, O_RDONLY | O_NOATIME);
    ssize_t got = fd >= 0 ? udax_pread(pool, fd, data, (size_t)st.st_size, 0) : -1;
    if (fd >= 0)
        udax_close(pool, fd);
    *size = got > 0 ? (size_t)got : 0;
    return data;
}



bool in_place_in_fast_mode(const struct op *op)
{
    return op->kind == OP_OVERWRITE || op->kind == OP_FSYNC_AFTER_WRITE || op->kind == OP_PUNCH;
}

const struct op single_ops[] = {
    {OP_CREATE, "/A/new", NULL, 0, 0, "create"},
    {OP_MKDIR, "/B/newdir", NULL, 0, 0, "mkdir"},
    {OP_APPEND, "/A/foo", NULL, 0, 100, "append small"},
    {OP_APPEND, "/A/bar", NULL, 0, 4200, "append spanning blocks"},
    {OP_OVERWRITE, "/A/foo", NULL, 0, 4096, "overwrite aligned block"},
    {OP_OVERWRITE, "/A/foo", NULL, 1000, 300, "overwrite unaligned"},
    {OP_OVERWRITE, "/A/foo", NULL, 4000, 200, "overwrite spanning blocks"},
    {OP_WRITE_PAST_END, "/B/bar", NULL, 20000, 10, "write past the end"},
    {OP_TRUNCATE, "/A/bar", NULL, 10000, 0, "truncate grow"},
    {OP_TRUNCATE, "/B/bar", NULL, 1000, 0, "truncate shrink"},
    {OP_FALLOCATE, "/A/bar", NULL, 0, 8192, "fallocate"},
    {OP_FALLOCATE_KEEP, "/B/foo", NULL, 0, 4096, "fallocate keep size"},
    {OP_PUNCH, "/B/bar", NULL, 4096, 4096, "punch hole aligned"},
    {OP_PUNCH, "/A/foo", NULL, 100, 5000, "punch hole unaligned"},
    {OP_UNLINK, "/A/foo", NULL, 0, 0, "unlink"},
    {OP_RMDIR, "/C", NULL, 0, 0, "rmdir"},
    {OP_RENAME, "/A/foo", "/A/baz", 0, 0, "rename in a directory"},
    {OP_RENAME, "/A/foo", "/B/qux", 0, 0, "rename across directories"},
    {OP_RENAME, "/A/foo", "/B/foo", 0, 0, "rename over a file"},
    {OP_RENAME, "/A", "/C", 0, 0, "rename a directory over an empty one"},
    {OP_RENAME, "/A", "/B/A", 0, 0, "rename a directory across"},
    {OP_FSYNC_AFTER_WRITE, "/A/foo", NULL, 10, 20, "overwrite then fsync"},
    {OP_CREATE_TRUNC, "/A/foo", NULL, 0, 0, "open with O_TRUNC"},
    {OP_SETXATTR, "/A/bar", "user.new", 0, 10, "setxattr"},
    {OP_SETXATTR, "/A/foo", "user.colour", 0, 3900, "setxattr replacing, over two new log pages"},
    {OP_SETXATTR, "/B", "user.tag", 0, 0, "setxattr on a directory, empty value"},
    {OP_REMOVEXATTR, "/A/foo", "user.colour", 0, 0, "removexattr"},
    {OP_REMOVEXATTR, "/B", "user.tag", 0, 0, "removexattr on a directory"},
    {OP_SYMLINK, "/B/newsym", "../A/foo", 0, 0, "symlink"},
    {OP_LINK, "/A/foo", "/B/newlink", 0, 0, "hard link"},
    {OP_UNLINK, "/B/hard", NULL, 0, 0, "unlink one of two names"},
    {OP_UNLINK, "/B/sym", NULL, 0, 0, "unlink a symlink"},
    {OP_RENAME, "/B/sym", "/C/sym", 0, 0, "rename a symlink across directories"},
    {OP_EXCHANGE, "/A/foo", "/B/bar", 0, 0, "exchange two files across directories"},
    {OP_EXCHANGE, "/A/bar", "/C", 0, 0, "exchange a file and a directory"},
    {OP_EXCHANGE, "/A", "/B", 0, 0, "exchange two directories"},
    {OP_NOREPLACE, "/A/foo", "/C/foo", 0, 0, "rename with RENAME_NOREPLACE"},
    {OP_NOREPLACE, "/C", "/B/C", 0, 0, "rename a directory with RENAME_NOREPLACE"},
    {OP_CHMOD, "/A/foo", NULL, 04751, 0, "chmod"},
    {OP_CHOWN, "/A/bar", NULL, 1000, 100, "chown"},
    {OP_UTIMENS, "/B/foo", NULL, 1000000000123456789ULL, 2000000000987654321ULL, "utimensat"},
    {OP_MKFIFO, "/C/fifo", NULL, 0, 0, "mknod a FIFO"},
    {OP_UNLINK_OPEN, "/A/foo", NULL, 0, 0, "unlink a file that stays open, then close it"},
};
const size_t single_op_count = sizeof(single_ops) / sizeof(single_ops[0]);

static void fill(char *buf, size_t len, uint64_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)('a' + (seed + i * 7) % 26);
}

static int write_at(struct udax_pool *pool, const char *path, uint64_t offset, uint64_t length, int flags)
{
    int fd = udax_open(pool, path, O_WRONLY | flags);
    if (fd < 0)
        return -1;
    char *buf = malloc(length);
    fill(buf, length, offset + length);
    ssize_t rc = flags & O_APPEND ? udax_write(pool, fd, buf, length) : udax_pwrite(pool, fd, buf, length, (off_t)offset);
    free(buf);
    udax_close(pool, fd);
    return rc == (ssize_t)length ? 0 : -1;
}

static int fallocate_at(struct udax_pool *pool, const struct op *op, int mode)
{
    int fd = udax_open(pool, op->path, O_WRONLY);
    if (fd < 0)
        return -1;
    int rc = udax_fallocate(pool, fd, mode, (off_t)op->offset, (off_t)op->length);
    udax_close(pool, fd);
    return rc;
}

int run_op(struct udax_pool *pool, const struct op *op)
{
    int fd;
    switch (op->kind) {
    case OP_CREATE:
        fd = udax_open(pool, op->path, O_CREAT | O_EXCL | O_WRONLY, 0644);
        return fd < 0 ? -1 : udax_close(pool, fd);
    case OP_CREATE_TRUNC:
        fd = udax_open(pool, op->path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
        return fd < 0 ? -1 : udax_close(pool, fd);
    case OP_MKDIR:
        return udax_mkdir(pool, op->path, 0755);
    case OP_APPEND:
        return write_at(pool, op->path, 0, op->length, O_APPEND);
    case OP_OVERWRITE:
    case OP_WRITE_PAST_END:
        return write_at(pool, op->path, op->offset, op->length, 0);
    case OP_TRUNCATE:
        return udax_truncate(pool, op->path, (off_t)op->offset);
    case OP_FALLOCATE:
        return fallocate_at(pool, op, 0);
    case OP_FALLOCATE_KEEP:
        return fallocate_at(pool, op, FALLOC_FL_KEEP_SIZE);
    case OP_PUNCH:
        return fallocate_at(pool, op, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
    case OP_UNLINK:
        return udax_unlink(pool, op->path);
    case OP_RMDIR:
        return udax_rmdir(pool, op->path);
    case OP_RENAME:
        return udax_rename(pool, op->path, op->other);
    case OP_SETXATTR: {
        char *value = malloc(op->length + 1);
        fill(value, op->length, op->length);
        int rc = udax_setxattr(pool, op->path, op->other, value, op->length, 0);
        free(value);
        return rc;
    }
    case OP_REMOVEXATTR:
        return udax_removexattr(pool, op->path, op->other);
    case OP_SYMLINK:
        return udax_symlink(pool, op->other, op->path);
    case OP_LINK:
        return udax_link(pool, op->path, op->other);
    case OP_EXCHANGE:
        return udax_renameat2(pool, AT_FDCWD, op->path, AT_FDCWD, op->other, RENAME_EXCHANGE);
    case OP_NOREPLACE:
        return udax_renameat2(pool, AT_FDCWD, op->path, AT_FDCWD, op->other, RENAME_NOREPLACE);
    case OP_CHMOD:
        return udax_chmod(pool, op->path, (mode_t)op->offset);
    case OP_CHOWN:
        return udax_chown(pool, op->path, (uid_t)op->offset, (gid_t)op->length);
    case OP_UTIMENS: {
        struct timespec times[2] = {{(time_t)(op->offset / 1000000000), (long)(op->offset % 1000000000)},
                                    {(time_t)(op->length / 1000000000), (long)(op->length % 1000000000)}};
        return udax_utimensat(pool, AT_FDCWD, op->path, times, 0);
    }
    case OP_MKFIFO:
        return udax_mknod(pool, op->path, S_IFIFO | 0640, 0);
    case OP_UNLINK_OPEN: {
        /* The crash states of the unlink and of the close in between: an orphan that recovery must free. */
        fd = udax_open(pool, op->path, O_RDWR);
        if (fd < 0)
            return -1;
        int rc = udax_unlink(pool, op->path);
        char byte;
        if (!rc && udax_pread(pool, fd, &byte, 1, 0) != 1)
            rc = -1;
        int saved = errno;
        udax_close(pool, fd);
        errno = saved;
        return rc;
    }
    case OP_FSYNC_AFTER_WRITE: {
        fd = udax_open(pool, op->path, O_WRONLY);
        if (fd < 0)
            return -1;
        char buf[64];
        fill(buf, op->length, 3);
        int rc = udax_pwrite(pool, fd, buf, op->length, (off_t)op->offset) == (ssize_t)op->length ? 0 : -1;
        if (!rc)
            rc = udax_fsync(pool, fd);
        udax_close(pool, fd);
        return rc;
    }
    }
    return -1;
}

void make_template(const char *path, enum udax_data_mode mode)
{
    struct udax_mkfs_options opts = {.data_mode = mode, .inode_count = 256};
    unlink(path);
    if (udax_pool_create(path, WORKLOAD_POOL_SIZE, &opts)) {
        fprintf(stderr, "mkfs: %s\n", udax_last_error());
        exit(2);
    }
    struct udax_pool *pool = udax_pool_open(path, NULL);
    udax_mkdir(pool, "/A", 0755);
    udax_mkdir(pool, "/B", 0755);
    udax_mkdir(pool, "/C", 0755);
    const struct {
        const char *path;
        size_t size;
    } files[] = {{"/A/foo", 5000}, {"/A/bar", 100}, {"/B/foo", 0}, {"/B/bar", 12288}};
    for (size_t i = 0; i < 4; i++) {
        int fd = udax_open(pool, files[i].path, O_CREAT | O_WRONLY, 0644);
        char *buf = malloc(files[i].size + 1);
        fill(buf, files[i].size, i);
        if (files[i].size)
            udax_write(pool, fd, buf, files[i].size);
        free(buf);
        udax_close(pool, fd);
    }
    udax_setxattr(pool, "/A/foo", "user.colour", "blue", 4, 0);
    udax_setxattr(pool, "/B", "user.tag", "b", 1, 0);
    udax_pool_close(pool);
}

void add_links(const char *path)
{
    struct udax_pool *pool = udax_pool_open(path, NULL);
    if (!pool || udax_link(pool, "/A/bar", "/B/hard") || udax_symlink(pool, "../A/foo", "/B/sym")) {
        fprintf(stderr, "add_links: %s\n", udax_last_error());
        exit(2);
    }
    udax_pool_close(pool);
}

void copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY), out = open(to, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char *buf = malloc(1 << 20);
    ssize_t n;
    while ((n = read(in, buf, 1 << 20)) > 0)
        if (write(out, buf, (size_t)n) != n)
            exit(2);
    free(buf);
    close(in);
    close(out);
}


void print_fsck_problem(void *arg, const char *problem)
{
    (void)arg;
    fprintf(stderr, "    fsck: %s\n", problem);
}
