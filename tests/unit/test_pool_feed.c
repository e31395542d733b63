/*
 * test_pool_feed.c -- a pool fed over time (exec/pool.h, sched/
 * scheduler.h): items added in batches while earlier ones run, added
 * after others finished, with their estimates given at add time; the
 * pool ends only after end of input; and the scheduler's queue, which
 * orders the items queued whenever they came.
 *
 * The pool runs on a run made here as the pipeline makes one, with an
 * outlet that counts what leaves through it.  Nothing waits on a
 * clock: an item that must still be running when others are added
 * waits for a gate file that the test creates afterwards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bigmultipipe.h"
#include "executor.h"
#include "pool.h"
#include "run.h"
#include "scheduler.h"
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define N_ITEMS 12
#define MiB ((int64_t)1 << 20)

/* ====================================================================== */
/*  The scheduler's queue, items arriving                                 */
/* ====================================================================== */

static bmp__sched_config config(int64_t budget, int max_running,
                                bmp__order order)
{
    return (bmp__sched_config){.budget = budget,
                               .max_running = max_running,
                               .order = order,
                               .error_if_zero = 1,
                               .margin = BMP__ADAPTIVE_MARGIN};
}

static void add(bmp__sched *s, size_t i, int64_t estimate)
{
    bmp__sched_set_item(s, i, estimate, -1);
    assert_int_equal(bmp__sched_add(s, i), 0);
}

static size_t start_next(bmp__sched *s)
{
    size_t i = SIZE_MAX;
    assert_int_equal(bmp__sched_next(s, -1, &i), BMP__SCHED_START);
    bmp__sched_start(s, i);
    return i;
}

/* Largest first applies among the items queued, whenever they came. */
static void sched_largest_first_among_arrivals(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 10, BMP__ORDER_LARGEST_FIRST);
    assert_int_equal(bmp__sched_init(&s, &c, 6), 0);
    bmp__sched_input_open(&s, 1);
    add(&s, 0, 10);
    add(&s, 1, 30);
    assert_int_equal(start_next(&s), 1);
    add(&s, 2, 50);
    add(&s, 3, 5);
    add(&s, 4, 20);
    assert_int_equal(start_next(&s), 2);
    assert_int_equal(start_next(&s), 4);
    assert_int_equal(start_next(&s), 0);
    assert_int_equal(start_next(&s), 3);
    size_t i;
    assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_EMPTY);
    /* An item comes once. */
    assert_int_equal(bmp__sched_add(&s, 3), -EALREADY);
    assert_int_equal(bmp__sched_add(&s, 6), -EINVAL);
    bmp__sched_free(&s);
}

/* A retried item whose place a merge dropped comes back in input order
 * among the items queued, not behind them. */
static void sched_requeue_after_merge_keeps_input_order(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(-1, 2, BMP__ORDER_INPUT);
    assert_int_equal(bmp__sched_init(&s, &c, 4), 0);
    bmp__sched_input_open(&s, 1);
    add(&s, 0, -1);
    add(&s, 1, -1);
    add(&s, 2, -1);
    assert_int_equal(start_next(&s), 0);
    add(&s, 3, -1);
    /* This merge drops the place of item 0, which runs. */
    assert_int_equal(start_next(&s), 1);
    assert_int_equal(bmp__sched_finish(&s, 0, -1, 0), BMP__SCHED_FINAL);
    bmp__sched_requeue(&s, 0);
    bmp__sched_finish(&s, 1, -1, 0);
    assert_int_equal(s.queued, 3);
    static const size_t want[] = {0, 2, 3};
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(start_next(&s), want[k]);
        bmp__sched_finish(&s, want[k], -1, 0);
    }
    size_t i;
    assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_EMPTY);
    bmp__sched_free(&s);
}

/* While input is open, small items may pass a large one that waits for
 * memory only BMP__SCHED_PASS_MAX times; then they wait behind it.  At
 * end of input, first fit again: the batch is finite. */
