/* make_seeds.c: writes real small pools, in the sparse format, as the fuzzers' seed corpus. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sparse_image.h"
#include "udax.h"
#include "workload.h"

static void write_seed(const char *pool_path, const char *seed_path)
{
    int fd = open(pool_path, O_RDONLY);
    uint8_t *image = malloc(SPARSE_POOL_SIZE);
    if (pread(fd, image, SPARSE_POOL_SIZE, 0) != (ssize_t)SPARSE_POOL_SIZE) {
        fprintf(stderr, "make_seeds: short read of %s\n", pool_path);
        exit(1);
    }
    close(fd);
    FILE *out = fopen(seed_path, "wb");
    static const uint8_t zero[SPARSE_LINE];
    for (uint32_t line = 0; line < SPARSE_POOL_SIZE / SPARSE_LINE; line++) {
        if (!memcmp(image + (uint64_t)line * SPARSE_LINE, zero, SPARSE_LINE))
            continue;
        struct sparse_record record = {.line = line};
        memcpy(record.bytes, image + (uint64_t)line * SPARSE_LINE, SPARSE_LINE);
        fwrite(&record, sizeof(record), 1, out);
    }
    fclose(out);
    free(image);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    char pool[128], seed[512];
    snprintf(pool, sizeof(pool), "/dev/shm/udax-seed-%d.pool", (int)getpid());
    const enum udax_data_mode modes[] = {UDAX_DATA_STRICT, UDAX_DATA_FAST};
    for (int m = 0; m < 2; m++) {
        make_template(pool, modes[m]);
        add_links(pool);
        snprintf(seed, sizeof(seed), "%s/tree-%d", argv[1], m);
        write_seed(pool, seed);
        /* The same tree after one operation of each kind, for entries of every type. */
        for (size_t i = 0; i < single_op_count; i += 3) {
            struct udax_pool *p = udax_pool_open(pool, NULL);
            run_op(p, &single_ops[i]);
            udax_pool_close(p);
            snprintf(seed, sizeof(seed), "%s/tree-%d-op-%zu", argv[1], m, i);
            write_seed(pool, seed);
        }
    }
    unlink(pool);
    return 0;
}
