/* test_bad_input.c: damaged, foreign and full pools get a clear error, change nothing, and never crash. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log/log.h"
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

static void write_file(struct udax_pool *pool, const char *path, const char *text)
{
    int fd = udax_open(pool, path, O_CREAT | O_WRONLY, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_write(pool, fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(udax_close(pool, fd), 0);
}

static void expect_file(struct udax_pool *pool, const char *path, const char *text)
{
    struct stat st;
    if (udax_stat(pool, path, &st))
        fail_msg("%s: %s", path, strerror(errno));
    assert_int_equal(st.st_size, strlen(text));
    assert_int_equal(st.st_nlink, 1);
    char *buf = calloc(1, strlen(text) + 2);
    int fd = udax_open(pool, path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(udax_pread(pool, fd, buf, strlen(text) + 1, 0), (ssize_t)strlen(text));
    assert_int_equal(udax_close(pool, fd), 0);
    assert_string_equal(buf, text);
    free(buf);
}

static uint64_t ino_of(struct udax_pool *pool, const char *path)
{
    struct stat st;
    assert_int_equal(udax_stat(pool, path, &st), 0);
    return st.st_ino;
}

/* The committed tail of inode ino, read with the pool closed. */
static uint64_t tail_of(const char *path, uint64_t ino)
{
    size_t size;
    unsigned char *base = map_pool(path, &size);
    uint64_t tail = inode_record(base, ino)->log_tail;
    munmap(base, size);
    return tail;
}

static void set_tail(const char *path, uint64_t ino, uint64_t tail)
{
    size_t size;
    unsigned char *base = map_pool(path, &size);
    inode_record(base, ino)->log_tail = tail;
    munmap(base, size);
}

/* Every problem fsck reports, one per line. */
struct reports {
    char text[8192];
    int count;
};

static void collect(void *arg, const char *problem)
{
    struct reports *r = arg;
    size_t used = strlen(r->text);
    snprintf(r->text + used, sizeof(r->text) - used, "%s\n", problem);
    r->count++;
}

static int fsck_reports(const char *path, int repair, struct reports *r)
{
    memset(r, 0, sizeof(*r));
    struct udax_fsck_options opts = {.repair = repair, .report = collect, .report_arg = r};
    return udax_fsck(path, &opts, NULL);
}

static void expect_reported(const struct reports *r, const char *words)
{
    if (!strstr(r->text, words))
        fail_msg("fsck did not report '%s'; it reported:\n%s", words, r->text);
}

/*
 * A directory that lost its name keeps its subtree: only it goes to
 * /lost+found. Rolling the root's tail back to an earlier commit detaches /d
 * without damaging anything. fsck once reconnected every detached inode, so
 * /d/sub had two names, and it reconnected /lost+found into itself when
 * /lost+found got a higher number than an inode it reconnected before.
 */
static void test_detached_subtree_keeps_its_shape(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/keep", "kept");
    assert_int_equal(udax_pool_close(pool), 0);
    uint64_t before_d = tail_of(path, UDAX_ROOT_INO);
    pool = udax_pool_open(path, NULL);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/d/sub", 0755), 0);
    write_file(pool, "/d/sub/f", "deep");
    uint64_t d = ino_of(pool, "/d");
    assert_int_equal(udax_pool_close(pool), 0);
    set_tail(path, UDAX_ROOT_INO, before_d);

    struct reports r;
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_UNCORRECTED);
    assert_int_equal(r.count, 1);
    assert_int_equal(fsck_reports(path, 1, &r), UDAX_FSCK_CORRECTED);
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_CLEAN);
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    char moved[64];
    snprintf(moved, sizeof(moved), "/lost+found/#%llu/sub/f", (unsigned long long)d);
    expect_file(pool, moved, "deep");
    expect_file(pool, "/keep", "kept");
    test_pool_finish(pool, path);
}

/*
 * Two directories that name each other, detached: /a holds b, and b gets a
 * valid copy of the root's entry for a. One of them loses the name the other
 * holds and goes to /lost+found with the other below it.
 */
