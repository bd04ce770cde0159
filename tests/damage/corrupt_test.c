/*
 * corrupt_test.c: damages every metadata field of a small pool in turn, with
 * zeros, ones, its first bit flipped and random bytes. Each damaged pool must
 * be refused with EUCLEAN or EINVAL and a message, or open with every file
 * the damage did not touch intact; fsck --repair must finish either way. A
 * refused pool must be salvaged by fsck --repair: it then opens, checks clean,
 * and holds every inode the damage did not touch with its exact contents, at
 * its path or, when the damaged inode is a directory above it, in
 * /lost+found under the name of the subtree that lost its place. The damaged
 * file itself is gone or holds a state it had. Nothing may crash or hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pool/format.h"
#include "udax.h"
#include "workload.h"

struct field {
    uint64_t offset;
    uint32_t size;
    uint64_t owner; /* the inode whose structure this is, 0 for the pool's own */
    char name[64];
};

struct fields {
    struct field *items;
    size_t count, capacity;
};

static void add_field(struct fields *f, uint64_t offset, uint32_t size, uint64_t owner, const char *name)
{
    if (f->count == f->capacity) {
        f->capacity = f->capacity ? f->capacity * 2 : 256;
        f->items = realloc(f->items, f->capacity * sizeof(*f->items));
    }
    struct field *item = &f->items[f->count++];
    *item = (struct field){offset, size, owner, ""};
    snprintf(item->name, sizeof(item->name), "%s", name);
}

static void add_superblock(struct fields *f, uint64_t base, const char *copy)
{
    static const struct {
        const char *name;
        size_t offset, size;
    } layout[] = {
        {"magic", offsetof(struct udax_super, magic), 8},
        {"version", offsetof(struct udax_super, version), 4},
        {"block_size", offsetof(struct udax_super, block_size), 4},
        {"uuid", offsetof(struct udax_super, uuid), 16},
        {"pool_size", offsetof(struct udax_super, pool_size), 8},
        {"block_count", offsetof(struct udax_super, block_count), 8},
        {"inode_count", offsetof(struct udax_super, inode_count), 8},
        {"inode_table_block", offsetof(struct udax_super, inode_table_block), 8},
        {"inode_table_blocks", offsetof(struct udax_super, inode_table_blocks), 8},
        {"journal_block", offsetof(struct udax_super, journal_block), 8},
        {"journal_slots", offsetof(struct udax_super, journal_slots), 4},
        {"data_mode", offsetof(struct udax_super, data_mode), 4},
        {"data_block", offsetof(struct udax_super, data_block), 8},
        {"created_time", offsetof(struct udax_super, created_time), 8},
        {"root_ino", offsetof(struct udax_super, root_ino), 8},
        {"checksum", offsetof(struct udax_super, checksum), 8},
    };
    for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s superblock %s", copy, layout[i].name);
        add_field(f, base + layout[i].offset, (uint32_t)layout[i].size, 0, name);
    }
}

/* Every field of one inode's log: page headers up to the tail, and each entry's header and words. */
static void add_log(struct fields *f, const uint8_t *image, uint64_t ino, uint64_t head, uint64_t tail)
{
    char name[64];
    uint64_t page = head, pos = head + UDAX_SLOT_SIZE;
    for (int pages = 0; pages < 64; pages++) {
        snprintf(name, sizeof(name), "inode %llu log page magic", (unsigned long long)ino);
        add_field(f, page + offsetof(struct udax_log_page_header, magic), 8, ino, name);
        snprintf(name, sizeof(name), "inode %llu log page owner", (unsigned long long)ino);
        add_field(f, page + offsetof(struct udax_log_page_header, ino), 8, ino, name);
        bool last = tail > page && tail <= page + UDAX_BLOCK_SIZE;
        if (!last) {
            snprintf(name, sizeof(name), "inode %llu log page next", (unsigned long long)ino);
            add_field(f, page + offsetof(struct udax_log_page_header, next), 8, ino, name);
        }
        for (; pos < page + UDAX_BLOCK_SIZE && pos != tail;) {
            const struct udax_entry_header *h = (const void *)(image + pos);
            snprintf(name, sizeof(name), "inode %llu entry type", (unsigned long long)ino);
            add_field(f, pos, 1, ino, name);
            snprintf(name, sizeof(name), "inode %llu entry slots", (unsigned long long)ino);
            add_field(f, pos + 1, 1, ino, name);
            snprintf(name, sizeof(name), "inode %llu entry checksum", (unsigned long long)ino);
            add_field(f, pos + 4, 4, ino, name);
            for (uint64_t word = 8; word < (uint64_t)h->slots * UDAX_SLOT_SIZE; word += 8) {
                snprintf(name, sizeof(name), "inode %llu entry word %llu", (unsigned long long)ino,
                         (unsigned long long)word / 8);
                add_field(f, pos + word, 8, ino, name);
            }
            if (h->type == UDAX_ENTRY_PAD || !h->slots)
                break;
            pos += (uint64_t)h->slots * UDAX_SLOT_SIZE;
        }
        if (last)
            return;
        page = ((const struct udax_log_page_header *)(image + page))->next;
        pos = page + UDAX_SLOT_SIZE;
    }
}

