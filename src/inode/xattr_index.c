/* xattr_index.c: binary search over an inode's extended attributes, sorted by name bytes. */
#include "xattr_index.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int compare(const char *name, size_t len, const struct xattr *x)
{
    size_t common = len < x->name_len ? len : x->name_len;
    int c = memcmp(name, x->data, common);
    if (c)
        return c;
    return len < x->name_len ? -1 : len > x->name_len;
}

/* The position of the first attribute not before name; *found says whether it is called name. */
static size_t position(const struct xattr_index *index, const char *name, size_t len, bool *found)
{
    size_t lo = 0, hi = index->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (compare(name, len, index->items[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < index->count && !compare(name, len, index->items[lo]);
    return lo;
}

void xattr_index_clear(struct xattr_index *index)
{
    for (size_t i = 0; i < index->count; i++)
        free(index->items[i]);
    free(index->items);
    *index = (struct xattr_index){0};
}

struct xattr *xattr_new(const char *name, size_t name_len, const void *value, size_t value_len)
{
    struct xattr *x = malloc(sizeof(*x) + name_len + value_len);
    if (!x)
        return NULL;
    x->value_len = (uint32_t)value_len;
    x->name_len = (uint8_t)name_len;
    memcpy(x->data, name, name_len);
    if (value_len)
        memcpy(x->data + name_len, value, value_len);
    return x;
}

struct xattr *xattr_index_find(const struct xattr_index *index, const char *name, size_t len)
{
    bool found;
    size_t at = position(index, name, len, &found);
    return found ? index->items[at] : NULL;
}

int xattr_index_reserve(struct xattr_index *index)
{
    if (index->count < index->capacity)
        return 0;
    size_t capacity = index->capacity ? index->capacity * 2 : 4;
    struct xattr **grown = realloc(index->items, capacity * sizeof(*grown));
    if (!grown)
        return ENOMEM;
    index->items = grown;
    index->capacity = capacity;
    return 0;
}

void xattr_index_put(struct xattr_index *index, struct xattr *x)
{
    bool found;
    size_t at = position(index, x->data, x->name_len, &found);
    if (found) {
        free(index->items[at]);
        index->items[at] = x;
        return;
    }
    memmove(&index->items[at + 1], &index->items[at], (index->count - at) * sizeof(*index->items));
    index->items[at] = x;
    index->count++;
    index->list_bytes += x->name_len + 1u;
}

void xattr_index_remove(struct xattr_index *index, const char *name, size_t len)
{
    bool found;
    size_t at = position(index, name, len, &found);
    if (!found)
        return;
    index->list_bytes -= index->items[at]->name_len + 1u;
    free(index->items[at]);
    index->count--;
    memmove(&index->items[at], &index->items[at + 1], (index->count - at) * sizeof(*index->items));
}
