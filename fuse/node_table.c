/* node_table.c: the daemon's nodes: FUSE node ids, each an O_PATH descriptor of one pool inode, and their lookup counts. */
#include <Judy.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>

#include "udax_fuse.h"

int node_table_init(struct node_table *table, struct udax_pool *pool)
{
    *table = (struct node_table){.by_ino = NULL};
    pthread_mutex_init(&table->lock, NULL);
    table->root.fd = udax_open(pool, "/", O_PATH | O_DIRECTORY);
    if (table->root.fd < 0)
        return -1;
    struct stat st;
    if (udax_fstat(pool, table->root.fd, &st)) {
        udax_close(pool, table->root.fd);
        return -1;
    }
    table->root.ino = st.st_ino;
    table->root.lookups = 1;
    PPvoid_t slot = JudyLIns(&table->by_ino, (Word_t)st.st_ino, PJE0);
    if (slot == PPJERR) {
        udax_close(pool, table->root.fd);
        errno = ENOMEM;
        return -1;
    }
    *slot = &table->root;
    return 0;
}

void node_table_destroy(struct node_table *table, struct udax_pool *pool)
{
    Word_t ino = 0;
    for (PPvoid_t slot = JudyLFirst(table->by_ino, &ino, PJE0); slot; slot = JudyLNext(table->by_ino, &ino, PJE0)) {
        struct node *node = *slot;
        udax_close(pool, node->fd);
        if (node != &table->root)
            free(node);
    }
    JudyLFreeArray(&table->by_ino, PJE0);
    pthread_mutex_destroy(&table->lock);
}

struct node *node_of(struct mount *mount, fuse_ino_t nodeid)
{
    return nodeid == FUSE_ROOT_ID ? &mount->nodes.root : (struct node *)(uintptr_t)nodeid;
}

static fuse_ino_t nodeid_of(struct mount *mount, struct node *node)
{
    return node == &mount->nodes.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)node;
}

fuse_ino_t node_table_take(struct mount *mount, int fd, ino_t ino)
{
    struct node_table *table = &mount->nodes;
    pthread_mutex_lock(&table->lock);
    PPvoid_t slot = JudyLIns(&table->by_ino, (Word_t)ino, PJE0);
    struct node *node = slot == PPJERR ? NULL : *slot;
    bool made = false;
    if (slot != PPJERR && !node) {
        node = malloc(sizeof(*node));
        if (node) {
            *node = (struct node){.fd = fd, .ino = ino};
            *slot = node;
            made = true;
        } else {
            JudyLDel(&table->by_ino, (Word_t)ino, PJE0);
        }
    }
    if (node)
        node->lookups++;
    pthread_mutex_unlock(&table->lock);
    if (!made)
        udax_close(mount->pool, fd);
    return node ? nodeid_of(mount, node) : 0;
}

void node_table_forget(struct mount *mount, fuse_ino_t nodeid, uint64_t count)
{
    struct node_table *table = &mount->nodes;
    struct node *node = node_of(mount, nodeid);
    pthread_mutex_lock(&table->lock);
    node->lookups -= count < node->lookups ? count : node->lookups;
    bool gone = !node->lookups && node != &table->root;
    if (gone)
        JudyLDel(&table->by_ino, (Word_t)node->ino, PJE0);
    pthread_mutex_unlock(&table->lock);
    if (gone) {
        udax_close(mount->pool, node->fd);
        free(node);
    }
}
