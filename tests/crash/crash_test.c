/*
 * crash_test.c: runs generated workloads with the persistence layer traced,
 * enumerates the crash states at every fence, and checks each one: the pool
 * opens, fsck finds it clean, and its tree is the tree before or after the
 * operation in flight. Lines left unflushed when an operation returns are
 * reported with the code that wrote them.
 */
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "api/handle.h"
#include "persist/persist.h"
#include "udax.h"

#define LINE 64
#define POOL_SIZE (8ULL << 20)
#define EXHAUSTIVE_LIMIT 10
#define RANDOM_SUBSETS 1000

/* ---------------------------------------------------------------- tracing */

struct line_copy {
    uint64_t line;
    uint8_t bytes[LINE];
};

struct line_list {
    struct line_copy *items;
    size_t count, capacity;
};

struct fence {
    struct line_list modified; /* differing from the durable image just before the fence */
    struct line_list persisted; /* what this fence makes durable */
};

struct tracer {
    const struct persist *watched;
    uint8_t *durable;         /* the medium as of the last fence */
    const void **last_writer; /* per line, the code that last wrote it through the layer */
    struct line_list flushed; /* flushed since the last fence, as they were when flushed */
    struct fence *fences;
    size_t fence_count, fence_capacity;
};

static struct tracer tracer;

static void list_add(struct line_list *list, uint64_t line, const uint8_t *bytes)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 64;
        list->items = realloc(list->items, list->capacity * sizeof(*list->items));
    }
    list->items[list->count].line = line;
    memcpy(list->items[list->count].bytes, bytes, LINE);
    list->count++;
}

static void note_lines(const struct persist *p, const void *addr, size_t len, const void *caller)
{
    if (p != tracer.watched || !len)
        return;
    const uint8_t *base = p->base;
    uint64_t first = (uint64_t)((const uint8_t *)addr - base) / LINE;
    uint64_t last = ((uint64_t)((const uint8_t *)addr - base) + len - 1) / LINE;
    for (uint64_t line = first; line <= last; line++) {
        list_add(&tracer.flushed, line, base + line * LINE);
        if (caller)
            tracer.last_writer[line] = caller;
    }
}

static void on_written(void *arg, const struct persist *p, const void *addr, size_t len, const void *caller)
{
    (void)arg;
    note_lines(p, addr, len, caller);
}

static void on_flushed(void *arg, const struct persist *p, const void *addr, size_t len, const void *caller)
{
    (void)arg;
    (void)caller;
    note_lines(p, addr, len, NULL);
}

static void on_fenced(void *arg, const struct persist *p)
{
    (void)arg;
    if (p != tracer.watched)
        return;
    if (tracer.fence_count == tracer.fence_capacity) {
        tracer.fence_capacity = tracer.fence_capacity ? tracer.fence_capacity * 2 : 64;
        tracer.fences = realloc(tracer.fences, tracer.fence_capacity * sizeof(*tracer.fences));
    }
    struct fence *fence = &tracer.fences[tracer.fence_count++];
    *fence = (struct fence){0};
    const uint8_t *image = p->base;
    /* Compare the whole image, so that stores which bypassed the layer are seen too. */
    for (uint64_t page = 0; page < p->size / 4096; page++) {
        if (!memcmp(image + page * 4096, tracer.durable + page * 4096, 4096))
            continue;
        for (uint64_t line = page * 64; line < (page + 1) * 64; line++)
            if (memcmp(image + line * LINE, tracer.durable + line * LINE, LINE))
                list_add(&fence->modified, line, image + line * LINE);
    }
    for (size_t i = 0; i < tracer.flushed.count; i++) {
        const struct line_copy *c = &tracer.flushed.items[i];
        list_add(&fence->persisted, c->line, c->bytes);
        memcpy(tracer.durable + c->line * LINE, c->bytes, LINE);
    }
    tracer.flushed.count = 0;
}

static const struct persist_tracer tracer_hooks = {on_written, on_flushed, on_fenced, NULL};

static void tracer_reset_fences(void)
{
    for (size_t i = 0; i < tracer.fence_count; i++) {
        free(tracer.fences[i].modified.items);
        free(tracer.fences[i].persisted.items);
    }
    tracer.fence_count = 0;
}

/* ---------------------------------------------------------------- trees */

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

/*
 * Fast mode overwrites in place, so a crash may leave any mix of old and new
 * cache lines in the file being overwritten: its hash is left out of the
 * listing and its bytes are checked one by one instead.
 */
static const char *relaxed_path;

