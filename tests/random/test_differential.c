/* test_differential.c: random calls run on udax and on a tmpfs directory side by side, results and trees compared. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"
#include "udax.h"

#define POOL_SIZE (1ULL << 30)
#define BLOCK 4096ULL
#define HUGE_IO_MIN ((2ULL << 20) + 1)
#define MAX_IO (3ULL << 20)
/* Random offsets reach this far, so that files stay sparse and the whole run stays small. */
#define FAR_OFFSET (8ULL << 20)
/* No write, truncate or fallocate makes a file longer than this. */
#define FILE_CAP (16ULL << 20)
#define COMPARE_CHUNK (1ULL << 20)
/* Writes take their bytes from a pattern filled once per seed, at a random shift within this window. */
#define PATTERN_WINDOW (64ULL << 10)
#define FD_SLOTS 6
#define TRACE_DEPTH 40
#define TRACE_LINE 200
#define TREE_COMPARE_EVERY 1000
#define REOPEN_ONE_IN 900
#define DEFAULT_OPS 8000
#define MAX_DIR_ENTRIES 32

static const uint64_t default_seeds[] = {1, 2, 3, 4, 0x5eed, 0xdeadbeef, 20240607, 0x7fffffffffffffff};

struct fd_pair {
    bool open;
    bool is_dir;
    int flags;
    int udax;
    int ref;
};

struct diff {
    enum udax_data_mode mode;
    uint64_t seed;
    uint64_t rng;
    unsigned long step;
    unsigned long notes;
    struct udax_pool *pool;
    char pool_path[128];
    bool pool_made;
    char ref_root[128];
    bool ref_made;
    struct fd_pair fds[FD_SLOTS];
    unsigned char *pattern;
    unsigned char *udax_buf;
    unsigned char *ref_buf;
    char trace[TRACE_DEPTH][TRACE_LINE];
};

/* A call's result and, when it failed, its errno. */
struct outcome {
    long long value;
    int error;
};

static struct outcome outcome_of(long long value)
{
    return (struct outcome){value, value < 0 ? errno : 0};
}

static uint64_t next_random(struct diff *d)
{
    return test_random_next(&d->rng);
}

static uint64_t below(struct diff *d, uint64_t bound)
{
    return bound ? next_random(d) % bound : 0;
}

static bool chance(struct diff *d, unsigned percent)
{
    return below(d, 100) < percent;
}

static void note(struct diff *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct diff *d, const char *fmt, ...)
{
    char *line = d->trace[d->notes++ % TRACE_DEPTH];
    int used = snprintf(line, TRACE_LINE, "#%lu ", d->step);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + used, TRACE_LINE - (size_t)used, fmt, ap);
    va_end(ap);
}

/* Adds the outcome to the latest line, so that a failure's trace shows which calls succeeded. */
static void note_outcome(struct diff *d, long long value, int error)
{
    char *line = d->trace[(d->notes - 1) % TRACE_DEPTH];
    size_t used = strlen(line);
    if (value < 0)
        snprintf(line + used, TRACE_LINE - used, " = -1 %s", strerrorname_np(error));
    else
        snprintf(line + used, TRACE_LINE - used, " = %lld", value);
}

static const char *mode_name(enum udax_data_mode mode)
{
    return mode == UDAX_DATA_STRICT ? "strict" : "fast";
}

static void mismatch(struct diff *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct diff *d, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    print_error("differential: mismatch, mode %s, seed %#" PRIx64 " (rerun: UDAX_DIFF_SEED=%#" PRIx64 "), step %lu\n",
                mode_name(d->mode), d->seed, d->seed, d->step);
    print_error("last calls, oldest first:\n");
    unsigned long first = d->notes > TRACE_DEPTH ? d->notes - TRACE_DEPTH : 0;
    for (unsigned long i = first; i < d->notes; i++)
        print_error("  %s\n", d->trace[i % TRACE_DEPTH]);
    print_error("%s\n", message);
    fail();
}

static void expect_same(struct diff *d, struct outcome u, struct outcome r, bool compare_values)
{
    note_outcome(d, r.value, r.error);
    bool both_failed = u.value < 0 && r.value < 0;
    if ((u.value < 0) != (r.value < 0) || (both_failed && u.error != r.error) ||
        (!both_failed && compare_values && u.value != r.value))
        mismatch(d, "udax returned %lld (%s), tmpfs %lld (%s)", u.value, u.value < 0 ? strerror(u.error) : "ok",
                 r.value, r.value < 0 ? strerror(r.error) : "ok");
}

static const char *ref_path(const struct diff *d, const char *path, char *out, size_t len)
{
    assert_true(snprintf(out, len, "%s/%s", d->ref_root, path) < (int)len);
    return out;
}

/*
 * A small name space, so that calls collide with each other's files and
 * directories often. Parents repeat to weigh the choice; "foo/" is usually a
 * file, for ENOTDIR.
 */
static const char *const parents[] = {"", "", "", "A/", "A/", "A/", "B/", "B/", "A/C/", "A/C/", "B/C/", "foo/"};
static const char *const file_names[] = {"foo", "bar", "baz"};
static const char *const dir_names[] = {"A", "B", "C"};

