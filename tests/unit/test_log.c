/* test_log.c: unit tests of per-inode logs and the multi-inode journal, on a real pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <unistd.h>
#include <xxhash.h>

#include "inode/inode.h"
#include "log/journal.h"
#include "log/log.h"
#include "test_pool.h"
#include "util/hooks.h"
#include "util/locks.h"

#define POOL_SIZE (16ULL << 20)

struct fixture {
    char path[128];
    struct fs fs;
    bool open;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    test_pool_create(f->path, sizeof(f->path), POOL_SIZE, UDAX_DATA_STRICT);
    assert_int_equal(fs_open(&f->fs, f->path, NULL), 0);
    f->open = true;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->open)
        fs_close(&f->fs);
    unlink(f->path);
    free(f);
    return 0;
}

static void close_fs(struct fixture *f)
{
    fs_close(&f->fs);
    f->open = false;
}

static void reopen_fs(struct fixture *f)
{
    assert_int_equal(fs_open(&f->fs, f->path, NULL), 0);
    f->open = true;
}

static void assert_fsck_clean(struct fixture *f)
{
    assert_false(f->open);
    struct udax_fsck_options opts = {0};
    struct udax_fsck_result result;
    assert_int_equal(udax_fsck(f->path, &opts, &result), UDAX_FSCK_CLEAN);
}

static struct inode *root_of(struct fixture *f)
{
    struct inode *root = f->fs.inodes[UDAX_ROOT_INO];
    assert_non_null(root);
    return root;
}

/* What one appended entry should look like when walked back. */
struct expected_entry {
    uint8_t type;
    uint8_t slots;
    uint16_t name_len;
    char first_char;
    uint64_t ino;
    bool last; /* ends its commit */
};

struct walk_record {
    uint64_t pages[256];
    unsigned page_count;
    struct expected_entry entries[2048];
    uint64_t offsets[2048];
    unsigned entry_count;
    unsigned problems;
};

static bool record_page(void *arg, uint64_t page)
{
    struct walk_record *w = arg;
    assert_true(w->page_count < sizeof(w->pages) / sizeof(w->pages[0]));
    w->pages[w->page_count++] = page;
    return true;
}

static bool record_entry(void *arg, const struct udax_entry_header *h, uint64_t offset)
{
    struct walk_record *w = arg;
    assert_true(w->entry_count < sizeof(w->entries) / sizeof(w->entries[0]));
    struct expected_entry seen = {
        .type = h->type, .slots = h->slots, .name_len = h->name_len, .last = h->flags & UDAX_ENTRY_LAST};
    if (h->type == UDAX_ENTRY_DENTRY_ADD || h->type == UDAX_ENTRY_DENTRY_DEL) {
        const struct udax_entry_dentry *d = (const void *)h;
        seen.first_char = d->name[0];
        seen.ino = d->ino;
    }
    w->offsets[w->entry_count] = offset;
    w->entries[w->entry_count++] = seen;
    return true;
}

static void record_problem(void *arg, const char *what, uint64_t offset)
{
    struct walk_record *w = arg;
    print_error("log walk: %s at %llu\n", what, (unsigned long long)offset);
    w->problems++;
}

static struct walk_record *walk_committed(struct fs *fs, uint64_t ino)
{
    struct walk_record *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    struct log_walker walker = {w, record_page, record_entry, record_problem};
    const struct udax_inode_rec *rec = &fs->pool.inode_table[ino];
    assert_true(log_walk(&fs->pool, ino, rec->log_head, rec->log_tail, &walker));
    assert_int_equal(w->problems, 0);
    return w;
}

static unsigned dentry_slots(size_t name_len)
{
    return log_entry_slots((unsigned)(offsetof(struct udax_entry_dentry, name) + name_len));
}

/* Names of every length from 1 to UDAX_NAME_MAX, so dentries span 1 to UDAX_DENTRY_MAX_SLOTS slots. */
static size_t name_for(unsigned i, char *name)
{
    size_t len = 1 + (i * 53) % UDAX_NAME_MAX;
    memset(name, 'a' + i % 26, len);
    return len;
}

