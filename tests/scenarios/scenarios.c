/*
 * scenarios.c: the scenario tests S1 to S6 of DESIGN.md section
 * 6, one per run, named on the command line. Threads meet at the engine's hook
 * points; the watchdog turns a hang into a failure with a thread dump. Run
 * with UDAX_INJECT_BUG=SN in a -Dbug_injection=true build, scenario SN must fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api/handle.h"
#include "dax/dax.h"
#include "file/file.h"
#include "harness.h"
#include "inode/namei.h"
#include "udax.h"
#include "util/hooks.h"
#include "window/window.h"

struct scenario {
    char path[128];
    struct fs fs;
    struct inode *file;
};

static struct scenario sc;

static void check_fsck_clean(void)
{
    struct udax_fsck_result result;
    int status = udax_fsck(sc.path, &(struct udax_fsck_options){0}, &result);
    HARNESS_CHECK(status == UDAX_FSCK_CLEAN, "fsck after the scenario: status %d", status);
}

/* A file of size bytes; with data, every page has a block of its own. */
static void setup(uint64_t size, bool data)
{
    snprintf(sc.path, sizeof(sc.path), "/dev/shm/udax-scenario-%d.pool", (int)getpid());
    harness_remove_on_failure(sc.path);
    unlink(sc.path);
    struct udax_mkfs_options opts = {.data_mode = UDAX_DATA_FAST};
    HARNESS_CHECK(udax_pool_create(sc.path, 64ULL << 20, &opts) == 0, "mkfs: %s", udax_last_error());
    HARNESS_CHECK(fs_open(&sc.fs, sc.path, NULL) == 0, "open failed");
    sc.fs.mapping_ops = &dax_mapping_ops;
    HARNESS_CHECK(namei_open(&sc.fs, &(struct cred){0}, NULL, "/file", O_CREAT | O_RDWR, 0644, &sc.file) == 0, "create failed");
    if (data) {
        char *buf = malloc(size);
        memset(buf, 0xab, size);
        struct iovec iov = {buf, size};
        uint64_t end;
        HARNESS_CHECK(file_write(&sc.fs, sc.file, &iov, 1, 0, false, &end) == (ssize_t)size, "write failed");
        free(buf);
    } else {
        HARNESS_CHECK(file_truncate(&sc.fs, sc.file, size) == 0, "truncate failed");
    }
}

static void teardown(void)
{
    inode_put(&sc.fs, sc.file);
    fs_close(&sc.fs);
    check_fsck_clean();
    unlink(sc.path);
}

struct fault_call {
    uint64_t page;
    unsigned flags;
    int rc;
};

static void *fault_thread(void *arg)
{
    struct fault_call *f = arg;
    struct dax_fault_result r;
    f->rc = dax_fault(&sc.fs, sc.file, f->page << UDAX_BLOCK_SHIFT, f->flags, &r);
    return NULL;
}

static void *invalidate_thread(void *arg)
{
    uint64_t *page = arg;
    dax_mapping_ops.invalidate(sc.file, *page, 1);
    return NULL;
}

/* S1: a fault holds entry 0x1c; invalidations A, B and C wait on it; released, all three return. */
static void scenario_s1(void)
{
    setup(1 << 20, false);
    struct fault_call fault = {.page = 0x1c};
    struct harness_thread *f = harness_start("fault", fault_thread, &fault, "fault_before_iomap");
    harness_wait_parked(f);
    uint64_t page = 0x1c;
    struct harness_thread *inv[3];
    const char *names[3] = {"invalidate-A", "invalidate-B", "invalidate-C"};
    for (int i = 0; i < 3; i++) {
        inv[i] = harness_start(names[i], invalidate_thread, &page, NULL);
        harness_wait_hits(inv[i], "entry_wait", 1);
    }
    harness_unpark(f);
    harness_join(f);
    for (int i = 0; i < 3; i++)
        harness_join(inv[i]);
    HARNESS_CHECK(fault.rc == 0, "the fault failed: %d", fault.rc);
    HARNESS_CHECK(dax_mapping_entries(sc.file->mapping) == 0, "an entry survived three invalidations");
    teardown();
}