#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* A path whose last name is mostly of the kind asked for, at times written with "./", "C/../", "/." or "/". */
static void random_path(struct diff *d, bool dir_name, char *out, size_t len)
{
    const char *parent = parents[below(d, COUNT(parents))];
    bool as_asked = chance(d, 92);
    const char *name = dir_name == as_asked ? dir_names[below(d, COUNT(dir_names))]
                                            : file_names[below(d, COUNT(file_names))];
    unsigned twist = (unsigned)below(d, 100);
    if (twist < 3)
        snprintf(out, len, "%s./%s", parent, name);
    else if (twist < 6 && parent[0])
        snprintf(out, len, "%sC/../%s", parent, name);
    else if (twist < 9)
        snprintf(out, len, "%s%s/", parent, name);
    else if (twist < 11)
        snprintf(out, len, "%s%s/.", parent, name);
    else
        snprintf(out, len, "%s%s", parent, name);
}

static const char *flags_text(int flags, char *out, size_t len)
{
    static const char *const access_names[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    snprintf(out, len, "%s%s%s%s%s%s", access_names[flags & O_ACCMODE], flags & O_CREAT ? "|O_CREAT" : "",
             flags & O_EXCL ? "|O_EXCL" : "", flags & O_TRUNC ? "|O_TRUNC" : "", flags & O_APPEND ? "|O_APPEND" : "",
             flags & O_DIRECTORY ? "|O_DIRECTORY" : "");
    return out;
}

/*
 * Two combinations are left out because POSIX leaves their effect open and
 * Linux picks one udax need not copy: O_TRUNC with O_RDONLY (Linux truncates),
 * and O_CREAT with O_DIRECTORY (Linux 6.4 and later fail it with EINVAL).
 */
static int random_open_flags(struct diff *d)
{
    static const int access_modes[] = {O_RDONLY, O_RDONLY, O_WRONLY, O_RDWR, O_RDWR, O_RDWR};
    if (chance(d, 10))
        return O_RDONLY | O_DIRECTORY;
    int flags = access_modes[below(d, COUNT(access_modes))];
    if (chance(d, 60)) {
        flags |= O_CREAT;
        if (chance(d, 25))
            flags |= O_EXCL;
    } else if (chance(d, 10)) {
        flags |= O_DIRECTORY;
    }
    if ((flags & O_ACCMODE) != O_RDONLY && chance(d, 15))
        flags |= O_TRUNC;
    if (chance(d, 20))
        flags |= O_APPEND;
    return flags;
}

static struct fd_pair closed_pair = {.udax = -1, .ref = -1};

enum fd_use { ANY_FD, READ_FD, WRITE_FD };

static bool fits(const struct fd_pair *f, enum fd_use use)
{
    if (use == ANY_FD)
        return true;
    int access = f->flags & O_ACCMODE;
    return !f->is_dir && access != (use == READ_FD ? O_WRONLY : O_RDONLY);
}

/*
 * An open pair at random, mostly one open for the use given; now and then a
 * closed one, whose calls must both fail with EBADF.
 */
static struct fd_pair *pick_fd(struct diff *d, enum fd_use use)
{
    int open_slots[FD_SLOTS], count = 0, fitting_slots[FD_SLOTS], fitting = 0;
    for (int i = 0; i < FD_SLOTS; i++) {
        if (!d->fds[i].open)
            continue;
        open_slots[count++] = i;
        if (fits(&d->fds[i], use))
            fitting_slots[fitting++] = i;
    }
    if (!count || chance(d, 4))
        return &closed_pair;
    if (fitting && chance(d, 85))
        return &d->fds[fitting_slots[below(d, (uint64_t)fitting)]];
    return &d->fds[open_slots[below(d, (uint64_t)count)]];
}

static int slot_number(const struct diff *d, const struct fd_pair *f)
{
    return f == &closed_pair ? -1 : (int)(f - d->fds);
}

static uint64_t ref_size(const struct fd_pair *f)
{
    struct stat st;
    return f->ref >= 0 && fstat(f->ref, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Where a write through f starts: the end with O_APPEND (on Linux for pwrite too), else offset or the position. */
static uint64_t write_start(const struct fd_pair *f, bool at_position, int64_t offset)
{
    if (f->ref < 0 || (!at_position && offset < 0))
        return 0;
    if (f->flags & O_APPEND)
        return ref_size(f);
    if (!at_position)
        return (uint64_t)offset;
    off_t position = lseek(f->ref, 0, SEEK_CUR);
    return position < 0 ? 0 : (uint64_t)position;
}

static size_t random_length(struct diff *d)
{
    switch (below(d, 40)) {
    case 0:
        return 0;
    case 1:
        return HUGE_IO_MIN + below(d, MAX_IO - HUGE_IO_MIN + 1);
    case 2: case 3: case 4: case 5: case 6:
        return BLOCK * (1 + below(d, 4));
    case 7: case 8: case 9: case 10: case 11: case 12: case 13: case 14:
        return below(d, 64 << 10);
    default:
        return 1 + below(d, 2 * BLOCK + 100);
    }
}

/* Offsets inside the file, at and past its end, aligned, just before a block boundary, and far out. */
static int64_t random_offset(struct diff *d, uint64_t size)
{
    switch (below(d, 10)) {
    case 0: case 1: case 2:
        return (int64_t)below(d, size + 1);
    case 3:
        return (int64_t)size;
    case 4: case 5:
        return (int64_t)(size + below(d, 3 * BLOCK));
    case 6:
        return (int64_t)(below(d, size / BLOCK + 2) * BLOCK);
    case 7:
        return (int64_t)((1 + below(d, size / BLOCK + 2)) * BLOCK - 1 - below(d, 64));
    case 8:
        return (int64_t)(below(d, FAR_OFFSET / BLOCK) * BLOCK);
    default:
        return (int64_t)below(d, FAR_OFFSET);
    }
}

/* A negative offset goes only with a valid descriptor: Linux checks the offset first, udax the descriptor. */
static int64_t random_io_offset(struct diff *d, const struct fd_pair *f)
{
    if (f != &closed_pair && chance(d, 2))
        return -1 - (int64_t)below(d, BLOCK);
    return random_offset(d, ref_size(f));
}

static size_t capped_length(size_t len, uint64_t start)
{
    if (start >= FILE_CAP)
        return 0;
    return start + len > FILE_CAP ? (size_t)(FILE_CAP - start) : len;
}

/* Cuts [buf, buf+len) into up to four buffers, some of them empty. */
static int split_iov(struct diff *d, unsigned char *buf, size_t len, struct iovec *iov)
{
    int count = 1 + (int)below(d, 4);
    size_t left = len;
    for (int i = 0; i < count; i++) {
        size_t n = i == count - 1 ? left : below(d, left + 1);
        iov[i] = (struct iovec){buf, n};
        buf += n;
        left -= n;
    }
    return count;
}

static void expect_same_stat(struct diff *d, const char *what, const struct stat *u, const struct stat *r)
{
    if ((u->st_mode & S_IFMT) != (r->st_mode & S_IFMT))
        mismatch(d, "%s: udax type %#o, tmpfs %#o", what, u->st_mode & S_IFMT, r->st_mode & S_IFMT);
    if (u->st_nlink != r->st_nlink)
        mismatch(d, "%s: udax nlink %lu, tmpfs %lu", what, (unsigned long)u->st_nlink, (unsigned long)r->st_nlink);
    if (S_ISREG(r->st_mode) && u->st_size != r->st_size)
        mismatch(d, "%s: udax size %lld, tmpfs %lld", what, (long long)u->st_size, (long long)r->st_size);
}

static void expect_same_bytes(struct diff *d, const char *what, const unsigned char *u, const unsigned char *r,
                              size_t len, uint64_t offset)
{
    if (!memcmp(u, r, len))
        return;
    size_t at = 0;
    while (u[at] == r[at])
        at++;
    mismatch(d, "%s: data differs at offset %" PRIu64 ": udax %#x, tmpfs %#x", what, offset + at, u[at], r[at]);
}

/* Compares size bytes read through two descriptors, from offset 0. */
static void compare_contents(struct diff *d, const char *what, int udax_fd, int ref_fd, uint64_t size)
{
    for (uint64_t offset = 0; offset < size; offset += COMPARE_CHUNK) {
        size_t n = size - offset < COMPARE_CHUNK ? (size_t)(size - offset) : COMPARE_CHUNK;
        ssize_t got_u = udax_pread(d->pool, udax_fd, d->udax_buf, n, (off_t)offset);
        ssize_t got_r = pread(ref_fd, d->ref_buf, n, (off_t)offset);
        if (got_u != (ssize_t)n || got_r != (ssize_t)n)
            mismatch(d, "%s: reading %zu bytes at %" PRIu64 ": udax %zd, tmpfs %zd", what, n, offset, got_u, got_r);
        expect_same_bytes(d, what, d->udax_buf, d->ref_buf, n, offset);
    }
}

struct dir_entry {
    char name[256];
    unsigned char type;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct dir_entry *)a)->name, ((const struct dir_entry *)b)->name);
}