static void append_dentry(struct fs *fs, struct log_txn *txn, uint8_t type, unsigned i, struct expected_entry *out)
{
    char name[UDAX_NAME_MAX];
    size_t len = name_for(i, name);
    uint64_t ino = 2 + i % 50;
    assert_int_equal(inode_log_dentry(fs, txn, type, name, len, ino, DT_REG, 0), 0);
    *out = (struct expected_entry){type, (uint8_t)dentry_slots(len), (uint16_t)len, name[0], ino, false};
}

/*
 * Appends to the root directory's log in committed batches, whose last entries
 * alone carry UDAX_ENTRY_LAST. Each name is added and then deleted, so the
 * directory replays to empty and the pool stays valid.
 */
static unsigned append_batches(struct fixture *f, struct expected_entry *expected, unsigned count, unsigned steps)
{
    struct fs *fs = &f->fs;
    struct inode *root = root_of(f);
    uint64_t head = root->log.head;
    for (unsigned step = 0; step < steps;) {
        struct log_txn txn;
        log_txn_begin(&txn, &root->log);
        uint64_t tail_before = *log_tail_word(&fs->pool, UDAX_ROOT_INO);
        for (unsigned in_batch = 0; in_batch < 7 && step < steps; in_batch++, step++) {
            if (step % 4 == 0) {
                assert_int_equal(inode_log_attr(fs, &txn, &root->attr), 0);
                expected[count++] = (struct expected_entry){.type = UDAX_ENTRY_ATTR, .slots = 2};
            }
            append_dentry(fs, &txn, UDAX_ENTRY_DENTRY_ADD, step, &expected[count++]);
            append_dentry(fs, &txn, UDAX_ENTRY_DENTRY_DEL, step, &expected[count++]);
        }
        expected[count - 1].last = true;
        assert_int_equal(*log_tail_word(&fs->pool, UDAX_ROOT_INO), tail_before);

        log_commit(&fs->env, &txn);

        assert_int_equal(*log_tail_word(&fs->pool, UDAX_ROOT_INO), txn.pos);
        assert_int_equal(root->log.tail, txn.pos);
        assert_int_equal(*log_head_word(&fs->pool, UDAX_ROOT_INO), head);
        assert_int_equal(root->log.head, head);
    }
    return count;
}

/* Lays the expected entries out as log_append does and checks offsets, PAD slots and the tail. */
static unsigned assert_layout(struct fs *fs, const struct walk_record *w, const struct expected_entry *expected,
                              unsigned count, uint64_t tail)
{
    unsigned page = 0, slot = 1, pads = 0;
    for (unsigned i = 0; i < count; i++) {
        unsigned room = UDAX_SLOTS_PER_PAGE - slot;
        if (room < expected[i].slots) {
            if (room) {
                const struct udax_entry_header *pad = pool_addr(&fs->pool, w->pages[page] + slot * UDAX_SLOT_SIZE);
                assert_int_equal(pad->type, UDAX_ENTRY_PAD);
                assert_int_equal(pad->slots, 1);
                pads++;
            }
            page++;
            slot = 1;
            assert_true(page < w->page_count);
            const struct udax_log_page_header *previous = pool_addr(&fs->pool, w->pages[page - 1]);
            assert_int_equal(previous->next, w->pages[page]);
        }
        assert_int_equal(w->offsets[i], w->pages[page] + slot * UDAX_SLOT_SIZE);
        slot += expected[i].slots;
    }
    assert_int_equal(page + 1, w->page_count);
    assert_int_equal(tail, w->pages[page] + slot * UDAX_SLOT_SIZE);
    return pads;
}