static void test_detached_cycle(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    assert_int_equal(udax_pool_close(pool), 0);
    uint64_t before_a = tail_of(path, UDAX_ROOT_INO);
    pool = udax_pool_open(path, NULL);
    assert_int_equal(udax_mkdir(pool, "/a", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/a/b", 0755), 0);
    write_file(pool, "/a/b/f", "f");
    uint64_t a = ino_of(pool, "/a"), b = ino_of(pool, "/a/b");
    assert_int_equal(udax_pool_close(pool), 0);
    size_t size;
    unsigned char *base = map_pool(path, &size);
    struct udax_inode_rec *rec = inode_record(base, b);
    const struct udax_entry_header *name_a = (const void *)(base + before_a);
    assert_int_equal(name_a->type, UDAX_ENTRY_DENTRY_ADD);
    memcpy(base + rec->log_tail, name_a, name_a->slots * UDAX_SLOT_SIZE);
    rec->log_tail += name_a->slots * UDAX_SLOT_SIZE;
    inode_record(base, UDAX_ROOT_INO)->log_tail = before_a;
    munmap(base, size);

    struct reports r;
    assert_int_equal(fsck_reports(path, 1, &r), UDAX_FSCK_CORRECTED);
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_CLEAN);
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    char moved[64];
    snprintf(moved, sizeof(moved), "/lost+found/#%llu/b/f", (unsigned long long)a);
    expect_file(pool, moved, "f");
    snprintf(moved, sizeof(moved), "/lost+found/#%llu/b/a", (unsigned long long)a);
    struct stat st;
    assert_int_equal(udax_stat(pool, moved, &st), -1);
    snprintf(moved, sizeof(moved), "/lost+found/#%llu/b", (unsigned long long)a);
    assert_int_equal(ino_of(pool, moved), b);
    test_pool_finish(pool, path);
}

/* A regular file named /lost+found is left alone: fsck once wrote a directory entry into its log. */
static void test_lost_found_that_is_a_file(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/lost+found", "not a directory");
    assert_int_equal(udax_pool_close(pool), 0);
    uint64_t before_d = tail_of(path, UDAX_ROOT_INO);
    pool = udax_pool_open(path, NULL);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_pool_close(pool), 0);
    set_tail(path, UDAX_ROOT_INO, before_d);

    struct reports r;
    assert_int_equal(fsck_reports(path, 1, &r), UDAX_FSCK_UNCORRECTED);
    expect_reported(&r, "/lost+found is not a directory");
    pool = udax_pool_open(path, NULL);
    if (!pool)
        fail_msg("refused after fsck --repair: %s", udax_last_error());
    expect_file(pool, "/lost+found", "not a directory");
    assert_int_equal(udax_pool_close(pool), 0);
    unlink(path);
}

/* The offsets of the entries of inode ino's committed log, in order; returns how many. */
static size_t log_entries(const unsigned char *base, uint64_t ino, uint64_t *offsets, size_t max)
{
    const struct udax_inode_rec *rec = inode_record((unsigned char *)base, ino);
    uint64_t page = rec->log_head, pos = page + UDAX_SLOT_SIZE;
    size_t count = 0;
    while (pos != rec->log_tail && count < max) {
        const struct udax_entry_header *h = (const void *)(base + pos);
        if (!(pos & (UDAX_BLOCK_SIZE - 1)) || h->type == UDAX_ENTRY_PAD) {
            page = ((const struct udax_log_page_header *)(base + page))->next;
            pos = page + UDAX_SLOT_SIZE;
            continue;
        }
        offsets[count++] = pos;
        pos += (uint64_t)h->slots * UDAX_SLOT_SIZE;
    }
    return count;
}

/* Flips a bit in entry index of inode ino's log (negative: from the end), which its checksum then fails. */
static void damage_entry(const char *path, uint64_t ino, int index, uint8_t type)
{
    size_t size;
    unsigned char *base = map_pool(path, &size);
    uint64_t offsets[64];
    size_t count = log_entries(base, ino, offsets, 64);
    size_t at = index < 0 ? count - (size_t)-index : (size_t)index;
    assert_true(at < count);
    assert_int_equal(((struct udax_entry_header *)(base + offsets[at]))->type, type);
    base[offsets[at] + 20] ^= 1;
    munmap(base, size);
}