static struct fields enumerate_fields(const uint8_t *image)
{
    struct fields f = {0};
    const struct udax_super *sb = (const void *)image;
    add_superblock(&f, 0, "primary");
    add_superblock(&f, UDAX_BLOCK_SIZE, "backup");
    uint64_t journal = sb->journal_block * UDAX_BLOCK_SIZE;
    add_field(&f, journal + offsetof(struct udax_journal_slot, state), 8, 0, "journal slot state");
    add_field(&f, journal + offsetof(struct udax_journal_slot, count), 4, 0, "journal slot count");
    add_field(&f, journal + offsetof(struct udax_journal_slot, checksum), 8, 0, "journal slot checksum");
    const struct udax_inode_rec *records = (const void *)(image + sb->inode_table_block * UDAX_BLOCK_SIZE);
    for (uint64_t ino = 1; ino < sb->inode_count; ino++) {
        if (!records[ino].log_head)
            continue;
        uint64_t record = sb->inode_table_block * UDAX_BLOCK_SIZE + ino * sizeof(struct udax_inode_rec);
        char name[64];
        snprintf(name, sizeof(name), "inode %llu log head", (unsigned long long)ino);
        add_field(&f, record + offsetof(struct udax_inode_rec, log_head), 8, ino, name);
        snprintf(name, sizeof(name), "inode %llu log tail", (unsigned long long)ino);
        add_field(&f, record + offsetof(struct udax_inode_rec, log_tail), 8, ino, name);
        add_log(&f, image, ino, records[ino].log_head, records[ino].log_tail);
    }
    return f;
}

/* The template's listing without the lines of paths that belong to the damaged inode. */
static char *untouched_lines(const char *listing, const char *owner_path)
{
    char *out = calloc(1, strlen(listing) + 1);
    size_t prefix = owner_path ? strlen(owner_path) : 0, used = 0;
    for (const char *line = listing; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line + 1) : strlen(line);
        bool owned = owner_path && !strncmp(line, owner_path, prefix) && (line[prefix] == ' ' || line[prefix] == '/');
        if (!owned) {
            memcpy(out + used, line, len);
            used += len;
        }
        line += len;
    }
    return out;
}

static void report_nothing(void *arg, const char *problem)
{
    (void)arg;
    (void)problem;
}

/* The template's tree: each path's inode and, for files, the bytes it holds. */
#define TREE_SIZE 7
static const char *const tree_paths[TREE_SIZE] = {"/A", "/B", "/C", "/A/foo", "/A/bar", "/B/foo", "/B/bar"};

struct tree_entry {
    uint64_t ino;
    bool is_dir;
    char *data;
    size_t size;
};

static const char *parent_of(int i)
{
    return i < 3 ? "/" : tree_paths[i][1] == 'A' ? "/A" : "/B";
}

static uint64_t ino_of_path(const struct tree_entry *tree, const char *path)
{
    if (!strcmp(path, "/"))
        return 1;
    for (int i = 0; i < TREE_SIZE; i++)
        if (!strcmp(tree_paths[i], path))
            return tree[i].ino;
    return 0;
}

/*
 * Where entry i may be after the repair of damage to inode owner: its path,
 * or /lost+found/#N/rest when owner is a directory above it and N is the
 * inode just below owner on the way. Returns how many places were written.
 */
