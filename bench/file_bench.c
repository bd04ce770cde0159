/* file_bench.c: the data path through system-call-shaped calls: appends, random and sequential reads and writes, and two-thread scaling, on udax (strict and fast pools), tmpfs and plain memory. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_exit.h"
#include "bench_random.h"
#include "udax.h"

#define ROUNDS 11
#define PAGE 4096u
#define PIECE (1u << 20)
#define RANDOM_OPS 32768u
#define THREADS 2

/* udax in its two data modes, the kernel's tmpfs through system calls, and a memory copy doing the same accesses. */
enum system { UDAX_STRICT, UDAX_FAST, TMPFS, MEMORY, SYSTEMS };
static const char *const system_names[SYSTEMS] = {"udax_strict", "udax_fast", "tmpfs", "memcpy"};

enum access { APPEND_4K, OVERWRITE_4K, WRITE_64B, READ_4K, WRITE_1M_SEQ, READ_1M_SEQ, ACCESSES };
static const char *const access_names[ACCESSES] = {
    "4KiB append", "4KiB random overwrite", "64B random write", "4KiB random read", "1MiB sequential write",
    "1MiB sequential read",
};

/* The accesses that run in one and in two threads, each thread on a file of its own. */
static const enum access scaled_accesses[] = {APPEND_4K, OVERWRITE_4K, READ_4K};
#define SCALED_ACCESSES (sizeof(scaled_accesses) / sizeof(scaled_accesses[0]))

static uint64_t file_bytes;
static char pool_paths[2][128], tmpfs_dir[128];

static void remove_files(void)
{
    for (int i = 0; i < 2; i++)
        unlink(pool_paths[i]);
    remove_tree(tmpfs_dir);
}

/* A file of one system: a descriptor of a pool or of tmpfs, or a plain buffer for the memory copy. */
struct file {
    enum system system;
    struct udax_pool *pool;
    int fd, append_fd;
    unsigned char *memory;
    uint64_t appended;
};

static void file_pwrite(struct file *f, const void *buf, size_t count, uint64_t offset)
{
    ssize_t done;
    switch (f->system) {
    case MEMORY:
        memcpy(f->memory + offset, buf, count);
        return;
    case TMPFS:
        done = pwrite(f->fd, buf, count, (off_t)offset);
        break;
    default:
        done = udax_pwrite(f->pool, f->fd, buf, count, (off_t)offset);
    }
    if (done != (ssize_t)count)
        die(system_names[f->system]);
}

static void file_pread(struct file *f, void *buf, size_t count, uint64_t offset)
{
    ssize_t done;
    switch (f->system) {
    case MEMORY:
        memcpy(buf, f->memory + offset, count);
        return;
    case TMPFS:
        done = pread(f->fd, buf, count, (off_t)offset);
        break;
    default:
        done = udax_pread(f->pool, f->fd, buf, count, (off_t)offset);
    }
    if (done != (ssize_t)count)
        die(system_names[f->system]);
}

/* Through a descriptor opened with O_APPEND: each append finds the end itself, as a log writer's would. */
static void file_append(struct file *f, const void *buf, size_t count)
{
    ssize_t done;
    switch (f->system) {
    case MEMORY:
        memcpy(f->memory + f->appended, buf, count);
        f->appended += count;
        return;
    case TMPFS:
        done = write(f->append_fd, buf, count);
        break;
    default:
        done = udax_write(f->pool, f->append_fd, buf, count);
    }
    if (done != (ssize_t)count)
        die(system_names[f->system]);
}

static void file_empty(struct file *f)
{
    f->appended = 0;
    if (f->system == MEMORY)
        return;
    if (f->system == TMPFS ? ftruncate(f->fd, 0) : udax_ftruncate(f->pool, f->fd, 0))
        die("truncate");
}

static unsigned char source[PIECE], sink[PIECE];