/* A canonical listing: every path with its type, size, links and a hash of its contents. */
static bool describe(struct udax_pool *pool, const char *dir_path, struct tree *t)
{
    UDAX_DIR *dir = udax_opendir(pool, dir_path);
    if (!dir)
        return false;
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
        char path[512], line[700];
        snprintf(path, sizeof(path), "%s/%s", strcmp(dir_path, "/") ? dir_path : "", names[i]);
        struct stat st;
        if (udax_stat(pool, path, &st)) {
            ok = false;
        } else if (S_ISDIR(st.st_mode)) {
            snprintf(line, sizeof(line), "%s dir links=%lu\n", path, (unsigned long)st.st_nlink);
            tree_append(t, line);
            ok = ok && describe(pool, path, t);
        } else {
            int fd = udax_open(pool, path, O_RDONLY);
            char *data = malloc((size_t)st.st_size + 1);
            ssize_t got = fd >= 0 ? udax_pread(pool, fd, data, (size_t)st.st_size + 1, 0) : -1;
            if (fd >= 0)
                udax_close(pool, fd);
            ok = ok && got == st.st_size;
            unsigned long long hash = XXH64(data, got > 0 ? (size_t)got : 0, 0);
            if (relaxed_path && !strcmp(path, relaxed_path))
                hash = 0;
            snprintf(line, sizeof(line), "%s file size=%lld links=%lu hash=%016llx\n", path, (long long)st.st_size,
                     (unsigned long)st.st_nlink, hash);
            free(data);
            tree_append(t, line);
        }
        free(names[i]);
    }
    return ok;
}

static char *snapshot(struct udax_pool *pool)
{
    struct tree t = {0};
    tree_append(&t, "");
    if (!describe(pool, "/", &t))
        tree_append(&t, "(unreadable)\n");
    return t.text;
}

static char *contents(struct udax_pool *pool, const char *path, size_t *size)
{
    struct stat st;
    *size = 0;
    if (udax_stat(pool, path, &st))
        return NULL;
    char *data = malloc((size_t)st.st_size + 1);
    int fd = udax_open(pool, path, O_RDONLY);
    ssize_t got = fd >= 0 ? udax_pread(pool, fd, data, (size_t)st.st_size, 0) : -1;
    if (fd >= 0)
        udax_close(pool, fd);
    *size = got > 0 ? (size_t)got : 0;
    return data;
}

/* ---------------------------------------------------------------- workloads */

enum op_kind {
    OP_CREATE, OP_MKDIR, OP_APPEND, OP_OVERWRITE, OP_WRITE_PAST_END, OP_TRUNCATE, OP_FALLOCATE, OP_FALLOCATE_KEEP,
    OP_PUNCH, OP_UNLINK, OP_RMDIR, OP_RENAME, OP_FSYNC_AFTER_WRITE, OP_CREATE_TRUNC,
};

struct op {
    enum op_kind kind;
    const char *path;
    const char *other;
    uint64_t offset;
    uint64_t length;
    const char *name;
};

/* Operations that write bytes in place in fast mode, where docs/guarantees.md promises no atomicity. */
static bool in_place_in_fast_mode(const struct op *op)
{
    return op->kind == OP_OVERWRITE || op->kind == OP_FSYNC_AFTER_WRITE || op->kind == OP_PUNCH;
}

static const struct op single_ops[] = {
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
};
#define SINGLE_OP_COUNT (sizeof(single_ops) / sizeof(single_ops[0]))

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

static int run_op(struct udax_pool *pool, const struct op *op)
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

/* ---------------------------------------------------------------- checking */

struct checker {
    char *relaxed_before, *relaxed_after; /* the relaxed file's bytes before and after the operation */
    size_t relaxed_before_size, relaxed_after_size;
    char crash_path[128];
    uint8_t *crash_image;   /* the crash file, mapped */
    uint8_t *state;         /* durable image at the fence being examined */
    size_t size;
    size_t metadata_bytes;  /* recovery writes only below the data area */
    uint64_t states_checked;
    uint64_t failures;
    unsigned random_seed;
};

static void report_problem(void *arg, const char *problem)
{
    (void)arg;
    fprintf(stderr, "    fsck: %s\n", problem);
}

