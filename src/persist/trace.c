/* trace.c: the trace mode of the persistence layer, which reports writes, flushes and fences to a tracer. */
#include "persist.h"

const struct persist_tracer *persist_tracer;

void persist_trace(const struct persist_tracer *tracer)
{
    __atomic_store_n(&persist_tracer, tracer, __ATOMIC_SEQ_CST);
}

/* Not inlined, so that the return address names the function that asked for the write. */
__attribute__((noinline)) void persist_trace_written(const struct persist *p, const void *addr, size_t len)
{
    const struct persist_tracer *tracer = persist_tracer;
    if (tracer)
        tracer->written(tracer->arg, p, addr, len, __builtin_return_address(0));
}

__attribute__((noinline)) void persist_trace_flushed(const struct persist *p, const void *addr, size_t len)
{
    const struct persist_tracer *tracer = persist_tracer;
    if (tracer)
        tracer->flushed(tracer->arg, p, addr, len, __builtin_return_address(0));
}

void persist_trace_fenced(const struct persist *p)
{
    const struct persist_tracer *tracer = persist_tracer;
    if (tracer)
        tracer->fenced(tracer->arg, p);
}
