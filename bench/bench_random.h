/* bench_random.h: the cheap random offsets every benchmark draws, the same sequence for udax and its baselines. */
#ifndef UDAX_BENCH_RANDOM_H
#define UDAX_BENCH_RANDOM_H

#include <stdint.h>

#define RANDOM_SEED 0x9e3779b97f4a7c15ull

static inline uint64_t xorshift(uint64_t x)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

/* An index below count from a random word, by a multiplication: a division would cost more than the access. */
static inline uint64_t scaled(uint64_t random, uint64_t count)
{
    return (uint64_t)(((unsigned __int128)random * count) >> 64);
}

#endif
