/*
 * test_fsx_mmap.c: fsx in process: seeded random mapped reads and writes,
 * pread, pwrite, truncate, punch hole, msync, madvise and remaps on one
 * file, checked after every step against a model of its bytes and size.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test_pool.h"
#include "test_trace.h"
#include "udax.h"

#define POOL_SIZE (256ULL << 20)
#define PAGE 4096ULL
#define HUGE (2ULL << 20)
/* Files stay below this: two 2 MiB chunks and a partial third come and go. */
#define MAX_SIZE (2 * HUGE + 300 * PAGE + 123)
/* The model reaches to the end of the last page, which reads zero past the size. */
#define MODEL_LEN ((MAX_SIZE + PAGE - 1) & ~(PAGE - 1))
#define MAP_LEN (2 * HUGE + 512 * PAGE)
#define MAX_IO (256 * 1024ULL)
#define BIG_IO (HUGE + 40 * PAGE)
#define FULL_CHECK_EVERY 100
#define DEFAULT_OPS 1500

static const uint64_t default_seeds[] = {1, 0x5eed};

enum mapping_kind { MAP_AT_ZERO, MAP_AT_HUGE, MAP_AT_PAGES, MAP_4K_OFF, MAPPING_KINDS };

struct fsx {
    enum udax_data_mode mode;
    uint64_t window_ranges;
    uint64_t seed;
    uint64_t rng;
    unsigned long step;
    struct udax_pool *pool;
    char pool_path[128];
    int fd;
    unsigned char *model; /* the file's bytes, zero from size on */
    uint64_t size;
    unsigned char *map;
    uint64_t map_off;    /* file offset the mapping starts at */
    void *reservation;   /* of a 4 KiB-off mapping, given back after it */
    size_t reserved_len;
    unsigned char *data; /* what writes store, from a random shift */
    unsigned char *buf;
    struct test_trace trace;
};

static uint64_t next_random(struct fsx *f)
{
    return test_random_next(&f->rng);
}

