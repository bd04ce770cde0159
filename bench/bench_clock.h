/* bench_clock.h: the timing helpers every benchmark shares: a monotonic clock and the median of repeated runs. */
#ifndef UDAX_BENCH_CLOCK_H
#define UDAX_BENCH_CLOCK_H

#include <stdlib.h>
#include <time.h>

static inline double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
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

#endif