static struct file open_file(enum system system, struct udax_pool *pool, const char *name)
{
    struct file f = {.system = system, .pool = pool, .fd = -1, .append_fd = -1};
    char path[200];
    /* Linux's pwrite appends on an O_APPEND descriptor, whatever the offset, and udax does as Linux does. */
    int flags = O_RDWR | O_CREAT | O_TRUNC, append_flags = O_WRONLY | O_APPEND;
    if (system == MEMORY) {
        f.memory = aligned_alloc(PAGE, file_bytes);
        if (!f.memory)
            die("memory");
    } else if (system == TMPFS) {
        snprintf(path, sizeof(path), "%s/%s", tmpfs_dir, name);
        f.fd = open(path, flags, 0644);
        f.append_fd = open(path, append_flags);
    } else {
        snprintf(path, sizeof(path), "/%s", name);
        f.fd = udax_open(pool, path, flags, 0644);
        f.append_fd = udax_open(pool, path, append_flags);
    }
    if (system != MEMORY && (f.fd < 0 || f.append_fd < 0))
        die(name);
    for (uint64_t offset = 0; offset < file_bytes; offset += PIECE)
        file_pwrite(&f, source, PIECE, offset);
    return f;
}

/* Runs count accesses of one kind on f and returns seconds; a run that appends first empties the file, untimed. */
static double run_access(struct file *f, enum access access, uint32_t count)
{
    uint64_t x = RANDOM_SEED;
    if (access == APPEND_4K)
        file_empty(f);
    double start = seconds_now();
    for (uint32_t i = 0; i < count; i++) {
        x = xorshift(x);
        switch (access) {
        case APPEND_4K:
            file_append(f, source + (i % (PIECE / PAGE)) * PAGE, PAGE);
            break;
        case OVERWRITE_4K:
            file_pwrite(f, source + (i % (PIECE / PAGE)) * PAGE, PAGE, scaled(x, file_bytes / PAGE) * PAGE);
            break;
        case WRITE_64B:
            file_pwrite(f, source + (i % (PIECE / 64)) * 64, 64, scaled(x, file_bytes / 64) * 64);
            break;
        case READ_4K:
            file_pread(f, sink + (i % (PIECE / PAGE)) * PAGE, PAGE, scaled(x, file_bytes / PAGE) * PAGE);
            break;
        case WRITE_1M_SEQ:
            file_pwrite(f, source, PIECE, (uint64_t)i * PIECE % file_bytes);
            break;
        case READ_1M_SEQ:
            file_pread(f, sink, PIECE, (uint64_t)i * PIECE % file_bytes);
            break;
        default:
            abort();
        }
    }
    clobber_memory();
    return seconds_now() - start;
}

/* Accesses per run: appends fill the file once; sequential passes cover it twice. */
static uint32_t access_count(enum access access)
{
    switch (access) {
    case APPEND_4K:
        return (uint32_t)(file_bytes / PAGE);
    case WRITE_1M_SEQ:
    case READ_1M_SEQ:
        return (uint32_t)(2 * file_bytes / PIECE);
    default:
        return RANDOM_OPS;
    }
}

struct single_run {
    struct file *file;
    enum access access;
};

static double run_single(void *arg)
{
    struct single_run *r = arg;
    return run_access(r->file, r->access, access_count(r->access));
}

/* Threads meet at a barrier, so that the time runs from when all of them may start until the last one ends. */
struct thread_run {
    struct file *file;
    enum access access;
    pthread_barrier_t *start;
};

static void *thread_main(void *arg)
{
    struct thread_run *t = arg;
    if (t->access == APPEND_4K)
        file_empty(t->file);
    pthread_barrier_wait(t->start);
    run_access(t->file, t->access, access_count(t->access));
    return NULL;
}

struct scaling_run {
    struct file *files;
    enum access access;
    unsigned threads;
};

/* Returns seconds per access, summed over threads' accesses: the inverse of throughput. */
static double run_threads(void *arg)
{
    struct scaling_run *s = arg;
    pthread_t threads[THREADS];
    struct thread_run runs[THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, s->threads + 1);
    for (unsigned i = 0; i < s->threads; i++) {
        runs[i] = (struct thread_run){&s->files[i], s->access, &start};
        if (pthread_create(&threads[i], NULL, thread_main, &runs[i]))
            die("pthread_create");
    }
    pthread_barrier_wait(&start);
    double begin = seconds_now();
    for (unsigned i = 0; i < s->threads; i++)
        pthread_join(threads[i], NULL);
    double elapsed = seconds_now() - begin;
    pthread_barrier_destroy(&start);
    return elapsed / ((double)access_count(s->access) * s->threads);
}

