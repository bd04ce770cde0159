/* test_posix_table.c: a pjdfstest-style table of the namespace calls: each row's set-up, caller, call, result and the state after, as Linux has them. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_pool.h"

#define POOL_SIZE UDAX_MIN_POOL_SIZE

/* Who makes the call. U1000 has the supplementary group 2000 besides its own 1000. */
enum who { ROOT, U1000, U1001, NOBODY };

enum call { OPEN, REOPEN, MKDIR, MKNOD, SYMLINK, READLINK, LINK, UNLINK, RMDIR, RENAME, CHMOD, CHOWN, UTIMENS, ACCESS,
            TRUNCATE, STAT, STATX, WRITE, READ, PREAD, COPY };

/* What an OPEN or REOPEN row then does with its descriptor, as the same caller. */
enum then { NOTHING, THEN_READ, THEN_WRITE, THEN_FSTAT, THEN_FCHMOD, THEN_FCHOWN, THEN_FUTIMENS, THEN_FTRUNCATE };

/*
 * One row. setup runs as root with umask 0, ';'-separated:
 *   d PATH MODE [UID GID]        directory        f PATH MODE [UID GID]   regular file
 *   w PATH TEXT                  appends TEXT     l PATH TARGET [UID GID]  symlink
 *   p PATH MODE [UID GID]        FIFO             h OLD NEW                hard link
 *   t PATH ASEC ANSEC MSEC MNSEC atime and mtime  chain PREFIX N TARGET    PREFIX1 -> PREFIX2 ... PREFIXN -> TARGET
 * Paths (and TEXT) may hold {N*text}, N copies of text. after is checked as root, ';'-separated:
 *   type PATH reg|dir|lnk|fifo|sock|chr|blk   mode PATH OCTAL   owner PATH UID GID   nlink PATH N   size PATH N
 *   rdev PATH MAJOR MINOR   absent PATH   target PATH TEXT   data PATH TEXT ("-" is empty)
 *   ino PATH OLD                the inode OLD named before the call
 *   atime|mtime|ctime|btime PATH new|same|made|=OLD|SEC.NSEC
 *       new: set by the call; same: as before the call; made: set by the set-up; =OLD: OLD's before the call
 *   rtype T, rnlink N, rbtime made   what STAT, STATX or THEN_FSTAT returned
 *   buf TEXT                         what READLINK returned
 */
struct row {
    const char *name;
    const char *setup;
    enum who as;
    enum call call;
    const char *path;
    const char *path2; /* LINK and RENAME: the new name; SYMLINK: the target; WRITE: the bytes; COPY: the target */
    const char *at;    /* opened O_PATH | O_NOFOLLOW by root as the dirfd, or what REOPEN reopens; NULL is AT_FDCWD */
    const char *umask; /* octal; NULL is 022 */
    int flags;         /* open(2) flags, AT_* flags, or rename flags */
    unsigned mode;     /* open, mkdir, mknod, chmod; the access(2) mode */
    dev_t dev;
    long long length;  /* TRUNCATE and THEN_FTRUNCATE: the length; READLINK: the buffer size; COPY: the count */
    long uid, gid;
    const struct timespec *times;
    enum then then;
    int err;           /* the errno expected, 0 for success */
    long long ret;     /* READLINK, WRITE, READ and COPY: the count expected */
    int then_err;
    const char *after;
};

#define TIMES(as, ans, ms, mns) ((const struct timespec[2]){{as, ans}, {ms, mns}})
/* makedev(), which is no constant expression, for majors below 4096 and minors below 256. */
#define DEV(major, minor) ((dev_t)((major) << 8 | (minor)))
#define NOW_OMIT TIMES(0, UTIME_NOW, 0, UTIME_OMIT)
#define OMIT_NOW TIMES(0, UTIME_OMIT, 0, UTIME_NOW)
#define OMIT_OMIT TIMES(0, UTIME_OMIT, 0, UTIME_OMIT)
#define NOW_NOW TIMES(0, UTIME_NOW, 0, UTIME_NOW)