static void assert_walk_matches(const struct walk_record *w, const struct expected_entry *expected, unsigned count)
{
    assert_int_equal(w->entry_count, count);
    for (unsigned i = 0; i < count; i++) {
        assert_int_equal(w->entries[i].type, expected[i].type);
        assert_int_equal(w->entries[i].slots, expected[i].slots);
        assert_int_equal(w->entries[i].name_len, expected[i].name_len);
        assert_int_equal(w->entries[i].first_char, expected[i].first_char);
        assert_int_equal(w->entries[i].ino, expected[i].ino);
        assert_int_equal(w->entries[i].last, expected[i].last);
    }
}

#define STEPS 240

static void test_committed_entries_are_walked_in_order_across_pages(void **state)
{
    struct fixture *f = *state;
    struct fs *fs = &f->fs;
    struct expected_entry *expected = calloc(2048, sizeof(*expected));
    assert_non_null(expected);
    expected[0] = (struct expected_entry){.type = UDAX_ENTRY_ATTR, .slots = 2, .last = true};

    unsigned count = append_batches(f, expected, 1, STEPS);

    struct inode *root = root_of(f);
    struct walk_record *w = walk_committed(fs, UDAX_ROOT_INO);
    assert_walk_matches(w, expected, count);
    assert_true(w->page_count >= 4);
    assert_int_equal(root->log.pages, w->page_count);
    assert_int_equal(root->log.entries, count);
    assert_int_equal(w->pages[0], root->log.head);
    assert_true(assert_layout(fs, w, expected, count, root->log.tail) > 0);
    free(w);

    close_fs(f);
    reopen_fs(f);
    root = root_of(f);
    assert_int_equal(root->names.count, 0);
    assert_int_equal(root->log.entries, count);
    close_fs(f);
    assert_fsck_clean(f);
    free(expected);
}

static void test_an_uncommitted_append_is_not_walked(void **state)
{
    struct fixture *f = *state;
    struct fs *fs = &f->fs;
    struct expected_entry *expected = calloc(2048, sizeof(*expected));
    assert_non_null(expected);
    expected[0] = (struct expected_entry){.type = UDAX_ENTRY_ATTR, .slots = 2, .last = true};
    unsigned count = append_batches(f, expected, 1, 20);
    struct inode *root = root_of(f);
    uint64_t tail = root->log.tail;
    uint64_t pages = root->log.pages;
    uint64_t free_blocks = alloc_free_blocks(&fs->alloc);

    /* Enough slots to chain new pages, which the abort must give back. */
    struct log_txn txn;
    log_txn_begin(&txn, &root->log);
    struct expected_entry ignored;
    for (unsigned i = 0; i < 2 * UDAX_SLOTS_PER_PAGE; i++)
        append_dentry(fs, &txn, UDAX_ENTRY_DENTRY_ADD, 0, &ignored);
    assert_true(txn.pages_added >= 2);
    assert_int_equal(alloc_free_blocks(&fs->alloc), free_blocks - txn.pages_added);

    struct walk_record *w = walk_committed(fs, UDAX_ROOT_INO);
    assert_walk_matches(w, expected, count);
    assert_int_equal(w->page_count, pages);
    free(w);
    assert_int_equal(*log_tail_word(&fs->pool, UDAX_ROOT_INO), tail);

    log_abort(&fs->env, &txn);
    assert_int_equal(alloc_free_blocks(&fs->alloc), free_blocks);
    assert_int_equal(root->log.tail, tail);
    assert_int_equal(root->log.pages, pages);

    close_fs(f);
    reopen_fs(f);
    w = walk_committed(&f->fs, UDAX_ROOT_INO);
    assert_walk_matches(w, expected, count);
    free(w);
    close_fs(f);
    assert_fsck_clean(f);
    free(expected);
}

/* A data block that nothing else uses, as an array of words for the journal to change. */
static uint64_t *scratch_words(struct fs *fs)
{
    uint64_t block = 0, count = 0;
    assert_int_equal(alloc_extent(&fs->alloc, 1, false, &block, &count), 0);
    uint64_t *words = pool_block(&fs->pool, block);
    memset(words, 0, UDAX_BLOCK_SIZE);
    persist_range(&fs->pool.pm, words, UDAX_BLOCK_SIZE);
    return words;
}

