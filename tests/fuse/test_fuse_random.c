/* test_fuse_random.c: seeded random calls and mapped I/O on the mount, mirrored on tmpfs, checked against a model of the tree. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"
#include "test_trace.h"

#define PAGE 4096UL
/* No call makes a file longer than this, so that the model holds every file whole. */
#define FILE_CAP (1UL << 20)
/* Now and then a call moves more than one FUSE request carries (128 KiB). */
#define BIG_IO (256UL << 10)
#define MAX_DIRS 5
#define MAX_FILES 16
#define ROOT 0
#define MAX_NODES (1 + MAX_DIRS + MAX_FILES)
#define NAME_COUNT 5
/* Every name of every directory: the most entries the tree can hold. */
#define MAX_ENTRIES ((1 + MAX_DIRS) * NAME_COUNT)
#define MAX_HANDLES 8
#define MAX_MAPPINGS 4
#define MAP_PAGES 64
#define CHECK_EVERY 50
#define REL_MAX 128
#define DEFAULT_OPS 300000

/* Few names, so that calls often meet each other's files and directories. */
static const char *const names[NAME_COUNT] = {"a", "b", "c", "d", "e"};

/* A file's bytes are kept whole, zero past its size, so that an extension shows zeros without another step. */
struct node {
    bool used;
    bool dir;
    unsigned nlink; /* a file's names; a directory's count follows from its subdirectories */
    size_t size;
    unsigned char *bytes;
};

/* A name in a directory; a directory node has exactly one. */
struct entry {
    bool used;
    int parent;
    int name;
    int node;
};

/* A file open on both sides with the same flags. */
struct handle {
    bool used;
    int node;
    int flags;
    int mnt, mir;
};

/* MAP_SHARED mappings of the same range of one file on both sides; they outlive the descriptor they came from. */
struct mapping {
    bool used;
    bool writable;
    int node;
    size_t offset, len;
    unsigned char *mnt, *mir;
};

/* A place to name: a directory of the model and a name, or (parent -1) a path through a file or a missing directory. */
struct place {
    int parent;
    int name;
    char rel[REL_MAX];
};

struct run {
    char mnt_root[PATH_MAX];
    char mir_base[PATH_MAX]; /* the mkdtemp directory that holds the mirror, removed at the end */
    char mir_root[PATH_MAX];
    uint64_t seed, rng;
    unsigned long ops, step, calls, failed_calls, checks;
    struct node nodes[MAX_NODES];
    struct entry entries[MAX_ENTRIES];
    struct handle handles[MAX_HANDLES];
    struct mapping maps[MAX_MAPPINGS];
    unsigned char *data, *mnt_buf, *mir_buf;
    struct test_trace trace;
};

/* A call's result and, when it failed, its errno. */
struct outcome {
    long long value;
    int error;
};

static const char *mount_dir;
static const char *ops_arg, *seed_arg;

static struct outcome outcome_of(long long value)
{
    return (struct outcome){value, value < 0 ? errno : 0};
}

static uint64_t below(struct run *r, uint64_t bound)
{
    return bound ? test_random_next(&r->rng) % bound : 0;
}

static bool chance(struct run *r, unsigned percent)
{
    return below(r, 100) < percent;
}

static void fill_random(struct run *r, unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t word = test_random_next(&r->rng);
        memcpy(buf + i, &word, len - i < 8 ? len - i : 8);
    }
}

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    test_trace_vnote(&r->trace, r->step, fmt, ap);
    va_end(ap);
}

static void mismatch(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct run *r, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    print_error("fuse-random: mismatch, seed %#" PRIx64 " (replay: UDAX_TEST_SEED=%#" PRIx64
                " UDAX_TEST_OPS=%lu), step %lu\n",
                r->seed, r->seed, r->ops, r->step);
    print_error("last calls, oldest first:\n");
    test_trace_print(&r->trace);
    print_error("%s\n", message);
    fail();
}

/* Both sides agreed, but not with what the model allows: the model, not the mount, is wrong. */
#define MODEL_FAIL(r, what) mismatch((r), "the model is out of step with both sides: %s", (what))

/*
 * The mount must do what tmpfs did: succeed or fail alike, with the same
 * errno, and (if asked) the same result. Returns whether both succeeded.
 */
static bool expect_same(struct run *r, struct outcome u, struct outcome m, bool compare_values)
{
    if (m.value < 0)
        test_trace_append(&r->trace, " = -1 %s", strerrorname_np(m.error));
    else
        test_trace_append(&r->trace, " = %lld", m.value);
    r->calls++;
    r->failed_calls += m.value < 0;
    bool both_failed = u.value < 0 && m.value < 0;
    if ((u.value < 0) != (m.value < 0) || (both_failed && u.error != m.error) ||
        (!both_failed && compare_values && u.value != m.value))
        mismatch(r, "the mount returned %lld (%s), tmpfs %lld (%s)", u.value, u.value < 0 ? strerror(u.error) : "ok",
                 m.value, m.value < 0 ? strerror(m.error) : "ok");
    return m.value >= 0;
}

static void expect_model_bytes(struct run *r, const char *what, int node, size_t offset, const unsigned char *got,
                               size_t len)
{
    const unsigned char *want = r->nodes[node].bytes + offset;
    if (!memcmp(got, want, len))
        return;
    size_t at = 0;
    while (got[at] == want[at])
        at++;
    mismatch(r, "%s: byte %zu reads %#x, the model has %#x (size %zu)", what, offset + at, got[at], want[at],
             r->nodes[node].size);
}

/* --- the model's tree --- */

static int find_entry(const struct run *r, int parent, int name)
{
    for (int e = 0; e < MAX_ENTRIES; e++)
        if (r->entries[e].used && r->entries[e].parent == parent && r->entries[e].name == name)
            return e;
    return -1;
}

static int entry_of_node(const struct run *r, int node)
{
    for (int e = 0; e < MAX_ENTRIES; e++)
        if (r->entries[e].used && r->entries[e].node == node)
            return e;
    return -1;
}

/* A directory's path relative to the root, with a trailing slash; "" for the root. */
static void dir_rel(const struct run *r, int dir, char *out, size_t len)
{
    if (dir == ROOT) {
        out[0] = '\0';
        return;
    }
    const struct entry *e = &r->entries[entry_of_node(r, dir)];
    char parent[REL_MAX];
    dir_rel(r, e->parent, parent, sizeof(parent));
    assert_true(snprintf(out, len, "%s%s/", parent, names[e->name]) < (int)len);
}

static void place_at(const struct run *r, int parent, int name, struct place *p)
{
    char dir[REL_MAX];
    dir_rel(r, parent, dir, sizeof(dir));
    p->parent = parent;
    p->name = name;
    assert_true(snprintf(p->rel, sizeof(p->rel), "%s%s", dir, names[name]) < (int)sizeof(p->rel));
}

