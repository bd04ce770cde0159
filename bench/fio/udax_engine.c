/* udax_engine.c: a fio external I/O engine that runs jobs on files inside a udax pool, in fio's own process. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fio.h"
#include "optgroup.h"
#include "udax.h"

struct udax_engine_options {
    void *pad; /* fio reads an option whose offset is 0 as absent */
    char *pool;
};

static struct fio_option options[] = {
    {
        .name = "pool",
        .lname = "udax pool",
        .type = FIO_OPT_STR_STORE,
        .off1 = offsetof(struct udax_engine_options, pool),
        .help = "Path of the udax pool (made by udax mkfs) that holds the job's files",
        .category = FIO_OPT_C_ENGINE,
        .group = FIO_OPT_G_INVALID,
    },
    {
        .name = NULL,
    },
};

/*
 * A pool is open in one process at a time, so every job of the process shares one handle: opened by the first
 * job that needs it, closed when the last lets go. Jobs hold it from init to cleanup; fio also calls the file
 * hooks from its main thread before any job's init, and those hold it for the length of the call.
 */
static pthread_mutex_t shared_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct udax_pool *shared_pool;
/* The first pool a job named, kept for the life of the process, so that a second one is refused however jobs overlap. */
static char *shared_pool_path;
static unsigned shared_pool_users;

#define MESSAGE_SIZE 512

/*
 * Makes error the job's failure. fio keeps 128 bytes of a job's error, its source file and line first, so the
 * whole message is printed here too.
 */
__attribute__((format(printf, 4, 5))) static int fail(struct thread_data *td, int error, const char *call,
                                                      const char *format, ...)
{
    char message[MESSAGE_SIZE];
    va_list args;
    va_start(args, format);
    vsnprintf(message, sizeof(message), format, args);
    va_end(args);
    log_err("udax engine: %s: %s\n", call, message);
    td_vmsg(td, error, message, call);
    return error;
}

/* A failed udax call, with udax's message, which names what failed. */
static int fail_udax(struct thread_data *td, const char *call)
{
    int error = errno;
    return fail(td, error, call, "%s", udax_last_error());
}

/* What the engine needs of a job: a pool, threads, and none of the options that make fio act on a host descriptor. */
static int check_job_options(struct thread_data *td)
{
    const struct udax_engine_options *engine_options = td->eo;
    if (!engine_options->pool)
        return fail(td, EINVAL, "options", "no pool: the udax engine needs pool=PATH, a pool made by udax mkfs");
    if (!td->o.use_thread)
        return fail(td, EINVAL, "options",
                    "job %s runs as a process: a pool is open in one process at a time, so the udax engine needs "
                    "thread=1 (or --thread)",
                    td->o.name);
    if (td->o.pre_read)
        return fail(td, EINVAL, "options", "pre_read reads through a host descriptor, which pool files lack");
    if (td->o.fsync_on_close)
        return fail(td, EINVAL, "options",
                    "fsync_on_close syncs a host descriptor, which pool files lack: use end_fsync=1");
    if (td->o.fill_device)
        return fail(td, EINVAL, "options", "fill_device is not supported: give size=");
    return 0;
}

static struct udax_pool *pool_get(struct thread_data *td)
{
    if (check_job_options(td))
        return NULL;
    const char *path = ((const struct udax_engine_options *)td->eo)->pool;
    struct udax_pool *pool = NULL;
    pthread_mutex_lock(&shared_pool_lock);
    if (shared_pool_path && strcmp(shared_pool_path, path) != 0) {
        fail(td, EBUSY, "pool", "pool=%s after this process's jobs used %s: one pool per process", path,
             shared_pool_path);
    } else if (shared_pool) {
        pool = shared_pool;
    } else if (!shared_pool_path && !(shared_pool_path = strdup(path))) {
        fail(td, ENOMEM, "malloc", "no memory for the pool's path");
    } else if (!(pool = udax_pool_open(path, NULL))) {
        fail_udax(td, "udax_pool_open");
    } else {
        shared_pool = pool;
    }
    if (pool)
        shared_pool_users++;
    pthread_mutex_unlock(&shared_pool_lock);
    return pool;
}

static void pool_put(struct thread_data *td)
{
    pthread_mutex_lock(&shared_pool_lock);
    if (--shared_pool_users == 0) {
        if (udax_pool_close(shared_pool))
            fail_udax(td, "udax_pool_close");
        shared_pool = NULL;
    }
    pthread_mutex_unlock(&shared_pool_lock);
}

/*
 * fio's f->fd stays -1: fio calls fsync, close and read on it for host files, and a udax descriptor is not one.
 * The engine's own word of the file holds the udax descriptor while fio has the file open.
 */
static int pool_fd(const struct fio_file *f)
{
    return (int)f->engine_pos;
}