/* Refused at open; fsck reports what --repair will do, which then does it and leaves the pool clean. */
static void expect_salvaged(const char *path, const char *refusal, const char *will, const char *did)
{
    expect_refused(path, EUCLEAN, refusal);
    struct reports r;
    char words[128];
    snprintf(words, sizeof(words), "--repair %s", will);
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_UNCORRECTED);
    expect_reported(&r, words);
    expect_refused(path, EUCLEAN, refusal);
    snprintf(words, sizeof(words), "repaired: %s", did);
    assert_int_equal(fsck_reports(path, 1, &r), UDAX_FSCK_CORRECTED);
    expect_reported(&r, words);
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_CLEAN);
}

/*
 * A commit of two entries (a punched hole: PUNCH, then ATTR) whose second
 * entry is damaged: salvage keeps the commits before it whole, never the
 * PUNCH alone, which would be a state the file never had. The blocks the
 * kept state maps stay used.
 */
static void test_salvage_keeps_whole_commits(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/keep", "kept");
    char data[8193];
    memset(data, 'a', 4096);
    memset(data + 4096, 'b', 4096);
    data[8192] = '\0';
    int fd = udax_open(pool, "/f", O_CREAT | O_WRONLY, 0644);
    assert_int_equal(udax_pwrite(pool, fd, data, 4096, 0), 4096);
    assert_int_equal(udax_pwrite(pool, fd, data + 4096, 4096, 4096), 4096);
    struct statvfs before_punch, after;
    assert_int_equal(udax_statvfs(pool, &before_punch), 0);
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    uint64_t f = ino_of(pool, "/f");
    assert_int_equal(udax_pool_close(pool), 0);
    damage_entry(path, f, -1, UDAX_ENTRY_ATTR);

    char words[64];
    snprintf(words, sizeof(words), "inode %llu: log entry fails its checksum", (unsigned long long)f);
    expect_salvaged(path, words, "keeps its first 3 commits", "kept its first 3 commits");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    expect_file(pool, "/f", data);
    expect_file(pool, "/keep", "kept");
    assert_int_equal(udax_statvfs(pool, &after), 0);
    assert_int_equal(after.f_bfree, before_punch.f_bfree);
    test_pool_finish(pool, path);
}

/* A directory's damaged last commit (the DENTRY_ADD of y): the name goes, and the file it named goes to /lost+found. */
static void test_salvage_directory(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    write_file(pool, "/d/x", "x");
    write_file(pool, "/d/y", "y");
    uint64_t d = ino_of(pool, "/d"), y = ino_of(pool, "/d/y");
    assert_int_equal(udax_pool_close(pool), 0);
    damage_entry(path, d, -1, UDAX_ENTRY_DENTRY_ADD);

    expect_salvaged(path, "checksum", "keeps its first 2 commits", "kept its first 2 commits");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    expect_file(pool, "/d/x", "x");
    struct stat st;
    assert_int_equal(udax_stat(pool, "/d/y", &st), -1);
    char moved[64];
    snprintf(moved, sizeof(moved), "/lost+found/#%llu", (unsigned long long)y);
    expect_file(pool, moved, "y");
    test_pool_finish(pool, path);
}

/* A tail that is not a slot boundary tells nothing of what was committed: only the first commit is kept. */
static void test_salvage_damaged_tail(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/f", "written after the first commit");
    uint64_t f = ino_of(pool, "/f");
    assert_int_equal(udax_pool_close(pool), 0);
    set_tail(path, f, tail_of(path, f) | 1);

    expect_salvaged(path, "slot boundary", "keeps its first commit", "kept its first commit");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    expect_file(pool, "/f", "");
    test_pool_finish(pool, path);
}

/* Without a valid first commit the inode is freed, its name dropped, and its log and blocks are free space again. */
static void test_salvage_frees_an_inode(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/keep", "kept");
    struct statvfs before, after;
    assert_int_equal(udax_statvfs(pool, &before), 0);
    char data[20000];
    memset(data, 'z', sizeof(data) - 1);
    data[sizeof(data) - 1] = '\0';
    write_file(pool, "/f", data);
    uint64_t f = ino_of(pool, "/f");
    assert_int_equal(udax_pool_close(pool), 0);
    damage_entry(path, f, 0, UDAX_ENTRY_ATTR);

    expect_salvaged(path, "checksum", "frees the inode", "freed the inode");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/f", &st), -1);
    assert_int_equal(errno, ENOENT);
    expect_file(pool, "/keep", "kept");
    assert_int_equal(udax_statvfs(pool, &after), 0);
    assert_int_equal(after.f_bfree, before.f_bfree);
    test_pool_finish(pool, path);
}