static size_t list_udax(struct diff *d, const char *path, struct dir_entry *out)
{
    UDAX_DIR *dir = udax_opendir(d->pool, path[0] ? path : "/");
    if (!dir)
        mismatch(d, "opendir %s on udax: %s", path, udax_last_error());
    size_t count = 0;
    for (struct dirent *e; (e = udax_readdir(d->pool, dir));) {
        assert_true(count < MAX_DIR_ENTRIES);
        snprintf(out[count].name, sizeof(out[count].name), "%s", e->d_name);
        out[count++].type = e->d_type;
    }
    udax_closedir(d->pool, dir);
    qsort(out, count, sizeof(*out), by_name);
    return count;
}

static size_t list_ref(struct diff *d, const char *path, struct dir_entry *out)
{
    char full[512];
    DIR *dir = opendir(ref_path(d, path, full, sizeof(full)));
    assert_non_null(dir);
    size_t count = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        assert_true(count < MAX_DIR_ENTRIES);
        snprintf(out[count].name, sizeof(out[count].name), "%s", e->d_name);
        out[count++].type = e->d_type;
    }
    closedir(dir);
    qsort(out, count, sizeof(*out), by_name);
    return count;
}

static void expect_same_listing(struct diff *d, const char *path, const struct dir_entry *u, size_t u_count,
                                const struct dir_entry *r, size_t r_count)
{
    for (size_t i = 0; i < u_count || i < r_count; i++) {
        if (i == u_count || i == r_count || strcmp(u[i].name, r[i].name) || u[i].type != r[i].type)
            mismatch(d, "listing of '%s' differs at entry %zu: udax '%s' (type %d), tmpfs '%s' (type %d)", path, i,
                     i < u_count ? u[i].name : "", i < u_count ? u[i].type : -1, i < r_count ? r[i].name : "",
                     i < r_count ? r[i].type : -1);
    }
}