/* How many slots hold a live record, and how many a torn one. */
static void assert_slots(struct pool *pool, unsigned live, unsigned torn)
{
    unsigned live_seen = 99, torn_seen = 99;
    journal_inspect(pool, &live_seen, &torn_seen);
    assert_int_equal(live_seen, live);
    assert_int_equal(torn_seen, torn);
}

static void assert_no_live_slot(struct pool *pool)
{
    assert_slots(pool, 0, 0);
    for (unsigned i = 0; i < pool->sb.journal_slots; i++)
        assert_int_equal(pool->journal[i].state & UDAX_JOURNAL_LIVE, 0);
}

static void test_journal_commit_leaves_nothing_to_roll_back(void **state)
{
    struct fixture *f = *state;
    struct fs *fs = &f->fs;
    uint64_t *words = scratch_words(fs);
    for (unsigned i = 0; i < JOURNAL_MAX_WORDS; i++)
        words[i * 8] = 1000 + i;

    for (unsigned count = 1; count <= JOURNAL_MAX_WORDS; count += 5) {
        struct journal_word changes[JOURNAL_MAX_WORDS];
        for (unsigned i = 0; i < count; i++)
            changes[i] = (struct journal_word){&words[i * 8], count * 100 + i};

        journal_commit(&fs->journal, changes, count);

        for (unsigned i = 0; i < count; i++)
            assert_int_equal(words[i * 8], count * 100 + i);
        assert_no_live_slot(&fs->pool);
        assert_int_equal(journal_recover(&fs->pool), 0);
        for (unsigned i = 0; i < count; i++)
            assert_int_equal(words[i * 8], count * 100 + i);
    }
}

/* Two commits and the meeting points of a commit that finds every journal slot taken. */
struct slot_race {
    struct fs *fs;
    uint64_t *words;
    sem_t holder_claimed, holder_may_go, waiter_sleeping;
};

static struct slot_race *slot_race;
static __thread bool is_slot_holder;

static void on_slot_hook(const char *point, const void *object, uint64_t key)
{
    (void)object;
    (void)key;
    if (!strcmp(point, "journal_slot_claimed") && is_slot_holder) {
        sem_post(&slot_race->holder_claimed);
        sem_wait(&slot_race->holder_may_go);
    } else if (!strcmp(point, "journal_slot_wait")) {
        sem_post(&slot_race->waiter_sleeping);
    }
}

static void *commit_as_holder(void *arg)
{
    struct slot_race *race = arg;
    is_slot_holder = true;
    struct journal_word change = {&race->words[0], 1};
    journal_commit(&race->fs->journal, &change, 1);
    return NULL;
}

static void *commit_as_waiter(void *arg)
{
    struct slot_race *race = arg;
    struct journal_word change = {&race->words[8], 2};
    journal_commit(&race->fs->journal, &change, 1);
    return NULL;
}

/* A commit that finds every slot taken sleeps, and the release of one wakes it. */
static void test_a_commit_waits_for_a_free_slot(void **state)
{
    struct fixture *f = *state;
    struct slot_race race = {.fs = &f->fs, .words = scratch_words(&f->fs)};
    sem_init(&race.holder_claimed, 0, 0);
    sem_init(&race.holder_may_go, 0, 0);
    sem_init(&race.waiter_sleeping, 0, 0);
    slot_race = &race;
    hooks_install(on_slot_hook);
    /* Every slot but the first is taken, as by commits in flight that never end. */
    __atomic_store_n(&f->fs.journal.free_slots, 1, __ATOMIC_RELEASE);

    pthread_t holder, waiter;
    assert_int_equal(pthread_create(&holder, NULL, commit_as_holder, &race), 0);
    sem_wait(&race.holder_claimed);
    assert_int_equal(pthread_create(&waiter, NULL, commit_as_waiter, &race), 0);
    sem_wait(&race.waiter_sleeping);
    /* The waiter holds the lock from its count until it sleeps on the condition. */
    mutex_lock(&f->fs.journal.lock, 0);
    mutex_unlock(&f->fs.journal.lock);
    assert_int_equal(race.words[8], 0);
    sem_post(&race.holder_may_go);
    pthread_join(holder, NULL);
    pthread_join(waiter, NULL);

    hooks_install(NULL);
    assert_int_equal(race.words[0], 1);
    assert_int_equal(race.words[8], 2);
    assert_int_equal(__atomic_load_n(&f->fs.journal.free_slots, __ATOMIC_ACQUIRE), 1);
    assert_no_live_slot(&f->fs.pool);
    sem_destroy(&race.holder_claimed);
    sem_destroy(&race.holder_may_go);
    sem_destroy(&race.waiter_sleeping);
}