static int count_nodes(const struct run *r, bool dir)
{
    int count = 0;
    for (int n = 1; n < MAX_NODES; n++)
        count += r->nodes[n].used && r->nodes[n].dir == dir;
    return count;
}

static int random_used_entry(struct run *r, int want_dir)
{
    int found[MAX_ENTRIES], count = 0;
    for (int e = 0; e < MAX_ENTRIES; e++)
        if (r->entries[e].used && (want_dir < 0 || r->nodes[r->entries[e].node].dir == (want_dir == 1)))
            found[count++] = e;
    return count ? found[below(r, (uint64_t)count)] : -1;
}

static int random_dir(struct run *r)
{
    int dirs[MAX_NODES], count = 0;
    for (int n = 0; n < MAX_NODES; n++)
        if (r->nodes[n].used && r->nodes[n].dir)
            dirs[count++] = n;
    return dirs[below(r, (uint64_t)count)];
}

/* Mostly a name in a directory of the model; now and then a path whose parent is a file or missing. */
static void random_place(struct run *r, struct place *p)
{
    int name = (int)below(r, NAME_COUNT);
    if (chance(r, 4)) {
        int e = random_used_entry(r, -1);
        struct place base = {.rel = ""};
        if (e >= 0)
            place_at(r, r->entries[e].parent, r->entries[e].name, &base);
        const char *through = e < 0 ? "missing/" : r->nodes[r->entries[e].node].dir ? "/missing/" : "/";
        p->parent = -1;
        p->name = name;
        assert_true(snprintf(p->rel, sizeof(p->rel), "%s%s%s", base.rel, through, names[name]) < (int)sizeof(p->rel));
        return;
    }
    place_at(r, random_dir(r), name, p);
}

/* A name that exists, of the kind asked for (-1 any), most of the time; else any place. */
static void random_existing_place(struct run *r, int want_dir, struct place *p)
{
    int e = chance(r, 85) ? random_used_entry(r, want_dir) : -1;
    if (e < 0)
        random_place(r, p);
    else
        place_at(r, r->entries[e].parent, r->entries[e].name, p);
}

static int place_entry(const struct run *r, const struct place *p)
{
    return p->parent < 0 ? -1 : find_entry(r, p->parent, p->name);
}

/* One path on each side. */
struct paths {
    char mnt[PATH_MAX], mir[PATH_MAX];
};

static void paths_of(const struct run *r, const char *rel, struct paths *out)
{
    assert_true(snprintf(out->mnt, sizeof(out->mnt), "%s/%s", r->mnt_root, rel) < (int)sizeof(out->mnt));
    assert_true(snprintf(out->mir, sizeof(out->mir), "%s/%s", r->mir_root, rel) < (int)sizeof(out->mir));
}

static int new_node(struct run *r, bool dir)
{
    for (int n = 1; n < MAX_NODES; n++) {
        struct node *node = &r->nodes[n];
        if (node->used)
            continue;
        if (!dir && !node->bytes) {
            node->bytes = calloc(1, FILE_CAP);
            assert_non_null(node->bytes);
        }
        if (node->bytes)
            memset(node->bytes, 0, node->size);
        *node = (struct node){.used = true, .dir = dir, .bytes = node->bytes};
        return n;
    }
    fail_msg("no free node: the caps on files and directories should leave one");
    return -1;
}

static void add_entry(struct run *r, int parent, int name, int node)
{
    for (int e = 0; e < MAX_ENTRIES; e++) {
        if (r->entries[e].used)
            continue;
        r->entries[e] = (struct entry){true, parent, name, node};
        r->nodes[node].nlink += !r->nodes[node].dir;
        return;
    }
    fail_msg("no free entry");
}

/* A file lives while a name, a descriptor or a mapping holds it, as an inode does. */
static void release_if_unused(struct run *r, int node)
{
    struct node *n = &r->nodes[node];
    if (n->dir || n->nlink)
        return;
    for (int h = 0; h < MAX_HANDLES; h++)
        if (r->handles[h].used && r->handles[h].node == node)
            return;
    for (int m = 0; m < MAX_MAPPINGS; m++)
        if (r->maps[m].used && r->maps[m].node == node)
            return;
    n->used = false;
}

static void drop_entry(struct run *r, int e)
{
    int node = r->entries[e].node;
    r->entries[e].used = false;
    if (r->nodes[node].dir) {
        for (int child = 0; child < MAX_ENTRIES; child++)
            if (r->entries[child].used && r->entries[child].parent == node)
                MODEL_FAIL(r, "a directory with names went away");
        r->nodes[node].used = false;
        return;
    }
    r->nodes[node].nlink--;
    release_if_unused(r, node);
}

static void set_size(struct run *r, int node, size_t size)
{
    struct node *n = &r->nodes[node];
    if (size < n->size)
        memset(n->bytes + size, 0, n->size - size);
    n->size = size;
}

static void model_write(struct run *r, int node, size_t offset, const unsigned char *bytes, size_t len)
{
    if (!len)
        return;
    struct node *n = &r->nodes[node];
    memcpy(n->bytes + offset, bytes, len);
    if (offset + len > n->size)
        n->size = offset + len;
}

/* --- descriptors and mappings --- */

enum use { ANY_USE, READ_USE, WRITE_USE };

static bool handle_fits(const struct handle *h, enum use use)
{
    int access = h->flags & O_ACCMODE;
    return use == ANY_USE || access == O_RDWR || access == (use == READ_USE ? O_RDONLY : O_WRONLY);
}

/* An open handle, mostly one that fits the use (so that a call can succeed), else any: -1 when none is open. */
static int pick_handle(struct run *r, enum use use)
{
    int open[MAX_HANDLES], fitting[MAX_HANDLES], open_count = 0, fitting_count = 0;
    for (int h = 0; h < MAX_HANDLES; h++) {
        if (!r->handles[h].used)
            continue;
        open[open_count++] = h;
        if (handle_fits(&r->handles[h], use))
            fitting[fitting_count++] = h;
    }
    if (fitting_count && chance(r, 92))
        return fitting[below(r, (uint64_t)fitting_count)];
    return open_count ? open[below(r, (uint64_t)open_count)] : -1;
}

static void close_handle(struct run *r, int h)
{
    struct handle *handle = &r->handles[h];
    note(r, "close h%d", h);
    expect_same(r, outcome_of(close(handle->mnt)), outcome_of(close(handle->mir)), true);
    handle->used = false;
    release_if_unused(r, handle->node);
}