static void compare_file(struct diff *d, const char *path, uint64_t size)
{
    char full[512];
    int udax_fd = udax_open(d->pool, path, O_RDONLY);
    int ref_fd = open(ref_path(d, path, full, sizeof(full)), O_RDONLY);
    if (udax_fd < 0 || ref_fd < 0)
        mismatch(d, "opening %s to compare: udax %d, tmpfs %d", path, udax_fd, ref_fd);
    compare_contents(d, path, udax_fd, ref_fd, size);
    assert_int_equal(udax_close(d->pool, udax_fd), 0);
    assert_int_equal(close(ref_fd), 0);
}

/* Names, types, link counts, sizes and every byte below path. */
static void compare_tree(struct diff *d, const char *path)
{
    struct dir_entry u[MAX_DIR_ENTRIES], r[MAX_DIR_ENTRIES];
    size_t u_count = list_udax(d, path, u), r_count = list_ref(d, path, r);
    expect_same_listing(d, path, u, u_count, r, r_count);
    for (size_t i = 0; i < r_count; i++) {
        if (!strcmp(r[i].name, ".") || !strcmp(r[i].name, ".."))
            continue;
        char child[512], full[1024];
        assert_true(snprintf(child, sizeof(child), "%s%s%s", path, path[0] ? "/" : "", r[i].name) < (int)sizeof(child));
        struct stat su, sr;
        if (udax_stat(d->pool, child, &su) || stat(ref_path(d, child, full, sizeof(full)), &sr))
            mismatch(d, "stat %s while comparing trees failed", child);
        expect_same_stat(d, child, &su, &sr);
        if (S_ISDIR(sr.st_mode))
            compare_tree(d, child);
        else
            compare_file(d, child, (uint64_t)sr.st_size);
    }
}

/* Open files may have lost every name, so their bytes are compared through the descriptors. */
static void compare_open_files(struct diff *d)
{
    for (int i = 0; i < FD_SLOTS; i++) {
        struct fd_pair *f = &d->fds[i];
        if (!f->open || f->is_dir || (f->flags & O_ACCMODE) == O_WRONLY)
            continue;
        char what[32];
        snprintf(what, sizeof(what), "open file fd%d", i);
        compare_contents(d, what, f->udax, f->ref, ref_size(f));
    }
}

/* After every call: each open pair still agrees on type, links, size and position. */
static void check_open_fds(struct diff *d)
{
    for (int i = 0; i < FD_SLOTS; i++) {
        struct fd_pair *f = &d->fds[i];
        if (!f->open)
            continue;
        struct stat su, sr;
        char what[32];
        snprintf(what, sizeof(what), "fstat of fd%d", i);
        if (udax_fstat(d->pool, f->udax, &su) || fstat(f->ref, &sr))
            mismatch(d, "%s failed", what);
        expect_same_stat(d, what, &su, &sr);
        if (f->is_dir)
            continue;
        off_t pu = udax_lseek(d->pool, f->udax, 0, SEEK_CUR), pr = lseek(f->ref, 0, SEEK_CUR);
        if (pu != pr)
            mismatch(d, "position of fd%d: udax %lld, tmpfs %lld", i, (long long)pu, (long long)pr);
    }
}

static void close_pair(struct diff *d, struct fd_pair *f)
{
    note(d, "close(fd%d)", slot_number(d, f));
    struct outcome u = outcome_of(udax_close(d->pool, f->udax));
    struct outcome r = outcome_of(close(f->ref));
    expect_same(d, u, r, true);
    if (f != &closed_pair)
        f->open = false;
}

static void op_open(struct diff *d)
{
    int slot = 0;
    while (slot < FD_SLOTS && d->fds[slot].open)
        slot++;
    if (slot == FD_SLOTS) {
        slot = (int)below(d, FD_SLOTS);
        close_pair(d, &d->fds[slot]);
    }
    char path[64], full[512], text[96];
    int flags = random_open_flags(d);
    random_path(d, flags & O_DIRECTORY, path, sizeof(path));
    note(d, "open(%s, %s) -> fd%d", path, flags_text(flags, text, sizeof(text)), slot);
    struct outcome u = outcome_of(udax_open(d->pool, path, flags, 0644));
    struct outcome r = outcome_of(open(ref_path(d, path, full, sizeof(full)), flags, 0644));
    expect_same(d, u, r, false);
    if (r.value < 0)
        return;
    struct stat st;
    assert_int_equal(fstat((int)r.value, &st), 0);
    d->fds[slot] = (struct fd_pair){.open = true, .is_dir = S_ISDIR(st.st_mode), .flags = flags,
                                    .udax = (int)u.value, .ref = (int)r.value};
}

