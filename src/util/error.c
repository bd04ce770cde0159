/* error.c: the thread-local message behind udax_last_error(). */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "udax.h"

static __thread char last_error[256];

int udax_fail(int err, const char *fmt, ...)
{
    /* The arguments may include the previous message itself. */
    char message[sizeof(last_error)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof(message), fmt, ap);
    va_end(ap);
    memcpy(last_error, message, sizeof(message));
    errno = err;
    return -1;
}

const char *udax_last_error(void)
{
    return last_error[0] ? last_error : "no error";
}
