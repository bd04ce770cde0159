/*
 * crash_test.c: runs generated workloads with the persistence layer traced,
 * enumerates the crash states at every fence, and checks each one: the pool
 * opens, fsck finds it clean, and its tree is the tree before or after the
 * operation in flight. Lines left unflushed when an operation returns are
 * reported with the code that wrote them. With "repair", it does the same to
 * fsck --repair of damaged pools: from every crash state, fsck --repair must
 * reach the tree that an uninterrupted repair reaches.
 */
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/handle.h"
#include "persist/persist.h"
#include "udax.h"
#include "workload.h"

#define LINE 64
#define POOL_SIZE WORKLOAD_POOL_SIZE
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
    bool adopt;               /* watch the next pool the layer reports, which fsck opens itself */
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

static bool watching(const struct persist *p)
{
    if (tracer.adopt && !tracer.watched)
        tracer.watched = p;
    return p == tracer.watched;
}

static void note_lines(const struct persist *p, const void *addr, size_t len, const void *caller)
{
    if (!watching(p) || !len)
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
    if (!watching(p))
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

/* ---------------------------------------------------------------- checking */

struct checker {
    bool repairing;         /* crash states of fsck --repair: each must repair to the tree "after" */
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

/* fsck --repair of the crash state must finish the repair: the tree it leaves is the tree repaired is. */
static bool check_repair_state(struct checker *c, const char *repaired, const char *label)
{
    struct udax_fsck_options repair = {.repair = 1};
    int status = udax_fsck(c->crash_path, &repair, NULL);
    if (status != UDAX_FSCK_CLEAN && status != UDAX_FSCK_CORRECTED) {
        fprintf(stderr, "FAIL %s: fsck --repair of the crash state: status %d\n", label, status);
        return false;
    }
    struct udax_pool *pool = udax_pool_open(c->crash_path, NULL);
    if (!pool) {
        fprintf(stderr, "FAIL %s: the repaired crash state does not open: %s\n", label, udax_last_error());
        return false;
    }
    char *tree = snapshot(pool);
    udax_pool_close(pool);
    bool ok = !strcmp(tree, repaired);
    if (!ok)
        fprintf(stderr, "FAIL %s: repaired crash state differs\n--- want\n%s--- got\n%s", label, repaired, tree);
    free(tree);
    struct udax_fsck_options opts = {.report = print_fsck_problem};
    status = udax_fsck(c->crash_path, &opts, NULL);
    if (status != UDAX_FSCK_CLEAN) {
        fprintf(stderr, "FAIL %s: fsck after repairing the crash state: status %d\n", label, status);
        ok = false;
    }
    return ok;
}

static bool check_image(struct checker *c, const char *before, const char *after, const char *label)
{
    c->states_checked++;
    if (c->repairing)
        return check_repair_state(c, after, label);
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
    struct udax_fsck_options opts = {.report = print_fsck_problem};
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
    /* Every call is durable when it returns (docs/guarantees.md): what the medium then holds is the tree after. */
    if (ok) {
        bool none = false;
        struct line_list empty = {0};
        char returned[300];
        snprintf(returned, sizeof(returned), "%s, once it returned", label);
        ok = check_subset(c, &empty, &none, after, after, returned);
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

/* ---------------------------------------------------------------- fsck --repair */

/* The offsets of the entries of inode ino's committed log, in order; returns how many. */
static size_t log_entries(const uint8_t *image, uint64_t ino, uint64_t *offsets, size_t max)
{
    const struct udax_super *sb = (const void *)image;
    const struct udax_inode_rec *rec = (const void *)(image + sb->inode_table_block * UDAX_BLOCK_SIZE);
    rec += ino;
    uint64_t page = rec->log_head, pos = page + UDAX_SLOT_SIZE;
    size_t count = 0;
    while (pos != rec->log_tail && count < max) {
        const struct udax_entry_header *h = (const void *)(image + pos);
        if (!(pos & (UDAX_BLOCK_SIZE - 1)) || h->type == UDAX_ENTRY_PAD) {
            page = ((const struct udax_log_page_header *)(image + page))->next;
            pos = page + UDAX_SLOT_SIZE;
            continue;
        }
        offsets[count++] = pos;
        pos += (uint64_t)h->slots * UDAX_SLOT_SIZE;
    }
    return count;
}

/* A damaged pool: the test tree, after op when there is one, with entry (from the end when negative) of path's log. */
struct damage {
    const char *name;
    const struct op *op;
    const char *path;
    int entry;
};

static const struct op rename_away = {OP_RENAME, "/A/foo", "/B/qux", 0, 0, "rename"};

static const struct damage damages[] = {
    {"a directory's last commit", NULL, "/A", -1},
    {"a directory's first commit", NULL, "/A", 0},
    {"the root's first commit", NULL, "/", 0},
    {"a file's last commit", NULL, "/B/bar", -1},
    {"a directory cut back before a rename", &rename_away, "/A", 3},
};

static void make_damaged(const char *template, const char *path, const struct damage *d)
{
    copy_file(template, path);
    struct udax_pool *pool = udax_pool_open(path, NULL);
    if (d->op)
        run_op(pool, d->op);
    struct stat st;
    udax_stat(pool, d->path, &st);
    udax_pool_close(pool);
    int fd = open(path, O_RDWR);
    uint8_t *image = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    uint64_t offsets[64];
    size_t count = log_entries(image, st.st_ino, offsets, 64);
    size_t at = d->entry < 0 ? count - (size_t)-d->entry : (size_t)d->entry;
    if (at >= count) {
        fprintf(stderr, "%s: %s's log has no entry %d\n", d->name, d->path, d->entry);
        exit(2);
    }
    image[offsets[at] + 20] ^= 1;
    munmap(image, POOL_SIZE);
}

/* Traces fsck --repair of each damaged pool and checks every crash state of it. */
static bool run_repairs(struct checker *c, const char *template, const char *work)
{
    bool all_ok = true;
    for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
        const struct damage *d = &damages[i];
        make_damaged(template, c->crash_path, d);
        struct udax_fsck_options repair = {.repair = 1};
        if (udax_fsck(c->crash_path, &repair, NULL) != UDAX_FSCK_CORRECTED) {
            fprintf(stderr, "FAIL %s: fsck --repair does not correct it\n", d->name);
            all_ok = false;
            continue;
        }
        struct udax_pool *pool = udax_pool_open(c->crash_path, NULL);
        char *repaired = snapshot(pool);
        udax_pool_close(pool);

        make_damaged(template, work, d);
        int fd = open(work, O_RDONLY);
        if (pread(fd, c->state, POOL_SIZE, 0) != (ssize_t)POOL_SIZE)
            exit(2);
        close(fd);
        memcpy(tracer.durable, c->state, POOL_SIZE);
        tracer_reset_fences();
        tracer.adopt = true;
        persist_trace(&tracer_hooks);
        udax_fsck(work, &repair, NULL);
        persist_trace(NULL);
        tracer.adopt = false;
        tracer.watched = NULL;

        fd = open(work, O_RDONLY);
        uint8_t *medium = mmap(NULL, POOL_SIZE, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        bool ok = true;
        for (uint64_t line = 0; line < POOL_SIZE / LINE; line++) {
            if (memcmp(medium + line * LINE, tracer.durable + line * LINE, LINE)) {
                fprintf(stderr, "FAIL %s: fsck --repair left pool offset %llu modified and not flushed\n", d->name,
                        (unsigned long long)(line * LINE));
                ok = false;
            }
        }
        munmap(medium, POOL_SIZE);
        char label[128];
        snprintf(label, sizeof(label), "[repair] %s", d->name);
        all_ok &= ok && check_operation(c, NULL, repaired, label);
        free(repaired);
    }
    return all_ok;
}

int main(int argc, char **argv)
{
    bool repairs = argc > 1 && !strcmp(argv[1], "repair");
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
    for (int m = 0; m < 2 && repairs; m++) {
        make_template(template, modes[m]);
        copy_file(template, c.crash_path);
        int fd = open(c.crash_path, O_RDWR);
        c.crash_image = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        c.repairing = true;
        c.metadata_bytes = POOL_SIZE;
        all_ok &= run_repairs(&c, template, work);
        workloads += sizeof(damages) / sizeof(damages[0]);
        munmap(c.crash_image, POOL_SIZE);
    }
    for (int m = 0; m < 2 && !repairs; m++) {
        const char *mode_name = modes[m] == UDAX_DATA_STRICT ? "strict" : "fast";
        make_template(template, modes[m]);
        add_links(template);
        list_times = true;
        copy_file(template, c.crash_path);
        int fd = open(c.crash_path, O_RDWR);
        c.crash_image = mmap(NULL, POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        struct udax_pool *probe = udax_pool_open(template, NULL);
        c.metadata_bytes = probe->fs.pool.sb.data_block * UDAX_BLOCK_SIZE;
        udax_pool_close(probe);
        if (sequence_length == 1) {
            for (size_t i = 0; i < single_op_count; i++) {
                const struct op *ops[] = {&single_ops[i]};
                all_ok &= run_workload(&c, template, work, ops, 1, mode_name);
                workloads++;
            }
        } else {
            unsigned seed = 7;
            for (size_t s = 0; s < pair_samples; s++) {
                const struct op *ops[] = {&single_ops[(size_t)rand_r(&seed) % single_op_count],
                                          &single_ops[(size_t)rand_r(&seed) % single_op_count]};
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
