/* entry_lock.pml: the SPIN model of the DAX entry lock and wait table (DESIGN.md R3-R7, scenarios S1 and S2). */

/*
 * One file, one 2 MiB span, two of its pages: page 0 and page 5. That is the
 * least that still has a 4 KiB entry sharing its key with the 2 MiB entry
 * (page 0) and one that does not (page 5). Both keys hash to the one bucket
 * of the wait table, so a wake-one of one key can meet waiters of the other.
 *
 * Reductions, each sound for the properties checked:
 * - A critical section under the index lock is one atomic step. Everything
 *   it touches is either guarded by the index lock or is one bucket
 *   operation (enqueue or a wake), so by Lipton's reduction the interleavings
 *   it hides change no outcome. What runs after the index lock is released
 *   (the wake of an unlock, of a removal, of a pass-on) is a step of its own:
 *   that window is where wake-ups get lost.
 * - A bucket operation is one step: nothing is taken under a bucket lock
 *   (leaf rule) and the queue is touched only under it.
 * - Empty and zero entries are one kind: the protocol treats them alike.
 *   Pin counts are left out: no rule here depends on them.
 */

#if defined(CONFIG_S1) || defined(CONFIG_BUCKET)
#define NP 4
#elif defined(CONFIG_MIX2)
#define NP 2
#else
#define NP 3
#endif
#define MAXP 4

/* slots of the index: each may hold one entry; a 2 MiB entry excludes both 4 KiB ones */
#define S0 0            /* 4 KiB entry at page 0, key K0 */
#define S5 1            /* 4 KiB entry at page 5, key K5 */
#define SM 2            /* 2 MiB entry of the span, key K0 */
#define NOSLOT 3
#define CONFLICT 4

#define NONE 0
#define EMPTY 1         /* empty or zero: may be replaced by 4 KiB entries */
#define BLOCK 2

/* 0 is "queued under no key", so an idle process needs no initialisation */
#define NOKEY 0
#define K0 1
#define K5 2

#define KEY(s) ((s) == S5 -> K5 : K0)
#define COVER(p) (kind[SM] != NONE -> SM : (kind[p] != NONE -> p : NOSLOT))
#define LOCKED(s) (kind[s] != NONE && lck[s])
#define KEYLOCKED(k) ((k) == K0 -> (LOCKED(SM) || LOCKED(S0)) : LOCKED(S5))
#define KEYNAME(k) ((k) == K0 -> 0 : 5)

/* The printfs run only when SPIN replays a trail: they tell its story. */
mtype = { entry_4K_0, entry_4K_5, entry_2M_0 };
#define NAME(s) ((s) == S0 -> entry_4K_0 : ((s) == S5 -> entry_4K_5 : entry_2M_0))

byte kind[3];
bit lck[3];

/* the one bucket: a FIFO of process ids; wkey[p] is the key p waits under */
byte q[MAXP];
byte qlen;
byte wkey[MAXP];
bit woken[MAXP];

/* ghosts, never read by the protocol */
byte holder[3];         /* 1 + the process that holds the slot's entry */
byte pend[3];           /* per key: wakes decided under the index lock and not yet done */
byte carry[3];          /* per key: processes woken and not yet back under the index lock */
byte ndone;

hidden byte i, j;

#define QUEUED(p, k) (wkey[p] == (k))
#define QUEUED_ON(k) (QUEUED(0, k) || QUEUED(1, k) || QUEUED(2, k) || QUEUED(3, k))
#define NQUEUED ((wkey[0] != NOKEY -> 1 : 0) + (wkey[1] != NOKEY -> 1 : 0) + \
                 (wkey[2] != NOKEY -> 1 : 0) + (wkey[3] != NOKEY -> 1 : 0))
/* a waiter of k may sleep while k is free only if some wake of k is still on its way */
#define LOST(k) (QUEUED_ON(k) && !KEYLOCKED(k) && pend[k] == 0 && carry[k] == 0)

/* ops of a worker */
#define OP_NONE 0
#define F4K0 1          /* fault, 4 KiB, page 0 */
#define F4K5 2          /* fault, 4 KiB, page 5 */
#define F2M 3           /* fault, 2 MiB at page 5; falls back to 4 KiB on a conflict */
#define INV0 4          /* invalidate the entry covering page 0 */
#define INV5 5
#define DEL 6           /* delete_range over the whole span */
#define SCAN 7          /* busy scan over the whole span */