/* S2: a 2 MiB fault over a held 4 KiB entry falls back without sleeping; the reverse wakes on unlock. */
static void scenario_s2(void)
{
    setup(4 << 20, false);
    struct fault_call small = {.page = 0x205};
    struct harness_thread *t1 = harness_start("T1-4KiB", fault_thread, &small, "fault_before_iomap");
    harness_wait_parked(t1);
    struct fault_call huge = {.page = 0x200, .flags = DAX_FAULT_HUGE};
    struct harness_thread *t2 = harness_start("T2-2MiB", fault_thread, &huge, NULL);
    HARNESS_CHECK(harness_wait_done_or_hit(t2, "entry_wait"), "the 2 MiB fault slept on a 4 KiB entry");
    harness_join(t2);
    HARNESS_CHECK(huge.rc == EAGAIN, "the 2 MiB fault returned %d, not a fallback", huge.rc);
    harness_unpark(t1);
    harness_join(t1);
    HARNESS_CHECK(small.rc == 0, "the 4 KiB fault failed: %d", small.rc);
    dax_mapping_ops.invalidate(sc.file, 0, UINT64_MAX);

    struct fault_call huge_first = {.page = 0x200, .flags = DAX_FAULT_HUGE};
    struct harness_thread *t3 = harness_start("T3-2MiB", fault_thread, &huge_first, "fault_before_iomap");
    harness_wait_parked(t3);
    struct fault_call small_after = {.page = 0x205};
    struct harness_thread *t4 = harness_start("T4-4KiB", fault_thread, &small_after, NULL);
    harness_wait_hits(t4, "entry_wait", 1);
    harness_unpark(t3);
    harness_join(t3);
    harness_join(t4);
    HARNESS_CHECK(huge_first.rc == 0 && small_after.rc == 0, "faults returned %d and %d", huge_first.rc,
                  small_after.rc);
    teardown();
}

struct write_call {
    uint64_t offset;
    size_t count; /* at most a page */
    ssize_t rc;
};

static void *write_thread(void *arg)
{
    struct write_call *w = arg;
    char buf[4096];
    memset(buf, 0x5a, sizeof(buf));
    struct iovec iov = {buf, w->count};
    uint64_t end;
    w->rc = file_write(&sc.fs, sc.file, &iov, 1, w->offset, false, &end);
    return NULL;
}

/* S4: a fault holds entry X before asking for blocks; a write holding IOLOCK allocates at X and waits on it. */
static void scenario_s4(void)
{
    setup(1 << 20, false);
    struct fault_call fault = {.page = 3};
    struct harness_thread *f = harness_start("fault", fault_thread, &fault, "fault_before_iomap");
    harness_wait_parked(f);
    struct write_call write = {.offset = 3 << UDAX_BLOCK_SHIFT, .count = 4096};
    struct harness_thread *w = harness_start("write", write_thread, &write, NULL);
    harness_wait_hits(w, "entry_wait", 1);
    harness_unpark(f);
    harness_join(f);
    harness_join(w);
    HARNESS_CHECK(fault.rc == 0, "the fault failed: %d", fault.rc);
    HARNESS_CHECK(write.rc == 4096, "the write returned %zd", write.rc);
    char buf[4096];
    struct iovec iov = {buf, sizeof(buf)};
    HARNESS_CHECK(file_read(&sc.fs, sc.file, &iov, 1, 3 << UDAX_BLOCK_SHIFT, false) == 4096 && buf[0] == 0x5a &&
                      buf[4095] == 0x5a,
                  "the write's bytes are not in the file");
    teardown();
}

struct pinner {
    uint64_t page;
    uint64_t fault_page; /* faulted while the pin is held, when nonzero */
    int rc;
};

static void *pin_thread(void *arg)
{
    struct pinner *p = arg;
    p->rc = dax_pin_range(&sc.fs, sc.file, p->page << UDAX_BLOCK_SHIFT, 4096, false);
    if (p->rc)
        return NULL;
    hook_point("pinner_hold", sc.file, p->page);
    if (p->fault_page) {
        struct dax_fault_result r;
        p->rc = dax_fault(&sc.fs, sc.file, p->fault_page << UDAX_BLOCK_SHIFT, 0, &r);
    }
    dax_unpin_range(sc.file, p->page << UDAX_BLOCK_SHIFT, 4096);
    return NULL;
}