/* As mkdir -p of the directories above path, which fio does on the host for files of its own. */
static int make_parent_directories(struct udax_pool *pool, const char *path)
{
    char directory[PATH_MAX];
    if (snprintf(directory, sizeof(directory), "%s", path) >= (int)sizeof(directory)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *slash = strchr(directory + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (udax_mkdir(pool, directory, 0755) && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    return 0;
}

static int open_in_pool(struct thread_data *td, struct udax_pool *pool, const char *path, int flags)
{
    int fd = udax_open(pool, path, flags, 0644);
    if (fd < 0 && errno == ENOENT && (flags & O_CREAT)) {
        if (make_parent_directories(pool, path)) {
            fail_udax(td, "udax_mkdir");
            return -1;
        }
        fd = udax_open(pool, path, flags, 0644);
    }
    if (fd < 0)
        fail_udax(td, "udax_open");
    return fd;
}

static int udax_engine_init(struct thread_data *td)
{
    struct udax_pool *pool = pool_get(td);
    if (!pool)
        return 1;
    td->io_ops_data = pool;
    return 0;
}

static void udax_engine_cleanup(struct thread_data *td)
{
    if (td->io_ops_data)
        pool_put(td);
}

/* The name is a path inside the pool; fio typed the file by stat(2) of that name on the host. */
static int udax_engine_get_file_size(struct thread_data *td, struct fio_file *f)
{
    struct udax_pool *pool = pool_get(td);
    if (!pool)
        return 1;
    int error = 0;
    struct stat st;
    f->filetype = FIO_TYPE_FILE;
    if (udax_stat(pool, f->file_name, &st) == 0) {
        if (S_ISREG(st.st_mode))
            f->real_file_size = st.st_size;
        else
            error = fail(td, EINVAL, "udax_stat", "%s: not a regular file in the pool", f->file_name);
    } else if (errno == ENOENT) {
        f->real_file_size = 0;
    } else {
        error = fail_udax(td, "udax_stat");
    }
    if (!error)
        fio_file_set_size_known(f);
    pool_put(td);
    return error ? 1 : 0;
}

static int write_layout(struct thread_data *td, struct udax_pool *pool, int fd, struct fio_file *f, uint64_t size)
{
    unsigned long long chunk = td->o.max_bs[DDIR_WRITE];
    if (chunk > size)
        chunk = size;
    char *buffer = malloc(chunk);
    if (!buffer)
        return fail(td, ENOMEM, "malloc", "no memory to lay out %s", f->file_name);
    int error = 0;
    for (uint64_t done = 0; done < size && !td->terminate && !error; done += chunk) {
        if (chunk > size - done)
            chunk = size - done;
        fill_io_buffer(td, buffer, chunk, chunk);
        if (udax_pwrite(pool, fd, buffer, chunk, done) != (ssize_t)chunk)
            error = fail_udax(td, "udax_pwrite");
    }
    free(buffer);
    return error;
}

/*
 * fio lays out missing or short files itself only on the host, through open(2) and write(2); this is its layout
 * done in the pool. As fio does: jobs that read, or overwrite, get the whole file written first; other writing
 * jobs start from an empty file, and appending ones from the file as it is. Either way the file's size becomes
 * the job's range, past which fio issues no I/O.
 */
static int udax_engine_lay_out_file(struct thread_data *td, struct fio_file *f)
{
    uint64_t size = f->file_offset + f->io_size;
    if (f->real_file_size != -1ULL && f->real_file_size >= size)
        return 0;
    f->real_file_size = size;
    if (read_only) {
        log_err("udax engine: refusing to lay out %s in the pool: read-only\n", f->file_name);
        return 0;
    }
    bool whole = td_read(td) || (td_write(td) && td->o.overwrite && !td->o.file_append);
    int flags = O_WRONLY;
    if (td->o.allow_create)
        flags |= O_CREAT;
    if (whole || (td_write(td) && !td->o.file_append))
        flags |= O_TRUNC;
    struct udax_pool *pool = pool_get(td);
    if (!pool)
        return 1;
    int error = 0;
    int fd = open_in_pool(td, pool, f->file_name, flags);
    if (fd < 0)
        error = 1;
    if (!error && whole)
        error = write_layout(td, pool, fd, f, size);
    if (fd >= 0 && udax_close(pool, fd) && !error)
        error = fail_udax(td, "udax_close");
    pool_put(td);
    return error ? 1 : 0;
}

static int udax_engine_open_file(struct thread_data *td, struct fio_file *f)
{
    int flags = O_RDONLY;
    if ((td_write(td) || td_trim(td)) && !read_only)
        flags = O_RDWR;
    if (td_write(td) && td->o.allow_create)
        flags |= O_CREAT;
    struct udax_pool *pool = pool_get(td);
    if (!pool)
        return 1;
    int fd = open_in_pool(td, pool, f->file_name, flags);
    pool_put(td);
    if (fd < 0)
        return 1;
    f->engine_pos = fd;
    return 0;
}

static int udax_engine_close_file(struct thread_data *td, struct fio_file *f)
{
    struct udax_pool *pool = pool_get(td);
    if (!pool)
        return 1;
    int error = udax_close(pool, pool_fd(f)) ? fail_udax(td, "udax_close") : 0;
    pool_put(td);
    return error;
}

static int udax_engine_unlink_file(struct thread_data *td, struct fio_file *f)
{
    struct udax_pool *pool = pool_get(td);
    if (!pool)
        return 1;
    int error = 0;
    if (udax_unlink(pool, f->file_name))
        error = errno == ENOENT ? ENOENT : fail_udax(td, "udax_unlink");
    pool_put(td);
    return error;
}

/* Each I/O unit keeps udax's message of its failure, for fio to print after the errno. */
static int udax_engine_io_u_init(struct thread_data *td, struct io_u *io_u)
{
    io_u->engine_data = calloc(1, MESSAGE_SIZE);
    return io_u->engine_data ? 0 : fail(td, ENOMEM, "malloc", "no memory for an I/O unit");
}

static void udax_engine_io_u_free(struct thread_data *td, struct io_u *io_u)
{
    (void)td;
    free(io_u->engine_data);
    io_u->engine_data = NULL;
}

static char *udax_engine_errdetails(struct io_u *io_u)
{
    return strdup(io_u->engine_data);
}

/* fio reports a failure that a synchronous queue returns only when the engine does, as psync does. */
static void fail_io(struct thread_data *td, struct io_u *io_u, int error, const char *call, const char *message)
{
    io_u->error = error;
    snprintf(io_u->engine_data, MESSAGE_SIZE, "%s: %s", call, message);
    io_u_log_error(td, io_u);
    td_vmsg(td, error, message, call);
}

static enum fio_q_status udax_engine_queue(struct thread_data *td, struct io_u *io_u)
{
    struct udax_pool *pool = td->io_ops_data;
    int fd = pool_fd(io_u->file);
    const char *call;
    ssize_t done;

    fio_ro_check(td, io_u);
    switch (io_u->ddir) {
    case DDIR_READ:
        call = "udax_pread";
        done = udax_pread(pool, fd, io_u->xfer_buf, io_u->xfer_buflen, io_u->offset);
        break;
    case DDIR_WRITE:
        call = "udax_pwrite";
        done = udax_pwrite(pool, fd, io_u->xfer_buf, io_u->xfer_buflen, io_u->offset);
        break;
    case DDIR_TRIM:
        call = "udax_fallocate";
        done = udax_fallocate(pool, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, io_u->offset,
                              io_u->xfer_buflen)
                   ? -1
                   : (ssize_t)io_u->xfer_buflen;
        break;
    case DDIR_DATASYNC:
        call = "udax_fdatasync";
        done = udax_fdatasync(pool, fd);
        break;
    case DDIR_SYNC:
    case DDIR_SYNC_FILE_RANGE: /* a whole-file sync is the range's sync and more */
        call = "udax_fsync";
        done = udax_fsync(pool, fd);
        break;
    default:
        fail_io(td, io_u, EINVAL, "udax engine", "no operation in this direction");
        return FIO_Q_COMPLETED;
    }
    if (done < 0) {
        int error = errno;
        fail_io(td, io_u, error, call, udax_last_error());
    } else if (ddir_rw(io_u->ddir) || io_u->ddir == DDIR_TRIM) {
        io_u->resid = io_u->xfer_buflen - done;
    }
    return FIO_Q_COMPLETED;
}

/* fio loads it through dlsym(handle, "ioengine"); the only symbol the module exports. */
struct ioengine_ops ioengine = {
    .name = "udax",
    .version = FIO_IOOPS_VERSION,
    .flags = FIO_SYNCIO | FIO_DISKLESSIO | FIO_NODISKUTIL,
    .init = udax_engine_init,
    .cleanup = udax_engine_cleanup,
    .queue = udax_engine_queue,
    .errdetails = udax_engine_errdetails,
    .open_file = udax_engine_open_file,
    .close_file = udax_engine_close_file,
    .unlink_file = udax_engine_unlink_file,
    .get_file_size = udax_engine_get_file_size,
    .prepopulate_file = udax_engine_lay_out_file,
    .io_u_init = udax_engine_io_u_init,
    .io_u_free = udax_engine_io_u_free,
    .option_struct_size = sizeof(struct udax_engine_options),
    .options = options,
};

/*
 * fio checks ops->version, which changes far less often than the structures this engine reads (thread_data,
 * fio_file, io_u): built against the headers of another fio, the engine makes fio refuse it before any hook runs.
 */
__attribute__((constructor)) static void refuse_another_fio(void)
{
    if (strcmp(fio_version_string, UDAX_FIO_VERSION) != 0) {
        log_err("udax engine: built against the headers of %s, loaded by %s: rebuild it against this fio's source "
                "(scripts/install-deps.sh fetches it)\n",
                UDAX_FIO_VERSION, fio_version_string);
        ioengine.version = -1;
    }
}