static void op_close(struct diff *d)
{
    close_pair(d, pick_fd(d, ANY_FD));
}

static void op_write(struct diff *d)
{
    struct fd_pair *f = pick_fd(d, WRITE_FD);
    int slot = slot_number(d, f);
    size_t len = random_length(d);
    unsigned kind = (unsigned)below(d, 3);
    int64_t offset = kind == 1 ? random_io_offset(d, f) : -1;
    len = capped_length(len, write_start(f, kind != 1, offset));
    unsigned char *data = d->pattern + below(d, PATTERN_WINDOW);
    struct outcome u, r;
    if (kind == 0) {
        note(d, "write(fd%d, %zu)", slot, len);
        u = outcome_of(udax_write(d->pool, f->udax, data, len));
        r = outcome_of(write(f->ref, data, len));
    } else if (kind == 1) {
        note(d, "pwrite(fd%d, %zu, %" PRId64 ")", slot, len, offset);
        u = outcome_of(udax_pwrite(d->pool, f->udax, data, len, (off_t)offset));
        r = outcome_of(pwrite(f->ref, data, len, (off_t)offset));
    } else {
        struct iovec iov[4];
        int count = split_iov(d, data, len, iov);
        note(d, "writev(fd%d, %zu in %d)", slot, len, count);
        u = outcome_of(udax_writev(d->pool, f->udax, iov, count));
        r = outcome_of(writev(f->ref, iov, count));
    }
    expect_same(d, u, r, true);
}

static void op_read(struct diff *d)
{
    struct fd_pair *f = pick_fd(d, READ_FD);
    int slot = slot_number(d, f);
    size_t len = random_length(d);
    /* Reading nothing from a directory may fail or not (POSIX); Linux fails read and not readv. */
    if (f->is_dir && !len)
        len = 1;
    unsigned kind = (unsigned)below(d, 3);
    struct outcome u, r;
    int64_t offset = -1;
    if (kind == 0) {
        note(d, "read(fd%d, %zu)", slot, len);
        u = outcome_of(udax_read(d->pool, f->udax, d->udax_buf, len));
        r = outcome_of(read(f->ref, d->ref_buf, len));
    } else if (kind == 1) {
        offset = random_io_offset(d, f);
        note(d, "pread(fd%d, %zu, %" PRId64 ")", slot, len, offset);
        u = outcome_of(udax_pread(d->pool, f->udax, d->udax_buf, len, (off_t)offset));
        r = outcome_of(pread(f->ref, d->ref_buf, len, (off_t)offset));
    } else {
        struct iovec iov_u[4], iov_r[4];
        int count = split_iov(d, d->udax_buf, len, iov_u);
        for (int i = 0; i < count; i++)
            iov_r[i] = (struct iovec){d->ref_buf + ((unsigned char *)iov_u[i].iov_base - d->udax_buf),
                                      iov_u[i].iov_len};
        note(d, "readv(fd%d, %zu in %d)", slot, len, count);
        u = outcome_of(udax_readv(d->pool, f->udax, iov_u, count));
        r = outcome_of(readv(f->ref, iov_r, count));
    }
    expect_same(d, u, r, true);
    if (r.value > 0)
        expect_same_bytes(d, "read", d->udax_buf, d->ref_buf, (size_t)r.value, offset < 0 ? 0 : (uint64_t)offset);
}

/* Whether the reference file behind f reads as zeros over [from, to). */
static bool ref_zero(struct diff *d, const struct fd_pair *f, uint64_t from, uint64_t to)
{
    char proc[64];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->ref);
    int fd = open(proc, O_RDONLY);
    assert_true(fd >= 0);
    bool zero = true;
    while (zero && from < to) {
        size_t n = to - from < COMPARE_CHUNK ? (size_t)(to - from) : COMPARE_CHUNK;
        assert_int_equal(pread(fd, d->ref_buf, n, (off_t)from), (ssize_t)n);
        for (size_t i = 0; zero && i < n; i++)
            zero = d->ref_buf[i] == 0;
        from += n;
    }
    close(fd);
    return zero;
}

/*
 * Where data and holes lie is the file system's choice: tmpfs counts
 * fallocated pages as holes, udax allocates whole 2 MiB chunks. So udax's
 * answer is held to what POSIX allows given the bytes the file holds, and
 * the tmpfs position is then moved to udax's answer.
 */
static void check_seek_data(struct diff *d, struct fd_pair *f, int64_t offset, int whence)
{
    struct outcome u = outcome_of(udax_lseek(d->pool, f->udax, (off_t)offset, whence));
    uint64_t size = ref_size(f);
    if (f == &closed_pair || offset < 0 || (uint64_t)offset >= size) {
        struct outcome r = outcome_of(lseek(f->ref, (off_t)offset, whence));
        expect_same(d, u, r, true);
        return;
    }
    note_outcome(d, u.value, u.error);
    uint64_t from = (uint64_t)offset;
    if (u.value < 0) {
        if (whence != SEEK_DATA || u.error != ENXIO || !ref_zero(d, f, from, size))
            mismatch(d, "udax failed with %s where the file has data", strerror(u.error));
        return;
    }
    uint64_t found = (uint64_t)u.value;
    if (whence == SEEK_DATA && (found < from || found >= size || !ref_zero(d, f, from, found)))
        mismatch(d, "SEEK_DATA from %" PRIu64 " gave %" PRIu64 ", size %" PRIu64, from, found, size);
    uint64_t hole_end = (found / BLOCK + 1) * BLOCK < size ? (found / BLOCK + 1) * BLOCK : size;
    if (whence == SEEK_HOLE && (found < from || found > size || !ref_zero(d, f, found, hole_end)))
        mismatch(d, "SEEK_HOLE from %" PRIu64 " gave %" PRIu64 ", size %" PRIu64, from, found, size);
    assert_int_equal(lseek(f->ref, (off_t)found, SEEK_SET), (off_t)found);
}