static void unmap(struct run *r, int m)
{
    struct mapping *map = &r->maps[m];
    note(r, "munmap m%d", m);
    expect_same(r, outcome_of(munmap(map->mnt, map->len)), outcome_of(munmap(map->mir, map->len)), true);
    map->used = false;
    release_if_unused(r, map->node);
}

/* The part of a mapping inside the file: [start, end) in file offsets, empty past the end. */
static void mapped_file_range(const struct run *r, const struct mapping *map, size_t *start, size_t *end)
{
    size_t size = r->nodes[map->node].size;
    *start = map->offset;
    *end = map->offset + map->len < size ? map->offset + map->len : size;
    if (*end < *start)
        *end = *start;
}

/* Loads [offset, offset + len) of the file through both mappings, with SIGBUS caught, and compares with the model. */
static void expect_mapped_bytes(struct run *r, const char *what, const struct mapping *map, size_t offset, size_t len)
{
    if (!len)
        return;
    size_t at = offset - map->offset;
    void *fault = test_guarded_copy(r->mnt_buf, map->mnt + at, len);
    if (fault)
        mismatch(r, "%s: a load through the mount's mapping raised SIGBUS at file offset %zu (size %zu)", what,
                 map->offset + (size_t)((unsigned char *)fault - map->mnt), r->nodes[map->node].size);
    fault = test_guarded_copy(r->mir_buf, map->mir + at, len);
    if (fault)
        mismatch(r, "%s: a load through the tmpfs mapping raised SIGBUS", what);
    expect_model_bytes(r, what, map->node, offset, r->mnt_buf, len);
    expect_model_bytes(r, "the same load on tmpfs", map->node, offset, r->mir_buf, len);
}

/* Every mapping of node shows what a call just wrote to [offset, offset + len). */
static void expect_seen_by_mappings(struct run *r, int node, size_t offset, size_t len)
{
    for (int m = 0; m < MAX_MAPPINGS; m++) {
        const struct mapping *map = &r->maps[m];
        if (!map->used || map->node != node)
            continue;
        size_t start, end;
        mapped_file_range(r, map, &start, &end);
        size_t from = offset > start ? offset : start, to = offset + len < end ? offset + len : end;
        if (from < to)
            expect_mapped_bytes(r, "a mapping after a call wrote under it", map, from, to - from);
    }
}

/* --- checks of the whole state --- */

static size_t read_all(int fd, unsigned char *buf)
{
    size_t total = 0;
    for (;;) {
        ssize_t n = pread(fd, buf + total, FILE_CAP + 1 - total, (off_t)total);
        if (n <= 0) {
            assert_int_equal(n, 0);
            return total;
        }
        total += (size_t)n;
    }
}

/* What a fresh descriptor reads: through the page cache, and with O_DIRECT from the daemon (after dirty pages). */
static void check_file_by_path(struct run *r, const char *rel, int node)
{
    struct paths a;
    char what[REL_MAX + 64];
    paths_of(r, rel, &a);
    static const struct {
        int flags;
        const char *how;
    } ways[] = {{O_RDONLY, "read"}, {O_RDONLY | O_DIRECT, "O_DIRECT read"}};
    size_t size = r->nodes[node].size;
    for (size_t w = 0; w < sizeof(ways) / sizeof(ways[0]); w++) {
        int fd = open(a.mnt, ways[w].flags);
        if (fd < 0)
            mismatch(r, "open %s on the mount: %s", rel, strerror(errno));
        size_t got = read_all(fd, r->mnt_buf);
        assert_int_equal(close(fd), 0);
        snprintf(what, sizeof(what), "%s of %s", ways[w].how, rel);
        if (got != size)
            mismatch(r, "%s: %zu bytes, the model has %zu", what, got, size);
        expect_model_bytes(r, what, node, 0, r->mnt_buf, size);
    }
    int fd = open(a.mir, O_RDONLY);
    assert_true(fd >= 0);
    size_t got = read_all(fd, r->mir_buf);
    assert_int_equal(close(fd), 0);
    if (got != size)
        mismatch(r, "tmpfs %s: %zu bytes, the model has %zu", rel, got, size);
    expect_model_bytes(r, "the same read on tmpfs", node, 0, r->mir_buf, size);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *type_letter(unsigned char type)
{
    return type == DT_DIR ? "/" : type == DT_REG ? "" : "?";
}

/* A directory's listing as one string, "a b/ c", sorted, without "." and "..". */
static void listing(struct run *r, const char *path, char *out, size_t len)
{
    DIR *dir = opendir(path);
    if (!dir)
        mismatch(r, "opendir %s: %s", path, strerror(errno));
    char found[MAX_ENTRIES + 2][8];
    const char *sorted[MAX_ENTRIES + 2];
    size_t count = 0;
    for (struct dirent *d; (d = readdir(dir));) {
        if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
            continue;
        if (count == MAX_ENTRIES || strlen(d->d_name) > 1)
            mismatch(r, "listing of %s: unexpected name %s", path, d->d_name);
        snprintf(found[count], sizeof(found[count]), "%s%s", d->d_name, type_letter(d->d_type));
        sorted[count] = found[count];
        count++;
    }
    assert_int_equal(closedir(dir), 0);
    qsort(sorted, count, sizeof(sorted[0]), by_name);
    out[0] = '\0';
    for (size_t i = 0; i < count; i++)
        snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? " " : "", sorted[i]);
}

static void model_listing(const struct run *r, int dir, char *out, size_t len)
{
    out[0] = '\0';
    for (int name = 0; name < NAME_COUNT; name++) {
        int e = find_entry(r, dir, name);
        if (e >= 0)
            snprintf(out + strlen(out), len - strlen(out), "%s%s%s", out[0] ? " " : "", names[name],
                     r->nodes[r->entries[e].node].dir ? "/" : "");
    }
}

static void check_listing(struct run *r, int dir)
{
    char rel[REL_MAX], want[256], mnt[256], mir[256];
    struct paths a;
    dir_rel(r, dir, rel, sizeof(rel));
    paths_of(r, rel, &a);
    model_listing(r, dir, want, sizeof(want));
    listing(r, a.mnt, mnt, sizeof(mnt));
    listing(r, a.mir, mir, sizeof(mir));
    if (strcmp(mnt, want) || strcmp(mir, want))
        mismatch(r, "listing of '/%s': the mount has '%s', tmpfs '%s', the model '%s'", rel, mnt, mir, want);
}

static unsigned subdirs(const struct run *r, int dir)
{
    unsigned count = 0;
    for (int e = 0; e < MAX_ENTRIES; e++)
        count += r->entries[e].used && r->entries[e].parent == dir && r->nodes[r->entries[e].node].dir;
    return count;
}

