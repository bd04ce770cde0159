/* fuzz_pool.c: the libFuzzer harness over pool open, recovery, reading the tree, and fsck --repair. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sparse_image.h"
#include "udax.h"
#include "workload.h"

static char pool_path[128];
static uint8_t *image;

static void quiet(void *arg, const char *problem)
{
    (void)arg;
    (void)problem;
}

/* The pool is sparse, but what the inputs wrote into it stayed in /dev/shm after every run. */
static void remove_pool(void)
{
    unlink(pool_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-fuzz-%d.pool", (int)getpid());
    if (atexit(remove_pool))
        return 1;
    int fd = open(pool_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, SPARSE_POOL_SIZE))
        return 1;
    image = mmap(NULL, SPARSE_POOL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return image == MAP_FAILED;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memset(image, 0, SPARSE_POOL_SIZE);
    for (size_t at = 0; at + sizeof(struct sparse_record) <= size; at += sizeof(struct sparse_record)) {
        struct sparse_record record;
        memcpy(&record, data + at, sizeof(record));
        memcpy(image + (uint64_t)(record.line % (SPARSE_POOL_SIZE / SPARSE_LINE)) * SPARSE_LINE, record.bytes,
               SPARSE_LINE);
    }
    struct udax_pool *pool = udax_pool_open(pool_path, NULL);
    if (pool) {
        free(snapshot(pool));
        udax_pool_close(pool);
    }
    struct udax_fsck_options opts = {.repair = 1, .report = quiet};
    udax_fsck(pool_path, &opts, NULL);
    return 0;
}