static uint64_t below(struct fsx *f, uint64_t bound)
{
    return bound ? next_random(f) % bound : 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t page_up(uint64_t x)
{
    return (x + PAGE - 1) & ~(PAGE - 1);
}

static void note(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct fsx *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    test_trace_vnote(&f->trace, f->step, fmt, ap);
    va_end(ap);
}

static void mismatch(struct fsx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mismatch(struct fsx *f, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    print_error("fsx-mmap: mismatch, mode %s, window %" PRIu64 " ranges, seed %#" PRIx64
                " (rerun: UDAX_FSX_SEED=%#" PRIx64 "), step %lu\n",
                f->mode == UDAX_DATA_STRICT ? "strict" : "fast", f->window_ranges, f->seed, f->seed, f->step);
    print_error("last operations, oldest first:\n");
    test_trace_print(&f->trace);
    print_error("%s\n", message);
    fail();
}

static void expect_bytes(struct fsx *f, const char *what, uint64_t offset, const unsigned char *got, size_t len)
{
    size_t i = test_first_difference(got, f->model + offset, len);
    if (i < len)
        mismatch(f, "%s: byte %" PRIu64 " reads %#x, not %#x (size %" PRIu64 ")", what, offset + i, got[i],
                 f->model[offset + i], f->size);
}

/* Whether a load, or a store, at the start of the page at file offset raises SIGBUS there. */
static void expect_sigbus(struct fsx *f, uint64_t offset, bool store)
{
    unsigned char *addr = f->map + (offset - f->map_off);
    unsigned char byte = 0xee;
    void *bus_addr = store ? test_guarded_copy(addr, &byte, 1) : test_guarded_copy(&byte, addr, 1);
    if (bus_addr != (void *)addr)
        mismatch(f, "a %s at file offset %" PRIu64 ", past the last page (size %" PRIu64 "), %s", store ? "store" : "load",
                 offset, f->size, bus_addr ? "raised SIGBUS elsewhere" : "raised no SIGBUS");
}

/* The file offset of the first page past the end, when the mapping reaches it. */
static bool first_page_past_end(const struct fsx *f, uint64_t *offset)
{
    uint64_t past = page_up(f->size);
    *offset = past > f->map_off ? past : f->map_off;
    return *offset < f->map_off + MAP_LEN;
}

/* Compares [offset, offset+len) of the file through the mapping, which must lie within the last page. */
static void check_mapped(struct fsx *f, const char *what, uint64_t offset, uint64_t len)
{
    void *bus = test_guarded_copy(f->buf, f->map + (offset - f->map_off), len);
    if (bus)
        mismatch(f, "%s: SIGBUS at %p, file offset %" PRIu64 ", within the last page (size %" PRIu64 ")", what, bus,
                 (uint64_t)((unsigned char *)bus - f->map) + f->map_off, f->size);
    expect_bytes(f, what, offset, f->buf, len);
}

/* The whole window of the mapping: the file's bytes, zeros to the end of the last page, SIGBUS past it. */
static void check_whole_mapping(struct fsx *f)
{
    uint64_t end = min_u64(page_up(f->size), f->map_off + MAP_LEN);
    for (uint64_t offset = f->map_off; offset < end; offset += MAX_IO)
        check_mapped(f, "the mapping", offset, min_u64(MAX_IO, end - offset));
    uint64_t past;
    if (first_page_past_end(f, &past))
        expect_sigbus(f, past, false);
}

static void check_file(struct fsx *f)
{
    struct stat st;
    if (udax_fstat(f->pool, f->fd, &st) || (uint64_t)st.st_size != f->size)
        mismatch(f, "the file's size is %lld, not %" PRIu64, (long long)st.st_size, f->size);
    for (uint64_t offset = 0; offset < f->size; offset += MAX_IO) {
        uint64_t len = min_u64(MAX_IO, f->size - offset);
        ssize_t got = udax_pread(f->pool, f->fd, f->buf, len, (off_t)offset);
        if (got != (ssize_t)len)
            mismatch(f, "pread of %" PRIu64 "+%" PRIu64 " returned %zd: %s", offset, len, got, udax_last_error());
        expect_bytes(f, "pread", offset, f->buf, len);
    }
}

static void set_size(struct fsx *f, uint64_t size)
{
    if (size < f->size)
        memset(f->model + size, 0, f->size - size);
    f->size = size;
}

static void do_truncate(struct fsx *f, uint64_t size)
{
    note(f, "truncate %" PRIu64 " -> %" PRIu64, f->size, size);
    if (udax_ftruncate(f->pool, f->fd, (off_t)size))
        mismatch(f, "truncate to %" PRIu64 ": %s", size, udax_last_error());
    set_size(f, size);
}

static void map(struct fsx *f)
{
    enum mapping_kind kind = (enum mapping_kind)below(f, MAPPING_KINDS);
    f->map_off = kind == MAP_AT_HUGE ? HUGE : kind == MAP_AT_PAGES ? (1 + below(f, 300)) * PAGE : 0;
    void *addr = NULL;
    int flags = MAP_SHARED;
    f->reservation = NULL;
    if (kind == MAP_4K_OFF) {
        f->reserved_len = MAP_LEN + 2 * HUGE;
        f->reservation = mmap(NULL, f->reserved_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        assert_ptr_not_equal(f->reservation, MAP_FAILED);
        addr = (char *)(((uintptr_t)f->reservation + HUGE - 1) & ~(HUGE - 1)) + PAGE;
        flags |= MAP_FIXED;
    }
    note(f, "mmap %s at file offset %" PRIu64, kind == MAP_4K_OFF ? "4 KiB-off" : "2 MiB-congruent", f->map_off);
    f->map = udax_mmap(f->pool, addr, MAP_LEN, PROT_READ | PROT_WRITE, flags, f->fd, (off_t)f->map_off);
    if (f->map == MAP_FAILED)
        mismatch(f, "mmap: %s", udax_last_error());
}

static void unmap(struct fsx *f)
{
    note(f, "munmap");
    if (udax_munmap(f->pool, f->map, MAP_LEN))
        mismatch(f, "munmap: %s", udax_last_error());
    if (f->reservation)
        assert_int_equal(munmap(f->reservation, f->reserved_len), 0);
    f->reservation = NULL;
}

/* A random length: mostly small, sometimes a page multiple, now and then over 2 MiB. */
static uint64_t random_length(struct fsx *f)
{
    uint64_t r = below(f, 16);
    if (r == 0)
        return 1 + below(f, BIG_IO);
    if (r < 4)
        return (1 + below(f, MAX_IO / PAGE)) * PAGE;
    return 1 + below(f, r < 10 ? 4 * PAGE : MAX_IO);
}

/* A random offset below limit: page- or 2 MiB-aligned now and then. */
static uint64_t random_offset(struct fsx *f, uint64_t limit)
{
    uint64_t offset = below(f, limit);
    uint64_t r = below(f, 8);
    return r == 0 ? offset & ~(HUGE - 1) : r < 3 ? offset & ~(PAGE - 1) : offset;
}

static void mapped_read(struct fsx *f)
{
    uint64_t offset = f->map_off + random_offset(f, MAP_LEN);
    uint64_t len = min_u64(random_length(f), f->map_off + MAP_LEN - offset);
    note(f, "mapped read %" PRIu64 "+%" PRIu64 " (size %" PRIu64 ")", offset, len, f->size);
    uint64_t valid_end = min_u64(offset + len, page_up(f->size));
    for (uint64_t at = offset; at < valid_end; at += MAX_IO)
        check_mapped(f, "mapped read", at, min_u64(MAX_IO, valid_end - at));
    if (offset + len > page_up(f->size))
        expect_sigbus(f, offset > page_up(f->size) ? offset & ~(PAGE - 1) : page_up(f->size), false);
}

static void mapped_write(struct fsx *f)
{
    uint64_t reach = min_u64(f->map_off + MAP_LEN, MAX_SIZE);
    if (reach <= f->map_off)
        return;
    uint64_t offset = f->map_off + random_offset(f, reach - f->map_off);
    uint64_t len = min_u64(random_length(f), reach - offset);
    /* As fsx does: the file grows first, so that no store lands past its end. */
    if (offset + len > f->size)
        do_truncate(f, offset + len);
    const unsigned char *src = f->data + below(f, PAGE);
    note(f, "mapped write %" PRIu64 "+%" PRIu64, offset, len);
    for (uint64_t done = 0; done < len;) {
        uint64_t n = min_u64(MAX_IO, len - done);
        void *bus = test_guarded_copy(f->map + (offset + done - f->map_off), src + done, n);
        if (bus)
            mismatch(f, "mapped write: SIGBUS at file offset %" PRIu64 " (size %" PRIu64 ")",
                     (uint64_t)((unsigned char *)bus - f->map) + f->map_off, f->size);
        memcpy(f->model + offset + done, src + done, n);
        done += n;
    }
    uint64_t past;
    if (below(f, 4) == 0 && first_page_past_end(f, &past)) {
        note(f, "store past the last page at %" PRIu64, past);
        expect_sigbus(f, past, true);
    }
}

/* A range of the mapping within the file's size, for I/O that uses the mapping as its buffer; false if none. */
static bool mapped_buffer(struct fsx *f, uint64_t len, uint64_t avoid, uint64_t avoid_len, uint64_t *offset)
{
    uint64_t end = min_u64(f->size, f->map_off + MAP_LEN);
    if (end < f->map_off + len)
        return false;
    *offset = f->map_off + below(f, end - f->map_off - len + 1);
    /* Overlapping copies are as undefined as memcpy's: the model could not tell what they give. */
    return *offset + len <= avoid || avoid + avoid_len <= *offset;
}

static void plain_read(struct fsx *f)
{
    uint64_t offset = random_offset(f, MAX_SIZE + PAGE);
    uint64_t len = min_u64(random_length(f), MAX_IO);
    uint64_t want = offset >= f->size ? 0 : min_u64(len, f->size - offset);
    uint64_t into;
    bool into_map = below(f, 4) == 0 && want && mapped_buffer(f, want, offset, want, &into);
    note(f, "pread %" PRIu64 "+%" PRIu64 "%s", offset, len, into_map ? " into the mapping" : "");
    ssize_t got;
    if (into_map) {
        got = udax_pread(f->pool, f->fd, f->map + (into - f->map_off), want, (off_t)offset);
        memmove(f->model + into, f->model + offset, want);
    } else {
        got = udax_pread(f->pool, f->fd, f->buf, len, (off_t)offset);
    }
    if (got != (ssize_t)want)
        mismatch(f, "pread %" PRIu64 "+%" PRIu64 " returned %zd, not %" PRIu64 ": %s", offset, len, got, want,
                 udax_last_error());
    if (!into_map)
        expect_bytes(f, "pread", offset, f->buf, want);
}

static void plain_write(struct fsx *f)
{
    uint64_t offset = random_offset(f, MAX_SIZE);
    uint64_t len = min_u64(random_length(f), MAX_SIZE - offset);
    uint64_t from;
    bool from_map = below(f, 4) == 0 && mapped_buffer(f, len, offset, len, &from);
    note(f, "pwrite %" PRIu64 "+%" PRIu64 "%s", offset, len, from_map ? " from the mapping" : "");
    const unsigned char *src = from_map ? f->map + (from - f->map_off) : f->data + below(f, PAGE);
    ssize_t done = udax_pwrite(f->pool, f->fd, src, len, (off_t)offset);
    if (done != (ssize_t)len)
        mismatch(f, "pwrite %" PRIu64 "+%" PRIu64 " returned %zd: %s", offset, len, done, udax_last_error());
    if (from_map)
        memmove(f->model + offset, f->model + from, len);
    else
        memcpy(f->model + offset, src, len);
    if (offset + len > f->size)
        f->size = offset + len;
}

static void random_truncate(struct fsx *f)
{
    uint64_t r = below(f, 3);
    uint64_t size = r == 0 ? below(f, f->size + 1) : r == 1 ? f->size + below(f, MAX_SIZE - f->size + 1)
                                                           : below(f, MAX_SIZE + 1);
    if (below(f, 4) == 0)
        size &= ~(PAGE - 1);
    do_truncate(f, size);
}

static void punch(struct fsx *f)
{
    if (!f->size)
        return;
    uint64_t offset = random_offset(f, f->size);
    uint64_t len = random_length(f);
    note(f, "punch %" PRIu64 "+%" PRIu64 " (size %" PRIu64 ")", offset, len, f->size);
    if (udax_fallocate(f->pool, f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)offset, (off_t)len))
        mismatch(f, "punch hole %" PRIu64 "+%" PRIu64 ": %s", offset, len, udax_last_error());
    memset(f->model + offset, 0, min_u64(len, f->size - offset));
}

/* A page-aligned part of the mapping. */
static void random_pages(struct fsx *f, uint64_t *start, uint64_t *len)
{
    *start = below(f, MAP_LEN / PAGE) * PAGE;
    *len = min_u64(page_up(random_length(f)), MAP_LEN - *start);
}

static void sync_or_advise(struct fsx *f)
{
    uint64_t start, len;
    random_pages(f, &start, &len);
    uint64_t r = below(f, 8);
    int rc;
    if (r < 3) {
        note(f, "msync +%" PRIu64 "+%" PRIu64, start, len);
        rc = udax_msync(f->pool, f->map + start, len, r ? MS_SYNC : MS_ASYNC);
    } else if (r < 7) {
        note(f, "madvise DONTNEED +%" PRIu64 "+%" PRIu64, start, len);
        rc = udax_madvise(f->pool, f->map + start, len, MADV_DONTNEED);
    } else {
        note(f, "madvise WILLNEED +%" PRIu64 "+%" PRIu64, start, len);
        rc = udax_madvise(f->pool, f->map + start, len, MADV_WILLNEED);
    }
    if (rc)
        mismatch(f, "msync or madvise: %s", udax_last_error());
}

static void random_operation(struct fsx *f)
{
    uint64_t r = below(f, 100);
    if (r < 22)
        mapped_read(f);
    else if (r < 44)
        mapped_write(f);
    else if (r < 56)
        plain_read(f);
    else if (r < 70)
        plain_write(f);
    else if (r < 78)
        random_truncate(f);
    else if (r < 86)
        punch(f);
    else if (r < 97)
        sync_or_advise(f);
    else {
        unmap(f);
        map(f);
    }
}

static void run_seed(struct fsx *f, uint64_t seed, unsigned long ops)
{
    print_message("fsx-mmap: mode %s, window %" PRIu64 " ranges, seed %#" PRIx64 ", %lu operations\n",
                  f->mode == UDAX_DATA_STRICT ? "strict" : "fast", f->window_ranges, seed, ops);
    f->seed = f->rng = seed;
    f->trace.count = 0;
    f->step = 0;
    f->size = 0;
    memset(f->model, 0, MODEL_LEN);
    test_fill(f->data, MAX_IO + BIG_IO + PAGE, seed, 0);
    test_pool_create(f->pool_path, sizeof(f->pool_path), POOL_SIZE, f->mode);
    f->pool = udax_pool_open(f->pool_path, &(struct udax_open_options){.window_ranges = f->window_ranges});
    if (!f->pool)
        fail_msg("open: %s", udax_last_error());
    f->fd = udax_open(f->pool, "/fsx", O_CREAT | O_RDWR, 0644);
    assert_true(f->fd >= 0);
    map(f);
    for (f->step = 0; f->step < ops; f->step++) {
        random_operation(f);
        check_file(f);
        if (f->step % FULL_CHECK_EVERY == FULL_CHECK_EVERY - 1)
            check_whole_mapping(f);
    }
    check_whole_mapping(f);
    unmap(f);
    assert_int_equal(udax_close(f->pool, f->fd), 0);
    test_pool_finish(f->pool, f->pool_path);
    f->pool = NULL;
}

static uint64_t env_number(const char *name, uint64_t fallback)
{
    const char *text = getenv(name);
    return text && *text ? strtoull(text, NULL, 0) : fallback;
}

/* From the command line: the window's budget (0 for the default) and a seed, both optional. */
static uint64_t window_arg;
static const char *seed_arg;

static void run_mode(void **state, enum udax_data_mode mode)
{
    struct fsx *f = *state;
    f->mode = mode;
    f->window_ranges = window_arg;
    unsigned long ops = (unsigned long)env_number("UDAX_FSX_OPS", DEFAULT_OPS);
    if (seed_arg || getenv("UDAX_FSX_SEED")) {
        run_seed(f, seed_arg ? strtoull(seed_arg, NULL, 0) : env_number("UDAX_FSX_SEED", 0), ops);
        return;
    }
    for (size_t i = 0; i < sizeof(default_seeds) / sizeof(default_seeds[0]); i++)
        run_seed(f, default_seeds[i], ops);
}

static void test_strict(void **state)
{
    run_mode(state, UDAX_DATA_STRICT);
}

static void test_fast(void **state)
{
    run_mode(state, UDAX_DATA_FAST);
}

static int setup(void **state)
{
    struct fsx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->model = calloc(1, MODEL_LEN);
    f->data = malloc(MAX_IO + BIG_IO + PAGE);
    f->buf = malloc(MAX_IO);
    *state = f;
    return f->model && f->data && f->buf ? 0 : -1;
}

/* Also runs after a failed check, which leaves the pool behind. */
static int teardown(void **state)
{
    struct fsx *f = *state;
    if (f->pool) {
        udax_pool_close(f->pool);
        unlink(f->pool_path);
    }
    if (f->reservation)
        munmap(f->reservation, f->reserved_len);
    free(f->model);
    free(f->data);
    free(f->buf);
    free(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 3) {
        fprintf(stderr, "usage: %s [WINDOW_RANGES [SEED]]\n", argv[0]);
        return 2;
    }
    window_arg = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
    seed_arg = argc > 2 ? argv[2] : NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fast, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