static struct udax_pool *make_pool(const char *path, enum udax_data_mode mode)
{
    /* Room for the files of both tests, a copy of each for copy-on-write, and the logs. */
    uint64_t size = file_bytes * 8 + (256ull << 20);
    struct udax_mkfs_options opts = {.data_mode = mode};
    if (udax_pool_create(path, size, &opts))
        die("mkfs");
    struct udax_pool *pool = udax_pool_open(path, NULL);
    if (!pool)
        die("open pool");
    return pool;
}

/* The time ratios of one access, each the median over rounds of the ratio of two runs in one round. */
struct access_ratios {
    double speedup[SYSTEMS];     /* tmpfs time over each system's */
    double over_memory[SYSTEMS]; /* each system's time over the memory copy's */
};

static struct access_ratios ratios_of(const struct workload *row)
{
    struct access_ratios r;
    for (int s = 0; s < SYSTEMS; s++) {
        r.speedup[s] = median_ratio(row[TMPFS].samples, row[s].samples, ROUNDS);
        r.over_memory[s] = median_ratio(row[s].samples, row[MEMORY].samples, ROUNDS);
    }
    return r;
}

static void write_plot_data(FILE *csv, const double ns[ACCESSES][SYSTEMS], const struct access_ratios *ratios)
{
    fprintf(csv, "workload");
    for (int s = 0; s < SYSTEMS; s++)
        fprintf(csv, ",%s_ns", system_names[s]);
    fprintf(csv, ",udax_strict_speedup,udax_fast_speedup,memcpy_speedup");
    fprintf(csv, ",udax_strict_over_memcpy,udax_fast_over_memcpy\n");
    for (int a = 0; a < ACCESSES; a++) {
        fprintf(csv, "%s", access_names[a]);
        for (int s = 0; s < SYSTEMS; s++)
            fprintf(csv, ",%.1f", ns[a][s]);
        const struct access_ratios *r = &ratios[a];
        fprintf(csv, ",%.4f,%.4f,%.4f,%.4f,%.4f\n", r->speedup[UDAX_STRICT], r->speedup[UDAX_FAST],
                r->speedup[MEMORY], r->over_memory[UDAX_STRICT], r->over_memory[UDAX_FAST]);
    }
}

static FILE *open_csv(const char *path)
{
    FILE *csv = fopen(path, "w");
    if (!csv)
        die(path);
    return csv;
}

