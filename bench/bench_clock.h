/* bench_clock.h: the timing helpers every benchmark shares: a monotonic clock, the memory-copy baseline, the median of repeated runs, and rounds of workloads. */
#ifndef UDAX_BENCH_CLOCK_H
#define UDAX_BENCH_CLOCK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keeps the compiler from dropping or merging copies and stores whose results nobody reads. */
static inline void clobber_memory(void)
{
    __asm__ volatile("" ::: "memory");
}

/* The plain memory copy that benchmarks measure as a baseline. */
struct big_copy {
    char *from, *to;
    uint64_t bytes;
};

static inline double run_big_copy(void *arg)
{
    struct big_copy *c = arg;
    double start = seconds_now();
    memcpy(c->to, c->from, c->bytes);
    clobber_memory();
    return seconds_now() - start;
}

static inline int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts samples in place. */
static inline double median(double *samples, int count)
{
    qsort(samples, (size_t)count, sizeof(*samples), compare_doubles);
    return samples[count / 2];
}

#define BENCH_MAX_ROUNDS 32

/* A workload times only the part it measures and returns seconds; set-up between runs stays out of the figure. */
struct workload {
    double (*run)(void *arg);
    void *arg;
    double median_s;
    double samples[BENCH_MAX_ROUNDS]; /* seconds, in the order of the rounds */
};

/* The median of one sample per round, which stay in round order for median_ratio. */
static inline double median_of_rounds(const double *samples, int rounds)
{
    double sorted[BENCH_MAX_ROUNDS];
    if (rounds > BENCH_MAX_ROUNDS)
        abort();
    memcpy(sorted, samples, (size_t)rounds * sizeof(*sorted));
    return median(sorted, rounds);
}

/*
 * Runs each workload once per round, so that a change in the load of this
 * shared machine falls on udax and its baselines alike; then takes medians.
 */
static inline void measure_in_rounds(struct workload *workloads, unsigned count, int rounds)
{
    if (rounds > BENCH_MAX_ROUNDS)
        abort();
    for (int round = 0; round < rounds; round++)
        for (unsigned i = 0; i < count; i++)
            workloads[i].samples[round] = workloads[i].run(workloads[i].arg);
    for (unsigned i = 0; i < count; i++)
        workloads[i].median_s = median_of_rounds(workloads[i].samples, rounds);
}

/*
 * The median, over rounds, of top's time over bottom's in the same round.
 * Two runs of one round are milliseconds apart, and a slow spell of the
 * machine lasts longer: it moves both, and their ratio less than either.
 * A ratio of two medians would pair a run of one round with one of another.
 */
static inline double median_ratio(const double *top, const double *bottom, int rounds)
{
    double ratios[BENCH_MAX_ROUNDS];
    if (rounds > BENCH_MAX_ROUNDS)
        abort();
    for (int round = 0; round < rounds; round++)
        ratios[round] = top[round] / bottom[round];
    return median(ratios, rounds);
}

#endif
