/* demo.c: a short tour of libudax: create files and a directory, write, read back, list, rename. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "udax.h"

static void die(const char *what)
{
    fprintf(stderr, "udax-demo: %s: %s\n", what, udax_last_error());
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: udax-demo POOL\n");
        return 2;
    }
    struct udax_pool *pool = udax_pool_open(argv[1], NULL);
    if (!pool)
        die("open pool");

    if (udax_mkdir(pool, "/demo", 0755) && errno != EEXIST)
        die("mkdir /demo");
    const char *greeting = "hello from udax: this line went through a memory copy into the pool\n";
    int fd = udax_open(pool, "/demo/hello.txt", O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (fd < 0)
        die("open /demo/hello.txt");
    if (udax_write(pool, fd, greeting, strlen(greeting)) != (ssize_t)strlen(greeting))
        die("write");
    char back[128] = {0};
    if (udax_pread(pool, fd, back, sizeof(back) - 1, 0) < 0)
        die("pread");
    udax_close(pool, fd);
    printf("read back: %s", back);

    fd = udax_open(pool, "/demo/big.bin", O_CREAT | O_TRUNC | O_WRONLY, 0644);
    if (fd < 0)
        die("open /demo/big.bin");
    char *block = malloc(1 << 20);
    for (int i = 0; i < 8; i++) {
        memset(block, 'a' + i, 1 << 20);
        if (udax_write(pool, fd, block, 1 << 20) != 1 << 20)
            die("write big.bin");
    }
    free(block);
    udax_close(pool, fd);
    if (udax_rename(pool, "/demo/big.bin", "/demo/eight-mib.bin"))
        die("rename");

    UDAX_DIR *dir = udax_opendir(pool, "/demo");
    if (!dir)
        die("opendir /demo");
    struct dirent *entry;
    while ((entry = udax_readdir(pool, dir))) {
        if (entry->d_name[0] == '.')
            continue;
        char path[300];
        snprintf(path, sizeof(path), "/demo/%s", entry->d_name);
        struct stat st;
        if (udax_stat(pool, path, &st))
            die("stat");
        printf("  %-16s %10lld bytes  inode %llu\n", entry->d_name, (long long)st.st_size,
               (unsigned long long)st.st_ino);
    }
    udax_closedir(pool, dir);
    udax_pool_close(pool);
    return 0;
}
