/*
 * scheduler.c -- the admission policy: which queued item may start now,
 * given the estimates of the running items, the budget and the worker
 * cap; what to do after a memory failure; when to pause an item.
 *
 * No I/O, no clock, no processes: every decision is a function of the
 * table and of the figures passed in.  The executor measures (resident
 * memory, available memory, how a worker died) and reports; this file
 * decides.  That keeps the policy testable with made-up figures, and the
 * executor free of policy.  The table changes only through the calls
 * that commit something (start, drop, finish, ...): bmp__sched_next()
 * decides, and what it writes (the arrivals merged into the queue, a
 * scan that found nothing remembered) changes no later verdict, so a
 * verdict the caller cannot act on may be asked for again and again.
 *
 * First fit, not strict order: the queue is scanned in order (input
 * order, or largest first) and the first item that fits starts.  A large
 * item at the head therefore does not idle the cores while it waits for
 * memory; smaller items pass it.  It cannot wait forever: once input has
 * ended the queue is a finite batch, so at worst it starts when the
 * smaller items are done; while items may still arrive, it is passed
 * BMP__SCHED_PASS_MAX times at most, and then holds back the items
 * behind it.  A pass is counted when the item that passes starts
 * (bmp__sched_start()).  See doc/scheduler.md for the alternatives that were
 * rejected.
 */
#include "scheduler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bmp__sched_init(bmp__sched *s, const bmp__sched_config *cfg, size_t count)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    if (s->cfg.max_running < 1)
        s->cfg.max_running = 1;
    if (!(s->cfg.margin >= 1))
        s->cfg.margin = BMP__ADAPTIVE_MARGIN;
    s->count = count;
    s->learned = -1;
    s->items = calloc(count ? count : 1, sizeof *s->items);
    s->order = calloc(count ? count : 1, sizeof *s->order);
    s->pos = calloc(count ? count : 1, sizeof *s->pos);
    if (s->cfg.order == BMP__ORDER_LARGEST_FIRST)
        s->keys = calloc(count ? count : 1, sizeof *s->keys);
    if (!s->items || !s->order || !s->pos ||
        (s->cfg.order == BMP__ORDER_LARGEST_FIRST && !s->keys)) {
        bmp__sched_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < count; i++) {
        bmp__sched_item *it = &s->items[i];
        it->fixed = it->input_bytes = it->retry_estimate = -1;
        it->estimate = -1;
        it->state = BMP__SCHED_DONE;
        s->pos[i] = SIZE_MAX;
    }
    s->blocked_gen = UINT64_MAX;
    return 0;
}

void bmp__sched_free(bmp__sched *s)
{
    free(s->items);
    free(s->order);
    free(s->pos);
    free(s->keys);
    s->items = NULL;
    s->order = s->pos = NULL;
    s->keys = NULL;
    s->count = 0;
}

void bmp__sched_set_item(bmp__sched *s, size_t i, int64_t fixed,
                         int64_t input_bytes)
{
    s->items[i].fixed = fixed;
    s->items[i].input_bytes = input_bytes;
}

double bmp__sched_factor(const bmp__sched *s)
{
    if (s->cfg.adaptive && s->learned >= 0)
        return s->learned * s->cfg.margin;
    return s->cfg.expand_factor > 0 ? s->cfg.expand_factor : 0;
}

static int has_factor(const bmp__sched *s)
{
    return (s->cfg.adaptive && s->learned >= 0) || s->cfg.expand_factor > 0;
}

static int64_t scale(double factor, int64_t bytes)
{
    double e = factor * (double)bytes;
    return e >= 9.2e18 ? INT64_MAX : (int64_t)e;
}

int64_t bmp__sched_estimate(const bmp__sched *s, size_t i)
{
    const bmp__sched_item *it = &s->items[i];
    if (it->retry_estimate >= 0)
        return it->retry_estimate;
    if (it->fixed >= 0)
        return it->fixed;
    if (it->input_bytes >= 0 && has_factor(s))
        return scale(bmp__sched_factor(s), it->input_bytes);
    return -1;
}

int bmp__sched_needs_alone(const bmp__sched *s, size_t i)
{
    const bmp__sched_item *it = &s->items[i];
    if (it->mem_failures > 0)
        return 1;
    int64_t e = bmp__sched_estimate(s, i);
    if (s->cfg.budget >= 0 && e > s->cfg.budget && !s->cfg.error_if_zero)
        return 1;
    /* Adaptive with nothing to start from: the first item measures the
     * factor, alone, so that a wrong guess cannot crowd memory. */
    if (s->cfg.adaptive && e < 0 && it->input_bytes >= 0 && !has_factor(s))
        return 1;
    return 0;
}

/* ---- the queue -------------------------------------------------------- */