/* Wakers remove the woken from the queue, so "queued" means "asleep and not yet woken". */
inline wake_one(k)
{
    d_step {
        i = 0;
        do
#ifdef BUG_R5
        :: i < qlen -> /* the first waiter of the bucket, whatever its key */
#else
        :: i < qlen && wkey[q[i]] == k ->
#endif
            printf("P%d wakes P%d (waiting under key %d) for key %d\n", me, q[i], KEYNAME(wkey[q[i]]), KEYNAME(k));
            carry[wkey[q[i]]]++;
            woken[q[i]] = 1;
            wkey[q[i]] = NOKEY;
            do
            :: i + 1 < qlen -> q[i] = q[i + 1]; i++
            :: else -> break
            od;
            qlen--;
            q[qlen] = 0;
            break
        :: i < qlen && wkey[q[i]] != k -> i++
        :: i >= qlen -> printf("P%d wakes one of key %d: nobody waits\n", me, KEYNAME(k)); break
        od;
        pend[k]--;
        i = 0
    }
}

inline wake_all(k)
{
    d_step {
        i = 0;
        j = 0;
        do
        :: i < qlen ->
            if
            :: wkey[q[i]] == k ->
                printf("P%d wakes P%d (all of key %d)\n", me, q[i], KEYNAME(k));
                carry[k]++; woken[q[i]] = 1; wkey[q[i]] = NOKEY
            :: else -> q[j] = q[i]; j++
            fi;
            i++
        :: else -> break
        od;
        i = j;
        do
        :: i < qlen -> q[i] = 0; i++
        :: else -> break
        od;
        qlen = j;
        pend[k]--;
        i = 0;
        j = 0
    }
}

#ifdef BUG_S1
#define wake_removed(k) wake_one(k)
#else
#define wake_removed(k) wake_all(k)
#endif

/*
 * Called last in an index-lock section: enqueueing there is what makes a
 * concurrent unlock see this waiter (R5). Atomicity ends where it blocks.
 */
inline sleep_on(k)
{
    wk = k;
    woke = 1;
    q[qlen] = me;
    qlen++;
    wkey[me] = k;
    printf("P%d sleeps under key %d\n", me, KEYNAME(k));
    woken[me];
    woken[me] = 0
}

/* first thing a woken process does once back under the index lock */
inline back()
{
    if
    :: woke -> assert(carry[wk] > 0); carry[wk]--
    :: else
    fi
}

inline take(s)
{
    assert(kind[SM] == NONE || (kind[S0] == NONE && kind[S5] == NONE));
    assert(holder[s] == 0);
    if
    :: s == SM -> assert(holder[S0] == 0 && holder[S5] == 0)
    :: else -> assert(holder[SM] == 0)
    fi;
    holder[s] = me + 1;
    got = s;
    printf("P%d locks %e\n", me, NAME(s))
}

/* R4: a 2 MiB request never waits on a 4 KiB entry of its span. */
inline grab(page, big)
{
    woke = 0;
    passon = 0;
    do
    :: atomic {
        back();
        got = NOSLOT;
        if
        :: big && (kind[S0] != NONE || kind[S5] != NONE) ->
#ifdef BUG_S2
            if
            :: LOCKED(S0) || LOCKED(S5) -> sleep_on(K0)
            :: else ->
#endif
            got = CONFLICT;
            printf("P%d: 2M request meets a 4K entry: conflict\n", me);
            /*
             * R6: a 2 MiB waiter woken for K0 leaves without the entry. It
             * only ever waits on a 2 MiB entry (R4); finding a 4 KiB one now
             * means that entry was removed or split since, which woke all
             * of K0. So this pass-on is never needed (the model checks clean
             * without it); it is kept because it costs one spurious wake.
             */
#ifndef BUG_R6
            if
            :: woke -> passon = 1; pend[wk]++
            :: else
            fi
#endif
#ifdef BUG_S2
            fi
#endif
        :: else ->
            e = (big -> (kind[SM] != NONE -> SM : NOSLOT) : COVER(page));
            if
            :: e == NOSLOT ->
                if
                :: big -> kind[SM] = EMPTY; lck[SM] = 1; take(SM)
                :: else -> kind[page] = EMPTY; lck[page] = 1; take(page)
                fi
            :: e != NOSLOT && lck[e] -> sleep_on(KEY(e))
            :: e == SM && !lck[e] && !big && kind[SM] == EMPTY ->
                /* R3: the 2 MiB entry gives way to a 4 KiB one; every waiter of K0 wakes */
                kind[SM] = NONE;
                printf("P%d replaces 2M@0 by a 4K entry\n", me);
                pend[K0]++;
                wake_all(K0);
                kind[page] = EMPTY;
                lck[page] = 1;
                take(page)
            :: else -> lck[e] = 1; take(e)
            fi
        fi
       };
        if
        :: got != NOSLOT -> break
        :: else
        fi
    od;
    if
    :: passon -> wake_one(wk)
    :: else
    fi
}