/* Each expectation is what Linux 6.18 does on tmpfs, where these rows were run too; a row naming udax departs on purpose. */
static const struct row rows[] = {
    /* ---- open, openat */
    {"open: O_CREAT|O_EXCL makes a file owned by the caller, less the umask, and touches the directory",
     "d /d 0777; t /d 1 0 1 0", U1000, OPEN, "/d/f", .flags = O_CREAT | O_EXCL | O_WRONLY, .mode = 0666,
     .after = "type /d/f reg; mode /d/f 0644; owner /d/f 1000 1000; nlink /d/f 1; size /d/f 0; "
              "atime /d/f new; mtime /d/f new; ctime /d/f new; btime /d/f new; "
              "mtime /d new; ctime /d new; atime /d same; nlink /d 2"},
    {"open: O_CREAT with umask 077", "d /d 0777", U1000, OPEN, "/d/f", .umask = "077",
     .flags = O_CREAT | O_WRONLY, .mode = 0666, .after = "mode /d/f 0600"},
    {"open: O_CREAT with umask 0 keeps every bit asked for", "d /d 0777", U1000, OPEN, "/d/f", .umask = "0",
     .flags = O_CREAT | O_WRONLY, .mode = 06777, .after = "mode /d/f 6777; owner /d/f 1000 1000"},
    {"open: in a set-group-ID directory the file takes the directory's group", "d /g 2777 0 3000", U1000, OPEN,
     "/g/f", .flags = O_CREAT | O_WRONLY, .mode = 0644, .after = "owner /g/f 1000 3000; mode /g/f 0644"},
    {"open: in a set-group-ID directory a non-member's S_ISGID|S_IXGRP is dropped", "d /g 2777 0 3000", U1000, OPEN,
     "/g/f", .umask = "0", .flags = O_CREAT | O_WRONLY, .mode = 02777, .after = "owner /g/f 1000 3000; mode /g/f 0777"},
    {"open: in a set-group-ID directory a member's S_ISGID is kept", "d /g 2777 0 2000", U1000, OPEN, "/g/f",
     .umask = "0", .flags = O_CREAT | O_WRONLY, .mode = 02777, .after = "owner /g/f 1000 2000; mode /g/f 2777"},
    {"open: in a set-group-ID directory S_ISGID without group execute is kept", "d /g 2777 0 3000", U1000, OPEN,
     "/g/f", .umask = "0", .flags = O_CREAT | O_WRONLY, .mode = 02666, .after = "mode /g/f 2666"},
    {"open: in a set-group-ID directory root keeps S_ISGID", "d /g 2777 0 3000", ROOT, OPEN, "/g/f", .umask = "0",
     .flags = O_CREAT | O_WRONLY, .mode = 02777, .after = "owner /g/f 0 3000; mode /g/f 2777"},
    {"open: O_CREAT|O_EXCL on an existing file is EEXIST", "f /f 0644; t / 1 0 1 0", ROOT, OPEN, "/f",
     .flags = O_CREAT | O_EXCL | O_RDWR, .mode = 0644, .err = EEXIST, .after = "mtime / same"},
    {"open: O_CREAT|O_EXCL on a dangling symlink is EEXIST and creates nothing", "l /s /nowhere", ROOT, OPEN, "/s",
     .flags = O_CREAT | O_EXCL | O_WRONLY, .mode = 0644, .err = EEXIST, .after = "absent /nowhere; type /s lnk"},
    {"open: O_CREAT through a dangling symlink creates its target", "d /d 0755; l /s d/t", ROOT, OPEN, "/s",
     .flags = O_CREAT | O_WRONLY, .mode = 0640, .after = "type /d/t reg; mode /d/t 0640; type /s lnk"},
    {"open: O_CREAT of an existing file opens it as it is", "f /f 0600; w /f abc; t /f 1 0 1 0", ROOT, OPEN, "/f",
     .flags = O_CREAT | O_RDWR, .mode = 0777, .after = "mode /f 0600; data /f abc; mtime /f same; ctime /f same"},
    {"open: O_CREAT without write permission on the directory is EACCES", "d /d 0755", U1000, OPEN, "/d/f",
     .flags = O_CREAT | O_WRONLY, .mode = 0644, .err = EACCES, .after = "absent /d/f"},
    {"open: O_CREAT of an existing file needs no write permission on the directory", "d /d 0755; f /d/f 0666",
     U1000, OPEN, "/d/f", .flags = O_CREAT | O_WRONLY, .mode = 0644},
    {"open: O_CREAT|O_EXCL without search permission is EACCES, not EEXIST", "d /d 0666; f /d/f 0666", U1000, OPEN,
     "/d/f", .flags = O_CREAT | O_EXCL | O_WRONLY, .mode = 0644, .err = EACCES},
    {"open: search permission on a component is needed", "d /d 0700; f /d/f 0666", U1000, OPEN, "/d/f",
     .flags = O_RDONLY, .err = EACCES},
    {"open: search permission on every component is needed", "d /a 0755; d /a/b 0776; f /a/b/f 0666", U1000, OPEN,
     "/a/b/f", .flags = O_RDONLY, .err = EACCES},
    {"open: search permission through a supplementary group", "d /d 0710 0 2000; f /d/f 0644", U1000, OPEN,
     "/d/f", .flags = O_RDONLY},
    {"open: search permission is not given to others by the group class", "d /d 0710 0 2000; f /d/f 0644", NOBODY,
     OPEN, "/d/f", .flags = O_RDONLY, .err = EACCES},
    {"open: O_RDONLY needs read permission", "f /f 0200 1000 1000", U1000, OPEN, "/f", .flags = O_RDONLY,
     .err = EACCES},
    {"open: O_WRONLY needs write permission", "f /f 0444 1000 1000", U1000, OPEN, "/f", .flags = O_WRONLY,
     .err = EACCES},
    {"open: O_RDWR needs read and write permission", "f /f 0644 1001 1001", U1000, OPEN, "/f", .flags = O_RDWR,
     .err = EACCES},
    {"open: the group class grants through a supplementary group", "f /f 0460 0 2000", U1000, OPEN, "/f",
     .flags = O_RDWR},
    {"open: the owner class applies even when others may do more", "f /f 0066 1000 1000", U1000, OPEN, "/f",
     .flags = O_RDONLY, .err = EACCES},
    {"open: the group class applies even when others may do more", "f /f 0606 0 2000", U1000, OPEN, "/f",
     .flags = O_RDONLY, .err = EACCES},
    {"open: root opens a file with no permission bits", "f /f 0000 1000 1000", ROOT, OPEN, "/f", .flags = O_RDWR},
    {"open: root searches a directory with no permission bits", "d /d 0000 1000 1000; f /d/f 0644", ROOT, OPEN,
     "/d/f", .flags = O_RDONLY},
    {"open: O_TRUNC empties the file and updates mtime and ctime", "f /f 0666; w /f hello; t /f 1 0 1 0", U1000,
     OPEN, "/f", .flags = O_WRONLY | O_TRUNC, .after = "size /f 0; mtime /f new; ctime /f new; atime /f same"},
    {"open: O_TRUNC of an empty file still updates mtime and ctime", "f /f 0666; t /f 1 0 1 0", U1000, OPEN, "/f",
     .flags = O_WRONLY | O_TRUNC, .after = "mtime /f new; ctime /f new"},
    {"open: O_RDONLY|O_TRUNC needs write permission", "f /f 0644; w /f hello", U1000, OPEN, "/f",
     .flags = O_RDONLY | O_TRUNC, .err = EACCES, .after = "size /f 5"},
    {"open: O_TRUNC by a writer other than root clears S_ISUID and S_ISGID", "f /f 06777; w /f x", U1000, OPEN,
     "/f", .flags = O_WRONLY | O_TRUNC, .after = "mode /f 0777; size /f 0"},
    {"open: O_TRUNC by root keeps S_ISUID and S_ISGID", "f /f 06777; w /f x", ROOT, OPEN, "/f",
     .flags = O_WRONLY | O_TRUNC, .after = "mode /f 6777; size /f 0"},
    {"open: O_TRUNC on a directory is EISDIR", "d /d 0777", ROOT, OPEN, "/d", .flags = O_RDWR | O_TRUNC,
     .err = EISDIR},
    {"open: O_NOFOLLOW on a symlink is ELOOP", "f /f 0644; l /s /f", ROOT, OPEN, "/s",
     .flags = O_RDONLY | O_NOFOLLOW, .err = ELOOP},
    {"open: O_NOFOLLOW follows symlinks before the last component", "d /d 0755; f /d/f 0644; l /s d", ROOT, OPEN,
     "/s/f", .flags = O_RDONLY | O_NOFOLLOW},
    {"open: O_CREAT|O_NOFOLLOW on a dangling symlink is ELOOP", "l /s /t", ROOT, OPEN, "/s",
     .flags = O_CREAT | O_NOFOLLOW | O_WRONLY, .mode = 0644, .err = ELOOP, .after = "absent /t"},
    {"open: O_NOFOLLOW|O_PATH opens the symlink itself", "l /s /nowhere", ROOT, OPEN, "/s",
     .flags = O_PATH | O_NOFOLLOW, .then = THEN_FSTAT, .after = "rtype lnk"},
    {"open: O_PATH follows a symlink without O_NOFOLLOW", "f /f 0644; l /s /f", ROOT, OPEN, "/s", .flags = O_PATH,
     .then = THEN_FSTAT, .after = "rtype reg"},
    {"open: O_DIRECTORY on a file is ENOTDIR", "f /f 0644", ROOT, OPEN, "/f", .flags = O_RDONLY | O_DIRECTORY,
     .err = ENOTDIR},
    {"open: O_DIRECTORY follows a symlink to a directory", "d /d 0755; l /s /d", ROOT, OPEN, "/s",
     .flags = O_RDONLY | O_DIRECTORY, .then = THEN_FSTAT, .after = "rtype dir"},
    {"open: O_DIRECTORY|O_NOFOLLOW on a symlink to a directory is ENOTDIR", "d /d 0755; l /s /d", ROOT, OPEN, "/s",
     .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW, .err = ENOTDIR},
    {"open: a directory for writing is EISDIR", "d /d 0777", ROOT, OPEN, "/d", .flags = O_WRONLY, .err = EISDIR},
    {"open: a directory for reading and writing is EISDIR", "d /d 0777", ROOT, OPEN, "/d", .flags = O_RDWR,
     .err = EISDIR},
    {"open: a directory needs read permission", "d /d 0711", U1000, OPEN, "/d", .flags = O_RDONLY, .err = EACCES},
    {"open: O_CREAT on an existing directory is EISDIR", "d /d 0777", ROOT, OPEN, "/d", .flags = O_CREAT | O_RDONLY,
     .mode = 0644, .err = EISDIR},
    {"open: O_CREAT with a trailing slash is EISDIR", NULL, ROOT, OPEN, "/n/", .flags = O_CREAT | O_WRONLY,
     .mode = 0644, .err = EISDIR, .after = "absent /n"},
    {"open: a trailing slash on a file is ENOTDIR", "f /f 0644", ROOT, OPEN, "/f/", .flags = O_RDONLY,
     .err = ENOTDIR},
    {"open: a missing component is ENOENT", NULL, ROOT, OPEN, "/nope/f", .flags = O_CREAT | O_WRONLY, .mode = 0644,
     .err = ENOENT},
    {"open: a missing file without O_CREAT is ENOENT", NULL, ROOT, OPEN, "/nope", .flags = O_RDONLY, .err = ENOENT},
    {"open: a file as a component is ENOTDIR", "f /f 0644", ROOT, OPEN, "/f/x", .flags = O_CREAT | O_WRONLY,
     .mode = 0644, .err = ENOTDIR},
    {"open: an empty path is ENOENT", NULL, ROOT, OPEN, "", .flags = O_RDONLY, .err = ENOENT},
    {"open: a 255-byte name can be created", NULL, ROOT, OPEN, "/{255*n}", .flags = O_CREAT | O_WRONLY,
     .mode = 0644, .after = "type /{255*n} reg"},
    {"open: a 256-byte name is ENAMETOOLONG", NULL, ROOT, OPEN, "/{256*n}", .flags = O_CREAT | O_WRONLY,
     .mode = 0644, .err = ENAMETOOLONG},
    {"open: a 256-byte directory name in the path is ENAMETOOLONG", NULL, ROOT, OPEN, "/{256*n}/f",
     .flags = O_RDONLY, .err = ENAMETOOLONG},
    {"open: a path of PATH_MAX bytes is ENAMETOOLONG", "f /f 0644", ROOT, OPEN, "/{2047*./}f", .flags = O_RDONLY,
     .err = ENAMETOOLONG},
    {"open: a path of PATH_MAX - 1 bytes resolves", "f /ff 0644", ROOT, OPEN, "/{2046*./}ff", .flags = O_RDONLY},
    {"open: a symlink loop is ELOOP", "l /a /b; l /b /a", ROOT, OPEN, "/a", .flags = O_RDONLY, .err = ELOOP},
    {"open: a symlink to itself in the path is ELOOP", "l /s /s", ROOT, OPEN, "/s/x", .flags = O_RDONLY,
     .err = ELOOP},
    {"open: 40 symlinks in a walk are followed", "f /f 0644; chain /l 40 /f", ROOT, OPEN, "/l1", .flags = O_RDONLY},
    {"open: a 41st symlink is ELOOP", "f /f 0644; chain /l 41 /f", ROOT, OPEN, "/l1", .flags = O_RDONLY,
     .err = ELOOP},
    {"open: a relative symlink resolves from its directory", "d /d 0755; f /d/f 0644; l /d/s ../d/./f", ROOT, OPEN,
     "/d/s", .flags = O_RDONLY},
    {"open: O_PATH needs no permission on the file", "f /f 0000", U1000, OPEN, "/f", .flags = O_PATH,
     .then = THEN_FSTAT, .after = "rtype reg"},
    {"open: O_PATH needs search permission on the path", "d /d 0700; f /d/f 0644", U1000, OPEN, "/d/f",
     .flags = O_PATH, .err = EACCES},
    {"open: an O_PATH descriptor cannot be read", "f /f 0644; w /f abc", ROOT, OPEN, "/f", .flags = O_PATH,
     .then = THEN_READ, .then_err = EBADF},
    {"open: an O_PATH descriptor cannot be written, whatever the access mode", "f /f 0666", ROOT, OPEN, "/f",
     .flags = O_PATH | O_RDWR, .then = THEN_WRITE, .then_err = EBADF, .after = "size /f 0"},
    {"open: an O_PATH descriptor cannot be chmodded", "f /f 0644", ROOT, OPEN, "/f", .flags = O_PATH,
     .then = THEN_FCHMOD, .then_err = EBADF, .after = "mode /f 0644"},
    {"open: an O_PATH descriptor cannot be chowned", "f /f 0644", ROOT, OPEN, "/f", .flags = O_PATH,
     .then = THEN_FCHOWN, .then_err = EBADF},
    {"open: an O_PATH descriptor cannot have its times set", "f /f 0644", ROOT, OPEN, "/f", .flags = O_PATH,
     .then = THEN_FUTIMENS, .then_err = EBADF},
    {"open: an O_PATH descriptor cannot be truncated", "f /f 0644; w /f abc", ROOT, OPEN, "/f", .flags = O_PATH,
     .then = THEN_FTRUNCATE, .then_err = EBADF, .after = "size /f 3"},
    {"open: O_PATH ignores O_TRUNC and O_CREAT", "f /f 0644; w /f abc", ROOT, OPEN, "/f",
     .flags = O_PATH | O_TRUNC | O_CREAT, .mode = 0600, .after = "size /f 3; mode /f 0644"},
    {"openat: a relative path from an O_PATH directory descriptor", "d /d 0755; f /d/f 0644", ROOT, OPEN, "f",
     .at = "/d", .flags = O_RDONLY},
    {"openat: O_CREAT relative to a directory descriptor", "d /d 0777", U1000, OPEN, "f", .at = "/d",
     .flags = O_CREAT | O_WRONLY, .mode = 0600, .after = "owner /d/f 1000 1000"},
    {"openat: an absolute path ignores the directory descriptor", "d /d 0755; f /f 0644", ROOT, OPEN, "/f",
     .at = "/d", .flags = O_RDONLY},
    {"openat: a file as the directory descriptor is ENOTDIR", "f /f 0644", ROOT, OPEN, "x", .at = "/f",
     .flags = O_RDONLY, .err = ENOTDIR},
    {"openat: the descriptor's directory still needs search permission", "d /d 0700; f /d/f 0644", U1000, OPEN, "f",
     .at = "/d", .flags = O_RDONLY, .err = EACCES},
    {"openat: .. from a directory descriptor", "d /d 0755; f /f 0644", ROOT, OPEN, "../f", .at = "/d",
     .flags = O_RDONLY},
    {"open: O_NOATIME by a caller who does not own the file is EPERM", "f /f 0644", U1000, OPEN, "/f",
     .flags = O_RDONLY | O_NOATIME, .err = EPERM},
    {"open: O_NOATIME by the owner", "f /f 0644 1000 1000", U1000, OPEN, "/f", .flags = O_RDONLY | O_NOATIME},
    {"open: a FIFO is ENXIO (udax cannot be its other end)", "p /p 0666", ROOT, OPEN, "/p", .flags = O_RDONLY,
     .err = ENXIO},
    {"open: a FIFO still needs permission first", "p /p 0600", U1000, OPEN, "/p", .flags = O_RDONLY,
     .err = EACCES},

    {"open: O_CREAT|O_DIRECTORY is EINVAL and creates nothing", NULL, ROOT, OPEN, "/n",
     .flags = O_CREAT | O_DIRECTORY | O_RDONLY, .mode = 0755, .err = EINVAL, .after = "absent /n"},
    {"open: O_CREAT|O_DIRECTORY on an existing directory is EINVAL", "d /d 0755", ROOT, OPEN, "/d",
     .flags = O_CREAT | O_DIRECTORY | O_RDONLY, .mode = 0755, .err = EINVAL},
    {"open: O_RDONLY|O_TRUNC truncates, as on Linux", "f /f 0666; w /f hello", U1000, OPEN, "/f",
     .flags = O_RDONLY | O_TRUNC, .after = "size /f 0"},
    {"open: a symlink to a file in the middle of a path is ENOTDIR", "f /f 0644; l /s /f", ROOT, OPEN, "/s/x",
     .flags = O_RDONLY, .err = ENOTDIR},
    {"open: a symlink with a trailing slash in its target", "d /d 0755; f /d/f 0644; l /s /d/", ROOT, OPEN, "/s/f",
     .flags = O_RDONLY},
    {"open: .. of the root is the root", "f /f 0644", ROOT, OPEN, "/../../f", .flags = O_RDONLY},
    {"open: .. needs search permission on the directory it leaves", "d /d 0755; d /d/e 0700 1001 1001; f /f 0644",
     U1000, OPEN, "/d/e/../../f", .flags = O_RDONLY, .err = EACCES},
    {"openat: an absolute symlink from a directory descriptor resolves from the root",
     "d /d 0755; d /e 0755; f /e/f 0644; l /d/s /e", ROOT, OPEN, "s/f", .at = "/d", .flags = O_RDONLY},
    {"open: O_CREAT|O_EXCL with a trailing slash is EISDIR", NULL, ROOT, OPEN, "/n/",
     .flags = O_CREAT | O_EXCL | O_WRONLY, .mode = 0644, .err = EISDIR, .after = "absent /n"},

    /* ---- reopen: the file an O_PATH descriptor names, as open("/proc/self/fd/N") opens it */
    {"reopen: needs no search permission on the path that named the file", "d /d 0700; f /d/f 0644; w /d/f abc",
     U1000, REOPEN, .at = "/d/f", .flags = O_RDONLY, .then = THEN_READ},
    {"reopen: for writing, with the file's permission", "f /f 0666", U1000, REOPEN, .at = "/f", .flags = O_WRONLY,
     .then = THEN_WRITE, .after = "data /f x"},
    {"reopen: the access mode needs the file's permission", "f /f 0644", U1000, REOPEN, .at = "/f",
     .flags = O_WRONLY, .err = EACCES},
    {"reopen: the group class grants through a supplementary group", "f /f 0460 0 2000", U1000, REOPEN, .at = "/f",
     .flags = O_RDWR},
    {"reopen: O_TRUNC empties the file and updates mtime and ctime", "f /f 0666; w /f hello; t /f 1 0 1 0", U1000,
     REOPEN, .at = "/f", .flags = O_WRONLY | O_TRUNC, .after = "size /f 0; mtime /f new; ctime /f new; atime /f same"},
    {"reopen: O_TRUNC by a writer other than root clears S_ISUID and S_ISGID", "f /f 06777; w /f x", U1000, REOPEN,
     .at = "/f", .flags = O_WRONLY | O_TRUNC, .after = "mode /f 0777; size /f 0"},
    {"reopen: O_RDONLY|O_TRUNC needs write permission", "f /f 0644; w /f hello", U1000, REOPEN, .at = "/f",
     .flags = O_RDONLY | O_TRUNC, .err = EACCES, .after = "size /f 5"},
    {"reopen: O_CREAT opens the file as it is", "f /f 0600; w /f abc; t /f 1 0 1 0", ROOT, REOPEN, .at = "/f",
     .flags = O_CREAT | O_RDWR, .mode = 0777, .after = "mode /f 0600; data /f abc; mtime /f same; ctime /f same"},
    {"reopen: O_CREAT|O_EXCL is EEXIST", "f /f 0644; w /f abc", ROOT, REOPEN, .at = "/f",
     .flags = O_CREAT | O_EXCL | O_RDWR | O_TRUNC, .mode = 0644, .err = EEXIST, .after = "size /f 3"},
    {"reopen: O_CREAT on a directory is EISDIR", "d /d 0755", ROOT, REOPEN, .at = "/d", .flags = O_CREAT | O_RDONLY,
     .mode = 0644, .err = EISDIR},
    {"reopen: a directory for writing is EISDIR", "d /d 0777", ROOT, REOPEN, .at = "/d", .flags = O_WRONLY,
     .err = EISDIR},
    {"reopen: a directory with O_DIRECTORY", "d /d 0755", U1000, REOPEN, .at = "/d", .flags = O_RDONLY | O_DIRECTORY,
     .then = THEN_FSTAT, .after = "rtype dir"},
    {"reopen: a directory needs read permission", "d /d 0711", U1000, REOPEN, .at = "/d",
     .flags = O_RDONLY | O_DIRECTORY, .err = EACCES},
    {"reopen: O_DIRECTORY on a file is ENOTDIR", "f /f 0644", ROOT, REOPEN, .at = "/f",
     .flags = O_RDONLY | O_DIRECTORY, .err = ENOTDIR},
    {"reopen: a symlink is ELOOP", "f /f 0644; l /s /f", ROOT, REOPEN, .at = "/s", .flags = O_RDONLY, .err = ELOOP},
    {"reopen: O_PATH of a symlink names the symlink", "l /s /nowhere", ROOT, REOPEN, .at = "/s", .flags = O_PATH,
     .then = THEN_FSTAT, .after = "rtype lnk"},
    {"reopen: O_PATH needs no permission on the file, and cannot be read", "f /f 0000; w /f abc", U1000, REOPEN,
     .at = "/f", .flags = O_PATH, .then = THEN_READ, .then_err = EBADF},
    {"reopen: O_NOATIME by a caller who does not own the file is EPERM", "f /f 0644", U1000, REOPEN, .at = "/f",
     .flags = O_RDONLY | O_NOATIME, .err = EPERM},
    {"reopen: a FIFO still needs permission first", "p /p 0600", U1000, REOPEN, .at = "/p",
     .flags = O_RDONLY | O_NONBLOCK, .err = EACCES},
    {"reopen: a FIFO is ENXIO in udax (it cannot be its other end)", "p /p 0666", ROOT, REOPEN, .at = "/p",
     .flags = O_RDONLY | O_NONBLOCK, .err = ENXIO},
    {"reopen: O_NOFOLLOW changes nothing in udax (Linux's magic link, a symlink itself, makes it ELOOP)",
     "f /f 0644", ROOT, REOPEN, .at = "/f", .flags = O_RDONLY | O_NOFOLLOW},

    /* ---- mkdir, mkdirat */
    {"mkdir: makes a directory owned by the caller, less the umask, and links it from its parent",
     "d /d 0777; t /d 1 0 1 0", U1000, MKDIR, "/d/e", .mode = 0777,
     .after = "type /d/e dir; mode /d/e 0755; owner /d/e 1000 1000; nlink /d/e 2; nlink /d 3; "
              "mtime /d new; ctime /d new; atime /d same; atime /d/e new; mtime /d/e new; ctime /d/e new; "
              "btime /d/e new"},
    {"mkdir: umask 027", "d /d 0777", U1000, MKDIR, "/d/e", .umask = "027", .mode = 0777,
     .after = "mode /d/e 0750"},
    {"mkdir: in a set-group-ID directory takes its group and S_ISGID", "d /g 2777 0 3000", U1000, MKDIR, "/g/e",
     .mode = 0755, .after = "owner /g/e 1000 3000; mode /g/e 2755"},
    {"mkdir: outside a set-group-ID directory takes the caller's group", "d /d 0777 0 3000", U1000, MKDIR, "/d/e",
     .mode = 0755, .after = "owner /d/e 1000 1000; mode /d/e 0755"},
    {"mkdir: an existing directory is EEXIST", "d /d 0755", ROOT, MKDIR, "/d", .mode = 0755, .err = EEXIST},
    {"mkdir: an existing file is EEXIST", "f /f 0644", ROOT, MKDIR, "/f", .mode = 0755, .err = EEXIST},
    {"mkdir: a dangling symlink is EEXIST and is not followed", "l /s /t", ROOT, MKDIR, "/s", .mode = 0755,
     .err = EEXIST, .after = "absent /t"},
    {"mkdir: EEXIST comes before EACCES on the directory", "d /d 0755; d /d/e 0755", U1000, MKDIR, "/d/e",
     .mode = 0755, .err = EEXIST},
    {"mkdir: the root is EEXIST", NULL, ROOT, MKDIR, "/", .mode = 0755, .err = EEXIST},
    {"mkdir: . is EEXIST", "d /d 0755", ROOT, MKDIR, "/d/.", .mode = 0755, .err = EEXIST},
    {"mkdir: without write permission on the parent is EACCES", "d /d 0755; t /d 1 0 1 0", U1000, MKDIR, "/d/e",
     .mode = 0755, .err = EACCES, .after = "absent /d/e; mtime /d same; nlink /d 2"},
    {"mkdir: without search permission on the parent is EACCES", "d /d 0666", U1000, MKDIR, "/d/e", .mode = 0755,
     .err = EACCES},
    {"mkdir: a missing parent is ENOENT", NULL, ROOT, MKDIR, "/x/y", .mode = 0755, .err = ENOENT},
    {"mkdir: a file as the parent is ENOTDIR", "f /f 0644", ROOT, MKDIR, "/f/y", .mode = 0755, .err = ENOTDIR},
    {"mkdir: a trailing slash is allowed", NULL, ROOT, MKDIR, "/e/", .mode = 0755, .after = "type /e dir"},
    {"mkdir: a 256-byte name is ENAMETOOLONG", NULL, ROOT, MKDIR, "/{256*d}", .mode = 0755, .err = ENAMETOOLONG},
    {"mkdir: a symlink loop in the path is ELOOP", "l /a /b; l /b /a", ROOT, MKDIR, "/a/e", .mode = 0755,
     .err = ELOOP},
    {"mkdir: a dangling symlink with a trailing slash is EEXIST", "l /s /t", ROOT, MKDIR, "/s/", .mode = 0755,
     .err = EEXIST, .after = "absent /t"},
    {"mkdir: a 255-byte name", NULL, ROOT, MKDIR, "/{255*d}", .mode = 0755, .after = "type /{255*d} dir"},
    {"mkdirat: relative to a directory descriptor", "d /d 0755", ROOT, MKDIR, "e", .at = "/d", .mode = 0700,
     .after = "type /d/e dir; mode /d/e 0700; nlink /d 3"},

    {"mkdir: S_ISUID and S_ISGID in the mode are ignored, the sticky bit kept", "d /d 0777", U1000, MKDIR, "/d/e",
     .umask = "0", .mode = 07777, .after = "mode /d/e 1777"},
    /* ---- mknod, mknodat */
    {"mknod: a FIFO owned by the caller, less the umask, touches the directory", "d /d 0777; t /d 1 0 1 0", U1000,
     MKNOD, "/d/p", .mode = S_IFIFO | 0666,
     .after = "type /d/p fifo; mode /d/p 0644; owner /d/p 1000 1000; nlink /d/p 1; mtime /d new; ctime /d new"},
    {"mknod: a socket", "d /d 0777", U1000, MKNOD, "/d/s", .mode = S_IFSOCK | 0600, .after = "type /d/s sock"},
    {"mknod: file type 0 makes a regular file", NULL, ROOT, MKNOD, "/f", .mode = 0640,
     .after = "type /f reg; mode /f 0640"},
    {"mknod: S_IFREG makes a regular file", NULL, ROOT, MKNOD, "/f", .mode = S_IFREG | 0640,
     .after = "type /f reg"},
    {"mknod: a character device by root", NULL, ROOT, MKNOD, "/c", .mode = S_IFCHR | 0600, .dev = DEV(1, 3),
     .after = "type /c chr; rdev /c 1 3"},
    {"mknod: a block device by root", NULL, ROOT, MKNOD, "/b", .mode = S_IFBLK | 0600, .dev = DEV(8, 1),
     .after = "type /b blk; rdev /b 8 1"},
    {"mknod: a character device by another caller is EPERM", "d /d 0777", U1000, MKNOD, "/d/c",
     .mode = S_IFCHR | 0600, .dev = DEV(1, 3), .err = EPERM, .after = "absent /d/c"},
    {"mknod: a block device by another caller is EPERM", "d /d 0777", U1000, MKNOD, "/d/b", .mode = S_IFBLK | 0600,
     .dev = DEV(8, 1), .err = EPERM, .after = "absent /d/b"},
    {"mknod: a directory is EPERM, even for root", NULL, ROOT, MKNOD, "/d", .mode = S_IFDIR | 0755, .err = EPERM,
     .after = "absent /d"},
    {"mknod: an unknown file type is EINVAL", NULL, ROOT, MKNOD, "/x", .mode = S_IFMT | 0644, .err = EINVAL},
    {"mknod: an existing name is EEXIST", "f /f 0644", ROOT, MKNOD, "/f", .mode = S_IFIFO | 0644, .err = EEXIST},
    {"mknod: without write permission on the directory is EACCES", "d /d 0755", U1000, MKNOD, "/d/p",
     .mode = S_IFIFO | 0644, .err = EACCES},
    {"mknod: a trailing slash is ENOENT", NULL, ROOT, MKNOD, "/p/", .mode = S_IFIFO | 0644, .err = ENOENT},
    {"mknod: in a set-group-ID directory a non-member's S_ISGID|S_IXGRP is dropped", "d /g 2777 0 3000", U1000,
     MKNOD, "/g/p", .umask = "0", .mode = S_IFIFO | 02777, .after = "mode /g/p 0777; owner /g/p 1000 3000"},
    {"mknodat: relative to a directory descriptor", "d /d 0755", ROOT, MKNOD, "p", .at = "/d",
     .mode = S_IFIFO | 0600, .after = "type /d/p fifo"},

    {"mknod: a device in an unwritable directory is EACCES, which comes first", "d /d 0755", U1000, MKNOD, "/d/c",
     .mode = S_IFCHR | 0600, .dev = DEV(1, 3), .err = EACCES},
    {"mknod: a device over an existing name is EEXIST, which comes first", "d /d 0777; f /d/f 0644", U1000, MKNOD,
     "/d/f", .mode = S_IFCHR | 0600, .dev = DEV(1, 3), .err = EEXIST},
    /* ---- symlink, symlinkat */
    {"symlink: mode 0777 whatever the umask, owned by the caller, touches the directory",
     "d /d 0777; t /d 1 0 1 0", U1000, SYMLINK, "/d/s", "some/target", .umask = "077",
     .after = "type /d/s lnk; mode /d/s 0777; owner /d/s 1000 1000; target /d/s some/target; size /d/s 11; "
              "nlink /d/s 1; mtime /d new; ctime /d new"},
    {"symlink: the target need not exist", NULL, ROOT, SYMLINK, "/s", "/nowhere/at/all",
     .after = "target /s /nowhere/at/all"},
    {"symlink: an empty target is ENOENT", NULL, ROOT, SYMLINK, "/s", "", .err = ENOENT, .after = "absent /s"},
    {"symlink: a target of PATH_MAX - 1 bytes is kept whole", NULL, ROOT, SYMLINK, "/s", "{4095*t}",
     .after = "size /s 4095; target /s {4095*t}"},
    {"symlink: a target of PATH_MAX bytes is ENAMETOOLONG", NULL, ROOT, SYMLINK, "/s", "{4096*t}",
     .err = ENAMETOOLONG, .after = "absent /s"},
    {"symlink: an existing symlink is EEXIST", "l /s /x", ROOT, SYMLINK, "/s", "/y", .err = EEXIST,
     .after = "target /s /x"},
    {"symlink: an existing directory is EEXIST", "d /d 0755", ROOT, SYMLINK, "/d", "/y", .err = EEXIST},
    {"symlink: without write permission on the directory is EACCES", "d /d 0755", U1000, SYMLINK, "/d/s", "x",
     .err = EACCES},
    {"symlink: without search permission is EACCES", "d /d 0666", U1000, SYMLINK, "/d/s", "x", .err = EACCES},
    {"symlink: a trailing slash is ENOENT", NULL, ROOT, SYMLINK, "/s/", "x", .err = ENOENT},
    {"symlink: a missing parent is ENOENT", NULL, ROOT, SYMLINK, "/x/s", "x", .err = ENOENT},
    {"symlink: a file as the parent is ENOTDIR", "f /f 0644", ROOT, SYMLINK, "/f/s", "x", .err = ENOTDIR},
    {"symlink: in a set-group-ID directory takes its group", "d /g 2777 0 3000", U1000, SYMLINK, "/g/s", "x",
     .after = "owner /g/s 1000 3000; mode /g/s 0777"},
    {"symlinkat: relative to a directory descriptor", "d /d 0755", ROOT, SYMLINK, "s", "x", .at = "/d",
     .after = "target /d/s x"},

    /* ---- readlink, readlinkat */
    {"readlink: returns the target, without a NUL", "l /s abc", ROOT, READLINK, "/s", .length = 64, .ret = 3,
     .after = "buf abc"},
    {"readlink: truncates to the buffer", "l /s abcdef", ROOT, READLINK, "/s", .length = 2, .ret = 2,
     .after = "buf ab"},
    {"readlink: a buffer of 0 bytes is EINVAL", "l /s abc", ROOT, READLINK, "/s", .length = 0, .err = EINVAL},
    {"readlink: a regular file is EINVAL", "f /f 0644", ROOT, READLINK, "/f", .length = 64, .err = EINVAL},
    {"readlink: a trailing slash follows a symlink to a directory, so EINVAL", "d /d 0755; l /s /d", ROOT, READLINK,
     "/s/", .length = 64, .err = EINVAL},
    {"readlink: symlinks before the last component are followed", "d /d 0755; l /d/s abc; l /t /d", ROOT, READLINK,
     "/t/s", .length = 64, .ret = 3, .after = "buf abc"},
    {"readlink: search permission on the directory is needed", "d /d 0700; l /d/s abc", U1000, READLINK, "/d/s",
     .length = 64, .err = EACCES},
    {"readlink: a missing name is ENOENT", NULL, ROOT, READLINK, "/s", .length = 64, .err = ENOENT},
    {"readlink: a long target", "l /s {4095*t}", ROOT, READLINK, "/s", .length = 8192, .ret = 4095,
     .after = "buf {4095*t}"},
    {"readlinkat: an empty path reads the symlink an O_PATH descriptor names", "l /s abc", ROOT, READLINK, "",
     .at = "/s", .length = 64, .ret = 3, .after = "buf abc"},
    {"readlinkat: relative to a directory descriptor", "d /d 0755; l /d/s abc", ROOT, READLINK, "s", .at = "/d",
     .length = 64, .ret = 3, .after = "buf abc"},

    {"readlinkat: an empty path on a descriptor of a directory is ENOENT", "d /d 0755", ROOT, READLINK, "",
     .at = "/d", .length = 64, .err = ENOENT},
    /* ---- link, linkat */
    {"link: adds a name, raises nlink, changes the file's ctime and the directory's mtime and ctime",
     "d /d 0777; f /f 0644 1000 1000; t /f 1 0 1 0; t /d 1 0 1 0", U1000, LINK, "/f", "/d/g",
     .after = "ino /d/g /f; nlink /f 2; nlink /d/g 2; ctime /f new; mtime /f same; atime /f same; btime /f same; "
              "mtime /d new; ctime /d new; atime /d same; nlink /d 2"},
    {"link: a directory is EPERM", "d /d 0755", ROOT, LINK, "/d", "/e", .err = EPERM, .after = "absent /e"},
    {"link: links a symlink itself, not its target", "f /f 0644; l /s /f", ROOT, LINK, "/s", "/t",
     .after = "type /t lnk; ino /t /s; nlink /s 2; nlink /f 1"},
    {"linkat: AT_SYMLINK_FOLLOW links the target", "f /f 0644; l /s /f", ROOT, LINK, "/s", "/t",
     .flags = AT_SYMLINK_FOLLOW, .after = "type /t reg; ino /t /f; nlink /f 2; nlink /s 1"},
    {"link: an existing new name is EEXIST", "f /f 0644; f /g 0644", ROOT, LINK, "/f", "/g", .err = EEXIST,
     .after = "nlink /f 1"},
    {"link: an existing dangling symlink as the new name is EEXIST", "f /f 0644; l /s /t", ROOT, LINK, "/f", "/s",
     .err = EEXIST, .after = "absent /t"},
    {"link: a missing old name is ENOENT", NULL, ROOT, LINK, "/f", "/g", .err = ENOENT},
    {"link: without write permission on the new directory is EACCES", "d /d 0755; f /f 0644 1000 1000", U1000, LINK,
     "/f", "/d/g", .err = EACCES, .after = "nlink /f 1"},
    {"link: without search permission on the old path is EACCES", "d /d 0700; f /d/f 0644; d /e 0777", U1000,
     LINK, "/d/f", "/e/g", .err = EACCES},
    {"link: a file the caller does not own may be linked", "d /e 0777; f /f 0666", U1000, LINK, "/f", "/e/g",
     .after = "nlink /f 2"},
    {"link: a trailing slash on the new name is ENOENT", "f /f 0644", ROOT, LINK, "/f", "/g/", .err = ENOENT},
    {"link: a trailing slash on a file's old name is ENOTDIR", "f /f 0644", ROOT, LINK, "/f/", "/g",
     .err = ENOTDIR},
    {"link: . as the new name is EEXIST", "f /f 0644; d /d 0755", ROOT, LINK, "/f", "/d/.", .err = EEXIST},
    {"link: a symlink to a directory with a trailing slash is followed, so EPERM", "d /d 0755; l /s /d", ROOT, LINK,
     "/s/", "/t", .err = EPERM, .after = "absent /t"},
    {"linkat: AT_EMPTY_PATH links the file an O_PATH descriptor names", "f /f 0644", ROOT, LINK, "", "/g",
     .at = "/f", .flags = AT_EMPTY_PATH, .after = "ino /g /f; nlink /f 2"},
    {"linkat: an unknown flag is EINVAL", "f /f 0644", ROOT, LINK, "/f", "/g", .flags = 0x8000, .err = EINVAL},

    {"link: a directory onto an existing name is EEXIST", "d /d 0755; f /f 0644", ROOT, LINK, "/d", "/f",
     .err = EEXIST},
    {"link: a directory into an unwritable directory is EACCES", "d /d 0755 1000 1000; d /ro 0755", U1000, LINK,
     "/d", "/ro/d", .err = EACCES},
    /* ---- unlink, unlinkat */
    {"unlink: removes the name, lowers nlink, changes the file's ctime and the directory's times",
     "d /d 0777; f /d/f 0644; h /d/f /d/g; t /d/f 1 0 1 0; t /d 1 0 1 0", U1000, UNLINK, "/d/f",
     .after = "absent /d/f; nlink /d/g 1; ctime /d/g new; mtime /d/g same; btime /d/g same; mtime /d new; "
              "ctime /d new; nlink /d 2"},
    {"unlink: a directory is EISDIR", "d /d 0755", ROOT, UNLINK, "/d", .err = EISDIR, .after = "type /d dir"},
    {"unlink: . is EISDIR", "d /d 0755", ROOT, UNLINK, "/d/.", .err = EISDIR},
    {"unlink: removes a symlink, not its target", "f /f 0644; l /s /f", ROOT, UNLINK, "/s",
     .after = "absent /s; type /f reg"},
    {"unlink: a FIFO", "p /p 0644", ROOT, UNLINK, "/p", .after = "absent /p"},
    {"unlink: a trailing slash on a file is ENOTDIR", "f /f 0644", ROOT, UNLINK, "/f/", .err = ENOTDIR,
     .after = "type /f reg"},
    {"unlink: a trailing slash on a symlink to a directory is ENOTDIR", "d /d 0755; l /s /d", ROOT, UNLINK, "/s/",
     .err = ENOTDIR, .after = "type /s lnk"},
    {"unlink: a missing name is ENOENT", NULL, ROOT, UNLINK, "/f", .err = ENOENT},
    {"unlink: a file as a component is ENOTDIR", "f /f 0644", ROOT, UNLINK, "/f/g", .err = ENOTDIR},
    {"unlink: without write permission on the directory is EACCES", "d /d 0755; f /d/f 0666 1000 1000", U1000,
     UNLINK, "/d/f", .err = EACCES, .after = "type /d/f reg"},
    {"unlink: without search permission on the directory is EACCES", "d /d 0666; f /d/f 0666", U1000, UNLINK,
     "/d/f", .err = EACCES},
    {"unlink: needs no permission on the file itself", "d /d 0777; f /d/f 0000", U1000, UNLINK, "/d/f",
     .after = "absent /d/f"},
    {"unlink: sticky directory, by neither owner, is EPERM", "d /t 1777; f /t/f 0666 1001 1001", U1000, UNLINK,
     "/t/f", .err = EPERM, .after = "type /t/f reg"},
    {"unlink: sticky directory, by the file's owner", "d /t 1777; f /t/f 0644 1001 1001", U1001, UNLINK, "/t/f",
     .after = "absent /t/f"},
    {"unlink: sticky directory, by the directory's owner", "d /t 1777 1000 1000; f /t/f 0644 1001 1001", U1000,
     UNLINK, "/t/f", .after = "absent /t/f"},
    {"unlink: sticky directory, by root", "d /t 1777; f /t/f 0644 1001 1001", ROOT, UNLINK, "/t/f",
     .after = "absent /t/f"},
    {"unlink: sticky directory, by a member of the file's group is EPERM", "d /t 1777; f /t/f 0666 1001 2000",
     U1000, UNLINK, "/t/f", .err = EPERM},
    {"unlinkat: AT_REMOVEDIR removes a directory", "d /d 0755", ROOT, UNLINK, "/d", .flags = AT_REMOVEDIR,
     .after = "absent /d"},
    {"unlinkat: AT_REMOVEDIR on a file is ENOTDIR", "f /f 0644", ROOT, UNLINK, "/f", .flags = AT_REMOVEDIR,
     .err = ENOTDIR},
    {"unlinkat: relative to a directory descriptor", "d /d 0755; f /d/f 0644", ROOT, UNLINK, "f", .at = "/d",
     .after = "absent /d/f"},
    {"unlinkat: an unknown flag is EINVAL", "f /f 0644", ROOT, UNLINK, "/f", .flags = 0x1, .err = EINVAL,
     .after = "type /f reg"},

    /* ---- rmdir */
    {"rmdir: removes an empty directory and its link from the parent", "d /d 0777; d /d/e 0755; t /d 1 0 1 0",
     U1000, RMDIR, "/d/e", .after = "absent /d/e; nlink /d 2; mtime /d new; ctime /d new"},
    {"rmdir: a directory with a file is ENOTEMPTY", "d /d 0755; f /d/f 0644", ROOT, RMDIR, "/d", .err = ENOTEMPTY,
     .after = "type /d/f reg"},
    {"rmdir: a directory with a subdirectory is ENOTEMPTY", "d /d 0755; d /d/e 0755", ROOT, RMDIR, "/d",
     .err = ENOTEMPTY, .after = "nlink /d 3"},
    {"rmdir: a file is ENOTDIR", "f /f 0644", ROOT, RMDIR, "/f", .err = ENOTDIR},
    {"rmdir: a symlink to a directory is ENOTDIR", "d /d 0755; l /s /d", ROOT, RMDIR, "/s", .err = ENOTDIR},
    {"rmdir: a symlink to a directory with a trailing slash is ENOTDIR", "d /d 0755; l /s /d", ROOT, RMDIR, "/s/",
     .err = ENOTDIR, .after = "type /d dir"},
    {"rmdir: . is EINVAL", "d /d 0755", ROOT, RMDIR, "/d/.", .err = EINVAL},
    {"rmdir: .. is ENOTEMPTY", "d /d 0755; d /d/e 0755", ROOT, RMDIR, "/d/e/..", .err = ENOTEMPTY},
    {"rmdir: the root is EBUSY", NULL, ROOT, RMDIR, "/", .err = EBUSY},
    {"rmdir: a trailing slash is allowed", "d /d 0755", ROOT, RMDIR, "/d/", .after = "absent /d"},
    {"rmdir: a missing name is ENOENT", NULL, ROOT, RMDIR, "/d", .err = ENOENT},
    {"rmdir: without write permission on the parent is EACCES", "d /d 0755; d /d/e 0777 1000 1000", U1000, RMDIR,
     "/d/e", .err = EACCES, .after = "type /d/e dir"},
    {"rmdir: sticky parent, by neither owner, is EPERM", "d /t 1777; d /t/e 0777 1001 1001", U1000, RMDIR, "/t/e",
     .err = EPERM},
    {"rmdir: sticky parent, by the directory's owner", "d /t 1777; d /t/e 0755 1000 1000", U1000, RMDIR, "/t/e",
     .after = "absent /t/e"},
    {"rmdir: sticky parent, by the parent's owner", "d /t 1777 1000 1000; d /t/e 0755 1001 1001", U1000, RMDIR,
     "/t/e", .after = "absent /t/e"},
    {"rmdir: sticky parent, by root", "d /t 1777; d /t/e 0755 1001 1001", ROOT, RMDIR, "/t/e",
     .after = "absent /t/e"},
    {"rmdir: the sticky rule comes before ENOTEMPTY", "d /t 1777; d /t/e 0777 1001 1001; f /t/e/f 0644", U1000,
     RMDIR, "/t/e", .err = EPERM},

    /* ---- rename, renameat2 */
    {"rename: a file within a directory keeps its inode, changes its ctime and the directory's times",
     "d /d 0777; f /d/a 0644; t /d/a 1 0 1 0; t /d 1 0 1 0", U1000, RENAME, "/d/a", "/d/b",
     .after = "absent /d/a; ino /d/b /d/a; ctime /d/b new; mtime /d/b =/d/a; atime /d/b =/d/a; btime /d/b =/d/a; "
              "nlink /d/b 1; mtime /d new; ctime /d new; nlink /d 2"},
    {"rename: a file across directories changes both directories' times",
     "d /a 0777; d /b 0777; f /a/f 0644; t /a 1 0 1 0; t /b 1 0 1 0", U1000, RENAME, "/a/f", "/b/f",
     .after = "absent /a/f; ino /b/f /a/f; ctime /b/f new; mtime /a new; ctime /a new; mtime /b new; ctime /b new"},
    {"rename: a directory across moves its link and its ..", "d /a 0777; d /b 0777; d /a/d 0777; t /a/d 1 0 1 0",
     U1000, RENAME, "/a/d", "/b/d",
     .after = "nlink /a 2; nlink /b 3; nlink /b/d 2; ino /b/d/.. /b; ino /b/d /a/d; ctime /b/d new"},
    {"rename: over a file replaces it, and the victim loses a link and changes ctime",
     "f /a 0644; w /a A; f /b 0644; h /b /c; t /b 1 0 1 0", ROOT, RENAME, "/a", "/b",
     .after = "absent /a; ino /b /a; data /b A; nlink /c 1; ctime /c new; mtime /c same"},
    {"rename: a directory over an empty directory", "d /a 0755; d /b 0755; d /a/x 0755", ROOT, RENAME, "/a", "/b",
     .after = "absent /a; ino /b /a; nlink / 3; type /b/x dir"},
    {"rename: a directory over a directory that is not empty is ENOTEMPTY", "d /a 0755; d /b 0755; f /b/f 0644",
     ROOT, RENAME, "/a", "/b", .err = ENOTEMPTY, .after = "type /a dir; type /b/f reg"},
    {"rename: a directory over a file is ENOTDIR", "d /a 0755; f /b 0644", ROOT, RENAME, "/a", "/b",
     .err = ENOTDIR},
    {"rename: a file over a directory is EISDIR", "f /a 0644; d /b 0755", ROOT, RENAME, "/a", "/b", .err = EISDIR},
    {"rename: a directory into itself is EINVAL", "d /a 0755; d /a/b 0755", ROOT, RENAME, "/a", "/a/b/c",
     .err = EINVAL, .after = "type /a/b dir"},
    {"rename: a directory onto itself plus a trailing component is EINVAL", "d /a 0755", ROOT, RENAME, "/a", "/a/x",
     .err = EINVAL},
    {"rename: a directory onto its own parent is ENOTEMPTY", "d /a 0755; d /a/b 0755", ROOT, RENAME, "/a/b", "/a",
     .err = ENOTEMPTY},
    {"rename: a name onto itself does nothing", "f /a 0644; t /a 1 0 1 0; t / 1 0 1 0", ROOT, RENAME, "/a", "/a",
     .after = "ctime /a same; mtime / same"},
    {"rename: between two names of one file does nothing", "f /a 0644; h /a /b", ROOT, RENAME, "/a", "/b",
     .after = "nlink /a 2; ino /b /a"},
    {"rename: a symlink is moved, not its target", "f /f 0644; l /s /f", ROOT, RENAME, "/s", "/t",
     .after = "type /t lnk; target /t /f; absent /s; type /f reg"},
    {"rename: the root is EBUSY", NULL, ROOT, RENAME, "/", "/x", .err = EBUSY},
    {"rename: a missing source is ENOENT", NULL, ROOT, RENAME, "/a", "/b", .err = ENOENT},
    {"rename: a missing target directory is ENOENT", "f /a 0644", ROOT, RENAME, "/a", "/x/b", .err = ENOENT},
    {"rename: a trailing slash on a file is ENOTDIR", "f /a 0644", ROOT, RENAME, "/a/", "/b", .err = ENOTDIR},
    {"rename: a trailing slash on a file's new name is ENOTDIR", "f /a 0644", ROOT, RENAME, "/a", "/b/",
     .err = ENOTDIR, .after = "type /a reg"},
    {"rename: trailing slashes on a directory are allowed", "d /a 0755", ROOT, RENAME, "/a/", "/b/",
     .after = "type /b dir"},
    {"rename: without write permission on the source directory is EACCES", "d /a 0755; f /a/f 0666; d /b 0777",
     U1000, RENAME, "/a/f", "/b/f", .err = EACCES, .after = "type /a/f reg"},
    {"rename: without write permission on the target directory is EACCES", "d /a 0777; f /a/f 0666; d /b 0755",
     U1000, RENAME, "/a/f", "/b/f", .err = EACCES},
    {"rename: without search permission on the source path is EACCES", "d /a 0766; f /a/f 0666; d /b 0777", U1000,
     RENAME, "/a/f", "/b/f", .err = EACCES},
    {"rename: a directory to a new parent needs write permission on it", "d /a 0777; d /b 0777; d /a/d 0555 1000 1000",
     U1000, RENAME, "/a/d", "/b/d", .err = EACCES, .after = "type /a/d dir"},
    {"rename: a directory in the same parent needs no write permission on it", "d /a 0777; d /a/d 0555 1000 1000",
     U1000, RENAME, "/a/d", "/a/e", .after = "type /a/e dir"},
    {"rename: sticky directory, by neither owner, is EPERM", "d /t 1777; f /t/f 0666 1001 1001", U1000, RENAME,
     "/t/f", "/t/g", .err = EPERM, .after = "type /t/f reg"},
    {"rename: sticky directory, by the file's owner", "d /t 1777; f /t/f 0644 1001 1001", U1001, RENAME, "/t/f",
     "/t/g", .after = "type /t/g reg"},
    {"rename: sticky directory, by the directory's owner", "d /t 1777 1000 1000; f /t/f 0644 1001 1001", U1000,
     RENAME, "/t/f", "/t/g", .after = "type /t/g reg"},
    {"rename: sticky directory, by root", "d /t 1777; f /t/f 0644 1001 1001", ROOT, RENAME, "/t/f", "/t/g",
     .after = "type /t/g reg"},
    {"rename: over another's file in a sticky directory is EPERM",
     "d /t 1777; f /t/mine 0644 1000 1000; f /t/other 0666 1001 1001", U1000, RENAME, "/t/mine", "/t/other",
     .err = EPERM, .after = "owner /t/other 1001 1001"},
    {"rename: out of a sticky directory by neither owner is EPERM", "d /t 1777; f /t/f 0666 1001 1001; d /d 0777",
     U1000, RENAME, "/t/f", "/d/f", .err = EPERM},
    {"rename: a symlink to a directory with a trailing slash is ENOTDIR", "d /d 0755; l /s /d", ROOT, RENAME, "/s/",
     "/t", .err = ENOTDIR, .after = "type /s lnk"},
    {"rename: a directory across parents over an empty one moves one link",
     "d /a 0777; d /b 0777; d /a/d 0755; d /b/d 0755", ROOT, RENAME, "/a/d", "/b/d",
     .after = "nlink /a 2; nlink /b 3; ino /b/d /a/d; ino /b/d/.. /b"},
    {"renameat2: RENAME_NOREPLACE onto a free name", "f /a 0644", ROOT, RENAME, "/a", "/b",
     .flags = RENAME_NOREPLACE, .after = "absent /a; ino /b /a"},
    {"renameat2: RENAME_NOREPLACE onto an existing name is EEXIST", "f /a 0644; f /b 0644", ROOT, RENAME, "/a", "/b",
     .flags = RENAME_NOREPLACE, .err = EEXIST, .after = "ino /a /a; ino /b /b"},
    {"renameat2: RENAME_EXCHANGE swaps two files and changes both ctimes",
     "f /a 0644; w /a A; f /b 0644; w /b B; t /a 1 0 1 0; t /b 1 0 1 0", ROOT, RENAME, "/a", "/b",
     .flags = RENAME_EXCHANGE,
     .after = "ino /a /b; ino /b /a; data /a B; data /b A; ctime /a new; ctime /b new; mtime /a same; "
              "nlink /a 1; nlink /b 1"},
    {"renameat2: RENAME_EXCHANGE of a file and a directory in different parents",
     "d /x 0777; d /y 0777; f /x/f 0644; d /y/d 0755; d /y/d/sub 0755; t /x 1 0 1 0; t /y 1 0 1 0", ROOT, RENAME,
     "/x/f", "/y/d", .flags = RENAME_EXCHANGE,
     .after = "type /x/f dir; type /y/d reg; nlink /x 3; nlink /y 2; ino /x/f/.. /x; type /x/f/sub dir; "
              "mtime /x new; mtime /y new; ctime /x new; ctime /y new"},
    {"renameat2: RENAME_EXCHANGE of two directories in different parents",
     "d /x 0777; d /y 0777; d /x/a 0755; d /y/b 0755; d /y/b/c 0755", ROOT, RENAME, "/x/a", "/y/b",
     .flags = RENAME_EXCHANGE,
     .after = "nlink /x 3; nlink /y 3; ino /x/a /y/b; ino /y/b /x/a; ino /x/a/.. /x; ino /y/b/.. /y; type /x/a/c dir; "
              "nlink /x/a 3; nlink /y/b 2"},
    {"renameat2: RENAME_EXCHANGE with a missing target is ENOENT", "f /a 0644", ROOT, RENAME, "/a", "/b",
     .flags = RENAME_EXCHANGE, .err = ENOENT, .after = "type /a reg"},
    {"renameat2: RENAME_EXCHANGE: ENOENT comes before EACCES", "d /d 0755; f /d/a 0644", U1000, RENAME, "/d/a",
     "/d/b", .flags = RENAME_EXCHANGE, .err = ENOENT},
    {"renameat2: RENAME_EXCHANGE of a name with itself does nothing", "f /a 0644; t /a 1 0 1 0", ROOT, RENAME, "/a",
     "/a", .flags = RENAME_EXCHANGE, .after = "ctime /a same"},
    {"renameat2: RENAME_EXCHANGE of a directory with its own subdirectory is EINVAL", "d /a 0755; d /a/b 0755", ROOT,
     RENAME, "/a", "/a/b", .flags = RENAME_EXCHANGE, .err = EINVAL},
    {"renameat2: RENAME_EXCHANGE of a directory with its parent is EINVAL", "d /a 0755; d /a/b 0755", ROOT, RENAME,
     "/a/b", "/a", .flags = RENAME_EXCHANGE, .err = EINVAL},
    {"renameat2: RENAME_EXCHANGE of another's file in a sticky directory is EPERM",
     "d /t 1777; f /t/mine 0644 1000 1000; f /t/other 0666 1001 1001", U1000, RENAME, "/t/mine", "/t/other",
     .flags = RENAME_EXCHANGE, .err = EPERM},
    {"renameat2: RENAME_EXCHANGE moving a directory to a new parent needs write permission on it",
     "d /a 0777; d /b 0777; f /a/f 0666; d /b/d 0555 1000 1000", U1000, RENAME, "/a/f", "/b/d",
     .flags = RENAME_EXCHANGE, .err = EACCES},
    {"renameat2: RENAME_NOREPLACE|RENAME_EXCHANGE is EINVAL", "f /a 0644; f /b 0644", ROOT, RENAME, "/a", "/b",
     .flags = RENAME_NOREPLACE | RENAME_EXCHANGE, .err = EINVAL},
    {"renameat2: an unknown flag is EINVAL", "f /a 0644", ROOT, RENAME, "/a", "/b", .flags = 1 << 7, .err = EINVAL,
     .after = "type /a reg"},
    {"renameat: relative to a directory descriptor", "d /d 0755; f /d/a 0644", ROOT, RENAME, "a", "/d/b", .at = "/d",
     .after = "type /d/b reg; absent /d/a"},

    {"rename: . as the source is EBUSY", "d /d 0755", ROOT, RENAME, "/d/.", "/x", .err = EBUSY},
    {"rename: .. as the target is EBUSY", "d /d 0755; f /f 0644", ROOT, RENAME, "/f", "/d/..", .err = EBUSY},
    {"renameat2: RENAME_NOREPLACE onto itself is EEXIST", "f /a 0644", ROOT, RENAME, "/a", "/a",
     .flags = RENAME_NOREPLACE, .err = EEXIST},
    {"renameat2: RENAME_NOREPLACE: EEXIST comes before EACCES", "d /d 0755; f /d/a 0644; f /d/b 0644", U1000, RENAME,
     "/d/a", "/d/b", .flags = RENAME_NOREPLACE, .err = EEXIST},
    {"renameat2: RENAME_NOREPLACE onto . is EEXIST", "f /a 0644; d /d 0755", ROOT, RENAME, "/a", "/d/.",
     .flags = RENAME_NOREPLACE, .err = EEXIST},
    /* ---- chmod, fchmodat */
    {"chmod: by the owner changes the mode and ctime, not mtime or atime", "f /f 0644 1000 1000; t /f 1 0 1 0",
     U1000, CHMOD, "/f", .mode = 0600,
     .after = "mode /f 0600; ctime /f new; mtime /f same; atime /f same; btime /f same"},
    {"chmod: by another caller is EPERM", "f /f 0644; t /f 1 0 1 0", U1000, CHMOD, "/f", .mode = 0777, .err = EPERM,
     .after = "mode /f 0644; ctime /f same"},
    {"chmod: by another caller with write permission is EPERM", "f /f 0666", U1000, CHMOD, "/f", .mode = 0777,
     .err = EPERM},
    {"chmod: by root", "f /f 0644 1000 1000", ROOT, CHMOD, "/f", .mode = 04711, .after = "mode /f 4711"},
    {"chmod: the owner may set S_ISUID", "f /f 0644 1000 1000", U1000, CHMOD, "/f", .mode = 04755,
     .after = "mode /f 4755"},
    {"chmod: S_ISGID is dropped when the owner is not in the file's group", "f /f 0644 1000 3000", U1000, CHMOD,
     "/f", .mode = 02755, .after = "mode /f 0755"},
    {"chmod: S_ISGID is kept for a supplementary group", "f /f 0644 1000 2000", U1000, CHMOD, "/f", .mode = 02755,
     .after = "mode /f 2755"},
    {"chmod: S_ISGID on a directory is dropped when the owner is not in its group", "d /d 0755 1000 3000", U1000,
     CHMOD, "/d", .mode = 02755, .after = "mode /d 0755"},
    {"chmod: root keeps S_ISGID whatever the group", "f /f 0644 1000 3000", ROOT, CHMOD, "/f", .mode = 02755,
     .after = "mode /f 2755"},
    {"chmod: the owner may set the sticky bit on a file", "f /f 0644 1000 1000", U1000, CHMOD, "/f", .mode = 01644,
     .after = "mode /f 1644"},
    {"chmod: the file type bits of mode are ignored", "f /f 0644", ROOT, CHMOD, "/f", .mode = S_IFDIR | 0600,
     .after = "type /f reg; mode /f 0600"},
    {"chmod: follows a symlink", "f /f 0644; l /s /f", ROOT, CHMOD, "/s", .mode = 0600,
     .after = "mode /f 0600; mode /s 0777"},
    {"fchmodat: AT_SYMLINK_NOFOLLOW on a symlink is EOPNOTSUPP", "f /f 0644; l /s /f", ROOT, CHMOD, "/s",
     .mode = 0600, .flags = AT_SYMLINK_NOFOLLOW, .err = EOPNOTSUPP, .after = "mode /f 0644"},
    {"fchmodat: AT_SYMLINK_NOFOLLOW on a file", "f /f 0644", ROOT, CHMOD, "/f", .mode = 0600,
     .flags = AT_SYMLINK_NOFOLLOW, .after = "mode /f 0600"},
    {"fchmodat: an unknown flag is EINVAL", "f /f 0644", ROOT, CHMOD, "/f", .mode = 0600, .flags = 0x1,
     .err = EINVAL},
    {"chmod: a missing file is ENOENT", NULL, ROOT, CHMOD, "/f", .mode = 0600, .err = ENOENT},
    {"chmod: without search permission is EACCES", "d /d 0700; f /d/f 0644 1000 1000", U1000, CHMOD, "/d/f",
     .mode = 0600, .err = EACCES},
    {"fchmodat: relative to a directory descriptor", "d /d 0755; f /d/f 0644", ROOT, CHMOD, "f", .at = "/d",
     .mode = 0640, .after = "mode /d/f 0640"},
    {"fchmodat: AT_EMPTY_PATH on an O_PATH descriptor, as fchmodat2", "f /f 0644 1000 1000; t /f 1 0 1 0", U1000,
     CHMOD, "", .at = "/f", .mode = 0600, .flags = AT_EMPTY_PATH, .after = "mode /f 0600; ctime /f new; mtime /f same"},
    {"fchmodat: AT_EMPTY_PATH on a directory's O_PATH descriptor", "d /d 0755", ROOT, CHMOD, "", .at = "/d",
     .mode = 0700, .flags = AT_EMPTY_PATH, .after = "mode /d 0700"},
    {"fchmodat: AT_EMPTY_PATH by another caller is EPERM", "f /f 0666", U1000, CHMOD, "", .at = "/f", .mode = 0600,
     .flags = AT_EMPTY_PATH, .err = EPERM, .after = "mode /f 0666"},
    {"fchmodat: AT_EMPTY_PATH on a symlink's O_PATH descriptor is EOPNOTSUPP", "f /f 0644; l /s /f", ROOT, CHMOD, "",
     .at = "/s", .mode = 0600, .flags = AT_EMPTY_PATH, .err = EOPNOTSUPP, .after = "mode /f 0644"},
    {"fchmodat: an empty path without AT_EMPTY_PATH is ENOENT", "f /f 0644", ROOT, CHMOD, "", .at = "/f",
     .mode = 0600, .err = ENOENT, .after = "mode /f 0644"},
    {"fchmodat: AT_EMPTY_PATH with a name under a file's descriptor is ENOTDIR", "f /f 0644", ROOT, CHMOD, "x",
     .at = "/f", .mode = 0600, .flags = AT_EMPTY_PATH, .err = ENOTDIR},

    /* ---- chown, lchown, fchownat */
    {"chown: by root changes owner and group, and ctime only", "f /f 0644; t /f 1 0 1 0", ROOT, CHOWN, "/f",
     .uid = 1001, .gid = 3000,
     .after = "owner /f 1001 3000; ctime /f new; mtime /f same; atime /f same; btime /f same"},
    {"chown: the owner may not give the file away", "f /f 0644 1000 1000", U1000, CHOWN, "/f", .uid = 1001,
     .gid = -1, .err = EPERM, .after = "owner /f 1000 1000"},
    {"chown: the owner may set the owner it has", "f /f 0644 1000 1000; t /f 1 0 1 0", U1000, CHOWN, "/f",
     .uid = 1000, .gid = -1, .after = "owner /f 1000 1000; ctime /f new"},
    {"chown: the owner may change the group to a supplementary group", "f /f 0644 1000 1000", U1000, CHOWN, "/f",
     .uid = -1, .gid = 2000, .after = "owner /f 1000 2000"},
    {"chown: the owner may not change the group to one it is not in", "f /f 0644 1000 1000", U1000, CHOWN, "/f",
     .uid = -1, .gid = 3000, .err = EPERM, .after = "owner /f 1000 1000"},
    {"chown: another caller may not change the group, even to its own", "f /f 0644 1001 1001", U1000, CHOWN, "/f",
     .uid = -1, .gid = 1000, .err = EPERM},
    {"chown: -1 -1 by another caller changes nothing but ctime", "f /f 0644 1001 1001; t /f 1 0 1 0", U1000, CHOWN,
     "/f", .uid = -1, .gid = -1, .after = "owner /f 1001 1001; mode /f 0644; ctime /f new"},
    {"chown: by the owner clears S_ISUID and S_ISGID", "f /f 6755 1000 1000", U1000, CHOWN, "/f", .uid = -1,
     .gid = 2000, .after = "mode /f 0755; owner /f 1000 2000"},
    {"chown: by root clears S_ISUID and S_ISGID too", "f /f 6755 1000 1000", ROOT, CHOWN, "/f", .uid = 1001,
     .gid = 1001, .after = "mode /f 0755"},
    {"chown: -1 -1 by root still clears S_ISUID and S_ISGID", "f /f 6755", ROOT, CHOWN, "/f", .uid = -1, .gid = -1,
     .after = "mode /f 0755"},
    {"chown: by root keeps S_ISGID without group execute", "f /f 2644", ROOT, CHOWN, "/f", .uid = 0, .gid = 0,
     .after = "mode /f 2644"},
    {"chown: by an owner in the group keeps S_ISGID without group execute", "f /f 2644 1000 1000", U1000, CHOWN,
     "/f", .uid = -1, .gid = 2000, .after = "mode /f 2644; owner /f 1000 2000"},
    {"chown: a directory keeps its set-ID bits", "d /d 6755 1000 1000", ROOT, CHOWN, "/d", .uid = 1001, .gid = 1001,
     .after = "mode /d 6755; owner /d 1001 1001"},
    {"chown: follows a symlink", "f /f 0644; l /s /f", ROOT, CHOWN, "/s", .uid = 1001, .gid = 1001,
     .after = "owner /f 1001 1001; owner /s 0 0"},
    {"lchown: changes the symlink itself", "f /f 0644; l /s /f", ROOT, CHOWN, "/s", .uid = 1001, .gid = 1001,
     .flags = AT_SYMLINK_NOFOLLOW, .after = "owner /s 1001 1001; owner /f 0 0"},
    {"lchown: the owner of a symlink may change its group", "l /s /f 1000 1000", U1000, CHOWN, "/s", .uid = -1,
     .gid = 2000, .flags = AT_SYMLINK_NOFOLLOW, .after = "owner /s 1000 2000"},
    {"chown: a missing file is ENOENT", NULL, ROOT, CHOWN, "/f", .uid = 1, .gid = 1, .err = ENOENT},
    {"chown: without search permission is EACCES", "d /d 0700; f /d/f 0644 1000 1000", U1000, CHOWN, "/d/f",
     .uid = -1, .gid = 2000, .err = EACCES},
    {"fchownat: AT_EMPTY_PATH on an O_PATH descriptor", "f /f 0644", ROOT, CHOWN, "", .at = "/f", .uid = 1001,
     .gid = 1001, .flags = AT_EMPTY_PATH, .after = "owner /f 1001 1001"},
    {"fchownat: an unknown flag is EINVAL", "f /f 0644", ROOT, CHOWN, "/f", .uid = 1, .gid = 1, .flags = 0x1,
     .err = EINVAL},

    {"chown: by an owner outside the group drops S_ISGID without group execute", "f /f 2644 1000 3000", U1000,
     CHOWN, "/f", .uid = -1, .gid = 2000, .after = "mode /f 0644; owner /f 1000 2000"},
    {"chown: -1 -1 by another caller of a set-ID file is EPERM, as it would change the mode",
     "f /f 6755 1001 1001", U1000, CHOWN, "/f", .uid = -1, .gid = -1, .err = EPERM, .after = "mode /f 6755"},
    /* ---- utimensat */
    {"utimensat: the owner sets both times to the nanosecond", "f /f 0644 1000 1000", U1000, UTIMENS, "/f",
     .times = TIMES(5, 123456789, 7, 1),
     .after = "atime /f 5.123456789; mtime /f 7.000000001; ctime /f new; btime /f same"},
    {"utimensat: UTIME_OMIT keeps atime, UTIME_NOW sets mtime", "f /f 0644 1000 1000; t /f 1 0 1 0", U1000, UTIMENS,
     "/f", .times = OMIT_NOW, .after = "atime /f 1.000000000; mtime /f new; ctime /f new"},
    {"utimensat: UTIME_NOW sets atime, UTIME_OMIT keeps mtime", "f /f 0644 1000 1000; t /f 1 0 1 0", U1000, UTIMENS,
     "/f", .times = NOW_OMIT, .after = "atime /f new; mtime /f 1.000000000; ctime /f new"},
    {"utimensat: NULL sets both to now", "f /f 0644 1000 1000; t /f 1 0 1 0", U1000, UTIMENS, "/f",
     .after = "atime /f new; mtime /f new; ctime /f new"},
    {"utimensat: both UTIME_OMIT changes nothing, not even ctime", "f /f 0644; t /f 1 0 1 0", ROOT, UTIMENS, "/f",
     .times = OMIT_OMIT, .after = "atime /f 1.000000000; mtime /f 1.000000000; ctime /f same"},
    {"utimensat: explicit times by another caller with write permission is EPERM", "f /f 0666; t /f 1 0 1 0", U1000,
     UTIMENS, "/f", .times = TIMES(5, 0, 5, 0), .err = EPERM, .after = "mtime /f 1.000000000"},
    {"utimensat: NULL by another caller with write permission", "f /f 0666; t /f 1 0 1 0", U1000, UTIMENS, "/f",
     .after = "atime /f new; mtime /f new"},
    {"utimensat: both UTIME_NOW by another caller with write permission", "f /f 0666; t /f 1 0 1 0", U1000, UTIMENS,
     "/f", .times = NOW_NOW, .after = "atime /f new; mtime /f new"},
    {"utimensat: NULL by another caller without write permission is EACCES", "f /f 0644", U1000, UTIMENS, "/f",
     .err = EACCES},
    {"utimensat: explicit times by the owner without write permission", "f /f 0444 1000 1000", U1000, UTIMENS, "/f",
     .times = TIMES(3, 0, 4, 0), .after = "atime /f 3.000000000; mtime /f 4.000000000"},
    {"utimensat: AT_EMPTY_PATH on an O_PATH descriptor", "f /f 0644", ROOT, UTIMENS, "", .at = "/f",
     .times = TIMES(3, 0, 4, 0), .flags = AT_EMPTY_PATH, .after = "mtime /f 4.000000000"},
    {"utimensat: explicit times by root", "f /f 0644 1000 1000", ROOT, UTIMENS, "/f", .times = TIMES(9, 9, 8, 8),
     .after = "atime /f 9.000000009; mtime /f 8.000000008"},
    {"utimensat: tv_nsec of a billion is EINVAL", "f /f 0644", ROOT, UTIMENS, "/f", .times = TIMES(1, 1000000000, 1, 0),
     .err = EINVAL},
    {"utimensat: a negative tv_nsec is EINVAL", "f /f 0644", ROOT, UTIMENS, "/f", .times = TIMES(1, 0, 1, -1),
     .err = EINVAL},
    {"utimensat: follows a symlink", "f /f 0644; l /s /f; t /s 1 0 1 0", ROOT, UTIMENS, "/s",
     .times = TIMES(5, 0, 6, 0), .after = "atime /f 5.000000000; mtime /f 6.000000000; mtime /s 1.000000000"},
    {"utimensat: AT_SYMLINK_NOFOLLOW sets the symlink's times", "f /f 0644; l /s /f; t /f 1 0 1 0", ROOT, UTIMENS,
     "/s", .times = TIMES(5, 0, 6, 0), .flags = AT_SYMLINK_NOFOLLOW,
     .after = "atime /s 5.000000000; mtime /s 6.000000000; mtime /f 1.000000000"},
    {"utimensat: a missing file is ENOENT", NULL, ROOT, UTIMENS, "/f", .err = ENOENT},
    {"utimensat: without search permission is EACCES", "d /d 0700; f /d/f 0644 1000 1000", U1000, UTIMENS, "/d/f",
     .err = EACCES},
    {"utimensat: an unknown flag is EINVAL", "f /f 0644", ROOT, UTIMENS, "/f", .flags = 0x1, .err = EINVAL},
    {"utimensat: times before 1970", "f /f 0644", ROOT, UTIMENS, "/f", .times = TIMES(-5, 500, -1, 0),
     .after = "mtime /f -1.000000000"},

    {"utimensat: UTIME_NOW with UTIME_OMIT by another caller with write permission is EPERM",
     "f /f 0666; t /f 1 0 1 0", U1000, UTIMENS, "/f", .times = NOW_OMIT, .err = EPERM,
     .after = "atime /f 1.000000000"},
    {"utimensat: both UTIME_OMIT succeeds without looking the path up, as on Linux", NULL, U1000, UTIMENS, "/nope",
     .times = OMIT_OMIT},
    /* ---- access, faccessat */
    {"access: F_OK on an existing file", "f /f 0000", U1000, ACCESS, "/f", .mode = F_OK},
    {"access: F_OK on a missing file is ENOENT", NULL, U1000, ACCESS, "/f", .mode = F_OK, .err = ENOENT},
    {"access: R_OK and W_OK for the owner", "f /f 0600 1000 1000", U1000, ACCESS, "/f", .mode = R_OK | W_OK},
    {"access: W_OK without write permission is EACCES", "f /f 0644 1000 1000", NOBODY, ACCESS, "/f", .mode = W_OK,
     .err = EACCES},
    {"access: X_OK through a supplementary group", "f /f 0010 0 2000", U1000, ACCESS, "/f", .mode = X_OK},
    {"access: R_OK|X_OK fails when one is missing", "f /f 0444", U1000, ACCESS, "/f", .mode = R_OK | X_OK,
     .err = EACCES},
    {"access: root may read and write a file with no permission bits", "f /f 0000", ROOT, ACCESS, "/f",
     .mode = R_OK | W_OK},
    {"access: root may not execute a file with no execute bit", "f /f 0666", ROOT, ACCESS, "/f", .mode = X_OK,
     .err = EACCES},
    {"access: root may execute a file with any execute bit", "f /f 0001", ROOT, ACCESS, "/f", .mode = X_OK},
    {"access: root may search a directory with no permission bits", "d /d 0000", ROOT, ACCESS, "/d", .mode = X_OK},
    {"access: an unknown mode bit is EINVAL", "f /f 0644", ROOT, ACCESS, "/f", .mode = 8, .err = EINVAL},
    {"access: search permission on the path is needed", "d /d 0700; f /d/f 0666", U1000, ACCESS, "/d/f",
     .mode = F_OK, .err = EACCES},
    {"access: follows a symlink", "f /f 0600; l /s /f", U1000, ACCESS, "/s", .mode = R_OK, .err = EACCES},
    {"faccessat: AT_SYMLINK_NOFOLLOW checks the symlink itself", "f /f 0600; l /s /f", U1000, ACCESS, "/s",
     .mode = R_OK, .flags = AT_SYMLINK_NOFOLLOW},
    {"faccessat: AT_EACCESS is accepted", "f /f 0644", U1000, ACCESS, "/f", .mode = R_OK, .flags = AT_EACCESS},
    {"faccessat: an unknown flag is EINVAL", "f /f 0644", ROOT, ACCESS, "/f", .mode = R_OK, .flags = 0x1,
     .err = EINVAL},

    /* ---- truncate */
    {"truncate: shrinks and changes mtime and ctime", "f /f 0666; w /f hello; t /f 1 0 1 0", U1000, TRUNCATE, "/f",
     .length = 2, .after = "size /f 2; data /f he; mtime /f new; ctime /f new; atime /f same; btime /f same"},
    {"truncate: grows with zeros", "f /f 0666; w /f ab", ROOT, TRUNCATE, "/f", .length = 4, .after = "size /f 4"},
    {"truncate: without write permission is EACCES", "f /f 0644; w /f hello", U1000, TRUNCATE, "/f", .length = 0,
     .err = EACCES, .after = "size /f 5"},
    {"truncate: a directory is EISDIR", "d /d 0777", ROOT, TRUNCATE, "/d", .length = 0, .err = EISDIR},
    {"truncate: a FIFO is EINVAL", "p /p 0666", ROOT, TRUNCATE, "/p", .length = 0, .err = EINVAL},
    {"truncate: a negative length is EINVAL", "f /f 0666", ROOT, TRUNCATE, "/f", .length = -1, .err = EINVAL},
    {"truncate: a missing file is ENOENT", NULL, ROOT, TRUNCATE, "/f", .length = 0, .err = ENOENT},
    {"truncate: without search permission is EACCES", "d /d 0700; f /d/f 0666", U1000, TRUNCATE, "/d/f",
     .length = 0, .err = EACCES},
    {"truncate: follows a symlink", "f /f 0666; w /f abc; l /s /f", ROOT, TRUNCATE, "/s", .length = 1,
     .after = "size /f 1"},
    {"truncate: by a writer other than root clears S_ISUID and S_ISGID", "f /f 6777; w /f abc", U1000, TRUNCATE,
     "/f", .length = 1, .after = "mode /f 0777; size /f 1"},
    {"truncate: to the same size still clears S_ISUID and S_ISGID", "f /f 6777; w /f abc", U1000, TRUNCATE, "/f",
     .length = 3, .after = "mode /f 0777"},
    {"truncate: S_ISGID without group execute is cleared for a writer outside the group",
     "f /f 2646 1000 3000; w /f abc", U1000, TRUNCATE, "/f", .length = 1, .after = "mode /f 0646"},
    {"truncate: by root keeps S_ISUID and S_ISGID", "f /f 6777; w /f abc", ROOT, TRUNCATE, "/f", .length = 1,
     .after = "mode /f 6777"},
    {"ftruncate: by a writer other than root clears S_ISUID", "f /f 4777; w /f abc", U1000, OPEN, "/f",
     .flags = O_WRONLY, .then = THEN_FTRUNCATE, .length = 1, .after = "mode /f 0777; size /f 1"},

    /* ---- write, read and copy_file_range: times and set-ID bits */
    {"write: changes mtime and ctime, not atime or btime", "f /f 0666; t /f 1 0 1 0", U1000, WRITE, "/f", "abc",
     .ret = 3, .after = "mtime /f new; ctime /f new; atime /f same; btime /f same; size /f 3; data /f abc"},
    {"write: by a caller other than root clears S_ISUID and S_ISGID", "f /f 6777", U1000, WRITE, "/f", "x",
     .ret = 1, .after = "mode /f 0777"},
    {"write: S_ISUID alone is cleared", "f /f 4777", U1000, WRITE, "/f", "x", .ret = 1, .after = "mode /f 0777"},
    {"write: S_ISGID without group execute stays for a writer in the group", "f /f 2666 1000 1000", U1000, WRITE,
     "/f", "x", .ret = 1, .after = "mode /f 2666"},
    {"write: by root keeps S_ISUID and S_ISGID", "f /f 6777 1000 1000", ROOT, WRITE, "/f", "x", .ret = 1,
     .after = "mode /f 6777"},
    {"read: updates an atime older than mtime (relatime)", "f /f 0644; w /f abc; t /f 1 0 2 0", U1000, READ, "/f",
     .ret = 3, .after = "atime /f new; mtime /f 2.000000000; ctime /f same"},
    {"read: leaves alone an atime newer than mtime and ctime (relatime)", "f /f 0644; w /f abc; t /f 4000000000 0 2 0",
     U1000, READ, "/f", .ret = 3, .after = "atime /f 4000000000.000000000"},
    {"read: O_NOATIME leaves atime alone", "f /f 0644 1000 1000; w /f abc; t /f 1 0 2 0", U1000, READ, "/f",
     .flags = O_NOATIME, .ret = 3, .after = "atime /f 1.000000000"},
    {"pread, which takes no lock: updates an atime older than mtime (relatime)", "f /f 0644; w /f abc; t /f 1 0 2 0",
     U1000, PREAD, "/f", .ret = 3, .after = "atime /f new; mtime /f 2.000000000; ctime /f same"},
    {"pread: leaves alone an atime newer than mtime and ctime (relatime)", "f /f 0644; w /f abc; t /f 4000000000 0 2 0",
     U1000, PREAD, "/f", .ret = 3, .after = "atime /f 4000000000.000000000"},
    {"pread: O_NOATIME leaves atime alone", "f /f 0644 1000 1000; w /f abc; t /f 1 0 2 0", U1000, PREAD, "/f",
     .flags = O_NOATIME, .ret = 3, .after = "atime /f 1.000000000"},

    {"write: S_ISGID without group execute is cleared for a writer outside the group", "f /f 2646 1000 3000", U1000,
     WRITE, "/f", "x", .ret = 1, .after = "mode /f 0646"},
    {"write: of no bytes clears nothing", "f /f 6777", U1000, WRITE, "/f", "", .ret = 0, .after = "mode /f 6777"},
    {"copy_file_range: copies, moving the target's mtime and ctime and the source's atime (relatime)",
     "f /a 0644; w /a hello; f /b 0666; t /a 1 0 1 0; t /b 1 0 1 0", U1000, COPY, "/a", "/b", .length = 100, .ret = 5,
     .after = "data /b hello; mtime /b new; ctime /b new; atime /b same; atime /a new; mtime /a same; ctime /a same"},
    {"copy_file_range: by a writer other than root clears S_ISUID and S_ISGID of the target",
     "f /a 0644; w /a x; f /b 6777", U1000, COPY, "/a", "/b", .length = 1, .ret = 1,
     .after = "mode /b 0777; data /b x"},
    {"copy_file_range: S_ISGID without group execute is cleared for a writer outside the group",
     "f /a 0644; w /a x; f /b 2646 1000 3000", U1000, COPY, "/a", "/b", .length = 1, .ret = 1,
     .after = "mode /b 0646"},
    {"copy_file_range: by root keeps S_ISUID and S_ISGID", "f /a 0644; w /a x; f /b 6777 1000 1000", ROOT, COPY,
     "/a", "/b", .length = 1, .ret = 1, .after = "mode /b 6777"},
    {"copy_file_range: of no bytes clears nothing and moves no time", "f /a 0644; f /b 6777; t /b 1 0 1 0", U1000,
     COPY, "/a", "/b", .length = 10, .ret = 0, .after = "mode /b 6777; mtime /b same; ctime /b same"},
    {"copy_file_range: an O_APPEND target is EBADF", "f /a 0644; w /a x; f /b 0666", U1000, COPY, "/a", "/b",
     .flags = O_APPEND, .length = 1, .err = EBADF, .after = "size /b 0"},
    {"copy_file_range: a directory as the source is EISDIR", "d /d 0755; f /b 0666", ROOT, COPY, "/d", "/b",
     .length = 1, .err = EISDIR, .after = "size /b 0"},
    /* ---- stat, lstat, fstatat, statx */
    {"stat: follows a symlink", "f /f 0644; l /s /f", U1000, STAT, "/s", .after = "rtype reg; rnlink 1"},
    {"lstat: describes the symlink itself", "f /f 0644; l /s /f", U1000, STAT, "/s", .flags = AT_SYMLINK_NOFOLLOW,
     .after = "rtype lnk"},
    {"stat: a dangling symlink is ENOENT", "l /s /nowhere", ROOT, STAT, "/s", .err = ENOENT},
    {"lstat: a dangling symlink", "l /s /nowhere", ROOT, STAT, "/s", .flags = AT_SYMLINK_NOFOLLOW,
     .after = "rtype lnk"},
    {"lstat: a trailing slash follows a symlink to a directory", "d /d 0755; l /s /d", ROOT, STAT, "/s/",
     .flags = AT_SYMLINK_NOFOLLOW, .after = "rtype dir"},
    {"stat: needs no permission on the file", "f /f 0000", U1000, STAT, "/f", .after = "rtype reg"},
    {"stat: needs search permission on the path", "d /d 0600; f /d/f 0644", U1000, STAT, "/d/f", .err = EACCES},
    {"stat: a trailing slash on a file is ENOTDIR", "f /f 0644", ROOT, STAT, "/f/", .err = ENOTDIR},
    {"stat: a directory's nlink is 2 plus its subdirectories", "d /d 0755; d /d/a 0755; d /d/b 0755; f /d/f 0644",
     ROOT, STAT, "/d", .after = "rtype dir; rnlink 4"},
    {"stat: a file's nlink counts its names", "f /f 0644; h /f /g; h /f /h", ROOT, STAT, "/g", .after = "rnlink 3"},
    {"stat: a symlink loop is ELOOP", "l /a /b; l /b /a", ROOT, STAT, "/a", .err = ELOOP},
    {"lstat: a symlink loop as the last component is fine", "l /a /b; l /b /a", ROOT, STAT, "/a",
     .flags = AT_SYMLINK_NOFOLLOW, .after = "rtype lnk"},
    {"stat: a 256-byte name is ENAMETOOLONG", NULL, ROOT, STAT, "/{256*s}", .err = ENAMETOOLONG},
    {"fstatat: AT_EMPTY_PATH on an O_PATH descriptor", "f /f 0644", ROOT, STAT, "", .at = "/f",
     .flags = AT_EMPTY_PATH, .after = "rtype reg"},
    {"fstatat: an empty path without AT_EMPTY_PATH is ENOENT", "f /f 0644", ROOT, STAT, "", .at = "/f",
     .err = ENOENT},
    {"fstatat: an unknown flag is EINVAL", "f /f 0644", ROOT, STAT, "/f", .flags = 0x1, .err = EINVAL},
    {"statx: reports the birth time", "f /f 0644; t /f 1 0 1 0", ROOT, STATX, "/f",
     .after = "rtype reg; rbtime made; btime /f made"},
    {"statx: AT_SYMLINK_NOFOLLOW", "f /f 0644; l /s /f", ROOT, STATX, "/s", .flags = AT_SYMLINK_NOFOLLOW,
     .after = "rtype lnk; rbtime made"},
};