/* The attributes the model knows, compared on both sides: type, link count, and a file's size; modes alike. */
static void expect_stat(struct run *r, const char *what, int node, const struct stat *mnt, const struct stat *mir)
{
    const struct node *n = &r->nodes[node];
    unsigned long nlink = n->dir ? 2 + subdirs(r, node) : n->nlink;
    if (mnt->st_mode != mir->st_mode)
        mismatch(r, "%s: the mount's mode is %#o, tmpfs %#o", what, mnt->st_mode, mir->st_mode);
    if (!!S_ISDIR(mnt->st_mode) != n->dir || (!n->dir && !S_ISREG(mnt->st_mode)))
        mismatch(r, "%s: mode %#o, the model has a %s", what, mnt->st_mode, n->dir ? "directory" : "file");
    if (mnt->st_nlink != nlink || mir->st_nlink != nlink)
        mismatch(r, "%s: the mount has %lu links, tmpfs %lu, the model %lu", what, (unsigned long)mnt->st_nlink,
                 (unsigned long)mir->st_nlink, nlink);
    if (!n->dir && ((size_t)mnt->st_size != n->size || (size_t)mir->st_size != n->size))
        mismatch(r, "%s: the mount's size is %lld, tmpfs %lld, the model %zu", what, (long long)mnt->st_size,
                 (long long)mir->st_size, n->size);
}

static void check_all(struct run *r)
{
    r->checks++;
    note(r, "check everything");
    ino_t inos[MAX_NODES] = {0};
    for (int e = 0; e < MAX_ENTRIES; e++) {
        if (!r->entries[e].used)
            continue;
        struct place p;
        place_at(r, r->entries[e].parent, r->entries[e].name, &p);
        int node = r->entries[e].node;
        struct paths a;
        struct stat mnt, mir;
        paths_of(r, p.rel, &a);
        if (lstat(a.mnt, &mnt))
            mismatch(r, "lstat %s on the mount: %s", p.rel, strerror(errno));
        assert_int_equal(lstat(a.mir, &mir), 0);
        expect_stat(r, p.rel, node, &mnt, &mir);
        /* Names of one model node are one inode on the mount, and names of different nodes different inodes. */
        for (int other = 0; other < MAX_NODES; other++)
            if (inos[other] == mnt.st_ino && other != node)
                mismatch(r, "%s: inode %lu is also another node's", p.rel, (unsigned long)mnt.st_ino);
        if (inos[node] && inos[node] != mnt.st_ino)
            mismatch(r, "%s: inode %lu, another name of it has %lu", p.rel, (unsigned long)mnt.st_ino,
                     (unsigned long)inos[node]);
        inos[node] = mnt.st_ino;
        if (!r->nodes[node].dir && entry_of_node(r, node) == e)
            check_file_by_path(r, p.rel, node);
    }
    for (int n = 0; n < MAX_NODES; n++)
        if (r->nodes[n].used && r->nodes[n].dir)
            check_listing(r, n);
    for (int h = 0; h < MAX_HANDLES; h++) {
        const struct handle *handle = &r->handles[h];
        if (!handle->used)
            continue;
        struct stat mnt, mir;
        char what[32];
        snprintf(what, sizeof(what), "fstat of h%d", h);
        assert_int_equal(fstat(handle->mnt, &mnt), 0);
        assert_int_equal(fstat(handle->mir, &mir), 0);
        expect_stat(r, what, handle->node, &mnt, &mir);
        if (inos[handle->node] && inos[handle->node] != mnt.st_ino)
            mismatch(r, "%s: inode %lu, its name has %lu", what, (unsigned long)mnt.st_ino,
                     (unsigned long)inos[handle->node]);
        /* A file with no name left is read through its descriptors. */
        if (!r->nodes[handle->node].nlink && handle_fits(handle, READ_USE)) {
            size_t size = r->nodes[handle->node].size;
            size_t got = read_all(handle->mnt, r->mnt_buf);
            if (got != size)
                mismatch(r, "read of unlinked h%d: %zu bytes, the model has %zu", h, got, size);
            expect_model_bytes(r, "read of an unlinked file", handle->node, 0, r->mnt_buf, size);
        }
    }
    for (int m = 0; m < MAX_MAPPINGS; m++) {
        if (!r->maps[m].used)
            continue;
        size_t start, end;
        mapped_file_range(r, &r->maps[m], &start, &end);
        expect_mapped_bytes(r, "the whole of a mapping", &r->maps[m], start, end - start);
    }
}

/* --- random sizes and offsets --- */

static size_t random_length(struct run *r)
{
    switch (below(r, 20)) {
    case 0:
        return 0;
    case 1:
        return 1 + below(r, BIG_IO);
    case 2: case 3: case 4:
        return PAGE * (1 + below(r, 4));
    case 5: case 6: case 7: case 8:
        return 1 + below(r, 32 << 10);
    default:
        return 1 + below(r, 2 * PAGE + 100);
    }
}

/* Inside the file, at its end, past it (leaving a hole), on and just before page boundaries; never past FILE_CAP. */
static size_t random_offset(struct run *r, size_t size)
{
    size_t offset;
    switch (below(r, 8)) {
    case 0: case 1: case 2:
        offset = below(r, size + 1);
        break;
    case 3:
        offset = size;
        break;
    case 4:
        offset = size + below(r, 3 * PAGE);
        break;
    case 5:
        offset = below(r, size / PAGE + 2) * PAGE;
        break;
    case 6:
        offset = (1 + below(r, size / PAGE + 2)) * PAGE - 1 - below(r, 64);
        break;
    default:
        offset = below(r, FILE_CAP);
        break;
    }
    return offset < FILE_CAP ? offset : FILE_CAP - 1;
}

static size_t capped(size_t offset, size_t len)
{
    return offset >= FILE_CAP ? 0 : offset + len > FILE_CAP ? FILE_CAP - offset : len;
}