/*
 * A block owned twice stays with the inode whose log is intact, whatever
 * their numbers: /a's log gets a valid copy of /b's EXTENT entry and then a
 * damaged entry, and its tail moves over both. /a, loaded first, must not
 * take /b's block on the way: it is cut back to before the copy, and /b
 * keeps everything.
 */
static void test_salvage_block_owned_twice(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/a", "aaaa");
    write_file(pool, "/b", "bbbb");
    uint64_t a = ino_of(pool, "/a"), b = ino_of(pool, "/b");
    assert_true(a < b);
    assert_int_equal(udax_pool_close(pool), 0);
    size_t size;
    unsigned char *base = map_pool(path, &size);
    uint64_t offsets[8];
    assert_int_equal(log_entries(base, b, offsets, 8), 2);
    assert_int_equal(((struct udax_entry_header *)(base + offsets[1]))->type, UDAX_ENTRY_EXTENT);
    struct udax_inode_rec *rec = inode_record(base, a);
    memcpy(base + rec->log_tail, base + offsets[1], UDAX_SLOT_SIZE);
    memcpy(base + rec->log_tail + UDAX_SLOT_SIZE, base + rec->log_head + UDAX_SLOT_SIZE, UDAX_SLOT_SIZE);
    base[rec->log_tail + UDAX_SLOT_SIZE + 20] ^= 1;
    rec->log_tail += 2 * UDAX_SLOT_SIZE;
    munmap(base, size);

    expect_salvaged(path, "checksum", "keeps its first 2 commits", "kept its first 2 commits");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    expect_file(pool, "/a", "aaaa");
    expect_file(pool, "/b", "bbbb");
    test_pool_finish(pool, path);
}

/*
 * A log that fails to load gives back the blocks it claimed on the way: /a
 * gets valid entries that map a block of /c, loaded after it, and then one
 * of /keep, loaded before. The first claim once stayed, and /c was found
 * damaged too.
 */
static void test_failed_log_gives_back_its_claims(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/keep", "kept");
    write_file(pool, "/a", "aaaa");
    write_file(pool, "/c", "cccc");
    uint64_t keep = ino_of(pool, "/keep"), a = ino_of(pool, "/a"), c = ino_of(pool, "/c");
    assert_true(keep < a && a < c);
    assert_int_equal(udax_pool_close(pool), 0);
    size_t size;
    unsigned char *base = map_pool(path, &size);
    struct udax_inode_rec *rec = inode_record(base, a);
    const uint64_t owners[] = {c, keep};
    for (int i = 0; i < 2; i++) {
        uint64_t offsets[8];
        assert_int_equal(log_entries(base, owners[i], offsets, 8), 2);
        struct udax_entry_extent e;
        memcpy(&e, base + offsets[1], sizeof(e));
        assert_int_equal(e.h.type, UDAX_ENTRY_EXTENT);
        e.page = 10 + 10 * (uint64_t)i;
        e.h.flags = i ? UDAX_ENTRY_LAST : 0;
        e.h.checksum = log_entry_checksum(&e.h);
        memcpy(base + rec->log_tail + i * UDAX_SLOT_SIZE, &e, sizeof(e));
    }
    rec->log_tail += 2 * UDAX_SLOT_SIZE;
    munmap(base, size);

    struct reports r;
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_UNCORRECTED);
    assert_int_equal(r.count, 1);
    char words[64];
    snprintf(words, sizeof(words), "inode %llu: data block", (unsigned long long)a);
    expect_reported(&r, words);
    expect_salvaged(path, "owned twice", "keeps its first 2 commits", "kept its first 2 commits");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    expect_file(pool, "/a", "aaaa");
    expect_file(pool, "/c", "cccc");
    expect_file(pool, "/keep", "kept");
    test_pool_finish(pool, path);
}

/*
 * A directory cut back to before two renames names a file and a directory
 * that other directories name now. Those names are stale and go; without
 * that, the file would get a second link and the directory two names.
 */