/* Directories are left out: their tmpfs offsets are readdir cookies, not byte positions. */
static void op_seek(struct diff *d)
{
    static const int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE};
    static const char *const whence_names[] = {"SEEK_SET", "SEEK_CUR", "SEEK_END", "SEEK_DATA", "SEEK_HOLE"};
    struct fd_pair *f = pick_fd(d, READ_FD);
    if (f->is_dir)
        return;
    unsigned which = (unsigned)below(d, 5);
    uint64_t size = ref_size(f);
    int64_t offset;
    if (chance(d, 5))
        offset = -1 - (int64_t)below(d, 2 * BLOCK);
    else if (whences[which] == SEEK_CUR || whences[which] == SEEK_END)
        offset = (int64_t)below(d, 4 * BLOCK) - 2 * (int64_t)BLOCK;
    else
        offset = random_offset(d, size);
    note(d, "lseek(fd%d, %" PRId64 ", %s)", slot_number(d, f), offset, whence_names[which]);
    if (whences[which] == SEEK_DATA || whences[which] == SEEK_HOLE) {
        check_seek_data(d, f, offset, whences[which]);
        return;
    }
    struct outcome u = outcome_of(udax_lseek(d->pool, f->udax, (off_t)offset, whences[which]));
    struct outcome r = outcome_of(lseek(f->ref, (off_t)offset, whences[which]));
    expect_same(d, u, r, true);
}

static int64_t random_new_size(struct diff *d, uint64_t size)
{
    switch (below(d, 6)) {
    case 0:
        return 0;
    case 1:
        return (int64_t)below(d, size + 1);
    case 2:
        return (int64_t)(size + below(d, 16 * BLOCK));
    default:
        return random_offset(d, size);
    }
}

/* A negative length goes only with a valid descriptor: Linux checks the length first, udax the descriptor. */
static void op_truncate(struct diff *d)
{
    if (chance(d, 50)) {
        struct fd_pair *f = pick_fd(d, WRITE_FD);
        int64_t length = f != &closed_pair && chance(d, 4) ? -1 : random_new_size(d, ref_size(f));
        note(d, "ftruncate(fd%d, %" PRId64 ")", slot_number(d, f), length);
        struct outcome u = outcome_of(udax_ftruncate(d->pool, f->udax, (off_t)length));
        struct outcome r = outcome_of(ftruncate(f->ref, (off_t)length));
        expect_same(d, u, r, true);
        return;
    }
    char path[64], full[512];
    random_path(d, false, path, sizeof(path));
    struct stat st;
    uint64_t size = stat(ref_path(d, path, full, sizeof(full)), &st) == 0 ? (uint64_t)st.st_size : 0;
    int64_t length = chance(d, 4) ? -1 : random_new_size(d, size);
    note(d, "truncate(%s, %" PRId64 ")", path, length);
    struct outcome u = outcome_of(udax_truncate(d->pool, path, (off_t)length));
    struct outcome r = outcome_of(truncate(full, (off_t)length));
    expect_same(d, u, r, true);
}

static void op_fallocate(struct diff *d)
{
    static const int modes[] = {0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE};
    static const char *const mode_names[] = {"0", "KEEP_SIZE", "PUNCH_HOLE|KEEP_SIZE"};
    struct fd_pair *f = pick_fd(d, WRITE_FD);
    unsigned which = (unsigned)below(d, 3);
    int64_t offset = random_offset(d, ref_size(f));
    int64_t len;
    if (chance(d, 3))
        len = -(int64_t)below(d, 2);
    else if (chance(d, 5))
        len = (int64_t)(HUGE_IO_MIN + below(d, MAX_IO - HUGE_IO_MIN));
    else
        len = 1 + (int64_t)below(d, 64 << 10);
    if (len > 0 && (uint64_t)(offset + len) > FILE_CAP)
        len = offset < (int64_t)FILE_CAP ? (int64_t)FILE_CAP - offset : 1;
    note(d, "fallocate(fd%d, %s, %" PRId64 ", %" PRId64 ")", slot_number(d, f), mode_names[which], offset, len);
    struct outcome u = outcome_of(udax_fallocate(d->pool, f->udax, modes[which], (off_t)offset, (off_t)len));
    struct outcome r = outcome_of(fallocate(f->ref, modes[which], (off_t)offset, (off_t)len));
    expect_same(d, u, r, true);
}