static const char *flags_text(int flags, char *out, size_t len)
{
    static const char *const access_names[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
    snprintf(out, len, "%s%s%s%s%s%s", access_names[flags & O_ACCMODE], flags & O_CREAT ? "|O_CREAT" : "",
             flags & O_EXCL ? "|O_EXCL" : "", flags & O_TRUNC ? "|O_TRUNC" : "", flags & O_APPEND ? "|O_APPEND" : "",
             flags & O_DIRECT ? "|O_DIRECT" : "");
    return out;
}

/* --- the operations: each makes one call on both sides, compares, and brings the model along --- */

static void op_open(struct run *r)
{
    static const int access_modes[] = {O_RDONLY, O_WRONLY, O_RDWR, O_RDWR};
    struct place p;
    random_place(r, &p);
    int e = place_entry(r, &p);
    int flags = access_modes[below(r, 4)];
    if (chance(r, 50))
        flags |= O_CREAT | (chance(r, 20) ? O_EXCL : 0);
    if (chance(r, 10))
        flags |= O_TRUNC;
    if (chance(r, 20))
        flags |= O_APPEND;
    /* Reads and writes that pass the page cache by, while mappings of the same file use it. */
    if (chance(r, 8))
        flags |= O_DIRECT;
    if ((flags & O_CREAT) && e < 0 && count_nodes(r, false) >= MAX_FILES)
        flags &= ~(O_CREAT | O_EXCL);
    int h = 0;
    while (h < MAX_HANDLES && r->handles[h].used)
        h++;
    if (h == MAX_HANDLES) {
        h = (int)below(r, MAX_HANDLES);
        close_handle(r, h);
    }
    char text[64];
    struct paths a;
    paths_of(r, p.rel, &a);
    note(r, "h%d = open %s %s", h, p.rel, flags_text(flags, text, sizeof(text)));
    struct outcome u = outcome_of(open(a.mnt, flags, 0644)), m = outcome_of(open(a.mir, flags, 0644));
    if (!expect_same(r, u, m, false))
        return;
    int node;
    if (e >= 0) {
        node = r->entries[e].node;
    } else {
        if (p.parent < 0 || !(flags & O_CREAT))
            MODEL_FAIL(r, "open made a file the model has no place for");
        node = new_node(r, false);
        add_entry(r, p.parent, p.name, node);
    }
    if (r->nodes[node].dir) {
        assert_int_equal(close((int)u.value), 0);
        assert_int_equal(close((int)m.value), 0);
        return;
    }
    if (flags & O_TRUNC)
        set_size(r, node, 0);
    r->handles[h] = (struct handle){true, node, flags, (int)u.value, (int)m.value};
}

static void op_close(struct run *r)
{
    int h = pick_handle(r, ANY_USE);
    if (h >= 0)
        close_handle(r, h);
}

/* pwrite, or write at the end through an O_APPEND descriptor; on Linux pwrite also appends there. */
static void op_write(struct run *r)
{
    int h = pick_handle(r, WRITE_USE);
    if (h < 0)
        return;
    const struct handle *handle = &r->handles[h];
    size_t size = r->nodes[handle->node].size;
    bool append = handle->flags & O_APPEND;
    bool plain_write = append && chance(r, 50);
    size_t offset = random_offset(r, size);
    size_t start = append ? size : offset;
    size_t len = capped(start, random_length(r));
    bool negative = !plain_write && chance(r, 2);
    fill_random(r, r->data, len);
    struct outcome u, m;
    if (plain_write) {
        note(r, "write h%d %zu bytes (at the end, %zu)", h, len, size);
        u = outcome_of(write(handle->mnt, r->data, len));
        m = outcome_of(write(handle->mir, r->data, len));
    } else {
        off_t at = negative ? -1 - (off_t)below(r, PAGE) : (off_t)offset;
        note(r, "pwrite h%d %zu bytes at %lld", h, len, (long long)at);
        u = outcome_of(pwrite(handle->mnt, r->data, len, at));
        m = outcome_of(pwrite(handle->mir, r->data, len, at));
    }
    if (!expect_same(r, u, m, true))
        return;
    if ((size_t)u.value != len)
        mismatch(r, "a write of %zu bytes wrote %lld", len, u.value);
    model_write(r, handle->node, start, r->data, len);
    expect_seen_by_mappings(r, handle->node, start, len);
}

static void op_read(struct run *r)
{
    int h = pick_handle(r, READ_USE);
    if (h < 0)
        return;
    const struct handle *handle = &r->handles[h];
    size_t size = r->nodes[handle->node].size;
    size_t offset = random_offset(r, size), len = random_length(r);
    note(r, "pread h%d %zu bytes at %zu", h, len, offset);
    struct outcome u = outcome_of(pread(handle->mnt, r->mnt_buf, len, (off_t)offset));
    struct outcome m = outcome_of(pread(handle->mir, r->mir_buf, len, (off_t)offset));
    if (!expect_same(r, u, m, true))
        return;
    size_t want = offset >= size ? 0 : size - offset < len ? size - offset : len;
    if ((size_t)u.value != want)
        mismatch(r, "pread returned %lld bytes, the model has %zu", u.value, want);
    expect_model_bytes(r, "pread", handle->node, offset, r->mnt_buf, want);
    expect_model_bytes(r, "the same pread on tmpfs", handle->node, offset, r->mir_buf, want);
}

/* Mostly shorter, sometimes longer, now and then negative (EINVAL). */
static long long random_new_size(struct run *r, size_t size)
{
    size_t new_size;
    switch (below(r, 10)) {
    case 0:
        return 0;
    case 1:
        return -1;
    case 2: case 3:
        new_size = below(r, size / PAGE + 2) * PAGE;
        break;
    case 4: case 5:
        new_size = size + below(r, 4 * PAGE);
        break;
    default:
        new_size = below(r, size + 1);
        break;
    }
    return (long long)(new_size < FILE_CAP ? new_size : FILE_CAP);
}

/* ftruncate through a descriptor, or truncate by name. */
static void op_truncate(struct run *r)
{
    struct outcome u, m;
    int node;
    long long size;
    if (chance(r, 70)) {
        int h = pick_handle(r, WRITE_USE);
        if (h < 0)
            return;
        const struct handle *handle = &r->handles[h];
        node = handle->node;
        size = random_new_size(r, r->nodes[node].size);
        note(r, "ftruncate h%d %lld", h, size);
        u = outcome_of(ftruncate(handle->mnt, size));
        m = outcome_of(ftruncate(handle->mir, size));
    } else {
        struct place p;
        random_existing_place(r, 0, &p);
        int e = place_entry(r, &p);
        node = e >= 0 ? r->entries[e].node : -1;
        size = random_new_size(r, node >= 0 ? r->nodes[node].size : 0);
        struct paths a;
        paths_of(r, p.rel, &a);
        note(r, "truncate %s %lld", p.rel, size);
        u = outcome_of(truncate(a.mnt, size));
        m = outcome_of(truncate(a.mir, size));
    }
    if (!expect_same(r, u, m, true))
        return;
    if (node < 0 || r->nodes[node].dir || size < 0)
        MODEL_FAIL(r, "a truncate the model cannot make succeeded");
    set_size(r, node, (size_t)size);
}

static void op_fallocate(struct run *r)
{
    int h = pick_handle(r, WRITE_USE);
    if (h < 0)
        return;
    const struct handle *handle = &r->handles[h];
    size_t size = r->nodes[handle->node].size;
    static const int modes[] = {0, 0, FALLOC_FL_KEEP_SIZE, FALLOC_FL_KEEP_SIZE,
                                FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE};
    int mode = modes[below(r, sizeof(modes) / sizeof(modes[0]))];
    size_t offset = random_offset(r, size), len = capped(offset, random_length(r));
    note(r, "fallocate h%d mode %#x at %zu, %zu bytes", h, mode, offset, len);
    struct outcome u = outcome_of(fallocate(handle->mnt, mode, (off_t)offset, (off_t)len));
    struct outcome m = outcome_of(fallocate(handle->mir, mode, (off_t)offset, (off_t)len));
    if (!expect_same(r, u, m, true))
        return;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        size_t end = offset + len < size ? offset + len : size;
        if (offset < end)
            memset(r->nodes[handle->node].bytes + offset, 0, end - offset);
        expect_seen_by_mappings(r, handle->node, offset, len);
    } else if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > size) {
        set_size(r, handle->node, offset + len);
    }
}

