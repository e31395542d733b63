/*
 * scheduler.h -- which item may start now.  The memory-aware admission
 * policy of the process executor (doc/scheduler.md).
 *
 * Two parts:
 *  - the policy (scheduler.c): functions of the table and of figures the
 *    executor measures and passes in.  No I/O, no clock, no processes,
 *    so every decision can be tested with made-up numbers.  The calls
 *    that decide (bmp__sched_next(), _pressure(), _estimate(),
 *    _needs_alone(), _factor()) commit nothing: a decision changes the
 *    table only when the executor commits it (start, drop, suspended,
 *    resumed), and what happened to an item only when it reports it
 *    (observe, finish, requeue);
 *  - the setup (estimate.c): reads the run's keywords, computes the
 *    budget, and each item's estimate as it is added (process_size, the
 *    size_estimate operation, process_expand_factor x input bytes).
 *
 * Memory figures are bytes.  An item's estimate is what the item adds to
 * the resident memory of its worker; the worker's own baseline (code,
 * libraries) is outside every estimate and outside the budget.
 */
#ifndef BMP_SCHEDULER_H
#define BMP_SCHEDULER_H

#include "run.h"
#include "units.h"

#include <stddef.h>
#include <stdint.h>

typedef enum bmp__order {
    BMP__ORDER_INPUT = 0,        /* in_names order */
    BMP__ORDER_LARGEST_FIRST = 1 /* largest estimate (or input) first */
} bmp__order;

typedef struct bmp__sched_config {
    int64_t budget;  /* bytes for all running items; -1: no limit */
    int max_running; /* at most this many items at once (>= 1) */
    bmp__order order;
    int error_if_zero;    /* an item above the budget fails (1) or runs
                             alone (0) */
    int adaptive;         /* learn the expand factor from finished items */
    double expand_factor; /* bytes per input byte to start with; 0: none */
    double margin;        /* adaptive: learned factor x margin */
    int64_t mem_low;      /* system memory below which nothing starts;
                             <= 0: no check */
    int suspend;          /* below mem_low, pause the youngest item */
} bmp__sched_config;

/* The adaptive safety margin, and what a measured peak may exceed its
 * estimate by before the entry is marked over_estimate: allocator
 * headers, stack and library buffers, not the item's data. */
#define BMP__ADAPTIVE_MARGIN 1.25
#define BMP__OVER_SLACK(estimate) (4 * BMP__MIB + (estimate) / 64)
/* Growth of a finished item not counted when learning the factor: the
 * fixed overhead of any item, which says nothing about bytes per byte. */
#define BMP__LEARN_OVERHEAD BMP__MIB

typedef enum bmp__sched_state {
    BMP__SCHED_QUEUED = 0,
    BMP__SCHED_RUNNING,
    BMP__SCHED_SUSPENDED,
    BMP__SCHED_DONE
} bmp__sched_state;

typedef struct bmp__sched_item {
    int64_t fixed;          /* from process_size or size_estimate; -1 */
    int64_t input_bytes;    /* the item's file(s) on disk; -1 unknown */
    int64_t retry_estimate; /* after a memory failure; -1 */
    int64_t estimate;       /* the estimate it started with; -1 none */
    int64_t charged;        /* counted against the budget while running */
    uint64_t seq;           /* start order: larger is younger */
    unsigned short passed;  /* later items started while it waited,
                               input open; 0 when queued (again) */
    unsigned char key_cls;  /* 0 estimate, 1 input size, 2 neither */
    unsigned char state;    /* bmp__sched_state */
    unsigned char alone;    /* must run with nothing else */
    unsigned char mem_failures;
    unsigned char added; /* bmp__sched_add() took it */
} bmp__sched_item;

/* While input is open, a queued item that later items have passed this
 * many times (first fit) holds back everything behind it until it
 * starts: with items still arriving, passing is no longer bounded by a
 * finite batch (doc/scheduler.md).  A pass is an item behind it that
 * started (bmp__sched_start()), not a verdict that said it may. */
#define BMP__SCHED_PASS_MAX 32

typedef struct bmp__sched {
    bmp__sched_config cfg;
    size_t count;
    bmp__sched_item *items;
    /* The queue: order[0..nsorted) in queue order (entries of items no
     * longer queued are skipped and dropped at the next merge), then
     * order[nsorted..nsorted+ntail) the items added since, in arrival
     * order, merged in by bmp__sched_next().  An item has one entry at
     * most, so `count` places hold them all. */
    size_t *order; /* item indices */
    size_t *pos;   /* pos[item] = its place in order, when it has one */
    /* Largest first only: keys[item] = the size it is sorted by, taken
     * when it was added (its class in the item).  Apart from the items,
     * so that a run in input order -- most runs -- does not hold 8 bytes
     * an item for nothing. */
    int64_t *keys;
    size_t nsorted, ntail;
    size_t first; /* order[..first-1] are not queued */
    size_t queued;
    int open;    /* more items may be added (bmp__sched_input_open) */
    int running; /* RUNNING + SUSPENDED */
    int active;  /* RUNNING */
    int alone_running;
    int64_t charged; /* sum over running items */
    double learned;  /* max (growth - overhead) / input seen; < 0: none */
    uint64_t seq;
    /* How estimate.c fills an item added later (bmp__sched_setup_item):
     * the run's rules, read once. */
    struct {
        int64_t size;         /* process_size; -1 none */
        unsigned char op;     /* ask the size_estimate operation */
        unsigned char input;  /* stat the input, for the order */
        unsigned char factor; /* an expand factor applies */
    } rule;
    /* A scan that found nothing to start; until the free memory grows,
     * an item is queued or the estimates change, nothing will fit. */
    uint64_t gen, blocked_gen;
    int64_t blocked_free;
} bmp__sched;

