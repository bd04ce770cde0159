/* uffd.c: the window's userfaultfd: registering reservations, zero pages, and the threads that serve faults. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "window_internal.h"

static int new_userfaultfd(void)
{
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd >= 0 || errno != EPERM)
        return fd;
    /* Unprivileged, with vm.unprivileged_userfaultfd=0: faults from user mode are all a mapping needs. */
    fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
    if (fd >= 0)
        return fd;
    int device = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    if (device < 0) {
        errno = EPERM;
        return -1;
    }
    fd = ioctl(device, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
    int saved = errno;
    close(device);
    errno = saved;
    return fd;
}

int uffd_open(struct window *w)
{
    w->uffd = new_userfaultfd();
    if (w->uffd < 0) {
        int rc = errno;
        udax_fail(rc, "mmap: the kernel refuses userfaultfd (%s); run as root, or set vm.unprivileged_userfaultfd=1, "
                      "or give access to /dev/userfaultfd",
                  strerror(rc));
        return -1;
    }
    /*
     * REMAP: a fresh reservation keeps its registration when it is moved over
     * a range (uffd_replace_with_reservation). WP: a store to a zero page of a
     * hole raises a fault instead of copying the page privately.
     */
    uint64_t needed = UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_PAGEFAULT_FLAG_WP;
    /* The exact address of a fault (Linux 5.18) only makes SIGBUS say which byte: welcome, not needed. */
    struct uffdio_api api = {.api = UFFD_API, .features = needed | UFFD_FEATURE_EXACT_ADDRESS};
    bool agreed = ioctl(w->uffd, UFFDIO_API, &api) == 0;
    if (!agreed) {
        close(w->uffd);
        w->uffd = new_userfaultfd();
        api = (struct uffdio_api){.api = UFFD_API, .features = needed};
        agreed = w->uffd >= 0 && ioctl(w->uffd, UFFDIO_API, &api) == 0;
    }
    if (!agreed) {
        int rc = errno;
        if (w->uffd >= 0)
            close(w->uffd);
        w->uffd = -1;
        udax_fail(rc, "mmap: this kernel's userfaultfd lacks write protection of anonymous memory (Linux 5.7 or later "
                      "is needed): %s",
                  strerror(rc));
        return -1;
    }
    return 0;
}

int uffd_register(struct window *w, void *start, size_t length)
{
    struct uffdio_register reg = {
        .range = {(uintptr_t)start, length},
        .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
    };
    return ioctl(w->uffd, UFFDIO_REGISTER, &reg) == 0 ? 0 : errno;
}