static void op_copy_file_range(struct run *r)
{
    int in = pick_handle(r, READ_USE), out = pick_handle(r, WRITE_USE);
    if (in < 0 || out < 0)
        return;
    const struct handle *hin = &r->handles[in], *hout = &r->handles[out];
    size_t in_size = r->nodes[hin->node].size;
    size_t in_offset = random_offset(r, in_size), out_offset = random_offset(r, r->nodes[hout->node].size);
    size_t len = capped(out_offset, random_length(r));
    note(r, "copy_file_range h%d at %zu to h%d at %zu, %zu bytes", in, in_offset, out, out_offset, len);
    loff_t mnt_in = (loff_t)in_offset, mnt_out = (loff_t)out_offset, mir_in = mnt_in, mir_out = mnt_out;
    struct outcome u = outcome_of(copy_file_range(hin->mnt, &mnt_in, hout->mnt, &mnt_out, len, 0));
    struct outcome m = outcome_of(copy_file_range(hin->mir, &mir_in, hout->mir, &mir_out, len, 0));
    if (!expect_same(r, u, m, true))
        return;
    size_t want = in_offset >= in_size ? 0 : in_size - in_offset < len ? in_size - in_offset : len;
    if ((size_t)u.value != want || mnt_in != (loff_t)(in_offset + want) || mnt_out != (loff_t)(out_offset + want))
        mismatch(r, "copy_file_range copied %lld, offsets now %lld and %lld; the model has %zu", u.value,
                 (long long)mnt_in, (long long)mnt_out, want);
    memcpy(r->data, r->nodes[hin->node].bytes + in_offset, want);
    model_write(r, hout->node, out_offset, r->data, want);
    expect_seen_by_mappings(r, hout->node, out_offset, want);
}

static void op_fsync(struct run *r)
{
    int h = pick_handle(r, ANY_USE);
    if (h < 0)
        return;
    bool data = chance(r, 50);
    note(r, "%s h%d", data ? "fdatasync" : "fsync", h);
    int (*sync_call)(int) = data ? fdatasync : fsync;
    expect_same(r, outcome_of(sync_call(r->handles[h].mnt)), outcome_of(sync_call(r->handles[h].mir)), true);
}

static void op_fstat(struct run *r)
{
    int h = pick_handle(r, ANY_USE);
    if (h < 0)
        return;
    struct stat mnt, mir;
    note(r, "fstat h%d", h);
    if (expect_same(r, outcome_of(fstat(r->handles[h].mnt, &mnt)), outcome_of(fstat(r->handles[h].mir, &mir)), true))
        expect_stat(r, "fstat", r->handles[h].node, &mnt, &mir);
}

static void op_stat(struct run *r)
{
    struct place p;
    random_existing_place(r, -1, &p);
    int e = place_entry(r, &p);
    struct paths a;
    paths_of(r, p.rel, &a);
    struct stat mnt, mir;
    note(r, "lstat %s", p.rel);
    if (!expect_same(r, outcome_of(lstat(a.mnt, &mnt)), outcome_of(lstat(a.mir, &mir)), true))
        return;
    if (e < 0)
        MODEL_FAIL(r, "lstat found a name the model does not have");
    expect_stat(r, p.rel, r->entries[e].node, &mnt, &mir);
}

static void op_link(struct run *r)
{
    struct place from, to;
    random_existing_place(r, 0, &from);
    random_place(r, &to);
    int e = place_entry(r, &from);
    struct paths a, b;
    paths_of(r, from.rel, &a);
    paths_of(r, to.rel, &b);
    note(r, "link %s %s", from.rel, to.rel);
    if (!expect_same(r, outcome_of(link(a.mnt, b.mnt)), outcome_of(link(a.mir, b.mir)), true))
        return;
    if (e < 0 || r->nodes[r->entries[e].node].dir || place_entry(r, &to) >= 0 || to.parent < 0)
        MODEL_FAIL(r, "a link the model cannot make succeeded");
    add_entry(r, to.parent, to.name, r->entries[e].node);
}

/* unlink, or rmdir. */
static void op_remove(struct run *r)
{
    bool dir = chance(r, 30);
    struct place p;
    random_existing_place(r, dir, &p);
    int e = place_entry(r, &p);
    struct paths a;
    paths_of(r, p.rel, &a);
    note(r, "%s %s", dir ? "rmdir" : "unlink", p.rel);
    int (*remove_name)(const char *) = dir ? rmdir : unlink;
    if (!expect_same(r, outcome_of(remove_name(a.mnt)), outcome_of(remove_name(a.mir)), true))
        return;
    if (e < 0 || r->nodes[r->entries[e].node].dir != dir)
        MODEL_FAIL(r, "a removal the model cannot make succeeded");
    drop_entry(r, e);
}

static void op_mkdir(struct run *r)
{
    struct place p;
    random_place(r, &p);
    int e = place_entry(r, &p);
    if (e < 0 && count_nodes(r, true) >= MAX_DIRS)
        return;
    struct paths a;
    paths_of(r, p.rel, &a);
    note(r, "mkdir %s", p.rel);
    if (!expect_same(r, outcome_of(mkdir(a.mnt, 0755)), outcome_of(mkdir(a.mir, 0755)), true))
        return;
    if (e >= 0 || p.parent < 0)
        MODEL_FAIL(r, "a mkdir the model cannot make succeeded");
    add_entry(r, p.parent, p.name, new_node(r, true));
}

/* Whether dir is node or lies below it. */
static bool within(const struct run *r, int dir, int node)
{
    for (; dir != ROOT; dir = r->entries[entry_of_node(r, dir)].parent)
        if (dir == node)
            return true;
    return node == ROOT;
}