static void test_salvage_drops_stale_names(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/e", 0755), 0);
    write_file(pool, "/d/x", "x");
    assert_int_equal(udax_mkdir(pool, "/d/sub", 0755), 0);
    write_file(pool, "/d/sub/f", "f");
    assert_int_equal(udax_rename(pool, "/d/x", "/e/x"), 0);
    assert_int_equal(udax_rename(pool, "/d/sub", "/e/sub"), 0);
    uint64_t d = ino_of(pool, "/d");
    assert_int_equal(udax_pool_close(pool), 0);
    damage_entry(path, d, 3, UDAX_ENTRY_DENTRY_DEL);

    expect_salvaged(path, "checksum", "keeps its first 3 commits", "kept its first 3 commits");
    struct reports r;
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    struct stat st;
    assert_int_equal(udax_stat(pool, "/d/x", &st), -1);
    assert_int_equal(udax_stat(pool, "/d/sub", &st), -1);
    expect_file(pool, "/e/x", "x");
    expect_file(pool, "/e/sub/f", "f");
    assert_int_equal(udax_pool_close(pool), 0);
    assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_CLEAN);
    unlink(path);
}

/* A root without a valid first commit is replaced by an empty one; the tree below goes to /lost+found whole. */
static void test_salvage_root(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
    write_file(pool, "/keep", "kept");
    assert_int_equal(udax_mkdir(pool, "/d", 0755), 0);
    assert_int_equal(udax_mkdir(pool, "/d/sub", 0755), 0);
    write_file(pool, "/d/sub/f", "deep");
    uint64_t keep = ino_of(pool, "/keep"), d = ino_of(pool, "/d");
    assert_int_equal(udax_pool_close(pool), 0);
    damage_entry(path, UDAX_ROOT_INO, 0, UDAX_ENTRY_ATTR);

    expect_salvaged(path, "inode 1: log entry fails its checksum", "frees the inode", "freed the inode");
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    char moved[64];
    snprintf(moved, sizeof(moved), "/lost+found/#%llu", (unsigned long long)keep);
    expect_file(pool, moved, "kept");
    snprintf(moved, sizeof(moved), "/lost+found/#%llu/sub/f", (unsigned long long)d);
    expect_file(pool, moved, "deep");
    test_pool_finish(pool, path);
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
    assert_int_equal(fsck_status(path, 0, &problems), UDAX_FSCK_UNCORRECTED);
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

enum xattr_damage { XATTR_UNKNOWN_NAMESPACE, XATTR_VALUE_PAST_ITS_SLOTS, XATTR_NUL_IN_NAME, XATTR_DEL_WITH_VALUE,
                    XATTR_USER_ON_SYMLINK, XATTR_DAMAGES };

/*
 * A last commit whose XATTR entry is well sealed but impossible: open refuses
 * the pool naming the malformed attribute, and fsck --repair cuts the log
 * back before that commit, keeping the file's data and earlier attributes.
 */
static void test_malformed_xattr_entry(void **state)
{
    (void)state;
    for (int kind = 0; kind < XATTR_DAMAGES; kind++) {
        char path[128];
        struct udax_pool *pool = test_pool_new(path, sizeof(path), POOL_SIZE, UDAX_DATA_STRICT);
        write_file(pool, "/f", "data");
        assert_int_equal(udax_setxattr(pool, "/f", "user.a", "first", 5, 0), 0);
        assert_int_equal(udax_symlink(pool, "f", "/s"), 0);
        const char *victim = kind == XATTR_USER_ON_SYMLINK ? "/s" : "/f";
        if (kind == XATTR_DEL_WITH_VALUE)
            assert_int_equal(udax_removexattr(pool, "/f", "user.a"), 0);
        else
            assert_int_equal(udax_lsetxattr(pool, victim, "trusted.b", "second", 6, 0), 0);
        struct stat st;
        assert_int_equal(udax_lstat(pool, victim, &st), 0);
        uint64_t ino = st.st_ino;
        assert_int_equal(udax_pool_close(pool), 0);

        size_t size;
        unsigned char *base = map_pool(path, &size);
        uint64_t offsets[16];
        size_t count = log_entries(base, ino, offsets, 16);
        struct udax_entry_xattr *e = (void *)(base + offsets[count - 2]);
        assert_int_equal(e->h.type, kind == XATTR_DEL_WITH_VALUE ? UDAX_ENTRY_XATTR_DEL : UDAX_ENTRY_XATTR_SET);
        if (kind == XATTR_UNKNOWN_NAMESPACE)
            memcpy(e->data, "trustex", 7);
        else if (kind == XATTR_VALUE_PAST_ITS_SLOTS)
            e->value_len += UDAX_SLOT_SIZE;
        else if (kind == XATTR_NUL_IN_NAME)
            e->data[8] = '\0';
        else if (kind == XATTR_DEL_WITH_VALUE)
            e->value_len = 1;
        else
            memcpy(e->data, "user.bbbb", 9);
        e->h.checksum = log_entry_checksum(&e->h);
        munmap(base, size);

        char words[64];
        snprintf(words, sizeof(words), "inode %llu: malformed extended attribute", (unsigned long long)ino);
        expect_refused(path, EUCLEAN, words);
        struct reports r;
        assert_int_equal(fsck_reports(path, 0, &r), UDAX_FSCK_UNCORRECTED);
        expect_reported(&r, words);
        assert_int_equal(fsck_reports(path, 1, &r), UDAX_FSCK_CORRECTED);
        expect_reported(&r, "repaired: kept its first");
        pool = udax_pool_open(path, NULL);
        assert_non_null(pool);
        expect_file(pool, "/f", "data");
        char value[8];
        assert_int_equal(udax_getxattr(pool, "/f", "user.a", value, sizeof(value)), 5);
        assert_memory_equal(value, "first", 5);
        assert_int_equal(udax_llistxattr(pool, victim, NULL, 0), kind == XATTR_USER_ON_SYMLINK ? 0 : 7);
        test_pool_finish(pool, path);
    }
}

/* 130 records: the root and 128 more, numbers 0 and 1 being taken, which spans three words of the free-number bitmap. */
#define FEW_INODES 130

static int create_until_enospc(struct udax_pool *pool, const char *prefix)
{
    char name[32];
    for (int files = 0;; files++) {
        snprintf(name, sizeof(name), "/%s%d", prefix, files);
        int fd = udax_open(pool, name, O_CREAT | O_EXCL | O_WRONLY, 0644);
        if (fd < 0) {
            assert_int_equal(errno, ENOSPC);
            return files;
        }
        assert_int_equal(udax_close(pool, fd), 0);
    }
}

/* Running out of inode numbers is ENOSPC; a number freed by unlink is found again, before and after a reopen. */
static void test_full_inode_table(void **state)
{
    (void)state;
    char path[128];
    snprintf(path, sizeof(path), "/dev/shm/udax-test-%d-inodes.pool", (int)getpid());
    struct udax_mkfs_options opts = {.inode_count = FEW_INODES};
    assert_int_equal(udax_pool_create(path, POOL_SIZE, &opts), 0);
    struct udax_pool *pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    assert_int_equal(create_until_enospc(pool, "f"), FEW_INODES - 2);
    assert_int_equal(udax_unlink(pool, "/f70"), 0);
    assert_int_equal(create_until_enospc(pool, "g"), 1);
    assert_int_equal(udax_pool_close(pool), 0);

    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    assert_int_equal(create_until_enospc(pool, "h"), 0);
    for (int i = 0; i < FEW_INODES - 2; i += 3) {
        char name[32];
        snprintf(name, sizeof(name), "/f%d", i);
        assert_int_equal(udax_unlink(pool, name), 0);
    }
    assert_int_equal(create_until_enospc(pool, "h"), (FEW_INODES - 2 + 2) / 3);
    test_pool_finish(pool, path);
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
        cmocka_unit_test(test_detached_subtree_keeps_its_shape), cmocka_unit_test(test_detached_cycle),
        cmocka_unit_test(test_lost_found_that_is_a_file),
        cmocka_unit_test(test_salvage_keeps_whole_commits), cmocka_unit_test(test_salvage_directory),
        cmocka_unit_test(test_salvage_damaged_tail), cmocka_unit_test(test_salvage_frees_an_inode),
        cmocka_unit_test(test_salvage_block_owned_twice), cmocka_unit_test(test_failed_log_gives_back_its_claims),
        cmocka_unit_test(test_salvage_drops_stale_names),
        cmocka_unit_test(test_salvage_root),
        cmocka_unit_test(test_malformed_xattr_entry),
        cmocka_unit_test(test_random_damage), cmocka_unit_test(test_full_pool),
        cmocka_unit_test(test_full_inode_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