static void *truncate_thread(void *arg)
{
    uint64_t *size = arg;
    *size = (uint64_t)file_truncate(&sc.fs, sc.file, *size);
    return NULL;
}

static bool iolock_free(void)
{
    if (pthread_rwlock_tryrdlock(&sc.file->iolock.rw))
        return false;
    pthread_rwlock_unlock(&sc.file->iolock.rw);
    return true;
}

#define S5_INITIAL_PINS 2

/* S5: pinners keep coming while truncate breaks layouts; it finishes within (pins at start + 1) rounds. */
static void scenario_s5_rounds(void)
{
    setup(64 << 12, true);
    struct pinner pinners[16] = {{0}};
    struct harness_thread *threads[16];
    unsigned count = 0;
    for (; count < S5_INITIAL_PINS; count++) {
        pinners[count].page = 8 + count;
        threads[count] = harness_start("pinner", pin_thread, &pinners[count], "pinner_hold");
        harness_wait_parked(threads[count]);
    }
    uint64_t size = 4 << 12;
    struct harness_thread *t = harness_start("truncate", truncate_thread, &size, "break_layouts_wait");
    unsigned waits = 0;
    while (!harness_wait_parked_or_done(t)) {
        HARNESS_CHECK(++waits <= S5_INITIAL_PINS, "truncate waited %u times for pins, with %d outstanding at start",
                      waits, S5_INITIAL_PINS);
        /* A new pin tries to start; it can only while truncate does not hold IOLOCK. */
        HARNESS_CHECK(count < 16, "too many pinners");
        pinners[count].page = 8 + count;
        threads[count] = harness_start("pinner", pin_thread, &pinners[count], "pinner_hold");
        if (iolock_free())
            harness_wait_parked(threads[count]);
        count++;
        for (unsigned i = 0; i < count; i++)
            if (pinners[i].page == 8 + waits - 1)
                harness_unpark(threads[i]);
        harness_release(t);
    }
    harness_join(t);
    HARNESS_CHECK(size == 0, "truncate failed: %llu", (unsigned long long)size);
    unsigned rounds = harness_hits(t, "break_layouts_round");
    HARNESS_CHECK(rounds <= S5_INITIAL_PINS + 1, "truncate took %u rounds", rounds);
    for (unsigned i = 0; i < count; i++) {
        harness_unpark(threads[i]);
        harness_join(threads[i]);
    }
    teardown();
}

/* S5: a thread that pins A, then faults on B before unpinning A, does not deadlock against truncate. */
static void scenario_s5_fault_while_pinned(void)
{
    setup(64 << 12, true);
    struct pinner p = {.page = 8, .fault_page = 1};
    struct harness_thread *pt = harness_start("pinner", pin_thread, &p, "pinner_hold");
    harness_wait_parked(pt);
    uint64_t size = 4 << 12;
    struct harness_thread *t = harness_start("truncate", truncate_thread, &size, "break_layouts_wait");
    harness_wait_parked(t);
    harness_unpark(t);
    harness_unpark(pt);
    harness_join(pt);
    harness_join(t);
    HARNESS_CHECK(p.rc == 0, "the fault on B failed: %d", p.rc);
    HARNESS_CHECK(size == 0, "truncate failed");
    teardown();
}

struct scan_call {
    uint64_t key;
    bool busy;
};

static void *scan_thread(void *arg)
{
    struct scan_call *s = arg;
    s->busy = entry_busy_scan(sc.file->mapping, 4, 2, &s->key);
    return NULL;
}

/* S6: entry i is locked, with a pinned page; i+1 is free; the busy scan reports i's page. */
static void scenario_s6(void)
{
    setup(16 << 12, true);
    HARNESS_CHECK(dax_pin_range(&sc.fs, sc.file, 4 << UDAX_BLOCK_SHIFT, 4096, false) == 0, "pin failed");
    struct fault_call fault = {.page = 4};
    struct harness_thread *f = harness_start("fault", fault_thread, &fault, "fault_before_iomap");
    harness_wait_parked(f);
    struct scan_call scan = {0};
    struct harness_thread *s = harness_start("scan", scan_thread, &scan, NULL);
    bool finished = harness_wait_done_or_hit(s, "entry_wait");
    harness_unpark(f);
    harness_join(f);
    harness_join(s);
    HARNESS_CHECK(!finished || scan.busy, "the scan stepped over the locked entry");
    HARNESS_CHECK(scan.busy && scan.key == 4, "the scan reported %s", scan.busy ? "another page" : "no page");
    dax_unpin_range(sc.file, 4 << UDAX_BLOCK_SHIFT, 4096);
    teardown();
}