/* rename with no flags, RENAME_NOREPLACE or RENAME_EXCHANGE, of files and directories alike. */
static void op_rename(struct run *r)
{
    static const unsigned flag_choices[] = {0, 0, 0, RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_EXCHANGE};
    unsigned flags = flag_choices[below(r, sizeof(flag_choices) / sizeof(flag_choices[0]))];
    struct place from, to;
    random_existing_place(r, chance(r, 25), &from);
    if (chance(r, 50))
        random_existing_place(r, -1, &to);
    else
        random_place(r, &to);
    int ef = place_entry(r, &from), et = place_entry(r, &to);
    struct paths a, b;
    paths_of(r, from.rel, &a);
    paths_of(r, to.rel, &b);
    note(r, "rename %s %s%s", from.rel, to.rel,
         flags == RENAME_NOREPLACE ? " RENAME_NOREPLACE" : flags == RENAME_EXCHANGE ? " RENAME_EXCHANGE" : "");
    struct outcome u, m;
    if (flags) {
        u = outcome_of(syscall(SYS_renameat2, AT_FDCWD, a.mnt, AT_FDCWD, b.mnt, flags));
        m = outcome_of(syscall(SYS_renameat2, AT_FDCWD, a.mir, AT_FDCWD, b.mir, flags));
    } else {
        u = outcome_of(rename(a.mnt, b.mnt));
        m = outcome_of(rename(a.mir, b.mir));
    }
    if (!expect_same(r, u, m, true))
        return;
    if (ef < 0 || to.parent < 0 || (flags == RENAME_EXCHANGE && et < 0) || (flags == RENAME_NOREPLACE && et >= 0))
        MODEL_FAIL(r, "a rename the model cannot make succeeded");
    int moved = r->entries[ef].node;
    if (r->nodes[moved].dir && within(r, to.parent, moved))
        MODEL_FAIL(r, "a directory went below itself");
    if (flags == RENAME_EXCHANGE) {
        r->entries[ef].node = r->entries[et].node;
        r->entries[et].node = moved;
        return;
    }
    /* Two names of one file: rename does nothing. */
    if (et >= 0 && r->entries[et].node == moved)
        return;
    if (et >= 0)
        drop_entry(r, et);
    r->entries[ef].parent = to.parent;
    r->entries[ef].name = to.name;
}

static void op_readdir(struct run *r)
{
    int dir = random_dir(r);
    note(r, "readdir of node %d", dir);
    check_listing(r, dir);
}

/* A new MAP_SHARED mapping of a descriptor's file, maybe from a page past 0, maybe longer than the file. */
static void op_mmap(struct run *r)
{
    int h = pick_handle(r, ANY_USE);
    if (h < 0)
        return;
    int m = 0;
    while (m < MAX_MAPPINGS && r->maps[m].used)
        m++;
    if (m == MAX_MAPPINGS) {
        m = (int)below(r, MAX_MAPPINGS);
        unmap(r, m);
    }
    const struct handle *handle = &r->handles[h];
    size_t offset = chance(r, 70) ? 0 : below(r, 4) * PAGE, len = (1 + below(r, MAP_PAGES)) * PAGE;
    int prot = PROT_READ | (chance(r, 75) ? PROT_WRITE : 0);
    note(r, "m%d = mmap h%d %zu bytes at %zu%s", m, h, len, offset, prot & PROT_WRITE ? " writable" : "");
    void *mnt = mmap(NULL, len, prot, MAP_SHARED, handle->mnt, (off_t)offset);
    struct outcome u = outcome_of(mnt == MAP_FAILED ? -1 : 0);
    void *mir = mmap(NULL, len, prot, MAP_SHARED, handle->mir, (off_t)offset);
    struct outcome o = outcome_of(mir == MAP_FAILED ? -1 : 0);
    if (!expect_same(r, u, o, true))
        return;
    r->maps[m] = (struct mapping){true, prot & PROT_WRITE, handle->node, offset, len, mnt, mir};
}

static void op_munmap(struct run *r)
{
    int found[MAX_MAPPINGS], count = 0;
    for (int m = 0; m < MAX_MAPPINGS; m++)
        if (r->maps[m].used)
            found[count++] = m;
    if (count)
        unmap(r, found[below(r, (uint64_t)count)]);
}

/* A mapping at random, writable if asked; -1 when none is. */
static int pick_mapping(struct run *r, bool writable)
{
    int found[MAX_MAPPINGS], count = 0;
    for (int m = 0; m < MAX_MAPPINGS; m++)
        if (r->maps[m].used && (r->maps[m].writable || !writable))
            found[count++] = m;
    return count ? found[below(r, (uint64_t)count)] : -1;
}

/* A range of the part of a mapping inside the file, mostly small; false when that part is empty. */
static bool random_mapped_range(struct run *r, const struct mapping *map, size_t *offset, size_t *len)
{
    size_t start, end;
    mapped_file_range(r, map, &start, &end);
    if (start == end)
        return false;
    *offset = start + below(r, end - start);
    size_t room = end - *offset, want = chance(r, 10) ? 1 + below(r, BIG_IO) : 1 + below(r, 3 * PAGE);
    *len = want < room ? want : room;
    return true;
}

/* Random bytes stored through a mapping; a pread of the file sees them at once, since the page cache is shared. */
static void op_store(struct run *r)
{
    int m = pick_mapping(r, true);
    size_t offset, len;
    if (m < 0 || !random_mapped_range(r, &r->maps[m], &offset, &len))
        return;
    const struct mapping *map = &r->maps[m];
    note(r, "store m%d %zu bytes at %zu", m, len, offset);
    fill_random(r, r->data, len);
    if (test_guarded_copy(map->mnt + (offset - map->offset), r->data, len))
        mismatch(r, "a store through the mount's mapping raised SIGBUS (size %zu)", r->nodes[map->node].size);
    if (test_guarded_copy(map->mir + (offset - map->offset), r->data, len))
        mismatch(r, "a store through the tmpfs mapping raised SIGBUS");
    model_write(r, map->node, offset, r->data, len);
    for (int h = 0; h < MAX_HANDLES; h++) {
        if (!r->handles[h].used || r->handles[h].node != map->node || !handle_fits(&r->handles[h], READ_USE))
            continue;
        note(r, "pread h%d what m%d stored", h, m);
        ssize_t got = pread(r->handles[h].mnt, r->mnt_buf, len, (off_t)offset);
        if (got != (ssize_t)len)
            mismatch(r, "pread of stored bytes returned %zd, not %zu", got, len);
        expect_model_bytes(r, "pread after a store through a mapping", map->node, offset, r->mnt_buf, len);
        break;
    }
}

static void op_load(struct run *r)
{
    int m = pick_mapping(r, false);
    size_t offset, len;
    if (m < 0 || !random_mapped_range(r, &r->maps[m], &offset, &len))
        return;
    note(r, "load m%d %zu bytes at %zu", m, len, offset);
    expect_mapped_bytes(r, "a load through a mapping", &r->maps[m], offset, len);
}

