/* error.h: the failure reporting every layer shares: errno plus a thread-local message. */
#ifndef UDAX_ERROR_H
#define UDAX_ERROR_H

/* Sets errno to err and the message that udax_last_error() returns; returns -1. */
int udax_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