/* the unlocker wakes one waiter after it has dropped the index lock */
inline unlock(s)
{
    atomic {
        assert(holder[s] == me + 1 && kind[s] != NONE && lck[s]);
        holder[s] = 0;
        /* the fault filled the entry, or left it empty (a hole read, a failure) */
        if
        :: kind[s] == EMPTY -> kind[s] = BLOCK
        :: true
        fi;
        lck[s] = 0;
        printf("P%d unlocks %e\n", me, NAME(s));
        pend[KEY(s)]++
    };
    wake_one(KEY(s))
}

inline fault(page, big)
{
    grab(page, big);
    if
    :: got == CONFLICT -> grab(page, 0)
    :: else
    fi;
    unlock(got)
}

/*
 * Removes every entry that covers a page of [first, last] (page slots S0 <= S5),
 * waiting on a locked one and looking at its page again. A waiter that finds
 * no entry just goes on: the removal woke everybody.
 */
inline remove_range(first, last)
{
    pos = first;
    woke = 0;
    do
    :: pos > last -> break
    :: else ->
        atomic {
            back();
            woke = 0;
            e = COVER(pos);
            k = NOKEY;
            if
            :: e == NOSLOT -> pos++
            :: e != NOSLOT && lck[e] -> sleep_on(KEY(e))
            :: else ->
                assert(holder[e] == 0);
                kind[e] = NONE;
                printf("P%d removes %e\n", me, NAME(e));
                k = KEY(e);
                pend[k]++;
                pos = (e == SM -> S5 + 1 : pos + 1)
            fi
        };
        if
        :: k != NOKEY -> wake_removed(k)
        :: else
        fi
    od
}

/*
 * R7: the scan waits on the entry it stands on and reads it again, never
 * stepping over a locked one. R6: having been woken, it leaves the entry
 * unlocked, so it passes the wake-up on.
 */
inline scan()
{
    pos = S0;
    woke = 0;
    do
    :: pos > S5 -> break
    :: else ->
        atomic {
            back();
            e = COVER(pos);
            passon = 0;
            if
            :: e == NOSLOT -> pos++; woke = 0
            :: e != NOSLOT && lck[e] -> sleep_on(KEY(e))
            :: else ->
                assert(!lck[e]);
                printf("P%d scans %e\n", me, NAME(e));
#ifndef BUG_R6
                if
                :: woke -> passon = 1; pend[wk]++
                :: else
                fi;
#endif
                woke = 0;
                pos = (e == SM -> S5 + 1 : pos + 1)
            fi
        };
        if
        :: passon -> wake_one(wk)
        :: else
        fi
    od
}

proctype worker(byte me; byte op1; byte op2)
{
    byte op, e, got, k, wk, pos;
    bit woke, passon;

    op = op1;
    do
    :: op == OP_NONE -> break
    :: op == F4K0 -> printf("P%d faults, 4K at page 0\n", me); fault(S0, 0); op = op2; op2 = OP_NONE
    :: op == F4K5 -> printf("P%d faults, 4K at page 5\n", me); fault(S5, 0); op = op2; op2 = OP_NONE
    :: op == F2M -> printf("P%d faults, 2M at page 5\n", me); fault(S5, 1); op = op2; op2 = OP_NONE
    :: op == INV0 -> printf("P%d invalidates page 0\n", me); remove_range(S0, S0); op = op2; op2 = OP_NONE
    :: op == INV5 -> printf("P%d invalidates page 5\n", me); remove_range(S5, S5); op = op2; op2 = OP_NONE
    :: op == DEL -> printf("P%d deletes the span\n", me); remove_range(S0, S5); op = op2; op2 = OP_NONE
    :: op == SCAN -> printf("P%d scans the span\n", me); scan(); op = op2; op2 = OP_NONE
    od;
    printf("P%d done\n", me);
    ndone++
}

