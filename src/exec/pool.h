/*
 * pool.h -- the process executor's pool of forked workers, fed over time
 * (doc/executors.md, "A pool fed over time").
 *
 * A caller makes a pool for a run, adds items (an index of the run, and
 * perhaps a memory estimate) whenever it has them, says when no more
 * will come, and drives the pool: it starts what the scheduler admits,
 * collects results, retries, times out, pauses and replaces workers.
 * Every item that reaches its final result leaves through the run's
 * outlet (bmp__item_final(), bmp__report_progress()), as in any
 * executor; the outlet is the pipeline's.  The pool's own caller is
 * told too, through the function it gave bmp__pool_new(): which item,
 * once its result is final.  The pool never calls its user by name.
 *
 * The process executor's run() is this and nothing else: every item
 * added, end of input, driven to the end.  A caller that gets its items
 * from elsewhere (another rank, a stream) interleaves adding and
 * driving:
 *
 *     static void sent(size_t index, void *arg)
 *     {
 *         ... run->results[index] is final: send it on;
 *     }
 *
 *     bmp__pool *p;
 *     bmp__pool_new(run, workers, 0, sent, arg, &p, err);
 *     while ((rc = bmp__pool_drive(p, 0.01, err)) == 0) {
 *         bmp__pool_state st;
 *         bmp__pool_get_state(p, &st);
 *         if (st.queued < (size_t)st.workers)
 *             ... ask for work; bmp__pool_add() what came;
 *         if (no more will come)
 *             bmp__pool_end_input(p);
 *     }
 *     bmp__pool_free(p);
 *
 * One thread: the pool is driven by the thread that made it.
 */
#ifndef BMP_POOL_H
#define BMP_POOL_H

#include "run.h"

#include <stddef.h>
#include <stdint.h>

typedef struct bmp__pool bmp__pool;

/* Flags of bmp__pool_new(). */
/* The items will come with their estimates (bmp__pool_add): keep a
 * memory budget (mem_available, or mem_frac x the available memory)
 * even when the run's keywords give no estimate of their own. */
#define BMP__POOL_ESTIMATES 1u

/* bmp__pool_drive() returns this once input has ended and every item
 * added has its final result. */
#define BMP__POOL_DONE 1

/* Told that item `index` of the run is final: its result is in
 * run->results[index] and the run's outlet has had it (so its journal
 * line is written).  Called once per item added, in the thread that
 * drives the pool, from inside bmp__pool_drive(), or from inside
 * bmp__pool_add() for an item final at once (its size_estimate failed).
 * Every way an item ends counts: done, failed, crashed, timed out, above
 * the budget, failed for want of a worker process.  Not for items that
 * are not final: those a drive interrupted (BMP_EINTERRUPTED) or that
 * bmp__pool_free() killed stay BMP_ITEM_NOT_RUN.  `arg` is the pointer
 * given to bmp__pool_new().  It may read the result and the pool's
 * state; it must not add, drive, end the input of or free the pool,
 * which is in the middle of its work. */
typedef void (*bmp__pool_final_fn)(size_t index, void *arg);

/*! bmp__pool_new() : a pool for `run` with at most `workers` worker
 *  processes (at most one per item of the run).  Reads the run's
 *  keywords (timeout, retries, worker_max_items, enforce and the
 *  scheduler's).  `on_final` (may be NULL) is called with `arg` for
 *  each item once it is final.  Nothing is queued and no process is
 *  started yet.
 *  @return 0, or a negative error with `err` filled (stage "schedule"):
 *          a bad keyword, no memory, the available memory unknown when
 *          estimates need a budget. */
int bmp__pool_new(bmp__run *run, int workers, unsigned flags,
                  bmp__pool_final_fn on_final, void *arg, bmp__pool **out,
                  bmp_error *err);

/*! bmp__pool_add() : item `index` of the run joins the queue, before the
 *  first drive or while others run.  `estimate`: the bytes the item
 *  adds to its worker, or -1 for the run's own rule (process_size, the
 *  size_estimate operation, the expand factor x the input's size; the
 *  operation and stat() are called now, in this process).
 *  @return 0 queued; 1 already final: its size_estimate failed, and the
 *          failed result has left through the outlet and on_final;
 *          BMP_EINVAL for an
 *          index out of range or an add after bmp__pool_end_input();
 *          -EALREADY for an item added before or resumed from the
 *          journal; the pool's error once a drive has failed. */
int bmp__pool_add(bmp__pool *p, size_t index, int64_t estimate);

/*! bmp__pool_end_input() : no more items will come.  Workers with
 *  nothing to do may then end, and the pool is done when every item
 *  added is final. */
void bmp__pool_end_input(bmp__pool *p);

/*! bmp__pool_drive() : runs the pool for at most `wait_s` seconds (< 0:
 *  no limit).  While input is open it also returns as soon as an item
 *  has become final (room for more, perhaps), and at once when it holds
 *  no item at all and `wait_s` is < 0 (waiting could only hang).
 *  @return BMP__POOL_DONE when input has ended and every item added is
 *          final; 0 otherwise; or a negative error with `err` filled:
 *          BMP_EINTERRUPTED (workers ended; the items they held are
 *          BMP_ITEM_NOT_RUN), BMP_ENOWORKER (no worker process could be
 *          started: the items queued failed for it), or a failed
 *          poll().  After an error the pool takes no more items. */
int bmp__pool_drive(bmp__pool *p, double wait_s, bmp_error *err);

typedef struct bmp__pool_state {
    size_t added;    /* items added (resumed ones are not) */
    size_t queued;   /* waiting to start, retries included */
    size_t running;  /* sent to a worker, no result yet */
    size_t finished; /* added, and final: out through the outlet */
    int workers;     /* worker slots not given up */
    int input_ended;
} bmp__pool_state;

/*! bmp__pool_get_state() : what the pool holds now, for a caller that
 *  decides how much more to add. */
void bmp__pool_get_state(const bmp__pool *p, bmp__pool_state *st);

/*! bmp__pool_free() : ends the workers (killed when items are still in
 *  them: their results stay BMP_ITEM_NOT_RUN) and frees the pool.  NULL
 *  is allowed. */
void bmp__pool_free(bmp__pool *p);

#endif
