/* mount.c: the udax mount and udax umount commands: options, the daemon's life, the FUSE session and its loop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "udax_fuse.h"

static const char mount_usage[] =
    "usage: udax mount POOL DIR [-f] [-d] [-s] [-o OPTION[,OPTION...]]\n"
    "\n"
    "Mounts the pool POOL on the directory DIR through FUSE, so that every\n"
    "program can use it. Without -f the daemon detaches once the mount is in\n"
    "place; it exits 0 after an unmount (udax umount DIR, or fusermount3 -u\n"
    "DIR) or SIGTERM, having closed the pool, and non-zero when the pool or\n"
    "the mount cannot be set up. Messages go to stderr in the foreground, to\n"
    "syslog once detached.\n"
    "\n"
    "  -f                 stay in the foreground\n"
    "  -d                 print every FUSE request (implies -f)\n"
    "  -s                 serve requests on one thread\n"
    "  -o timeout=SECONDS how long the kernel may keep names and attributes\n"
    "                     without asking again (default 1); also\n"
    "                     -o attr_timeout=, -o entry_timeout=\n"
    "  -o allow_other     let every user reach the mount (root only, or\n"
    "                     user_allow_other in /etc/fuse.conf); each caller's\n"
    "                     uid, gid, groups and umask are checked by udax\n"
    "  -o ro              mount read-only\n"
    "  -o OPTION          any other option of libfuse below\n";

struct mount_options {
    double timeout;
    double attr_timeout;
    double entry_timeout;
};

#define MOUNT_OPTION(template, field) {template, offsetof(struct mount_options, field), 0}
static const struct fuse_opt mount_option_spec[] = {
    MOUNT_OPTION("timeout=%lf", timeout),
    MOUNT_OPTION("attr_timeout=%lf", attr_timeout),
    MOUNT_OPTION("entry_timeout=%lf", entry_timeout),
    FUSE_OPT_END,
};

static void mount_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    /* udax drops set-ID bits itself on write, truncate and chown, as the caller's credentials say. */
    if (conn->capable & FUSE_CAP_HANDLE_KILLPRIV)
        conn->want |= FUSE_CAP_HANDLE_KILLPRIV;
    /* A write returns once it is durable in the pool, not once it is in the kernel's cache. */
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    /*
     * Every change of the pool passes through this mount, so a new mtime means
     * the kernel's own write, which its page cache already holds: no reason to
     * drop the cache and read the file again.
     */
    conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
}

static void log_libfuse(enum fuse_log_level level, const char *fmt, va_list ap)
{
    char message[1024];
    vsnprintf(message, sizeof(message), fmt, ap);
    message[strcspn(message, "\n")] = '\0';
    mount_log((int)level, "%s", message);
}

/*
 * Detaches: the parent waits for the child to report whether the pool and the
 * mount are in place, and exits with that status, so that a failure is seen by
 * whoever ran udax mount. Returns in the child the pipe to report on.
 */
static int detach(void)
{
    int report[2];
    if (pipe(report)) {
        mount_log(LOG_ERR, "pipe: %s", strerror(errno));
        exit(1);
    }
    pid_t child = fork();
    if (child < 0) {
        mount_log(LOG_ERR, "fork: %s", strerror(errno));
        exit(1);
    }
    if (child > 0) {
        close(report[1]);
        unsigned char status = 1;
        if (read(report[0], &status, 1) != 1)
            status = 1;
        exit(status);
    }
    close(report[0]);
    setsid();
    return report[1];
}

static void report_ready(int report)
{
    if (report < 0)
        return;
    if (chdir("/"))
        mount_log(LOG_WARNING, "chdir /: %s", strerror(errno));
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    mount_log_to_syslog();
    unsigned char status = 0;
    if (write(report, &status, 1) != 1)
        mount_log(LOG_WARNING, "cannot report to the parent: %s", strerror(errno));
    close(report);
}

/* Serves the session until unmount or signal; 0 on a clean end. */
static int serve(struct fuse_session *session, const struct fuse_cmdline_opts *cmdline)
{
    int rc;
    if (cmdline->singlethread) {
        rc = fuse_session_loop(session);
    } else {
        struct fuse_loop_config *config = fuse_loop_cfg_create();
        if (!config)
            return -ENOMEM;
        fuse_loop_cfg_set_clone_fd(config, (unsigned)cmdline->clone_fd);
        /* libfuse's command line leaves UINT_MAX for a limit not given; the loop keeps its own default then. */
        if (cmdline->max_idle_threads != UINT_MAX)
            fuse_loop_cfg_set_idle_threads(config, cmdline->max_idle_threads);
        if (cmdline->max_threads != UINT_MAX)
            fuse_loop_cfg_set_max_threads(config, cmdline->max_threads);
        rc = fuse_session_loop_mt(session, config);
        fuse_loop_cfg_destroy(config);
    }
    /* A signal that asked the daemon to stop ends the loop with its number: that is a clean end too. */
    return rc > 0 ? 0 : rc;
}