static bool check_image(struct checker *c, const char *before, const char *after, const char *label)
{
    c->states_checked++;
    struct udax_pool *pool = udax_pool_open(c->crash_path, NULL);
    if (!pool) {
        fprintf(stderr, "FAIL %s: crash state does not open: %s\n", label, udax_last_error());
        return false;
    }
    char *tree = snapshot(pool);
    bool ok = true;
    if (relaxed_path) {
        size_t size;
        char *data = contents(pool, relaxed_path, &size);
        for (size_t i = 0; i < size && ok; i++) {
            bool was = i < c->relaxed_before_size && data[i] == c->relaxed_before[i];
            bool becomes = i < c->relaxed_after_size && data[i] == c->relaxed_after[i];
            if (!was && !becomes) {
                fprintf(stderr, "FAIL %s: byte %zu of %s is neither its old nor its new value\n", label, i,
                        relaxed_path);
                ok = false;
            }
        }
        free(data);
    }
    udax_pool_close(pool);
    if (strcmp(tree, before) && strcmp(tree, after)) {
        fprintf(stderr, "FAIL %s: tree is neither before nor after\n--- before\n%s--- after\n%s--- crash state\n%s",
                label, before, after, tree);
        ok = false;
    }
    free(tree);
    struct udax_fsck_options opts = {.report = report_problem};
    int status = udax_fsck(c->crash_path, &opts, NULL);
    if (status != UDAX_FSCK_CLEAN) {
        fprintf(stderr, "FAIL %s: fsck status %d\n", label, status);
        ok = false;
    }
    return ok;
}

/* Builds durable state plus the chosen modified lines in the crash file, checks it, and undoes the lines. */
static bool check_subset(struct checker *c, const struct line_list *modified, const bool *chosen, const char *before,
                         const char *after, const char *label)
{
    memcpy(c->crash_image, c->state, c->metadata_bytes);
    for (size_t i = 0; i < modified->count; i++)
        if (chosen[i])
            memcpy(c->crash_image + modified->items[i].line * LINE, modified->items[i].bytes, LINE);
    bool ok = check_image(c, before, after, label);
    for (size_t i = 0; i < modified->count; i++)
        if (chosen[i])
            memcpy(c->crash_image + modified->items[i].line * LINE, c->state + modified->items[i].line * LINE, LINE);
    return ok;
}

static bool check_fence(struct checker *c, const struct fence *fence, const char *before, const char *after,
                        const char *label)
{
    size_t n = fence->modified.count;
    bool *chosen = calloc(n + 1, sizeof(bool));
    bool ok = true;
    if (n <= EXHAUSTIVE_LIMIT) {
        for (uint64_t mask = 0; mask < (1ULL << n) && ok; mask++) {
            for (size_t i = 0; i < n; i++)
                chosen[i] = (mask >> i) & 1;
            ok = check_subset(c, &fence->modified, chosen, before, after, label);
        }
    } else {
        ok = check_subset(c, &fence->modified, chosen, before, after, label);
        for (size_t i = 0; i < n && ok; i++) {
            chosen[i] = true;
            ok = check_subset(c, &fence->modified, chosen, before, after, label);
            for (size_t j = i + 1; j < n && ok; j++) {
                chosen[j] = true;
                ok = check_subset(c, &fence->modified, chosen, before, after, label);
                chosen[j] = false;
            }
            chosen[i] = false;
        }
        for (int r = 0; r < RANDOM_SUBSETS && ok; r++) {
            for (size_t i = 0; i < n; i++)
                chosen[i] = rand_r(&c->random_seed) & 1;
            ok = check_subset(c, &fence->modified, chosen, before, after, label);
        }
    }
    free(chosen);
    return ok;
}

/* Every crash state of the operation just traced, fence by fence. */
static bool check_operation(struct checker *c, const char *before, const char *after, const char *label)
{
    bool ok = true;
    memcpy(c->crash_image, c->state, c->size);
    for (size_t f = 0; f < tracer.fence_count && ok; f++) {
        const struct fence *fence = &tracer.fences[f];
        ok = check_fence(c, fence, before, after, label);
        for (size_t i = 0; i < fence->persisted.count; i++) {
            const struct line_copy *l = &fence->persisted.items[i];
            memcpy(c->state + l->line * LINE, l->bytes, LINE);
            memcpy(c->crash_image + l->line * LINE, l->bytes, LINE);
        }
    }
    if (ok) {
        bool none = false;
        struct line_list empty = {0};
        ok = check_subset(c, &empty, &none, before, after, label);
    }
    return ok;
}

/* Lines that differ from the durable image once the operation has returned were never flushed. */
static bool check_flushed(const struct persist *p, const char *label)
{
    const uint8_t *image = p->base;
    bool ok = true;
    for (uint64_t line = 0; line < p->size / LINE; line++) {
        if (!memcmp(image + line * LINE, tracer.durable + line * LINE, LINE))
            continue;
        const void *writer = tracer.last_writer[line];
        char **where = writer ? backtrace_symbols((void *const *)&writer, 1) : NULL;
        fprintf(stderr, "FAIL %s: pool offset %llu modified and not flushed, written by %s\n", label,
                (unsigned long long)(line * LINE), where ? where[0] : "a store that bypassed the persistence layer");
        free(where);
        ok = false;
    }
    return ok;
}

/* ---------------------------------------------------------------- driver */