static void op_msync(struct run *r)
{
    int m = pick_mapping(r, false);
    if (m < 0)
        return;
    const struct mapping *map = &r->maps[m];
    int flags = chance(r, 80) ? MS_SYNC : MS_ASYNC;
    note(r, "msync m%d %s", m, flags == MS_SYNC ? "MS_SYNC" : "MS_ASYNC");
    expect_same(r, outcome_of(msync(map->mnt, map->len, flags)), outcome_of(msync(map->mir, map->len, flags)), true);
}

/* A load, or a store, on a page of a mapping wholly past the end of the file raises SIGBUS on both sides. */
static void op_past_end(struct run *r)
{
    int m = pick_mapping(r, false);
    if (m < 0)
        return;
    const struct mapping *map = &r->maps[m];
    size_t first = (r->nodes[map->node].size + PAGE - 1) / PAGE * PAGE;
    if (first < map->offset)
        first = map->offset;
    if (first >= map->offset + map->len)
        return;
    size_t at = first + below(r, (map->offset + map->len - first) / PAGE) * PAGE + below(r, PAGE);
    bool store = map->writable && chance(r, 40);
    note(r, "%s m%d past the end at %zu (size %zu)", store ? "store" : "load", m, at, r->nodes[map->node].size);
    for (int side = 0; side < 2; side++) {
        unsigned char *addr = (side ? map->mir : map->mnt) + (at - map->offset), byte = 0x5a;
        void *fault = store ? test_guarded_copy(addr, &byte, 1) : test_guarded_copy(&byte, addr, 1);
        if (fault != addr)
            mismatch(r, "a %s past the end through the %s mapping %s", store ? "store" : "load",
                     side ? "tmpfs" : "mount's", fault ? "faulted elsewhere" : "raised no SIGBUS");
    }
}

struct operation {
    void (*run)(struct run *r);
    unsigned weight;
};

static const struct operation operations[] = {
    {op_open, 12}, {op_close, 3},    {op_write, 14}, {op_read, 8},  {op_truncate, 5},       {op_fallocate, 5},
    {op_copy_file_range, 4},         {op_fsync, 2},  {op_fstat, 2}, {op_stat, 3},           {op_link, 4},
    {op_remove, 5}, {op_mkdir, 3},   {op_rename, 7}, {op_readdir, 2}, {op_mmap, 4},         {op_munmap, 3},
    {op_store, 9},  {op_load, 6},    {op_msync, 2},  {op_past_end, 2},
};

static void random_operation(struct run *r)
{
    unsigned total = 0;
    for (size_t i = 0; i < sizeof(operations) / sizeof(operations[0]); i++)
        total += operations[i].weight;
    unsigned pick = (unsigned)below(r, total);
    for (size_t i = 0;; i++) {
        if (pick < operations[i].weight) {
            operations[i].run(r);
            return;
        }
        pick -= operations[i].weight;
    }
}

static uint64_t number_from(const char *arg, const char *env, uint64_t fallback)
{
    const char *text = arg ? arg : getenv(env);
    return text && *text ? strtoull(text, NULL, 0) : fallback;
}

static void test_random(void **state)
{
    struct run *r = *state;
    uint64_t clock_seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    r->seed = number_from(seed_arg, "UDAX_TEST_SEED", clock_seed);
    r->ops = (unsigned long)number_from(ops_arg, "UDAX_TEST_OPS", DEFAULT_OPS);
    r->rng = r->seed;
    printf("fuse-random: seed %#" PRIx64 ", %lu operations (replay: UDAX_TEST_SEED=%#" PRIx64 ")\n", r->seed, r->ops,
           r->seed);
    fflush(stdout);
    for (r->step = 0; r->step < r->ops; r->step++) {
        random_operation(r);
        if (r->step % CHECK_EVERY == CHECK_EVERY - 1)
            check_all(r);
    }
    check_all(r);
    /* Last closes: files with no name left go, and what is left must still match. */
    for (int m = 0; m < MAX_MAPPINGS; m++)
        if (r->maps[m].used)
            unmap(r, m);
    for (int h = 0; h < MAX_HANDLES; h++)
        if (r->handles[h].used)
            close_handle(r, h);
    check_all(r);
    printf("fuse-random: %lu calls on both sides (%lu failed alike), %lu checks of the whole tree\n", r->calls,
           r->failed_calls, r->checks);
}

static int setup(void **state)
{
    struct run *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    *state = r;
    if (snprintf(r->mnt_root, sizeof(r->mnt_root), "%s/random", mount_dir) >= (int)sizeof(r->mnt_root))
        return -1;
    snprintf(r->mir_base, sizeof(r->mir_base), "/dev/shm/udax-fuse-random.XXXXXX");
    if (!mkdtemp(r->mir_base)) {
        r->mir_base[0] = '\0';
        return -1;
    }
    if (snprintf(r->mir_root, sizeof(r->mir_root), "%s/random", r->mir_base) >= (int)sizeof(r->mir_root) ||
        mkdir(r->mnt_root, 0755) || mkdir(r->mir_root, 0755))
        return -1;
    r->nodes[ROOT] = (struct node){.used = true, .dir = true};
    r->data = malloc(FILE_CAP);
    r->mnt_buf = malloc(FILE_CAP + 1);
    r->mir_buf = malloc(FILE_CAP + 1);
    return r->data && r->mnt_buf && r->mir_buf ? 0 : -1;
}

static int remove_path(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

/* Also runs after a failed check; the mount's tree stays for the unmount and fsck to see. */
static int teardown(void **state)
{
    struct run *r = *state;
    for (int m = 0; m < MAX_MAPPINGS; m++)
        if (r->maps[m].used) {
            munmap(r->maps[m].mnt, r->maps[m].len);
            munmap(r->maps[m].mir, r->maps[m].len);
        }
    for (int h = 0; h < MAX_HANDLES; h++)
        if (r->handles[h].used) {
            close(r->handles[h].mnt);
            close(r->handles[h].mir);
        }
    if (r->mir_base[0])
        nftw(r->mir_base, remove_path, 16, FTW_DEPTH | FTW_PHYS);
    for (int n = 0; n < MAX_NODES; n++)
        free(r->nodes[n].bytes);
    free(r->data);
    free(r->mnt_buf);
    free(r->mir_buf);
    free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s [OPERATIONS [SEED]] MOUNT_DIR\n", argv[0]);
        return 2;
    }
    ops_arg = argc > 2 ? argv[1] : NULL;
    seed_arg = argc > 3 ? argv[2] : NULL;
    mount_dir = argv[argc - 1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_random, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