/* Mounts and serves; the exit status of udax mount. */
static int run_mount(const char *pool_path, struct fuse_args *args, const struct fuse_cmdline_opts *cmdline,
                     const struct mount_options *options)
{
    int report = cmdline->foreground ? -1 : detach();
    struct mount mount = {
        .attr_timeout = options->attr_timeout,
        .entry_timeout = options->entry_timeout,
    };
    pthread_mutex_init(&mount.dirs_lock, NULL);
    mount.dirs.next = mount.dirs.prev = &mount.dirs;
    mount.pool = udax_pool_open(pool_path, NULL);
    if (!mount.pool) {
        mount_log(LOG_ERR, "cannot open %s: %s", pool_path, udax_last_error());
        return 1;
    }
    int status = 1;
    if (node_table_init(&mount.nodes, mount.pool)) {
        mount_log(LOG_ERR, "cannot open the root of %s: %s", pool_path, udax_last_error());
        udax_pool_close(mount.pool);
        return 1;
    }
    struct fuse_lowlevel_ops ops = {.init = mount_init};
    entry_ops_fill(&ops);
    attr_ops_fill(&ops);
    file_ops_fill(&ops);
    dir_ops_fill(&ops);
    struct fuse_session *session = fuse_session_new(args, &ops, sizeof(ops), &mount);
    if (session && !fuse_set_signal_handlers(session)) {
        if (!fuse_session_mount(session, cmdline->mountpoint)) {
            report_ready(report);
            int rc = serve(session, cmdline);
            if (rc)
                mount_log(LOG_ERR, "the FUSE loop failed: %s", strerror(-rc));
            status = rc ? 1 : 0;
            fuse_session_unmount(session);
        }
        fuse_remove_signal_handlers(session);
    }
    if (session)
        fuse_session_destroy(session);
    dir_handles_close_all(&mount);
    node_table_destroy(&mount.nodes, mount.pool);
    if (udax_pool_close(mount.pool)) {
        mount_log(LOG_ERR, "cannot close %s: %s", pool_path, udax_last_error());
        status = 1;
    }
    pthread_mutex_destroy(&mount.dirs_lock);
    return status;
}

/* fuse_opt takes commas as separators: a pool path with one is escaped. */
static char *fsname_option(const char *pool_path)
{
    size_t length = strlen(pool_path);
    char *option = malloc(sizeof("-ofsname=,subtype=udax") + 2 * length);
    if (!option)
        return NULL;
    char *out = option + sprintf(option, "-ofsname=");
    for (const char *in = pool_path; *in; in++) {
        if (*in == ',' || *in == '\\')
            *out++ = '\\';
        *out++ = *in;
    }
    strcpy(out, ",subtype=udax");
    return option;
}

int mount_command(int argc, char **argv)
{
    /* POOL is the first argument that is neither an option nor an option's value; libfuse takes the rest. */
    const char *pool_path = NULL;
    struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
    fuse_opt_add_arg(&args, "udax mount");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(mount_usage, stdout);
            printf("\nOptions of libfuse:\n");
            fflush(stdout);
            fuse_cmdline_help();
            fuse_lowlevel_help();
            fuse_opt_free_args(&args);
            return 0;
        }
        if (!pool_path && argv[i][0] != '-' && !(i > 1 && !strcmp(argv[i - 1], "-o")))
            pool_path = argv[i];
        else
            fuse_opt_add_arg(&args, argv[i]);
    }
    struct mount_options options = {.timeout = 1.0, .attr_timeout = -1, .entry_timeout = -1};
    struct fuse_cmdline_opts cmdline = {0};
    int status = 2;
    char pool_real[PATH_MAX];
    /* libfuse has said what was wrong: a bad option, or a mount point it cannot use. */
    if (fuse_opt_parse(&args, &options, mount_option_spec, NULL) || fuse_parse_cmdline(&args, &cmdline)) {
        fprintf(stderr, "udax mount --help lists the options\n");
    } else if (!pool_path || !cmdline.mountpoint) {
        fprintf(stderr, "udax mount: it takes a POOL and a DIR\n\n%s", mount_usage);
    } else if (options.timeout < 0 || !realpath(pool_path, pool_real)) {
        fprintf(stderr, "udax mount: %s\n", options.timeout < 0 ? "a timeout cannot be negative" : strerror(errno));
        status = options.timeout < 0 ? 2 : 1;
    } else {
        if (options.attr_timeout < 0)
            options.attr_timeout = options.timeout;
        if (options.entry_timeout < 0)
            options.entry_timeout = options.timeout;
        char *fsname = fsname_option(pool_real);
        if (!fsname || fuse_opt_add_arg(&args, fsname)) {
            fprintf(stderr, "udax mount: out of memory\n");
            status = 1;
        } else {
            fuse_set_log_func(log_libfuse);
            status = run_mount(pool_real, &args, &cmdline, &options);
        }
        free(fsname);
    }
    free(cmdline.mountpoint);
    fuse_opt_free_args(&args);
    return status;
}
