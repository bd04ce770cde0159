/* handle.h: struct udax_pool, the state behind the handle an application holds. */
#ifndef UDAX_HANDLE_H
#define UDAX_HANDLE_H

#include "fd_table.h"
#include "inode/inode.h"

struct udax_pool {
    struct fs fs;
    struct fd_table fds;
};

/* Sets errno from an errno-valued rc and a message naming the call; returns -1 (or 0 when rc is 0). */
int api_result(int rc, const char *call, const char *path);

/* Closes an open file description once its last reference goes. */
void open_file_put(struct udax_pool *pool, struct open_file *file);

#endif