static void sched_open_input_bounds_passing(void **state)
{
    (void)state;
    size_t n = BMP__SCHED_PASS_MAX + 8;
    bmp__sched s;
    bmp__sched_config c = config(100, (int)n, BMP__ORDER_INPUT);
    assert_int_equal(bmp__sched_init(&s, &c, n), 0);
    bmp__sched_input_open(&s, 1);
    add(&s, 0, 80);
    assert_int_equal(start_next(&s), 0);
    add(&s, 1, 50); /* waits for item 0's memory */
    size_t i, started = 0;
    for (size_t k = 2; k < n; k++) {
        add(&s, k, 0);
        if (bmp__sched_next(&s, -1, &i) != BMP__SCHED_START)
            break;
        assert_int_equal(i, k);
        bmp__sched_start(&s, i);
        bmp__sched_finish(&s, i, -1, 0);
        started++;
    }
    assert_int_equal(started, BMP__SCHED_PASS_MAX);
    assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_WAIT);
    /* No more will come: the small one may pass again. */
    bmp__sched_input_open(&s, 0);
    assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_START);
    assert_int_not_equal(i, 1);
    /* Open again, and the large one's memory is back: it starts first. */
    bmp__sched_input_open(&s, 1);
    bmp__sched_finish(&s, 0, -1, 0);
    assert_int_equal(start_next(&s), 1);
    bmp__sched_free(&s);
}

/* A verdict the caller does not act on passes no one: the executor asks
 * again after it failed to start a worker process, and fails items
 * without running them (bmp__sched_drop()) after a START when no worker
 * can be had.  Only a start counts as a pass. */
static void sched_only_a_start_counts_as_a_pass(void **state)
{
    (void)state;
    bmp__sched s;
    bmp__sched_config c = config(100, 8, BMP__ORDER_INPUT);
    assert_int_equal(bmp__sched_init(&s, &c, 4), 0);
    bmp__sched_input_open(&s, 1);
    add(&s, 0, 80);
    assert_int_equal(start_next(&s), 0);
    add(&s, 1, 50); /* waits for item 0's memory */
    add(&s, 2, 0);
    add(&s, 3, 0);
    size_t i;
    for (int k = 0; k < 4 * BMP__SCHED_PASS_MAX; k++) {
        i = SIZE_MAX;
        assert_int_equal(bmp__sched_next(&s, -1, &i), BMP__SCHED_START);
        assert_int_equal(i, 2);
    }
    assert_int_equal(s.items[1].passed, 0);
    /* Failed without running: no pass either. */
    bmp__sched_drop(&s, 2);
    assert_int_equal(s.items[1].passed, 0);
    assert_int_equal(start_next(&s), 3);
    assert_int_equal(s.items[1].passed, 1);
    bmp__sched_free(&s);
}

/* An item queued again starts its count of passes from 0: one that was
 * passed to the bound before it ran, and then failed for memory, does
 * not hold the queue as soon as it is back. */
static void sched_requeued_item_counts_passes_anew(void **state)
{
    (void)state;
    size_t n = BMP__SCHED_PASS_MAX + 8;
    bmp__sched s;
    bmp__sched_config c = config(100, (int)n, BMP__ORDER_INPUT);
    assert_int_equal(bmp__sched_init(&s, &c, n), 0);
    bmp__sched_input_open(&s, 1);
    add(&s, 0, 80);
    assert_int_equal(start_next(&s), 0);
    add(&s, 1, 50);
    size_t i, k = 2;
    for (;; k++) {
        add(&s, k, 0);
        if (bmp__sched_next(&s, -1, &i) != BMP__SCHED_START)
            break;
        bmp__sched_start(&s, i);
        bmp__sched_finish(&s, i, -1, 0);
    }
    assert_int_equal(s.items[1].passed, BMP__SCHED_PASS_MAX);
    /* Item 0's memory is back: the held item goes first, then item k
     * beside it. */
    bmp__sched_finish(&s, 0, -1, 0);
    assert_int_equal(start_next(&s), 1);
    assert_int_equal(start_next(&s), k);
    /* Item 1 fails for memory: queued again, to run alone, so it waits
     * for item k. */
    assert_int_equal(bmp__sched_finish(&s, 1, -1, 1), BMP__SCHED_RETRY_MEMORY);
    assert_int_equal(s.items[1].passed, 0);
    add(&s, k + 1, 0);
    assert_int_equal(start_next(&s), k + 1);
    assert_int_equal(s.items[1].passed, 1);
    bmp__sched_free(&s);
}

/* ====================================================================== */
/*  The pool                                                              */
/* ====================================================================== */

