/* test_trace.c: the last calls of a randomized test, kept in a ring and printed when it fails. */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "test_trace.h"

void test_trace_vnote(struct test_trace *trace, unsigned long step, const char *fmt, va_list ap)
{
    char *line = trace->lines[trace->count++ % TEST_TRACE_DEPTH];
    int used = snprintf(line, TEST_TRACE_LINE, "#%lu ", step);
    vsnprintf(line + used, TEST_TRACE_LINE - (size_t)used, fmt, ap);
}

void test_trace_append(struct test_trace *trace, const char *fmt, ...)
{
    if (!trace->count)
        return;
    char *line = trace->lines[(trace->count - 1) % TEST_TRACE_DEPTH];
    size_t used = strlen(line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + used, TEST_TRACE_LINE - used, fmt, ap);
    va_end(ap);
}

void test_trace_print(const struct test_trace *trace)
{
    unsigned long first = trace->count > TEST_TRACE_DEPTH ? trace->count - TEST_TRACE_DEPTH : 0;
    for (unsigned long i = first; i < trace->count; i++)
        print_error("  %s\n", trace->lines[i % TEST_TRACE_DEPTH]);
}
