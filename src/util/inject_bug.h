/*
 * inject_bug.h: in a build with -Dbug_injection=true, the environment
 * variable UDAX_INJECT_BUG=NAME puts back one bug when the library loads, so
 * that the test meant to catch it can show that it fails: SN is the
 * historical bug that scenario SN of DESIGN.md section 6 guards against; the
 * others break the persistence protocol or leak on a failure path, for the
 * crash and fault injection tests, or break a rule of fsck's salvage, for the
 * api and crash tests, or let a lockless read or overwrite, or the position
 * an append leaves, go wrong, for the scenario tests. In other builds every
 * check below folds away.
 */
#ifndef UDAX_INJECT_BUG_H
#define UDAX_INJECT_BUG_H

/* S1: removing an entry wakes one waiter, and a waiter that finds no entry passes nothing on (Linux DAX, 2021). */
#define BUG_S1 1
/* S2: a 2 MiB grab that meets a 4 KiB entry waits under the 2 MiB key (Linux DAX, 2019). */
#define BUG_S2 2
/* S3: a fault that finds no free window range waits for one with FAULTLOCK and its entry held (virtiofs DAX, 2020). */
#define BUG_S3 3
/* S4: the fault path takes IOLOCK (NOVA). */
#define BUG_S4 4
/* S5: breaking layouts drops IOLOCK too while it waits for a pin (XFS DAX, 2018). */
#define BUG_S5 5
/* S6: the busy scan steps over a locked entry. */
#define BUG_S6 6

/* crash-fence: a log commit stores its tail without fencing the entries first. */
#define BUG_CRASH_FENCE 7
/* crash-flush: a journal commit does not flush the words it applies. */
#define BUG_CRASH_FLUSH 8
/* fault-leak: an unlink that fails does not give back the log page its directory took. */
#define BUG_FAULT_LEAK 9

/* salvage-commit: fsck salvage cuts a damaged log after any entry, not only where a commit ends. */
#define BUG_SALVAGE_COMMIT 10
/* salvage-order: fsck salvages a damaged log as soon as it fails, before intact logs claim their blocks. */
#define BUG_SALVAGE_ORDER 11
/* salvage-tail: fsck stores a salvaged log's new tail at once, before it drops the stale names the log holds. */
#define BUG_SALVAGE_TAIL 12

/* lockless-unchecked: a lockless read keeps what it copied, and an overwrite its plan, without checking the counts. */
#define BUG_LOCKLESS_UNCHECKED 13
/* lockless-unwaited: a truncate or an inode's free goes on while a lockless overwrite still writes into its blocks. */
#define BUG_LOCKLESS_UNWAITED 14
/* append-position: lseek moves a position that appends store without the position lock, and holds no IOLOCK. */
#define BUG_APPEND_POSITION 15

/* One past the last bug's number. */
#define BUG_COUNT (BUG_APPEND_POSITION + 1)

#ifdef UDAX_BUG_INJECTION
/* The bug that UDAX_INJECT_BUG named when the library loaded, or 0. */
extern int injected_bug;
#define BUG_INJECTED(bug) __builtin_expect(injected_bug == (bug), 0)
#else
#define BUG_INJECTED(bug) 0
#endif

#endif