struct undo {
    uint64_t *word;
    uint64_t old_value;
};

#define TEST_SEQUENCE 7

/* The checksum that journal_commit seals a slot with: XXH3 of its header, the checksum zero, and its records. */
static uint64_t seal_of(const struct udax_journal_slot *slot)
{
    struct udax_journal_slot copy = *slot;
    copy.checksum = 0;
    return XXH3_64bits(&copy, offsetof(struct udax_journal_slot, records) + slot->count * sizeof(slot->records[0]));
}

/* Writes a live slot of sequence TEST_SEQUENCE as journal_commit does; checksum_error spoils the seal. */
static void make_active_slot(struct pool *pool, unsigned index, const struct undo *undo, uint32_t count,
                             uint64_t checksum_error)
{
    struct udax_journal_slot *slot = &pool->journal[index];
    for (uint32_t r = 0; r < count; r++)
        slot->records[r] = (struct udax_journal_record){pool_offset(pool, undo[r].word), undo[r].old_value};
    slot->state = TEST_SEQUENCE | UDAX_JOURNAL_LIVE;
    slot->count = count;
    slot->reserved = 0;
    slot->checksum = seal_of(slot) ^ checksum_error;
    persist_range(&pool->pm, slot, sizeof(*slot));
}

static void test_an_active_slot_is_rolled_back(void **state)
{
    struct fixture *f = *state;
    struct pool *pool = &f->fs.pool;
    uint64_t *words = scratch_words(&f->fs);
    words[0] = 10;
    words[1] = 11;
    words[2] = 12;
    /* word 0 was changed twice by the operation; its first record holds the value from before it. */
    const struct undo undo[] = {{&words[0], 1}, {&words[1], 2}, {&words[0], 5}, {&words[2], 3}};
    make_active_slot(pool, 3, undo, 4, 0);
    assert_slots(pool, 1, 0);

    assert_int_equal(journal_recover(pool), 1);

    assert_int_equal(words[0], 1);
    assert_int_equal(words[1], 2);
    assert_int_equal(words[2], 3);
    assert_no_live_slot(pool);
    assert_int_equal(journal_recover(pool), 0);
    assert_int_equal(words[0], 1);
}

static void test_a_slot_with_a_bad_checksum_is_ignored(void **state)
{
    struct fixture *f = *state;
    struct pool *pool = &f->fs.pool;
    uint64_t *words = scratch_words(&f->fs);
    words[0] = 10;
    words[1] = 11;
    const struct undo undo[] = {{&words[0], 1}, {&words[1], 2}};
    make_active_slot(pool, 0, undo, 2, 1);
    assert_slots(pool, 0, 1);

    assert_int_equal(journal_recover(pool), 0);

    assert_int_equal(words[0], 10);
    assert_int_equal(words[1], 11);
    assert_no_live_slot(pool);
}

static void test_a_slot_naming_a_word_outside_the_pool_is_ignored(void **state)
{
    struct fixture *f = *state;
    struct pool *pool = &f->fs.pool;
    uint64_t *words = scratch_words(&f->fs);
    words[0] = 10;
    make_active_slot(pool, 1, (const struct undo[]){{&words[0], 1}}, 1, 0);
    struct udax_journal_slot *slot = &pool->journal[1];
    slot->records[0].offset = pool->sb.pool_size;
    slot->checksum = seal_of(slot);
    persist_range(&pool->pm, slot, sizeof(*slot));

    assert_int_equal(journal_recover(pool), 0);

    assert_int_equal(words[0], 10);
    assert_no_live_slot(pool);
}