typedef struct fixture {
    char *dir;
    char *gate; /* item 0 waits until this file exists */
    json_t *names;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->gate = tu_join(f->dir, "gate");
    f->names = tu_numbered_files(f->dir, "in_%02d.dat", N_ITEMS);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmtree(f->dir);
    free(f->dir);
    free(f->gate);
    json_decref(f->names);
    free(f);
    return 0;
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The item's number into meta, with when it ran; item 0 first waits for
 * the gate when the step's argument names one. */
static int note_step(bmp_item *item, void **data, void *arg)
{
    const bmp_buffer *b = *data;
    char text[16] = {0};
    memcpy(text, b->bytes, b->size < 15 ? b->size : 15);
    int n = atoi(text);
    const char *gate = arg;
    for (int k = 0; gate && n == 0 && k < 60000 && access(gate, F_OK) != 0;
         k++)
        usleep(1000);
    double t0 = mono();
    /* Long enough that two items admitted together would overlap. */
    if (!gate)
        usleep(20000);
    json_t *meta = bmp_item_meta(item);
    json_object_set_new(meta, "n", json_integer(n));
    json_object_set_new(meta, "t0", json_real(t0));
    json_object_set_new(meta, "t1", json_real(mono()));
    return BMP_CONTINUE;
}

/* What left through the outlet. */
typedef struct outlet_seen {
    int finals[N_ITEMS];
    size_t count;
} outlet_seen;

static outlet_seen seen;

static void on_final(bmp__run *run, size_t index)
{
    (void)run;
    assert_true(index < N_ITEMS);
    seen.finals[index]++;
    seen.count++;
}

/* A run as bmp_pipeline() makes one, without the journal. */
typedef struct test_run {
    bmp_pipe *pipe;
    bmp__run run;
} test_run;

static void run_make_ops(test_run *t, fixture *f, json_t *kw, const char *gate,
                         const bmp_ops *ops)
{
    memset(&seen, 0, sizeof seen);
    t->pipe = bmp_pipe_new(ops, NULL);
    assert_non_null(t->pipe);
    t->run = (bmp__run){.pipe = t->pipe,
                        .items = f->names,
                        .count = json_array_size(f->names),
                        .kw = kw,
                        .started = bmp__now(),
                        .journal_fd = -1,
                        .mem_budget = -1,
                        .outlet = {on_final, NULL}};
    assert_int_equal(bmp__step_list_append(&t->run.pre, note_step,
                                           (void *)gate, "note"),
                     0);
    assert_int_equal(bmp__step_list_append(&t->run.post, bmp_no_outfile, NULL,
                                           "no_outfile"),
                     0);
    t->run.results = calloc(t->run.count, sizeof *t->run.results);
    for (size_t i = 0; i < t->run.count; i++) {
        t->run.results[i].status = BMP_ITEM_NOT_RUN;
        bmp__stats_init(&t->run.results[i].stats);
    }
}

static void run_make(test_run *t, fixture *f, json_t *kw, const char *gate)
{
    run_make_ops(t, f, kw, gate, NULL);
}

static void run_free(test_run *t)
{
    for (size_t i = 0; i < t->run.count; i++)
        bmp__result_clear(&t->run.results[i]);
    free(t->run.results);
    bmp__step_list_clear(&t->run.pre);
    bmp__step_list_clear(&t->run.post);
    json_decref(t->run.kw);
    bmp_pipe_free(t->pipe);
}

static json_int_t meta_int(bmp__result *r, const char *key)
{
    json_t *meta = bmp__result_meta(r);
    assert_non_null(meta);
    json_t *v = json_object_get(meta, key);
    assert_non_null(v);
    return json_integer_value(v);
}

static double meta_real(bmp__result *r, const char *key)
{
    json_t *v = json_object_get(bmp__result_meta(r), key);
    assert_non_null(v);
    return json_real_value(v);
}

/* Every item ran once, with its own number, and left once. */
static void expect_all_ok(test_run *t, size_t n)
{
    assert_int_equal(seen.count, n);
    for (size_t i = 0; i < n; i++) {
        bmp__result *r = &t->run.results[i];
        if (r->status != BMP_ITEM_NO_OUTPUT)
            fail_msg("item %zu: status %d, %s", i, (int)r->status,
                     r->error ? r->error : "");
        assert_int_equal(meta_int(r, "n"), (json_int_t)i);
        assert_int_equal(seen.finals[i], 1);
        assert_int_equal(r->stats.attempts, 1);
    }
}

/* Drives until an item of [from, to) is final; input stays open, so
 * the pool never says it is done. */
static void drive_until_one_of(bmp__pool *p, size_t from, size_t to)
{
    for (;;) {
        for (size_t i = from; i < to; i++)
            if (seen.finals[i])
                return;
        assert_int_equal(bmp__pool_drive(p, -1, NULL), 0);
    }
}

/* Three batches: the second comes while item 0 of the first still runs
 * (it waits for the gate), the third after an item of the second has
 * finished; end of input, then done.  Which worker takes which item is
 * the pool's business: items queued behind item 0 wait with it, so only
 * an item finished elsewhere is waited for. */
static void pool_batches_while_running(void **state)
{
    fixture *f = *state;
    test_run t;
    run_make(&t, f, json_pack("{s:i}", "num_processes", 2), f->gate);
    bmp__pool *p;
    bmp_error err = {0};
    assert_int_equal(bmp__pool_new(&t.run, 2, 0, NULL, NULL, &p, &err), 0);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(bmp__pool_add(p, i, -1), 0);
    drive_until_one_of(p, 1, 4);
    bmp__pool_state st;
    bmp__pool_get_state(p, &st);
    assert_int_equal(st.added, 4);
    assert_int_equal(seen.finals[0], 0); /* still at the gate */
    for (size_t i = 4; i < 8; i++)
        assert_int_equal(bmp__pool_add(p, i, -1), 0);
    /* An item of the second batch finishes beside the waiting one. */
    drive_until_one_of(p, 4, 8);
    assert_int_equal(seen.finals[0], 0);
    tu_write_file(f->gate, "", 0);
    for (size_t i = 8; i < N_ITEMS; i++)
        assert_int_equal(bmp__pool_add(p, i, -1), 0);
    bmp__pool_end_input(p);
    int rc;
    while ((rc = bmp__pool_drive(p, -1, &err)) == 0)
        ;
    assert_int_equal(rc, BMP__POOL_DONE);
    bmp__pool_get_state(p, &st);
    assert_int_equal(st.finished, N_ITEMS);
    assert_int_equal(st.queued + st.running, 0);
    bmp__pool_free(p);
    expect_all_ok(&t, N_ITEMS);
    run_free(&t);
}

/* Everything added has finished, and still the pool is not done while
 * more may come; items added then run like the first ones; only end of
 * input makes it done. */
static void pool_done_only_after_end_of_input(void **state)
{
    fixture *f = *state;
    test_run t;
    run_make(&t, f, json_pack("{s:i}", "num_processes", 2), NULL);
    bmp__pool *p;
    assert_int_equal(bmp__pool_new(&t.run, 2, 0, NULL, NULL, &p, NULL), 0);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(bmp__pool_add(p, i, -1), 0);
    assert_int_equal(bmp__pool_add(p, 2, -1), -EALREADY);
    bmp__pool_state st;
    do {
        /* With nothing left to wait for, an unbounded drive returns
         * rather than hang: 0, never done. */
        assert_int_equal(bmp__pool_drive(p, -1, NULL), 0);
        bmp__pool_get_state(p, &st);
    } while (st.finished < 5);
    assert_int_equal(bmp__pool_drive(p, -1, NULL), 0);
    assert_int_equal(bmp__pool_drive(p, 0, NULL), 0);
    assert_int_equal(st.input_ended, 0);
    /* Added after the others finished. */
    for (size_t i = 5; i < N_ITEMS; i++)
        assert_int_equal(bmp__pool_add(p, i, -1), 0);
    bmp__pool_end_input(p);
    assert_int_equal(bmp__pool_add(p, 0, -1), BMP_EINVAL);
    int rc;
    while ((rc = bmp__pool_drive(p, -1, NULL)) == 0)
        ;
    assert_int_equal(rc, BMP__POOL_DONE);
    /* Done stays done. */
    assert_int_equal(bmp__pool_drive(p, 0, NULL), BMP__POOL_DONE);
    bmp__pool_free(p);
    expect_all_ok(&t, N_ITEMS);
    run_free(&t);
}

/* Estimates given with each item, under a budget the pool keeps because
 * it was told they would come: each item runs with its own, two that
 * cannot share the budget never overlap, and one above the budget fails
 * for it without running. */
static void pool_estimates_at_add_time(void **state)
{
    fixture *f = *state;
    test_run t;
    run_make(&t, f,
             json_pack("{s:i, s:I}", "num_processes", 2, "mem_available",
                       (json_int_t)(100 * MiB)),
             NULL);
    bmp__pool *p;
    bmp_error err = {0};
    assert_int_equal(bmp__pool_new(&t.run, 2, BMP__POOL_ESTIMATES, NULL, NULL,
                                   &p, &err),
                     0);
    assert_int_equal(t.run.mem_budget, 100 * MiB);
    const int64_t est[] = {60 * MiB, 60 * MiB, 10 * MiB, 200 * MiB};
    assert_int_equal(bmp__pool_add(p, 0, est[0]), 0);
    assert_int_equal(bmp__pool_add(p, 1, est[1]), 0);
    int rc;
    while ((rc = bmp__pool_drive(p, -1, &err)) == 0 && seen.count == 0)
        ;
    assert_int_equal(rc, 0);
    assert_int_equal(bmp__pool_add(p, 2, est[2]), 0);
    assert_int_equal(bmp__pool_add(p, 3, est[3]), 0);
    bmp__pool_end_input(p);
    while ((rc = bmp__pool_drive(p, -1, &err)) == 0)
        ;
    assert_int_equal(rc, BMP__POOL_DONE);
    bmp__pool_free(p);
    assert_int_equal(seen.count, 4);
    for (size_t i = 0; i < 3; i++) {
        bmp__result *r = &t.run.results[i];
        assert_int_equal(r->status, BMP_ITEM_NO_OUTPUT);
        assert_int_equal(r->stats.estimate, est[i]);
        assert_int_equal(meta_int(r, "n"), (json_int_t)i);
    }
    /* 60 + 60 MiB do not fit in 100: one after the other. */
    bmp__result *a = &t.run.results[0], *b = &t.run.results[1];
    assert_true(meta_real(a, "t1") <= meta_real(b, "t0") ||
                meta_real(b, "t1") <= meta_real(a, "t0"));
    bmp__result *big = &t.run.results[3];
    assert_int_equal(big->status, BMP_ITEM_FAILED);
    assert_int_equal(big->code, BMP_ENOMEM_BUDGET);
    assert_non_null(strstr(big->error, "estimated memory 200.0 MiB"));
    assert_int_equal(big->stats.attempts, 0);
    run_free(&t);
}

/* ---- each final item told to the pool's caller ----------------------- */

/* The item's number, from its input name (in_NN.dat). */
static int number_of(const json_t *in_name)
{
    const char *base = strrchr(json_string_value(in_name), '/');
    assert_non_null(base);
    return atoi(base + strlen("/in_"));
}

/* Item 4's estimate cannot be had: it fails when it is added. */
static int estimate_step(const json_t *in_name, const json_t *kw,
                         int64_t *bytes, void *user)
{
    (void)kw;
    (void)user;
    *bytes = -1;
    return number_of(in_name) == 4 ? -EIO : 0;
}

/* Item 1 fails, item 2 crashes its worker, item 3 runs until its
 * time-out kills it. */
static int fault_step(bmp_item *item, void **data, void *arg)
{
    (void)item;
    (void)arg;
    const bmp_buffer *b = *data;
    char text[16] = {0};
    memcpy(text, b->bytes, b->size < 15 ? b->size : 15);
    int n = atoi(text);
    if (n == 1)
        return -EIO;
    if (n == 2)
        raise(SIGSEGV);
    for (int k = 0; n == 3 && k < 600; k++)
        usleep(100000);
    return BMP_CONTINUE;
}

typedef struct finals_told {
    test_run *t;
    int told[N_ITEMS];
    size_t count;
} finals_told;

static void told_final(size_t index, void *arg)
{
    finals_told *ft = arg;
    assert_true(index < N_ITEMS);
    /* The result is in place, and the outlet had it first. */
    assert_int_not_equal(ft->t->run.results[index].status, BMP_ITEM_NOT_RUN);
    assert_int_equal(seen.finals[index], 1);
    ft->told[index]++;
    ft->count++;
}

/* The pool's caller hears of every item it added, once, when the
 * item's result is final: items that ended well, failed, crashed, timed
 * out (each after its retry, told once), failed above the budget, and
 * failed when added (size_estimate).  An item retried is not final
 * after its first attempt. */
static void pool_tells_each_final_item(void **state)
{
    fixture *f = *state;
    test_run t;
    bmp_ops ops = {.version = BMP_OPS_VERSION, .size_estimate = estimate_step};
    run_make_ops(&t, f,
                 json_pack("{s:i, s:f, s:i, s:I}", "num_processes", 2,
                           "timeout", 0.5, "retries", 1, "mem_available",
                           (json_int_t)(1024 * MiB)),
                 NULL, &ops);
    assert_int_equal(bmp__step_list_append(&t.run.pre, fault_step, NULL,
                                           "fault"),
                     0);
    finals_told ft = {.t = &t};
    bmp__pool *p;
    bmp_error err = {0};
    assert_int_equal(bmp__pool_new(&t.run, 2, 0, told_final, &ft, &p, &err),
                     0);
    for (size_t i = 0; i < 6; i++) {
        int want = i == 4 ? 1 : 0;
        int64_t estimate = i == 5 ? 2048 * MiB : -1; /* above the budget */
        assert_int_equal(bmp__pool_add(p, i, estimate), want);
    }
    /* Final when added: told before bmp__pool_add() returned. */
    assert_int_equal(ft.told[4], 1);
    int rc;
    while ((rc = bmp__pool_drive(p, -1, &err)) == 0 && ft.count < 3)
        ;
    assert_int_equal(rc, 0);
    for (size_t i = 6; i < N_ITEMS; i++)
        assert_int_equal(bmp__pool_add(p, i, -1), 0);
    bmp__pool_end_input(p);
    while ((rc = bmp__pool_drive(p, -1, &err)) == 0)
        ;
    assert_int_equal(rc, BMP__POOL_DONE);
    bmp__pool_free(p);
    assert_int_equal(ft.count, N_ITEMS);
    for (size_t i = 0; i < N_ITEMS; i++)
        assert_int_equal(ft.told[i], 1);
    bmp__result *r = t.run.results;
    assert_int_equal(r[0].status, BMP_ITEM_NO_OUTPUT);
    assert_int_equal(r[1].status, BMP_ITEM_FAILED);
    assert_int_equal(r[1].code, -EIO);
    assert_int_equal(r[2].status, BMP_ITEM_CRASHED);
    assert_int_equal(r[3].status, BMP_ITEM_TIMED_OUT);
    for (size_t i = 1; i <= 3; i++)
        assert_int_equal(r[i].stats.attempts, 2);
    assert_int_equal(r[4].status, BMP_ITEM_FAILED);
    assert_non_null(strstr(r[4].error, "size_estimate failed"));
    assert_int_equal(r[5].status, BMP_ITEM_FAILED);
    assert_int_equal(r[5].code, BMP_ENOMEM_BUDGET);
    for (size_t i = 6; i < N_ITEMS; i++)
        assert_int_equal(r[i].status, BMP_ITEM_NO_OUTPUT);
    run_free(&t);
}

/* The executor's run() is the same pool, fed at once: the pipeline's
 * results are the ones of the pool fed in batches above. */
static void pool_executor_run_is_the_pool(void **state)
{
    fixture *f = *state;
    test_run t;
    run_make(&t, f, json_pack("{s:i}", "num_processes", 2), NULL);
    bmp_error err = {0};
    assert_int_equal(bmp__executor_process.run(&t.run, 2, &err), 0);
    expect_all_ok(&t, N_ITEMS);
    run_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sched_largest_first_among_arrivals),
        cmocka_unit_test(sched_requeue_after_merge_keeps_input_order),
        cmocka_unit_test(sched_open_input_bounds_passing),
        cmocka_unit_test(sched_only_a_start_counts_as_a_pass),
        cmocka_unit_test(sched_requeued_item_counts_passes_anew),
        cmocka_unit_test_setup_teardown(pool_batches_while_running, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pool_done_only_after_end_of_input,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(pool_estimates_at_add_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pool_tells_each_final_item, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(pool_executor_run_is_the_pool, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
