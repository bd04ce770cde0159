/* test_trace.h: the last calls of a randomized test, kept in a ring and printed when it fails. */
#ifndef UDAX_TEST_TRACE_H
#define UDAX_TEST_TRACE_H

#include <stdarg.h>
#include <stddef.h>

#define TEST_TRACE_DEPTH 40
#define TEST_TRACE_LINE 256

struct test_trace {
    char lines[TEST_TRACE_DEPTH][TEST_TRACE_LINE];
    unsigned long count;
};

/* Notes one call as the step-th of the run, overwriting the oldest line when the ring is full. */
void test_trace_vnote(struct test_trace *trace, unsigned long step, const char *fmt, va_list ap);
/* Adds to the line noted last, such as the call's result. */
void test_trace_append(struct test_trace *trace, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the lines kept, oldest first, through cmocka's print_error. */
void test_trace_print(const struct test_trace *trace);

#endif