/* ---------------------------------------------------------------- running a row */

struct before {
    char path[PATH_MAX + 1];
    bool exists;
    struct statx stx;
};

struct result {
    long long ret;
    int err;
    long long then_ret;
    int then_err;
    bool have_stat;
    struct statx stx;
    char buf[PATH_MAX + 1];
};

struct ctx {
    const struct row *row;
    struct udax_pool *pool;
    char pool_path[128];
    struct before before[24];
    size_t before_count;
    int64_t setup_start; /* coarse */
    int64_t call_start;  /* coarse: relatime stamps reads with it, and it never runs ahead of the fine clock */
    int64_t call_start_fine, call_end;
    struct result res;
    char report[8192];
    size_t report_len;
};

static void complain(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (c->report_len < sizeof(c->report)) {
        int n = vsnprintf(c->report + c->report_len, sizeof(c->report) - c->report_len, fmt, ap);
        c->report_len += n > 0 ? (size_t)n : 0;
    }
    va_end(ap);
    if (c->report_len < sizeof(c->report) - 1) {
        c->report[c->report_len++] = '\n';
        c->report[c->report_len] = '\0';
    }
}

/* Expands {N*text} into N copies of text. */
static void expand(const char *in, char *out, size_t size)
{
    size_t len = 0;
    while (*in && len + 1 < size) {
        unsigned count;
        int used;
        if (*in == '{' && sscanf(in, "{%u*%n", &count, &used) == 1) {
            const char *text = in + used, *end = strchr(text, '}');
            assert_non_null(end);
            for (unsigned i = 0; i < count; i++)
                for (const char *p = text; p < end && len + 1 < size; p++)
                    out[len++] = *p;
            in = end + 1;
        } else {
            out[len++] = *in++;
        }
    }
    out[len] = '\0';
}