static int places(const struct tree_entry *tree, int i, uint64_t owner, char out[2][128])
{
    snprintf(out[0], 128, "%s", tree_paths[i]);
    const char *path = tree_paths[i];
    if (owner == 1) {
        const char *rest = strchr(path + 1, '/');
        uint64_t top = ino_of_path(tree, i < 3 ? path : parent_of(i));
        snprintf(out[1], 128, "/lost+found/#%llu%s", (unsigned long long)top, rest ? rest : "");
        return 2;
    }
    if (i >= 3 && ino_of_path(tree, parent_of(i)) == owner) {
        snprintf(out[1], 128, "/lost+found/#%llu", (unsigned long long)tree[i].ino);
        return 2;
    }
    return 1;
}

/* Checks the repaired pool against the template; returns the number of failures, printed. */
static int check_salvaged(const char *work, const struct tree_entry *tree, uint64_t owner, const char *what)
{
    errno = 0;
    struct udax_pool *pool = udax_pool_open(work, NULL);
    if (!pool) {
        fprintf(stderr, "FAIL %s: refused after fsck --repair: %s\n", what, udax_last_error());
        return 1;
    }
    int failures = 0;
    size_t placed = 0;
    for (int i = 0; i < TREE_SIZE; i++) {
        char where[2][128];
        int count = places(tree, i, owner, where);
        struct stat st;
        int at = -1;
        for (int p = 0; p < count && at < 0; p++)
            if (!udax_stat(pool, where[p], &st) && st.st_ino == tree[i].ino)
                at = p;
        if (tree[i].ino == owner) {
            placed += at >= 0;
            if (at < 0 || tree[i].is_dir)
                continue;
            size_t size;
            char *data = contents(pool, where[at], &size);
            bool past = size == 0 || (size == tree[i].size && !memcmp(data, tree[i].data, size));
            free(data);
            if (!past || st.st_nlink != 1) {
                fprintf(stderr, "FAIL %s: the damaged file %s holds %zu bytes it never had\n", what, where[at], size);
                failures++;
            }
            continue;
        }
        if (at < 0) {
            fprintf(stderr, "FAIL %s: untouched %s (inode %llu) is neither at %s nor at %s\n", what, tree_paths[i],
                    (unsigned long long)tree[i].ino, where[0], count > 1 ? where[1] : "-");
            failures++;
            continue;
        }
        placed++;
        if (tree[i].is_dir != S_ISDIR(st.st_mode) || (!tree[i].is_dir && st.st_nlink != 1)) {
            fprintf(stderr, "FAIL %s: untouched %s changed type or links\n", what, where[at]);
            failures++;
        } else if (!tree[i].is_dir) {
            size_t size;
            char *data = contents(pool, where[at], &size);
            if (size != tree[i].size || memcmp(data, tree[i].data, size)) {
                fprintf(stderr, "FAIL %s: untouched %s lost its contents\n", what, where[at]);
                failures++;
            }
            free(data);
        }
    }
    /* Nothing else: every line of the listing is a placed inode or /lost+found. */
    char *listing = snapshot(pool);
    size_t lines = 0, lost_found = 0;
    for (const char *line = listing; *line; line = strchr(line, '\n') + 1) {
        lines++;
        lost_found += !strncmp(line, "/lost+found ", 12);
    }
    if (lines != placed + lost_found || strstr(listing, "(unreadable)")) {
        fprintf(stderr, "FAIL %s: the repaired tree holds other names\n%s", what, listing);
        failures++;
    }
    free(listing);
    udax_pool_close(pool);
    struct udax_fsck_options opts = {.report = print_fsck_problem};
    int status = udax_fsck(work, &opts, NULL);
    if (status != UDAX_FSCK_CLEAN) {
        fprintf(stderr, "FAIL %s: fsck after the repair: status %d\n", what, status);
        failures++;
    }
    return failures;
}