/*
 * A crash in the middle of writing a record can leave the slot's new state
 * durable and nothing else: the record of an earlier operation, whole and
 * sealed for its own sequence, must not be taken for the new one.
 */
static void test_an_earlier_record_under_a_new_sequence_is_ignored(void **state)
{
    struct fixture *f = *state;
    struct pool *pool = &f->fs.pool;
    uint64_t *words = scratch_words(&f->fs);
    words[0] = 10;
    make_active_slot(pool, 2, (const struct undo[]){{&words[0], 1}}, 1, 0);
    persist_store_word(&pool->pm, &pool->journal[2].state, (TEST_SEQUENCE + 1) | UDAX_JOURNAL_LIVE);
    assert_slots(pool, 0, 1);

    assert_int_equal(journal_recover(pool), 0);

    assert_int_equal(words[0], 10);
    assert_no_live_slot(pool);
}

/* A slot's retired sequence outlives the process: the next open numbers its records above it. */
static void test_sequences_rise_across_opens(void **state)
{
    struct fixture *f = *state;
    uint64_t *words = scratch_words(&f->fs);
    uint64_t offset = pool_offset(&f->fs.pool, words);
    struct journal_word change = {&words[0], 1};
    journal_commit(&f->fs.journal, &change, 1);
    uint64_t first = f->fs.pool.journal[0].state;
    assert_int_equal(first & UDAX_JOURNAL_LIVE, 0);
    assert_int_not_equal(first, 0);

    close_fs(f);
    reopen_fs(f);
    change.word = pool_addr(&f->fs.pool, offset);
    journal_commit(&f->fs.journal, &change, 1);
    assert_true(f->fs.pool.journal[0].state > first);
    assert_int_equal(f->fs.pool.journal[0].state & UDAX_JOURNAL_LIVE, 0);
}

/* The way it happens for real: an operation dies after its record went live, and the next open undoes it. */
static void test_open_rolls_back_an_interrupted_operation(void **state)
{
    struct fixture *f = *state;
    struct fs *fs = &f->fs;
    struct inode *root = root_of(f);
    uint64_t old_tail = root->log.tail;
    uint64_t old_entries = root->log.entries;
    struct expected_entry added[3];
    struct log_txn txn;
    log_txn_begin(&txn, &root->log);
    for (unsigned i = 0; i < 3; i++)
        append_dentry(fs, &txn, i == 1 ? UDAX_ENTRY_DENTRY_ADD : UDAX_ENTRY_DENTRY_DEL, 7, &added[i]);
    log_commit(&fs->env, &txn);
    assert_int_not_equal(*log_tail_word(&fs->pool, UDAX_ROOT_INO), old_tail);
    make_active_slot(&fs->pool, 5, (const struct undo[]){{log_tail_word(&fs->pool, UDAX_ROOT_INO), old_tail}}, 1, 0);

    close_fs(f);
    reopen_fs(f);

    root = root_of(f);
    assert_int_equal(*log_tail_word(&f->fs.pool, UDAX_ROOT_INO), old_tail);
    assert_int_equal(root->log.tail, old_tail);
    assert_int_equal(root->log.entries, old_entries);
    assert_no_live_slot(&f->fs.pool);
    close_fs(f);
    assert_fsck_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_committed_entries_are_walked_in_order_across_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_uncommitted_append_is_not_walked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_commit_leaves_nothing_to_roll_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_commit_waits_for_a_free_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_active_slot_is_rolled_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_slot_with_a_bad_checksum_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_slot_naming_a_word_outside_the_pool_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_an_earlier_record_under_a_new_sequence_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sequences_rise_across_opens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_rolls_back_an_interrupted_operation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