static void make_template(const char *path, enum udax_data_mode mode)
{
    struct udax_mkfs_options opts = {.data_mode = mode, .inode_count = 256};
    unlink(path);
    if (udax_pool_create(path, POOL_SIZE, &opts)) {
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
    udax_pool_close(pool);
}

static void copy_file(const char *from, const char *to)
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

/* Runs ops[0..count) on a copy of the template, checking the crash states of each. */
static bool run_workload(struct checker *c, const char *template, const char *work, const struct op *const *ops,
                         size_t count, const char *mode_name)
{
    bool fast = !strcmp(mode_name, "fast");
    copy_file(template, work);
    struct udax_pool *pool = udax_pool_open(work, NULL);
    const struct persist *pm = &pool->fs.pool.pm;
    tracer.watched = pm;
    memcpy(tracer.durable, pm->base, pm->size);
    memcpy(c->state, pm->base, pm->size);
    bool ok = true;
    for (size_t i = 0; i < count && ok; i++) {
        char label[256];
        snprintf(label, sizeof(label), "[%s] %s (step %zu of %zu)", mode_name, ops[i]->name, i + 1, count);
        relaxed_path = fast && in_place_in_fast_mode(ops[i]) ? ops[i]->path : NULL;
        char *before = snapshot(pool);
        c->relaxed_before = relaxed_path ? contents(pool, relaxed_path, &c->relaxed_before_size) : NULL;
        tracer_reset_fences();
        persist_trace(&tracer_hooks);
        run_op(pool, ops[i]);
        persist_trace(NULL);
        char *after = snapshot(pool);
        c->relaxed_after = relaxed_path ? contents(pool, relaxed_path, &c->relaxed_after_size) : NULL;
        ok = check_flushed(pm, label) && check_operation(c, before, after, label);
        free(before);
        free(after);
        free(c->relaxed_before);
        free(c->relaxed_after);
        relaxed_path = NULL;
    }
    tracer.watched = NULL;
    udax_pool_close(pool);
    return ok;
}

int main(int argc, char **argv)
{
    int sequence_length = argc > 1 ? atoi(argv[1]) : 1;
    size_t pair_samples = argc > 2 ? (size_t)atol(argv[2]) : 200;
    struct checker c = {.size = POOL_SIZE, .random_seed = 42};
    char template[128], work[128];
    snprintf(template, sizeof(template), "/dev/shm/udax-crash-%d-template.pool", (int)getpid());
    snprintf(work, sizeof(work), "/dev/shm/udax-crash-%d-work.pool", (int)getpid());
    snprintf(c.crash_path, sizeof(c.crash_path), "/dev/shm/udax-crash-%d-state.pool", (int)getpid());
    tracer.durable = malloc(POOL_SIZE);
    tracer.last_writer = calloc(POOL_SIZE / LINE, sizeof(*tracer.last_writer));
    c.state = malloc(POOL_SIZE);

    uint64_t workloads = 0;
    bool all_ok = true;
    const enum udax_data_mode modes[] = {UDAX_DATA_STRICT, UDAX_DATA_FAST};
    for (int m = 0; m < 2; m++) {
        const char *mode_name = modes[m] == UDAX_DATA_STRICT ? "strict" : "fast";
        make_template(template, modes[m]);
        copy_file(template, c.crash_path);
        int fd = open(c.crash_path, O_RDWR);
        c.crash_image = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        struct udax_pool *probe = udax_pool_open(template, NULL);
        c.metadata_bytes = probe->fs.pool.sb.data_block * UDAX_BLOCK_SIZE;
        udax_pool_close(probe);
        if (sequence_length == 1) {
            for (size_t i = 0; i < SINGLE_OP_COUNT; i++) {
                const struct op *ops[] = {&single_ops[i]};
                all_ok &= run_workload(&c, template, work, ops, 1, mode_name);
                workloads++;
            }
        } else {
            unsigned seed = 7;
            for (size_t s = 0; s < pair_samples; s++) {
                const struct op *ops[] = {&single_ops[(size_t)rand_r(&seed) % SINGLE_OP_COUNT],
                                          &single_ops[(size_t)rand_r(&seed) % SINGLE_OP_COUNT]};
                all_ok &= run_workload(&c, template, work, ops, 2, mode_name);
                workloads++;
            }
        }
        munmap(c.crash_image, POOL_SIZE);
    }
    unlink(template);
    unlink(work);
    unlink(c.crash_path);
    tracer_reset_fences();
    free(tracer.fences);
    free(tracer.flushed.items);
    free(tracer.durable);
    free(tracer.last_writer);
    free(c.state);
    printf("workloads: %llu, crash states checked: %llu\n", (unsigned long long)workloads,
           (unsigned long long)c.states_checked);
    return all_ok ? 0 : 1;
}
