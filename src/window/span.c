/* span.c: the process-wide span of addresses that udax mappings of any pool may cover, for readers that must not fault into one. */
#include "window.h"

#include "util/rcu.h"

/* Empty while low > high; both only move outwards, so that a span once seen covers every mapping made before. */
uintptr_t window_span_low = UINTPTR_MAX, window_span_high;

static bool lower_to(uintptr_t *bound, uintptr_t value)
{
    uintptr_t seen = __atomic_load_n(bound, __ATOMIC_RELAXED);
    while (value < seen)
        if (__atomic_compare_exchange_n(bound, &seen, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return true;
    return false;
}

static bool raise_to(uintptr_t *bound, uintptr_t value)
{
    uintptr_t seen = __atomic_load_n(bound, __ATOMIC_RELAXED);
    while (value > seen)
        if (__atomic_compare_exchange_n(bound, &seen, value, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            return true;
    return false;
}

void window_span_cover(const void *start, size_t length)
{
    bool grown = lower_to(&window_span_low, (uintptr_t)start);
    grown |= raise_to(&window_span_high, (uintptr_t)start + length);
    /*
     * A section that began before the span grew may have found its buffer
     * outside and be copying into it: it ends before a fault here can reach
     * this window. Sections that begin later see the grown span.
     */
    if (grown)
        rcu_wait_for_sections();
}
