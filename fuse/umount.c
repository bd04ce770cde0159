/* umount.c: the udax umount command: unmounts a udax mount and waits until its daemon has closed the pool. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "udax_fuse.h"

static const char umount_usage[] =
    "usage: udax umount DIR\n"
    "\n"
    "Unmounts the udax mount on DIR (through fusermount3 -u) and returns once\n"
    "its daemon has closed the pool, so that the pool can be opened again at\n"
    "once, by udax fsck for one.\n";

/* mountinfo writes space, tab, newline and backslash as octal escapes. */
static void unescape_mountinfo(char *field)
{
    char *out = field;
    for (char *in = field; *in; in++) {
        if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' &&
            in[3] <= '7') {
            *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
            in += 3;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
}

/* The pool of the udax mount on dir (its FUSE source), into pool; false when dir is no udax mount. */
static bool pool_of_mount(const char *dir, char *pool, size_t size)
{
    FILE *info = fopen("/proc/self/mountinfo", "r");
    if (!info)
        return false;
    char *line = NULL;
    size_t capacity = 0;
    bool found = false;
    while (!found && getline(&line, &capacity, info) > 0) {
        /* Fields: id parent major:minor root mount-point options [optional...] - type source super-options. */
        char *save, *field = strtok_r(line, " \n", &save);
        char *mount_point = NULL, *type = NULL, *source = NULL;
        for (int index = 0; field; index++, field = strtok_r(NULL, " \n", &save)) {
            if (index == 4)
                mount_point = field;
            if (!strcmp(field, "-")) {
                type = strtok_r(NULL, " \n", &save);
                source = type ? strtok_r(NULL, " \n", &save) : NULL;
                break;
            }
        }
        if (!mount_point || !type || !source || strcmp(type, "fuse.udax"))
            continue;
        unescape_mountinfo(mount_point);
        if (strcmp(mount_point, dir))
            continue;
        unescape_mountinfo(source);
        found = strlen(source) < size;
        if (found)
            strcpy(pool, source);
    }
    free(line);
    fclose(info);
    return found;
}

static int run_fusermount(const char *dir)
{
    pid_t child = fork();
    if (child < 0) {
        fprintf(stderr, "udax umount: fork: %s\n", strerror(errno));
        return 1;
    }
    if (child == 0) {
        execlp("fusermount3", "fusermount3", "-u", dir, (char *)NULL);
        fprintf(stderr, "udax umount: cannot run fusermount3: %s\n", strerror(errno));
        _exit(1);
    }
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* The daemon holds the pool's open lock until it has closed the pool: a read lock on the same byte waits for that. */
static int wait_for_pool_close(const char *pool)
{
    int fd = open(pool, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "udax umount: cannot open %s: %s\n", pool, strerror(errno));
        return 1;
    }
    struct flock lock = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
    int rc;
    while ((rc = fcntl(fd, F_OFD_SETLKW, &lock)) < 0 && errno == EINTR)
        ;
    if (rc)
        fprintf(stderr, "udax umount: cannot wait for %s: %s\n", pool, strerror(errno));
    close(fd);
    return rc ? 1 : 0;
}

int umount_command(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        fputs(umount_usage, stdout);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "udax umount: it takes one DIR\n\n%s", umount_usage);
        return 2;
    }
    char dir[PATH_MAX], pool[PATH_MAX];
    if (!realpath(argv[1], dir)) {
        fprintf(stderr, "udax umount: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    if (!pool_of_mount(dir, pool, sizeof(pool))) {
        fprintf(stderr, "udax umount: %s is not a udax mount\n", dir);
        return 1;
    }
    int status = run_fusermount(dir);
    return status ? status : wait_for_pool_close(pool);
}