int main(int argc, char **argv)
{
    unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
    const char *csv_path = argc > 2 ? argv[2] : "bench/results/file.csv";
    const char *scaling_csv_path = argc > 3 ? argv[3] : "bench/results/scaling.csv";
    if (argc > 4 || mib < 4 || mib > 4096) {
        fprintf(stderr, "usage: %s [FILE_MIB: 4 to 4096, default 64] [CSV] [SCALING_CSV]\n", argv[0]);
        return 2;
    }
    file_bytes = (uint64_t)mib << 20;
    for (size_t i = 0; i < sizeof(source); i++)
        source[i] = (unsigned char)(i * 7 + 1);
    snprintf(pool_paths[0], sizeof(pool_paths[0]), "/dev/shm/udax-file-bench-%d.strict", (int)getpid());
    snprintf(pool_paths[1], sizeof(pool_paths[1]), "/dev/shm/udax-file-bench-%d.fast", (int)getpid());
    snprintf(tmpfs_dir, sizeof(tmpfs_dir), "/dev/shm/udax-file-bench-%d.tree", (int)getpid());
    atexit(remove_files);
    if (mkdir(tmpfs_dir, 0755))
        die(tmpfs_dir);
    struct udax_pool *pools[SYSTEMS] = {make_pool(pool_paths[0], UDAX_DATA_STRICT),
                                        make_pool(pool_paths[1], UDAX_DATA_FAST)};

    static struct file files[SYSTEMS], scaling_files[SYSTEMS][THREADS];
    for (int s = 0; s < SYSTEMS; s++) {
        files[s] = open_file((enum system)s, pools[s], "data");
        for (int t = 0; t < THREADS; t++) {
            char name[16];
            snprintf(name, sizeof(name), "thread%d", t);
            scaling_files[s][t] = open_file((enum system)s, pools[s], name);
        }
    }

    /* Every system runs each access once per round, so that the load of this shared machine falls on all alike. */
    static struct single_run singles[ACCESSES][SYSTEMS];
    struct workload workloads[ACCESSES * SYSTEMS];
    for (int a = 0; a < ACCESSES; a++)
        for (int s = 0; s < SYSTEMS; s++) {
            singles[a][s] = (struct single_run){&files[s], (enum access)a};
            workloads[a * SYSTEMS + s] = (struct workload){.run = run_single, .arg = &singles[a][s]};
        }
    measure_in_rounds(workloads, ACCESSES * SYSTEMS, ROUNDS);
    double ns[ACCESSES][SYSTEMS];
    struct access_ratios ratios[ACCESSES];
    for (int a = 0; a < ACCESSES; a++) {
        for (int s = 0; s < SYSTEMS; s++)
            ns[a][s] = workloads[a * SYSTEMS + s].median_s * 1e9 / access_count((enum access)a);
        ratios[a] = ratios_of(&workloads[a * SYSTEMS]);
    }

    printf("\nns per access on a %lu MiB file (medians of %d rounds); speed-up is tmpfs time / udax time; the ratios\n"
           "are medians of the ratios of two runs in one round\n", mib, ROUNDS);
    printf("%-22s %10s %10s %10s %10s  %8s %8s  %8s %8s\n", "workload", "strict", "fast", "tmpfs", "memcpy",
           "x strict", "x fast", "strict/m", "fast/m");
    for (int a = 0; a < ACCESSES; a++)
        printf("%-22s %10.1f %10.1f %10.1f %10.1f  %8.2f %8.2f  %8.2f %8.2f\n", access_names[a], ns[a][UDAX_STRICT],
               ns[a][UDAX_FAST], ns[a][TMPFS], ns[a][MEMORY], ratios[a].speedup[UDAX_STRICT],
               ratios[a].speedup[UDAX_FAST], ratios[a].over_memory[UDAX_STRICT], ratios[a].over_memory[UDAX_FAST]);
    FILE *csv = open_csv(csv_path);
    write_plot_data(csv, ns, ratios);
    fclose(csv);

    static struct scaling_run scaling[SCALED_ACCESSES][SYSTEMS][THREADS];
    struct workload scaling_workloads[SCALED_ACCESSES * SYSTEMS * THREADS];
    unsigned w = 0;
    for (unsigned a = 0; a < SCALED_ACCESSES; a++)
        for (int s = 0; s < SYSTEMS; s++)
            for (unsigned t = 0; t < THREADS; t++) {
                scaling[a][s][t] = (struct scaling_run){scaling_files[s], scaled_accesses[a], t + 1};
                scaling_workloads[w++] = (struct workload){.run = run_threads, .arg = &scaling[a][s][t]};
            }
    measure_in_rounds(scaling_workloads, w, ROUNDS);

    printf("\nmillions of accesses per second (medians), each thread on a file of its own; the speed-up is the\n"
           "median of the rounds' ratios\n");
    printf("%-22s %-12s %10s %10s %8s\n", "workload", "system", "1 thread", "2 threads", "speed-up");
    csv = open_csv(scaling_csv_path);
    fprintf(csv, "workload,system,one_thread_mops,two_threads_mops,speedup\n");
    w = 0;
    for (unsigned a = 0; a < SCALED_ACCESSES; a++)
        for (int s = 0; s < SYSTEMS; s++, w += THREADS) {
            const struct workload *one_thread = &scaling_workloads[w], *two_threads = &scaling_workloads[w + 1];
            double one = 1e-6 / one_thread->median_s, two = 1e-6 / two_threads->median_s;
            double speedup = median_ratio(one_thread->samples, two_threads->samples, ROUNDS);
            const char *name = access_names[scaled_accesses[a]];
            printf("%-22s %-12s %10.3f %10.3f %8.2f\n", name, system_names[s], one, two, speedup);
            fprintf(csv, "%s,%s,%.4f,%.4f,%.4f\n", name, system_names[s], one, two, speedup);
        }
    fclose(csv);
    printf("results: %s %s\n", csv_path, scaling_csv_path);

    for (int s = 0; s < SYSTEMS; s++) {
        if (s == MEMORY) {
            free(files[s].memory);
            for (int t = 0; t < THREADS; t++)
                free(scaling_files[s][t].memory);
        } else if (s == TMPFS) {
            close(files[s].fd);
            close(files[s].append_fd);
            for (int t = 0; t < THREADS; t++) {
                close(scaling_files[s][t].fd);
                close(scaling_files[s][t].append_fd);
            }
        }
    }
    for (int s = UDAX_STRICT; s <= UDAX_FAST; s++)
        if (udax_pool_close(pools[s]))
            die("close pool");
    return 0;
}