struct window_fault {
    struct window *window;
    char *addr;
    int rc;
};

static void *window_fault_thread(void *arg)
{
    struct window_fault *f = arg;
    char *mapped;
    size_t length;
    f->rc = window_fault_at(f->window, f->addr, false, &mapped, &length);
    return NULL;
}

static void *reclaim_thread(void *arg)
{
    window_reclaim(arg, 1);
    return NULL;
}

/*
 * S3: a window of one range, held idle by page 0 of the file. A fault on page
 * 1 holds FAULTLOCK shared and its entry when it finds no range free, while
 * reclaim waits for FAULTLOCK exclusive to take page 0's range. The fault
 * must back off and retry (R8); then a range freed between a fault's check
 * and its sleep must still wake it.
 */
static void scenario_s3(void)
{
    setup(4 << 12, true);
    struct window *w;
    HARNESS_CHECK(window_open(&w, &sc.fs, 1) == 0, "window open failed");
    void *addr;
    HARNESS_CHECK(window_map(w, sc.file, NULL, 4 << 12, PROT_READ | PROT_WRITE, MAP_SHARED, 0, &addr) == 0,
                  "map failed: %s", udax_last_error());
    char *page0 = addr, *page1 = page0 + 4096;
    struct window_fault first = {w, page0, -1};
    window_fault_thread(&first);
    HARNESS_CHECK(first.rc == 0, "the fault on page 0 failed: %d", first.rc);

    struct window_fault fault = {w, page1, -1};
    struct harness_thread *f = harness_start("fault", window_fault_thread, &fault, "fault_before_iomap");
    harness_wait_parked(f);
    struct harness_thread *r = harness_start("reclaim", reclaim_thread, w, NULL);
    harness_wait_hits(r, "unmap_entry_faultlock", 1);
    harness_unpark(f);
    harness_join(f);
    harness_join(r);
    HARNESS_CHECK(fault.rc == 0, "the fault on page 1 failed: %d", fault.rc);
    HARNESS_CHECK(page1[0] == (char)0xab, "page 1 does not show the file's data");

    struct window_fault again = {w, page0, -1};
    struct harness_thread *g = harness_start("fault-again", window_fault_thread, &again, "window_wait_for_range");
    harness_wait_parked(g);
    window_reclaim(w, 1);
    struct window_stats stats;
    window_get_stats(w, &stats);
    HARNESS_CHECK(stats.live == 0, "reclaim left %llu ranges", (unsigned long long)stats.live);
    harness_unpark(g);
    harness_join(g);
    HARNESS_CHECK(again.rc == 0 && page0[0] == (char)0xab, "the fault woken by a free range failed");
    window_close(w);
    teardown();
}

/*
 * Coherence: a write plans a fresh block for a hole page; before it commits,
 * a write fault gives the page a block and a store lands in it through the
 * mapping. The write must not replace that block: the store survives.
 */
static void scenario_write_keeps_fault_block(void)
{
    setup(4 << 12, false);
    struct write_call w = {.offset = 4096, .count = 100};
    struct harness_thread *t = harness_start("write", write_thread, &w, "write_before_commit");
    harness_wait_parked(t);
    struct dax_fault_result r;
    HARNESS_CHECK(dax_fault(&sc.fs, sc.file, 4096, DAX_FAULT_WRITE, &r) == 0 && r.addr, "write fault failed");
    ((char *)r.addr)[2000] = 's';
    harness_unpark(t);
    harness_join(t);
    HARNESS_CHECK(w.rc == 100, "the write failed: %zd", w.rc);
    char page[4096];
    struct iovec iov = {page, sizeof(page)};
    HARNESS_CHECK(file_read(&sc.fs, sc.file, &iov, 1, 4096, false) == 4096, "read failed");
    HARNESS_CHECK(page[0] == 0x5a && page[99] == 0x5a && page[100] == 0, "the write's bytes are wrong");
    HARNESS_CHECK(page[2000] == 's', "the store made through the fault's block was lost");
    teardown();
}

