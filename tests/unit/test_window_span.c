/* test_window_span.c: unit tests of the span of udax mappings, which tells a lockless read whether its copy may stay in its read-side section. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "test_pool.h"
#include "window/window.h"

static char plain_buffer[64];

/* Runs first: no mapping exists yet in this process. */
static void test_empty_span_overlaps_nothing(void **state)
{
    (void)state;
    assert_false(window_span_overlaps(plain_buffer, sizeof(plain_buffer)));
    assert_false(window_span_overlaps((void *)4096, SIZE_MAX / 2));
}

static void test_covered_range_and_its_edges(void **state)
{
    (void)state;
    char *range = mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_not_equal(range, MAP_FAILED);
    window_span_cover(range + 4096, 4096);
    assert_true(window_span_overlaps(range + 4096, 1));
    assert_true(window_span_overlaps(range + 2 * 4096 - 1, 1));
    assert_true(window_span_overlaps(range, 4096 + 1));
    assert_false(window_span_overlaps(range, 4096));
    assert_false(window_span_overlaps(range + 2 * 4096, 4096));
    /* A length that runs past the end of the address space still overlaps. */
    assert_true(window_span_overlaps(range, SIZE_MAX));
    /* A second range widens the span over the gap between them: the span errs on the side of the slow path. */
    window_span_cover(range + 3 * 4096 - 1, 1);
    assert_true(window_span_overlaps(range + 2 * 4096, 1));
    munmap(range, 3 * 4096);
}

/* udax_mmap covers its mapping before a fault can reach it: a read into it copies outside its section. */
static void test_udax_mmap_covers_its_mapping(void **state)
{
    (void)state;
    char path[128];
    struct udax_pool *pool = test_pool_new(path, sizeof(path), 64ULL << 20, UDAX_DATA_FAST);
    int fd = udax_open(pool, "/f", O_CREAT | O_RDWR, 0644);
    assert_true(fd >= 0);
    assert_int_equal(udax_ftruncate(pool, fd, 8 * 4096), 0);
    char *map = udax_mmap(pool, NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_ptr_not_equal(map, MAP_FAILED);
    assert_true(window_span_overlaps(map, 1));
    assert_true(window_span_overlaps(map + 8 * 4096 - 1, 1));
    assert_false(window_span_overlaps(plain_buffer, sizeof(plain_buffer)));
    /* The read into an unfaulted page of the mapping faults it in and gets the bytes. */
    assert_int_equal(udax_pwrite(pool, fd, "span", 4, 4096), 4);
    assert_int_equal(udax_pread(pool, fd, map + 5 * 4096, 4, 4096), 4);
    assert_memory_equal(map + 5 * 4096, "span", 4);
    assert_int_equal(udax_munmap(pool, map, 8 * 4096), 0);
    assert_int_equal(udax_close(pool, fd), 0);
    test_pool_finish(pool, path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_span_overlaps_nothing),
        cmocka_unit_test(test_covered_range_and_its_edges),
        cmocka_unit_test(test_udax_mmap_covers_its_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