static int64_t clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t stx_ns(struct statx_timestamp t)
{
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void act_as(struct ctx *c, enum who who, mode_t umask)
{
    static const gid_t groups_1000[] = {2000};
    static const struct udax_cred creds[] = {
        [ROOT] = {0, 0, 0, 0, NULL},
        [U1000] = {1000, 1000, 0, 1, groups_1000},
        [U1001] = {1001, 1001, 0, 0, NULL},
        [NOBODY] = {65534, 65534, 0, 0, NULL},
    };
    struct udax_cred cred = creds[who];
    cred.umask = umask;
    assert_int_equal(udax_set_cred(c->pool, &cred), 0);
}

/* -------------------------------------------------------------- set-up */

#define MAX_WORDS 8

static size_t split(char *item, char **words)
{
    size_t n = 0;
    for (char *save, *w = strtok_r(item, " \t", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " \t", &save))
        words[n++] = w;
    return n;
}

static int set_owner_mode(struct udax_pool *pool, char **words, size_t n, size_t at, bool mode)
{
    char path[PATH_MAX + 1];
    expand(words[1], path, sizeof(path));
    int rc = 0;
    if (n > at + 1)
        rc = udax_lchown(pool, path, (uid_t)atol(words[at]), (gid_t)atol(words[at + 1]));
    if (!rc && mode)
        rc = udax_chmod(pool, path, (mode_t)strtoul(words[2], NULL, 8));
    return rc;
}

static int setup_step(struct udax_pool *pool, char **words, size_t n)
{
    char path[PATH_MAX + 1], other[PATH_MAX + 1];
    expand(words[1], path, sizeof(path));
    const char *op = words[0];
    if (!strcmp(op, "d") && n >= 3)
        return udax_mkdir(pool, path, 0700) ? -1 : set_owner_mode(pool, words, n, 3, true);
    if (!strcmp(op, "f") && n >= 3) {
        int fd = udax_open(pool, path, O_CREAT | O_EXCL | O_WRONLY, 0600);
        return fd < 0 || udax_close(pool, fd) ? -1 : set_owner_mode(pool, words, n, 3, true);
    }
    if (!strcmp(op, "p") && n >= 3)
        return udax_mknod(pool, path, S_IFIFO | 0600, 0) ? -1 : set_owner_mode(pool, words, n, 3, true);
    if (!strcmp(op, "l") && n >= 3) {
        expand(words[2], other, sizeof(other));
        return udax_symlink(pool, other, path) ? -1 : set_owner_mode(pool, words, n, 3, false);
    }
    if (!strcmp(op, "w") && n == 3) {
        expand(words[2], other, sizeof(other));
        int fd = udax_open(pool, path, O_WRONLY | O_APPEND);
        ssize_t len = (ssize_t)strlen(other);
        bool ok = fd >= 0 && udax_write(pool, fd, other, (size_t)len) == len;
        return fd >= 0 && udax_close(pool, fd) == 0 && ok ? 0 : -1;
    }
    if (!strcmp(op, "h") && n == 3) {
        expand(words[2], other, sizeof(other));
        return udax_link(pool, path, other);
    }
    if (!strcmp(op, "t") && n == 6) {
        struct timespec times[2] = {{atol(words[2]), atol(words[3])}, {atol(words[4]), atol(words[5])}};
        return udax_utimensat(pool, AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
    }
    if (!strcmp(op, "chain") && n == 4) {
        int count = atoi(words[2]);
        for (int i = 1; i <= count; i++) {
            char link[PATH_MAX + 16], next[PATH_MAX + 16];
            snprintf(link, sizeof(link), "%s%d", path, i);
            if (i < count)
                snprintf(next, sizeof(next), "%s%d", path, i + 1);
            else
                expand(words[3], next, sizeof(next));
            if (udax_symlink(pool, next, link))
                return -1;
        }
        return 0;
    }
    fail_msg("row set-up: cannot parse '%s'", op);
    return -1;
}

static void run_setup(struct ctx *c)
{
    if (!c->row->setup)
        return;
    char *copy = strdup(c->row->setup);
    for (char *save, *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *words[MAX_WORDS];
        char text[256];
        snprintf(text, sizeof(text), "%s", item);
        size_t n = split(item, words);
        if (n && setup_step(c->pool, words, n))
            fail_msg("%s: set-up step '%s' failed: %s", c->row->name, text, udax_last_error());
    }
    free(copy);
}

/* ---------------------------------------------------------------- the call */

static void then_step(struct ctx *c, int fd)
{
    struct udax_pool *pool = c->pool;
    struct result *res = &c->res;
    char byte = 'x';
    struct stat st;
    errno = 0;
    switch (c->row->then) {
    case NOTHING:
        return;
    case THEN_READ:
        res->then_ret = udax_read(pool, fd, &byte, 1);
        break;
    case THEN_WRITE:
        res->then_ret = udax_write(pool, fd, &byte, 1);
        break;
    case THEN_FSTAT:
        res->then_ret = udax_fstat(pool, fd, &st);
        if (!res->then_ret) {
            res->have_stat = true;
            res->stx.stx_mode = (uint16_t)st.st_mode;
            res->stx.stx_nlink = (uint32_t)st.st_nlink;
        }
        break;
    case THEN_FCHMOD:
        res->then_ret = udax_fchmod(pool, fd, 0600);
        break;
    case THEN_FCHOWN:
        res->then_ret = udax_fchown(pool, fd, (uid_t)-1, (gid_t)-1);
        break;
    case THEN_FUTIMENS:
        res->then_ret = udax_futimens(pool, fd, NULL);
        break;
    case THEN_FTRUNCATE:
        res->then_ret = udax_ftruncate(pool, fd, (off_t)c->row->length);
        break;
    }
    res->then_err = res->then_ret < 0 ? errno : 0;
}

static long long open_and(struct ctx *c, const char *path, int flags, bool writing)
{
    int fd = udax_open(c->pool, path, flags);
    if (fd < 0)
        return -1;
    char buf[64];
    const char *text = c->row->path2 ? c->row->path2 : "";
    long long ret = writing                  ? udax_write(c->pool, fd, text, strlen(text))
                    : c->row->call == PREAD ? udax_pread(c->pool, fd, buf, sizeof(buf), 0)
                                            : udax_read(c->pool, fd, buf, sizeof(buf));
    int saved = errno;
    udax_close(c->pool, fd);
    errno = saved;
    return ret;
}

/* COPY: the caller opens path for reading and path2 for writing, with the row's flags, and copies between them. */
static long long open_and_copy(struct ctx *c, const char *path, const char *path2)
{
    int in = udax_open(c->pool, path, O_RDONLY);
    int out = in < 0 ? -1 : udax_open(c->pool, path2, O_WRONLY | c->row->flags);
    long long ret = out < 0 ? -1 : udax_copy_file_range(c->pool, in, NULL, out, NULL, (size_t)c->row->length, 0);
    int saved = errno;
    if (out >= 0)
        udax_close(c->pool, out);
    if (in >= 0)
        udax_close(c->pool, in);
    errno = saved;
    return ret;
}

static void do_call(struct ctx *c, int at, const char *path, const char *path2)
{
    const struct row *r = c->row;
    struct udax_pool *pool = c->pool;
    struct result *res = &c->res;
    struct stat st;
    long long ret = -1;
    errno = 0;
    switch (r->call) {
    case OPEN:
    case REOPEN: {
        int fd = r->call == OPEN ? udax_openat(pool, at, path, r->flags, r->mode) : udax_reopen(pool, at, r->flags);
        ret = fd;
        if (fd >= 0) {
            then_step(c, fd);
            udax_close(pool, fd);
            ret = 0;
        }
        break;
    }
    case MKDIR:
        ret = udax_mkdirat(pool, at, path, r->mode);
        break;
    case MKNOD:
        ret = udax_mknodat(pool, at, path, r->mode, r->dev);
        break;
    case SYMLINK:
        ret = udax_symlinkat(pool, path2, at, path);
        break;
    case READLINK:
        ret = udax_readlinkat(pool, at, path, res->buf, (size_t)r->length);
        break;
    case LINK:
        ret = udax_linkat(pool, at, path, AT_FDCWD, path2, r->flags);
        break;
    case UNLINK:
        ret = udax_unlinkat(pool, at, path, r->flags);
        break;
    case RMDIR:
        ret = udax_rmdir(pool, path);
        break;
    case RENAME:
        ret = udax_renameat2(pool, at, path, AT_FDCWD, path2, (unsigned)r->flags);
        break;
    case CHMOD:
        ret = udax_fchmodat(pool, at, path, r->mode, r->flags);
        break;
    case CHOWN:
        ret = udax_fchownat(pool, at, path, (uid_t)r->uid, (gid_t)r->gid, r->flags);
        break;
    case UTIMENS:
        ret = udax_utimensat(pool, at, path, r->times, r->flags);
        break;
    case ACCESS:
        ret = udax_faccessat(pool, at, path, (int)r->mode, r->flags);
        break;
    case TRUNCATE:
        ret = udax_truncate(pool, path, (off_t)r->length);
        break;
    case STAT:
        ret = udax_fstatat(pool, at, path, &st, r->flags);
        if (!ret) {
            res->have_stat = true;
            res->stx.stx_mode = (uint16_t)st.st_mode;
            res->stx.stx_nlink = (uint32_t)st.st_nlink;
        }
        break;
    case STATX:
        ret = udax_statx(pool, at, path, r->flags, STATX_BASIC_STATS | STATX_BTIME, &res->stx);
        res->have_stat = ret == 0;
        break;
    case WRITE:
        ret = open_and(c, path, O_WRONLY | r->flags, true);
        break;
    case READ:
    case PREAD:
        ret = open_and(c, path, O_RDONLY | r->flags, false);
        break;
    case COPY:
        ret = open_and_copy(c, path, path2);
        break;
    }
    res->ret = ret;
    res->err = ret < 0 ? errno : 0;
}

/* -------------------------------------------------------------- checking */

static const char *type_name(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "reg";
    case S_IFDIR: return "dir";
    case S_IFLNK: return "lnk";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "sock";
    case S_IFCHR: return "chr";
    case S_IFBLK: return "blk";
    }
    return "?";
}

static const char *errno_name(int err)
{
    const char *name = err ? strerrorname_np(err) : "0";
    return name ? name : "?";
}

static struct before *find_before(struct ctx *c, const char *path)
{
    for (size_t i = 0; i < c->before_count; i++)
        if (!strcmp(c->before[i].path, path))
            return &c->before[i];
    return NULL;
}

static void note_before(struct ctx *c, const char *word)
{
    char path[PATH_MAX + 1];
    expand(word, path, sizeof(path));
    if (path[0] != '/' || find_before(c, path))
        return;
    assert_true(c->before_count < sizeof(c->before) / sizeof(c->before[0]));
    struct before *b = &c->before[c->before_count++];
    snprintf(b->path, sizeof(b->path), "%s", path);
    b->exists = udax_statx(c->pool, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
                           &b->stx) == 0;
}

/* Every path the checks name, as it is before the call. */
static void snapshot_before(struct ctx *c)
{
    if (!c->row->after)
        return;
    char *copy = strdup(c->row->after);
    for (char *save, *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        char *words[MAX_WORDS];
        size_t n = split(item, words);
        for (size_t i = 1; i < n; i++)
            note_before(c, words[i][0] == '=' ? words[i] + 1 : words[i]);
    }
    free(copy);
}

static int64_t time_of(const struct statx *stx, const char *which)
{
    if (!strcmp(which, "atime"))
        return stx_ns(stx->stx_atime);
    if (!strcmp(which, "mtime"))
        return stx_ns(stx->stx_mtime);
    if (!strcmp(which, "ctime"))
        return stx_ns(stx->stx_ctime);
    return stx_ns(stx->stx_btime);
}

static void check_time(struct ctx *c, const char *item, const char *which, const char *path, int64_t now,
                       const char *want)
{
    const struct before *b = find_before(c, path);
    int64_t before = b && b->exists ? time_of(&b->stx, which) : -1;
    bool ok;
    if (!strcmp(want, "new")) {
        ok = now >= c->call_start && now <= c->call_end && now != before;
    } else if (!strcmp(want, "same")) {
        ok = now == before;
    } else if (!strcmp(want, "made")) {
        ok = now >= c->setup_start && now <= c->call_start_fine;
    } else if (want[0] == '=') {
        const struct before *other = find_before(c, want + 1);
        ok = other && other->exists && now == time_of(&other->stx, which);
    } else {
        long long sec, nsec;
        assert_int_equal(sscanf(want, "%lld.%9lld", &sec, &nsec), 2);
        ok = now == sec * 1000000000LL + nsec;
    }
    if (!ok)
        complain(c, "  %s: got %lld.%09lld (before the call %lld.%09lld; the call ran from %lld.%09lld to %lld.%09lld)",
                 item, (long long)(now / 1000000000), (long long)(now % 1000000000), (long long)(before / 1000000000),
                 (long long)(before % 1000000000), (long long)(c->call_start / 1000000000),
                 (long long)(c->call_start % 1000000000), (long long)(c->call_end / 1000000000),
                 (long long)(c->call_end % 1000000000));
}

static void check_result_item(struct ctx *c, const char *item, char **words, size_t n)
{
    const struct result *res = &c->res;
    const char *key = words[0];
    if (!strcmp(key, "buf") && n == 2) {
        char want[PATH_MAX + 1];
        expand(words[1], want, sizeof(want));
        size_t got = res->ret > 0 ? (size_t)res->ret : 0;
        if (got != strlen(want) || memcmp(res->buf, want, got))
            complain(c, "  %s: got '%.*s'", item, (int)got, res->buf);
        return;
    }
    if (!res->have_stat) {
        complain(c, "  %s: the call returned no stat", item);
        return;
    }
    if (!strcmp(key, "rtype") && n == 2) {
        if (strcmp(type_name(res->stx.stx_mode), words[1]))
            complain(c, "  %s: got %s", item, type_name(res->stx.stx_mode));
    } else if (!strcmp(key, "rnlink") && n == 2) {
        if (res->stx.stx_nlink != strtoul(words[1], NULL, 10))
            complain(c, "  %s: got %u", item, res->stx.stx_nlink);
    } else if (!strcmp(key, "rbtime") && n == 2 && !strcmp(words[1], "made")) {
        int64_t t = stx_ns(res->stx.stx_btime);
        if (!(res->stx.stx_mask & STATX_BTIME) || t < c->setup_start || t > c->call_start_fine)
            complain(c, "  %s: got mask %#x, birth %lld", item, res->stx.stx_mask, (long long)t);
    } else {
        fail_msg("%s: cannot parse check '%s'", c->row->name, item);
    }
}

static void check_data(struct ctx *c, const char *item, const char *path, const char *text)
{
    char want[PATH_MAX + 1], got[PATH_MAX + 1];
    expand(strcmp(text, "-") ? text : "", want, sizeof(want));
    int fd = udax_open(c->pool, path, O_RDONLY | O_NOATIME);
    ssize_t len = fd >= 0 ? udax_pread(c->pool, fd, got, sizeof(got), 0) : -1;
    if (fd >= 0)
        udax_close(c->pool, fd);
    if (len != (ssize_t)strlen(want) || memcmp(got, want, (size_t)len))
        complain(c, "  %s: got %zd bytes '%.*s'", item, len, len > 0 ? (int)len : 0, got);
}

static void check_item(struct ctx *c, char *item)
{
    char text[256];
    snprintf(text, sizeof(text), "%s", item);
    char *words[MAX_WORDS];
    size_t n = split(item, words);
    if (!n)
        return;
    if (!strcmp(words[0], "rtype") || !strcmp(words[0], "rnlink") || !strcmp(words[0], "rbtime") ||
        !strcmp(words[0], "buf")) {
        check_result_item(c, text, words, n);
        return;
    }
    char path[PATH_MAX + 1];
    expand(n > 1 ? words[1] : "", path, sizeof(path));
    struct statx stx;
    bool exists = udax_statx(c->pool, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME,
                             &stx) == 0;
    const char *key = words[0];
    if (!strcmp(key, "absent") && n == 2) {
        if (exists)
            complain(c, "  %s: it exists, type %s", text, type_name(stx.stx_mode));
        else if (errno != ENOENT)
            complain(c, "  %s: lstat fails with %s", text, errno_name(errno));
        return;
    }
    if (!exists) {
        complain(c, "  %s: lstat fails with %s", text, errno_name(errno));
        return;
    }
    if (!strcmp(key, "type") && n == 3) {
        if (strcmp(type_name(stx.stx_mode), words[2]))
            complain(c, "  %s: got %s", text, type_name(stx.stx_mode));
    } else if (!strcmp(key, "mode") && n == 3) {
        if ((stx.stx_mode & 07777) != strtoul(words[2], NULL, 8))
            complain(c, "  %s: got %04o", text, stx.stx_mode & 07777);
    } else if (!strcmp(key, "owner") && n == 4) {
        if (stx.stx_uid != strtoul(words[2], NULL, 10) || stx.stx_gid != strtoul(words[3], NULL, 10))
            complain(c, "  %s: got %u %u", text, stx.stx_uid, stx.stx_gid);
    } else if (!strcmp(key, "nlink") && n == 3) {
        if (stx.stx_nlink != strtoul(words[2], NULL, 10))
            complain(c, "  %s: got %u", text, stx.stx_nlink);
    } else if (!strcmp(key, "size") && n == 3) {
        if (stx.stx_size != strtoull(words[2], NULL, 10))
            complain(c, "  %s: got %llu", text, (unsigned long long)stx.stx_size);
    } else if (!strcmp(key, "rdev") && n == 4) {
        if (stx.stx_rdev_major != strtoul(words[2], NULL, 10) || stx.stx_rdev_minor != strtoul(words[3], NULL, 10))
            complain(c, "  %s: got %u %u", text, stx.stx_rdev_major, stx.stx_rdev_minor);
    } else if (!strcmp(key, "target") && n == 3) {
        char want[PATH_MAX + 1], got[PATH_MAX + 1];
        expand(words[2], want, sizeof(want));
        ssize_t len = udax_readlink(c->pool, path, got, sizeof(got));
        if (len != (ssize_t)strlen(want) || memcmp(got, want, (size_t)len))
            complain(c, "  %s: got %zd bytes '%.*s'", text, len, len > 0 ? (int)len : 0, got);
    } else if (!strcmp(key, "data") && n == 3) {
        check_data(c, text, path, words[2]);
    } else if (!strcmp(key, "ino") && n == 3) {
        char old[PATH_MAX + 1];
        expand(words[2], old, sizeof(old));
        const struct before *b = find_before(c, old);
        if (!b || !b->exists || b->stx.stx_ino != stx.stx_ino)
            complain(c, "  %s: got inode %llu, %s had %llu", text, (unsigned long long)stx.stx_ino, old,
                     b && b->exists ? (unsigned long long)b->stx.stx_ino : 0ULL);
    } else if ((!strcmp(key, "atime") || !strcmp(key, "mtime") || !strcmp(key, "ctime") || !strcmp(key, "btime")) &&
               n == 3) {
        check_time(c, text, key, path, time_of(&stx, key), words[2]);
    } else {
        fail_msg("%s: cannot parse check '%s'", c->row->name, text);
    }
}

static void check_after(struct ctx *c)
{
    if (!c->row->after)
        return;
    char *copy = strdup(c->row->after);
    for (char *save, *item = strtok_r(copy, ";", &save); item; item = strtok_r(NULL, ";", &save))
        check_item(c, item);
    free(copy);
}

static void check_result(struct ctx *c)
{
    const struct row *r = c->row;
    const struct result *res = &c->res;
    bool counted = r->call == READLINK || r->call == WRITE || r->call == READ || r->call == PREAD || r->call == COPY;
    bool ok = r->err ? res->ret == -1 && res->err == r->err : counted ? res->ret == r->ret : res->ret == 0;
    if (!ok)
        complain(c, "  returned %lld, errno %s (%s); expected %lld, errno %s", res->ret, errno_name(res->err),
                 res->ret < 0 ? udax_last_error() : "", r->err ? -1LL : counted ? r->ret : 0LL, errno_name(r->err));
    if (r->then && !res->ret) {
        bool then_ok = r->then_err ? res->then_ret == -1 && res->then_err == r->then_err : res->then_ret >= 0;
        if (!then_ok)
            complain(c, "  then: returned %lld, errno %s; expected errno %s", res->then_ret,
                     errno_name(res->then_err), errno_name(r->then_err));
    }
}

static void run_row(void **state)
{
    struct ctx *c = *state;
    const struct row *r = c->row;
    act_as(c, ROOT, 0);
    c->setup_start = clock_ns(CLOCK_REALTIME_COARSE);
    run_setup(c);
    snapshot_before(c);
    int at = AT_FDCWD;
    if (r->at) {
        char at_path[PATH_MAX + 1];
        expand(r->at, at_path, sizeof(at_path));
        at = udax_open(c->pool, at_path, O_PATH | O_NOFOLLOW);
        if (at < 0)
            fail_msg("%s: cannot open the directory descriptor %s: %s", r->name, at_path, udax_last_error());
    }
    char path[PATH_MAX + 1], path2[PATH_MAX + 1];
    expand(r->path ? r->path : "", path, sizeof(path));
    expand(r->path2 ? r->path2 : "", path2, sizeof(path2));
    act_as(c, r->as, r->umask ? (mode_t)strtoul(r->umask, NULL, 8) : 022);
    c->call_start_fine = clock_ns(CLOCK_REALTIME);
    c->call_start = clock_ns(CLOCK_REALTIME_COARSE);
    do_call(c, at, path, path2);
    c->call_end = clock_ns(CLOCK_REALTIME);
    act_as(c, ROOT, 0);
    if (at >= 0)
        assert_int_equal(udax_close(c->pool, at), 0);
    check_result(c);
    check_after(c);
    if (c->report_len)
        fail_msg("row '%s':\n%s", r->name, c->report);
}

static int row_setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    c->row = *state;
    c->pool = test_pool_new(c->pool_path, sizeof(c->pool_path), POOL_SIZE, UDAX_DATA_STRICT);
    *state = c;
    return 0;
}

static int row_teardown(void **state)
{
    struct ctx *c = *state;
    test_pool_finish(c->pool, c->pool_path);
    free(c);
    return 0;
}

int main(void)
{
    struct CMUnitTest tests[sizeof(rows) / sizeof(rows[0])];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        tests[i] = (struct CMUnitTest){rows[i].name, run_row, row_setup, row_teardown, (void *)&rows[i]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
