/* handle.h: struct udax_pool, the state behind the handle an application holds. */
#ifndef UDAX_HANDLE_H
#define UDAX_HANDLE_H

#include "fd_table.h"
#include "inode/inode.h"
#include "window/window.h"

struct udax_pool {
    struct fs fs;
    struct fd_table fds;
    struct window *window;
};

/* Sets errno from an errno-valued rc and a message naming the call; returns -1 (or 0 when rc is 0). */
int api_result(int rc, const char *call, const char *path);

/* The open file behind fd with a reference, or NULL with EBADF and a message naming call. */
struct open_file *api_get_file(struct udax_pool *pool, int fd, const char *call);

/* Closes an open file description once its last reference goes. */
void open_file_put(struct udax_pool *pool, struct open_file *file);

#endif
