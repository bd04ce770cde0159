/* fence.h: memory fences for lockless readers and announcers, in a form ThreadSanitizer builds accept. */
#ifndef UDAX_FENCE_H
#define UDAX_FENCE_H

#if defined(__SANITIZE_THREAD__)
/*
 * GCC refuses fences under ThreadSanitizer, which does not model them. On
 * x86, where udax runs, loads are not reordered with loads nor stores with
 * stores: keeping the compiler from reordering them is enough. Only a store
 * followed by a load needs the hardware, which a locked instruction on a
 * word of this thread gives.
 */
static inline void fence_acquire(void)
{
    __atomic_signal_fence(__ATOMIC_ACQUIRE);
}

static inline void fence_release(void)
{
    __atomic_signal_fence(__ATOMIC_RELEASE);
}

static inline void fence_full(void)
{
    static __thread int word;
    __atomic_fetch_add(&word, 0, __ATOMIC_SEQ_CST);
}
#else
static inline void fence_acquire(void)
{
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
}

static inline void fence_release(void)
{
    __atomic_thread_fence(__ATOMIC_RELEASE);
}

static inline void fence_full(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
#endif

#endif