static void op_mkdir(struct diff *d)
{
    char path[64], full[512];
    random_path(d, true, path, sizeof(path));
    note(d, "mkdir(%s)", path);
    struct outcome u = outcome_of(udax_mkdir(d->pool, path, 0755));
    struct outcome r = outcome_of(mkdir(ref_path(d, path, full, sizeof(full)), 0755));
    expect_same(d, u, r, true);
}

static void op_rmdir(struct diff *d)
{
    char path[64], full[512];
    random_path(d, true, path, sizeof(path));
    note(d, "rmdir(%s)", path);
    struct outcome u = outcome_of(udax_rmdir(d->pool, path));
    struct outcome r = outcome_of(rmdir(ref_path(d, path, full, sizeof(full))));
    expect_same(d, u, r, true);
}

static void op_unlink(struct diff *d)
{
    char path[64], full[512];
    random_path(d, false, path, sizeof(path));
    note(d, "unlink(%s)", path);
    struct outcome u = outcome_of(udax_unlink(d->pool, path));
    struct outcome r = outcome_of(unlink(ref_path(d, path, full, sizeof(full))));
    expect_same(d, u, r, true);
}

/* Whether full_to names a directory that holds full_from, somewhere below it. */
static bool is_ancestor(const char *full_to, const char *full_from)
{
    char to_real[PATH_MAX], from_real[PATH_MAX];
    if (!realpath(full_to, to_real) || !realpath(full_from, from_real))
        return false;
    size_t len = strlen(to_real);
    return !strncmp(from_real, to_real, len) && from_real[len] == '/';
}

static bool ends_in_dot(const char *path)
{
    size_t len = strlen(path);
    return len >= 2 && !strcmp(path + len - 2, "/.");
}

static void op_rename(struct diff *d)
{
    char from[64], to[64], full_from[512], full_to[512];
    bool dirs = chance(d, 35);
    random_path(d, dirs, from, sizeof(from));
    random_path(d, dirs, to, sizeof(to));
    note(d, "rename(%s, %s)", from, to);
    struct outcome u = outcome_of(udax_rename(d->pool, from, to));
    struct outcome r = outcome_of(rename(ref_path(d, from, full_from, sizeof(full_from)),
                                         ref_path(d, to, full_to, sizeof(full_to))));
    /*
     * A file renamed onto a directory that contains it is both "new is a
     * directory" and "new is not empty": POSIX allows EISDIR or ENOTEMPTY,
     * Linux reports the second, udax the first.
     */
    if (u.value < 0 && r.value < 0 && u.error == EISDIR && r.error == ENOTEMPTY && is_ancestor(full_to, full_from))
        return;
    /* POSIX has EINVAL for a last component of dot; Linux answers EBUSY. */
    if (u.value < 0 && r.value < 0 && u.error == EINVAL && r.error == EBUSY && (ends_in_dot(from) || ends_in_dot(to)))
        return;
    expect_same(d, u, r, true);
}

static void op_stat(struct diff *d)
{
    char path[64], full[512];
    random_path(d, chance(d, 30), path, sizeof(path));
    note(d, "stat(%s)", path);
    struct stat su, sr;
    struct outcome u = outcome_of(udax_stat(d->pool, path, &su));
    struct outcome r = outcome_of(stat(ref_path(d, path, full, sizeof(full)), &sr));
    expect_same(d, u, r, true);
    if (r.value == 0)
        expect_same_stat(d, path, &su, &sr);
}

static void op_fstat(struct diff *d)
{
    struct fd_pair *f = pick_fd(d, ANY_FD);
    note(d, "fstat(fd%d)", slot_number(d, f));
    struct stat su, sr;
    struct outcome u = outcome_of(udax_fstat(d->pool, f->udax, &su));
    struct outcome r = outcome_of(fstat(f->ref, &sr));
    expect_same(d, u, r, true);
    if (r.value == 0)
        expect_same_stat(d, "fstat", &su, &sr);
}

static void op_readdir(struct diff *d)
{
    char path[64], full[512];
    random_path(d, true, path, sizeof(path));
    note(d, "opendir(%s)", path);
    UDAX_DIR *udax_dir = udax_opendir(d->pool, path);
    struct outcome u = outcome_of(udax_dir ? 0 : -1);
    DIR *ref_dir = opendir(ref_path(d, path, full, sizeof(full)));
    struct outcome r = outcome_of(ref_dir ? 0 : -1);
    expect_same(d, u, r, true);
    if (udax_dir)
        assert_int_equal(udax_closedir(d->pool, udax_dir), 0);
    if (ref_dir)
        closedir(ref_dir);
    if (r.value == 0) {
        struct dir_entry ue[MAX_DIR_ENTRIES], re[MAX_DIR_ENTRIES];
        size_t u_count = list_udax(d, path, ue), r_count = list_ref(d, path, re);
        expect_same_listing(d, path, ue, u_count, re, r_count);
    }
}

static void op_fsync(struct diff *d)
{
    struct fd_pair *f = pick_fd(d, ANY_FD);
    note(d, "fsync(fd%d)", slot_number(d, f));
    struct outcome u = outcome_of(udax_fsync(d->pool, f->udax));
    struct outcome r = outcome_of(fsync(f->ref));
    expect_same(d, u, r, true);
}