struct pread_call {
    struct udax_pool *pool;
    int fd;
    bool at_position; /* udax_read from the description's position, 0, instead of udax_pread */
    ssize_t rc;
    int err;
    char byte;
};

static void *pread_thread(void *arg)
{
    struct pread_call *p = arg;
    p->rc = udax_pread(p->pool, p->fd, &p->byte, 1, 0);
    p->err = errno;
    return NULL;
}

/* A new pool of 64 MiB at sc.path, open through the public calls, for the scenarios that race them. */
static struct udax_pool *new_api_pool(enum udax_data_mode mode)
{
    snprintf(sc.path, sizeof(sc.path), "/dev/shm/udax-scenario-%d.pool", (int)getpid());
    harness_remove_on_failure(sc.path);
    unlink(sc.path);
    struct udax_mkfs_options options = {.data_mode = mode};
    HARNESS_CHECK(udax_pool_create(sc.path, 64ULL << 20, &options) == 0, "mkfs: %s", udax_last_error());
    struct udax_pool *pool = udax_pool_open(sc.path, NULL);
    HARNESS_CHECK(pool, "open: %s", udax_last_error());
    return pool;
}

static int open_with_byte(struct udax_pool *pool, const char *path, char byte)
{
    int fd = udax_open(pool, path, O_CREAT | O_RDWR, 0644);
    HARNESS_CHECK(fd >= 0 && udax_pwrite(pool, fd, &byte, 1, 0) == 1, "%s: %s", path, udax_last_error());
    return fd;
}

/*
 * Descriptors, looked up without a lock: a read reads the slot of x, then
 * stalls while x is closed and its description freed, and maybe opened anew
 * for /b (at x, or at a lower descriptor w closed meanwhile). It counts no
 * reference on what x no longer names: it reads /b only where x is /b again,
 * and /b's description keeps its own count.
 */
static void scenario_fd_lookup_races_close(void)
{
    struct udax_pool *pool = new_api_pool(UDAX_DATA_STRICT);
    enum { CLOSED, REOPENED_AT_X, REOPENED_AT_W } cases[] = {CLOSED, REOPENED_AT_X, REOPENED_AT_W};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int w = open_with_byte(pool, "/w", 'w'), x = open_with_byte(pool, "/a", 'a'), b = -1;
        struct pread_call call = {.pool = pool, .fd = x};
        struct harness_thread *t = harness_start("pread", pread_thread, &call, "fd_get_loaded");
        harness_wait_parked(t);
        if (cases[i] == REOPENED_AT_W)
            HARNESS_CHECK(udax_close(pool, w) == 0, "close w");
        HARNESS_CHECK(udax_close(pool, x) == 0, "close x");
        if (cases[i] != CLOSED)
            b = open_with_byte(pool, "/b", 'b');
        if (cases[i] == REOPENED_AT_W) {
            HARNESS_CHECK(b == w, "/b opened at %d, not at the lowest free descriptor %d", b, w);
            w = -1;
        }
        harness_unpark(t);
        harness_join(t);
        if (cases[i] == REOPENED_AT_X)
            HARNESS_CHECK(call.rc == 1 && call.byte == 'b', "the read of x, now /b, gave %zd '%c'", call.rc, call.byte);
        else
            HARNESS_CHECK(call.rc == -1 && call.err == EBADF, "the read of a closed x gave %zd (errno %d)", call.rc,
                          call.err);
        char byte = 0;
        if (b >= 0)
            HARNESS_CHECK(udax_pread(pool, b, &byte, 1, 0) == 1 && byte == 'b' && udax_close(pool, b) == 0,
                          "/b after the race");
        if (w >= 0)
            HARNESS_CHECK(udax_close(pool, w) == 0, "close w");
    }
    HARNESS_CHECK(udax_pool_close(pool) == 0, "pool close");
    check_fsck_clean();
    unlink(sc.path);
}