typedef enum bmp__sched_verdict {
    BMP__SCHED_EMPTY = 0, /* nothing queued */
    BMP__SCHED_WAIT,      /* items queued, none may start now */
    BMP__SCHED_START,     /* *item may start: call bmp__sched_start() */
    BMP__SCHED_TOO_LARGE  /* *item is above the budget and error_if_zero:
                             fail it (bmp__sched_drop()) */
} bmp__sched_verdict;

typedef enum bmp__sched_outcome {
    BMP__SCHED_FINAL = 0,    /* the result stands */
    BMP__SCHED_RETRY_MEMORY, /* re-queued alone with a larger estimate */
    BMP__SCHED_FINAL_MEMORY  /* a second memory failure: final */
} bmp__sched_outcome;

typedef enum bmp__sched_action {
    BMP__SCHED_NONE = 0,
    BMP__SCHED_SUSPEND, /* pause *item (SIGSTOP) */
    BMP__SCHED_RESUME   /* continue *item (SIGCONT) */
} bmp__sched_action;

/* ---- the policy (scheduler.c): no I/O, no clock ---------------------- */

/*! bmp__sched_init() : a table of `count` items, all with no estimate,
 *  none queued.  @return 0 or -ENOMEM. */
int bmp__sched_init(bmp__sched *s, const bmp__sched_config *cfg, size_t count);
void bmp__sched_free(bmp__sched *s);

/*! bmp__sched_set_item() : item i's fixed estimate and input bytes (-1:
 *  unknown).  Before the item is added. */
void bmp__sched_set_item(bmp__sched *s, size_t i, int64_t fixed,
                         int64_t input_bytes);

/*! bmp__sched_add() : item i joins the queue, now or while others run.
 *  The queue order applies among the items queued: input order is the
 *  items' indices, largest first sorts by the estimate the item has when
 *  added, or by its input bytes when there is none; ties and unknowns
 *  keep input order.  Items added are put in order at the next
 *  bmp__sched_next(), all at once (a sort of the new ones and a merge).
 *  @return 0; -EINVAL for an index out of range; -EALREADY for an item
 *          added before. */
int bmp__sched_add(bmp__sched *s, size_t i);

/*! bmp__sched_input_open() : whether items may still be added (0 after
 *  init: a finite batch).  While open, an item passed over
 *  BMP__SCHED_PASS_MAX times holds back the items behind it, so that a
 *  stream of smaller items cannot starve a large one; a finite batch
 *  needs no such rule. */
void bmp__sched_input_open(bmp__sched *s, int open);

/*! bmp__sched_build() : adds every item not in `skip` (may be NULL), a
 *  finite batch. */
void bmp__sched_build(bmp__sched *s, const unsigned char *skip);

/*! bmp__sched_estimate() : the estimate item i would start with now:
 *  after a memory failure the larger retry estimate; else the fixed one;
 *  else the expand factor (learned x margin when adaptive has learned
 *  one) x input bytes; -1 when none of them is known. */
int64_t bmp__sched_estimate(const bmp__sched *s, size_t i);

/*! bmp__sched_needs_alone() : 1 when item i may only run alone: retried
 *  after a memory failure; above the budget with error_if_zero false;
 *  or adaptive with no factor known yet (a probe that measures one). */
int bmp__sched_needs_alone(const bmp__sched *s, size_t i);

/*! bmp__sched_next() : the first queued item, in queue order, that may
 *  start now: fewer than max_running run, nothing runs alone, and its
 *  estimate fits beside the running items' charges.  `avail` is the
 *  system's available memory as last sampled (-1 unknown): below
 *  mem_low, nothing starts while an item is running.  With nothing
 *  running, some queued item always may start (or is TOO_LARGE), so a
 *  run never stalls.  It commits nothing: the verdict holds until the
 *  caller commits with bmp__sched_start() or bmp__sched_drop(), and a
 *  START the caller cannot act on (no worker process) may be asked for
 *  again with the same answer.  (It does put the items added since the
 *  last call in order, and remembers a scan that found nothing until the
 *  table changes; neither changes a verdict.) */
bmp__sched_verdict bmp__sched_next(bmp__sched *s, int64_t avail, size_t *item);