static const struct {
    void (*run)(struct diff *d);
    unsigned weight;
} operations[] = {
    {op_open, 16},   {op_close, 4},  {op_write, 18}, {op_read, 12},   {op_seek, 7},
    {op_truncate, 6}, {op_fallocate, 6}, {op_mkdir, 6}, {op_rmdir, 4}, {op_unlink, 5},
    {op_rename, 9},  {op_stat, 5},   {op_fstat, 3},  {op_readdir, 3}, {op_fsync, 1},
};

static void random_operation(struct diff *d)
{
    unsigned total = 0;
    for (size_t i = 0; i < COUNT(operations); i++)
        total += operations[i].weight;
    unsigned pick = (unsigned)below(d, total);
    for (size_t i = 0;; i++) {
        if (pick < operations[i].weight) {
            operations[i].run(d);
            return;
        }
        pick -= operations[i].weight;
    }
}

static void close_ref_fds(struct diff *d)
{
    for (int i = 0; i < FD_SLOTS; i++) {
        if (d->fds[i].open)
            close(d->fds[i].ref);
        d->fds[i].open = false;
    }
}

static void report_problem(void *arg, const char *problem)
{
    print_error("fsck %s: %s\n", (const char *)arg, problem);
}

/* Closing the pool drops every udax descriptor; the tmpfs ones are closed to match. */
static void reopen_pool(struct diff *d)
{
    note(d, "reopen pool");
    close_ref_fds(d);
    assert_int_equal(udax_pool_close(d->pool), 0);
    d->pool = NULL;
    struct udax_fsck_options opts = {.report = report_problem, .report_arg = d->pool_path};
    struct udax_fsck_result result;
    if (udax_fsck(d->pool_path, &opts, &result) != UDAX_FSCK_CLEAN)
        mismatch(d, "fsck after close found %" PRIu64 " problems", result.problems);
    d->pool = udax_pool_open(d->pool_path, NULL);
    if (!d->pool)
        mismatch(d, "reopening the pool: %s", udax_last_error());
    compare_tree(d, "");
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_ref_tree(struct diff *d)
{
    close_ref_fds(d);
    if (d->ref_made)
        nftw(d->ref_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    d->ref_made = false;
}

static void run_seed(struct diff *d, uint64_t seed, unsigned long ops)
{
    static unsigned run_number;
    print_message("differential: mode %s, seed %#" PRIx64 ", %lu calls\n", mode_name(d->mode), seed, ops);
    d->seed = seed;
    d->rng = seed;
    d->step = 0;
    d->notes = 0;
    test_fill(d->pattern, MAX_IO + PATTERN_WINDOW, seed, 0);
    memset(d->fds, 0, sizeof(d->fds));
    snprintf(d->ref_root, sizeof(d->ref_root), "/dev/shm/udax-diff-%d-%u", (int)getpid(), run_number++);
    assert_int_equal(mkdir(d->ref_root, 0755), 0);
    d->ref_made = true;
    d->pool = test_pool_new(d->pool_path, sizeof(d->pool_path), POOL_SIZE, d->mode);
    d->pool_made = true;
    for (d->step = 0; d->step < ops; d->step++) {
        random_operation(d);
        check_open_fds(d);
        if (d->step % TREE_COMPARE_EVERY == TREE_COMPARE_EVERY - 1) {
            compare_open_files(d);
            compare_tree(d, "");
        }
        if (below(d, REOPEN_ONE_IN) == 0)
            reopen_pool(d);
    }
    compare_open_files(d);
    compare_tree(d, "");
    reopen_pool(d);
    test_pool_finish(d->pool, d->pool_path);
    d->pool = NULL;
    d->pool_made = false;
    remove_ref_tree(d);
}

static uint64_t env_number(const char *name, uint64_t fallback)
{
    const char *text = getenv(name);
    return text && *text ? strtoull(text, NULL, 0) : fallback;
}

static void run_mode(struct diff *d, enum udax_data_mode mode)
{
    d->mode = mode;
    unsigned long ops = (unsigned long)env_number("UDAX_DIFF_OPS", DEFAULT_OPS);
    if (getenv("UDAX_DIFF_SEED")) {
        run_seed(d, env_number("UDAX_DIFF_SEED", 0), ops);
        return;
    }
    for (size_t i = 0; i < COUNT(default_seeds); i++)
        run_seed(d, default_seeds[i], ops);
}

static void test_strict(void **state)
{
    run_mode(*state, UDAX_DATA_STRICT);
}

static void test_fast(void **state)
{
    run_mode(*state, UDAX_DATA_FAST);
}

static int setup(void **state)
{
    struct diff *d = calloc(1, sizeof(*d));
    if (!d)
        return -1;
    d->pattern = malloc(MAX_IO + PATTERN_WINDOW);
    d->udax_buf = malloc(MAX_IO);
    d->ref_buf = malloc(MAX_IO);
    *state = d;
    return d->pattern && d->udax_buf && d->ref_buf ? 0 : -1;
}

/* Also runs after a failed check, which leaves the pool and the tmpfs tree behind. */
static int teardown(void **state)
{
    struct diff *d = *state;
    if (d->pool)
        udax_pool_close(d->pool);
    if (d->pool_made)
        unlink(d->pool_path);
    remove_ref_tree(d);
    free(d->pattern);
    free(d->udax_buf);
    free(d->ref_buf);
    free(d);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