static void *read_at_most_two(void *arg)
{
    struct pread_call *p = arg;
    char bytes[2] = {0};
    p->rc = p->at_position ? udax_read(p->pool, p->fd, bytes, sizeof(bytes))
                           : udax_pread(p->pool, p->fd, bytes, sizeof(bytes), 0);
    p->err = errno;
    p->byte = bytes[0];
    return NULL;
}

/*
 * A read without locks: it plans its copy (descriptor, size, block), then
 * stalls before the copy while another thread changes what it planned
 * from. A truncate, a strict-mode rewrite or the last close of an unlinked
 * file frees the planned block, which a file written next may take; a close
 * and an open give the descriptor to another file. The read must see the
 * change and read again, under the locks, and never hand out what the
 * planned block holds by then. A udax_read takes the same path on the
 * description it holds: a close cannot take the file from it, and it reads
 * the file as it was.
 */
static void scenario_lockless_read_races_writers(void)
{
    enum { TRUNCATED, CLOSED_UNLINKED, REOPENED, REWRITTEN } cases[] = {TRUNCATED, CLOSED_UNLINKED, REOPENED,
                                                                        REWRITTEN};
    for (size_t run = 0; run < 2 * sizeof(cases) / sizeof(cases[0]); run++) {
        size_t i = run / 2;
        bool at_position = run % 2;
        /* Strict mode for the rewrite: an overwrite takes new blocks and frees the old ones. */
        struct udax_pool *pool = new_api_pool(cases[i] == REWRITTEN ? UDAX_DATA_STRICT : UDAX_DATA_FAST);
        int x = udax_open(pool, "/a", O_CREAT | O_RDWR | O_NOATIME, 0644);
        HARNESS_CHECK(x >= 0 && udax_pwrite(pool, x, "aa", 2, 0) == 2, "/a: %s", udax_last_error());
        struct pread_call call = {.pool = pool, .fd = x, .at_position = at_position};
        struct harness_thread *t = harness_start(at_position ? "read" : "pread", read_at_most_two, &call,
                                                 "pread_lockless_planned");
        harness_wait_parked(t);
        int b = -1;
        switch (cases[i]) {
        case TRUNCATED:
            HARNESS_CHECK(udax_ftruncate(pool, x, 0) == 0, "truncate: %s", udax_last_error());
            break;
        case CLOSED_UNLINKED:
            HARNESS_CHECK(udax_unlink(pool, "/a") == 0 && udax_close(pool, x) == 0, "unlink and close");
            break;
        case REOPENED:
            HARNESS_CHECK(udax_close(pool, x) == 0, "close");
            b = open_with_byte(pool, "/b", 'b');
            HARNESS_CHECK(b == x, "/b opened at %d, not at the descriptor %d just closed", b, x);
            break;
        case REWRITTEN:
            HARNESS_CHECK(udax_pwrite(pool, x, "r", 1, 0) == 1, "rewrite: %s", udax_last_error());
            break;
        }
        int z = udax_open(pool, "/z", O_CREAT | O_RDWR, 0644);
        HARNESS_CHECK(z >= 0 && udax_pwrite(pool, z, "zz", 2, 0) == 2 && udax_close(pool, z) == 0, "/z: %s",
                      udax_last_error());
        harness_unpark(t);
        harness_join(t);
        HARNESS_CHECK(harness_hits(t, "pread_lockless_planned") == 1, "the read did not plan without locks");
        switch (cases[i]) {
        case TRUNCATED:
            HARNESS_CHECK(call.rc == 0, "the read of /a, truncated to 0, gave %zd '%c'", call.rc, call.byte);
            break;
        case CLOSED_UNLINKED:
        case REOPENED:
            if (at_position)
                HARNESS_CHECK(call.rc == 2 && call.byte == 'a', "the read of /a, closed meanwhile, gave %zd '%c'",
                              call.rc, call.byte);
            else if (cases[i] == CLOSED_UNLINKED)
                HARNESS_CHECK(call.rc == -1 && call.err == EBADF, "the read of a closed x gave %zd (errno %d)",
                              call.rc, call.err);
            else
                HARNESS_CHECK(call.rc == 1 && call.byte == 'b', "the read of x, now /b, gave %zd '%c'", call.rc,
                              call.byte);
            if (b >= 0)
                HARNESS_CHECK(udax_close(pool, b) == 0, "close /b");
            break;
        case REWRITTEN:
            HARNESS_CHECK(call.rc == 2 && call.byte == 'r', "the read of /a, rewritten, gave %zd '%c'", call.rc,
                          call.byte);
            break;
        }
        if (at_position && (cases[i] == TRUNCATED || cases[i] == REWRITTEN))
            HARNESS_CHECK(udax_lseek(pool, x, 0, SEEK_CUR) == call.rc, "the read left the position at %lld",
                          (long long)udax_lseek(pool, x, 0, SEEK_CUR));
        if (cases[i] == TRUNCATED || cases[i] == REWRITTEN)
            HARNESS_CHECK(udax_close(pool, x) == 0, "close x");
        HARNESS_CHECK(udax_pool_close(pool) == 0, "pool close");
        check_fsck_clean();
    }
    unlink(sc.path);
}