/* Items are added over time (bmp__sched_add), and order applies among the
 * items queued.  An added item goes to the tail, unordered; the next
 * bmp__sched_next() sorts the tail and merges it into the ordered part,
 * dropping the entries of items that left the queue.  So a batch added
 * at once costs one sort, as before items could arrive, and an item
 * added while others run costs a merge with what is queued, not with
 * every item of the run. */

typedef struct sort_key {
    int cls;       /* 0: estimate known, 1: input size only, 2: neither */
    int64_t value; /* larger first */
    size_t index;  /* ties: input order */
} sort_key;

static sort_key key_of(const bmp__sched *s, size_t i)
{
    if (s->cfg.order != BMP__ORDER_LARGEST_FIRST)
        return (sort_key){0, 0, i};
    return (sort_key){s->items[i].key_cls, s->keys[i], i};
}

static int compare_keys(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Whether item i has its entry in the queue's array. */
static int has_entry(const bmp__sched *s, size_t i)
{
    size_t k = s->pos[i];
    return k < s->nsorted + s->ntail && s->order[k] == i;
}

static void to_tail(bmp__sched *s, size_t i)
{
    size_t k = s->nsorted + s->ntail++;
    s->order[k] = i;
    s->pos[i] = k;
}

int bmp__sched_add(bmp__sched *s, size_t i)
{
    if (i >= s->count)
        return -EINVAL;
    bmp__sched_item *it = &s->items[i];
    if (it->added)
        return -EALREADY;
    it->added = 1;
    /* The key is taken now, as a batch's was when it was built: a retry
     * with a larger estimate keeps its place. */
    int64_t e = bmp__sched_estimate(s, i);
    it->key_cls = (unsigned char)(e >= 0 ? 0 : it->input_bytes >= 0 ? 1 : 2);
    if (s->keys)
        s->keys[i] = e >= 0 ? e : it->input_bytes;
    it->state = BMP__SCHED_QUEUED;
    s->queued++;
    to_tail(s, i);
    s->gen++;
    return 0;
}

void bmp__sched_input_open(bmp__sched *s, int open)
{
    s->open = open != 0;
    s->gen++;
}

void bmp__sched_build(bmp__sched *s, const unsigned char *skip)
{
    for (size_t i = 0; i < s->count; i++)
        if (!(skip && skip[i]))
            bmp__sched_add(s, i);
}

/* Puts the tail in order and merges it into the ordered part. */
static void merge_tail(bmp__sched *s)
{
    /* The ordered part without the entries of items gone from the queue
     * (started, dropped): what is left is queued, in order. */
    size_t q = 0;
    for (size_t k = s->first; k < s->nsorted; k++) {
        size_t i = s->order[k];
        if (s->items[i].state == BMP__SCHED_QUEUED && s->pos[i] == k) {
            s->order[q] = i;
            s->pos[i] = q++;
        }
    }
    size_t t = 0, tail = s->nsorted;
    sort_key *keys = malloc(s->ntail * sizeof *keys);
    if (!keys) {
        /* Without memory for the sort, arrival order is still an order:
         * the tail follows the ordered part as it came. */
        for (size_t k = 0; k < s->ntail; k++) {
            size_t i = s->order[tail + k];
            s->order[q] = i;
            s->pos[i] = q++;
        }
        s->nsorted = q;
        s->ntail = 0;
        s->first = 0;
        s->gen++;
        return;
    }
    int sorted = 1;
    for (size_t k = 0; k < s->ntail; k++) {
        size_t i = s->order[tail + k];
        if (s->items[i].state != BMP__SCHED_QUEUED)
            continue;
        keys[t] = key_of(s, i);
        if (t > 0 && compare_keys(&keys[t - 1], &keys[t]) > 0)
            sorted = 0;
        t++;
    }
    /* Items added in input order need no sort: the common case. */
    if (!sorted)
        qsort(keys, t, sizeof *keys, compare_keys);
    /* Merge from the back: the ordered part's entries move up by at most
     * t places, into room that is free. */
    size_t a = q, b = t, out = q + t;
    while (b > 0) {
        sort_key ka = a > 0 ? key_of(s, s->order[a - 1]) : keys[0];
        if (a > 0 && compare_keys(&ka, &keys[b - 1]) > 0) {
            size_t i = s->order[--a];
            s->order[--out] = i;
            s->pos[i] = out;
        } else {
            size_t i = keys[--b].index;
            s->order[--out] = i;
            s->pos[i] = out;
        }
    }
    free(keys);
    s->nsorted = q + t;
    s->ntail = 0;
    s->first = 0;
    s->gen++;
}

static void enqueue(bmp__sched *s, size_t i)
{
    s->items[i].state = BMP__SCHED_QUEUED;
    /* Queued again (a retry): it has not been passed yet this time, and
     * a count left from its last wait would hold the queue at once. */
    s->items[i].passed = 0;
    s->queued++;
    /* Back at its place when it still has one; after a merge dropped
     * it, added again as new. */
    if (!has_entry(s, i))
        to_tail(s, i);
    else if (s->pos[i] < s->first)
        s->first = s->pos[i];
    s->gen++;
}

/* Whether queued item i may start beside what runs now, with `free_mem`
 * bytes of the budget left: the one test of bmp__sched_next(), which
 * bmp__sched_start() repeats to find the item a start passes. */
static int fits_now(const bmp__sched *s, size_t i, int64_t free_mem)
{
    if (bmp__sched_needs_alone(s, i))
        return s->running == 0;
    int64_t e = bmp__sched_estimate(s, i);
    return e < 0 || s->cfg.budget < 0 || e <= free_mem;
}

static int64_t free_memory(const bmp__sched *s)
{
    return s->cfg.budget >= 0 ? s->cfg.budget - s->charged : INT64_MAX;
}

bmp__sched_verdict bmp__sched_next(bmp__sched *s, int64_t avail, size_t *item)
{
    const bmp__sched_config *c = &s->cfg;
    if (s->queued == 0)
        return BMP__SCHED_EMPTY;
    if (s->alone_running || s->running >= c->max_running)
        return BMP__SCHED_WAIT;
    /* A paused item waits for memory: starting others would take it. */
    if (s->running > s->active)
        return BMP__SCHED_WAIT;
    if (c->mem_low > 0 && avail >= 0 && avail < c->mem_low && s->running > 0)
        return BMP__SCHED_WAIT;
    int64_t free_mem = free_memory(s);
    if (s->ntail > 0)
        merge_tail(s);
    if (s->blocked_gen == s->gen && free_mem <= s->blocked_free)
        return BMP__SCHED_WAIT;
    while (s->first < s->nsorted &&
           s->items[s->order[s->first]].state != BMP__SCHED_QUEUED)
        s->first++;
    size_t passed = SIZE_MAX; /* the first queued item that cannot start */
    for (size_t k = s->first; k < s->nsorted; k++) {
        size_t i = s->order[k];
        if (s->items[i].state != BMP__SCHED_QUEUED)
            continue;
        int64_t e = bmp__sched_estimate(s, i);
        if (c->budget >= 0 && e > c->budget && c->error_if_zero) {
            *item = i;
            return BMP__SCHED_TOO_LARGE;
        }
        if (!fits_now(s, i, free_mem)) {
            if (passed == SIZE_MAX)
                passed = i;
            continue;
        }
        /* Input still open: passing has no end by itself.  The pass is
         * counted by bmp__sched_start(), when it really happens. */
        if (passed != SIZE_MAX && s->open &&
            s->items[passed].passed >= BMP__SCHED_PASS_MAX)
            return BMP__SCHED_WAIT;
        *item = i;
        return BMP__SCHED_START;
    }
    s->blocked_gen = s->gen;
    s->blocked_free = free_mem;
    return BMP__SCHED_WAIT;
}

/* Item i starts while input is open: the first queued item ahead of it
 * that cannot start now (the one bmp__sched_next() saw it pass) counts
 * one pass.  Counted here, not in bmp__sched_next(), so that a verdict
 * the caller could not act on (no worker process, a drop) is no pass. */
static void count_pass(bmp__sched *s, size_t i)
{
    if (!s->open || !has_entry(s, i))
        return;
    int64_t free_mem = free_memory(s);
    for (size_t k = s->first; k < s->pos[i]; k++) {
        size_t j = s->order[k];
        if (s->items[j].state != BMP__SCHED_QUEUED || s->pos[j] != k)
            continue;
        if (!fits_now(s, j, free_mem)) {
            if (s->items[j].passed < BMP__SCHED_PASS_MAX)
                s->items[j].passed++;
            return;
        }
    }
}

int64_t bmp__sched_start(bmp__sched *s, size_t i)
{
    bmp__sched_item *it = &s->items[i];
    count_pass(s, i);
    int64_t e = bmp__sched_estimate(s, i);
    it->alone = (unsigned char)bmp__sched_needs_alone(s, i);
    it->estimate = e;
    it->charged = e > 0 ? e : 0;
    it->state = BMP__SCHED_RUNNING;
    it->seq = ++s->seq;
    s->queued--;
    s->running++;
    s->active++;
    s->charged += it->charged;
    if (it->alone)
        s->alone_running = 1;
    s->gen++;
    return e;
}

void bmp__sched_drop(bmp__sched *s, size_t i)
{
    if (s->items[i].state != BMP__SCHED_QUEUED)
        return;
    s->items[i].state = BMP__SCHED_DONE;
    s->items[i].estimate = bmp__sched_estimate(s, i);
    s->queued--;
    s->gen++;
}

void bmp__sched_observe(bmp__sched *s, size_t i, int64_t used)
{
    bmp__sched_item *it = &s->items[i];
    if (it->state != BMP__SCHED_RUNNING && it->state != BMP__SCHED_SUSPENDED)
        return;
    int64_t floor_ = it->estimate > 0 ? it->estimate : 0;
    int64_t charge = used > floor_ ? used : floor_;
    s->charged += charge - it->charged;
    it->charged = charge;
}

bmp__sched_outcome bmp__sched_finish(bmp__sched *s, size_t i,
                                     int64_t peak_growth, int memory_failure)
{
    bmp__sched_item *it = &s->items[i];
    if (it->state == BMP__SCHED_RUNNING || it->state == BMP__SCHED_SUSPENDED) {
        s->active -= it->state == BMP__SCHED_RUNNING;
        s->running--;
        s->charged -= it->charged;
        it->charged = 0;
        if (it->alone)
            s->alone_running = 0;
        it->state = BMP__SCHED_DONE;
        s->gen++;
    }
    /* Learn from every measured item, a failed one included: its peak is
     * memory it really used.  Items with their own estimate say nothing
     * about bytes per input byte. */
    if (s->cfg.adaptive && peak_growth >= 0 && it->input_bytes > 0 &&
        it->fixed < 0 && it->retry_estimate < 0) {
        int64_t g = peak_growth - BMP__LEARN_OVERHEAD;
        double r = g > 0 ? (double)g / (double)it->input_bytes : 0;
        if (r > s->learned) {
            s->learned = r;
            s->gen++;
        }
    }
    if (!memory_failure)
        return BMP__SCHED_FINAL;
    if (it->mem_failures++ > 0)
        return BMP__SCHED_FINAL_MEMORY;
    /* Workflow managers' rule: again, alone, with more.  The measured
     * peak of a killed item is only where it died, so at least double. */
    int64_t e = it->estimate;
    int64_t more = e > 0 ? (e > INT64_MAX / 2 ? INT64_MAX : 2 * e) : -1;
    if (peak_growth > 0 && (e <= 0 ? 2 * peak_growth : peak_growth) > more)
        more = e <= 0 ? 2 * peak_growth : peak_growth;
    it->retry_estimate = more;
    enqueue(s, i);
    return BMP__SCHED_RETRY_MEMORY;
}

void bmp__sched_requeue(bmp__sched *s, size_t i)
{
    if (s->items[i].state == BMP__SCHED_DONE)
        enqueue(s, i);
}

/* ---- pressure from outside -------------------------------------------- */

bmp__sched_action bmp__sched_pressure(const bmp__sched *s, int64_t avail,
                                      size_t *item)
{
    const bmp__sched_config *c = &s->cfg;
    if (!c->suspend || c->mem_low <= 0)
        return BMP__SCHED_NONE;
    int low = avail >= 0 && avail < c->mem_low;
    if (low && s->active >= 2) {
        /* The youngest has done the least work and, growing, would take
         * memory the older ones need to finish. */
        uint64_t best = 0;
        for (size_t i = 0; i < s->count; i++) {
            const bmp__sched_item *it = &s->items[i];
            if (it->state == BMP__SCHED_RUNNING && it->seq > best) {
                best = it->seq;
                *item = i;
            }
        }
        return best ? BMP__SCHED_SUSPEND : BMP__SCHED_NONE;
    }
    if (s->running == s->active)
        return BMP__SCHED_NONE; /* nothing paused */
    /* Resume with some room above the threshold, so that an item is not
     * paused and resumed at every sample; and always when nothing else
     * runs, or the run would never end.  Unknown memory: resume. */
    if (s->active > 0 && avail >= 0 && avail < c->mem_low + c->mem_low / 4)
        return BMP__SCHED_NONE;
    uint64_t best = UINT64_MAX;
    for (size_t i = 0; i < s->count; i++) {
        const bmp__sched_item *it = &s->items[i];
        if (it->state == BMP__SCHED_SUSPENDED && it->seq < best) {
            best = it->seq;
            *item = i;
        }
    }
    return best != UINT64_MAX ? BMP__SCHED_RESUME : BMP__SCHED_NONE;
}

void bmp__sched_suspended(bmp__sched *s, size_t i)
{
    if (s->items[i].state != BMP__SCHED_RUNNING)
        return;
    s->items[i].state = BMP__SCHED_SUSPENDED;
    s->active--;
    s->gen++;
}

void bmp__sched_resumed(bmp__sched *s, size_t i)
{
    if (s->items[i].state != BMP__SCHED_SUSPENDED)
        return;
    s->items[i].state = BMP__SCHED_RUNNING;
    s->active++;
    s->gen++;
}
