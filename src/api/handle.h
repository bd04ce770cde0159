/* handle.h: struct udax_pool, the state behind the handle an application holds. */
#ifndef UDAX_HANDLE_H
#define UDAX_HANDLE_H

#include "fd_table.h"
#include "inode/inode.h"
#include "window/window.h"

struct stored_cred;

struct udax_pool {
    struct fs fs;
    struct fd_table fds;
    struct window *window;
    struct stored_cred *cred; /* the handle's credentials; atomic */
    struct mutex cred_lock;   /* leaf: replacing them */
};

/* The credentials the calling thread acts with on pool. */
const struct cred *api_cred(struct udax_pool *pool);
/* At pool open: the process's own credentials. 0 or ENOMEM. */
int api_cred_init(struct udax_pool *pool);
void api_cred_destroy(struct udax_pool *pool);

/* Sets errno from an errno-valued rc and a message naming the call; returns -1 (or 0 when rc is 0). */
int api_result(int rc, const char *call, const char *path);

/* The open file behind fd with a reference, or NULL with EBADF and a message naming call; O_PATH files are refused. */
struct open_file *api_get_file(struct udax_pool *pool, int fd, const char *call);
/* The same, O_PATH files included: for fstat and as the start of *at calls. */
struct open_file *api_get_path_file(struct udax_pool *pool, int fd, const char *call);

/* The start of an *at call's walk: the directory behind dirfd, or NULL (the root) for AT_FDCWD or an absolute path. */
struct at_start {
    struct open_file *file;
    struct inode *inode;
};
/* With empty_path (AT_EMPTY_PATH), dirfd may be any file and an empty path names it. 0, or -1 with errno set. */
int api_at_begin(struct udax_pool *pool, int dirfd, const char *path, bool empty_path, const char *call,
                 struct at_start *at);
void api_at_end(struct udax_pool *pool, struct at_start *at);

/*
 * Resolves an *at call's (dirfd, path): at_flags are its AT_SYMLINK_NOFOLLOW
 * and AT_EMPTY_PATH, of which allowed says which the call accepts; *out is
 * referenced. 0, or -1 with errno set and a message naming call.
 */
int api_lookup_at(struct udax_pool *pool, int dirfd, const char *path, int at_flags, int allowed, const char *call,
                  struct inode **out);

/* Closes an open file description once its last reference goes. */
void open_file_put(struct udax_pool *pool, struct open_file *file);

#endif
