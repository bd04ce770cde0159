/* open_bench.c: how long opening a pool of many small files takes, against a tmpfs tree walk and a memory copy. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_exit.h"
#include "udax.h"

#define DIRECTORIES 100
#define RUNS 5


static void populate_pool(const char *path, int files)
{
    struct udax_mkfs_options opts = {0};
    if (udax_pool_create(path, 1ULL << 30, &opts))
        die("mkfs");
    struct udax_pool *pool = udax_pool_open(path, NULL);
    if (!pool)
        die("open");
    char name[64], data[100];
    memset(data, 'x', sizeof(data));
    for (int d = 0; d < DIRECTORIES; d++) {
        snprintf(name, sizeof(name), "/d%03d", d);
        if (udax_mkdir(pool, name, 0755))
            die("mkdir");
    }
    for (int i = 0; i < files; i++) {
        snprintf(name, sizeof(name), "/d%03d/file%06d", i % DIRECTORIES, i);
        int fd = udax_open(pool, name, O_CREAT | O_WRONLY, 0644);
        if (fd < 0 || udax_write(pool, fd, data, sizeof(data)) != sizeof(data) || udax_close(pool, fd))
            die("create");
    }
    udax_pool_close(pool);
}

static void populate_tmpfs(const char *root, int files)
{
    char name[256], data[100];
    memset(data, 'x', sizeof(data));
    mkdir(root, 0755);
    for (int d = 0; d < DIRECTORIES; d++) {
        snprintf(name, sizeof(name), "%s/d%03d", root, d);
        mkdir(name, 0755);
    }
    for (int i = 0; i < files; i++) {
        snprintf(name, sizeof(name), "%s/d%03d/file%06d", root, i % DIRECTORIES, i);
        int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
            die("tmpfs create");
        close(fd);
    }
}

/* The tmpfs counterpart of building the indexes: list every directory and stat every file. */
static long walk_tmpfs(const char *root)
{
    char name[512];
    long seen = 0;
    for (int d = 0; d < DIRECTORIES; d++) {
        snprintf(name, sizeof(name), "%s/d%03d", root, d);
        DIR *dir = opendir(name);
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (e->d_name[0] == '.')
                continue;
            char file[768];
            struct stat st;
            snprintf(file, sizeof(file), "%s/%s", name, e->d_name);
            if (stat(file, &st) == 0)
                seen++;
        }
        closedir(dir);
    }
    return seen;
}

static void remove_tmpfs(const char *root)
{
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", root);
    if (system(command) != 0)
        fprintf(stderr, "open_bench: could not remove %s\n", root);
}

int main(int argc, char **argv)
{
    int files = argc > 1 ? atoi(argv[1]) : 100000;
    const char *csv_path = argc > 2 ? argv[2] : "bench/results/open.csv";
    char pool_path[128], tmpfs_root[128];
    snprintf(pool_path, sizeof(pool_path), "/dev/shm/udax-open-bench-%d.pool", (int)getpid());
    snprintf(tmpfs_root, sizeof(tmpfs_root), "/dev/shm/udax-open-bench-%d.tree", (int)getpid());

    populate_pool(pool_path, files);
    populate_tmpfs(tmpfs_root, files);

    double open_s[RUNS], walk_s[RUNS], copy_s[RUNS];
    struct udax_pool_info info;
    for (int run = 0; run < RUNS; run++) {
        double start = seconds_now();
        struct udax_pool *pool = udax_pool_open(pool_path, NULL);
        open_s[run] = seconds_now() - start;
        if (!pool)
            die("reopen");
        udax_pool_info(pool, &info);
        udax_pool_close(pool);

        start = seconds_now();
        long seen = walk_tmpfs(tmpfs_root);
        walk_s[run] = seconds_now() - start;
        if (seen != files)
            die("tmpfs walk count");
    }
    /* A plain copy of as many bytes as the pool holds in use: the floor for reading it all once. */
    size_t used = (size_t)(info.data_blocks - info.free_blocks) * info.block_size;
    char *from = malloc(used), *to = malloc(used);
    memset(from, 1, used);
    memset(to, 2, used);
    for (int run = 0; run < RUNS; run++) {
        double start = seconds_now();
        memcpy(to, from, used);
        copy_s[run] = seconds_now() - start;
    }
    free(from);
    free(to);

    double open_median = median(open_s, RUNS), walk_median = median(walk_s, RUNS), copy_median = median(copy_s, RUNS);
    printf("files: %d in %d directories, pool in use: %.1f MiB\n", files, DIRECTORIES, used / 1048576.0);
    printf("udax_pool_open (rebuilds every index): %8.3f s\n", open_median);
    printf("tmpfs readdir+stat of the same tree:   %8.3f s   udax/tmpfs  = %.2f\n", walk_median,
           open_median / walk_median);
    printf("memcpy of the bytes in use:            %8.3f s   udax/memcpy = %.2f\n", copy_median,
           open_median / copy_median);

    FILE *csv = fopen(csv_path, "w");
    if (csv) {
        fprintf(csv, "measure,seconds,ratio_to_udax_open\n");
        fprintf(csv, "udax_pool_open,%.6f,1.0\n", open_median);
        fprintf(csv, "tmpfs_walk,%.6f,%.4f\n", walk_median, walk_median / open_median);
        fprintf(csv, "memcpy_in_use,%.6f,%.4f\n", copy_median, copy_median / open_median);
        fclose(csv);
        printf("results: %s\n", csv_path);
    }
    unlink(pool_path);
    remove_tmpfs(tmpfs_root);
    return 0;
}