/* names the sleepers under key k whose entry is free; the monitors' story */
inline tell_sleepers(k)
{
    i = 0;
    do
    :: i < MAXP && wkey[i] == k && !KEYLOCKED(k) ->
        printf("P%d sleeps under key %d, whose entry is unlocked or gone\n", i, KEYNAME(k)); i++
    :: i < MAXP && !(wkey[i] == k && !KEYLOCKED(k)) -> i++
    :: else -> break
    od;
    i = 0
}

/*
 * Lost wake-up, checked in every state: a process asleep under a key whose
 * entry is unlocked or gone, with no wake of that key on its way (an unlocker
 * or remover that has dropped the index lock and not yet woken, or a woken
 * process not yet back under the index lock, which takes the entry or
 * passes the wake on).
 */
active proctype no_lost_wakeup()
{
    bit lost_wakeup;
end_watch:
    atomic {
        LOST(K0) || LOST(K5) ->
        printf("LOST WAKE-UP: no wake of its key is on its way\n");
        tell_sleepers(K0);
        tell_sleepers(K5);
        lost_wakeup = 1;
        assert(!lost_wakeup)
    }
}

/*
 * The same without ghosts, in the end state: every worker has finished or
 * sleeps, and one sleeps under a key whose entry nobody holds.
 */
active proctype no_stranded_sleeper()
{
    bit stranded_sleeper;
end_watch:
    atomic {
        NQUEUED > 0 && ndone + NQUEUED == NP ->
        stranded_sleeper = (QUEUED_ON(K0) && !KEYLOCKED(K0)) || (QUEUED_ON(K5) && !KEYLOCKED(K5));
        if
        :: stranded_sleeper ->
            printf("STRANDED: %d workers finished, %d asleep for good\n", ndone, NQUEUED);
            tell_sleepers(K0);
            tell_sleepers(K5)
        :: else
        fi;
        assert(!stranded_sleeper)
    }
}

/* the index the workers start from */
inline start_index()
{
    if
    :: skip
    :: kind[SM] = EMPTY
    :: kind[SM] = BLOCK
    :: kind[S5] = BLOCK
    :: kind[S0] = EMPTY; kind[S5] = BLOCK
    fi
}

inline any_op(op)
{
    if
    :: op = F4K0
    :: op = F4K5
    :: op = F2M
    :: op = INV0
    :: op = INV5
    :: op = DEL
    :: op = SCAN
    fi
}

init {
    byte a, b, c, d;
    atomic {
#if defined(CONFIG_S1)
        /* DESIGN S1: a fault holds an entry, three invalidations wait on it; plus the 2 MiB case */
        if
        :: a = F4K0
        :: a = F2M
        fi;
        if
        :: b = INV0
        :: b = DEL
        fi;
        run worker(0, a, OP_NONE);
        run worker(1, b, OP_NONE);
        run worker(2, INV0, OP_NONE);
        run worker(3, INV0, OP_NONE)
#elif defined(CONFIG_S2)
        /* DESIGN S2 both ways round, with a third process that waits on either entry */
        if
        :: a = F4K5; b = F2M
        :: a = F2M; b = F4K5
        fi;
        if
        :: c = SCAN
        :: c = INV5
        :: c = F4K0
        fi;
        run worker(0, a, OP_NONE);
        run worker(1, b, OP_NONE);
        run worker(2, c, OP_NONE)
#elif defined(CONFIG_BUCKET)
        /* R5: both keys locked at once and a waiter of each, queued in the one bucket */
        if
        :: c = INV0
        :: c = SCAN
        :: c = F4K0
        :: c = F2M
        fi;
        if
        :: d = INV5
        :: d = SCAN
        :: d = F4K5
        fi;
        run worker(0, F4K0, OP_NONE);
        run worker(1, F4K5, OP_NONE);
        run worker(2, c, OP_NONE);
        run worker(3, d, OP_NONE)
#elif defined(CONFIG_MIX3)
        /* three processes, one op each, any of them, from any starting index */
        start_index();
        any_op(a);
        any_op(b);
        any_op(c);
        run worker(0, a, OP_NONE);
        run worker(1, b, OP_NONE);
        run worker(2, c, OP_NONE)
#elif defined(CONFIG_MIX2)
        /* two processes, two ops each: a process meets its own earlier entries and wakes */
        start_index();
        any_op(a);
        any_op(b);
        any_op(c);
        any_op(d);
        run worker(0, a, b);
        run worker(1, c, d)
#else
#error "pick a configuration: -DCONFIG_S1, -DCONFIG_S2, -DCONFIG_BUCKET, -DCONFIG_MIX3 or -DCONFIG_MIX2"
#endif
    }
}