/* A call on a descriptor from a scenario's thread, and what it returned. */
struct pwrite_call {
    struct udax_pool *pool;
    int fd;
    ssize_t rc;
};

static void *pwrite_one(void *arg)
{
    struct pwrite_call *p = arg;
    p->rc = udax_pwrite(p->pool, p->fd, "W", 1, 0);
    return NULL;
}

/* A udax_write at the description's position, 0. */
static void *write_one(void *arg)
{
    struct pwrite_call *p = arg;
    p->rc = udax_write(p->pool, p->fd, "W", 1);
    return NULL;
}

struct change_call {
    struct udax_pool *pool;
    int fd;
    bool unlink_and_close;
    int rc;
};

static void *change_thread(void *arg)
{
    struct change_call *c = arg;
    c->rc = c->unlink_and_close ? udax_unlink(c->pool, "/a") || udax_close(c->pool, c->fd) : udax_ftruncate(c->pool, c->fd, 0);
    return NULL;
}

/*
 * A fast-mode overwrite without locks: it has planned its copy into a block
 * of /a and stalls before it. A truncate, or the last close of an unlinked
 * /a, would free that block for any other file: each must wait until the
 * copy is done, as it would for a write holding IOLOCK shared. A udax_write
 * takes the same path on the description it holds, which no close frees
 * under it: only the truncate is for it to hold up.
 */
static void scenario_lockless_overwrite_holds_blocks(void)
{
    for (int run = 0; run < 3; run++) {
        bool unlink_and_close = run == 1, at_position = run == 2;
        struct udax_pool *pool = new_api_pool(UDAX_DATA_FAST);
        int x = udax_open(pool, "/a", O_CREAT | O_RDWR, 0644);
        HARNESS_CHECK(x >= 0 && udax_pwrite(pool, x, "aa", 2, 0) == 2, "/a: %s", udax_last_error());
        /*
         * An overwrite whose stamp differs from the times (the coarse clock
         * moved since the last write) takes the locks and stamps them: the
         * next one, within the same tick, goes without.
         */
        struct pwrite_call write = {.pool = pool, .fd = x};
        struct harness_thread *writer;
        for (;;) {
            HARNESS_CHECK(udax_lseek(pool, x, 0, SEEK_SET) == 0, "lseek");
            writer = harness_start(at_position ? "write" : "pwrite", at_position ? write_one : pwrite_one, &write,
                                   "pwrite_lockless_planned");
            if (!harness_wait_parked_or_done(writer))
                break;
            harness_join(writer);
        }
        struct change_call change = {.pool = pool, .fd = x, .unlink_and_close = unlink_and_close};
        struct harness_thread *changer = harness_start(unlink_and_close ? "unlink+close" : "truncate", change_thread,
                                                       &change, NULL);
        bool finished = harness_wait_done_or_hit(changer, "presence_wait");
        HARNESS_CHECK(!finished, "%s finished while an overwrite was still to write into its blocks",
                      unlink_and_close ? "the last close of /a" : "the truncate of /a");
        harness_unpark(writer);
        harness_join(writer);
        harness_join(changer);
        HARNESS_CHECK(write.rc == 1 && change.rc == 0, "overwrite gave %zd, the change %d", write.rc, change.rc);
        if (!unlink_and_close) {
            struct stat after;
            HARNESS_CHECK(udax_fstat(pool, x, &after) == 0 && after.st_size == 0, "/a after the truncate");
            HARNESS_CHECK(!at_position || udax_lseek(pool, x, 0, SEEK_CUR) == 1, "the write left the position at %lld",
                          (long long)udax_lseek(pool, x, 0, SEEK_CUR));
            HARNESS_CHECK(udax_close(pool, x) == 0, "close /a");
        }
        HARNESS_CHECK(udax_pool_close(pool) == 0, "pool close");
        check_fsck_clean();
    }
    unlink(sc.path);
}

