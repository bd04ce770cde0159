/* xattr_index.h: an inode's extended attributes in DRAM, a small array sorted by name. */
#ifndef UDAX_XATTR_INDEX_H
#define UDAX_XATTR_INDEX_H

#include <stddef.h>
#include <stdint.h>

struct xattr {
    uint32_t value_len;
    uint8_t name_len;
    char data[]; /* the name, then the value */
};

static inline const char *xattr_value(const struct xattr *x)
{
    return x->data + x->name_len;
}

/* Inodes carry few attributes, so a sorted array of pointers is enough. */
struct xattr_index {
    struct xattr **items;
    size_t count, capacity;
    size_t list_bytes; /* every name with its NUL: the length of the whole list */
};

void xattr_index_clear(struct xattr_index *index);
/* An attribute holding copies of name and value, for xattr_index_put; NULL when out of memory. */
struct xattr *xattr_new(const char *name, size_t name_len, const void *value, size_t value_len);
struct xattr *xattr_index_find(const struct xattr_index *index, const char *name, size_t len);
/* Room for one more attribute, so that a put after a commit cannot fail: 0 or ENOMEM. */
int xattr_index_reserve(struct xattr_index *index);
/* Adds x, or replaces the attribute of its name (which is freed); the index owns x. Needs the room reserved. */
void xattr_index_put(struct xattr_index *index, struct xattr *x);
/* Removes and frees the attribute called name, if there is one. */
void xattr_index_remove(struct xattr_index *index, const char *name, size_t len);

#endif