/*! bmp__sched_start() : item i (queued) starts now, as the last
 *  bmp__sched_next() said it may.  While input is open, the first queued
 *  item ahead of it that cannot start now counts one more pass
 *  (BMP__SCHED_PASS_MAX).  @return its estimate (-1 none), to record
 *  and to give the worker. */
int64_t bmp__sched_start(bmp__sched *s, size_t i);

/*! bmp__sched_drop() : item i leaves the queue without running (too
 *  large, or it could not be started); it is done. */
void bmp__sched_drop(bmp__sched *s, size_t i);

/*! bmp__sched_observe() : item i (running) now holds `used` bytes more
 *  than its worker did at its start.  The budget is charged the larger
 *  of that and the estimate: an item above its estimate holds memory
 *  that others cannot have. */
void bmp__sched_observe(bmp__sched *s, size_t i, int64_t used);

/*! bmp__sched_finish() : item i (running or suspended) ended.
 *  `peak_growth`: its peak less its worker's start (-1 unknown);
 *  `memory_failure`: it failed for memory (-ENOMEM, the OOM killer, or a
 *  crash at the enforced limit).  Adaptive learns from a success.
 *  @return RETRY_MEMORY (re-queued to run alone with the larger of its
 *          measured peak and twice its estimate), FINAL_MEMORY (its
 *          second memory failure) or FINAL. */
bmp__sched_outcome bmp__sched_finish(bmp__sched *s, size_t i,
                                     int64_t peak_growth, int memory_failure);

/*! bmp__sched_requeue() : item i (done) is queued again, for the
 *  retries keyword; its count of passes starts again from 0. */
void bmp__sched_requeue(bmp__sched *s, size_t i);

/*! bmp__sched_pressure() : with the available memory `avail` (-1
 *  unknown), what to do to a running item: with suspend, below mem_low
 *  and two or more items active, pause the youngest active one; resume
 *  the oldest paused one when `avail` is at least mem_low plus a quarter
 *  of it, or when none is active (a paused run would never end).  One
 *  action per call; commit with bmp__sched_suspended/_resumed(). */
bmp__sched_action bmp__sched_pressure(const bmp__sched *s, int64_t avail,
                                      size_t *item);
void bmp__sched_suspended(bmp__sched *s, size_t i);
void bmp__sched_resumed(bmp__sched *s, size_t i);

/*! bmp__sched_factor() : the expand factor estimates use now: learned x
 *  margin once adaptive has measured an item, else the configured one;
 *  0 when none. */
double bmp__sched_factor(const bmp__sched *s);

/* ---- the setup (estimate.c) ------------------------------------------ */

/*! bmp__sched_configure() : reads the run's scheduling keywords (order,
 *  adaptive, process_expand_factor, mem_low, suspend, error_if_zero,
 *  mem_available, mem_frac, process_size), computes the budget and
 *  makes `s` a table of the run's items, none added, for `max_running`
 *  workers.  A budget is kept when the keywords give estimates, or when
 *  `estimated` says the caller will give them with the items.  Sets
 *  run->mem_budget.
 *  @return 0, or a negative error with `err` filled (stage "schedule"):
 *          BMP_EKWTYPE, BMP_EINVAL, -ENOMEM, or the error of reading the
 *          available memory when estimates need a budget. */
int bmp__sched_configure(bmp__sched *s, bmp__run *run, int max_running,
                         int estimated, bmp_error *err);

/*! bmp__sched_setup_item() : item i's estimate and input bytes, before it
 *  is added: `estimate` when >= 0 (the caller's figure, first of all);
 *  else process_size; else the size_estimate operation, called now, in
 *  this process; else, through the expand factor, the input's size
 *  (stat()).  @return 0, or the operation's negative error: the item's
 *          failed result is then in run->results[i], and it is not to be
 *          added. */
int bmp__sched_setup_item(bmp__sched *s, bmp__run *run, size_t i,
                          int64_t estimate);

/*! bmp__mem_budget() : the memory a run's workers may hold together
 *  when no keyword gives it: `frac` (mem_frac) x `avail`, the system's
 *  available memory, into *budget.  One place for the rule and for its
 *  failure, which both the worker count (resources.c) and the
 *  scheduler's budget (estimate.c) meet.
 *  @return 0, or with `avail` negative (the read failed: -errno) that
 *          error, err filled: "cannot tell how much memory is
 *          available (...); give the keyword mem_available". */
int bmp__mem_budget(double frac, int64_t avail, double *budget,
                    bmp_error *err);

/*! bmp__sched_sample_avail() : the system's available memory for the
 *  scheduler: bmp_mem_available(), or the test hook below when set. */
int64_t bmp__sched_sample_avail(void);
/* Tests only: replaces bmp_mem_available() in the executor's sampling,
 * so that memory pressure can be simulated.  NULL: the real figure. */
extern int64_t (*bmp__sched_avail_hook)(void);

#endif
