/* test_mmap.c: udax_mmap through the public API: real faults, coherence with pread and pwrite, SIGBUS, the window budget. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"

#define POOL_SIZE (256ULL << 20)
#define PAGE 4096
#define HUGE (2ul << 20)

static struct udax_pool *open_with_window(char *path, size_t len, uint64_t ranges, enum udax_data_mode mode)
{
    test_pool_create(path, len, POOL_SIZE, mode);
    struct udax_open_options opts = {.window_ranges = ranges};
    struct udax_pool *pool = udax_pool_open(path, &opts);
    if (!pool)
        fail_msg("open: %s", udax_last_error());
    return pool;
}

static int new_file(struct udax_pool *pool, const char *path, size_t size, uint64_t seed)
{
    int fd = udax_open(pool, path, O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    unsigned char *data = malloc(size);
    test_fill(data, size, seed, 0);
    assert_int_equal(udax_pwrite(pool, fd, data, size, 0), (ssize_t)size);
    free(data);
    return fd;
}

static void test_read_write_coherent(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_STRICT);
    size_t size = (4 << 20) + 123;
    int fd = new_file(pool, "/f", size, 7);
    unsigned char *map = udax_mmap(pool, NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    unsigned char *want = malloc(size), *got = malloc(size);
    test_fill(want, size, 7, 0);
    assert_memory_equal(map, want, size);
    struct udax_window_stats stats;
    assert_int_equal(udax_window_stats(pool, &stats), 0);
    assert_true(stats.huge_faults >= 1);

    /* A store through the mapping is what pread returns, and a pwrite is what the mapping shows. */
    memset(map + 5000, 0xab, 3000);
    memset(want + 5000, 0xab, 3000);
    assert_int_equal(udax_pread(pool, fd, got, size, 0), (ssize_t)size);
    assert_memory_equal(got, want, size);
    memset(want + (3 << 20), 0x5c, 10000);
    assert_int_equal(udax_pwrite(pool, fd, want + (3 << 20), 10000, 3 << 20), 10000);
    assert_memory_equal(map, want, size);

    assert_int_equal(udax_munmap(pool, map, size), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    free(want);
    free(got);
    test_pool_finish(pool, path);
}