int main(void)
{
    char template[128], work[128];
    snprintf(template, sizeof(template), "/dev/shm/udax-corrupt-%d-template.pool", (int)getpid());
    snprintf(work, sizeof(work), "/dev/shm/udax-corrupt-%d-work.pool", (int)getpid());
    make_template(template, UDAX_DATA_STRICT);
    struct udax_pool *pool = udax_pool_open(template, NULL);
    char *listing = snapshot(pool);
    /* Which path each inode has, to know what a damaged inode may take with it. */
    struct tree_entry tree[TREE_SIZE];
    for (int i = 0; i < TREE_SIZE; i++) {
        struct stat st;
        udax_stat(pool, tree_paths[i], &st);
        tree[i] = (struct tree_entry){.ino = st.st_ino, .is_dir = S_ISDIR(st.st_mode)};
        if (!tree[i].is_dir)
            tree[i].data = contents(pool, tree_paths[i], &tree[i].size);
    }
    udax_pool_close(pool);

    int fd = open(template, O_RDONLY);
    uint8_t *pristine = malloc(WORKLOAD_POOL_SIZE);
    if (pread(fd, pristine, WORKLOAD_POOL_SIZE, 0) != (ssize_t)WORKLOAD_POOL_SIZE)
        return 2;
    close(fd);
    struct fields fields = enumerate_fields(pristine);

    copy_file(template, work);
    fd = open(work, O_RDWR);
    uint8_t *image = mmap(NULL, WORKLOAD_POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    unsigned seed = 99;
    uint64_t cases = 0, refused = 0, opened = 0, salvaged = 0, failures = 0;
    for (size_t i = 0; i < fields.count; i++) {
        const struct field *field = &fields.items[i];
        const char *owner_path = NULL;
        for (int p = 0; p < TREE_SIZE; p++)
            if (tree[p].ino == field->owner)
                owner_path = tree_paths[p];
        for (int pattern = 0; pattern < 4; pattern++) {
            memcpy(image, pristine, WORKLOAD_POOL_SIZE);
            uint8_t *bytes = image + field->offset;
            uint8_t before[16];
            memcpy(before, bytes, field->size);
            if (pattern == 0)
                memset(bytes, 0, field->size);
            else if (pattern == 1)
                memset(bytes, 0xff, field->size);
            else if (pattern == 2)
                bytes[0] ^= 1;
            else
                for (uint32_t b = 0; b < field->size; b++)
                    bytes[b] = (uint8_t)rand_r(&seed);
            if (!memcmp(before, bytes, field->size))
                continue;
            cases++;
            char what[100];
            snprintf(what, sizeof(what), "%s (pattern %d)", field->name, pattern);
            errno = 0;
            pool = udax_pool_open(work, NULL);
            bool was_refused = !pool;
            if (!pool) {
                refused++;
                if ((errno != EUCLEAN && errno != EINVAL) || !udax_last_error()[0]) {
                    fprintf(stderr, "FAIL %s: refused with errno %d: %s\n", what, errno, udax_last_error());
                    failures++;
                }
            } else {
                opened++;
                char *now = snapshot(pool);
                udax_pool_close(pool);
                char *kept = untouched_lines(listing, owner_path);
                char *seen = untouched_lines(now, owner_path);
                if (strcmp(kept, seen) && field->owner != UDAX_ROOT_INO) {
                    fprintf(stderr, "FAIL %s: files the damage did not touch changed\n--- want\n%s--- got\n%s", what,
                            kept, seen);
                    failures++;
                }
                free(kept);
                free(seen);
                free(now);
            }
            struct udax_fsck_options opts = {.repair = 1, .report = report_nothing};
            int status = udax_fsck(work, &opts, NULL);
            if (!was_refused) {
                if (status != UDAX_FSCK_CLEAN && status != UDAX_FSCK_CORRECTED && status != UDAX_FSCK_UNCORRECTED &&
                    status != UDAX_FSCK_FAILED) {
                    fprintf(stderr, "FAIL %s: fsck status %d\n", what, status);
                    failures++;
                }
                continue;
            }
            if (status != UDAX_FSCK_CORRECTED) {
                fprintf(stderr, "FAIL %s: fsck --repair of a refused pool: status %d\n", what, status);
                failures++;
                continue;
            }
            int failed = check_salvaged(work, tree, field->owner, what);
            failures += (uint64_t)failed;
            salvaged += !failed;
        }
    }
    munmap(image, WORKLOAD_POOL_SIZE);
    unlink(work);
    unlink(template);
    free(pristine);
    free(listing);
    free(fields.items);
    for (int i = 0; i < TREE_SIZE; i++)
        free(tree[i].data);
    printf("damaged pools checked: %llu (%llu refused, %llu opened), %llu refused pools salvaged by fsck --repair, "
           "%llu failures\n",
           (unsigned long long)cases, (unsigned long long)refused, (unsigned long long)opened,
           (unsigned long long)salvaged, (unsigned long long)failures);
    return failures ? 1 : 0;
}