int uffd_replace_with_reservation(struct window *w, void *start, size_t length, int prot)
{
    void *fresh = raw_mmap(NULL, length, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (fresh == MAP_FAILED)
        return errno;
    int rc = uffd_register(w, fresh, length);
    /* mremap unmaps the target and moves the registered reservation there under one mmap lock. */
    if (!rc && raw_mremap(fresh, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, start) == MAP_FAILED)
        rc = errno;
    if (rc)
        syscall(SYS_munmap, fresh, length);
    return rc;
}

int uffd_zero_pages(struct window *w, void *start, size_t length)
{
    size_t done = 0;
    bool by_page = false;
    while (done < length) {
        size_t len = by_page ? WINDOW_PAGE : length - done;
        struct uffdio_copy copy = {
            .dst = (uintptr_t)start + done,
            .src = (uintptr_t)w->zeros + done,
            .len = len,
            .mode = UFFDIO_COPY_MODE_WP | UFFDIO_COPY_MODE_DONTWAKE,
        };
        if (ioctl(w->uffd, UFFDIO_COPY, &copy) == 0)
            done += len;
        else if (copy.copy > 0)
            done += (size_t)copy.copy;
        else if (errno == EEXIST)
            done += WINDOW_PAGE; /* a racing fault put that page there already */
        else if (errno == ENOENT && !by_page)
            /*
             * One copy must lie within one VMA, and ranges taken down piece
             * by piece can leave a 2 MiB span as several reservations that
             * did not merge (zero pages gave each its own anon_vma).
             */
            by_page = true;
        else if (errno != EAGAIN)
            return errno;
    }
    return 0;
}

static void wake(struct window *w, const void *start, size_t length)
{
    struct uffdio_range range = {(uintptr_t)start, length};
    ioctl(w->uffd, UFFDIO_WAKE, &range);
}

/*
 * As mmap(2) does past the end of the file. The kernel lets a process send
 * another of its threads a signal with a chosen address only under SI_QUEUE,
 * so si_code says SI_QUEUE where the kernel would say BUS_ADRERR.
 */
static void send_sigbus(pid_t tid, const void *addr)
{
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    info.si_signo = SIGBUS;
    info.si_code = SI_QUEUE;
    info.si_addr = (void *)addr;
    syscall(SYS_rt_tgsigqueueinfo, getpid(), tid, SIGBUS, &info);
}

static void serve(struct window *w, const struct uffd_msg *msg)
{
    if (msg->event != UFFD_EVENT_PAGEFAULT)
        return; /* UFFD_EVENT_REMAP: our own moves of fresh reservations */
    char *addr = (char *)(uintptr_t)msg->arg.pagefault.address;
    char *page_addr = (char *)((uintptr_t)addr & ~(WINDOW_PAGE - 1));
    bool write = msg->arg.pagefault.flags & (UFFD_PAGEFAULT_FLAG_WRITE | UFFD_PAGEFAULT_FLAG_WP);
    char *mapped;
    size_t mapped_len;
    int rc = window_fault_at(w, page_addr, write, &mapped, &mapped_len);
    if (rc)
        send_sigbus((pid_t)msg->arg.pagefault.feat.ptid, addr);
    /* The whole range: other threads may wait on its other pages. */
    if (!rc && mapped)
        wake(w, mapped, mapped_len);
    else
        wake(w, page_addr, WINDOW_PAGE);
}

static int spawn(struct window *w);

/* R11: one service thread always waits for the next fault, whatever the others are blocked on. */
static void became_busy(struct window *w)
{
    mutex_lock(&w->service_lock, 0);
    if (--w->service_idle == 0 && w->service_threads < WINDOW_MAX_SERVICE_THREADS && !spawn(w))
        w->service_idle++;
    mutex_unlock(&w->service_lock);
}

static void became_idle(struct window *w)
{
    mutex_lock(&w->service_lock, 0);
    w->service_idle++;
    mutex_unlock(&w->service_lock);
}

static void *service_main(void *arg)
{
    struct window *w = arg;
    for (;;) {
        struct pollfd fds[2] = {{.fd = w->uffd, .events = POLLIN}, {.fd = w->stop_fd, .events = POLLIN}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        struct uffd_msg msg;
        if (read(w->uffd, &msg, sizeof(msg)) != (ssize_t)sizeof(msg))
            continue; /* another thread took it */
        became_busy(w);
        serve(w, &msg);
        became_idle(w);
    }
    return NULL;
}

int window_thread_start(pthread_t *thread, void *(*fn)(void *), void *arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(thread, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* Under the service lock; 0 when started. */
static int spawn(struct window *w)
{
    int rc = window_thread_start(&w->service[w->service_threads], service_main, w);
    if (!rc)
        w->service_threads++;
    return rc;
}

int service_start(struct window *w)
{
    w->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (w->stop_fd < 0)
        return errno;
    /* Under the caller's service lock: no fault can come before the first reservation is registered. */
    w->service_idle = 1;
    int rc = spawn(w);
    if (rc)
        w->service_idle = 0;
    return rc;
}

void service_stop(struct window *w)
{
    uint64_t one = 1;
    if (write(w->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
        return;
    mutex_lock(&w->service_lock, 0);
    unsigned threads = w->service_threads;
    mutex_unlock(&w->service_lock);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(w->service[i], NULL);
    close(w->stop_fd);
}