static void *seek_one_on(void *arg)
{
    struct pwrite_call *c = arg;
    c->rc = udax_lseek(c->pool, c->fd, 1, SEEK_CUR);
    return NULL;
}

static void *append_ten(void *arg)
{
    struct pwrite_call *c = arg;
    c->rc = udax_write(c->pool, c->fd, "0123456789", 10);
    return NULL;
}

/*
 * Appends through an O_WRONLY | O_APPEND description take no position lock:
 * each stores the end it leaves under IOLOCK exclusive. An lseek relative to
 * the position parks between its read of the position and its store; it
 * must hold IOLOCK there, or an append could store its end in between and
 * the lseek's store would lose it. Let go, the two happen one after the
 * other: the lseek gives 11, and the append then leaves the position at 20.
 */
static void scenario_append_position_races_lseek(void)
{
    struct udax_pool *pool = new_api_pool(UDAX_DATA_STRICT);
    int fd = udax_open(pool, "/log", O_CREAT | O_WRONLY | O_APPEND, 0644);
    HARNESS_CHECK(fd >= 0 && udax_write(pool, fd, "0123456789", 10) == 10, "first append: %s", udax_last_error());
    struct pwrite_call seek = {.pool = pool, .fd = fd}, append = {.pool = pool, .fd = fd};
    struct harness_thread *seeker = harness_start("lseek", seek_one_on, &seek, "lseek_moving");
    harness_wait_parked(seeker);
    struct open_file *file = fd_get(&pool->fds, fd);
    HARNESS_CHECK(file, "fd_get");
    int busy = pthread_rwlock_trywrlock(&file->inode->iolock.rw);
    if (!busy)
        pthread_rwlock_unlock(&file->inode->iolock.rw);
    open_file_put(pool, file);
    HARNESS_CHECK(busy == EBUSY, "an append could take IOLOCK between lseek's read of the position and its store");
    struct harness_thread *appender = harness_start("append", append_ten, &append, NULL);
    harness_unpark(seeker);
    harness_join(seeker);
    harness_join(appender);
    int64_t final = udax_lseek(pool, fd, 0, SEEK_CUR);
    HARNESS_CHECK(seek.rc == 11 && append.rc == 10 && final == 20,
                  "lseek gave %zd, the append %zd, and the position is %lld", seek.rc, append.rc, (long long)final);
    HARNESS_CHECK(udax_close(pool, fd) == 0 && udax_pool_close(pool) == 0, "close");
    check_fsck_clean();
    unlink(sc.path);
}

static const struct {
    const char *name;
    void (*run)(void);
} scenarios[] = {
    {"S1", scenario_s1},
    {"S2", scenario_s2},
    {"S3", scenario_s3},
    {"S4", scenario_s4},
    {"S5-rounds", scenario_s5_rounds},
    {"S5-fault-while-pinned", scenario_s5_fault_while_pinned},
    {"S6", scenario_s6},
    {"write-keeps-fault-block", scenario_write_keeps_fault_block},
    {"fd-lookup-races-close", scenario_fd_lookup_races_close},
    {"lockless-read-races-writers", scenario_lockless_read_races_writers},
    {"lockless-overwrite-holds-blocks", scenario_lockless_overwrite_holds_blocks},
    {"append-position-races-lseek", scenario_append_position_races_lseek},
};

int main(int argc, char **argv)
{
    for (size_t i = 0; argc == 2 && i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        if (!strcmp(argv[1], scenarios[i].name)) {
            harness_init(30);
            scenarios[i].run();
            printf("scenario %s passed\n", argv[1]);
            return 0;
        }
    }
    fprintf(stderr, "usage: %s SCENARIO, one of:", argv[0]);
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
        fprintf(stderr, " %s", scenarios[i].name);
    fputc('\n', stderr);
    return 2;
}