static void test_holes_and_end_of_file(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_FAST);
    int fd = udax_open(pool, "/sparse", O_CREAT | O_RDWR, 0644);
    assert_int_equal(udax_ftruncate(pool, fd, 3 * PAGE + 100), 0);
    char *map = udax_mmap(pool, NULL, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    for (size_t i = 0; i < 4 * PAGE; i += 512)
        assert_int_equal(map[i], 0);
    /* A store into a hole read before gets a block: the zero page was write-protected. */
    map[PAGE + 7] = 'x';
    char c = 0;
    assert_int_equal(udax_pread(pool, fd, &c, 1, PAGE + 7), 1);
    assert_int_equal(c, 'x');
    /* The rest of the last page reads as zero; the page after it is past the end. */
    assert_int_equal(map[4 * PAGE - 1], 0);
    assert_true(test_read_raises_sigbus(map + 4 * PAGE));
    assert_true(test_read_raises_sigbus(map + 7 * PAGE + 5));
    assert_int_equal(udax_ftruncate(pool, fd, 6 * PAGE), 0);
    assert_false(test_read_raises_sigbus(map + 4 * PAGE));
    assert_int_equal(udax_munmap(pool, map, 8 * PAGE), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_truncate_unmaps(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_FAST);
    int fd = new_file(pool, "/t", 16 * PAGE, 3);
    char *map = udax_mmap(pool, NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    memset(map, 'a', 16 * PAGE);
    assert_int_equal(udax_ftruncate(pool, fd, PAGE + 10), 0);
    assert_true(test_read_raises_sigbus(map + 2 * PAGE));
    assert_int_equal(map[PAGE + 9], 'a');
    /* As mmap(2) has it, the rest of the last page reads zero. */
    for (size_t i = PAGE + 10; i < 2 * PAGE; i++)
        assert_int_equal(map[i], 0);
    assert_int_equal(udax_ftruncate(pool, fd, 16 * PAGE), 0);
    /* generic/438: what lay past the end, in the last page too, reads as zero once the file grows again. */
    assert_int_equal(map[PAGE + 10], 0);
    assert_int_equal(map[4 * PAGE], 0);
    assert_int_equal(udax_munmap(pool, map, 16 * PAGE), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_zero_pages_over_pieces(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_FAST);
    int fd = udax_open(pool, "/pieces", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_ftruncate(pool, fd, HUGE), 0);
    unsigned char *map = udax_mmap(pool, NULL, HUGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    /*
     * Pages 10, 11 and 12 get blocks, mapped 4 KiB each; then 11 is punched,
     * taken down and read again as a zero page, and so is page 3: the
     * reservation under the first 2 MiB is now pieces of address space that
     * zero pages went into separately.
     */
    for (size_t page = 10; page <= 12; page++) {
        assert_int_equal(udax_pwrite(pool, fd, "p", 1, (off_t)(page * PAGE)), 1);
        assert_int_equal(map[page * PAGE], 'p');
    }
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 11 * PAGE, PAGE), 0);
    assert_int_equal(map[11 * PAGE], 0);
    assert_int_equal(map[3 * PAGE], 0);
    /* All of it a hole again: one 2 MiB fault puts zero pages over all the pieces. */
    assert_int_equal(udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, HUGE), 0);
    assert_false(test_read_raises_sigbus((char *)map + 5));
    for (size_t i = 0; i < HUGE; i += PAGE)
        assert_int_equal(map[i], 0);
    assert_int_equal(udax_munmap(pool, map, HUGE), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_small_window_reclaims(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 2, UDAX_DATA_STRICT);
    size_t size = 64 * PAGE;
    int fd = new_file(pool, "/w", size, 11);
    unsigned char *map = udax_mmap(pool, NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    unsigned char *want = malloc(size);
    test_fill(want, size, 11, 0);
    for (int round = 0; round < 3; round++) {
        for (size_t page = 0; page < 64; page++) {
            assert_int_equal(map[page * PAGE + round], want[page * PAGE + round]);
            map[page * PAGE + 100] = (unsigned char)(round + page);
            want[page * PAGE + 100] = (unsigned char)(round + page);
        }
    }
    struct udax_window_stats stats;
    assert_int_equal(udax_window_stats(pool, &stats), 0);
    assert_true(stats.live <= 2);
    assert_true(stats.reclaimed >= 64);
    unsigned char *got = malloc(size);
    assert_int_equal(udax_pread(pool, fd, got, size, 0), (ssize_t)size);
    assert_memory_equal(got, want, size);
    assert_int_equal(udax_munmap(pool, map, size), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    free(got);
    free(want);
    test_pool_finish(pool, path);
}

/* Pinned ranges are never reclaimed; when pins fill the window, a fault maps beyond the budget instead of hanging. */
static void test_pins_fill_the_window(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 2, UDAX_DATA_FAST);
    int fd = new_file(pool, "/pinned", 16 * PAGE, 4);
    unsigned char *map = udax_mmap(pool, NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    assert_int_equal(udax_pin(pool, map, 8 * PAGE, UDAX_PIN_WRITE), 0);
    for (size_t page = 0; page < 8; page++)
        map[page * PAGE] = (unsigned char)page;
    struct udax_window_stats stats;
    assert_int_equal(udax_window_stats(pool, &stats), 0);
    assert_true(stats.over_budget >= 6);
    assert_int_equal(udax_unpin(pool, map, 8 * PAGE), 0);
    for (size_t page = 8; page < 16; page++)
        map[page * PAGE] = (unsigned char)page;
    for (size_t page = 0; page < 16; page++) {
        unsigned char c;
        assert_int_equal(udax_pread(pool, fd, &c, 1, (off_t)(page * PAGE)), 1);
        assert_int_equal(c, page);
    }
    assert_int_equal(udax_window_stats(pool, &stats), 0);
    assert_true(stats.live <= 2 + stats.over_budget);
    assert_int_equal(udax_munmap(pool, map, 16 * PAGE), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_msync_makes_durable(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_FAST);
    int fd = new_file(pool, "/d", 3 << 20, 5);
    char *map = udax_mmap(pool, NULL, 3 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    memcpy(map + 12345, "durable", 7);
    assert_int_equal(udax_msync(pool, map, 3 << 20, MS_SYNC), 0);
    assert_int_equal(udax_msync(pool, map, 3 << 20, MS_SYNC | MS_ASYNC), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(udax_munmap(pool, map, 3 << 20), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    assert_int_equal(udax_pool_close(pool), 0);
    pool = udax_pool_open(path, NULL);
    assert_non_null(pool);
    fd = udax_open(pool, "/d", O_RDONLY);
    char got[7];
    assert_int_equal(udax_pread(pool, fd, got, 7, 12345), 7);
    assert_memory_equal(got, "durable", 7);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_protect_and_advise(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_FAST);
    int fd = new_file(pool, "/p", 32 * PAGE, 9);
    char *map = udax_mmap(pool, NULL, 32 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    char first = map[0];
    assert_int_equal(udax_mprotect(pool, map + 8 * PAGE, 8 * PAGE, PROT_READ | PROT_WRITE), 0);
    map[9 * PAGE] = 'w';
    char c;
    assert_int_equal(udax_pread(pool, fd, &c, 1, 9 * PAGE), 1);
    assert_int_equal(c, 'w');
    assert_int_equal(map[0], first);
    assert_int_equal(udax_madvise(pool, map, 32 * PAGE, MADV_DONTNEED), 0);
    assert_int_equal(map[9 * PAGE], 'w');
    struct udax_window_stats before, after;
    assert_int_equal(udax_window_stats(pool, &before), 0);
    assert_int_equal(udax_madvise(pool, map + 16 * PAGE, 16 * PAGE, MADV_WILLNEED), 0);
    assert_int_equal(udax_window_stats(pool, &after), 0);
    assert_true(after.faults > before.faults);
    assert_int_equal(udax_madvise(pool, map, PAGE, MADV_HUGEPAGE), -1);
    assert_int_equal(errno, EINVAL);
    /* Unmapping the middle leaves both ends working. */
    assert_int_equal(udax_munmap(pool, map + 4 * PAGE, 4 * PAGE), 0);
    assert_int_equal(map[3 * PAGE], map[3 * PAGE]);
    assert_int_equal(map[9 * PAGE], 'w');
    assert_int_equal(udax_munmap(pool, map, 32 * PAGE), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

static void test_bad_calls(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = open_with_window(path, sizeof(path), 0, UDAX_DATA_FAST);
    int fd = new_file(pool, "/b", PAGE, 1);
    int ro = udax_open(pool, "/b", O_RDONLY);
    assert_true(ro >= 0);
    assert_ptr_equal(udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0), MAP_FAILED);
    assert_int_equal(errno, EINVAL);
    assert_ptr_equal(udax_mmap(pool, NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), MAP_FAILED);
    assert_int_equal(errno, EACCES);
    assert_ptr_equal(udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_SHARED, 999, 0), MAP_FAILED);
    assert_int_equal(errno, EBADF);
    assert_ptr_equal(udax_mmap(pool, NULL, 0, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED);
    assert_int_equal(errno, EINVAL);
    assert_ptr_equal(udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_SHARED, fd, 100), MAP_FAILED);
    assert_int_equal(errno, EINVAL);
    assert_ptr_equal(udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_GROWSDOWN, fd, 0), MAP_FAILED);
    assert_int_equal(errno, EOPNOTSUPP);
    int dir = udax_open(pool, "/", O_RDONLY);
    assert_ptr_equal(udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_SHARED, dir, 0), MAP_FAILED);
    assert_int_equal(errno, ENODEV);
    char *map = udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_SHARED, ro, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    assert_int_equal(udax_msync(pool, map + 1, PAGE, MS_SYNC), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(udax_pin(pool, map, PAGE, UDAX_PIN_WRITE), -1);
    assert_int_equal(errno, EACCES);
    assert_int_equal(udax_pin(pool, map, 2 * PAGE, 0), -1);
    assert_int_equal(errno, EFAULT);
    assert_int_equal(udax_munmap(pool, map, PAGE), 0);
    assert_int_equal(udax_close(pool, dir), 0);
    assert_int_equal(udax_close(pool, ro), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

/* A seccomp filter that makes the kernel refuse userfaultfd, by system call and through /dev/userfaultfd. */
static void forbid_userfaultfd(void)
{
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_userfaultfd, 3, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, USERFAULTFD_IOC_NEW, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog program = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program))
        _exit(3);
}

static void test_kernel_refuses_userfaultfd(void **state)
{
    (void)state;
    char path[128];
    test_pool_create(path, sizeof(path), POOL_SIZE, UDAX_DATA_FAST);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        forbid_userfaultfd();
        struct udax_pool *pool = udax_pool_open(path, NULL);
        int fd = pool ? udax_open(pool, "/f", O_CREAT | O_RDWR, 0644) : -1;
        void *map = fd >= 0 ? udax_mmap(pool, NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0) : NULL;
        bool refused = map == MAP_FAILED && errno == EPERM && strstr(udax_last_error(), "userfaultfd");
        _exit(refused && udax_close(pool, fd) == 0 && udax_pool_close(pool) == 0 ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    test_pool_finish(NULL, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_write_coherent),
        cmocka_unit_test(test_holes_and_end_of_file),
        cmocka_unit_test(test_truncate_unmaps),
        cmocka_unit_test(test_zero_pages_over_pieces),
        cmocka_unit_test(test_small_window_reclaims),
        cmocka_unit_test(test_pins_fill_the_window),
        cmocka_unit_test(test_msync_makes_durable),
        cmocka_unit_test(test_protect_and_advise),
        cmocka_unit_test(test_bad_calls),
        cmocka_unit_test(test_kernel_refuses_userfaultfd),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
